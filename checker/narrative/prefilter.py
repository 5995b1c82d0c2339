"""A prefilter that never changes results: one Hyperscan pass over a folded narrative says which
families may match, and only those run their Python regex.

Python's regex engine tries a family's pattern at every position of a narrative (~40 ns per
character per family), although most narratives hold a match of one family or none. Hyperscan
(optional: without it, or on a CPU it does not support, every family runs) scans for all families
at once. Each family's Hyperscan pattern is built from CPython's parse tree of the family's
compiled regex, construct by construct, so that it matches the UTF-8 bytes of every non-empty match
the regex can find in a folded text, and more:

* lookarounds and boundaries are dropped; a bounded repeat over 4 becomes open-ended;
* a literal is its UTF-8 bytes; a class is exact on ASCII, and admits any non-ASCII character
  where it holds ``\\w``, ``\\d``, a large range or is negated (Hyperscan's Unicode classes are not
  Python's); ``\\s`` is space or newline, the only whitespace :func:`~checker.narrative.screen.fold`
  leaves;
* the text is scanned as bytes (``surrogatepass``, so lone surrogates are scanned too), and the
  patterns count bytes, not characters: a non-ASCII character matches one or more bytes of 0x80
  and above.

Anything else (back-references, case-insensitive groups, a pattern Hyperscan refuses) leaves that
family without a prefilter: it runs on every text, as it did before. Compiling the database takes
seconds, so it is built only once a process has screened many narratives
(:data:`~checker.narrative.constants.PREFILTER_AFTER`) and kept on disk (checker.read.diskcache),
keyed by the patterns and Hyperscan's version; a process then loads it in milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from checker.narrative.guard import sre_parser
from checker.read.diskcache import held, read_private, write_private

_FORMAT = 1
_MAGIC = b"crimecheck-prefilter\0"
# Hyperscan refuses expressions over 16,000 characters; a family's alternatives are packed into
# expressions of at most this many.
_MAX_EXPRESSION = 12_000
# A bounded repeat with a larger upper bound is left open-ended (a superset): large counted
# repeats make the database several times slower to compile and no more selective.
_MAX_COUNT = 4


class _Untranslatable(Exception):
    pass


# --------------------------------------------------------------------------
# From CPython's parse tree to a Hyperscan pattern over UTF-8 bytes
# --------------------------------------------------------------------------

_ASCII = frozenset(range(128))
_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset(b"0123456789")
_SPACE = frozenset(b" \n")  # all the whitespace fold() leaves
_EXPLICIT_RANGE = 64  # a non-ASCII range up to this size is listed; a larger one admits any
_ANY_NON_ASCII = None  # stands for "every non-ASCII character" in a class


def _byte(b: int) -> str:
    ch = chr(b)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{b:02x}"


def _literal(cp: int) -> str:
    return "".join(_byte(b) for b in chr(cp).encode("utf-8", "surrogatepass"))


def _byte_class(members: set[int]) -> str:
    ordered = sorted(members)
    if len(ordered) == 1:
        return _byte(ordered[0])
    runs: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(_byte(ordered[i]) if i == j else f"{_byte(ordered[i])}-{_byte(ordered[j])}")
        i = j + 1
    return "[" + "".join(runs) + "]"


def _char_class(ascii_members: set[int], non_ascii: set[int] | None) -> str:
    """One character of the class: an ASCII byte, or the bytes of a non-ASCII character."""
    if non_ascii is _ANY_NON_ASCII:
        # one or more bytes of 0x80 and above: every non-ASCII character's UTF-8 form
        return _byte_class(ascii_members | set(range(0x80, 0x100))) + "+"
    parts = [_byte_class(ascii_members)] if ascii_members else []
    parts.extend(_literal(cp) for cp in sorted(non_ascii))
    if not parts:
        raise _Untranslatable("an empty class")
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _class_members(items: Any) -> tuple[set[int], set[int] | None]:
    """The ASCII bytes and the non-ASCII characters (or all of them) a class may match."""
    ascii_members: set[int] = set()  # a superset of the ASCII characters the items match
    ascii_sure: set[int] = set()  # a subset of them, for a negated class
    non_ascii: set[int] | None = set()
    negated = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            if av < 128:
                ascii_members.add(av)
                ascii_sure.add(av)
            elif non_ascii is not None:
                non_ascii.add(av)
        elif name == "RANGE":
            low, high = av
            ascii_members.update(range(low, min(high, 127) + 1))
            ascii_sure.update(range(low, min(high, 127) + 1))
            if high >= 128 and non_ascii is not None:
                if high - max(low, 128) < _EXPLICIT_RANGE:
                    non_ascii.update(range(max(low, 128), high + 1))
                else:
                    non_ascii = _ANY_NON_ASCII
        elif name == "CATEGORY":
            exact = {"CATEGORY_SPACE": _SPACE, "CATEGORY_WORD": _WORD, "CATEGORY_DIGIT": _DIGITS}.get(str(av))
            if exact is None:  # \S, \W, \D and the rest: any character (and none for sure)
                ascii_members |= _ASCII
            else:  # exact on ASCII (\s: on folded text)
                ascii_members |= exact
                ascii_sure |= exact
            if str(av) != "CATEGORY_SPACE":
                non_ascii = _ANY_NON_ASCII
        else:  # case-insensitive items and anything unknown
            raise _Untranslatable(name)
    if negated:
        # every ASCII character not surely in the class; any non-ASCII character (even one listed)
        return set(_ASCII - ascii_sure), _ANY_NON_ASCII
    return ascii_members, non_ascii


def _sequence(seq: Any) -> str:
    return "".join(_item(op, av) for op, av in seq)


def _group(inner: str) -> str:
    return f"(?:{inner})" if inner else ""


def _item(op: Any, av: Any) -> str:
    name = str(op)
    if name == "LITERAL":
        return _literal(av)
    if name == "NOT_LITERAL":
        return _char_class(set(_ASCII - {av}), _ANY_NON_ASCII)
    if name == "ANY":
        return _char_class(set(_ASCII), _ANY_NON_ASCII)
    if name == "IN":
        return _char_class(*_class_members(av))
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return ""  # dropped: without them a pattern matches more, never less
    if name == "BRANCH":
        return "(?:" + "|".join(_sequence(alternative) for alternative in av[1]) + ")"
    if name == "SUBPATTERN":
        if (av[1] | av[2]) & re.IGNORECASE:
            raise _Untranslatable("a case-insensitive group")
        return _group(_sequence(av[3]))
    if name == "ATOMIC_GROUP":
        return _group(_sequence(av))
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = av
        inner = _group(_sequence(body))
        if not inner or high == 0:
            return ""
        low = min(low, _MAX_COUNT)
        if high > _MAX_COUNT:
            return inner + ("*" if low == 0 else "+" if low == 1 else f"{{{low},}}")
        return inner + ("?" if (low, high) == (0, 1) else f"{{{low},{high}}}")
    raise _Untranslatable(name)  # back-references, conditionals, ...


def _alternatives(seq: Any) -> list[Any]:
    """The top-level alternatives of a parsed pattern, zero-width items dropped."""
    kept = [(op, av) for op, av in seq if str(op) not in ("AT", "ASSERT", "ASSERT_NOT")]
    if len(kept) == 1:
        op, av = kept[0]
        if str(op) == "SUBPATTERN" and not (av[1] | av[2]):
            return _alternatives(av[3])
        if str(op) == "BRANCH":
            return [a for alternative in av[1] for a in _alternatives(alternative)]
    return [kept]


def expressions(regex: re.Pattern[str]) -> list[str] | None:
    """Hyperscan expressions that together match the UTF-8 bytes of every non-empty match of
    ``regex`` in a folded text (and more), or None when that cannot be built safely."""
    parser = sre_parser()
    if parser is None:
        return None
    try:
        parsed = parser.parse(regex.pattern, regex.flags)
        if parsed.state.flags & re.IGNORECASE:
            return None
        translated = [_sequence(alternative) for alternative in _alternatives(parsed)]
    except (_Untranslatable, RecursionError):
        return None
    except Exception:  # unexpected parser internals: no prefilter
        return None
    if not translated or any(not t or len(t) > _MAX_EXPRESSION for t in translated):
        return None
    packed: list[str] = []
    current: list[str] = []
    for t in translated:
        if current and sum(len(c) + 1 for c in current) + len(t) > _MAX_EXPRESSION:
            packed.append("|".join(current))
            current = []
        current.append(t)
    packed.append("|".join(current))
    return packed


# --------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------


def _note(expression: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(expression)


class Prefilter:
    """Which families may match a folded text. Each thread of each process scans with scratch
    space of its own; the database itself is read-only."""

    def __init__(self, hyperscan: ModuleType, database: Any, owners: Sequence[str], always: frozenset[str]) -> None:
        self._hs = hyperscan
        self._database = database
        self._owners = tuple(owners)
        self._always = always
        self._local = threading.local()

    @property
    def always(self) -> frozenset[str]:
        """Families without a prefilter: they run on every text."""
        return self._always

    def _scratch(self) -> Any:
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            local.scratch = self._hs.Scratch(self._database)
            local.pid = pid
        return local.scratch

    def may_match(self, folded: str) -> frozenset[str] | None:
        """The families that may match ``folded`` (None: any family may)."""
        found: list[int] = []
        try:
            scratch = self._scratch()
            self._database.scan(folded.encode("utf-8", "surrogatepass"), _note, context=found, scratch=scratch)
        except self._hs.error:
            return None
        return self._always.union(self._owners[i] for i in found)


_FLAGS = ("HS_FLAG_PREFILTER", "HS_FLAG_SINGLEMATCH")
# key -> (database, family of each expression): for lexicons loaded again in this process
_BUILT: dict[str, tuple[Any, list[str]]] = {}
_BUILD_LOCK = threading.Lock()


def _after_fork() -> None:  # a child forked while another thread was building must not wait for it
    global _BUILD_LOCK
    _BUILD_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def flags_of(hyperscan: ModuleType) -> int:
    """The flags every expression is compiled with: a superset is enough (prefilter mode lets
    Hyperscan widen what it cannot do exactly), and one match per expression tells all we need."""
    flags = 0
    for flag in _FLAGS:
        flags |= int(getattr(hyperscan, flag))
    return flags


def _compile(hyperscan: ModuleType, patterns: Sequence[str], flags: int) -> Any:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[p.encode("ascii") for p in patterns],
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=flags,
    )
    return database


def _load(hyperscan: ModuleType, key: str) -> tuple[Any, list[str]] | None:
    """The database kept under ``key`` and the family of each of its expressions, or None."""
    blob = read_private(f"prefilter-{key}.bin")
    if blob is None or not blob.startswith(_MAGIC):
        return None
    digest, rest = blob[len(_MAGIC) : len(_MAGIC) + 32], blob[len(_MAGIC) + 32 :]
    if hashlib.sha256(rest).digest() != digest:
        return None
    names, _, data = rest.partition(b"\0\0")
    try:
        return hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK), names.decode().split("\0")
    except Exception:  # another CPU or Hyperscan version, or damage: compile again
        return None


def _store(hyperscan: ModuleType, key: str, database: Any, owners: Sequence[str]) -> None:
    try:
        rest = "\0".join(owners).encode() + b"\0\0" + bytes(hyperscan.dumpb(database))
    except Exception:
        return
    write_private(f"prefilter-{key}.bin", _MAGIC + hashlib.sha256(rest).digest() + rest)


def build(families: Sequence[tuple[str, re.Pattern[str]]]) -> Prefilter | None:
    """The prefilter for these families, or None (no Hyperscan, or no family translatable)."""
    try:
        hyperscan = importlib.import_module("hyperscan")
        flags = flags_of(hyperscan)
        version = str(getattr(hyperscan, "__version__", "?"))
    except Exception:  # not installed, no wheel for this machine, or not the API expected
        return None
    # keyed by what the database is made from, so that a hit needs no translation (0.2 s)
    digest = hashlib.sha256(f"{_FORMAT}|{version}|{platform.machine()}|{flags}".encode())
    digest.update(Path(__file__).read_bytes())
    for name, regex in families:
        digest.update(f"{name}\0{regex.flags}\0{regex.pattern}\0".encode("utf-8", "surrogatepass"))
    key = digest.hexdigest()[:32]
    with _BUILD_LOCK:
        built = _BUILT.get(key) or _load(hyperscan, key)
        if built is None:
            # an audit's workers reach this together: one compiles, the others wait and load its copy
            with held(f"prefilter-{key}.lock"):
                built = _load(hyperscan, key)
                if built is None:
                    built = compile_families(hyperscan, families, flags)
                    if built is None:
                        return None
                    _store(hyperscan, key, *built)
        _BUILT[key] = built
    database, owners = built
    # a family Hyperscan refused, or one without expressions, runs on every text
    always = frozenset(name for name, _ in families) - set(owners)
    return Prefilter(hyperscan, database, owners, always)


def compile_families(
    hyperscan: ModuleType, families: Sequence[tuple[str, re.Pattern[str]]], flags: int
) -> tuple[Any, list[str]] | None:
    """The database of every family's expressions and the family of each expression; a family
    that cannot be translated or that Hyperscan refuses is left out."""
    patterns: list[str] = []
    owners: list[str] = []
    for name, regex in families:
        found = expressions(regex)
        if found is not None:
            patterns.extend(found)
            owners.extend([name] * len(found))
    if not patterns:
        return None
    try:
        return _compile(hyperscan, patterns, flags), owners
    except hyperscan.error:
        pass
    refused: set[str] = set()
    for name in dict.fromkeys(owners):
        mine = [p for p, o in zip(patterns, owners, strict=True) if o == name]
        try:
            _compile(hyperscan, mine, flags)
        except hyperscan.error:
            refused.add(name)
    kept = [(p, o) for p, o in zip(patterns, owners, strict=True) if o not in refused]
    if not kept:
        return None
    try:
        return _compile(hyperscan, [p for p, _ in kept], flags), [o for _, o in kept]
    except hyperscan.error:
        return None
