"""Force CSV exports read as incidents: cells converted to contract values through the mapping,
and the records and disclosures files joined to their incidents, streamed.

The incidents file is read row by row and never held. The records and disclosures files are
joined through an index built in one pass, holding for each row only a 32-bit hash of its incident
id, its byte offset and its line (21 bytes a row with the used-row flag; about 50 for a moment
while the index is sorted), never the rows themselves; each incident's rows are then read back by
seeking. This works whatever order the export is in (exports are seldom sorted the same way),
costs one extra sequential read, and keeps memory at about 2 MB per 100,000 record rows. A row
whose incident is not in the incidents file is reported at the end as a rejected item of its own,
so no row is lost silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from checker.core.errors import Problem, RuleError
from checker.read.csvfile import CsvFile, RowIndex, cell
from checker.read.incidents import Item
from checker.read.mapping import KINDS, Column, Kind, Mapping, RecordsSection

_SURROGATE = re.compile("[\udc80-\udcff]")


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
        assembler = _Assembler(mapping, inc_file, inc_bound, victim_bound, disc_bound, joins)
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


def _misaligned(cells: int, columns: int, where: tuple[str, int], incident_id: str) -> Problem:
    msg = (
        f"the row has {cells} cells but the header names {columns} columns: a comma outside quotes? "
        "None of its cells is read (or repeated here); quote text columns in the export"
    )
    return Problem(msg, where[0], where[1], incident_id)


class _Assembler:
    """Builds one contract incident from its row and the joined rows."""

    def __init__(
        self,
        mapping: Mapping,
        file: CsvFile,
        fields: list[Bound],
        victims: list[list[Bound]],
        disclosures: list[list[Bound]],
        joins: list[_Join],
    ) -> None:
        self.conv = Converter(mapping)
        self.name = file.name
        self.columns = len(file.header)
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
        # A row with more cells than the header has a comma out of place (an unquoted narrative):
        # its cells are not what the header says, so none is read, and none is quoted back.
        if len(row) > self.columns:
            for join in self.joins:  # its joined rows belong to it, rejected with it: not orphans
                for _ in join.index.lookup(key):
                    pass
            p = _misaligned(len(row), self.columns, (name, line), key)
            return CsvItem(name, line, index, problem=p, problems=(p,))
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
                if len(jrow) > len(join.file.header):
                    built.problems.append(_misaligned(len(jrow), len(join.file.header), where, key))
                    continue
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
        blank = offence is not None and offence.index is not None and not cell(row, offence.index)
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
