"""Streaming a batch: numbering and de-duplicating items, sampling, chunks, and checking them here
or in worker processes, in input order."""

from __future__ import annotations

import heapq
import multiprocessing
import random
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from hashlib import blake2b
from itertools import islice
from pathlib import Path
from typing import Any

from checker.audit.measures import CHUNK
from checker.audit.report_rows import Rendered, Renderer, joined
from checker.audit.rows import Queued, Settings, check_chunk, rejected_item
from checker.check.checker import Checker
from checker.core.errors import Problem
from checker.core.models import normalise_id
from checker.read.incidents import Item
from checker.rules.loader import RuleSet, load_rules


class SeenIds:
    """Incident ids seen so far, 8 bytes each: a sorted array of 64-bit hashes plus a small buffer.

    Two different ids share a hash with odds of about n^2 / 2^65 (1 in 37 million for a million
    incidents); the cost of that would be one incident wrongly rejected as a duplicate, named as such.
    """

    _BUFFER = 1 << 16

    def __init__(self) -> None:
        self._sorted = array("Q")
        self._recent: set[int] = set()

    def add(self, incident_id: str) -> bool:
        """Record an id; True when it was seen before."""
        h = int.from_bytes(blake2b(incident_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
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


def queue(items: Iterable[Item]) -> Iterator[Queued]:
    """Number the items and mark every repeat of an incident id as a duplicate."""
    seen = SeenIds()
    for index, item in enumerate(items):
        data = item.data
        rid = data.get("incident_id") if isinstance(data, dict) else None
        duplicate = isinstance(rid, str) and seen.add(normalise_id(rid))  # as validation will read it
        yield Queued(index, item, duplicate)


def reservoir(stream: Iterable[Queued], size: int, seed: int) -> tuple[list[Queued], int]:
    """A simple random sample of `size` items (algorithm R), in input order, and how many were read."""
    rng = random.Random(seed)
    sample: list[Queued] = []
    read = 0
    for q in stream:
        read += 1
        if len(sample) < size:
            sample.append(q)
        else:
            j = rng.randrange(read)
            if j < size:
                sample[j] = q
    sample.sort(key=lambda q: q.index)
    return sample, read


def chunks(stream: Iterable[Queued], size: int = CHUNK) -> Iterator[list[Queued]]:
    """Consecutive chunks of a stream."""
    it = iter(stream)
    while chunk := list(islice(it, size)):
        yield chunk


# --- worker processes ---------------------------------------------------------------------------
# durable-rules is not thread-safe and never releases the GIL, so the checking scales with
# processes: each builds its own rule set and engine once, then checks the chunks it is sent and
# renders their report rows and tally itself, so the parent only appends text and adds up counts.
Wanted = Callable[[], frozenset[str]]  # the report files whose first rows still set column widths


@dataclass
class _Process:
    """What checking and rendering needs in one process: built once, used for every chunk."""

    checker: Checker
    renderer: Renderer
    settings: Settings

    def run(self, chunk: list[Queued], widths_for: frozenset[str]) -> Rendered:
        outcomes = check_chunk(self.checker, chunk, self.settings)
        return self.renderer.render(outcomes, self.settings.window_s, widths_for)


_WORKER: _Process | None = None


def _start_worker(rules: Path, reference: Path | None, evaluator: str, settings: Settings) -> None:
    global _WORKER
    checker = Checker(load_rules(rules, reference), evaluator=evaluator)  # type: ignore[arg-type]
    _WORKER = _Process(checker, Renderer(settings.include_narrative), settings)


def _work(chunk: list[Queued], widths_for: frozenset[str]) -> Rendered:
    assert _WORKER is not None, "worker not started"
    return _WORKER.run(chunk, widths_for)


def checked_chunks(
    batches: Iterable[list[Queued]],
    workers: int,
    ruleset: RuleSet,
    evaluator: str,
    settings: Settings,
    wanted: Wanted = frozenset,
) -> Iterator[Rendered]:
    """Each chunk checked and rendered (its rows and tally), in input order, here or by workers.

    At most two chunks per worker are in flight, so memory does not grow with the batch (a plain
    Pool.imap would read the whole input ahead); results are taken back in the order they were
    sent, so the report is the same whatever the number of workers. A worker that dies (the C
    engine can abort the process) is noticed: see `_Workers`. `wanted` says, when a chunk is
    sent, which files still need widths from their first rows."""
    if workers <= 1:
        here = _Process(Checker(ruleset, evaluator=evaluator), Renderer(settings.include_narrative), settings)  # type: ignore[arg-type]
        for chunk in batches:
            yield here.run(chunk, wanted())
        return
    pool = _Workers(workers, (ruleset.directory, ruleset.reference.directory, evaluator, settings))
    try:
        for chunk in batches:
            pool.submit(chunk, wanted())
            if pool.waiting() >= 2 * workers:
                yield pool.next()
        while pool.waiting():
            yield pool.next()
    finally:
        pool.close()


class _Workers:
    """Worker processes that check chunks, and what to do when one of them dies.

    When a worker dies, every chunk in flight is lost with it (concurrent.futures says so at once;
    a multiprocessing.Pool would wait for ever). The chunk due next is then checked again on its
    own, in a fresh process, halving it until the items that kill a worker are found: those are
    rejected as an internal error naming the incident, the others are checked. The chunks behind
    it are sent again to a fresh pool."""

    def __init__(self, workers: int, start: tuple[Any, ...]) -> None:
        self.workers = workers
        self.start = start
        self.settings: Settings = start[3]
        self.renderer = Renderer(self.settings.include_narrative)
        self.pool = self._new(workers)
        self.pending: deque[tuple[list[Queued], frozenset[str], Future[Rendered]]] = deque()

    def _new(self, workers: int) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=self.start)

    def waiting(self) -> int:
        return len(self.pending)

    def submit(self, chunk: list[Queued], widths_for: frozenset[str]) -> None:
        try:
            self.pending.append((chunk, widths_for, self.pool.submit(_work, chunk, widths_for)))
        except BrokenProcessPool:
            self.pending.append((chunk, widths_for, _broken()))

    def next(self) -> Rendered:
        chunk, widths_for, future = self.pending.popleft()
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        self.pool.shutdown(wait=False, cancel_futures=True)
        outcome = joined(self._isolate(chunk, widths_for), self.settings.window_s)
        self.pool = self._new(self.workers)
        lost = [(c, w) for c, w, _ in self.pending]
        self.pending.clear()
        for c, w in lost:
            self.submit(c, w)
        return outcome

    def _isolate(self, chunk: list[Queued], widths_for: frozenset[str]) -> list[Rendered]:
        """Check the chunk in a process of its own; when that dies too, halve it, down to one item."""
        alone = self._new(1)
        try:
            return [alone.submit(_work, chunk, widths_for).result()]
        except BrokenProcessPool:
            pass
        finally:
            alone.shutdown(wait=False, cancel_futures=True)
        if len(chunk) > 1:
            half = len(chunk) // 2
            return self._isolate(chunk[:half], widths_for) + self._isolate(chunk[half:], widths_for)
        message = "internal error: the process checking this incident died (the rule engine aborted); not checked"
        q = chunk[0]
        problem = Problem(message, file=q.item.source, line=q.item.line)
        rejected = rejected_item(q, self.settings, [problem])
        return [self.renderer.render([rejected], self.settings.window_s, widths_for)]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _broken() -> Future[Rendered]:
    future: Future[Rendered] = Future()
    future.set_exception(BrokenProcessPool("a worker process died"))
    return future
