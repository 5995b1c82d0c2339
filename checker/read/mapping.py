"""The YAML column mapping that maps a force's CSV exports onto the record contract: the mapping
file's schema (its field sections generated from the contract) and its loader. The CSV files are
read by checker.read.csvfile and turned into incidents by checker.read.csvitems.

A force exports incidents as one CSV (one row per incident), its crime and N100 records as
another (one row per record, carrying the incident id), and optionally its disclosures as a third
(one row per disclosure). The mapping file (see docs/audit.md and fixtures/csv/force-mapping.yaml)
names, for each contract field, the column it comes from, how its codes translate into the
contract's vocabulary, and how its dates are written.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, Field, create_model, field_validator, model_validator

from checker.core import models as models
from checker.core.errors import Problem, RuleError
from checker.core.strict import Strict
from checker.read.yamlio import YamlDoc, load_yaml

csv.field_size_limit(1 << 24)  # narratives can be long; the default 128 KB limit rejects real logs

Kind = Literal["str", "int", "bool", "time", "list"]

DEFAULT_TRUE = ("y", "yes", "true", "t", "1")
DEFAULT_FALSE = ("n", "no", "false", "f", "0")


def _map_keys(value: Any) -> Any:
    """Value-map keys are text; YAML turns 999 into a number and yes/no into booleans."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, target in value.items():
        if isinstance(key, bool) or key is None:
            raise ValueError(
                f"the key {key!r} was read by YAML as {'a boolean' if key is not None else 'null'}: "
                'quote codes in a value map ("Y": true, "NO": victim)'
            )
        out[str(key)] = target
    return out


class Column(Strict):
    """Where one contract field comes from: a column (with a value map and date formats) or a constant."""

    column: str | None = None
    value: str | int | bool | None = None
    values: Annotated[dict[str, Any] | None, BeforeValidator(_map_keys)] = None
    unmapped: Literal["error", "keep", "drop"] = "error"
    formats: list[str] | None = None
    default: str | int | bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of `column` (a CSV column) or `value` (a constant)")
        return self


def _as_column(value: Any) -> Any:
    # A bare string is the common case: `reported_at: Call Received`.
    return {"column": value} if isinstance(value, str) else value


Spec = Annotated[Column, BeforeValidator(_as_column)]


def _kind(annotation: Any) -> Kind:
    """How a cell becomes the contract field's value, from the field's type in the contract."""
    base = _base(annotation)
    if get_origin(base) is list:
        return "list"
    kinds: dict[Any, Kind] = {datetime: "time", bool: "bool", int: "int"}
    return kinds.get(base, "str")


def _base(annotation: Any) -> Any:
    """The type under Optional[...] and Annotated[...]."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _terms(annotation: Any) -> tuple[str, ...] | None:
    """A field's fixed vocabulary (a Literal, or a list of one), if it has one."""
    base = _base(annotation)
    if get_origin(base) is list:
        base = _base(get_args(base)[0])
    return get_args(base) if get_origin(base) is Literal else None


# The parts of the contract a mapping fills field by field: (section model, contract model, doc).
_CONTRACT: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("IncidentFields", models.Incident, "Incident fields read from the incidents file."),
    ("VictimFields", models.Victim, "A victim's fields, read from the incidents or the disclosures file."),
    (
        "DisclosureFields",
        models.Disclosure,
        "A disclosure's fields; a disclosure whose offence cell is blank is not there.",
    ),
    ("RecordFields", models.Record, "A crime or N100 record's fields, read from the records file."),
    (
        "CancellationFields",
        models.Cancellation,
        "Cancellation fields on a record row; filled only when one of their cells is not blank.",
    ),
)
# Fields that are parts of their own (lists of victims, disclosures, records; the cancellation)
# or fixed (the schema version) are not mapped from one column.
_NOT_COLUMNS = {"schema_version", "victims", "disclosures", "records", "cancellation", "suspects"}
# Ids the mapping supplies itself when no column gives them: the incident id is the section's `id`
# column, and victims and disclosures are numbered in their row.
_SUPPLIED = {"incident_id", "victim_id", "disclosure_id"}

# The contract type of every field a mapping may fill, and the vocabularies of those that have one,
# so a value map pointing at a misspelt term fails when the mapping is loaded, not on every row.
KINDS: dict[str, Kind] = {}
VOCABULARY: dict[str, tuple[str, ...]] = {
    # not a fixed vocabulary in the contract (a wrong reason is a finding there), but a value map
    # must point at a reason the rules know
    "n100_reason": get_args(models.N100Reason),
}


def _fields_model(name: str, contract: type[BaseModel], doc: str) -> type[Strict]:
    """The mapping section for one part of the contract: a column spec per contract field."""
    columns: dict[str, Any] = {}
    for field, info in contract.model_fields.items():
        if field in _NOT_COLUMNS:
            continue
        KINDS.setdefault(field, _kind(info.annotation))
        vocab = _terms(info.annotation)
        if vocab is not None:
            VOCABULARY.setdefault(field, vocab)
        required = info.is_required() and field not in _SUPPLIED
        columns[field] = (Spec, ...) if required else (Spec | None, None)
    model: type[Strict] = create_model(name, __base__=Strict, __doc__=doc, **columns)
    return model


_FIELD_MODELS = {name: _fields_model(name, contract, doc) for name, contract, doc in _CONTRACT}

# The field models, generated above from checker.core.models so that a field added to the contract
# can be mapped at once. Type checkers see their common base.
if TYPE_CHECKING:
    IncidentFields: TypeAlias = Strict
    VictimFields: TypeAlias = Strict
    DisclosureFields: TypeAlias = Strict
    RecordFields: TypeAlias = Strict
    CancellationFields: TypeAlias = Strict
else:
    IncidentFields = _FIELD_MODELS["IncidentFields"]
    VictimFields = _FIELD_MODELS["VictimFields"]
    DisclosureFields = _FIELD_MODELS["DisclosureFields"]
    RecordFields = _FIELD_MODELS["RecordFields"]
    CancellationFields = _FIELD_MODELS["CancellationFields"]


class IncidentsSection(Strict):
    """The incidents file: one row per incident."""

    id: str = Field(min_length=1)
    fields: IncidentFields
    victims: list[VictimFields] = Field(default_factory=list)
    disclosures: list[DisclosureFields] = Field(default_factory=list)


class DisclosuresSection(Strict):
    """The optional disclosures file: one row per disclosure, joined on the incident id."""

    incident: str = Field(min_length=1)
    fields: DisclosureFields
    victim: VictimFields | None = None


class RecordsSection(Strict):
    """The records file: one row per crime or N100 record, joined on the incident id."""

    incident: str = Field(min_length=1)
    fields: RecordFields
    cancellation: CancellationFields | None = None


class MappingModel(Strict):
    """A force's column mapping file."""

    version: Literal[1]
    description: str | None = None
    timezone: str = "Europe/London"
    date_formats: list[str] = Field(default_factory=list)
    list_separator: str = Field(default=";", min_length=1)
    true_values: list[str] = Field(default_factory=lambda: list(DEFAULT_TRUE))
    false_values: list[str] = Field(default_factory=lambda: list(DEFAULT_FALSE))
    encoding: str = "utf-8-sig"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    incidents: IncidentsSection
    disclosures: DisclosuresSection | None = None
    records: RecordsSection | None = None

    @field_validator("true_values", "false_values", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        # YAML reads Y/1 fine but yes/true as booleans and 1 as a number; all of them are cell text here
        if isinstance(value, list):
            return [("true" if v else "false") if isinstance(v, bool) else str(v) for v in value]
        return value


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping: the model, its zone, and the YAML document for locating later errors."""

    model: MappingModel
    doc: YamlDoc
    zone: tzinfo

    @property
    def path(self) -> Path:
        """The mapping file."""
        return self.doc.path


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; every problem names the file, line and field (RuleError)."""
    doc, problems = load_yaml(path)
    if doc is None:
        raise RuleError(problems)
    if not isinstance(doc.data, dict):
        raise RuleError([Problem("a mapping file is a YAML mapping (version, incidents, records, ...)", str(path), 1)])
    model, problems = doc.validate(MappingModel)
    if model is None:
        raise RuleError(problems)
    assert isinstance(model, MappingModel)
    zone: tzinfo = ZoneInfo("UTC")
    try:
        zone = ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(doc.problem(("timezone",), f"unknown time zone {model.timezone!r} (e.g. Europe/London)"))
    try:
        encoded = '\n,;"'.encode(model.encoding).removeprefix(codecs.BOM_UTF8)
        if encoded != b'\n,;"':
            problems.append(doc.problem(("encoding",), "use an ASCII-compatible encoding (utf-8, cp1252, latin-1)"))
        codecs.lookup(model.encoding)
    except LookupError:
        problems.append(doc.problem(("encoding",), f"unknown encoding {model.encoding!r}"))
    for fmt in model.date_formats:
        if "%" not in fmt:
            problems.append(doc.problem(("date_formats",), f"{fmt!r} is not a date format (e.g. %d/%m/%Y %H:%M)"))
    for loc, name, spec in _specs(model):
        problems.extend(_spec_problems(doc, loc, name, spec))
    if problems:
        raise RuleError(problems)
    return Mapping(model, doc, zone)


def _specs(model: MappingModel) -> Iterator[tuple[tuple[str | int, ...], str, Column]]:
    """Every field spec in the mapping with its location in the file."""

    def fields(
        loc: tuple[str | int, ...], group: BaseModel | None
    ) -> Iterator[tuple[tuple[str | int, ...], str, Column]]:
        if group is None:
            return
        for name in type(group).model_fields:
            spec = getattr(group, name)
            if isinstance(spec, Column):
                yield (*loc, name), name, spec

    inc = model.incidents
    yield from fields(("incidents", "fields"), inc.fields)
    for i, v in enumerate(inc.victims):
        yield from fields(("incidents", "victims", i), v)
    for i, d in enumerate(inc.disclosures):
        yield from fields(("incidents", "disclosures", i), d)
    if model.disclosures is not None:
        yield from fields(("disclosures", "fields"), model.disclosures.fields)
        yield from fields(("disclosures", "victim"), model.disclosures.victim)
    if model.records is not None:
        yield from fields(("records", "fields"), model.records.fields)
        yield from fields(("records", "cancellation"), model.records.cancellation)


def _spec_problems(doc: YamlDoc, loc: tuple[str | int, ...], name: str, spec: Column) -> list[Problem]:
    out: list[Problem] = []
    vocab = VOCABULARY.get(name)
    kind = KINDS.get(name, "str")
    targets: list[tuple[tuple[str | int, ...], Any]] = []
    if spec.values is not None:
        targets += [((*loc, "values", k), v) for k, v in spec.values.items()]
    if spec.value is not None:
        targets.append(((*loc, "value"), spec.value))
    if spec.default is not None:
        targets.append(((*loc, "default"), spec.default))
    for where, target in targets:
        if target is None:
            continue
        if vocab is not None and target not in vocab:
            out.append(doc.problem(where, f"{target!r} is not a {name} the contract knows ({', '.join(vocab)})"))
        elif kind == "bool" and not isinstance(target, bool):
            out.append(doc.problem(where, f"{name} is true or false, not {target!r}"))
        elif kind == "int" and (isinstance(target, bool) or not isinstance(target, int)):
            out.append(doc.problem(where, f"{name} is a whole number, not {target!r}"))
    if spec.formats is not None and kind != "time":
        out.append(doc.problem((*loc, "formats"), f"{name} is not a date, so it takes no formats"))
    return out
