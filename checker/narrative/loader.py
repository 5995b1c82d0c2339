"""Loading and linting a lexicon directory; every problem located by file, line and field."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from checker.core.errors import Problem, RuleError, dotted, error_text
from checker.narrative.constants import CUES_FILENAME, FLAGS, FRAGMENT_NAME, FRAGMENT_REF, WORD_CHAR
from checker.narrative.guard import bounded, catastrophic, prefix_guard
from checker.narrative.schema import CuesFile, FamilyFile, LinePath, M, PathPart
from checker.narrative.screen import CueRule, FamilyInfo, Lexicon, Scope, fold, uppercase_literal
from checker.read.yamlio import load_yaml


class LexiconError(RuleError):
    """Every problem found while loading a lexicon directory, each located by file, line and field."""


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


class _Collector:
    """Accumulates errors for one file, resolving field paths to line numbers."""

    def __init__(self, display: str, sink: list[Problem]) -> None:
        self.display = display
        self.sink = sink
        self.lines: dict[LinePath, int] = {}
        self.count = 0

    def line_of(self, loc: Sequence[PathPart]) -> int | None:
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())

    def add(self, loc: Sequence[PathPart], message: str, line: int | None = None) -> None:
        self.count += 1
        where = self.line_of(loc) if line is None else line
        self.sink.append(Problem(message, file=self.display, line=where or None, field=dotted(loc) or None))


def _read_yaml(path: Path, col: _Collector) -> Any:
    """Parse ``path`` with the project's safe YAML reader; return the data (None on error) and
    fill ``col.lines`` with the line of every key path."""
    doc, problems = load_yaml(path)
    for problem in problems:
        col.count += 1
        col.sink.append(replace(problem, file=col.display))
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


def _validate(model: type[M], data: Any, col: _Collector) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            kind = err["type"]
            if kind == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
            else:
                message = error_text(err)
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

    return FRAGMENT_REF.sub(sub, pattern), missing


def _try_compile(source: str, vet: bool = True) -> tuple[re.Pattern[str] | None, str]:
    """Compile a lexicon regex; ``vet`` refuses one that can backtrack for ever (skipped where the
    parts were vetted already)."""
    upper = uppercase_literal(source)
    if upper is not None:
        return None, f"write regexes in lower case (text is case-folded before matching); found {upper!r}"
    if " |" in source or "| " in source:
        # Almost always a folded YAML line break (">-") inside an alternation.
        return None, "literal space next to '|' (use \\s, or give a fragment as a list of alternatives)"
    try:
        compiled = re.compile(source, FLAGS)
    except (re.error, OverflowError, RecursionError) as exc:
        return None, f"invalid regex ({exc})"
    why = catastrophic(source) if vet else None
    if why is not None:
        return None, (
            f"the pattern holds {why}, which can take exponential time on a narrative that does not "
            "match; write the inner repeat once (e.g. '(?:\\w+\\s+)*' as '[\\w\\s]*') or bound the outer one"
        )
    return compiled, ""


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
        if not FRAGMENT_NAME.fullmatch(name):
            col.add(loc, "fragment names must be UPPER_SNAKE_CASE")
            continue
        if shared is not None and name in shared:
            col.add(loc, f"fragment {name!r} shadows a fragment in {CUES_FILENAME}")
            continue
        if FRAGMENT_REF.search(value):
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
    if not words or not WORD_CHAR.match(words[0][0]) or not WORD_CHAR.match(words[-1][-1]):
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


_WORD_START = r"(?<!\w)"


def _grouped(sources: Sequence[str]) -> str:
    """``"|".join(sources)``, the same regex, written so the engine skips ahead.

    Alternatives starting with different letters can never match at the same place, so grouping
    them by their first letter (keeping their order within a group) changes no match; the word
    start is checked after that letter, so every alternative starts with a literal and the
    engine skips to places where a cue can start instead of trying each one everywhere."""
    groups: dict[str, list[str]] = {}
    for source in sources:
        body = source.removeprefix(_WORD_START)
        first = body[:1]
        if body == source or not WORD_CHAR.match(first) or re.escape(first) != first:
            return "|".join(sources)
        groups.setdefault(first, []).append(body[1:])
    parts = []
    for first, rests in groups.items():
        inner = rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")"
        parts.append(f"{first}(?<!\\w{first}){inner}")
    return "|".join(parts)


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
    compiled, problem = _try_compile(_grouped(sources), vet=False)  # phrases: no repeats to nest
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


def _load_cues(path: Path, sink: list[Problem]) -> _LoadedCues | None:
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


def _compile_rules(cues: _LoadedCues, families: set[str]) -> list[CueRule]:
    col = cues.col
    rules: list[CueRule] = []
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
            CueRule(
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
        compiled, problem = _try_compile(bounded(body))
        if compiled is None:
            col.add(("patterns", i, "pattern"), problem)


def _load_family(
    path: Path,
    shared: Mapping[str, str] | None,
    sink: list[Problem],
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
        compiled, problem = _try_compile(bounded(body))
        if compiled is None:
            col.add(loc, problem)
            continue
        if compiled.search("") is not None:
            col.add(loc, "pattern matches the empty string")
            continue
        if compiled.search(fold(entry.example)) is None:
            col.add(("patterns", i, "example"), "example does not match its pattern")
        bodies.append(body)
    combined: re.Pattern[str] | None = None
    if col.count == before and not unchecked:
        body = "|".join(f"(?:{b})" for b in bodies)
        combined, problem = _try_compile(bounded(body), vet=not lint)  # linted patterns were vetted
        if combined is None:
            col.add(("patterns",), f"patterns do not combine: {problem}")
        elif optimise and (guard := prefix_guard(body)) is not None:
            guarded, _ = _try_compile(bounded(body, guard), vet=False)
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
    ``optimise=False`` skips the prefix guards of the families and the clause boundaries (same
    results, slower; for testing).
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
    errors: list[Problem] = []
    if not directory.is_dir():
        raise LexiconError([Problem("lexicon directory not found", file=_display(directory))])
    for stray in sorted(directory.glob("*.yml")):
        errors.append(Problem("lexicon files must use the .yaml extension", file=_display(stray)))
    cues = _load_cues(directory / CUES_FILENAME, errors)
    shared = cues.fragments if cues is not None else None
    paths = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not paths:
        errors.append(Problem("no family files (<family>.yaml) found", file=_display(directory)))
    families: list[tuple[FamilyInfo, re.Pattern[str]]] = []
    for path in paths:
        loaded = _load_family(path, shared, errors, optimise, lint)
        if loaded is not None:
            families.append(loaded)
    rules: list[CueRule] = []
    if cues is not None:
        rules = _compile_rules(cues, {p.stem for p in paths})
    if errors or cues is None:
        errors.sort(key=lambda p: (p.file or "", p.line or 0))  # by file, then line
        raise LexiconError(errors)
    sentence_re = re.compile("|".join(cues.sentence), FLAGS)
    clause = "|".join(cues.sentence + cues.clause)
    # The clause boundaries are tried at every character around a match; a prefix guard lets most
    # characters be rejected at once (the shipped cues: 240 -> 29 us per scan of a typical log).
    guard = prefix_guard(clause) if optimise else None
    clause_re = re.compile(clause if guard is None else f"{guard}(?:{clause})", FLAGS)
    scope = Scope(sentence_re, clause_re, cues.spec.max_scope_chars, cues.spec.skip_questions, rules)
    return Lexicon(families, scope, prefilter=optimise)
