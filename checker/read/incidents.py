"""Reading incidents: one JSON object, a JSON array, or JSON Lines, streamed and located.

Every item read comes out either as data or as a located problem, so a batch can count
read = checked + rejected and never lose a record silently.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError

from checker.core.errors import InputError, Problem, dotted
from checker.core.models import Incident, consistency_problems, unknown_fields

BOM = b"\xef\xbb\xbf"
# Byte-order marks of encodings that are not UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
MAX_PROBLEMS = 50  # per incident: a record with thousands of bad fields still gives a readable rejection
MAX_WARNINGS = 20  # unknown fields reported per incident; the rest are summed up in one line
# A JSON string or one structural character: enough to find where each element of an array starts.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{},]')
_WHITESPACE = b" \t\r\n"
# The incident id as written in text that does not parse, so that even a broken record is named.
_ID = re.compile(rb'"incident_id"[ \t\r\n]*:[ \t\r\n]*("(?:[^"\\\x00-\x1f]|\\.){1,200}")')


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


def _decode_error(exc: orjson.JSONDecodeError, text: bytes) -> str:
    msg = exc.msg
    if msg == "depth limit exceeded":
        msg = "nested too deeply (more than 1024 levels of arrays or objects)"
    elif msg == "unexpected control character in string":
        char = _char_at(text, exc.pos)
        code = f" U+{ord(char):04X}" if char is not None else ""
        msg = f"a control character{code} inside a string; remove it or write it escaped (\\u0000)"
    return f"invalid JSON: {msg} (column {exc.colno})" if exc.colno else f"invalid JSON: {msg}"


def _char_at(text: bytes, pos: int) -> str | None:
    # orjson reports positions in characters, not bytes
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded[pos] if 0 <= pos < len(decoded) else None


def _guess_id(text: bytes) -> str | None:
    """The incident id written in a record that cannot be read, when the text shows one."""
    found = _ID.search(text)
    if found is None:
        return None
    try:
        value = orjson.loads(found.group(1))
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) and value.isprintable() else None


def _encoding_problem(text: bytes) -> tuple[str, int] | None:
    """Why the bytes are not UTF-8 text, and the line where that shows; None when they are."""
    for bom, name in _OTHER_BOMS:
        if text.startswith(bom):
            return f"the file is {name} text, not UTF-8; save the export as UTF-8", 1
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = text.rfind(b"\n", 0, exc.start) + 1
        line = text.count(b"\n", 0, exc.start) + 1
        byte = text[exc.start]
        column = len(text[start : exc.start].decode("utf-8", "replace")) + 1
        hint = " (Latin-1 or Windows-1252 text?)" if byte >= 0x80 else ""
        return f"not UTF-8: byte 0x{byte:02X} at column {column}{hint}; save the export as UTF-8", line
    return None


def read_items(path: Path | str, stream: BinaryIO | None = None) -> Iterator[Item]:
    """Yield every incident in a file (or `-` for standard input), each with its location."""
    name = str(path)
    if stream is None:
        if name == "-":
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(name, "rb")  # noqa: SIM115 - closed below, the generator may pause
            except OSError as exc:
                yield Item(name, None, 0, problem=Problem(f"cannot read: {exc.strerror}", file=name))
                return
    try:
        yield from _read(name, stream)
    except OSError as exc:
        # a read that fails half-way (a directory, a vanished file): the file is reported, not the run
        yield Item(name, None, 0, problem=Problem(f"cannot read: {exc.strerror or exc}", file=name))
    finally:
        if name != "-":
            stream.close()


def _is_object(raw: bytes) -> bool:
    stripped = raw.strip(_WHITESPACE)
    if not stripped.startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(stripped), dict)
    except orjson.JSONDecodeError:
        return False


def _read(name: str, stream: BinaryIO) -> Iterator[Item]:
    first = stream.readline()
    if first.startswith(BOM):
        first = first[len(BOM) :]
    # A file whose first line is a whole JSON object is JSON Lines, read line by line as it streams.
    if _is_object(first):
        yield from _lines(name, _chain(first, stream))
        return
    data = first + stream.read()
    if not data.strip(_WHITESPACE):
        yield Item(name, 1, 0, problem=Problem("the file is empty: no incident to check", file=name, line=1))
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _looks_like_lines(data):
            yield from _lines(name, data.split(b"\n"))
            return
        encoding = _encoding_problem(data)
        if encoding is not None:
            msg, line = encoding
        else:
            msg, line = _decode_error(exc, data), exc.lineno
        # in a broken array the id nearest the error may be another incident's: name none rather than a wrong one
        rid = None if data.lstrip(_WHITESPACE).startswith(b"[") else _guess_id(data)
        yield Item(name, line, 0, problem=Problem(msg, file=name, line=line, record=rid))
        return
    if isinstance(doc, list):
        if not doc:
            msg = "the JSON array is empty: no incident to check"
            yield Item(name, 1, 0, problem=Problem(msg, file=name, line=1))
        for i, (value, line) in enumerate(zip(doc, _element_lines(data, len(doc)), strict=True)):
            yield Item(name, line, i, data=value)
    else:
        yield Item(name, _first_line(data), 0, data=doc)


def _looks_like_lines(data: bytes) -> bool:
    """Whether a file that is not one JSON document is JSON Lines whose first line is broken."""
    # Lines starting with `{` in the first column are incidents of JSON Lines; a pretty-printed
    # document has at most one (its opening brace), which alone is not an object.
    starts = 0
    nonblank = 0
    parsed = False
    for raw in data.split(b"\n"):
        if raw.strip(_WHITESPACE):
            nonblank += 1
        if raw.startswith(b"{"):
            starts += 1
            parsed = parsed or _is_object(raw)
    return nonblank >= 2 and (starts >= 2 or parsed)


def _first_line(data: bytes) -> int:
    """The line where the document starts (after any blank lines)."""
    body = data.lstrip(_WHITESPACE)
    return data.count(b"\n", 0, len(data) - len(body)) + 1


def _element_lines(data: bytes, count: int) -> list[int]:
    """The line each top-level element of a valid JSON array starts on."""
    starts: list[int] = []
    depth = 0
    for m in _TOKEN.finditer(data):
        tok = m.group()
        if tok in (b"[", b"{"):
            depth += 1
            if depth == 1:
                starts.append(m.end())
        elif tok in (b"]", b"}"):
            depth -= 1
        elif tok == b"," and depth == 1:
            starts.append(m.end())
    lines: list[int] = []
    line, pos = 1, 0
    for start in starts[:count]:
        while start < len(data) and data[start] in _WHITESPACE:
            start += 1
        line += data.count(b"\n", pos, start)
        pos = start
        lines.append(line)
    # never lose an element, even if the scan and the parser ever disagree
    return lines + [lines[-1] if lines else 1] * (count - len(lines))


def _chain(first: bytes, stream: BinaryIO) -> Iterator[bytes]:
    yield first
    yield from stream


def _lines(name: str, lines: Iterable[bytes]) -> Iterator[Item]:
    index = 0
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if not raw.strip(_WHITESPACE):
            continue
        yield _parse_line(name, number, index, raw)
        index += 1


def _parse_line(name: str, number: int, index: int, raw: bytes) -> Item:
    raw = raw.rstrip(b"\r\n")  # an error at the end of the line is at its last column, not on the next line
    try:
        return Item(name, number, index, data=orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        encoding = _encoding_problem(raw)
        msg = encoding[0] if encoding is not None else _decode_error(exc, raw)
        problem = Problem(msg, file=name, line=number, record=_guess_id(raw))
        return Item(name, number, index, problem=problem)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def _capped(problems: list[Problem], item: Item, rid: str | None) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    summary = Problem(f"... and {more} more problems in this incident", file=item.source, line=item.line, record=rid)
    return [*problems[:MAX_PROBLEMS], summary]


def validate(item: Item, zone: tzinfo | None = None) -> tuple[Incident, list[str]]:
    """The incident an item holds, with warnings; raises InputError naming file, line and field."""
    if item.problem is not None:
        raise InputError([item.problem])
    data = item.data
    line = item.line
    if not isinstance(data, dict):
        msg = f"expected an incident object, got a JSON {_json_kind(data)}"
        raise InputError([Problem(msg, file=item.source, line=line)])
    raw_id = data.get("incident_id")
    # a numeric id is wrong (the field says so) but still the best name for the incident in messages
    rid = raw_id if isinstance(raw_id, str) else str(raw_id) if isinstance(raw_id, int | float) else None
    try:
        incident = Incident.model_validate(data, context={"timezone": zone})
    except ValidationError as exc:
        problems = [
            Problem(_pydantic_message(e), file=item.source, line=line, record=rid, field=dotted(e["loc"]))
            for e in exc.errors()
        ]
        raise InputError(_capped(problems, item, rid)) from None
    except RecursionError:
        # pydantic recurses per level of nesting; orjson already stops JSON at 1024 levels, but an
        # item built in Python (examples, tests) can nest deeper
        msg = "nested too deeply to read"
        raise InputError([Problem(msg, file=item.source, line=line, record=rid)]) from None
    rid = incident.incident_id
    problems = consistency_problems(incident)
    if problems:
        located = [Problem(p.message, file=item.source, line=line, record=p.record, field=p.field) for p in problems]
        raise InputError(_capped(located, item, rid))
    unknown = unknown_fields(incident)
    warnings = [f"{item.where}: incident {rid}: {f}: unknown field, kept and ignored" for f in unknown[:MAX_WARNINGS]]
    if len(unknown) > MAX_WARNINGS:
        warnings.append(f"{item.where}: incident {rid}: {len(unknown) - MAX_WARNINGS} more unknown fields, ignored")
    return incident, warnings


def _pydantic_message(error: Any) -> str:
    msg = str(error["msg"])
    if error["type"] == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and len(str(value)) < 60:
        msg += f" (got {value!r})"
    return msg
