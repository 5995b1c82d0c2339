"""The one-pass narrative screen: every regex runs once over the whole text, and each family
match is judged by binary search over what those passes found.

The windowed screen (:class:`checker.narrative.screen.Scope`) searches the 400 characters
around every match again for boundaries, cues and pseudo-cues, so a log dense with governed
matches costs hundreds of microseconds per match. Here each cue group, each pseudo list, the
word tokens and both boundary patterns are scanned once per text, lazily (a text with no family
match scans none of them), and every question the windowed screen asks is answered from those
scans in logarithmic time:

* cue and pseudo-cue matches within ``[lo, hi)`` are the whole-text matches inside it. They
  are the same matches a search limited to ``[lo, hi)`` finds, except where a whole-text match
  crosses ``lo`` or ``hi`` or ``hi`` cuts a word; there the limited search is run exactly, on
  the few characters concerned;
* the number of word tokens between two points is a difference of counts of token starts, plus
  one where the first point sits on an apostrophe inside a word (the windowed count starts a
  new token there);
* sentence and clause boundaries are the whole-text matches. Here alone the result may differ
  from the windowed screen, and only where its 400-character window cut a boundary match or a
  boundary's lookahead (its result then depended on where the window fell).
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from checker.narrative.constants import TOKEN, WORD_CHAR


class CueLike(Protocol):
    """What the index reads of a compiled cue group (checker.narrative.screen.CueRule)."""

    @property
    def name(self) -> str: ...
    @property
    def before(self) -> bool: ...
    @property
    def after(self) -> bool: ...
    @property
    def sentence_scope(self) -> bool: ...
    @property
    def window(self) -> int | None: ...
    @property
    def regex(self) -> re.Pattern[str]: ...
    @property
    def pseudo(self) -> re.Pattern[str] | None: ...
    def applies_to(self, family: str) -> bool: ...


class ScopeLike(Protocol):
    """What the index reads of the cue machinery (checker.narrative.screen.Scope)."""

    sentence_re: re.Pattern[str]
    clause_re: re.Pattern[str]
    max_chars: int
    skip_questions: bool

    @property
    def rules(self) -> Sequence[CueLike]: ...
    def context(self, text: str, start: int, end: int) -> Context: ...


_APOSTROPHES = "'\u2019"
# Ranges up to this many characters are searched directly (as the windowed screen does);
# longer ones are answered from one scan of the whole text, so a log dense with governed matches
# is not searched again around each of them.
SHORT = 160
# Boundaries around the first this many matches of a text are searched in their 400-character
# windows (exactly as the windowed screen does, cheaper than one scan of a typical log); after
# that one scan of the whole text answers them all.
WINDOWED = 4


@dataclass(frozen=True, slots=True)
class Context:
    """Sentence and clause around one match (offsets into the folded text)."""

    sentence_lo: int
    sentence_hi: int
    clause_lo: int
    clause_hi: int
    question: bool
    sentence_text_hi: int


class _Chain:
    """The non-overlapping matches of one regex over the whole text, as ``finditer`` finds them."""

    __slots__ = ("ends", "regex", "starts")

    def __init__(self, regex: re.Pattern[str], text: str) -> None:
        self.regex = regex
        starts: list[int] = []
        ends: list[int] = []
        for m in regex.finditer(text):
            starts.append(m.start())
            ends.append(m.end())
        self.starts = starts
        self.ends = ends

    def window(self, text: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """Exactly the spans ``regex.finditer(text, lo, hi)`` yields (for patterns that never
        match the empty string and whose every match starts and ends on a word character
        bounded by ``(?<!\\w)`` and ``(?!\\w)``, as cue phrases do)."""
        starts, ends = self.starts, self.ends
        out: list[tuple[int, int]] = []
        i = bisect_right(ends, lo)  # first match ending after lo
        pos = lo
        if i < len(starts) and starts[i] < lo:
            # a whole-text match crosses lo: search exactly until the chains meet again
            while True:
                m = self.regex.search(text, pos, hi)
                if m is None:
                    return out
                s, e = m.span()
                j = bisect_left(starts, s)
                if j < len(starts) and starts[j] == s and ends[j] == e:
                    i = j
                    break
                out.append((s, e))
                pos = e if e > s else e + 1
                i = bisect_left(starts, pos)
                if i == 0 or ends[i - 1] <= pos:
                    # no whole-text match covers pos: from here the two chains agree
                    break
        n = len(starts)
        while i < n and ends[i] <= hi:
            out.append((starts[i], ends[i]))
            i += 1
        pos = out[-1][1] if out else max(pos, lo)
        crossing = i < n and starts[i] < hi
        cut_word = 0 < hi < len(text) and WORD_CHAR.match(text, hi - 1) is not None and WORD_CHAR.match(text, hi)
        if crossing or cut_word:
            # the limit may shorten or admit a match here: search exactly
            if crossing and not cut_word:
                pos = max(pos, starts[i])
            while True:
                m = self.regex.search(text, pos, hi)
                if m is None:
                    break
                out.append(m.span())
                pos = m.end() if m.end() > m.start() else m.end() + 1
        return out


class TextIndex:
    """What the screen needs to know about one folded text, computed on first use."""

    def __init__(self, text: str, scope: ScopeLike) -> None:
        self.text = text
        self._scope = scope
        self._sentence_re = scope.sentence_re
        self._clause_re = scope.clause_re
        self._max = scope.max_chars
        self._windowed = WINDOWED
        self._sentence: _Chain | None = None
        self._clause: _Chain | None = None
        self._tokens: list[int] | None = None
        self._chains: dict[int, _Chain] = {}

    # -- scans, each made at most once -------------------------------------------------------

    def chain(self, regex: re.Pattern[str]) -> _Chain:
        found = self._chains.get(id(regex))
        if found is None:
            found = self._chains[id(regex)] = _Chain(regex, self.text)
        return found

    def _token_starts(self) -> list[int]:
        if self._tokens is None:
            self._tokens = [m.start() for m in TOKEN.finditer(self.text)]
        return self._tokens

    # -- questions ---------------------------------------------------------------------------

    def cue_spans(self, regex: re.Pattern[str], lo: int, hi: int) -> list[tuple[int, int]]:
        """``[m.span() for m in regex.finditer(text, lo, hi)]``."""
        if hi - lo <= SHORT:
            return [m.span() for m in regex.finditer(self.text, lo, hi)]
        return self.chain(regex).window(self.text, lo, hi)

    def token_starts_between(self, a: int, b: int) -> int:
        starts = self._token_starts()
        return bisect_left(starts, b) - bisect_left(starts, a)

    def tokens(self, a: int, b: int) -> int:
        """``len(TOKEN.findall(text, a, b))`` for ``a`` on a word end and ``b`` on a word start
        (where cue and family matches begin and end)."""
        if a >= b:
            return 0
        if b - a <= SHORT:
            return len(TOKEN.findall(self.text, a, b))
        count = self.token_starts_between(a, b)
        text = self.text
        if (
            a > 0
            and text[a] in _APOSTROPHES
            and a + 1 < b
            and WORD_CHAR.match(text, a - 1) is not None
            and WORD_CHAR.match(text, a + 1) is not None
        ):
            count += 1  # a search starting here starts a token inside the word
        return count

    def context(self, start: int, end: int) -> Context:
        if self._windowed:
            # the first few matches: search their windows, as the windowed screen does
            self._windowed -= 1
            return self._scope.context(self.text, start, end)
        text = self.text
        if self._sentence is None:
            self._sentence = _Chain(self._sentence_re, text)
            self._clause = _Chain(self._clause_re, text)
        sentence, clause = self._sentence, self._clause
        assert clause is not None
        window_lo = max(0, start - self._max)
        window_hi = min(len(text), end + self._max)
        s_lo = _last_end(sentence, window_lo, start)
        s_hi = s_text_hi = window_hi
        question = False
        i = bisect_left(sentence.starts, end)
        if i < len(sentence.starts) and sentence.starts[i] < window_hi:
            s_hi = sentence.starts[i]
            s_text_hi = min(sentence.ends[i], window_hi)
            question = "?" in text[s_hi:s_text_hi]
        c_lo = _last_end(clause, s_lo, start)
        j = bisect_left(clause.starts, end)
        c_hi = s_hi
        if j < len(clause.starts) and clause.ends[j] <= s_hi:
            c_hi = clause.starts[j]
        return Context(s_lo, s_hi, c_lo, c_hi, question, s_text_hi)

    def governed(self, family: str, start: int, end: int, ctx: Context) -> str | None:
        """Name of the cue group that suppresses the match ``[start, end)``, or None."""
        if self._scope.skip_questions and ctx.question:
            return "question"
        for rule in self._scope.rules:
            if not rule.applies_to(family):
                continue
            lo = ctx.sentence_lo if rule.sentence_scope else ctx.clause_lo
            hi = ctx.sentence_hi if rule.sentence_scope else ctx.clause_hi
            window = rule.window
            covered = _Pseudo(self, rule.pseudo, lo, hi)
            if rule.before and lo < start:
                cues = self.cue_spans(rule.regex, lo, start)
                for cs, ce in reversed(cues):
                    if window is not None and self.tokens(ce, start) > window:
                        # the count is at least the number of token starts in between, which
                        # only grows leftwards: once that is over the window, so is every earlier cue
                        if self.token_starts_between(ce, start) > window:
                            break
                        continue
                    if not covered(cs, ce):
                        return rule.name
            if rule.after and end < hi:
                for cs, ce in self.cue_spans(rule.regex, end, hi):
                    if window is not None and self.tokens(end, cs) > window:
                        break
                    if not covered(cs, ce):
                        return rule.name
        return None


class _Pseudo:
    """Whether a pseudo-cue within ``[lo, hi)`` contains a cue (its matches found on first use)."""

    __slots__ = ("hi", "index", "lo", "regex", "spans")

    def __init__(self, index: TextIndex, regex: re.Pattern[str] | None, lo: int, hi: int) -> None:
        self.index, self.regex, self.lo, self.hi = index, regex, lo, hi
        self.spans: list[tuple[int, int]] | None = None

    def __call__(self, cs: int, ce: int) -> bool:
        if self.regex is None:
            return False
        if self.spans is None:
            self.spans = self.index.cue_spans(self.regex, self.lo, self.hi)
        return _covers(self.spans, cs, ce)


def _last_end(chain: _Chain, lo: int, start: int) -> int:
    """End of the last non-empty boundary inside ``[lo, start]``, else ``lo``."""
    starts, ends = chain.starts, chain.ends
    i = bisect_right(ends, start) - 1
    while i >= 0 and starts[i] >= lo:
        if ends[i] > starts[i]:
            return ends[i]
        i -= 1
    return lo


def _covers(spans: list[tuple[int, int]], cs: int, ce: int) -> bool:
    """Whether a span of the (sorted, non-overlapping) ``spans`` contains ``[cs, ce)``."""
    i = bisect_right(spans, (cs, sys.maxsize)) - 1
    return i >= 0 and spans[i][0] <= cs and ce <= spans[i][1]
