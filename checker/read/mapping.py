"""Force CSV exports mapped onto the record contract by a YAML column mapping.

A force exports incidents as one CSV (one row per incident), its crime and N100 records as
another (one row per record, carrying the incident id), and optionally its disclosures as a third
(one row per disclosure). The mapping file (see docs/audit.md and fixtures/csv/force-mapping.yaml)
names, for each contract field, the column it comes from, how its codes translate into the
contract's vocabulary, and how its dates are written.

Streaming: the incidents file is read row by row and never held. The records and disclosures
files are joined through an index built in one pass, holding for each row only a 32-bit hash of
its incident id, its byte offset and its line (21 bytes a row with the used-row flag; about 50 for
a moment while the index is sorted), never the rows themselves; each
incident's rows are then read back by seeking. This works whatever order the export is in (exports
are seldom sorted the same way), costs one extra sequential read, and keeps memory at about 2 MB
per 100,000 record rows. A row whose incident is not in the incidents file is reported at the end
as a rejected item of its own, so no row is lost silently.
"""

from __future__ import annotations

import codecs
import csv
import re
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from checker import models
from checker.errors import Problem, RuleError
from checker.reader import Item
from checker.yamlio import YamlDoc, load_yaml

csv.field_size_limit(1 << 24)  # narratives can be long; the default 128 KB limit rejects real logs

Kind = Literal["str", "int", "bool", "time", "list"]

# The contract type of every field a mapping may fill; anything not listed is text.
KINDS: dict[str, Kind] = {
    "reported_at": "time",
    "disclosed_at": "time",
    "recorded_at": "time",
    "decided_at": "time",
    "age": "int",
    "occurred_in_force_area": "bool",
    "vulnerable": "bool",
    "victim_confirmed": "bool",
    "victim_traceable": "bool",
    "credible_evidence_to_contrary": "bool",
    "only_victim_is_police_officer": "bool",
    "warned_and_stopped": "bool",
    "victim_attended": "bool",
    "victim_informed": "bool",
    "qualifiers": "list",
    "flags": "list",
    "disclosure_ids": "list",
}

# The contract's fixed vocabularies, so a value map that points at a misspelt term fails when the
# mapping is loaded instead of rejecting every row.
VOCABULARY: dict[str, tuple[str, ...]] = {
    "channel": get_args(models.Channel),
    "reporter": get_args(models.Reporter),
    "reported_by": get_args(models.Reporter),
    "qualifiers": get_args(models.Qualifier),
    "sex": get_args(models.Sex),
    "relationship_to_suspect": get_args(models.Relationship),
    "status": get_args(models.Status),
    "category": get_args(models.Category),
    "authorised_by_role": get_args(models.Role),
    "n100_reason": get_args(models.N100Reason),
}

DEFAULT_TRUE = ("y", "yes", "true", "t", "1")
DEFAULT_FALSE = ("n", "no", "false", "f", "0")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Column(_Strict):
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


class IncidentFields(_Strict):
    """Incident fields read from the incidents file."""

    incident_id: Spec | None = None
    force: Spec | None = None
    reported_at: Spec
    channel: Spec | None = None
    reporter: Spec | None = None
    incident_category: Spec | None = None
    qualifiers: Spec | None = None
    occurred_in_force_area: Spec | None = None
    narrative: Spec | None = None


class VictimFields(_Strict):
    """A victim's fields, read from the incidents or the disclosures file."""

    victim_id: Spec | None = None
    age: Spec | None = None
    sex: Spec | None = None
    relationship_to_suspect: Spec | None = None
    vulnerable: Spec | None = None


class DisclosureFields(_Strict):
    """A disclosure's fields; a disclosure whose offence cell is blank is not there."""

    disclosure_id: Spec | None = None
    offence: Spec
    victim_id: Spec | None = None
    suspect_id: Spec | None = None
    disclosed_at: Spec | None = None
    reported_by: Spec | None = None
    victim_confirmed: Spec | None = None
    victim_traceable: Spec | None = None
    credible_evidence_to_contrary: Spec | None = None
    occurred_in_force_area: Spec | None = None
    only_victim_is_police_officer: Spec | None = None
    warned_and_stopped: Spec | None = None
    victim_attended: Spec | None = None


class RecordFields(_Strict):
    """A crime or N100 record's fields, read from the records file."""

    record_id: Spec
    classification: Spec
    victim_id: Spec | None = None
    disclosure_ids: Spec | None = None
    recorded_at: Spec
    flags: Spec | None = None
    n100_reason: Spec | None = None
    converted_to: Spec | None = None
    status: Spec | None = None


class CancellationFields(_Strict):
    """Cancellation fields on a record row; filled only when one of their cells is not blank."""

    category: Spec | None = None
    decided_at: Spec | None = None
    authorised_by_role: Spec | None = None
    avi: Spec | None = None
    reason: Spec | None = None
    victim_informed: Spec | None = None
    transferred_to: Spec | None = None
    duplicate_of: Spec | None = None


class IncidentsSection(_Strict):
    """The incidents file: one row per incident."""

    id: str = Field(min_length=1)
    fields: IncidentFields
    victims: list[VictimFields] = Field(default_factory=list)
    disclosures: list[DisclosureFields] = Field(default_factory=list)


class DisclosuresSection(_Strict):
    """The optional disclosures file: one row per disclosure, joined on the incident id."""

    incident: str = Field(min_length=1)
    fields: DisclosureFields
    victim: VictimFields | None = None


class RecordsSection(_Strict):
    """The records file: one row per crime or N100 record, joined on the incident id."""

    incident: str = Field(min_length=1)
    fields: RecordFields
    cancellation: CancellationFields | None = None


class MappingModel(_Strict):
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


# ------------------------------------------------------------------------------------------------
# Reading CSV rows with their line numbers and byte offsets
# ------------------------------------------------------------------------------------------------

_SURROGATE = re.compile("[\udc80-\udcff]")


class CsvFile:
    """One CSV file read as rows, each with the line it starts on and its byte offset."""

    def __init__(self, path: Path, encoding: str, delimiter: str) -> None:
        self.path = path
        self.name = str(path)
        self.encoding = encoding
        self.delimiter = delimiter
        self._offset = 0
        self._lines = 0
        self.header: list[str] = []
        self._stream: IO[bytes] | None = None
        self._seek: IO[bytes] | None = None  # a second handle for reading rows back by offset

    def _source(self, stream: IO[bytes]) -> Iterator[str]:
        for raw in stream:
            self._offset += len(raw)
            self._lines += 1
            # surrogateescape keeps undecodable bytes visible, so the row they are in is rejected
            yield raw.decode(self.encoding, "surrogateescape")

    def open(self) -> list[str]:
        """Open the file and read its header row; RuleError when it cannot be read."""
        try:
            self._stream = open(self.path, "rb")  # noqa: SIM115 - closed by close(); rows stream lazily
        except OSError as exc:
            raise RuleError([Problem(f"cannot read: {exc.strerror}", file=self.name)]) from None
        self._reader = csv.reader(self._source(self._stream), delimiter=self.delimiter)
        first = next(self.rows(), None)
        if first is None or first[2] is None:
            raise RuleError([Problem("no header row: the first row names the columns", file=self.name, line=1)])
        self.header = [h.strip().lstrip("\ufeff") for h in first[2]]
        seen: set[str] = set()
        for name in self.header:
            if name in seen and name:
                raise RuleError([Problem(f"column {name!r} appears twice in the header", file=self.name, line=1)])
            seen.add(name)
        return self.header

    def rows(self) -> Iterator[tuple[int, int, list[str] | None, str | None]]:
        """(line, byte offset, cells, problem) for each non-blank row after the current position."""
        while True:
            start, line = self._offset, self._lines + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, start, None, f"not a readable CSV row: {exc}"
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield line, start, row, None

    def row_at(self, offset: int) -> list[str] | None:
        """The row starting at a byte offset (read again through a second handle)."""
        if self._seek is None:
            self._seek = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        handle = self._seek
        handle.seek(offset)

        def lines() -> Iterator[str]:
            for raw in handle:
                yield raw.decode(self.encoding, "surrogateescape")

        try:
            return next(csv.reader(lines(), delimiter=self.delimiter), None)
        except csv.Error:
            return None

    def close(self) -> None:
        """Close both handles."""
        if self._stream is not None:
            self._stream.close()
        if self._seek is not None:
            self._seek.close()


def _cell(row: list[str], index: int) -> str:
    """A cell's text without surrounding spaces; blank when the row is short."""
    return row[index].strip() if index < len(row) else ""


def _key_hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogateescape"))


class RowIndex:
    """Where each row of a joined file is, by incident id: 21 bytes a row, never the rows."""

    def __init__(self, csv_file: CsvFile, key_column: int) -> None:
        self.file = csv_file
        self.key_column = key_column
        self.offsets = array("Q")
        self.lines = array("L")
        self.broken: list[tuple[int, str]] = []  # rows the CSV module could not read, kept for rejection
        keys = array("Q")
        for line, offset, row, problem in csv_file.rows():
            if row is None:
                self.broken.append((line, problem or "not a readable CSV row"))
                continue
            key = row[key_column].strip() if key_column < len(row) else ""
            n = len(self.offsets)
            self.offsets.append(offset)
            self.lines.append(line)
            # hash in the high half, row number in the low: sorting groups each incident's rows in file order
            keys.append((_key_hash(key) << 32) | n)
        self.keys = array("Q", sorted(keys))
        self.used = bytearray(len(self.offsets))

    def lookup(self, key: str) -> Iterator[tuple[int, int, list[str]]]:
        """(row number, line, cells) of every row whose incident id is `key`, in file order."""
        h = _key_hash(key) << 32
        i = bisect_left(self.keys, h)
        while i < len(self.keys) and self.keys[i] >> 32 == h >> 32:
            n = self.keys[i] & 0xFFFFFFFF
            i += 1
            row = self.file.row_at(self.offsets[n])
            # a hash collision only costs a read: the id itself decides
            if row is not None and self.key_column < len(row) and row[self.key_column].strip() == key:
                self.used[n] = 1
                yield n, self.lines[n], row

    def unused(self) -> Iterator[tuple[int, list[str] | None]]:
        """(line, cells) of the rows no incident claimed, in file order."""
        for n, used in enumerate(self.used):
            if not used:
                yield self.lines[n], self.file.row_at(self.offsets[n])


# ------------------------------------------------------------------------------------------------
# Cells to contract values
# ------------------------------------------------------------------------------------------------


class CellError(Exception):
    """A cell that cannot be turned into its contract field."""


def _quote(cell: str, size: int = 40) -> str:
    """A cell quoted in a message, cut short: a wrong column can hold a whole log entry."""
    return repr(cell if len(cell) <= size else cell[: size - 1] + "…")


@dataclass(frozen=True)
class Bound:
    """A field spec bound to the column index of the file it reads."""

    name: str
    kind: Kind
    spec: Column
    index: int | None


@dataclass
class Built:
    """An incident assembled from rows: the contract data, where each field came from, what went wrong."""

    data: dict[str, Any]
    origin: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class CsvItem(Item):
    """An item built from CSV rows: all of its problems, and where each contract field came from."""

    problems: tuple[Problem, ...] = ()
    origin: tuple[tuple[str, tuple[str, int, str | None]], ...] = ()

    def locate(self, p: Problem) -> Problem:
        """A contract-level problem (`records[0].recorded_at`) pointed back at its file, line and column."""
        path = p.field or ""
        table = dict(self.origin)
        probe = path
        while probe:
            if probe in table:
                file, line, column = table[probe]
                shown = f"{column} ({path})" if column else path
                return Problem(p.message, file=file, line=line, record=p.record, field=shown)
            probe = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe)
        return p


class Converter:
    """Turns cells into contract values as the mapping says."""

    def __init__(self, mapping: Mapping) -> None:
        m = mapping.model
        self.zone = mapping.zone
        self.formats = m.date_formats
        self.separator = m.list_separator
        self.true = {v.strip().casefold() for v in m.true_values}
        self.false = {v.strip().casefold() for v in m.false_values}
        self._maps: dict[int, dict[str, Any]] = {}

    def _lookup(self, spec: Column, cell: str) -> tuple[bool, Any]:
        assert spec.values is not None
        table = self._maps.get(id(spec))
        if table is None:
            # codes match whatever their case or surrounding spaces: exports are not consistent
            table = {k.strip().casefold(): v for k, v in spec.values.items()}
            self._maps[id(spec)] = table
        key = cell.casefold()
        if key in table:
            return True, table[key]
        if spec.unmapped == "keep":
            return True, cell
        if spec.unmapped == "drop":
            return False, None
        known = ", ".join(sorted(spec.values)[:12])
        raise CellError(f"{_quote(cell)} is not in the value map (known: {known}); add it to the mapping")

    def scalar(self, kind: Kind, spec: Column, cell: str) -> tuple[bool, Any]:
        """(present, value) for one non-blank cell of a scalar field."""
        value: Any = cell
        if spec.values is not None:
            present, value = self._lookup(spec, cell)
            if not present or value is None:
                return False, None
            if not isinstance(value, str):
                return True, value
        if kind == "int":
            try:
                return True, int(value)
            except ValueError:
                raise CellError(f"{_quote(value)} is not a whole number") from None
        if kind == "bool":
            folded = value.strip().casefold()
            if folded in self.true:
                return True, True
            if folded in self.false:
                return True, False
            raise CellError(
                f"{_quote(value)} is neither a true value nor a false value (see true_values, false_values)"
            )
        if kind == "time":
            return True, self.time(value, spec.formats or self.formats)
        return True, value

    def time(self, text: str, formats: list[str]) -> str:
        """A cell's date and time as ISO 8601 with an offset; a naive time is read in the mapping's zone."""
        moment: datetime | None = None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in formats:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if moment is None:
            tried = ", ".join(repr(f) for f in ["ISO 8601", *formats])
            raise CellError(f"{_quote(text)} is not a date and time in any of the formats: {tried}")
        if moment.tzinfo is None:
            # zoneinfo takes the first of the two readings of an hour repeated when clocks go back
            moment = moment.replace(tzinfo=self.zone)
        return moment.isoformat()

    def fill(
        self,
        target: dict[str, Any],
        bound: list[Bound],
        row: list[str],
        where: tuple[str, int],
        path: str,
        built: Built,
        incident_id: str | None,
    ) -> None:
        """Set each bound field of `target` from `row`, recording origins and problems in `built`."""
        file, line = where
        for b in bound:
            name = f"{path}.{b.name}" if path else b.name
            if b.index is None:
                if b.spec.value is not None:
                    target[b.name] = [b.spec.value] if b.kind == "list" else b.spec.value
                    built.origin[name] = (file, line, None)
                continue
            column = b.spec.column
            cell = row[b.index].strip() if b.index < len(row) else ""
            built.origin[name] = (file, line, column)
            if _SURROGATE.search(cell):
                built.problems.append(
                    Problem("not valid text in the file's encoding", file, line, incident_id, f"{column} ({name})")
                )
                continue
            try:
                if not cell:
                    if b.spec.default is not None:
                        target[b.name] = [b.spec.default] if b.kind == "list" else b.spec.default
                    continue
                if b.kind == "list":
                    items = []
                    for part in (p.strip() for p in cell.split(self.separator)):
                        if not part:
                            continue
                        present, value = self.scalar("str", b.spec, part)
                        if present and value is not None:
                            items.append(value)
                    target[b.name] = items
                else:
                    present, value = self.scalar(b.kind, b.spec, cell)
                    if present:
                        target[b.name] = value
            except CellError as exc:
                built.problems.append(Problem(str(exc), file, line, incident_id, f"{column} ({name})"))


# ------------------------------------------------------------------------------------------------
# Joining the files into items
# ------------------------------------------------------------------------------------------------


def _bind(
    mapping: Mapping, group: BaseModel | None, loc: tuple[str | int, ...], header: list[str], file: str
) -> tuple[list[Bound], list[Problem]]:
    bound: list[Bound] = []
    problems: list[Problem] = []
    if group is None:
        return bound, problems
    positions = {name: i for i, name in enumerate(header)}
    for name in type(group).model_fields:
        spec = getattr(group, name)
        if not isinstance(spec, Column):
            continue
        index = None
        if spec.column is not None:
            index = positions.get(spec.column.strip())
            if index is None:
                problems.append(_missing_column(mapping, (*loc, name), spec.column, header, file))
                continue
        bound.append(Bound(name, KINDS.get(name, "str"), spec, index))
    return bound, problems


def _missing_column(mapping: Mapping, loc: tuple[str | int, ...], column: str, header: list[str], file: str) -> Problem:
    shown = ", ".join(repr(h) for h in header[:30]) + (" ..." if len(header) > 30 else "")
    return mapping.doc.problem(loc, f"column {column!r} is not in {file} (its columns: {shown})")


def _key_index(mapping: Mapping, loc: tuple[str | int, ...], column: str, header: list[str], file: str) -> int:
    try:
        return header.index(column.strip())
    except ValueError:
        raise RuleError([_missing_column(mapping, loc, column, header, file)]) from None


def read_csv_items(
    mapping: Mapping,
    incidents: Path,
    records: Path | None = None,
    disclosures: Path | None = None,
) -> Iterator[Item]:
    """Yield one item per incident row (and per orphan row of the joined files), streamed.

    Raises RuleError before yielding anything when a file cannot be opened or a mapped column is
    missing: those stop the run. A row that cannot be mapped yields a rejected item instead.
    """
    m = mapping.model
    if (m.records is None) != (records is None):
        msg = (
            "the mapping has a `records` section: give the records file with --records"
            if records is None
            else "--records was given but the mapping has no `records` section"
        )
        raise RuleError([Problem(msg, file=str(mapping.path))])
    if (m.disclosures is None) and disclosures is not None:
        raise RuleError(
            [Problem("--disclosures was given but the mapping has no `disclosures` section", str(mapping.path))]
        )
    files: list[CsvFile] = []
    try:
        inc_file = CsvFile(incidents, m.encoding, m.delimiter)
        files.append(inc_file)
        header = inc_file.open()
        problems: list[Problem] = []
        inc_key = _key_index(mapping, ("incidents", "id"), m.incidents.id, header, inc_file.name)
        inc_bound, errs = _bind(mapping, m.incidents.fields, ("incidents", "fields"), header, inc_file.name)
        problems += errs
        victim_bound: list[list[Bound]] = []
        for i, v in enumerate(m.incidents.victims):
            b, errs = _bind(mapping, v, ("incidents", "victims", i), header, inc_file.name)
            victim_bound.append(b)
            problems += errs
        disc_bound: list[list[Bound]] = []
        for i, d in enumerate(m.incidents.disclosures):
            b, errs = _bind(mapping, d, ("incidents", "disclosures", i), header, inc_file.name)
            disc_bound.append(b)
            problems += errs
        joins: list[_Join] = []
        if m.disclosures is not None and disclosures is not None:
            joins.append(_Join.open("disclosures", mapping, disclosures, files, problems))
        if m.records is not None and records is not None:
            joins.append(_Join.open("records", mapping, records, files, problems))
        if problems:
            raise RuleError(problems)
        assembler = _Assembler(mapping, inc_file.name, inc_bound, victim_bound, disc_bound, joins)
        index = 0
        for line, _offset, row, problem in inc_file.rows():
            yield assembler.item(index, line, row, problem, inc_key)
            index += 1
        for join in joins:
            for item in join.orphans(index, inc_file.name):
                yield item
                index += 1
    finally:
        for f in files:
            f.close()


@dataclass
class _Join:
    """A joined file (records or disclosures) with its index and bound fields."""

    section: str
    file: CsvFile
    index: RowIndex
    key_column: str
    fields: list[Bound]
    extra: list[Bound]  # the disclosure row's victim, or the record row's cancellation

    @classmethod
    def open(cls, section: str, mapping: Mapping, path: Path, files: list[CsvFile], problems: list[Problem]) -> _Join:
        """Open and index a joined file; column problems are added to `problems`."""
        m = mapping.model
        f = CsvFile(path, m.encoding, m.delimiter)
        files.append(f)
        header = f.open()
        sect = m.records if section == "records" else m.disclosures
        assert sect is not None
        key_name = sect.incident
        key = _key_index(mapping, (section, "incident"), key_name, header, f.name)
        fields, errs = _bind(mapping, sect.fields, (section, "fields"), header, f.name)
        problems += errs
        sub = sect.cancellation if isinstance(sect, RecordsSection) else sect.victim
        extra, errs = _bind(
            mapping, sub, (section, "cancellation" if section == "records" else "victim"), header, f.name
        )
        problems += errs
        return cls(section, f, RowIndex(f, key), key_name, fields, extra)

    def orphans(self, start: int, incidents_name: str) -> Iterator[Item]:
        """Rejected items for rows no incident claimed, and rows the CSV module could not read."""
        index = start
        kind = "record" if self.section == "records" else "disclosure"
        for line, message in self.index.broken:
            p = Problem(message, self.file.name, line)
            yield CsvItem(self.file.name, line, index, problem=p, problems=(p,))
            index += 1
        for line, row in self.index.unused():
            key = row[self.index.key_column].strip() if row and self.index.key_column < len(row) else ""
            msg = (
                f"{kind} row for incident {key!r}, which is not in {incidents_name}"
                if key
                else f"{kind} row with no incident id"
            )
            p = Problem(msg, self.file.name, line, key or None, self.key_column)
            yield CsvItem(self.file.name, line, index, problem=p, problems=(p,))
            index += 1


class _Assembler:
    """Builds one contract incident from its row and the joined rows."""

    def __init__(
        self,
        mapping: Mapping,
        name: str,
        fields: list[Bound],
        victims: list[list[Bound]],
        disclosures: list[list[Bound]],
        joins: list[_Join],
    ) -> None:
        self.conv = Converter(mapping)
        self.name = name
        self.fields = fields
        self.victims = victims
        self.disclosures = disclosures
        self.joins = joins
        self.id_column = mapping.model.incidents.id

    def item(self, index: int, line: int, row: list[str] | None, problem: str | None, key_col: int) -> Item:
        """The item for one incident row: contract data, or every problem found."""
        name = self.name
        if row is None:
            p = Problem(problem or "not a readable CSV row", name, line)
            return CsvItem(name, line, index, problem=p, problems=(p,))
        key = row[key_col].strip() if key_col < len(row) else ""
        if not key:
            p = Problem("no incident id", name, line, None, self.id_column)
            # its joined rows cannot be found without an id; they are reported as orphans
            return CsvItem(name, line, index, problem=p, problems=(p,))
        built = Built({"incident_id": key})
        built.origin["incident_id"] = (name, line, self.id_column)
        self.conv.fill(built.data, self.fields, row, (name, line), "", built, key)
        victims: list[dict[str, Any]] = []
        disclosures: list[dict[str, Any]] = []
        for bound in self.victims:
            self._victim(bound, row, (name, line), built, key, victims)
        for bound in self.disclosures:
            self._disclosure(bound, row, (name, line), built, key, disclosures)
        records: list[dict[str, Any]] = []
        for join in self.joins:
            for _n, jline, jrow in join.index.lookup(key):
                where = (join.file.name, jline)
                if join.section == "disclosures":
                    if join.extra:
                        self._victim(join.extra, jrow, where, built, key, victims)
                    self._disclosure(join.fields, jrow, where, built, key, disclosures)
                else:
                    self._record(join, jrow, where, built, key, records)
        built.data["victims"] = victims
        built.data["disclosures"] = disclosures
        built.data["records"] = records
        origin = tuple(built.origin.items())
        if built.problems:
            return CsvItem(name, line, index, problem=built.problems[0], problems=tuple(built.problems), origin=origin)
        return CsvItem(name, line, index, data=built.data, origin=origin)

    def _victim(
        self,
        bound: list[Bound],
        row: list[str],
        where: tuple[str, int],
        built: Built,
        key: str,
        victims: list[dict[str, Any]],
    ) -> None:
        victim: dict[str, Any] = {}
        scratch = Built({})
        self.conv.fill(victim, bound, row, where, "", scratch, key)
        built.problems += scratch.problems
        if not victim:
            return  # no victim described on this row
        victim.setdefault("victim_id", f"V{len(victims) + 1}")
        if any(v["victim_id"] == victim["victim_id"] for v in victims):
            return  # the same victim on several disclosure rows: the first description stands
        path = f"victims[{len(victims)}]"
        built.origin.update({f"{path}.{k}": v for k, v in scratch.origin.items()})
        built.origin[path] = (where[0], where[1], None)
        victims.append(victim)

    def _disclosure(
        self,
        bound: list[Bound],
        row: list[str],
        where: tuple[str, int],
        built: Built,
        key: str,
        disclosures: list[dict[str, Any]],
    ) -> None:
        offence = next((b for b in bound if b.name == "offence"), None)
        blank = offence is not None and offence.index is not None and not _cell(row, offence.index)
        if blank:
            return  # a disclosure slot left blank on the row: no disclosure
        path = f"disclosures[{len(disclosures)}]"
        disclosure: dict[str, Any] = {}
        self.conv.fill(disclosure, bound, row, where, path, built, key)
        disclosure.setdefault("disclosure_id", f"D{len(disclosures) + 1}")
        built.origin[path] = (where[0], where[1], None)
        disclosures.append(disclosure)

    def _record(
        self,
        join: _Join,
        row: list[str],
        where: tuple[str, int],
        built: Built,
        key: str,
        records: list[dict[str, Any]],
    ) -> None:
        path = f"records[{len(records)}]"
        record: dict[str, Any] = {}
        self.conv.fill(record, join.fields, row, where, path, built, key)
        if join.extra:
            cancellation: dict[str, Any] = {}
            self.conv.fill(cancellation, join.extra, row, where, f"{path}.cancellation", built, key)
            # constants alone (e.g. a fixed authoriser) do not make a cancellation: a cell must say so
            if any(b.index is not None and b.name in cancellation for b in join.extra):
                record["cancellation"] = cancellation
        built.origin[path] = (where[0], where[1], None)
        records.append(record)
