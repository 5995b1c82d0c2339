"""What the command line writes to a person's terminal or a pipe.

Input reaches human output in many places (messages quoting the incident log, unknown field names,
file names), so the one place to make it safe is the stream: `Terminal` escapes every control
character and Unicode bidirectional control it is given (an escape sequence could clear the screen
or plant a hyperlink; U+202E could make one incident number read as another), letting through only
the colour codes `Paint` writes. It also survives a reader that goes away (`check ... | head -1`):
the rest of the output is dropped, and the command still ends with the exit code its findings call
for.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Sequence
from typing import TextIO

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional and line-separating
# format characters
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_COLOUR = re.compile(r"(\x1b\[(?:0|1|2|31|32|33|36)m)")  # exactly what checker.cli.output.Paint writes


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, colour: bool = False) -> str:
    """`text` with every control escaped (`\\x1b`, `\\u202e`); `colour` keeps Paint's colour codes."""
    if not colour:
        return _UNSAFE.sub(_escaped, text)
    parts = _COLOUR.split(text)
    return "".join(part if i % 2 else _UNSAFE.sub(_escaped, part) for i, part in enumerate(parts))


def typing_hint(files: Sequence[str]) -> None:
    """When `-` would read incidents from a person's terminal, say so on standard error: otherwise
    the command only waits, without a word."""
    stdin = sys.stdin
    if "-" in files and stdin is not None and stdin.isatty():
        print("reading incidents from the terminal: paste them, then press Ctrl-D", file=sys.stderr)


def wants_colour(mode: str, stream: TextIO) -> bool:
    """Whether to paint: `--color always`, or `auto` on a terminal without $NO_COLOR."""
    if mode == "auto":
        return stream.isatty() and not os.environ.get("NO_COLOR")
    return mode == "always"


class Terminal(io.TextIOBase):
    """A text stream for people: controls escaped (`escape`), and a closed pipe survived. Colour
    codes pass only when this stream is painted (`colour`, as --color says)."""

    def __init__(self, raw: TextIO, escape: bool = True, colour: str = "auto") -> None:
        super().__init__()
        self.raw = raw
        self.escape = escape
        self.colour = wants_colour(colour, raw)
        self.broken = False  # the reader went away; what follows is dropped

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        shown = terminal_safe(text, self.colour) if self.escape else text
        try:
            self.raw.write(shown)
        except BrokenPipeError:
            self._gone()
        return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self.raw.flush()
        except BrokenPipeError:
            self._gone()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def writable(self) -> bool:
        return True

    def _gone(self) -> None:
        """Stop writing; point the file descriptor at /dev/null so that Python's own flush at exit
        does not fail again and turn the exit code into 120."""
        self.broken = True
        try:
            fd = self.raw.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
