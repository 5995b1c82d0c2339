"""The Hyperscan prefilter of the narrative screen (checker/narrative/prefilter.py): the screen gives
the same hits with it as without it, on every text, and it does skip families."""

from __future__ import annotations

import csv
import json
import os
import pickle
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench import generate as gen
from checker.narrative import prefilter as pf
from checker.narrative.constants import PREFILTER_AFTER
from checker.narrative.loader import load_lexicon
from checker.narrative.screen import Lexicon, fold
from checker.rules.loader import load_rules

pytest.importorskip("hyperscan")  # a dependency where a wheel exists (x86_64); elsewhere all families run

ROOT = Path(__file__).resolve().parent.parent
LEXICON_DIR = ROOT / "rules" / "lexicon"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    """The shipped lexicon, its prefilter built."""
    lexicon = load_lexicon(LEXICON_DIR, optimise=True, lint=False)
    assert lexicon.prepare_prefilter() is not None
    return lexicon


@pytest.fixture(scope="module")
def plain(lexicon: Lexicon) -> Lexicon:
    """The same compiled families and cues, without the prefilter."""
    return Lexicon(lexicon.compiled_families(), lexicon.scope, prefilter=False)


def _same(lexicon: Lexicon, plain: Lexicon, text: str, covered: frozenset[str] = frozenset()) -> None:
    assert lexicon.screen(text, covered) == plain.screen(text, covered), text


def test_every_shipped_family_has_a_prefilter(lexicon: Lexicon) -> None:
    prefilter = lexicon.prefilter
    assert prefilter is not None and prefilter.always == frozenset()


def test_same_hits_on_the_lexicons_own_examples(lexicon: Lexicon, plain: Lexicon) -> None:
    count = 0
    for family in lexicon.families:
        info = lexicon.family(family)
        for text in info.examples + info.not_examples:
            _same(lexicon, plain, text)
            _same(lexicon, plain, text, frozenset({family}))
            count += 1
    assert count > 100


def _fixture_narratives() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "fixtures").rglob("*")):
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            items = data if isinstance(data, list) else [data]
        elif path.suffix == ".jsonl":
            items = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                items = [{"narrative": row.get("Log Summary")} for row in csv.DictReader(f)]
        else:
            continue
        texts += [i["narrative"] for i in items if isinstance(i, dict) and isinstance(i.get("narrative"), str)]
    return texts


def test_same_hits_on_the_fixtures_narratives(lexicon: Lexicon, plain: Lexicon) -> None:
    texts = _fixture_narratives()
    assert len(texts) >= 15
    for text in texts:
        _same(lexicon, plain, text)


def test_same_hits_on_generated_narratives_and_families_skipped(lexicon: Lexicon, plain: Lexicon) -> None:
    prefilter = lexicon.prefilter
    assert prefilter is not None
    seen = let_through = hits = 0
    for incident in gen.generate(3000, seed=15):
        text = incident.get("narrative")
        if not text:
            continue
        codes = [d["offence"] for d in incident["disclosures"]] + [r["classification"] for r in incident["records"]]
        covered = frozenset(gen.SCREEN_FAMILY[c] for c in codes)
        _same(lexicon, plain, text)
        _same(lexicon, plain, text, covered)
        may = prefilter.may_match(fold(text))
        assert may is not None
        seen += 1
        let_through += len(may)
        hits += len(plain.screen(text))
    assert seen > 2000 and hits > seen // 10
    # the point of it: of the ten families, fewer than two run on an average narrative
    assert let_through / seen < 2, let_through / seen


# narratives generated for the test below (issue 15 asks for 100,000); fewer with the variable set
PREFILTER_CORPUS = int(os.environ.get("CRIMECHECK_PREFILTER_EQUIVALENCE", "100000"))


def test_every_family_that_matches_is_let_through_on_100000_generated_narratives(lexicon: Lexicon) -> None:
    """The screen's hits come only from its families' non-empty matches, so a prefilter that lets
    through every family with one gives the screen's hits exactly: checked here on every generated
    narrative, each family the prefilter leaves out searched to show it has no match."""
    prefilter = lexicon.prefilter
    assert prefilter is not None
    families = [(info.name, regex) for info, regex in lexicon.compiled_families()]
    seen = left_out = 0
    for incident in gen.generate(PREFILTER_CORPUS, seed=29):
        text = incident.get("narrative")
        if not text:
            continue
        folded = fold(text)
        may = prefilter.may_match(folded)
        assert may is not None
        for name, regex in families:
            if name not in may:
                left_out += 1
                assert all(m.start() == m.end() for m in regex.finditer(folded)), (name, text)
        seen += 1
    assert seen > PREFILTER_CORPUS * 0.9
    assert left_out > seen * 8  # most families are left out of most narratives


def test_a_text_without_lexicon_words_runs_no_family(lexicon: Lexicon) -> None:
    prefilter = lexicon.prefilter
    assert prefilter is not None
    quiet = "Caller reports a noise from next door; officers attended, all quiet."
    assert prefilter.may_match(fold(quiet)) == frozenset()
    assert "assault" in (prefilter.may_match(fold("Suspect PUNCHED José in the face.")) or ())


_MIXED = (
    "he she punched José her kicked him not no never did didn't threatened to kill you stole his "
    "phone broke into smashed window car raped touched o'neill won't assaulted hit threw a mug at £50 "
    "ǅ ǆ ᾈ Ǉ ß İstanbul ſ Zoë e\u0301 \u0661\u0662\u0663 \u06f4 \u0966 . , ; ! ? ( ) - \u2019 '"
)
_PIECES = [
    *_MIXED.split(" "),
    *["\x1c", "\x1d", "\x1e", "\x1f", "\x00", "\ud800", "\udfff", "\u00a0", "\u2028", "\u3000", "\x85", "\t", "\r"],
]
_WORDS = [*_PIECES, " ", "  ", "\n"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(_WORDS), max_size=200), joiner=st.sampled_from([" ", "", "\u00a0"]))
@example(words=["punched", "José"], joiner=" ")
@example(words=["punched", "\ud800", "her"], joiner=" ")
@example(words=["\u0661", "punched", "her", "\u0301"], joiner=" ")
@example(words=["ǅ", "kicked", "\x1c", "him"], joiner="")
@example(words=["threatened", "to", "kill", "you", "\x00"], joiner="\u00a0")
def test_same_hits_on_mixed_texts(lexicon: Lexicon, plain: Lexicon, words: list[str], joiner: str) -> None:
    text = joiner.join(words)
    _same(lexicon, plain, text)
    _same(lexicon, plain, text, frozenset({"assault"}))


_FROM_REGEX: dict[str, st.SearchStrategy[str]] = {}


def _matching(source: str) -> st.SearchStrategy[str]:
    """Texts holding a match of ``source`` (Hypothesis writes them from the regex itself)."""
    if source not in _FROM_REGEX:
        _FROM_REGEX[source] = st.from_regex(re.compile(source))
    return _FROM_REGEX[source]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_same_hits_on_texts_written_from_each_family_regex(
    lexicon: Lexicon, plain: Lexicon, data: st.DataObject
) -> None:
    prefilter = lexicon.prefilter
    assert prefilter is not None
    info, regex = data.draw(st.sampled_from(lexicon.compiled_families()))
    text = data.draw(_matching(regex.pattern))
    folded = fold(text)
    if any(m.end() > m.start() for m in regex.finditer(folded)):
        assert info.name in (prefilter.may_match(folded) or ()), text
    _same(lexicon, plain, text)


# --------------------------------------------------------------------------
# The translation, construct by construct, on patterns of its own
# --------------------------------------------------------------------------

_PATTERNS = {
    "words": r"(?<!\w)punch(?:ed|es)?\s+(?:him|her|josé)(?!\w)",
    "word_class": r"\bthreat\w*\s+to\s+kill\b",
    "negated_gap": r"[^.;!?\n]{0,40}stole",
    "money": r"£\d+(?:[.,]\d{1,2})?",
    "count": r"\d{2,3}\s?x",
    "non_ascii_alternatives": r"(?:a|é|ǆ)b{1,4}",
    "any": r"x.{1,6}y",
    "small_range": r"[a-zß-ÿ]{2}q",
    "large_range": r"[\u0100-\u2000]z",
    "negated": r"[^a-z ]k",
    "atomic": r"(?>ab|a)c",
    "possessive": r"o++p",
    "apostrophe": r"\w[\u2019']\w",
    "not_literal": r"h[^e]r",
    "lookahead": r"(?=ki)k\w+(?<=d)",
    "negated_not_space": r"a[^\S]b",
    "negated_categories": r"x[^\W\d]y",
    "negated_space_and_letters": r"[^\sa-z]{2}",
    "zero_count": r"qa{0}b",
    "empty_alternative": r"(?:jo|)sé",
    "lazy": r"q.*?z",
}
_ALPHABET = [
    *"abcdehijkmopqrstuxyzéǆǅßÿā٣١012£.,;!?'\u2019\n\t\x00\x1c\x1f\u0301\ud800\u00a0\u3000\u2028\x85 ",
    "punched",
    "josé",
    "threatened",
    "to",
    "kill",
    "stole",
    "her",
    "him",
]


@pytest.fixture(scope="module")
def own() -> pf.Prefilter:
    built = pf.build([(name, re.compile(source)) for name, source in _PATTERNS.items()])
    assert built is not None and built.always == frozenset()
    return built


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from(_ALPHABET), max_size=60))
@example(parts=["x", "\ud800", "y"])
@example(parts=["£", "٣", "١"])
@example(parts=["ǅ", "b"])
@example(parts=["\u0301", "k"])
@example(parts=["a", " ", "b"])  # a negated \S: found when it admitted no ASCII at all
@example(parts=["a", "\n", "b"])
@example(parts=["x", "é", "y"])
@example(parts=["x", "a", "y"])  # a negated \W: likewise
@example(parts=["\t", "!", "q", "b", "s", "é"])
def test_each_construct_admits_every_match(parts: list[str]) -> None:
    prefilter = pf.build([(name, re.compile(source)) for name, source in _PATTERNS.items()])
    assert prefilter is not None
    text = fold("".join(parts))
    may = prefilter.may_match(text)
    assert may is not None
    for name, source in _PATTERNS.items():
        if any(m.end() > m.start() for m in re.finditer(source, text)):
            assert name in may, (name, text)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_each_construct_admits_texts_written_from_it(own: pf.Prefilter, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(_PATTERNS)))
    text = fold(data.draw(_matching(_PATTERNS[name])))
    if any(m.end() > m.start() for m in re.finditer(_PATTERNS[name], text)):
        assert name in (own.may_match(text) or ()), text


def test_own_patterns_skip(own: pf.Prefilter) -> None:
    assert own.may_match("nothing here") == frozenset()
    assert own.may_match("he punched her") == frozenset({"words"})
    assert own.may_match("she stole it") == frozenset({"negated_gap"})


def test_folded_text_holds_no_whitespace_but_space_and_newline() -> None:
    """The translation reads \\s as a space or a newline: fold must leave no other whitespace."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert {c for c in fold(everything) if c.isspace() or re.match(r"\s", c)} == {" ", "\n"}


@pytest.mark.parametrize("source", [r"(a)\1", r"(?i:ab)", r"(?i)ab", r"(?<=a)", r"(?P<x>a)(?(x)b|c)"])
def test_what_cannot_be_translated_safely_has_no_expressions(source: str) -> None:
    assert pf.expressions(re.compile(source)) is None


def test_a_family_without_expressions_always_runs() -> None:
    # one pattern cannot be translated, Hyperscan refuses the other (it matches the empty string)
    families = [("kept", re.compile("punch")), ("backref", re.compile(r"(a)\1")), ("empty", re.compile("(?:ab)?"))]
    built = pf.build(families)
    assert built is not None and built.always == {"backref", "empty"}
    assert built.may_match("nothing") == frozenset({"backref", "empty"})
    assert built.may_match("punch") == frozenset({"kept", "backref", "empty"})


# --------------------------------------------------------------------------
# When it is built, and without Hyperscan
# --------------------------------------------------------------------------


def _built(lexicon: Lexicon) -> bool:
    """Whether the background build has finished (waiting up to 60 s for it)."""
    for thread in threading.enumerate():
        if thread.name == "prefilter":
            thread.join(60)
    return lexicon.prefilter is not None


def test_built_only_after_many_screens_and_beside_them(lexicon: Lexicon) -> None:
    fresh = Lexicon(lexicon.compiled_families(), lexicon.scope)
    for _ in range(PREFILTER_AFTER - 1):
        fresh.screen("he punched her")
    assert not _built(fresh)
    with fresh._prefilter_lock:  # a build under way: the screen goes on without the prefilter
        assert [h.family for h in fresh.screen("he punched her")] == ["assault"]
        assert fresh.prefilter is None
    assert _built(fresh)
    assert [h.family for h in fresh.screen("he punched her")] == ["assault"]


def test_a_batch_starts_the_build_before_its_first_screen(lexicon: Lexicon) -> None:
    """An audit's processes screen thousands of narratives: their prefilter is built beside the
    first chunk, not after PREFILTER_AFTER screens made without it (the first chunk took half as
    long again)."""
    fresh = Lexicon(lexicon.compiled_families(), lexicon.scope)
    fresh.prefilter_now()
    assert _built(fresh)
    fresh.prefilter_now()  # once built, nothing more to start
    for _ in range(PREFILTER_AFTER + 1):  # and no screen starts a second build
        fresh.screen("he punched her")
    assert [t for t in threading.enumerate() if t.name == "prefilter"] == []
    plain = Lexicon(lexicon.compiled_families(), lexicon.scope, prefilter=False)
    plain.prefilter_now()
    assert not _built(plain)


def test_an_audit_worker_loads_the_lexicon_and_its_prefilter_when_it_starts() -> None:
    ruleset = load_rules()
    screen = ruleset.screen
    assert screen is not None
    ruleset.prepare_screen()
    lexicon = screen._lexicon  # type: ignore[attr-defined]
    assert isinstance(lexicon, Lexicon) and _built(lexicon)
    ruleset.prepare_screen()  # again: the same lexicon, nothing more to build
    assert screen._lexicon is lexicon  # type: ignore[attr-defined]


def test_plain_lexicon_never_builds_one(lexicon: Lexicon) -> None:
    unguarded = load_lexicon(LEXICON_DIR, optimise=False, lint=False)
    for _ in range(PREFILTER_AFTER + 1):
        unguarded.screen("he punched her")
    assert unguarded.prefilter is None and unguarded.prepare_prefilter() is None


def test_same_hits_without_hyperscan(lexicon: Lexicon, plain: Lexicon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import hyperscan now raises ImportError
    without = Lexicon(lexicon.compiled_families(), lexicon.scope)
    assert without.prepare_prefilter() is None
    texts = [i["narrative"] for i in gen.generate(300, seed=5) if i.get("narrative")]
    for text in [*texts, "Suspect punched José.", "\ud800 kicked him"]:
        assert without.screen(text) == plain.screen(text) == lexicon.screen(text)


def test_threads_scan_with_scratch_of_their_own(lexicon: Lexicon, plain: Lexicon) -> None:
    texts = [i["narrative"] for i in gen.generate(600, seed=21) if i.get("narrative")]
    want = [plain.screen(t) for t in texts]
    prefilter = lexicon.prefilter
    assert prefilter is not None
    folded = [fold(t) for t in texts] * 20
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lexicon.screen, texts))
        # a scratch space two scans shared would fail one of them (and every family would run)
        scans = list(pool.map(prefilter.may_match, folded))
    assert got == want
    assert None not in scans


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_scans_with_scratch_of_its_own(lexicon: Lexicon, plain: Lexicon) -> None:
    texts = [i["narrative"] for i in gen.generate(200, seed=22) if i.get("narrative")]
    want = [plain.screen(t) for t in texts]
    assert [lexicon.screen(t) for t in texts] == want  # the parent's scratch space is in use
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        prefilter = lexicon.prefilter
        ok = prefilter is not None and prefilter.may_match("he punched her") is not None
        ok = ok and [lexicon.screen(t) for t in texts] == want
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_pickled_lexicon_builds_its_own(lexicon: Lexicon) -> None:
    copy = pickle.loads(pickle.dumps(lexicon))
    assert copy.prefilter is None  # not carried across processes
    assert copy.prepare_prefilter() is not None
    assert copy.screen("Suspect punched José.") == lexicon.screen("Suspect punched José.")


def test_database_kept_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pf, "_BUILT", {})
    families = [("a", re.compile(r"punch\w*")), ("b", re.compile(r"stole"))]
    first = pf.build(families)
    [stored] = tmp_path.glob("prefilter-*.bin")
    assert stored.stat().st_mode & 0o077 == 0

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(pf, "_BUILT", {})
    with monkeypatch.context() as m:
        m.setattr(pf, "compile_families", no_compiling)
        second = pf.build(families)  # read from disk
    assert first is not None and second is not None
    assert second.may_match("he punched her") == first.may_match("he punched her") == frozenset({"a"})
    # a damaged file is compiled again, not trusted
    stored.write_bytes(stored.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(pf, "_BUILT", {})
    third = pf.build(families)
    assert third is not None and third.may_match("she stole") == frozenset({"b"})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no file locks here")
def test_a_build_waits_for_another_process_compiling_and_loads_its_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit's workers reach their 200th narrative together: one compiles the database, the
    others wait for its lock (in their build thread; the screening goes on) and load its copy."""
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pf, "_BUILT", {})
    families = [("a", re.compile(r"punch\w*")), ("b", re.compile(r"stole"))]
    pf.build(families)  # what the other process will have stored
    [stored] = tmp_path.glob("prefilter-*.bin")
    kept = stored.read_bytes()
    [lock] = tmp_path.glob("prefilter-*.lock")
    stored.unlink()
    monkeypatch.setattr(pf, "_BUILT", {})

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled although another process was compiling")

    monkeypatch.setattr(pf, "compile_families", no_compiling)
    import fcntl  # the other process: holds the lock while it compiles

    other = os.open(lock, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    result: list[pf.Prefilter | None] = []
    waiting = threading.Thread(target=lambda: result.append(pf.build(families)))
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive() and not result  # it waits for the lock
    stored.write_bytes(kept)  # the other process stores its database, then lets go
    os.close(other)
    waiting.join(30)
    [built] = result
    assert built is not None and built.may_match("he punched her") == frozenset({"a"})


def test_a_build_without_a_cache_folder_compiles_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMECHECK_CACHE_DIR", "off")
    monkeypatch.setattr(pf, "_BUILT", {})
    built = pf.build([("a", re.compile(r"punch\w*"))])
    assert built is not None and built.may_match("punched") == frozenset({"a"})
