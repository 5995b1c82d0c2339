"""The compiled lexicon kept on disk, so that `crimecheck check` does not parse and compile a few
hundred kilobytes of regex (about 0.25 s) every time it starts.

The cache holds, for each regex, the engine code CPython's compiler made from it, and rebuilds the
pattern with the engine's own constructor: nothing is parsed or compiled again. It is keyed by
everything the result depends on: the bytes and names of the lexicon files, the screen's own
source files, the Python version and the regex engine's version. Any mismatch, damage or error
means a normal load. The file is plain data (``marshal``, which runs no code) in the private
folder of checker.read.diskcache (``CRIMECHECK_CACHE_DIR=off`` turns it off). The engine checks
the code it is given, so a damaged file gives an error (and a normal load), not a wrong pattern.
"""

from __future__ import annotations

import hashlib
import importlib
import marshal
import re
import sys
from pathlib import Path
from typing import Any

from checker.narrative.screen import CueRule, FamilyInfo, Lexicon, Scope
from checker.read.diskcache import cache_dir, read_private, write_private

_FORMAT = 1
_SOURCES = ("cache.py", "constants.py", "guard.py", "index.py", "loader.py", "schema.py", "screen.py")


def lexicon_key(directory: Path, optimise: bool) -> str:
    """Hash of everything a compiled lexicon depends on."""
    sre = importlib.import_module("_sre")
    digest = hashlib.sha256()
    digest.update(f"{_FORMAT}|{sys.version}|{sre.MAGIC}|{optimise}".encode())
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    for path in sorted(Path(directory).glob("*.y*ml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def _code(pattern: re.Pattern[str]) -> tuple[Any, ...]:
    parser = importlib.import_module("re._parser")
    compiler = importlib.import_module("re._compiler")
    parsed = parser.parse(pattern.pattern, pattern.flags)
    code = compiler._code(parsed, pattern.flags)
    if pattern.groups or parsed.state.groupdict:
        raise ValueError("patterns with groups are not cached")
    return (pattern.pattern, int(pattern.flags | parsed.state.flags), [int(c) for c in code])


def _pattern(data: tuple[Any, ...]) -> re.Pattern[str]:
    source, flags, code = data
    sre = importlib.import_module("_sre")
    compiled: re.Pattern[str] = sre.compile(source, flags, code, 0, {}, (None,))
    return compiled


def _dump(lexicon: Lexicon) -> bytes:
    families = [
        (
            (
                info.name,
                info.title,
                sorted(info.offence_codes),
                info.source,
                list(info.examples),
                list(info.not_examples),
            ),
            _code(regex),
        )
        for info, regex in lexicon.compiled_families()
    ]
    scope = lexicon.scope
    rules = [
        (
            r.name,
            r.before,
            r.after,
            r.sentence_scope,
            r.window,
            _code(r.regex),
            None if r.pseudo is None else _code(r.pseudo),
            sorted(r.exempt),
            None if r.only is None else sorted(r.only),
        )
        for r in scope.rules
    ]
    data = (families, _code(scope.sentence_re), _code(scope.clause_re), scope.max_chars, scope.skip_questions, rules)
    return marshal.dumps(data)


def _load(blob: bytes) -> Lexicon:
    families_data, sentence, clause, max_chars, skip_questions, rules_data = marshal.loads(blob)
    families = [
        (FamilyInfo(name, title, frozenset(codes), source, tuple(ex), tuple(nex)), _pattern(code))
        for (name, title, codes, source, ex, nex), code in families_data
    ]
    rules = [
        CueRule(
            name=name,
            before=before,
            after=after,
            sentence_scope=sentence_scope,
            window=window,
            regex=_pattern(regex),
            pseudo=None if pseudo is None else _pattern(pseudo),
            exempt=frozenset(exempt),
            only=None if only is None else frozenset(only),
        )
        for name, before, after, sentence_scope, window, regex, pseudo, exempt, only in rules_data
    ]
    scope = Scope(_pattern(sentence), _pattern(clause), max_chars, skip_questions, rules)
    return Lexicon(families, scope)


def read(key: str) -> Lexicon | None:
    """The cached lexicon under ``key``, or None."""
    blob = read_private(f"lexicon-{key}.bin")
    if blob is None:
        return None
    try:
        return _load(blob)
    except Exception:  # a stale or damaged cache is a miss
        return None


def write(key: str, lexicon: Lexicon) -> None:
    """Keep ``lexicon`` under ``key`` (best effort: a cache that cannot be written is skipped)."""
    if cache_dir() is None:
        return
    try:
        blob = _dump(lexicon)
    except Exception:
        return
    write_private(f"lexicon-{key}.bin", blob)


def load_lexicon_cached(directory: Path) -> Lexicon:
    """The lexicon in ``directory`` as :func:`load_lexicon` loads it for checking (optimised, not
    linted), from the cache when it holds it."""
    try:
        key: str | None = lexicon_key(directory, optimise=True)
    except OSError:
        key = None
    if key is not None and (found := read(key)) is not None:
        return found
    from checker.narrative.loader import load_lexicon  # the YAML, its schemas and the linter: only on a miss

    lexicon = load_lexicon(directory, optimise=True, lint=False)
    if key is not None:
        write(key, lexicon)
    return lexicon
