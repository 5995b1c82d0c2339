"""Inputs the fuzzers (fuzz/) found, pinned: each must give a located error, never a crash.

Rule files go through `load_rules`, which must load them or raise RuleError; one still failing is
marked xfail(strict) with the module to fix, so the mark must go when the fix lands.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import checker.read.yamlio as yamlio
from checker.core.errors import RuleError
from checker.rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent
FOUND = ROOT / "tests" / "fuzz_found"


def _rules_with(tmp_path: Path, data: bytes) -> Path:
    """A rule directory holding the reference tables and `data` as its only rule file."""
    for name in ("reference", "examples"):
        shutil.copytree(ROOT / "rules" / name, tmp_path / name)
    shutil.copy(ROOT / "rules" / "retired.yaml", tmp_path / "retired.yaml")
    (tmp_path / "timeliness").mkdir()
    (tmp_path / "timeliness" / "TL001.yaml").write_bytes(data)
    return tmp_path


def test_malformed_message_placeholder(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="message"):
        load_rules(_rules_with(tmp_path, (FOUND / "rules-malformed-placeholder.yaml").read_bytes()))


def test_impossible_yaml_date(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"TL001\.yaml"):
        load_rules(_rules_with(tmp_path, (FOUND / "rules-bad-yaml-date.yaml").read_bytes()))


def test_impossible_date_in_an_otherwise_good_rule(tmp_path: Path) -> None:
    """A month of 40 crashed PyYAML's date constructor (fuzz_rules, 2026-11-28): YAML dates are now
    text until the model reads them, so the error names the file, line and field."""
    with pytest.raises(RuleError) as caught:
        load_rules(_rules_with(tmp_path, (FOUND / "rules-impossible-date.yaml").read_bytes()))
    [problem] = caught.value.problems
    assert (Path(problem.file or "").name, problem.line, problem.field) == ("TL001.yaml", 14, "effective.from")
    assert "month" in problem.message


def test_deeply_nested_yaml(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"TL001\.yaml"):
        load_rules(_rules_with(tmp_path, b"when: " + b"[" * 5000 + b"]" * 5000 + b"\n"))


def test_yaml_alias_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    levels = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefghi", "bcdefghij", strict=True)
    )
    path = tmp_path / "TL001.yaml"
    path.write_text(levels)
    walked = 0
    real = yamlio._walk

    def counting(*args: Any) -> None:
        nonlocal walked
        walked += 1
        if walked > yamlio.MAX_NODES + 1:  # the cap stops it long before the ten billion values
            raise AssertionError(f"walked more than {yamlio.MAX_NODES:,} YAML nodes")
        real(*args)

    monkeypatch.setattr(yamlio, "_walk", counting)
    _, problems = yamlio.load_yaml(path)
    assert problems
