"""A speed-up that never changes results: a literal-prefix lookahead guarding each family regex."""

from __future__ import annotations

import importlib
import re
from typing import Any

from checker.narrative.constants import FLAGS, PREFIX_LEN, PREFIX_LIMIT

# --------------------------------------------------------------------------
# Prefix guard: a speed-up that never changes results
# --------------------------------------------------------------------------
#
# A family regex is an alternation of ~10-20 patterns, each tried at every word
# start of a long narrative. The guard is a lookahead listing every possible first
# PREFIX_LEN characters of a match, arranged as a trie of literals so the engine
# rejects most word starts after a few character comparisons. The prefixes are
# derived from CPython's regex parse tree; anything unusual (\w, negated classes,
# back-references, an unknown parser) disables the guard for that family.


class _NoGuard(Exception):
    pass


# Marks a prefix cut short by something not enumerable (\s, \w, a negated class):
# any continuation is admitted from there.
_OPEN = "\x00"


# Stands for `\d` (any decimal digit, as the family regex itself reads it) in a prefix: a Unicode
# noncharacter; a pattern that holds it gets no guard.
_DIGIT = "\ufdd0"


def _done(prefix: str, need: int) -> bool:
    return len(prefix) >= need or prefix.endswith(_OPEN)


def sre_parser() -> Any:
    """CPython's regex parser (its parse trees are what the guard and the prefilter read), or None."""
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
            elif item == "CATEGORY" and str(item_av) == "CATEGORY_DIGIT":
                chars.add(_DIGIT)  # kept as the class itself: Unicode has hundreds of digits
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
            if len(current) > PREFIX_LIMIT:
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
        if len(partials) > PREFIX_LIMIT:
            raise _NoGuard
    return partials


def _literal(ch: str) -> str:
    return {" ": r"\x20", "\n": r"\n", _DIGIT: r"\d"}.get(ch) or re.escape(ch)


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


def prefix_guard(body: str) -> str | None:
    """A lookahead admitting every possible start of ``body``, or None."""
    parser = sre_parser()
    if parser is None or _DIGIT in body:
        return None
    try:
        prefixes = _expand_seq(parser.parse(body, FLAGS), PREFIX_LEN)
    except (_NoGuard, RecursionError):
        return None
    except Exception:  # pragma: no cover - unexpected parser internals: no guard
        return None
    if not prefixes or any(p == "" or p.startswith(_OPEN) for p in prefixes):
        return None
    # A one-character class first: a single bitmap test rejects spaces and most letters.
    first = "".join(sorted({_literal(p[0]) for p in prefixes}))
    return f"(?=[{first}])(?={_trie(prefixes)})"


def bounded(body: str, guard: str = "") -> str:
    # Every family pattern is anchored on word boundaries, whatever its author wrote.
    return rf"(?<!\w){guard}(?:{body})(?!\w)"


# --------------------------------------------------------------------------
# Catastrophic backtracking: refused when a lexicon is loaded
# --------------------------------------------------------------------------
#
# Python's regex engine backtracks. A repeated group that can itself match in several ways
# ("(\w+\s?)+", "(a|a?)*") makes it try exponentially many ways of splitting a text that does not
# match: one such pattern took 72 s on 33 characters. A force's lexicon (--rules DIR) is checked
# here before any narrative reaches it, and a pattern with a repeat inside an open-ended repeat is
# refused: a repeat whose body holds another repeat of varying length is allowed only with a
# small bound on the outer one ("(?:\w+\s+){1,2}"), where the ways to split are few.

NESTED_BOUND = 8
"""Largest upper bound allowed on a repeat whose body holds another repeat of varying length."""


def _children(name: str, av: Any) -> list[Any]:
    """The sub-sequences inside one parsed item."""
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return [av[2]]
    if name == "SUBPATTERN":
        return [av[3]]
    if name == "BRANCH":
        return list(av[1])
    if name == "ATOMIC_GROUP":
        return [av]
    if name in ("ASSERT", "ASSERT_NOT"):
        return [av[1]]
    if name == "GROUPREF_EXISTS":
        return [s for s in av[1:] if s is not None]
    return []


def _varies(seq: Any) -> bool:
    """Whether ``seq`` holds a repeat of varying length (at any depth)."""
    for op, av in seq:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] != av[1]:
            return True
        if any(_varies(child) for child in _children(name, av)):
            return True
    return False


def _nested(seq: Any) -> str | None:
    for op, av in seq:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] > NESTED_BOUND and _varies(av[2]):
            return "a repeat of something that can itself repeat"
        for child in _children(name, av):
            found = _nested(child)
            if found:
                return found
    return None


def catastrophic(source: str) -> str | None:
    """Why ``source`` may backtrack for ever on some text, or None."""
    parser = sre_parser()
    if parser is None:  # pragma: no cover - Python < 3.11
        return None
    try:
        return _nested(parser.parse(source, FLAGS))
    except Exception:  # left to the compiler to report
        return None
