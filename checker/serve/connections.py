"""Connections that send no whole request in time are closed; the process may hold many.

uvicorn closes a connection that stays idle after a response (its keep-alive timeout), but not one
that opened and then sent part of a request head, or a body a few bytes at a time: each is held
for ever. With the usual limit of 1,024 open files, about a thousand such connections from any
machine that can reach the port (no token is needed to open one) left the service refusing every
new connection, `/healthz` included, for as long as they were held. Here a request, head and body,
must arrive within `--request-timeout` seconds (30: a 5 MB body on a 2 Mbit/s line takes 20 s) of
the connection opening or of the previous response; a request that has arrived may take as long
as its checking takes. And the process raises its soft limit on open files to the hard limit.

A force that puts the service where many machines can reach it should still front it with its
reverse proxy, which can limit connections per client (docs/serve.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_log = logging.getLogger("crimecheck.access")


def raise_open_files_limit() -> None:
    """Raise this process's soft limit on open files to its hard limit (never lower it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1_048_576 if hard == resource.RLIM_INFINITY else hard  # an unlimited hard limit: a large one
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # a system that refuses: keep what there is
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def timely_protocol(request_timeout: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request does not arrive in time."""

    class Timely(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection has its own time

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(request_timeout, self._late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _late(self) -> None:
            self._deadline = None
            cycle: Any = self.cycle
            # between requests (no head yet, or only part of one), or a body still arriving
            waiting = cycle is None or cycle.response_complete or cycle.more_body
            if waiting and not self.transport.is_closing():
                _log.warning("closed a connection that sent no whole request in %g s", request_timeout)
                self.transport.close()

    return Timely
