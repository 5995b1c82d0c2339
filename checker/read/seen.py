"""Incident ids seen so far in a batch, to find duplicates in bounded memory (8 bytes an id):
`check` and `audit` read every batch through one."""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from hashlib import blake2b


class SeenIds:
    """Incident ids seen so far, 8 bytes each: a sorted array of 64-bit hashes plus a small buffer.

    Two different ids share a hash with odds of about n^2 / 2^65 (1 in 37 million for a million
    incidents); the cost of that would be one incident wrongly rejected as a duplicate, named as such.
    """

    _BUFFER = 1 << 16

    def __init__(self) -> None:
        self._sorted = array("Q")
        self._recent: set[int] = set()

    @staticmethod
    def key(incident_id: str) -> int:
        """The hash an id is kept as."""
        return int.from_bytes(blake2b(incident_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")

    def add(self, incident_id: str) -> bool:
        """Record an id; True when it was seen before."""
        return self.add_key(self.key(incident_id))

    def add_key(self, h: int) -> bool:
        """Record an id by its `key`; True when it was seen before."""
        if h in self._recent:
            return True
        i = bisect_left(self._sorted, h)
        if i < len(self._sorted) and self._sorted[i] == h:
            return True
        self._recent.add(h)
        if len(self._recent) >= self._BUFFER:
            # merged by streaming both sorted runs, so the peak is two arrays, never a list of ints
            self._sorted = array("Q", heapq.merge(self._sorted, sorted(self._recent)))
            self._recent.clear()
        return False
