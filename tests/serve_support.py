"""A real `crimecheck serve` process on loopback, on SQLite or on the PostgreSQL of .ci/postgres-start."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from checker.serve.auth import ROLES, digest, new_token

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "CRIMECHECK_TEST_PG_URL"
PORTS_ENV = "CRIMECHECK_TEST_PORTS"  # e.g. 8731-8739 on a shared machine; default: any free port
MAX_BODY = 200_000


def free_port() -> int:
    """A free loopback port: from $CRIMECHECK_TEST_PORTS when set, else one the system picks."""
    wanted = os.environ.get(PORTS_ENV)
    candidates = [0]
    if wanted:
        low, _, high = wanted.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in {wanted}")


def postgres_url() -> str:
    """The test PostgreSQL's URL; skips locally without one, fails under CI (a missing database is a failure)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set under CI: .ci/run starts PostgreSQL with .ci/postgres-start")
        pytest.skip(f'no PostgreSQL ({PG_ENV} unset; `eval "$(.ci/postgres-start)"` starts one)')
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL, dropped afterwards."""
    import psycopg

    admin = postgres_url()
    name = "cc_" + secrets.token_hex(6)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Server:
    """A running service, its tokens by role, and where it logs."""

    url: str
    database: str
    tokens: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, role: str | None = None, **kwargs: Any) -> httpx.Response:
        """One request, with the bearer token of `role` (none when None)."""
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


@contextmanager
def running_server(workdir: Path, database: str, *extra: str) -> Iterator[Server]:
    """Start `crimecheck serve` on a free loopback port and stop it afterwards."""
    tokens: dict[str, str] = {role: new_token() for role in ROLES}
    token_file = workdir / "tokens.yaml"
    token_file.write_text(
        "tokens:\n" + "".join(f"  - {{name: test-{r}, role: {r}, sha256: {digest(t)}}}\n" for r, t in tokens.items())
    )
    port = free_port()
    log = workdir / "server.log"
    command = [
        sys.executable,
        "-m",
        "checker",
        "serve",
        "--port",
        str(port),
        "--database",
        database,
        "--tokens",
        str(token_file),
        "--workers",
        "1",
        "--max-body",
        str(MAX_BODY),
        *extra,
    ]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", database, tokens, log, process)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped at start:\n{log.read_text()}")
            try:
                if httpx.get(server.url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
