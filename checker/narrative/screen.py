"""The narrative screen: compiled cue machinery and the Lexicon that finds, per offence family, the
first phrase no negation, hypothetical or context cue governs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from checker.narrative.constants import BOUNDARY_LOOKAHEAD, MAX_SENTENCE_CHARS, PREFILTER_AFTER, TOKEN
from checker.narrative.index import Context, TextIndex

if TYPE_CHECKING:
    from checker.narrative.prefilter import Prefilter

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
class CueRule:
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


class Scope:
    """Sentence / clause segmentation and cue evaluation around a match."""

    def __init__(
        self,
        sentence_re: re.Pattern[str],
        clause_re: re.Pattern[str],
        max_chars: int,
        skip_questions: bool,
        rules: Sequence[CueRule],
    ) -> None:
        self._sentence_re = self.sentence_re = sentence_re
        self._clause_re = self.clause_re = clause_re
        self._max = self.max_chars = max_chars
        self._skip_questions = self.skip_questions = skip_questions
        self._rules = self.rules = tuple(rules)

    def _last_boundary_end(self, regex: re.Pattern[str], text: str, lo: int, start: int) -> int:
        last = lo
        endpos = min(len(text), start + BOUNDARY_LOOKAHEAD)
        for m in regex.finditer(text, lo, endpos):
            if m.end() > start:
                break
            if m.end() > m.start():
                last = m.end()
        return last

    def context(self, text: str, start: int, end: int) -> Context:
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
        return Context(s_lo, s_hi, c_lo, c_hi, question, s_text_hi)

    @staticmethod
    def _pseudo_covers(rule: CueRule, text: str, lo: int, hi: int, cue: re.Match[str]) -> bool:
        if rule.pseudo is None:
            return False
        return any(p.start() <= cue.start() and cue.end() <= p.end() for p in rule.pseudo.finditer(text, lo, hi))

    def governed(self, family: str, text: str, start: int, end: int, ctx: Context) -> str | None:
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
                    if rule.window is not None and len(TOKEN.findall(text, cue.end(), start)) > rule.window:
                        continue
                    if self._pseudo_covers(rule, text, lo, hi, cue):
                        continue
                    return rule.name
            if rule.after and end < hi:
                for cue in rule.regex.finditer(text, end, hi):
                    if rule.window is not None and len(TOKEN.findall(text, end, cue.start())) > rule.window:
                        break
                    if self._pseudo_covers(rule, text, lo, hi, cue):
                        continue
                    return rule.name
        return None


class Judge(Protocol):
    """Says, for one text, what surrounds a match and which cue governs it."""

    def context(self, start: int, end: int) -> Context: ...

    def governed(self, family: str, start: int, end: int, ctx: Context) -> str | None: ...


class _Windowed:
    """The windowed screen's judgement: the window around each match searched again."""

    def __init__(self, text: str, scope: Scope) -> None:
        self.text, self.scope = text, scope

    def context(self, start: int, end: int) -> Context:
        return self.scope.context(self.text, start, end)

    def governed(self, family: str, start: int, end: int, ctx: Context) -> str | None:
        return self.scope.governed(family, self.text, start, end, ctx)


# Every whitespace character but the newline becomes a plain space when folding, so
# the prefix guard need only consider " " and "\n" where a regex says \s. (All
# Unicode whitespace lies below U+3001.)
_SPACES = str.maketrans({c: " " for c in map(chr, range(0x3001)) if c.isspace() and c != "\n"})


def fold(text: str) -> str:
    """Lower-case ``text`` and normalise whitespace without changing its length."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(low_c if len(low_c := c.lower()) == 1 else c for c in text)
    return low.translate(_SPACES)


def uppercase_literal(source: str) -> str | None:
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
        scope: Scope,
        prefilter: bool = True,
    ) -> None:
        self._info: dict[str, FamilyInfo] = {info.name: info for info, _ in families}
        self._regexes: tuple[tuple[str, re.Pattern[str]], ...] = tuple((info.name, regex) for info, regex in families)
        self._scope = scope
        self._start_prefilter(prefilter)

    def _start_prefilter(self, wanted: bool) -> None:
        # The Hyperscan prefilter (checker.narrative.prefilter) is built after PREFILTER_AFTER
        # screens; until then, when it cannot be built, or when not ``wanted``, every family runs.
        self._prefilter_wanted = self._prefilter_pending = wanted
        self._prefilter: Prefilter | None = None
        self._prefilter_countdown = PREFILTER_AFTER
        self._prefilter_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # a Hyperscan database, its scratch space and a lock stay in the process that made them
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_prefilter")}
        state["_prefilter_wanted"] = self._prefilter_wanted
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        wanted = state.pop("_prefilter_wanted")
        self.__dict__.update(state)
        self._start_prefilter(wanted)

    @property
    def prefilter(self) -> Prefilter | None:
        """The Hyperscan prefilter, once built."""
        return self._prefilter

    def prepare_prefilter(self) -> Prefilter | None:
        """Build the Hyperscan prefilter now, rather than after the first screens; None when it
        cannot be built (no Hyperscan, or a lexicon loaded with ``optimise=False``)."""
        if not self._prefilter_pending:
            return self._prefilter
        with self._prefilter_lock:
            if self._prefilter_pending:
                from checker.narrative.prefilter import build  # Hyperscan: only for a batch

                self._prefilter = build(self._regexes)
                self._prefilter_pending = False
        return self._prefilter

    def prefilter_now(self) -> None:
        """Start building the prefilter now, beside what follows, rather than after
        PREFILTER_AFTER screens (a process that will screen a batch asks for it at once). Built
        beside the screening (Hyperscan's compiler lets other threads run): no screen, a service
        request or an audit's chunk, waits the seconds a compile takes."""
        if self._prefilter_pending and self._prefilter_countdown > 0:
            self._prefilter_countdown = 0  # (so that no screen starts a second build)
            threading.Thread(target=self.prepare_prefilter, name="prefilter", daemon=True).start()

    def _candidates(self, folded: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """The families that may match ``folded``: all of them until the prefilter is built."""
        prefilter = self._prefilter
        if prefilter is None:
            if not self._prefilter_pending:
                return self._regexes
            if self._prefilter_countdown > 1:
                self._prefilter_countdown -= 1
            else:  # the PREFILTER_AFTER-th screen starts the build
                self.prefilter_now()
            return self._regexes
        may = prefilter.may_match(folded)
        if may is None:
            return self._regexes
        return tuple(item for item in self._regexes if item[0] in may)

    @property
    def scope(self) -> Scope:
        """The compiled cue machinery."""
        return self._scope

    def compiled_families(self) -> list[tuple[FamilyInfo, re.Pattern[str]]]:
        """Each family's details and compiled regex, in file-name order."""
        return [(self._info[name], regex) for name, regex in self._regexes]

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

    def screen(self, text: str, covered: frozenset[str] = frozenset()) -> list[NarrativeHit]:
        """First ungoverned hit per family, ordered by position. A family not in ``covered`` (the
        families the incident already discloses or records) skips a hit that overlaps any
        ungoverned hit of a covered family: "pushed over by a man, who took her wallet" is the
        recorded robbery, not a second, assault, offence, wherever it stands in the log.

        Cues, boundaries and tokens are scanned once per text, and only when a family matched
        (see :mod:`checker.narrative.index`)."""
        return self._screen(text, TextIndex, covered, prefilter=True)

    def reference_screen(self, text: str, covered: frozenset[str] = frozenset()) -> list[NarrativeHit]:
        """The screen as first written: the 400 characters around every match searched again for
        boundaries and cues. Slow on logs dense with matches; kept as the reference the
        one-pass :meth:`screen` is tested against."""
        return self._screen(text, _Windowed, covered)

    def _screen(
        self,
        text: str,
        judge: Callable[[str, Scope], Judge],
        covered: frozenset[str] = frozenset(),
        prefilter: bool = False,
    ) -> list[NarrativeHit]:
        hits: list[NarrativeHit] = []
        folded = fold(text)
        judging: Judge | None = None
        spans: list[tuple[int, int]] = []  # every ungoverned hit of a covered family
        # A family the prefilter leaves out has no non-empty match: it would add no hit and no span.
        regexes = self._candidates(folded) if prefilter else self._regexes
        # covered families first, so that their spans are known before the others are judged
        for name, regex in sorted(regexes, key=lambda item: item[0] not in covered):
            for m in regex.finditer(folded):
                start, end = m.span()
                if start == end:
                    continue
                if judging is None:
                    judging = judge(folded, self._scope)
                ctx = judging.context(start, end)
                if judging.governed(name, start, end, ctx) is not None:
                    continue
                if name in covered:
                    spans.append((start, end))
                    if any(h.family == name for h in hits):
                        continue  # one hit per family; the spans of the rest still count
                elif any(s < end and start < e for s, e in spans):
                    continue
                sentence = _trim_sentence(text, ctx.sentence_lo, ctx.sentence_text_hi, start, end)
                hits.append(NarrativeHit(name, text[start:end], start, end, sentence))
                if name not in covered:
                    break
        hits.sort(key=lambda h: (h.start, h.end, h.family))
        return hits

    def explain(self, text: str, family: str) -> list[tuple[str, int, int, str | None]]:
        """Every raw match of ``family`` with the cue group suppressing it (debug aid)."""
        regex = dict(self._regexes)[family]
        folded = fold(text)
        out: list[tuple[str, int, int, str | None]] = []
        for m in regex.finditer(folded):
            start, end = m.span()
            ctx = self._scope.context(folded, start, end)
            out.append((text[start:end], start, end, self._scope.governed(family, folded, start, end, ctx)))
        return out
