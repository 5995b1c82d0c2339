"""Rule files: the pydantic schema of one YAML rule, and the loader for a whole rule set."""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from checker.core.errors import Problem, RuleError
from checker.core.strict import Strict
from checker.read.yamlio import YamlDoc, cached_parsing, load_yaml
from checker.rules.conditions import Branch, Leaf, Node, Parser, Pattern, expand_ref_alternatives, with_guards
from checker.rules.facts_schema import FACT_SCHEMA, Hit, Screen
from checker.rules.reference import Reference, Source, load_reference

if TYPE_CHECKING:
    from checker.narrative.screen import Lexicon

AREAS = ("timeliness", "recording", "rape_n100", "cancellation", "classification", "counting", "flags")
OUTCOMES = ("breach", "risk", "needs_review")
# How a page or report names each area and outcome for a person (the contract's names stay in data).
AREA_NAMES = {
    "timeliness": "Timeliness",
    "recording": "Recording",
    "rape_n100": "Rape and N100",
    "cancellation": "Cancellation",
    "classification": "Classification",
    "counting": "Counting",
    "flags": "Crime flags",
}
OUTCOME_NAMES = {"breach": "Breach", "risk": "Risk", "needs_review": "Needs review"}
PREFIX = {
    "timeliness": "TL",
    "recording": "RC",
    "rape_n100": "RN",
    "cancellation": "CX",
    "classification": "CL",
    "counting": "CN",
    "flags": "FL",
}
Area = Literal["timeliness", "recording", "rape_n100", "cancellation", "classification", "counting", "flags"]
Outcome = Literal["breach", "risk", "needs_review"]
RESERVED_DIRS = {"reference", "lexicon", "examples"}  # beside the rules, not rules
_FIELD = re.compile(r"^(?:(params)\.(\w+)|([A-Za-z]\w*)\.(\w+))$")
FORMAT_SPECS = ("", "duration", "when", "time")


class RuleSource(Source):
    """The counting-rule document, edition and section a rule rests on."""

    edition: str
    section: str
    quote: str


class Effective(Strict):
    """The dates a rule applies between, by the date the incident was reported."""

    from_: date = Field(alias="from")
    to: date | None = None


class Expected(Strict):
    """One finding an example must produce."""

    rule: str
    subject: str


class Example(Strict):
    """An incident the rule must (or must not) fire on: a test and a page of documentation."""

    name: str = Field(pattern=r"^(fail|pass)_[a-z0-9_]+$")
    description: str | None = None
    incident: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None
    as_of: AwareDatetime | None = None
    expect: list[Expected]


class RuleModel(Strict):
    """The schema of one rule file."""

    id: str = Field(pattern=r"^[A-Z]{2}[0-9]{3}$")  # ASCII: \d would take any Unicode digit
    name: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    title: str
    area: Area
    outcome: Outcome
    status: Literal["experimental", "stable", "deprecated"]
    source: RuleSource
    effective: Effective
    params: dict[str, Any] = Field(default_factory=dict)
    subject: str | None = None
    when: Any
    message: str
    rationale: str
    examples: list[Example] = Field(min_length=2)

    @field_validator("examples")
    @classmethod
    def _both_kinds(cls, value: list[Example]) -> list[Example]:
        names = [e.name for e in value]
        if not any(n.startswith("fail_") for n in names) or not any(n.startswith("pass_") for n in names):
            raise ValueError("a rule needs at least one fail_ example and one pass_ example")
        if len(set(names)) != len(names):
            raise ValueError("example names must be unique within the rule")
        return value


@dataclass(frozen=True)
class Rule:
    """A loaded rule: its metadata, parsed condition branches and where it came from."""

    model: RuleModel
    branches: tuple[Branch, ...]
    subject: str
    path: Path
    params: dict[str, Any]

    @property
    def id(self) -> str:
        """The stable rule id."""
        return self.model.id

    def applies_on(self, day: date) -> bool:
        """Whether the rule is in force for an incident reported on that day."""
        eff = self.model.effective
        return eff.from_ <= day and (eff.to is None or day < eff.to)

    @cached_property
    def message_params(self) -> dict[str, Any]:
        """The parameters its message may quote as `{params.name}`: the scalar ones."""
        return {k: v for k, v in self.params.items() if not isinstance(v, list | dict)}

    @cached_property
    def message_parts(self) -> tuple[tuple[str, str | None, str], ...] | None:
        """The message template parsed once: (text, field, format spec) in order, field None after
        the last text; None when the template needs the full formatter (a conversion such as
        `!r`, a field inside a format spec, or a field without a name)."""
        parts = []
        for text, name, spec, conversion in string.Formatter().parse(self.model.message):
            if name is not None and (conversion or not name or "{" in (spec or "")):
                return None
            parts.append((text, name, spec or ""))
        return tuple(parts)

    @cached_property
    def quoted(self) -> tuple[str, ...]:
        """The fact field names its message quotes (`{d.offence}` quotes `offence`; params are not facts)."""
        heads = (f.partition(".") for f, _ in _template_fields(self.model.message) if f)
        return tuple(name for head, _, name in heads if head != "params")


@dataclass(frozen=True)
class RuleSet:
    """Every rule in force plus the reference data, with a hash that identifies the pair."""

    rules: tuple[Rule, ...]
    reference: Reference
    directory: Path
    digest: str
    baseline: dict[str, Any]
    baseline_as_of: str

    def get(self, rule_id: str) -> Rule | None:
        """A rule by id (the first of that id)."""
        return self._by_id.get(rule_id)

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        by_id: dict[str, Rule] = {}
        for rule in self.rules:
            by_id.setdefault(rule.id, rule)
        return by_id

    @property
    def editions(self) -> list[str]:
        """The Crime Recording Rules editions the rules cite."""
        return sorted({r.model.source.edition for r in self.rules})

    @cached_property
    def screen(self) -> Screen | None:
        """The narrative screen when a rule reads what narratives mention, else None. The lexicon
        is loaded on the first narrative screened, so a run without narratives never loads it."""
        if not any(p.kind == "mention" for r in self.active for b in r.branches for p in b.patterns):
            return None
        return _LazyScreen(self.directory / "lexicon")

    def prepare_screen(self) -> None:
        """For a batch (an audit's worker): load the lexicon now and build its Hyperscan prefilter
        beside the first checks, rather than after the first few hundred narratives (which ran
        without it: an audit's first chunk took half as long again)."""
        if isinstance(self.screen, _LazyScreen):
            self.screen.prepare()

    @property
    def active(self) -> tuple[Rule, ...]:
        """Rules that are evaluated: all but deprecated ones."""
        return tuple(r for r in self.rules if r.model.status != "deprecated")


class _LazyScreen:
    """The lexicon's screen, loaded on first use."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lexicon: Lexicon | None = None

    def __call__(self, text: str, covered: frozenset[str] = frozenset()) -> Sequence[Hit]:
        return self._loaded().screen(text, covered)

    def prepare(self) -> None:
        """Load the lexicon now and start building its prefilter."""
        self._loaded().prefilter_now()

    def _loaded(self) -> Lexicon:
        if self._lexicon is None:
            # optimised and not linted (the tests and `rules test` lint each pattern), and kept
            # compiled on disk (see checker.narrative.cache)
            from checker.narrative.cache import load_lexicon_cached  # imported only for a narrative

            self._lexicon = load_lexicon_cached(self._directory)
        return self._lexicon


def _template_fields(message: str) -> list[tuple[str, str]]:
    return [(f, spec or "") for _, f, spec, _ in string.Formatter().parse(message) if f is not None]


def _effective_leaves(eff: Effective) -> tuple[Leaf, ...]:
    out = [Leaf("reported_on", "gte", eff.from_.isoformat(), f"reported_on >= {eff.from_.isoformat()}")]
    if eff.to is not None:
        out.append(Leaf("reported_on", "lt", eff.to.isoformat(), f"reported_on < {eff.to.isoformat()}"))
    return tuple(out)


def _with_effective(branch: Branch, eff: Effective) -> Branch:
    first, *rest = branch.patterns
    dated = Pattern(first.kind, first.alias, first.absent, Node("all", (*_effective_leaves(eff), first.test)))
    return Branch((dated, *rest))


def _check_rule(doc: YamlDoc, model: RuleModel, ref: Reference) -> tuple[Rule | None, list[Problem]]:
    problems: list[Problem] = []
    path = doc.path
    if path.stem != model.id:
        problems.append(doc.problem(("id",), f"rule id {model.id} does not match the file name {path.name}"))
    if path.parent.name != model.area:
        problems.append(doc.problem(("area",), f"a rule of area {model.area} belongs in rules/{model.area}/"))
    if not model.id.startswith(PREFIX[model.area]):
        problems.append(doc.problem(("id",), f"ids of area {model.area} start with {PREFIX[model.area]}"))
    if model.effective.to is not None and model.effective.to <= model.effective.from_:
        problems.append(doc.problem(("effective", "to"), "`to` must be after `from`"))
    params = {name: s.value for name, s in ref.settings.items()} | {"offence_list_edition": ref.edition} | model.params
    parser = Parser(params)
    branches = parser.parse(model.when, ("when",))
    problems.extend(doc.problem(loc, msg) for loc, msg in parser.errors)
    aliases: dict[str, str] = {}
    for b in branches:
        for p in b.patterns:
            if not p.absent:
                aliases[p.alias] = p.kind
    subject = model.subject or (branches[0].aliases[0] if branches and branches[0].aliases else "")
    for i, b in enumerate(branches):
        if subject not in b.aliases:
            problems.append(doc.problem(("when",), f"branch {i} does not bind the subject alias {subject!r}"))
    try:
        fields = _template_fields(model.message)
    except ValueError as exc:  # an unbalanced { or } in the message
        fields = []
        problems.append(doc.problem(("message",), f"invalid placeholder: {exc}"))
    for name, spec in fields:
        m = _FIELD.match(name)
        if m is None:
            problems.append(doc.problem(("message",), f"{{{name}}}: write {{alias.field}} or {{params.name}}"))
        elif m.group(1) and m.group(2) not in params:
            problems.append(doc.problem(("message",), f"{{{name}}}: no such parameter"))
        elif m.group(3) and (m.group(3) not in aliases or m.group(4) not in FACT_SCHEMA[aliases[m.group(3)]]):
            problems.append(doc.problem(("message",), f"{{{name}}}: no such alias or fact field"))
        if spec not in FORMAT_SPECS:
            problems.append(doc.problem(("message",), f"{{{name}:{spec}}}: format must be duration, when or time"))
    if problems:
        return None, problems
    final = tuple(
        e for b in branches for e in expand_ref_alternatives(with_guards(_with_effective(b, model.effective)))
    )
    return Rule(model, final, subject, path, params), []


def default_rules_dir() -> Path:
    """The rule set used when no --rules is given.

    In a checkout (the package sits beside pyproject.toml) that is the repository's own rules/, so
    an edit there takes effect at once; in an installed package it is the copy the wheel ships
    inside the package as checker/_rules (pyproject.toml maps rules/ there).
    """
    package = Path(__file__).resolve().parents[1]  # checker/
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "rules").is_dir():
        return checkout / "rules"
    return package / "_rules"


def load_rules(directory: Path | None = None, reference_dir: Path | None = None) -> RuleSet:
    """Load every rule file under `directory`, collecting all errors of the set before raising.

    The YAML of the rule and reference files is parsed once and then read back from the disk cache
    (checker.read.yamlio.cached_parsing); what is built from it is validated every time."""
    with cached_parsing():
        return _load_rules(directory, reference_dir)


def _load_rules(directory: Path | None, reference_dir: Path | None) -> RuleSet:
    directory = directory or default_rules_dir()
    if not directory.is_dir():
        raise RuleError([Problem("rules directory not found", file=str(directory))])
    problems: list[Problem] = []
    try:
        ref = load_reference(reference_dir or directory / "reference")
    except RuleError as exc:
        raise RuleError(exc.problems) from None
    digest = hashlib.sha256()
    for path in sorted((reference_dir or directory / "reference").glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    problems.extend(_astray(directory))
    for path in sorted(directory.glob("*/*.yaml")):
        if path.parent.name in RESERVED_DIRS:
            continue
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
        if path.parent.name not in AREAS:
            problems.append(Problem(f"unknown area folder; areas are {', '.join(AREAS)}", file=str(path)))
            continue
        doc, errs = load_yaml(path)
        problems.extend(errs)
        if doc is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem("a rule file is a YAML mapping", file=str(path), line=1))
            continue
        model, errs = doc.validate(RuleModel)
        problems.extend(errs)
        if model is None:
            continue
        if model.id in seen:
            problems.append(doc.problem(("id",), f"id {model.id} is already used by {seen[model.id]}"))
        seen[model.id] = path
        rule, errs = _check_rule(doc, model, ref)
        problems.extend(errs)
        if rule is not None:
            rules.append(rule)
    # the lexicon decides what the narrative screen finds (RC003), so the hash covers it too
    for path in sorted((directory / "lexicon").glob("*.y*ml")):
        digest.update(f"lexicon/{path.name}".encode() + b"\0" + path.read_bytes())
    retired = _retired(directory, problems)
    for rid, path in seen.items():
        if rid in retired:
            problems.append(Problem(f"id {rid} is retired ({retired[rid]}) and must never be reused", file=str(path)))
    baseline, as_of = _baseline(directory, problems)
    if problems:
        raise RuleError(problems)
    if not rules:
        raise RuleError([Problem("no rules found (expected rules/<area>/<ID>.yaml)", file=str(directory))])
    rules.sort(key=lambda r: (AREAS.index(r.model.area), r.id))
    return RuleSet(tuple(rules), ref, directory, digest.hexdigest()[:16], baseline, as_of)


def _astray(directory: Path) -> list[Problem]:
    """YAML files the loader would otherwise pass over without a word: a rule beside the area
    folders, one ending in .yml, or one in a folder inside an area's."""
    where = "a rule file is rules/<area>/<ID>.yaml"
    problems = [
        Problem(f"not read: {where}", file=str(path))
        for pattern in ("*.yaml", "*.yml")
        for path in sorted(directory.glob(pattern))
        if path.name != "retired.yaml"
    ]
    for area in AREAS:
        problems += [
            Problem(f"not read: {where} (ending .yaml, not .yml)", file=str(path))
            for path in sorted((directory / area).glob("*.yml"))
        ]
        problems += [
            Problem(f"not read: {where}, not in a folder inside the area's", file=str(path))
            for path in sorted((directory / area).glob("*/**/*.y*ml"))
        ]
    return problems


def _retired(directory: Path, problems: list[Problem]) -> dict[str, str]:
    path = directory / "retired.yaml"
    if not path.exists():
        return {}
    doc, errs = load_yaml(path)
    problems.extend(errs)
    if doc is None or not isinstance(doc.data, dict):
        return {}
    return {str(k): str(v) for k, v in (doc.data.get("retired") or {}).items()}


def _baseline(directory: Path, problems: list[Problem]) -> tuple[dict[str, Any], str]:
    path = directory / "examples" / "baseline.yaml"
    doc, errs = load_yaml(path) if path.exists() else (None, [Problem("baseline incident missing", file=str(path))])
    problems.extend(errs)
    if doc is None or not isinstance(doc.data, dict) or "incident" not in doc.data or "as_of" not in doc.data:
        if doc is not None:
            problems.append(Problem("baseline.yaml needs `incident:` and `as_of:`", file=str(path)))
        return {}, ""
    as_of = doc.data["as_of"]
    return dict(doc.data["incident"]), as_of.isoformat() if hasattr(as_of, "isoformat") else str(as_of)
