"""Reading incidents: one JSON object, a JSON array, or JSON Lines, streamed and located.

Every item read comes out either as data or as a located problem, so a batch can count
read = checked + rejected and never lose a record silently.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson
from pydantic import ValidationError

from checker.core.errors import CheckerError, InputError, Problem, dotted, error_text
from checker.core.files import refuse_device
from checker.core.models import (
    DEFAULT_LIMITS,
    Incident,
    Limits,
    bound_problems,
    consistency_problems,
    only_known_fields,
    safe_id,
    unknown_fields,
)

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
_WHITESPACE = b" \t\r\n"
# The incident id as written in text that does not parse, so that even a broken record is named.
_ID = re.compile(rb'"incident_id"[ \t\r\n]*:[ \t\r\n]*("(?:[^"\\\x00-\x1f]|\\.){1,200}")')


@dataclass(frozen=True)
class Item:
    """One incident as read: its raw data, or the problem that stopped it being read, or (read
    with ``parse=False``) its JSON text, for the process that checks it to parse (`parsed`)."""

    source: str
    line: int | None
    index: int
    data: Any = None
    problem: Problem | None = None
    raw: bytes | None = None  # the JSON text, not parsed yet
    column: int = 1  # where the raw text starts on its first line

    def parsed(self) -> Item:
        """The item with its JSON text parsed: its data, or the located problem that stopped it."""
        if self.raw is None:
            return self
        return _parse(self.source, self.line or 1, self.column, self.index, self.raw)

    @property
    def where(self) -> str:
        """`file:line` or `file item N`, for messages and rejected.csv."""
        return f"{self.source}:{self.line}" if self.line else f"{self.source} item {self.index + 1}"


def _decode_error(exc: orjson.JSONDecodeError, text: bytes, column: int = 1) -> str:
    """orjson's message made plain; `column` is where the text starts on its first line."""
    msg = exc.msg
    if msg == "depth limit exceeded":
        msg = "nested too deeply (more than 1024 levels of arrays or objects)"
    elif msg == "unexpected control character in string":
        char = _char_at(text, exc.pos)
        code = f" U+{ord(char):04X}" if char is not None else ""
        msg = f"a control character{code} inside a string; remove it or write it escaped (\\u0000)"
    if not exc.colno:
        return f"invalid JSON: {msg}"
    return f"invalid JSON: {msg} (column {exc.colno + (column - 1 if exc.lineno <= 1 else 0)})"


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


def _encoding_problem(text: bytes, first_column: int = 1) -> tuple[str, int] | None:
    """Why the bytes are not UTF-8 text, and the line (of the text) where that shows; None when
    they are. `first_column` is where the text starts on its first line."""
    for bom, name in _OTHER_BOMS:
        if text.startswith(bom):
            return f"the file is {name} text, not UTF-8; save the export as UTF-8", 1
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = text.rfind(b"\n", 0, exc.start) + 1
        line = text.count(b"\n", 0, exc.start) + 1
        byte = text[exc.start]
        column = len(text[start : exc.start].decode("utf-8", "replace")) + (first_column if line == 1 else 1)
        hint = " (Latin-1 or Windows-1252 text?)" if byte >= 0x80 else ""
        return f"not UTF-8: byte 0x{byte:02X} at column {column}{hint}; save the export as UTF-8", line
    return None


INCIDENT_SUFFIXES = (".json", ".jsonl", ".ndjson")


FOLDER_ENTRY = (
    "not read: not a regular file (a broken link, a pipe, a device or a folder); name a pipe on its own to read it"
)


def _incident_files(paths: Iterable[Path | str]) -> list[tuple[str, str | None]]:
    """The files to read, each with why it is not read (or None): each path as given, and a
    folder's incident files (*.json, *.jsonl, *.ndjson) in name order. A folder's entry that is not
    a regular file (after links) is listed with `FOLDER_ENTRY`, never opened: a pipe there would
    wait for ever, and passing over it would lose its incidents without a word. A folder with no
    incident files is an error naming it."""
    out: list[tuple[str, str | None]] = []
    for path in paths:
        name = str(path)
        if name != "-" and os.path.isdir(name):
            found = sorted(
                (str(p), None if p.is_file() else FOLDER_ENTRY)
                for p in Path(name).iterdir()
                if p.suffix.lower() in INCIDENT_SUFFIXES
            )
            if not found:
                raise CheckerError([Problem("a folder with no incident files (*.json, *.jsonl, *.ndjson)", file=name)])
            out.extend(found)
        else:
            out.append((name, None))
    return out


def read_inputs(paths: Iterable[Path | str], parse: bool = True) -> Iterator[Item]:
    """Every item of the files and folders named (`_incident_files`), in order; a folder's entry
    that is not read is an item of its own, rejected with the reason. The folders are listed now,
    so that one without incident files stops the run before anything is read."""
    files = _incident_files(paths)

    def items() -> Iterator[Item]:
        for name, refused in files:
            if refused is None:
                yield from read_items(name, parse=parse)
            else:
                yield Item(name, None, 0, problem=Problem(refused, file=name))

    return items()


def read_items(path: Path | str, stream: BinaryIO | None = None, parse: bool = True) -> Iterator[Item]:
    """Yield every incident in a file (or `-` for standard input), each with its location.

    With ``parse=False`` a JSON value is cut out but not parsed: its item carries the text, which
    `Item.parsed` turns into data where it is checked (an audit's worker processes, so that the
    process reading the file does not parse every incident only to send it on)."""
    name = str(path)
    if stream is None:
        if name == "-":
            if sys.stdin is None:  # started with standard input closed (`<&-`)
                yield Item(name, None, 0, problem=Problem("cannot read: standard input is closed", file=name))
                return
            stream = sys.stdin.buffer
        else:
            try:
                refuse_device(name)
                stream = open(name, "rb")  # noqa: SIM115 - closed below, the generator may pause
            except OSError as exc:
                yield Item(name, None, 0, problem=Problem(f"cannot read: {exc.strerror}", file=name))
                return
    try:
        yield from _read(name, stream, parse)
    except OSError as exc:
        # a read that fails half-way (a directory, a vanished file): the file is reported, not the run
        yield Item(name, None, 0, problem=Problem(f"cannot read: {exc.strerror or exc}", file=name))
    finally:
        if name != "-":
            stream.close()


CHUNK = 1 << 20  # bytes read at a time: memory stays flat whatever the size of the file
MAX_ITEM_BYTES = 64 << 20  # one incident as JSON; far above what the record bounds let through
# An item over MAX_ITEM_BYTES is read on to its end and dropped, so that the next can be read; one
# that runs on past this ends the reading of its input (`crimecheck check - < /dev/zero` never ended).
MAX_SKIP_BYTES = 1 << 30
DETECT_BYTES = 8 << 20  # read at most, to tell JSON Lines from other JSON
LOOKAHEAD_LINES = 20
# Skip strings and everything but structure, then stop at one structural character: the C regex
# engine walks the text, Python sees only brackets and commas. A string cut off by the end of the
# buffer does not match, so the cut never falls inside a string.
_STRUCTURE = re.compile(rb'(?:[^"\[\]{},]++|"(?:[^"\\]++|\\.)*+")*+([\[\]{},])')
# Inside an array's element or a document only brackets count (_DEEP), and a bracket pair holding
# no other (`{"a": 1, "b": "x"}`, `[]`) changes nothing: skipped whole, with the commas within it.
# So Python sees ~20 characters of an incident instead of ~85.
_LEAF = rb'[\[{](?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+[\]}]'
_DEEP = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+"|' + _LEAF + rb")*+([\[\]{}])")
_QUOTE = ord('"')
_SKIP_LEAVES = True  # False: _STRUCTURE throughout (the tests' reference)
# What _STRUCTURE and _DEEP pass over, commas and pairs included: where one found nothing more,
# only an open string (or the end of what was read) follows this
_PASSED = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+"|' + _LEAF + rb")*+")
_STRING_BODY = re.compile(rb'(?:[^"\\]++|\\.)*+')  # whole characters inside a string
_BLANK = re.compile(rb"[ \t\r\n]*+")  # _WHITESPACE
_OPEN = b"[{"
_CLOSE = b"]}"


def _is_object(raw: bytes) -> bool:
    stripped = raw.strip(_WHITESPACE)
    if not stripped.startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(stripped), dict)
    except orjson.JSONDecodeError:
        return False


def _read(name: str, stream: BinaryIO, parse: bool = True) -> Iterator[Item]:
    """Tell the format from the first lines, then read it as it streams. The file is read once,
    never reopened or sought in: a pipe or a FIFO works as well as a file."""
    first = stream.readline(DETECT_BYTES)
    if first.startswith(BOM):
        first = first[len(BOM) :]
    head = [first]  # the lines read to tell the format, passed on to the reader chosen
    if _lines_ahead(head, stream):
        yield from _lines(name, _chain(b"".join(head), stream), parse)
        return
    for bom, encoding in _OTHER_BOMS:
        if first.startswith(bom):
            msg = f"the file is {encoding} text, not UTF-8; save the export as UTF-8"
            yield Item(name, 1, 0, problem=Problem(msg, file=name, line=1))
            return
    data = b"".join(head)
    if not data.strip(_WHITESPACE) and len(data) < DETECT_BYTES:
        yield Item(name, 1, 0, problem=Problem("the file is empty: no incident to check", file=name, line=1))
        return
    # a JSON array, one document, or several (pretty-printed) documents one after another
    yield from _values(name, data, stream, array=data.lstrip(_WHITESPACE).startswith(b"["), parse=parse)


def _lines_ahead(head: list[bytes], stream: BinaryIO) -> bool:
    """Whether the file is JSON Lines, from its first few lines (read into `head`).

    It is when one of them is a whole JSON object, or when two of them open an object and go on
    (`{"incident_id": ...` cut short): pretty-printed JSON opens its objects with `{` alone. A
    file that opens with `[` is an array, unless it ends within those lines, is not valid JSON,
    has such a line and none that is an element (an object and a comma): then the `[` is a
    broken line of JSON Lines."""
    opened = 0
    nonblank = 0
    size = 0
    lines = False
    array = False
    elements = False
    line = head[0]
    while True:
        size += len(line)
        stripped = line.strip(_WHITESPACE)
        if stripped:
            array = array or (nonblank == 0 and stripped.startswith(b"["))
            nonblank += 1
            opened += stripped.startswith(b"{") and stripped != b"{"
            lines = lines or opened >= 2 or _is_object(stripped)
            elements = elements or (stripped.endswith(b",") and _is_object(stripped[:-1]))
            if lines and not array:
                return True
        if nonblank >= LOOKAHEAD_LINES or size >= DETECT_BYTES or len(line) >= DETECT_BYTES:
            return False
        if not line.endswith(b"\n"):
            break  # the end of the file
        line = stream.readline(DETECT_BYTES)
        if not line:
            break
        head.append(line)
    if not (array and lines) or elements:
        return False
    try:
        orjson.loads(b"".join(head))
    except orjson.JSONDecodeError:
        return True
    return False


class Endless(Exception):
    """An item ran on past MAX_SKIP_BYTES: its input is not read further."""


def bounded_line(stream: IO[bytes], limit: int | None = None) -> bytes:
    """One line, or its first `limit` bytes (MAX_ITEM_BYTES + 1); the rest of it is read on, and
    dropped, up to MAX_SKIP_BYTES (then Endless)."""
    limit = MAX_ITEM_BYTES + 1 if limit is None else limit
    line = stream.readline(limit)
    if len(line) >= limit and not line.endswith(b"\n"):
        rest, skipped = line, 0
        while rest and not rest.endswith(b"\n"):
            rest = stream.readline(CHUNK)
            skipped += len(rest)
            if skipped > MAX_SKIP_BYTES:
                raise Endless
    return line


def _chain(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The lines of `head` and then of the stream; a line cut off at the end of `head` is completed."""
    *lines, last = head.split(b"\n")  # as readline splits: at \n only
    for line in lines:
        yield line + b"\n"
    if last:
        yield last + bounded_line(stream, MAX_ITEM_BYTES + 1 - len(last))
    while line := bounded_line(stream):
        yield line


def _lines(name: str, lines: Iterable[bytes], parse: bool = True) -> Iterator[Item]:
    index = 0
    number = 0
    try:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip(_WHITESPACE):
                continue
            if len(raw) > MAX_ITEM_BYTES:
                yield Item(name, number, index, problem=_too_big(name, number, raw))
            else:
                yield _value(name, number, 1, index, raw.rstrip(b"\r\n"), parse)
            index += 1
    except Endless:
        yield Item(name, number + 1, index, problem=_too_big(name, number + 1, b"", endless=True))


def _too_big(name: str, line: int, raw: bytes, endless: bool = False) -> Problem:
    msg = f"an incident of more than {MAX_ITEM_BYTES:,} bytes of JSON; not read"
    if endless:
        msg += f", nor anything after it: it runs on past {MAX_SKIP_BYTES:,} bytes without ending"
    return Problem(msg, file=name, line=line, record=_guess_id(raw[:CHUNK]))


def _value(name: str, line: int, column: int, index: int, raw: bytes, parse: bool) -> Item:
    """One JSON value's item: parsed (`_parse`), or, unless `parse`, its text kept for `Item.parsed`."""
    if parse:
        return _parse(name, line, column, index, raw)
    return Item(name, line, index, raw=raw, column=column)


def _parse(name: str, line: int, column: int, index: int, raw: bytes) -> Item:
    """One JSON value that starts at `line` and `column`; errors are located in the file."""
    try:
        return Item(name, line, index, data=orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        encoding = _encoding_problem(raw, column)
        if encoding is not None:
            msg, at = encoding
        else:
            msg, at = _decode_error(exc, raw, column), exc.lineno or 1
        where = line + at - 1
        return Item(name, line, index, problem=Problem(msg, file=name, line=where, record=_guess_id(raw)))


class _Cursor:
    """Line and column of positions in a buffer whose front is dropped as it is read."""

    def __init__(self) -> None:
        self.pos = 0  # the position in the buffer counted up to
        self.line = 1  # the line at self.pos
        self.line_start = 0  # where that line starts, relative to the buffer (negative once dropped)

    def at(self, buf: bytearray, pos: int) -> tuple[int, int]:
        """The line and (byte) column of `pos`, at or after the last position asked for."""
        count = buf.count(b"\n", self.pos, pos)
        if count:
            self.line += count
            self.line_start = buf.rfind(b"\n", self.pos, pos) + 1
        self.pos = max(self.pos, pos)
        return self.line, pos - self.line_start + 1

    def drop(self, buf: bytearray, size: int) -> None:
        """Forget the first `size` bytes of the buffer."""
        self.at(buf, size)
        self.pos -= size
        self.line_start -= size
        del buf[:size]


class _Cutter:
    """Cuts a byte stream into top-level JSON values, holding one value (and a chunk) at a time."""

    def __init__(self, name: str, head: bytes, stream: BinaryIO, parse: bool = True) -> None:
        self.name = name
        self.parse = parse  # False: values are cut, not parsed (see read_items)
        self.buf = bytearray(head)
        self.stream = stream
        self.cursor = _Cursor()
        self.eof = False
        self.start = 0  # where the value being cut starts
        self.index = 0  # values given so far
        self.oversize: Problem | None = None  # the value being cut is too big: read through, not kept
        self.skipped = 0  # bytes of it read through (past MAX_SKIP_BYTES, Endless)

    def more(self, pos: int) -> int:
        """Read the next chunk, dropping what is already cut (or, of a value too big, read
        through); the new scanning position."""
        # the value being cut runs at least to the end of the buffer: no structure follows `pos`
        if self.oversize is None and len(self.buf) - self.start > MAX_ITEM_BYTES:
            line, _ = self.value_start(len(self.buf))
            self.oversize = _too_big(self.name, line, bytes(self.buf[self.start : self.start + CHUNK]))
            self.skipped = 0
        drop = self.start
        if self.oversize is not None:
            pos = drop = self._through(pos)
            self.skipped += drop
            if self.skipped > MAX_SKIP_BYTES:
                raise Endless
        self.cursor.drop(self.buf, drop)
        self.start = max(self.start - drop, 0)
        chunk = self.stream.read(CHUNK)
        self.eof = not chunk
        self.buf += chunk
        return pos - drop

    def _through(self, pos: int) -> int:
        """How much of a value too big to keep can be dropped so that scanning goes on as before:
        the whole tokens after `pos`; in a string left open by the end of the buffer, its whole
        characters too, its last one made the string's opening quote (a string of any length is
        held in a few bytes). A string that cannot go on (a backslash before a line end) holds
        everything to the end of the input, which is read through."""
        buf = self.buf
        end = _reach(_PASSED, buf, pos)
        if end == len(buf):  # (else an open string starts at `end`: no structure follows `pos`)
            return end
        inner = _reach(_STRING_BODY, buf, end + 1)
        if inner + 1 < len(buf):  # stuck at a backslash and a line end: what follows is read through
            self.skipped += len(buf) - (inner + 2)
            del buf[inner + 2 :]
            return end
        if inner - 1 > end:
            self.cursor.at(buf, inner)  # lines counted before a byte is overwritten
            buf[inner - 1] = _QUOTE
            return inner - 1
        return end

    def endless(self) -> Item:
        """The value being read through, which ran on past MAX_SKIP_BYTES: the input's last item."""
        assert self.oversize is not None
        line = self.oversize.line or 1
        problem = replace(_too_big(self.name, line, b"", endless=True), record=self.oversize.record)
        self.index += 1
        return Item(self.name, line, self.index - 1, problem=problem)

    def value_start(self, end: int) -> tuple[int, int]:
        """Line and column of the first non-blank byte of the value being cut (it ends at `end`)."""
        return self.cursor.at(self.buf, min(_reach(_BLANK, self.buf, self.start), end))  # (no copy of it)

    def cut(self, end: int, keep_blank: bool = False) -> Item | None:
        """The value from the start to `end`, parsed; None when it is blank (and not kept)."""
        oversize, self.oversize = self.oversize, None
        if oversize is None and end - self.start > MAX_ITEM_BYTES:
            line, _ = self.value_start(end)
            oversize = _too_big(self.name, line, bytes(self.buf[self.start : self.start + CHUNK]))
        raw = b"" if oversize is not None else bytes(self.buf[self.start : end]).strip(_WHITESPACE)
        if oversize is not None:
            self.index += 1
            return Item(self.name, oversize.line, self.index - 1, problem=oversize)
        if not raw and not keep_blank:
            return None
        line, column = self.value_start(end)
        self.index += 1
        if not raw:
            problem = Problem("invalid JSON: an empty element", file=self.name, line=line)
            return Item(self.name, line, self.index - 1, problem=problem)
        return _value(self.name, line, column, self.index - 1, raw, self.parse)


def _reach(pattern: re.Pattern[bytes], buf: bytearray, pos: int) -> int:
    """Where a pattern that may match nothing stops, matched at `pos`."""
    m = pattern.match(buf, pos)
    return pos if m is None else m.end()


def _values(name: str, head: bytes, stream: BinaryIO, array: bool, parse: bool = True) -> Iterator[Item]:
    """The top-level JSON values of a stream, each parsed on its own as soon as it is cut (unless
    `parse` is False: see read_items).

    In an array (`array`) the values are its elements; otherwise the documents one after another
    (one object, or several pretty-printed ones). Text between documents that is not whitespace is
    a value of its own, which fails to parse: nothing is skipped unseen. Anything after the
    array's closing bracket is read as documents, and so fails to parse too."""
    cutter = _Cutter(name, head, stream, parse)
    buf = cutter.buf
    pos = 0  # scanned up to here
    depth = 0
    opened = False  # the array's opening bracket was seen
    body: int | None = None  # in a string left open by the end of the buffer: read up to here
    while True:
        m = None
        if body is not None:  # only the string's own characters are read again, not the string
            upto = _reach(_STRING_BODY, buf, body)
            if upto < len(buf) and buf[upto] == _QUOTE:
                pos, body = upto + 1, None
            else:
                body = upto
        if body is None:
            if depth == 0 or (array and depth == 1) or not _SKIP_LEAVES:
                m = _STRUCTURE.match(buf, pos)
            else:
                m = _DEEP.match(buf, pos)
            if m is None:  # whole tokens, then a string left open or the end: read on from there
                pos = _reach(_PASSED, buf, pos)
                body = pos + 1 if pos < len(buf) else None
        if m is None:
            if cutter.eof:
                break
            try:
                moved = cutter.more(pos)
            except Endless:
                yield cutter.endless()
                return
            # (a string read through as too big is rewritten short: read again from its quote)
            body = None if body is None or cutter.oversize is not None else body - (pos - moved)
            pos = moved
            continue
        char = m.group(1)
        at, pos = m.end() - 1, m.end()
        item: Item | None = None
        if char in _OPEN:
            depth += 1
            if array and not opened:
                opened = True
                cutter.start = pos
            elif not array and depth == 1:
                item = cutter.cut(at)  # text before this document
                cutter.start = at
        elif char in _CLOSE and depth > 0:  # a stray closing bracket stays in its value, which fails
            depth -= 1
            if array and depth == 0:
                item = cutter.cut(at, keep_blank=cutter.index > 0)  # `[1,]` has an empty element
                if item is None:
                    msg = "the JSON array is empty: no incident to check"
                    item = Item(name, 1, 0, problem=Problem(msg, file=name, line=1))
                    cutter.index = 1
                cutter.start = pos
                array = False
            elif not array and depth == 0:
                item = cutter.cut(pos)
                cutter.start = pos
        elif char == b"," and array and depth == 1:
            item = cutter.cut(at, keep_blank=True)
            cutter.start = pos
        if item is not None:
            yield item
    # an unfinished value or trailing text: a document or array cut short fails to parse
    item = cutter.cut(len(buf))
    if item is not None:
        yield item
    if array and opened:
        line, _ = cutter.cursor.at(buf, len(buf))
        msg = "invalid JSON: the array is not closed (no ] at the end); the file may be cut short"
        yield Item(name, line, cutter.index, problem=Problem(msg, file=name, line=line))
        cutter.index += 1
    elif cutter.index == 0:
        yield Item(name, 1, 0, problem=Problem("the file is empty: no incident to check", file=name, line=1))


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


def validate(item: Item, zone: tzinfo | None = None, limits: Limits = DEFAULT_LIMITS) -> tuple[Incident, list[str]]:
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
    rid = safe_id(raw_id) if isinstance(raw_id, str) else str(raw_id) if isinstance(raw_id, int | float) else None
    bounds = bound_problems(data, limits)
    if bounds:
        raise InputError([replace(p, file=item.source, line=line) for p in bounds])
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
    unknown = [] if only_known_fields(data) else unknown_fields(incident)
    warnings = [f"{item.where}: incident {rid}: {f}: unknown field, kept and ignored" for f in unknown[:MAX_WARNINGS]]
    if len(unknown) > MAX_WARNINGS:
        warnings.append(f"{item.where}: incident {rid}: {len(unknown) - MAX_WARNINGS} more unknown fields, ignored")
    return incident, warnings


def _pydantic_message(error: Any) -> str:
    msg = error_text(error)
    if error["type"] == "missing":
        return msg
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and len(str(value)) < 60:
        msg += f" (got {value!r})"
    return msg
