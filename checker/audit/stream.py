"""Streaming a batch: numbering and de-duplicating items, sampling, chunks, and checking them here
or in worker processes, in input order."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from checker.audit.measures import CHUNK
from checker.audit.report_rows import Rendered, Renderer, joined
from checker.audit.rows import Queued, Settings, check_chunk, rejected_item
from checker.check.checker import Checker
from checker.core.errors import CheckerError, Problem
from checker.core.models import normalise_id
from checker.read.incidents import Item
from checker.read.seen import SeenIds
from checker.rules.loader import RuleSet, load_rules


def id_key(item: Item) -> int | None:
    """The `SeenIds.key` of a parsed item's incident id, as validation will read it; None when it
    has none (it will be rejected, or is not parsed yet)."""
    data = item.data
    rid = data.get("incident_id") if isinstance(data, dict) else None
    return SeenIds.key(normalise_id(rid)) if isinstance(rid, str) else None


def queue(items: Iterable[Item]) -> Iterator[Queued]:
    """Number the items and mark every repeat of an incident id as a duplicate.

    Items read without parsing (`read_items(parse=False)`) are left unmarked: `checked_chunks`
    marks them, in input order too, once the processes checking them have parsed them. A stream is
    one kind or the other, never both, or which of two items came first could not be told."""
    seen = SeenIds()
    kinds = set()  # parsed (True) or left unparsed (False); an item stopped by a problem is neither
    for index, item in enumerate(items):
        if item.problem is None:
            kinds.add(item.raw is None)
        if len(kinds) > 1:
            raise ValueError("a stream mixes parsed items with items left for the workers to parse")
        key = id_key(item)
        yield Queued(index, item, key is not None and seen.add_key(key))


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


# --- the garbage collector while checking ------------------------------------------------------
# Python's collector looks at the young objects each time 700 more have been made than freed. A
# chunk checked stage by stage keeps some 40,000 alive at once (its incidents, facts and results),
# so it looked at them hundreds of times a chunk: 0.06 ms an incident, a tenth of the audit
# (measured by gc.callbacks over 5,000 generated incidents; 0 ms with the threshold below). The
# objects are freed by reference counting when the chunk is done; what forms cycles is collected
# still, only less often. What was built before checking (rules, lexicon, engine) is frozen: no
# collection needs to look at it again.
CHECKING_GC_THRESHOLD = 100_000


def tune_gc_for_checking() -> tuple[int, int, int]:
    """Tune the collector for checking chunks; the thresholds it had."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(CHECKING_GC_THRESHOLD, *previous[1:])
    return previous


@contextlib.contextmanager
def checking_gc() -> Iterator[None]:
    """The collector tuned for checking chunks, as it was afterwards (what someone else froze
    before stays frozen, and then so does what this froze)."""
    frozen = gc.get_freeze_count()
    previous = tune_gc_for_checking()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if not frozen:
            gc.unfreeze()


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

    def run(self, chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int] = frozenset()) -> Rendered:
        """The chunk checked and rendered. Items left unparsed by the reader are parsed here; a
        repeat of an id earlier in the chunk is marked a duplicate here, and the keys of the
        others' ids are returned with the rows (`Rendered.ids`), so that the parent can tell which
        repeat an id of an earlier chunk; `repeats` are the indexes it has told so."""
        ids: list[tuple[int, int]] = []
        if any(q.item.raw is not None for q in chunk):
            here: set[int] = set()
            chunk = [_parsed(q, repeats, ids, here) for q in chunk]
        outcomes = check_chunk(self.checker, chunk, self.settings)
        rendered = self.renderer.render(outcomes, self.settings.window_s, widths_for)
        rendered.ids = ids
        return rendered


def _parsed(q: Queued, repeats: frozenset[int], ids: list[tuple[int, int]], here: set[int]) -> Queued:
    """An item left unparsed by the reader, parsed: a duplicate when its index is in `repeats` or
    its id's key in `here` (the chunk's ids so far); else its key noted in `ids` and `here`."""
    if q.item.raw is None:
        return q
    item = q.item.parsed()
    key = id_key(item)
    if key is not None and key in here:
        return Queued(q.index, item, True)
    if key is not None:
        ids.append((q.index, key))
        here.add(key)
    return Queued(q.index, item, q.index in repeats)


def _repeats(rendered: Rendered, seen: SeenIds) -> frozenset[int]:
    """The items of a chunk whose ids were seen in an earlier chunk."""
    return frozenset(index for index, key in rendered.ids if seen.add_key(key))


_WORKER: _Process | None = None
_START_ERROR = "not started"  # why _WORKER is None, for the parent


def _process(ruleset: RuleSet, evaluator: str, settings: Settings) -> _Process:
    """What a process checking a batch needs, the lexicon and its prefilter made ready at once."""
    ruleset.prepare_screen()
    checker = Checker(ruleset, evaluator=evaluator)  # type: ignore[arg-type]
    return _Process(checker, Renderer(settings.include_narrative), settings)


def _start_worker(rules: Path, reference: Path | None, evaluator: str, settings: Settings) -> None:
    global _WORKER, _START_ERROR
    try:
        _WORKER = _process(load_rules(rules, reference), evaluator, settings)
    except Exception as exc:  # said with each chunk sent here: a failed initializer only breaks the pool
        _START_ERROR = str(exc) or type(exc).__name__
        return
    tune_gc_for_checking()  # for the life of the process, which only checks


def _work(chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int]) -> Rendered:
    if _WORKER is None:
        raise _cannot_start(_START_ERROR)
    return _WORKER.run(chunk, widths_for, repeats)


def _start_error() -> str | None:
    """Why this worker could not start, or None: asked of a fresh worker after a pool broke."""
    return None if _WORKER is not None else _START_ERROR


def _cannot_start(why: str) -> CheckerError:
    return CheckerError([Problem(f"the audit's worker processes cannot start: {why}; --workers 1 checks here")])


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
    sent, which files still need widths from their first rows.

    Items read without parsing are parsed where they are checked, where a repeat within the chunk
    is marked; the chunk's other ids come back with the rows and are de-duplicated here, chunk by
    chunk in input order. A chunk holding an id of an earlier chunk is checked again with its
    repeats marked as duplicates (rare: a batch holding the same incident twice), so the report is
    the one `queue` would have given."""
    seen = SeenIds()
    if workers <= 1:
        here = _process(ruleset, evaluator, settings)
        with checking_gc():
            for chunk in batches:
                widths_for = wanted()
                rendered = here.run(chunk, widths_for)
                again = _repeats(rendered, seen)
                yield here.run(chunk, widths_for, again) if again else rendered
        return
    pool = _Workers(workers, (ruleset.directory, ruleset.reference.directory, evaluator, settings), seen)
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

    def __init__(self, workers: int, start: tuple[Any, ...], seen: SeenIds) -> None:
        self.workers = workers
        self.start = start
        self.settings: Settings = start[3]
        self.renderer = Renderer(self.settings.include_narrative)
        self.seen = seen
        self.pool = self._new(workers)
        self.pending: deque[tuple[list[Queued], frozenset[str], frozenset[int], Future[Rendered]]] = deque()

    def _new(self, workers: int) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=self.start)

    def waiting(self) -> int:
        return len(self.pending)

    def submit(self, chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int] = frozenset()) -> None:
        self.pending.append((chunk, widths_for, repeats, self._sent(chunk, widths_for, repeats)))

    def _sent(self, chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int]) -> Future[Rendered]:
        try:
            return self.pool.submit(_work, chunk, widths_for, repeats)
        except BrokenProcessPool:
            return _broken()

    def next(self) -> Rendered:
        """The next chunk in input order, checked again with its repeats marked when it has any."""
        chunk, widths_for, repeats, future = self.pending.popleft()
        rendered = self._result(chunk, widths_for, repeats, future)
        again = frozenset() if repeats else _repeats(rendered, self.seen)
        if again:
            self.pending.appendleft((chunk, widths_for, again, self._sent(chunk, widths_for, again)))
            return self.next()
        return rendered

    def _result(
        self, chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int], future: Future[Rendered]
    ) -> Rendered:
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._probe()  # a pool whose workers die as they start is not an incident's doing
        outcome = joined(self._isolate(chunk, widths_for, repeats), self.settings.window_s)
        self.pool = self._new(self.workers)
        lost = [(c, w, r) for c, w, r, _ in self.pending]
        self.pending.clear()
        for c, w, r in lost:
            self.submit(c, w, r)
        return outcome

    def _probe(self) -> None:
        """Raise the reason when a fresh worker cannot start (else every incident would be tried
        alone in a process of its own, each rejected as if the engine had aborted)."""
        probe = self._new(1)
        try:
            why = probe.submit(_start_error).result()
        except BrokenProcessPool:
            why = "they die as they start (out of memory?)"
        finally:
            probe.shutdown(wait=False, cancel_futures=True)
        if why is not None:
            raise _cannot_start(why)

    def _isolate(self, chunk: list[Queued], widths_for: frozenset[str], repeats: frozenset[int]) -> list[Rendered]:
        """Check the chunk in a process of its own; when that dies too, halve it, down to one item."""
        alone = self._new(1)
        try:
            return [alone.submit(_work, chunk, widths_for, repeats).result()]
        except BrokenProcessPool:
            pass
        finally:
            alone.shutdown(wait=False, cancel_futures=True)
        if len(chunk) > 1:
            half = len(chunk) // 2
            return self._isolate(chunk[:half], widths_for, repeats) + self._isolate(chunk[half:], widths_for, repeats)
        message = "internal error: the process checking this incident died (the rule engine aborted); not checked"
        ids: list[tuple[int, int]] = []
        q = _parsed(chunk[0], repeats, ids, set())  # parsed here, so the rejection names the incident
        problem = Problem(message, file=q.item.source, line=q.item.line)
        outcome = rejected_item(q, self.settings, [problem])
        rejected = self.renderer.render([outcome], self.settings.window_s, widths_for)
        rejected.ids = ids  # its id still counts: a later item with the same id is its repeat
        return [rejected]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _broken() -> Future[Rendered]:
    future: Future[Rendered] = Future()
    future.set_exception(BrokenProcessPool("a worker process died"))
    return future
