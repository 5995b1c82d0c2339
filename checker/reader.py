"""Reading incidents: one JSON object, a JSON array, or JSON Lines, streamed and located.

Every item read comes out either as data or as a located problem, so a batch can count
read = checked + rejected and never lose a record silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError

from checker.errors import InputError, Problem
from checker.models import Incident, consistency_problems, unknown_fields
from checker.yamlio import dotted

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Item:
    """One incident as read: its raw data, or the problem that stopped it being read."""

    source: str
    line: int | None
    index: int
    data: Any = None
    problem: Problem | None = None

    @property
    def where(self) -> str:
        """`file:line` or `file item N`, for messages and rejected.csv."""
        return f"{self.source}:{self.line}" if self.line else f"{self.source} item {self.index + 1}"


def _decode_error(exc: orjson.JSONDecodeError) -> str:
    return f"invalid JSON: {exc.msg} (column {exc.colno})" if exc.colno else f"invalid JSON: {exc.msg}"


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def read_items(path: Path | str, stream: BinaryIO | None = None) -> Iterator[Item]:
    """Yield every incident in a file (or `-` for standard input), each with its location."""
    name = str(path)
    if stream is None:
        if name == "-":
            import sys

            stream = sys.stdin.buffer
        else:
            try:
                stream = open(name, "rb")  # noqa: SIM115 - closed below, the generator may pause
            except OSError as exc:
                yield Item(name, None, 0, problem=Problem(f"cannot read: {exc.strerror}", file=name))
                return
    try:
        yield from _read(name, stream)
    finally:
        if name != "-":
            stream.close()


def _read(name: str, stream: BinaryIO) -> Iterator[Item]:
    first = stream.readline()
    if first.startswith(BOM):
        first = first[len(BOM) :]
    rest_peek = b""
    # A file whose first line is a whole JSON object is JSON Lines; anything else is one document.
    stripped = first.strip()
    if stripped.startswith(b"{"):
        try:
            orjson.loads(stripped)
            is_lines = True
        except orjson.JSONDecodeError:
            is_lines = False
    else:
        is_lines = False
    if is_lines:
        index = 0
        for number, raw in enumerate(_chain(first, stream), start=1):
            if not raw.strip():
                continue
            yield _parse_line(name, number, index, raw)
            index += 1
        return
    data = first + rest_peek + stream.read()
    if not data.strip():
        yield Item(name, None, 0, problem=Problem("the file is empty: no incident to check", file=name))
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = _line_of(data, exc.pos)
        yield Item(name, line, 0, problem=Problem(_decode_error(exc), file=name, line=line))
        return
    if isinstance(doc, list):
        if not doc:
            yield Item(name, None, 0, problem=Problem("the JSON array is empty: no incident to check", file=name))
        for i, value in enumerate(doc):
            yield Item(name, None, i, data=value)
    else:
        yield Item(name, 1, 0, data=doc)


def _chain(first: bytes, stream: BinaryIO) -> Iterator[bytes]:
    yield first
    yield from stream


def _parse_line(name: str, number: int, index: int, raw: bytes) -> Item:
    try:
        return Item(name, number, index, data=orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            msg = f"not UTF-8 (byte {uexc.start + 1}); save the export as UTF-8"
            return Item(name, number, index, problem=Problem(msg, file=name, line=number))
        return Item(name, number, index, problem=Problem(_decode_error(exc), file=name, line=number))


def validate(item: Item, zone: tzinfo | None = None) -> tuple[Incident, list[str]]:
    """The incident an item holds, with warnings; raises InputError naming file, line and field."""
    if item.problem is not None:
        raise InputError([item.problem])
    data = item.data
    line = item.line
    if not isinstance(data, dict):
        kind = type(data).__name__.replace("dict", "object").replace("list", "array")
        raise InputError([Problem(f"expected an incident object, got a JSON {kind}", file=item.source, line=line)])
    rid = data.get("incident_id") if isinstance(data.get("incident_id"), str) else None
    try:
        incident = Incident.model_validate(data, context={"timezone": zone})
    except ValidationError as exc:
        raise InputError(
            [
                Problem(_pydantic_message(e), file=item.source, line=line, record=rid, field=dotted(e["loc"]))
                for e in exc.errors()
            ]
        ) from None
    problems = consistency_problems(incident)
    if problems:
        raise InputError(
            [Problem(p.message, file=item.source, line=line, record=p.record, field=p.field) for p in problems]
        )
    warnings = [
        f"{item.where}: incident {incident.incident_id}: {f}: unknown field, kept and ignored"
        for f in unknown_fields(incident)
    ]
    return incident, warnings


def _pydantic_message(error: Any) -> str:
    msg = str(error["msg"])
    if error["type"] == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    value = error.get("input")
    if error["type"] not in ("missing",) and isinstance(value, str | int | float | bool) and len(str(value)) < 60:
        msg += f" (got {value!r})"
    return msg
