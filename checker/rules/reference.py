"""Reference tables beside the rules: offence codes, cancellation authorisers, shared settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from checker.core.errors import Problem, RuleError
from checker.core.strict import Strict
from checker.read.yamlio import load_yaml

Tag = Literal["S", "S-weak", "M", "D"]
_DURATION = re.compile(r"^([0-9]+)([smhd])$")  # ASCII digits only
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: object) -> int | None:
    """Seconds in a duration written `24h`, `30m`, `2d` or `90s`; None when it is not one."""
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        return int(m.group(1)) * _UNIT[m.group(2)]
    return None


def _code_text(value: object) -> object:
    # YAML reads 49 as a number; codes are always text so '5' never equals 5 in the engine.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _selector(value: str) -> str:
    if value != "any" and not re.match(r"^(code|subgroup|group):\S+$", value):
        raise ValueError(f"offence selector {value!r} is not code:X, subgroup:X, group:X or any")
    return value


Code = Annotated[str, BeforeValidator(_code_text)]
Selector = Annotated[str, AfterValidator(_selector)]


class Band(Strict):
    """The victim age and sex an offence code implies, within a set of sibling codes."""

    set: str
    sex: Literal["female", "male"] | None = None  # None: the code carries an age band only
    min_age: int | None = None
    max_age: int | None = None

    def fits(self, age: int) -> bool:
        """Whether a victim of this age belongs in this band."""
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


class Offence(Strict):
    """One Home Office offence code."""

    code: Code
    name: str
    group: str
    subgroup: str
    family: str
    victim_based: bool = True
    conduct: bool = False
    personal_connection_required: bool = False
    notifiable_incident: bool = False
    band: Band | None = None
    tag: Tag = "S"
    src: str  # key of the file's `sources:` map: where this entry was found
    recorded_by: Literal["force", "action_fraud"] = "force"
    aggravated_of: tuple[Code, ...] = ()  # basic offences this is the racially or religiously aggravated form of
    legacy: bool = False  # a historic code, kept for reading old data
    subgroup_tag: Tag = "S"

    @property
    def state_based(self) -> bool:
        """An offence against the state ("other crimes against society"): no victim's report decides it."""
        return not self.victim_based and not self.notifiable_incident


class Source(Strict):
    """Where a table or rule comes from."""

    document: str
    edition: str | None = None
    section: str | None = None
    quote: str | None = None
    url: str | None = None
    tag: Tag = "S"


class OffenceFile(Strict):
    edition: str
    source: Source
    sources: dict[str, Source]
    groups: dict[str, str]
    offences: list[Offence]


class AuthorisationRow(Strict):
    """Roles allowed to authorise the listed categories for the selected offences."""

    categories: list[Literal["C1", "C2", "C3", "C4", "C5"]]
    offences: list[Selector] = Field(min_length=1)
    roles: list[Literal["FCR", "DFCR", "DDM", "supervisor", "investigator", "other"]]
    note: str | None = None


class AuthorisationFile(Strict):
    tag: Tag
    source: Source
    rows: list[AuthorisationRow]


class PrincipalFile(Strict):
    """The order of seriousness for the principal crime rule, most serious first."""

    tag: Tag
    source: Source
    order: list[Selector] = Field(min_length=1)


class Substitution(Strict):
    """A recorded code that is wrong for a disclosed code, and why."""

    disclosed: Code
    recorded: Code
    why: str


class MisclassificationFile(Strict):
    """Substitutions the counting rules do not allow."""

    tag: Tag
    source: Source
    rows: list[Substitution]


class Setting(Strict):
    """A shared parameter with how sure its value is."""

    value: Any
    tag: Tag
    why: str


class SettingsFile(Strict):
    params: dict[str, Setting]


_MAX_REMEMBERED = 100_000
"""Answers a Reference keeps per question: its offence list's codes by victim ages and sexes fit well
within; answers about codes it does not list are worked out each time (they are unbounded)."""


@dataclass(frozen=True)
class Reference:
    """All reference data one run uses; a force may supply its own directory.

    The tables are read-only once loaded, so what is asked of them per incident (seriousness,
    authorising roles, banded and aggravated codes, typed settings) is worked out once and
    remembered here. A setting is read when first asked for: a settings file that lacks one fails
    where it is needed, not when loaded."""

    directory: Path
    offences: dict[str, Offence]
    groups: dict[str, str]
    authorisation: AuthorisationFile
    settings: dict[str, Setting]
    principal: PrincipalFile
    substitutions: dict[tuple[str, str], str]
    edition: str = ""
    sources: dict[str, Source] = field(default_factory=dict)
    _ranks: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _roles: dict[tuple[str, str], tuple[str, ...] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _bands: dict[tuple[str, int | None, str], str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def offence(self, code: str) -> Offence | None:
        """The offence for a code, or None when the table does not know it (4/1 reads as 4.1)."""
        return self.offences.get(code) or self.offences.get(code.replace("/", "."))

    @cached_property
    def _aggravated(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for o in self.offences.values():
            for basic in o.aggravated_of:
                table.setdefault(basic, o.code)
        return table

    def aggravated_form(self, code: str) -> str | None:
        """The racially or religiously aggravated code whose basic offence is `code`, if there is one
        (the first in the offence list)."""
        return self._aggravated.get(code)

    def banded_code(self, code: str, age: int | None, sex: str) -> str:
        """The sibling code that fits the victim's age and sex (19C for a woman, 19D at 14)."""
        key = (code, age, sex)
        banded = self._bands.get(key)
        if banded is None:
            banded = self._banded(code, age, sex)
            if code in self.offences and len(self._bands) < _MAX_REMEMBERED:
                self._bands[key] = banded
        return banded

    def _banded(self, code: str, age: int | None, sex: str) -> str:
        offence = self.offences.get(code)
        if offence is None or offence.band is None or age is None or sex not in ("female", "male"):
            return code
        for other in self.offences.values():
            band = other.band
            if band is not None and band.set == offence.band.set and band.sex in (sex, None) and band.fits(age):
                return other.code
        return code

    def selects(self, selector: str, code: str) -> bool:
        """Whether `code:X`, `subgroup:X`, `group:X` or `any` selects this offence code."""
        if selector == "any":
            return True
        kind, _, value = selector.partition(":")
        offence = self.offences.get(code)
        return (kind == "code" and value == code) or (
            offence is not None
            and ((kind == "subgroup" and value == offence.subgroup) or (kind == "group" and value == offence.group))
        )

    def allowed_roles(self, category: str, code: str) -> tuple[str, ...] | None:
        """Roles the authorisation table allows for this category and offence; None if no row."""
        key = (category, code)
        if key in self._roles:
            return self._roles[key]
        roles = next(
            (
                tuple(row.roles)
                for row in self.authorisation.rows
                if category in row.categories and any(self.selects(sel, code) for sel in row.offences)
            ),
            None,
        )
        if code in self.offences and len(self._roles) < _MAX_REMEMBERED:
            self._roles[key] = roles
        return roles

    def seriousness(self, code: str) -> int:
        """Rank in the principal crime order: 0 is the most serious; unlisted codes rank last."""
        rank = self._ranks.get(code)
        if rank is None:
            order = self.principal.order
            rank = next((i for i, sel in enumerate(order) if self.selects(sel, code)), len(order))
            if code in self.offences:
                self._ranks[code] = rank
        return rank

    def param(self, name: str) -> Any:
        """A shared setting's value."""
        return self.settings[name].value

    @cached_property
    def recording_window_s(self) -> int:
        """The recording window in seconds (load_reference refuses a settings file without one)."""
        window = duration_seconds(self.param("recording_window"))
        assert window is not None
        return window

    @cached_property
    def domestic_abuse_min_age(self) -> int:
        """Domestic abuse is between people of this age or over (setting `domestic_abuse_min_age`)."""
        return int(self.param("domestic_abuse_min_age"))

    @cached_property
    def child_age_below(self) -> int:
        """A victim younger than this is a child (setting `child_age_below`)."""
        return int(self.param("child_age_below"))

    @cached_property
    def principal_crime_all_from(self) -> date:
        """From this date the principal crime rule covers conduct crimes too (`principal_crime_all_from`)."""
        return date.fromisoformat(str(self.param("principal_crime_all_from")))

    @cached_property
    def conduct_in_addition_from(self) -> date:
        """From this date until the one above, stalking and harassment are recorded in addition to other
        crimes (setting `conduct_in_addition_from`)."""
        return date.fromisoformat(str(self.param("conduct_in_addition_from")))

    @cached_property
    def not_avi_phrases(self) -> tuple[str, ...]:
        """Phrases (lower case) that never show a crime did not happen: `withdrawal_phrases` and
        `not_avi_phrases` together."""
        return tuple(p.lower() for p in (*self.param("withdrawal_phrases"), *self.param("not_avi_phrases")))

    @cached_property
    def avi_evidence_terms(self) -> tuple[str, ...]:
        """Terms (lower case) naming evidence that may show a crime did not happen (`avi_evidence_terms`)."""
        return tuple(p.lower() for p in self.param("avi_evidence_terms"))


def load_reference(directory: Path) -> Reference:
    """Load and cross-check the three reference files, reporting every problem at once."""
    problems: list[Problem] = []

    def load(name: str, model: type[BaseModel]) -> Any:
        path = directory / name
        if not path.exists():
            problems.append(Problem("reference file is missing", file=str(path)))
            return None
        doc, errs = load_yaml(path)
        problems.extend(errs)
        if doc is None:
            return None
        value, errs = doc.validate(model)
        problems.extend(errs)
        if isinstance(value, OffenceFile):
            seen: set[str] = set()
            for i, off in enumerate(value.offences):
                if off.code in seen:
                    problems.append(doc.problem(("offences", i, "code"), f"duplicate code {off.code!r}"))
                if off.group not in value.groups:
                    problems.append(doc.problem(("offences", i, "group"), f"unknown group {off.group!r}"))
                if off.src not in value.sources:
                    problems.append(doc.problem(("offences", i, "src"), f"no source {off.src!r} under sources:"))
                for j, basic in enumerate(off.aggravated_of):
                    if basic not in {o.code for o in value.offences}:
                        problems.append(doc.problem(("offences", i, "aggravated_of", j), f"unknown code {basic!r}"))
                seen.add(off.code)
        if isinstance(value, SettingsFile):
            window = value.params.get("recording_window")
            if window is None or duration_seconds(window.value) is None:
                problems.append(doc.problem(("params", "recording_window"), "must be a duration like 24h"))
        return value

    offences = load("offences.yaml", OffenceFile)
    authorisation = load("cancellation-authorisation.yaml", AuthorisationFile)
    settings = load("settings.yaml", SettingsFile)
    principal = load("principal-crime.yaml", PrincipalFile)
    misclassification = load("misclassification.yaml", MisclassificationFile)
    if problems:
        raise RuleError(problems)
    return Reference(
        directory=directory,
        offences={o.code: o for o in offences.offences},
        groups=offences.groups,
        authorisation=authorisation,
        settings=settings.params,
        principal=principal,
        substitutions={(row.disclosed, row.recorded): row.why for row in misclassification.rows},
        edition=offences.edition,
        sources=offences.sources,
    )
