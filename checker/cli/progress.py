"""A one-line progress bar on standard error: items, items per second and time left.

Written here rather than taken from a library because it needs only a few lines: it draws at most
a few times a second, and only when standard error is a terminal, so piped output stays clean.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

_REDRAW_S = 0.2  # fast enough to look alive, slow enough to cost nothing at 1,000s of items/s


def count_lines(path: str, limit_bytes: int = 8 << 30) -> int | None:
    """Newlines in a regular file (a cheap estimate of its items), or None for pipes and huge files."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > limit_bytes:
            return None
        total = 0
        last = b"\n"
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                total += block.count(b"\n")
                last = block[-1:]
        return total + (last != b"\n")
    except OSError:
        return None


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s"


class Progress:
    """Counts items and redraws `label  12,345/100,000  1,234/s  1m 12s left` in place."""

    def __init__(self, stream: TextIO, enabled: bool, label: str, total: int | None = None) -> None:
        self.stream = stream
        self.enabled = enabled
        self.label = label
        self.total = total
        self.done = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def phase(self, label: str, total: int | None) -> None:
        """Start counting a new phase (for example: checking the sample after reading)."""
        self.finish()
        self.label, self.total, self.done = label, total, 0
        self._start = time.monotonic()
        self._drawn = 0.0

    def advance(self, n: int = 1) -> None:
        """Count n more items; redraw if it is time to."""
        self.done += n
        if self.enabled:
            now = time.monotonic()
            if now - self._drawn >= _REDRAW_S:
                self._drawn = now
                self._draw(now)

    def _draw(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self._start, 1e-6)
        rate = self.done / elapsed
        text = f"{self.label}  {self.done:,}"
        if self.total:
            shown = max(self.total, self.done)
            text += f"/{shown:,} ({100 * self.done / shown:.0f}%)"
        text += f"  {rate:,.0f}/s"
        if self.total and rate > 0 and not final:
            text += f"  {_clock(max(self.total - self.done, 0) / rate)} left"
        else:
            text += f"  {'done in ' if final else ''}{_clock(elapsed)}"
        pad = max(self._width - len(text), 0)
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def finish(self) -> None:
        """Draw the final count and end the line (nothing when disabled)."""
        if self.enabled and self.done:
            self._draw(time.monotonic(), final=True)
            self.stream.write("\n")
            self.stream.flush()
        self._width = 0
