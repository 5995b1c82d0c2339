"""The one-pass narrative screen (checker/narrative/index.py) against the windowed screen it
replaced (Lexicon.reference_screen): the same hits, linear cost, Unicode text."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import generate as gen
from checker.narrative.loader import LexiconError, load_lexicon
from checker.narrative.screen import Lexicon

LEXICON_DIR = Path(__file__).resolve().parent.parent / "rules" / "lexicon"
# 20,000 keeps this under a minute on a loaded CI machine; run once by hand with 100000.
GENERATED = int(os.environ.get("CRIMECHECK_SCREEN_EQUIVALENCE", "20000"))


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(LEXICON_DIR, optimise=True, lint=False)


def test_same_hits_on_the_lexicons_own_examples(lexicon: Lexicon) -> None:
    texts = [t for f in lexicon.families for t in lexicon.family(f).examples + lexicon.family(f).not_examples]
    assert len(texts) > 100
    for text in texts:
        assert lexicon.screen(text) == lexicon.reference_screen(text), text


def test_same_hits_with_the_families_an_incident_covers(lexicon: Lexicon) -> None:
    skipped = 0
    for incident in gen.generate(2000, seed=11):
        codes = [d["offence"] for d in incident["disclosures"]] + [r["classification"] for r in incident["records"]]
        covered = frozenset(gen.SCREEN_FAMILY[c] for c in codes)
        found = lexicon.screen(incident["narrative"], covered)
        assert found == lexicon.reference_screen(incident["narrative"], covered), incident["narrative"]
        skipped += len(lexicon.screen(incident["narrative"])) != len(found)
    assert skipped  # the covered families hid some other family's hit


def test_same_hits_on_generated_narratives(lexicon: Lexicon) -> None:
    seen = hits = 0
    for incident in gen.generate(GENERATED, seed=11):
        text = incident.get("narrative")
        if not text:
            continue
        found = lexicon.screen(text)
        assert found == lexicon.reference_screen(text), text
        seen += 1
        hits += len(found)
    assert seen > GENERATED // 2 and hits > GENERATED // 10


_SENTENCE_WORDS = (
    "he she punched her kicked him not no never did didn't no one nobody without reason for no reason "
    "if would will going to threatened to kill you but and so when then ; : . ? ! , ( - \u2014 \n the victim "
    "was assaulted stolen stole his phone broke into smashed window car rtc joking play fighting already "
    "recorded crime ref police officers forced entry for welfare later found it in her bag raped touched "
    "o'neill can't won't José Zoë İstanbul ſ storm fell tree asked if worried that may have hit threw a mug at"
)
_WORDS = [*_SENTENCE_WORDS.split(" "), " ", "  ", "'", "\u2019"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(_WORDS), max_size=900), joiner=st.sampled_from([" ", ""]))
def test_same_hits_on_dense_random_logs(lexicon: Lexicon, words: list[str], joiner: str) -> None:
    # long logs with many governed matches take the whole-text paths (after the first few matches,
    # and for ranges over 160 characters)
    text = joiner.join(words)
    assert lexicon.screen(text) == lexicon.reference_screen(text)


@pytest.mark.parametrize(
    ("text", "family", "phrase"),
    [
        ("Suspect punched José in the face and ran off.", "assault", "punched José in the face"),
        ("Zoë states that her ex-partner punched her.", "assault", "punched her"),
        ("İLKER SAYS HE PUNCHED HER IN THE STREET.", "assault", "PUNCHED HER"),
        ("Ms Ångström reports her bicycle was stolen from the rack.", "theft", None),
        ("Straße: the victim was punched by a male.", "assault", None),
    ],
)
def test_non_ascii_text(lexicon: Lexicon, text: str, family: str, phrase: str | None) -> None:
    hits = lexicon.screen(text)
    assert hits == lexicon.reference_screen(text)
    found = {h.family: h for h in hits}
    assert family in found, hits
    if phrase is not None:
        assert found[family].phrase == phrase
        assert text[found[family].start : found[family].end] == phrase


def test_non_ascii_negation_still_governs(lexicon: Lexicon) -> None:
    assert lexicon.screen("José did not punch her.") == []
    assert lexicon.screen("Zoë was not assaulted\u00a0and has no injuries.") == []


ADVERSARIAL = [
    "He did not punch her. ",
    "he did not punch her and did not kick him and ",
    "he said that he was going to punch her ",
    "not " * 30 + "punched her ",
    "if he punched her would he hit him ",
    "no reason no reason not only he punched her ",
    "threatened to ",
]


def _seconds(lexicon: Lexicon, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        lexicon.screen(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("chunk", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_cost_is_linear_in_the_text(lexicon: Lexicon, chunk: str) -> None:
    small = (chunk * (20_000 // len(chunk) + 1))[:20_000]
    large = (chunk * (160_000 // len(chunk) + 1))[:160_000]
    assert lexicon.screen(large[:5000]) == lexicon.reference_screen(large[:5000])
    ratio = _seconds(lexicon, large) / _seconds(lexicon, small)
    # eight times the text: linear is 8; the windowed screen's cost per match grew with the
    # matches around it. Generous for a loaded machine, far below quadratic (64).
    assert ratio < 20, ratio
    # and a small constant: under 30 µs per character even on a loaded machine (the windowed
    # screen took over 200 µs per character on the fifth log)
    assert _seconds(lexicon, large) < 160_000 * 30e-6


def test_catastrophic_pattern_refused_on_the_fast_load_too(tmp_path: Path) -> None:
    """`check --rules DIR` loads the lexicon without the per-pattern lint: the combined family
    regex is still refused, and the error still names the pattern."""
    shutil.copy(LEXICON_DIR / "_cues.yaml", tmp_path / "_cues.yaml")
    (tmp_path / "evil.yaml").write_text(
        "family: evil\ntitle: Evil\noffence_codes: [105A]\npatterns:\n"
        "  - pattern: '(?:\\w+\\s?)+!'\n    example: 'a b !'\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    with pytest.raises(LexiconError) as caught:
        load_lexicon(tmp_path, lint=False)
    assert time.perf_counter() - started < 10
    [problem] = [p for p in caught.value.problems if (p.file or "").endswith("evil.yaml")]
    assert (problem.line, problem.field) == (5, "patterns[0].pattern")
    assert "exponential" in problem.message


def test_compiled_lexicon_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lexicon: Lexicon) -> None:
    from checker.narrative import cache
    from checker.read import diskcache

    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", str(tmp_path / "cache"))
    lexdir = tmp_path / "lexicon"
    shutil.copytree(LEXICON_DIR, lexdir)
    first = cache.load_lexicon_cached(lexdir)  # a miss: loaded, then written
    [stored] = (tmp_path / "cache").iterdir()
    assert stored.stat().st_mode & 0o077 == 0 and (tmp_path / "cache").stat().st_mode & 0o077 == 0
    second = cache.load_lexicon_cached(lexdir)  # a hit
    texts = [t for f in lexicon.families for t in lexicon.family(f).examples + lexicon.family(f).not_examples]
    texts += [incident["narrative"] for incident in gen.generate(300, seed=3) if incident.get("narrative")]
    for text in texts:
        assert second.screen(text) == first.screen(text) == lexicon.screen(text)
    got, want = second.family("assault"), lexicon.family("assault")
    assert (got.title, got.offence_codes, got.examples, got.not_examples) == (
        want.title,
        want.offence_codes,
        want.examples,
        want.not_examples,
    )
    # a folder others can write to is not trusted
    (tmp_path / "cache").chmod(0o777)
    assert cache.read(cache.lexicon_key(lexdir, optimise=True)) is None
    (tmp_path / "cache").chmod(0o700)
    assert cache.read(cache.lexicon_key(lexdir, optimise=True)) is not None
    # a damaged file is a miss, not an error
    stored.write_bytes(stored.read_bytes()[:1000])
    assert cache.load_lexicon_cached(lexdir).screen("he punched her") == lexicon.screen("he punched her")
    # the key follows the lexicon's content
    key = cache.lexicon_key(lexdir, optimise=True)
    (lexdir / "assault.yaml").write_text((lexdir / "assault.yaml").read_text() + "\n# changed\n")
    assert cache.lexicon_key(lexdir, optimise=True) != key
    cache.load_lexicon_cached(lexdir)
    assert cache.read(cache.lexicon_key(lexdir, optimise=True)) is not None
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", "off")
    assert diskcache.cache_dir() is None
    assert cache.read(cache.lexicon_key(lexdir, optimise=True)) is None
