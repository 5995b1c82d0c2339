"""Screen free-text incident narratives for phrases suggesting an unrecorded offence.

The screening vocabulary lives in ``rules/lexicon``:

* one ``<family>.yaml`` per offence family (see :class:`FamilyFile`), holding the
  Home Office offence codes the family covers, regex patterns with a worked
  example each, and ``not_examples`` that must never produce a hit;
* ``_cues.yaml`` (see :class:`CuesFile`) holding sentence / clause boundaries,
  shared regex fragments and groups of negation / hypothetical / context cues that
  suppress a match when they govern it.

The screen is tuned for precision: a match is only reported when no cue governs
it, and each family reports at most its first surviving match.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from checker.yamlio import load_yaml

__all__ = [
    "CUES_FILENAME",
    "MAX_SENTENCE_CHARS",
    "CueGroup",
    "CuesFile",
    "FamilyFile",
    "FamilyInfo",
    "Lexicon",
    "LexiconError",
    "LexiconErrorItem",
    "NarrativeHit",
    "PatternEntry",
    "load_lexicon",
]

CUES_FILENAME = "_cues.yaml"
"""Name of the shared cue file inside the lexicon directory."""

MAX_SENTENCE_CHARS = 200
"""Maximum length of :attr:`NarrativeHit.sentence`."""

LexiconErrorItem = tuple[str, int, str, str]
"""``(file, line, field_path, message)``; ``line`` is 1-based, 0 when unknown."""

# Matching is case-insensitive because the text is case-folded (see _fold) and every
# regex is written in lower case; avoiding re.IGNORECASE lets the regex engine skip
# alternatives by their first character, several times faster on long narratives.
_FLAGS = 0
_FRAGMENT_REF = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_FRAGMENT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_FAMILY_NAME = re.compile(r"[a-z][a-z0-9_]*")
_OFFENCE_CODE = re.compile(r"\d{1,3}[A-Z]?")
_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*")
_WORD_CHAR = re.compile(r"\w")
# Length of the literal prefixes used to guard each family regex (see _guard).
_PREFIX_LEN = 4
_PREFIX_LIMIT = 5000
# Extra characters after a match start that a clause-boundary lookahead may need
# to see (e.g. ", he" where the boundary's lookahead checks the pronoun).
_BOUNDARY_LOOKAHEAD = 64

PathPart = str | int
_M = TypeVar("_M", bound=BaseModel)
LinePath = tuple[PathPart, ...]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class LexiconError(Exception):
    """Every problem found while loading a lexicon directory.

    ``errors`` is a list of ``(file, line, field_path, message)`` tuples; ``str()``
    renders them one per line as ``file:line: field_path: message``.
    """

    def __init__(self, errors: Sequence[LexiconErrorItem]) -> None:
        self.errors: list[LexiconErrorItem] = list(errors)
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for file, line, field_path, message in self.errors:
            where = f"{file}:{line}" if line else file
            lines.append(f"{where}: {field_path}: {message}" if field_path else f"{where}: {message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


# --------------------------------------------------------------------------
# File schemas (pydantic)
# --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternEntry(_Strict):
    """One screening pattern. ``pattern`` may use ``{{NAME}}`` fragments."""

    pattern: str = Field(min_length=1)
    example: str = Field(min_length=1)


class FamilyFile(_Strict):
    """Schema of ``rules/lexicon/<family>.yaml``."""

    family: str
    title: str = Field(min_length=1)
    offence_codes: list[str] = Field(min_length=1)
    fragments: dict[str, str | list[str]] = Field(default_factory=dict)
    patterns: list[PatternEntry] = Field(min_length=1)
    not_examples: list[str] = Field(default_factory=list)

    @field_validator("family")
    @classmethod
    def _family_name(cls, value: str) -> str:
        if not _FAMILY_NAME.fullmatch(value):
            raise ValueError("must be lower_snake_case")
        return value

    @field_validator("offence_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value: object) -> object:
        # YAML reads bare numeric codes such as ``104`` as integers.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("offence_codes")
    @classmethod
    def _codes_valid(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not _OFFENCE_CODE.fullmatch(code)]
        if bad:
            raise ValueError(f"not Home Office offence codes: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("duplicate offence codes")
        return value

    @field_validator("not_examples")
    @classmethod
    def _not_examples_nonempty(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("empty not_example")
        return value


class CueGroup(_Strict):
    """A group of cue phrases that suppress a match they govern.

    A cue governs a match when it lies in the same clause (``scope: clause``) or
    sentence (``scope: sentence``), on the side given by ``direction`` and, if
    ``window_tokens`` is set, with at most that many word tokens between the cue
    and the match. ``pseudo`` lists longer phrases containing a cue that do *not*
    count as the cue (``no reason``, ``not only``).
    """

    name: str = Field(min_length=1)
    direction: Literal["before", "after", "both"] = "before"
    scope: Literal["clause", "sentence"] = "clause"
    window_tokens: int | None = Field(default=None, ge=0)
    cues: list[str] = Field(min_length=1)
    pseudo: list[str] = Field(default_factory=list)
    exempt_families: list[str] = Field(default_factory=list)
    only_families: list[str] | None = None

    @field_validator("cues", "pseudo", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: object) -> object:
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, bool):
                    raise ValueError(
                        f"item {i} is the YAML boolean {item}; quote words such as 'no', 'yes', 'on', 'off'"
                    )
        return value


class CuesFile(_Strict):
    """Schema of ``rules/lexicon/_cues.yaml``."""

    max_scope_chars: int = Field(default=400, ge=50, le=5000)
    skip_questions: bool = True
    sentence_boundaries: list[str] = Field(min_length=1)
    clause_boundaries: list[str] = Field(default_factory=list)
    fragments: dict[str, str | list[str]] = Field(default_factory=dict)
    cue_groups: list[CueGroup] = Field(default_factory=list)


# --------------------------------------------------------------------------
# Public result types
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NarrativeHit:
    """A phrase in a narrative suggesting an offence of ``family``."""

    family: str
    phrase: str
    start: int
    end: int
    sentence: str


@dataclass(frozen=True, slots=True)
class FamilyInfo:
    """What a family file declares, for reporting and tests."""

    name: str
    title: str
    offence_codes: frozenset[str]
    source: str
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]


# --------------------------------------------------------------------------
# Compiled cue machinery
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CueRule:
    name: str
    before: bool
    after: bool
    sentence_scope: bool
    window: int | None
    regex: re.Pattern[str]
    pseudo: re.Pattern[str] | None
    exempt: frozenset[str]
    only: frozenset[str] | None

    def applies_to(self, family: str) -> bool:
        if family in self.exempt:
            return False
        return self.only is None or family in self.only


@dataclass(frozen=True, slots=True)
class _Context:
    sentence_lo: int
    sentence_hi: int
    clause_lo: int
    clause_hi: int
    question: bool
    sentence_text_hi: int


class _Scope:
    """Sentence / clause segmentation and cue evaluation around a match."""

    def __init__(
        self,
        sentence_re: re.Pattern[str],
        clause_re: re.Pattern[str],
        max_chars: int,
        skip_questions: bool,
        rules: Sequence[_CueRule],
    ) -> None:
        self._sentence_re = sentence_re
        self._clause_re = clause_re
        self._max = max_chars
        self._skip_questions = skip_questions
        self._rules = tuple(rules)

    def _last_boundary_end(self, regex: re.Pattern[str], text: str, lo: int, start: int) -> int:
        last = lo
        endpos = min(len(text), start + _BOUNDARY_LOOKAHEAD)
        for m in regex.finditer(text, lo, endpos):
            if m.end() > start:
                break
            if m.end() > m.start():
                last = m.end()
        return last

    def context(self, text: str, start: int, end: int) -> _Context:
        window_lo = max(0, start - self._max)
        window_hi = min(len(text), end + self._max)
        s_lo = self._last_boundary_end(self._sentence_re, text, window_lo, start)
        s_hi = window_hi
        s_text_hi = window_hi
        question = False
        m = self._sentence_re.search(text, end, window_hi)
        if m is not None:
            s_hi = m.start()
            s_text_hi = m.end()
            question = "?" in m.group()
        c_lo = self._last_boundary_end(self._clause_re, text, s_lo, start)
        c = self._clause_re.search(text, end, s_hi)
        c_hi = c.start() if c is not None else s_hi
        return _Context(s_lo, s_hi, c_lo, c_hi, question, s_text_hi)

    @staticmethod
    def _pseudo_covers(rule: _CueRule, text: str, lo: int, hi: int, cue: re.Match[str]) -> bool:
        if rule.pseudo is None:
            return False
        return any(p.start() <= cue.start() and cue.end() <= p.end() for p in rule.pseudo.finditer(text, lo, hi))

    def governed(self, family: str, text: str, start: int, end: int, ctx: _Context) -> str | None:
        """Name of the cue group that suppresses this match, or None."""
        if self._skip_questions and ctx.question:
            return "question"
        for rule in self._rules:
            if not rule.applies_to(family):
                continue
            lo = ctx.sentence_lo if rule.sentence_scope else ctx.clause_lo
            hi = ctx.sentence_hi if rule.sentence_scope else ctx.clause_hi
            if rule.before and lo < start:
                for cue in rule.regex.finditer(text, lo, start):
                    if rule.window is not None and len(_TOKEN.findall(text, cue.end(), start)) > rule.window:
                        continue
                    if self._pseudo_covers(rule, text, lo, hi, cue):
                        continue
                    return rule.name
            if rule.after and end < hi:
                for cue in rule.regex.finditer(text, end, hi):
                    if rule.window is not None and len(_TOKEN.findall(text, end, cue.start())) > rule.window:
                        break
                    if self._pseudo_covers(rule, text, lo, hi, cue):
                        continue
                    return rule.name
        return None


# Every whitespace character but the newline becomes a plain space when folding, so
# the prefix guard need only consider " " and "\n" where a regex says \s. (All
# Unicode whitespace lies below U+3001.)
_SPACES = str.maketrans({c: " " for c in map(chr, range(0x3001)) if c.isspace() and c != "\n"})


def _fold(text: str) -> str:
    """Lower-case ``text`` and normalise whitespace without changing its length."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(low_c if len(low_c := c.lower()) == 1 else c for c in text)
    return low.translate(_SPACES)


def _uppercase_literal(source: str) -> str | None:
    """First upper-case letter written as a literal in a regex source, if any."""
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            if source.startswith("N{", i + 1):
                close = source.find("}", i)
                i = len(source) if close < 0 else close + 1
            else:
                i += 2
            continue
        if ch != ch.lower():
            return ch
        i += 1
    return None


def _trim_sentence(text: str, lo: int, hi: int, start: int, end: int) -> str:
    """The sentence ``text[lo:hi]``, cut to at most 200 chars around ``[start, end)``."""
    while lo < start and text[lo].isspace():
        lo += 1
    while hi > end and text[hi - 1].isspace():
        hi -= 1
    if hi - lo <= MAX_SENTENCE_CHARS:
        return text[lo:hi]
    if end - start >= MAX_SENTENCE_CHARS:
        return text[start : start + MAX_SENTENCE_CHARS]
    left = (MAX_SENTENCE_CHARS - (end - start)) // 2
    new_lo = max(lo, start - left)
    new_hi = min(hi, new_lo + MAX_SENTENCE_CHARS)
    new_lo = max(lo, new_hi - MAX_SENTENCE_CHARS)
    return text[new_lo:new_hi].strip()


# --------------------------------------------------------------------------
# The lexicon
# --------------------------------------------------------------------------


class Lexicon:
    """Compiled screening lexicon. Build it with :func:`load_lexicon`."""

    def __init__(
        self,
        families: Sequence[tuple[FamilyInfo, re.Pattern[str]]],
        scope: _Scope,
    ) -> None:
        self._info: dict[str, FamilyInfo] = {info.name: info for info, _ in families}
        self._regexes: tuple[tuple[str, re.Pattern[str]], ...] = tuple((info.name, regex) for info, regex in families)
        self._scope = scope

    @property
    def families(self) -> tuple[str, ...]:
        """Family names, in file-name order."""
        return tuple(name for name, _ in self._regexes)

    def family(self, name: str) -> FamilyInfo:
        """Declared details of one family (``KeyError`` if unknown)."""
        return self._info[name]

    def covers(self, family: str) -> frozenset[str]:
        """Home Office offence codes covered by ``family`` (``KeyError`` if unknown)."""
        return self._info[family].offence_codes

    def families_for_codes(self, codes: Iterable[str]) -> frozenset[str]:
        """Families with at least one code in ``codes`` (e.g. the recorded offences)."""
        wanted = {code.strip().upper() for code in codes}
        return frozenset(name for name, info in self._info.items() if info.offence_codes & wanted)

    def check_examples(self) -> tuple[int, list[str]]:
        """Screen every family's examples (must hit) and not_examples (must not): (count, failures)."""
        failures: list[str] = []
        count = 0
        for name in self.families:
            info = self.family(name)
            for text, wanted in [(t, True) for t in info.examples] + [(t, False) for t in info.not_examples]:
                count += 1
                if any(h.family == name for h in self.screen(text)) is not wanted:
                    failures.append(f"{name}: {'example not found' if wanted else 'not_example found'}: {text!r}")
        return count, failures

    def screen(self, text: str) -> list[NarrativeHit]:
        """First ungoverned hit per family, ordered by position."""
        hits: list[NarrativeHit] = []
        folded = _fold(text)
        for name, regex in self._regexes:
            for m in regex.finditer(folded):
                start, end = m.span()
                if start == end:
                    continue
                ctx = self._scope.context(folded, start, end)
                if self._scope.governed(name, folded, start, end, ctx) is not None:
                    continue
                sentence = _trim_sentence(text, ctx.sentence_lo, ctx.sentence_text_hi, start, end)
                hits.append(NarrativeHit(name, text[start:end], start, end, sentence))
                break
        hits.sort(key=lambda h: (h.start, h.end, h.family))
        return hits

    def explain(self, text: str, family: str) -> list[tuple[str, int, int, str | None]]:
        """Every raw match of ``family`` with the cue group suppressing it (debug aid)."""
        regex = dict(self._regexes)[family]
        folded = _fold(text)
        out: list[tuple[str, int, int, str | None]] = []
        for m in regex.finditer(folded):
            start, end = m.span()
            ctx = self._scope.context(folded, start, end)
            out.append((text[start:end], start, end, self._scope.governed(family, folded, start, end, ctx)))
        return out


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _field_path(loc: Sequence[PathPart]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Collector:
    """Accumulates errors for one file, resolving field paths to line numbers."""

    def __init__(self, display: str, sink: list[LexiconErrorItem]) -> None:
        self.display = display
        self.sink = sink
        self.lines: dict[LinePath, int] = {}
        self.count = 0

    def line_of(self, loc: Sequence[PathPart]) -> int:
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 0)

    def add(self, loc: Sequence[PathPart], message: str, line: int | None = None) -> None:
        self.count += 1
        where = self.line_of(loc) if line is None else line
        self.sink.append((self.display, where, _field_path(loc), message))


def _read_yaml(path: Path, col: _Collector) -> Any:
    """Parse ``path`` with the project's safe YAML reader; return the data (None on error) and
    fill ``col.lines`` with the line of every key path."""
    doc, problems = load_yaml(path)
    for problem in problems:
        col.add((problem.field,) if problem.field else (), problem.message, problem.line or 0)
    if doc is None:
        return None
    col.lines.update(doc.lines)
    if doc.data is None:
        col.add((), "file is empty", 1)
        return None
    if not isinstance(doc.data, dict):
        col.add((), "top level must be a mapping", 1)
        return None
    return doc.data


def _validate(model: type[_M], data: Any, col: _Collector) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            kind = err["type"]
            if kind == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
            elif kind == "missing":
                message = "required field is missing"
            else:
                message = str(err["msg"]).removeprefix("Value error, ")
            col.add(loc, message)
        return None


def _expand(pattern: str, fragments: Mapping[str, str]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in fragments:
            missing.append(name)
            return ""
        return f"(?:{fragments[name]})"

    return _FRAGMENT_REF.sub(sub, pattern), missing


def _try_compile(source: str) -> tuple[re.Pattern[str] | None, str]:
    upper = _uppercase_literal(source)
    if upper is not None:
        return None, f"write regexes in lower case (text is case-folded before matching); found {upper!r}"
    if " |" in source or "| " in source:
        # Almost always a folded YAML line break (">-") inside an alternation.
        return None, "literal space next to '|' (use \\s, or give a fragment as a list of alternatives)"
    try:
        return re.compile(source, _FLAGS), ""
    except (re.error, OverflowError, RecursionError) as exc:
        return None, f"invalid regex ({exc})"


# --------------------------------------------------------------------------
# Prefix guard: a speed-up that never changes results
# --------------------------------------------------------------------------
#
# A family regex is an alternation of ~10-20 patterns, each tried at every word
# start of a long narrative. The guard is a lookahead listing every possible first
# _PREFIX_LEN characters of a match, arranged as a trie of literals so the engine
# rejects most word starts after a few character comparisons. The prefixes are
# derived from CPython's regex parse tree; anything unusual (\w, negated classes,
# back-references, an unknown parser) disables the guard for that family.


class _NoGuard(Exception):
    pass


# Marks a prefix cut short by something not enumerable (\s, \w, a negated class):
# any continuation is admitted from there.
_OPEN = "\x00"


def _done(prefix: str, need: int) -> bool:
    return len(prefix) >= need or prefix.endswith(_OPEN)


def _sre_parser() -> Any:
    try:
        return importlib.import_module("re._parser")
    except ImportError:  # pragma: no cover - Python < 3.11
        return None


def _expand_op(op: Any, av: Any, need: int) -> set[str]:
    name = str(op)
    if name == "LITERAL":
        return {chr(av)}
    if name == "IN":
        chars: set[str] = set()
        for item_op, item_av in av:
            item = str(item_op)
            if item == "LITERAL":
                chars.add(chr(item_av))
            elif item == "RANGE" and item_av[1] - item_av[0] <= 64:
                chars.update(chr(c) for c in range(item_av[0], item_av[1] + 1))
            elif item == "CATEGORY" and str(item_av) == "CATEGORY_SPACE":
                chars.update(" \n")  # the only whitespace left in folded text
            else:
                return {_OPEN}
        return chars
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return {""}
    if name == "BRANCH":
        out: set[str] = set()
        for alternative in av[1]:
            out |= _expand_seq(alternative, need)
        return out
    if name == "SUBPATTERN":
        if av[1] or av[2]:  # inline flags such as (?i:...)
            raise _NoGuard
        return _expand_seq(av[3], need)
    if name == "ATOMIC_GROUP":
        return _expand_seq(av, need)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, item_seq = av
        results: set[str] = set()
        current = {""}
        reps = 0
        while True:
            if reps >= low or all(_done(x, need) for x in current):
                results |= current
            if reps >= low and (reps == high or all(_done(x, need) for x in current)):
                break
            following: set[str] = set()
            for x in current:
                if _done(x, need):
                    following.add(x)
                    continue
                following.update(x + y for y in _expand_seq(item_seq, need - len(x)))
            if following == current:
                results |= current
                break
            current = following
            reps += 1
            if len(current) > _PREFIX_LIMIT:
                raise _NoGuard
        return results
    # Anything else (any char, \w, back-references, ...) may match anything here.
    return {_OPEN}


def _expand_seq(seq: Any, need: int) -> set[str]:
    partials = {""}
    for op, av in seq:
        if all(_done(p, need) for p in partials):
            break
        following: set[str] = set()
        for p in partials:
            if _done(p, need):
                following.add(p)
                continue
            following.update(p + s for s in _expand_op(op, av, need - len(p)))
        partials = following
        if len(partials) > _PREFIX_LIMIT:
            raise _NoGuard
    return partials


def _literal(ch: str) -> str:
    return {" ": r"\x20", "\n": r"\n"}.get(ch) or re.escape(ch)


def _trie(prefixes: set[str]) -> str:
    groups: dict[str, set[str]] = {}
    for p in prefixes:
        groups.setdefault(p[0], set()).add(p[1:])
    alternatives = []
    for first in sorted(groups):
        rest = groups[first]
        if "" in rest or any(r.startswith(_OPEN) for r in rest):
            alternatives.append(_literal(first))
        else:
            alternatives.append(_literal(first) + _trie(rest))
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _guard(body: str) -> str | None:
    """A lookahead admitting every possible start of ``body``, or None."""
    parser = _sre_parser()
    if parser is None:
        return None
    try:
        prefixes = _expand_seq(parser.parse(body, _FLAGS), _PREFIX_LEN)
    except (_NoGuard, RecursionError):
        return None
    except Exception:  # pragma: no cover - unexpected parser internals: no guard
        return None
    if not prefixes or any(p == "" or p.startswith(_OPEN) for p in prefixes):
        return None
    # A one-character class first: a single bitmap test rejects spaces and most letters.
    first = "".join(sorted({_literal(p[0]) for p in prefixes}))
    return f"(?=[{first}])(?={_trie(prefixes)})"


def _bounded(body: str, guard: str = "") -> str:
    # Every family pattern is anchored on word boundaries, whatever its author wrote.
    return rf"(?<!\w){guard}(?:{body})(?!\w)"


def _fragment_text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "|".join(value)


def _check_fragments(
    fragments: Mapping[str, str | list[str]],
    col: _Collector,
    field: str,
    shared: Mapping[str, str] | None = None,
) -> dict[str, str]:
    good: dict[str, str] = {}
    for name, raw in fragments.items():
        loc = (field, name)
        if not raw or (isinstance(raw, list) and not all(raw)):
            col.add(loc, "fragment is empty")
            continue
        value = _fragment_text(raw)
        if not _FRAGMENT_NAME.fullmatch(name):
            col.add(loc, "fragment names must be UPPER_SNAKE_CASE")
            continue
        if shared is not None and name in shared:
            col.add(loc, f"fragment {name!r} shadows a fragment in {CUES_FILENAME}")
            continue
        if _FRAGMENT_REF.search(value):
            col.add(loc, "fragments cannot reference other fragments")
            continue
        compiled, problem = _try_compile(f"(?:{value})")
        if compiled is None:
            col.add(loc, problem)
            continue
        if compiled.fullmatch(""):
            col.add(loc, "fragment matches the empty string")
            continue
        good[name] = value
    return good


def _phrase_source(phrase: str) -> str | None:
    words = phrase.split()
    if not words or not _WORD_CHAR.match(words[0][0]) or not _WORD_CHAR.match(words[-1][-1]):
        return None
    parts = []
    for word in words:
        pieces = []
        for ch in word.lower():
            if ch in "'\u2019":
                pieces.append("['\u2019]")  # straight or curly apostrophe
            elif ch == "-":
                pieces.append(r"[-\s]?")  # "play-fight", "play fight", "playfight"
            else:
                pieces.append(re.escape(ch))
        parts.append("".join(pieces))
    return r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"


def _phrase_regex(phrases: Sequence[str], col: _Collector, loc: LinePath) -> re.Pattern[str] | None:
    sources: list[str] = []
    ok = True
    for i, phrase in enumerate(phrases):
        source = _phrase_source(phrase)
        if source is None:
            col.add((*loc, i), f"cue {phrase!r} must start and end with a letter or digit")
            ok = False
            continue
        sources.append(source)
    if not ok or not sources:
        return None
    # Longest first so a combined search prefers the most specific cue.
    sources.sort(key=len, reverse=True)
    compiled, problem = _try_compile("|".join(sources))
    if compiled is None:
        col.add(loc, problem)
    return compiled


def _boundary_regex(items: Sequence[str], col: _Collector, field: str) -> list[str]:
    good: list[str] = []
    for i, source in enumerate(items):
        compiled, problem = _try_compile(f"(?:{source})")
        if compiled is None:
            col.add((field, i), problem)
        elif compiled.fullmatch(""):
            col.add((field, i), "boundary matches the empty string")
        else:
            good.append(f"(?:{source})")
    return good


@dataclass
class _LoadedCues:
    spec: CuesFile
    col: _Collector
    sentence: list[str]
    clause: list[str]
    fragments: dict[str, str]


def _load_cues(path: Path, sink: list[LexiconErrorItem]) -> _LoadedCues | None:
    col = _Collector(_display(path), sink)
    if not path.is_file():
        col.add((), f"missing {CUES_FILENAME}", 0)
        return None
    data = _read_yaml(path, col)
    if data is None:
        return None
    spec = _validate(CuesFile, data, col)
    if spec is None:
        # Still report broken boundary regexes alongside the schema errors.
        for field in ("sentence_boundaries", "clause_boundaries"):
            raw = data.get(field)
            if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
                _boundary_regex(raw, col, field)
        return None
    sentence = _boundary_regex(spec.sentence_boundaries, col, "sentence_boundaries")
    clause = _boundary_regex(spec.clause_boundaries, col, "clause_boundaries")
    fragments = _check_fragments(spec.fragments, col, "fragments")
    names = [g.name for g in spec.cue_groups]
    for i, name in enumerate(names):
        if names.index(name) != i:
            col.add(("cue_groups", i, "name"), f"duplicate cue group {name!r}")
    return _LoadedCues(spec, col, sentence, clause, fragments)


def _compile_rules(cues: _LoadedCues, families: set[str]) -> list[_CueRule]:
    col = cues.col
    rules: list[_CueRule] = []
    for i, group in enumerate(cues.spec.cue_groups):
        base: LinePath = ("cue_groups", i)
        for field in ("exempt_families", "only_families"):
            listed = getattr(group, field) or []
            for j, fam in enumerate(listed):
                if fam not in families:
                    col.add((*base, field, j), f"unknown family {fam!r}")
        regex = _phrase_regex(group.cues, col, (*base, "cues"))
        pseudo = _phrase_regex(group.pseudo, col, (*base, "pseudo")) if group.pseudo else None
        if regex is None:
            continue
        rules.append(
            _CueRule(
                name=group.name,
                before=group.direction in ("before", "both"),
                after=group.direction in ("after", "both"),
                sentence_scope=group.scope == "sentence",
                window=group.window_tokens,
                regex=regex,
                pseudo=pseudo,
                exempt=frozenset(group.exempt_families),
                only=None if group.only_families is None else frozenset(group.only_families),
            )
        )
    return rules


def _lint_raw_patterns(data: Mapping[str, Any], shared: Mapping[str, str] | None, col: _Collector) -> None:
    """Best-effort regex check of a family file that failed schema validation."""
    raw_fragments = data.get("fragments")
    local = raw_fragments if isinstance(raw_fragments, dict) else {}
    fragments = {**(shared or {})}
    for key, value in local.items():
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            fragments[str(key)] = _fragment_text(value)
    raw_patterns = data.get("patterns")
    if not isinstance(raw_patterns, list):
        return
    for i, entry in enumerate(raw_patterns):
        if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
            continue
        body, missing = _expand(entry["pattern"], fragments)
        if missing:
            continue
        compiled, problem = _try_compile(_bounded(body))
        if compiled is None:
            col.add(("patterns", i, "pattern"), problem)


def _load_family(
    path: Path,
    shared: Mapping[str, str] | None,
    sink: list[LexiconErrorItem],
    optimise: bool = True,
    lint: bool = True,
) -> tuple[FamilyInfo, re.Pattern[str]] | None:
    """Load one family file. ``shared`` is None when ``_cues.yaml`` is broken:
    patterns using its fragments are then left unchecked rather than misreported."""
    col = _Collector(_display(path), sink)
    data = _read_yaml(path, col)
    if data is None:
        return None
    spec = _validate(FamilyFile, data, col)
    if spec is None:
        _lint_raw_patterns(data, shared, col)
        return None
    before = col.count
    if spec.family != path.stem:
        col.add(("family",), f"family {spec.family!r} does not match file name {path.name!r}")
    local = _check_fragments(spec.fragments, col, "fragments", shared or {})
    fragments = {**(shared or {}), **local}
    bodies: list[str] = []
    unchecked = False
    for i, entry in enumerate(spec.patterns):
        loc: LinePath = ("patterns", i, "pattern")
        body, missing = _expand(entry.pattern, fragments)
        if missing and shared is None:
            unchecked = True
            continue
        if missing:
            col.add(loc, f"unknown fragment(s): {', '.join(sorted(set(missing)))}")
            continue
        if not lint:
            bodies.append(body)
            continue
        compiled, problem = _try_compile(_bounded(body))
        if compiled is None:
            col.add(loc, problem)
            continue
        if compiled.search("") is not None:
            col.add(loc, "pattern matches the empty string")
            continue
        if compiled.search(_fold(entry.example)) is None:
            col.add(("patterns", i, "example"), "example does not match its pattern")
        bodies.append(body)
    combined: re.Pattern[str] | None = None
    if col.count == before and not unchecked:
        body = "|".join(f"(?:{b})" for b in bodies)
        combined, problem = _try_compile(_bounded(body))
        if combined is None:
            col.add(("patterns",), f"patterns do not combine: {problem}")
        elif optimise and (guard := _guard(body)) is not None:
            guarded, _ = _try_compile(_bounded(body, guard))
            combined = guarded or combined
    if combined is None:
        return None
    info = FamilyInfo(
        name=spec.family,
        title=spec.title,
        offence_codes=frozenset(spec.offence_codes),
        source=col.display,
        examples=tuple(entry.example for entry in spec.patterns),
        not_examples=tuple(spec.not_examples),
    )
    return info, combined


def load_lexicon(directory: Path, *, optimise: bool = True, lint: bool = True) -> Lexicon:
    """Load and compile every lexicon file in ``directory``.

    Raises :class:`LexiconError` listing every problem found in every file.
    ``optimise=False`` skips the prefix guard (same results, slower; for testing).
    ``lint=False`` compiles each family as one regex without checking every pattern and example
    on its own (a quarter of the load time, for checking incidents); if the family does not
    compile, the full lint runs to say which pattern is wrong.
    """
    if not lint:
        try:
            return _load(Path(directory), optimise, lint=False)
        except LexiconError:
            pass
    return _load(Path(directory), optimise, lint=True)


def _load(directory: Path, optimise: bool, lint: bool) -> Lexicon:
    directory = Path(directory)
    errors: list[LexiconErrorItem] = []
    if not directory.is_dir():
        raise LexiconError([(_display(directory), 0, "", "lexicon directory not found")])
    for stray in sorted(directory.glob("*.yml")):
        errors.append((_display(stray), 0, "", "lexicon files must use the .yaml extension"))
    cues = _load_cues(directory / CUES_FILENAME, errors)
    shared = cues.fragments if cues is not None else None
    paths = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not paths:
        errors.append((_display(directory), 0, "", "no family files (<family>.yaml) found"))
    families: list[tuple[FamilyInfo, re.Pattern[str]]] = []
    for path in paths:
        loaded = _load_family(path, shared, errors, optimise, lint)
        if loaded is not None:
            families.append(loaded)
    rules: list[_CueRule] = []
    if cues is not None:
        rules = _compile_rules(cues, {p.stem for p in paths})
    if errors or cues is None:
        errors.sort(key=lambda error: (error[0], error[1]))  # by file, then line
        raise LexiconError(errors)
    sentence_re = re.compile("|".join(cues.sentence), _FLAGS)
    clause_re = re.compile("|".join(cues.sentence + cues.clause), _FLAGS)
    scope = _Scope(sentence_re, clause_re, cues.spec.max_scope_chars, cues.spec.skip_questions, rules)
    return Lexicon(families, scope)
