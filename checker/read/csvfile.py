"""Reading CSV rows with their line numbers and byte offsets, and an index for reading them back."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import tempfile
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from checker.core.errors import Problem, RuleError
from checker.core.files import refuse_device
from checker.read import incidents
from checker.read.incidents import Endless, bounded_line

csv.field_size_limit(1 << 24)  # narratives can be long; the default 128 KB limit rejects real logs
MAX_LINE_BYTES = 64 << 20  # one line of a CSV file (a row may span several, in quotes)
MAX_SPOOL_BYTES = 4 << 30  # a file that can be read only once (a pipe) is copied to disk up to this


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
        self._spool: Path | None = None  # the private copy of a file that can be read only once
        self._bare_cr = False  # the first line holds a carriage return that ends no line (old Mac)
        self._ended = False  # a line ran on without end (incidents.MAX_SKIP_BYTES): nothing more is read

    def _source(self, stream: IO[bytes]) -> Iterator[str]:
        """The file's lines, decoded, each read with a bound (`_bounded`): the csv module is given
        whole lines, so a line of 300 MB would be held (twice, as bytes and as text) before the
        module's field limit refused it. Not a generator: one that raised would end there."""

        def decoded() -> str:
            raw = self._bounded(stream)
            if not raw:
                raise StopIteration
            # surrogateescape keeps undecodable bytes visible, so the row they are in is rejected
            return raw.decode(self.encoding, "surrogateescape")

        return _Calls(decoded)

    def _bounded(self, stream: IO[bytes]) -> bytes:
        """The next line, as the JSON reader reads one (`bounded_line`): a line over MAX_LINE_BYTES
        is read through to its end and dropped, and csv.Error raised in its place, which the reader
        passes on as its row's error (it starts each row afresh); a line that runs on past
        MAX_SKIP_BYTES without ending ends the file."""
        if self._ended:
            return b""
        try:
            raw = bounded_line(stream, MAX_LINE_BYTES + 1)
        except Endless:
            self._ended = True
            self._lines += 1
            msg = f"a line of more than {MAX_LINE_BYTES:,} bytes; not read, nor anything after it: it runs on past "
            raise csv.Error(msg + f"{incidents.MAX_SKIP_BYTES:,} bytes without ending") from None
        finally:
            self._offset = stream.tell()  # past what was dropped, too
        if raw:
            self._lines += 1
            if self._lines == 1:
                self._bare_cr = b"\r" in raw.rstrip(b"\r\n")
        if len(raw) > MAX_LINE_BYTES:
            raise csv.Error(f"a line of more than {MAX_LINE_BYTES:,} bytes; not read")
        return raw

    def open(self) -> list[str]:
        """Open the file and read its header row; RuleError when it cannot be read.

        Rows of a joined file are read back later by offset, through a second handle. A pipe, a
        FIFO or a process substitution (`--records <(...)`) can be read only once, so it is first
        copied to a private temporary file (mode 0600 in a 0700 directory, removed on close)."""
        try:
            refuse_device(self.path)  # a pipe is copied below; /dev/zero would fill the disk
            self._stream = open(self.path, "rb")  # noqa: SIM115 - closed by close(); rows stream lazily
            if not stat.S_ISREG(os.fstat(self._stream.fileno()).st_mode):
                self._stream = self._spooled(self._stream)
        except OSError as exc:
            raise RuleError([Problem(f"cannot read: {exc.strerror}", file=self.name)]) from None
        self._reader = csv.reader(self._source(self._stream), delimiter=self.delimiter)
        first = next(self.rows(), None)
        if first is None or first[2] is None:
            message = "no header row: the first row names the columns"
            if self._bare_cr:  # the whole file read as one line, which the csv module refuses
                message = (
                    "its lines end with a carriage return alone (an old Mac export): save it as CSV "
                    "with ordinary line ends (CR LF or LF)"
                )
            raise RuleError([Problem(message, file=self.name, line=1)])
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

    def _spooled(self, stream: IO[bytes]) -> IO[bytes]:
        self._spool = Path(tempfile.mkdtemp(prefix="crimecheck-"))
        copy = self._spool / "rows.csv"
        copied = 0
        with stream, open(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as out:
            while block := stream.read(1 << 20):
                copied += len(block)
                if copied > MAX_SPOOL_BYTES:  # a pipe that never ends would fill the disk
                    self.close()
                    msg = (
                        f"more than {MAX_SPOOL_BYTES:,} bytes from a pipe, which is copied to disk to be "
                        "read: save it as a file and name the file"
                    )
                    raise RuleError([Problem(msg, file=self.name)])
                out.write(block)
        self.path = copy  # read back from the copy; messages still name the file given
        return open(copy, "rb")

    def row_at(self, offset: int) -> list[str] | None:
        """The row starting at a byte offset (read again through a second handle)."""
        if self._seek is None:
            self._seek = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        handle = self._seek
        handle.seek(offset)

        def lines() -> Iterator[str]:  # only rows read once already, within the bound, are read back
            while raw := bounded_line(handle, MAX_LINE_BYTES + 1):
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
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None


class _Calls(Iterator[str]):
    """An iterator over what a function returns (until it raises StopIteration), which goes on
    after the function raised anything else: the csv module's reader goes on after a bad line."""

    def __init__(self, call: Callable[[], str]) -> None:
        self._call = call

    def __next__(self) -> str:
        return self._call()


def cell(row: list[str], index: int) -> str:
    """A cell's text without surrounding spaces; blank when the row is short."""
    return row[index].strip() if index < len(row) else ""


def key_hash(key: str) -> int:
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
            keys.append((key_hash(key) << 32) | n)
        self.keys = array("Q", sorted(keys))
        self.used = bytearray(len(self.offsets))

    def lookup(self, key: str) -> Iterator[tuple[int, int, list[str]]]:
        """(row number, line, cells) of every row whose incident id is `key`, in file order."""
        h = key_hash(key) << 32
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
