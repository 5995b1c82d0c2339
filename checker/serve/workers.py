"""Checking in worker processes: durable-rules is not thread-safe, so each process has its own engine.

The web process reads no incident itself: the request body goes to a worker, which reads it with
the command line's reader (the same located errors), validates, checks, and sends back the
results and the validated incidents.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import ParamSpec, TypeVar

from checker.check.checker import Checker, Result
from checker.core.errors import CheckerError, Problem
from checker.core.models import Incident
from checker.read.incidents import read_items, validate
from checker.rules.loader import load_rules

P = ParamSpec("P")
T = TypeVar("T")
SOURCE = "request"  # the name errors give the request body, as the command line gives a file name
# Incidents one request may hold: a supervisor's system sends one, a shift's handover a few
# hundred. A body of `{}` lines under the byte limit held 1.6 million, each rejected and listed.
MAX_REQUEST_INCIDENTS = 1_000

_checker: Checker | None = None


@dataclass(frozen=True)
class Checked:
    """What checking a request body gave: results, rejected items (located), warnings, incidents."""

    results: list[Result]
    rejected: list[tuple[str, list[Problem]]]
    warnings: list[str]
    incidents: list[Incident]


def _start(rules: Path | None, reference: Path | None) -> None:
    global _checker
    # Ctrl-C reaches the whole process group: the service stops its workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _checker = Checker(load_rules(rules, reference))


def _exit_with_parent(parent: int) -> None:
    # a service killed outright (SIGKILL, out of memory) cannot stop its workers: they notice
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _ready(pause: float) -> str:
    # the pause keeps this worker busy so that the pool starts the next one for the next call
    time.sleep(pause)
    assert _checker is not None
    return _checker.ruleset.digest


def check_body(checker: Checker, body: bytes, as_of: datetime, zone: tzinfo | None, single: bool) -> Checked:
    """Read, validate and check every incident of a request body, as `crimecheck check` does a file."""
    results: list[Result] = []
    rejected: list[tuple[str, list[Problem]]] = []
    warnings: list[str] = []
    incidents: list[Incident] = []
    first_line: dict[str, int | None] = {}
    if single and body.lstrip(b" \t\r\n").startswith(b"["):
        problem = Problem("expected one incident object here, not an array", file=SOURCE, line=1)
        return Checked([], [(f"{SOURCE}:1", [problem])], [], [])
    for item in read_items(SOURCE, io.BytesIO(body)):
        if item.index >= MAX_REQUEST_INCIDENTS:  # the request is refused whole: none of it is kept
            msg = (
                f"more than {MAX_REQUEST_INCIDENTS:,} incidents in one request: send them in several, "
                "or check a batch with `crimecheck audit`"
            )
            return Checked([], [(f"{SOURCE}:{item.line}", [Problem(msg, file=SOURCE, line=item.line)])], [], [])
        try:
            if single and item.problem is None and (item.index > 0 or not isinstance(item.data, dict)):
                raise CheckerError([Problem("expected one incident object here", file=SOURCE, line=item.line)])
            incident, warns = validate(item, zone)
            rid = incident.incident_id
            if rid in first_line:
                msg = f"duplicate incident_id {rid!r} in this request; the first was checked"
                raise CheckerError([Problem(msg, file=item.source, line=item.line, record=rid, field="incident_id")])
            first_line[rid] = item.line
            result = checker.check(incident, as_of)
        except CheckerError as exc:
            problems = [p if p.file else replace(p, file=item.source, line=item.line) for p in exc.problems]
            rejected.append((item.where, problems))
            continue
        warnings.extend(warns)
        results.append(result)
        incidents.append(incident)
    return Checked(results, rejected, warnings, incidents)


def _check(body: bytes, as_of: datetime, zone: tzinfo | None, single: bool) -> Checked:
    assert _checker is not None, "worker started without its engine"
    return check_body(_checker, body, as_of, zone, single)


class Workers:
    """A pool of checking processes, started at once and restarted if one dies."""

    def __init__(self, count: int, rules: Path | None, reference: Path | None) -> None:
        self.count = max(1, count)
        self._args = (rules, reference)
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the web process has threads, and a forked engine would share its state
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.count, mp_context=context, initializer=_start, initargs=self._args)

    def warm(self) -> str:
        """Start every worker and wait until each has loaded its rules; returns the rule set digest."""
        futures = [self._pool.submit(_ready, 0.3) for _ in range(self.count)]
        digests = {f.result() for f in futures}
        return digests.pop()

    def ready(self, timeout: float = 5.0) -> bool:
        """Whether a worker answers within `timeout` seconds."""
        try:
            self.submit_ready().result(timeout)
        except Exception:
            return False
        return True

    def submit_ready(self) -> Future[str]:
        """A call that a worker answers with its rule set digest."""
        return self._submit(_ready, 0.0)

    def check(self, body: bytes, as_of: datetime, zone: tzinfo | None, single: bool) -> Future[Checked]:
        """Check a request body in a worker."""
        return self._submit(_check, body, as_of, zone, single)

    def _submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                # a worker died (killed, out of memory): start a fresh pool for the next requests
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)
