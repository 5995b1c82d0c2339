"""The parsed-YAML cache behind `load_rules`: a new process reads the rule set without parsing it,
and gets exactly what parsing gives; errors, edits and damaged or foreign cache files are never
served from it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import checker.read.yamlio as yamlio
from checker.core.errors import RuleError
from checker.rules.loader import RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", str(folder))
    _new_process(monkeypatch)
    return folder


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process parsed, as a new process would."""
    monkeypatch.setattr(yamlio, "_STORE", yamlio._Store())


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, text: str) -> Any:
        raise AssertionError(f"{path} was parsed")

    monkeypatch.setattr(yamlio, "_parse", refuse)


def _same(a: RuleSet, b: RuleSet) -> None:
    assert a.digest == b.digest
    assert [(r.model, r.branches, r.subject, r.path, r.params) for r in a.rules] == [
        (r.model, r.branches, r.subject, r.path, r.params) for r in b.rules
    ]
    assert a.reference == b.reference
    assert (a.baseline, a.baseline_as_of) == (b.baseline, b.baseline_as_of)


def test_second_load_reads_the_cache_and_gets_the_same_rule_set(
    rules_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_rules(rules_dir)
    [stored] = cache.glob("yaml-*.bin")
    assert stored.stat().st_mode & 0o077 == 0 and cache.stat().st_mode & 0o077 == 0
    _new_process(monkeypatch)
    _no_parsing(monkeypatch)
    _same(load_rules(rules_dir), first)


def test_an_edited_file_is_parsed_again(rules_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_rules(rules_dir)
    path = rules_dir / "timeliness" / "TL002.yaml"
    path.write_text(path.read_text().replace("title: ", "title: Edited - ", 1))
    _new_process(monkeypatch)
    rule = load_rules(rules_dir).get("TL002")
    assert rule is not None and rule.model.title.startswith("Edited - ")


def test_errors_are_found_again_not_cached(rules_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_rules(rules_dir)
    path = rules_dir / "timeliness" / "TL002.yaml"
    path.write_text(path.read_text() + "title: twice\n")  # a duplicate key: a YAML-level error
    runs = []
    for _ in range(2):
        _new_process(monkeypatch)
        with pytest.raises(RuleError) as info:
            load_rules(rules_dir)
        runs.append([str(p) for p in info.value.problems])
    assert runs[0] == runs[1]
    assert any("TL002.yaml" in p and "duplicate key 'title'" in p for p in runs[0])


def test_damaged_or_foreign_cache_is_a_miss(rules_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_rules(rules_dir)
    [stored] = cache.glob("yaml-*.bin")
    stored.write_bytes(stored.read_bytes()[:5000])
    _new_process(monkeypatch)
    _same(load_rules(rules_dir), first)  # parsed again, and the cache written anew
    _new_process(monkeypatch)
    cache.chmod(0o777)  # a folder others can write to is not trusted
    try:
        _no_parsing(monkeypatch)
        with pytest.raises(AssertionError, match="was parsed"):
            load_rules(rules_dir)
    finally:
        cache.chmod(0o700)


def test_a_caller_changing_its_data_does_not_change_the_cache(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("a:\n  b: [1, 2]\nwhen: 2025-01-01T00:00:00Z\n")
    with yamlio.cached_parsing():
        first, _ = yamlio.load_yaml(path)
        assert first is not None
        first.data["a"]["b"].append(3)
        second, _ = yamlio.load_yaml(path)
    assert second is not None
    assert second.data == {"a": {"b": [1, 2]}, "when": "2025-01-01T00:00:00Z"}
    assert second.line_of(("a", "b")) == 2


def test_data_that_is_not_plain_is_not_cached_but_loads(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("when: !!timestamp 2025-01-01T00:00:00Z\n")  # an explicit tag still makes a datetime
    with yamlio.cached_parsing():
        doc, problems = yamlio.load_yaml(path)
    assert doc is not None and not problems and hasattr(doc.data["when"], "year")
    assert not list(cache.glob("yaml-*.bin"))


def test_cache_off_writes_nothing(rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _new_process(monkeypatch)
    load_rules(rules_dir)
    assert not (tmp_path / "xdg").exists()


def test_the_rule_set_hash_covers_the_lexicon(tmp_path: Path) -> None:
    """The lexicon decides what the narrative screen finds, so a changed lexicon is a changed rule set."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    before = load_rules(rules).digest
    theft = rules / "lexicon" / "theft.yaml"
    theft.write_text(theft.read_text() + "\n# a comment changes the bytes\n")
    assert load_rules(rules).digest != before
