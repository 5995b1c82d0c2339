"""Load test of `crimecheck serve`: `python -m bench.load_serve` against a local server it starts.

1. One client, one incident at a time: POST /v1/check latency (p50, p99; the target is p99 < 20 ms).
2. 16 concurrent clients for at most --seconds, a bounded number of requests: each client sends
   POST /v1/check and PUT /v1/incidents in turn. The PUTs carry versions 1..V of --incidents
   incidents in a shuffled order spread over all clients, so versions of one incident arrive out
   of order and at once. Afterwards every incident's stored version must be the newest one the
   service acknowledged: nothing lost, nothing older on top.

Any error (a status other than 200, a transport error) is counted and makes the run fail.
Figures go into bench/RESULTS.md under "Service load".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from checker.serve.auth import digest, new_token

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "incidents" / "c2-cancelled-on-withdrawal.json"
SECTION = "## Service load (`crimecheck serve`, issue 11)"
AS_OF = "2025-02-01T00:00:00Z"


@dataclass
class Tally:
    """Latencies by endpoint, and errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"check": [], "put": []})
    errors: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # newest version the service stored, per incident
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


@contextmanager
def server(port: int, workers: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A `crimecheck serve` process on a fresh SQLite file, with a system and a supervisor token."""
    with tempfile.TemporaryDirectory(prefix="crimecheck-load-") as tmp:
        tokens = {"system": new_token(), "supervisor": new_token()}
        token_file = Path(tmp) / "tokens.yaml"
        token_file.write_text(
            "tokens:\n"
            + "".join(f"  - {{name: load-{r}, role: {r}, sha256: {digest(t)}}}\n" for r, t in tokens.items())
        )
        command = [sys.executable, "-m", "checker", "serve", "--port", str(port), "--workers", str(workers)]
        command += ["--database", str(Path(tmp) / "load.db"), "--tokens", str(token_file)]
        with open(Path(tmp) / "server.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    raise SystemExit("the server stopped:\n" + (Path(tmp) / "server.log").read_text())
                try:
                    if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not become ready")
                time.sleep(0.2)
            yield url, tokens
        finally:
            process.terminate()
            process.wait(30)


def single_client(url: str, token: str, body: bytes, count: int) -> list[float]:
    """Latencies of `count` checks of one incident, one after another (after a warm-up)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for n in range(count + 30):
            started = time.perf_counter()
            answer = client.post("/v1/check", params={"as_of": AS_OF}, content=body)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200:
                raise SystemExit(f"check failed: {answer.status_code} {answer.text[:200]}")
            if n >= 30:
                out.append(elapsed)
    return out


def concurrent(
    url: str, tokens: dict[str, str], base: dict[str, Any], args: argparse.Namespace
) -> tuple[Tally, float, dict[str, int]]:
    """16 (--clients) clients, each alternating a check and a versioned push, for a bounded run."""
    sends = [(f"LOAD-{i:04d}", v) for i in range(args.incidents) for v in range(1, args.versions + 1)]
    random.Random(11).shuffle(sends)
    shares = [sends[c :: args.clients] for c in range(args.clients)]
    tally = Tally()
    stop_at = time.monotonic() + args.seconds
    check_body = json.dumps(base).encode()

    def client(work: list[tuple[str, int]]) -> None:
        with (
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['system']}"}, timeout=60) as http,
        ):
            for iid, version in work:
                if time.monotonic() > stop_at:
                    return
                for kind in ("check", "put"):
                    started = time.perf_counter()
                    try:
                        if kind == "check":
                            answer = http.post("/v1/check", params={"as_of": AS_OF}, content=check_body)
                        else:
                            body = json.dumps({**base, "incident_id": iid, "version": version}).encode()
                            answer = http.put(f"/v1/incidents/{iid}", content=body)
                    except httpx.HTTPError as exc:
                        with tally.lock:
                            tally.errors.append(f"{kind}: {type(exc).__name__}")
                        continue
                    elapsed = time.perf_counter() - started
                    with tally.lock:
                        tally.latencies[kind].append(elapsed)
                        if answer.status_code != 200:
                            tally.errors.append(f"{kind}: HTTP {answer.status_code}")
                        elif kind == "put":
                            status = answer.json()["status"]
                            tally.statuses[status] = tally.statuses.get(status, 0) + 1
                            if status == "stored":
                                tally.acked[iid] = max(tally.acked.get(iid, 0), version)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stored: dict[str, int] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['supervisor']}"}) as http:
        for iid in tally.acked:
            stored[iid] = http.get(f"/v1/incidents/{iid}").json()["version"]
    return tally, wall, stored


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write bench/RESULTS.md."""
    p = argparse.ArgumentParser(prog="python -m bench.load_serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8735)
    p.add_argument("--workers", type=int, default=2, help="the server's checking processes (default 2)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--incidents", type=int, default=200, help="incidents pushed in versions")
    p.add_argument("--versions", type=int, default=30, help="versions of each incident (bounds the requests)")
    p.add_argument("--seconds", type=float, default=60.0, help="stop sending after this long")
    p.add_argument("--single", type=int, default=500, help="sequential checks for the one-client latency")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    base: dict[str, Any] = json.loads(FIXTURE.read_text())
    load = os.getloadavg()  # the machine is shared: say how busy it was
    with server(args.port, args.workers) as (url, tokens):
        single = single_client(url, tokens["supervisor"], json.dumps(base).encode(), args.single)
        tally, wall, stored = concurrent(url, tokens, base, args)
    lost = {i: (v, stored.get(i)) for i, v in tally.acked.items() if stored.get(i) != v}
    planned = args.incidents * args.versions
    sent_puts = len(tally.latencies["put"])
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores, load average {load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at "
        f"the end; Python {platform.python_version()}; server `--workers {args.workers}`, "
        f"SQLite (WAL); clients on the same machine. Command: `python -m bench.load_serve --clients {args.clients} "
        f"--incidents {args.incidents} --versions {args.versions} --seconds {args.seconds:g}`.",
        "",
        "| run | endpoint | requests | requests/s | p50 | p99 |",
        "|---|---|---|---|---|---|",
        f"| 1 client, sequential | POST /v1/check | {len(single):,} | {len(single) / sum(single):,.0f} | "
        f"{percentile(single, 50):.1f} ms | {percentile(single, 99):.1f} ms |",
    ]
    for kind, name in (("check", "POST /v1/check"), ("put", "PUT /v1/incidents/{id}")):
        values = tally.latencies[kind]
        lines.append(
            f"| {args.clients} clients, {wall:.1f} s | {name} | {len(values):,} | {len(values) / wall:,.0f} | "
            f"{percentile(values, 50):.1f} ms | {percentile(values, 99):.1f} ms |"
        )
    verdict = "met" if percentile(single, 99) < 20 else "**missed**"
    lines += [
        "",
        f"Errors: {len(tally.errors)}. Pushes: {sent_puts:,} of {planned:,} planned "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(tally.statuses.items()))}). "
        f"Incidents whose stored version is not the newest stored: {len(lost)} of {len(tally.acked)}. "
        f"Single-client p99 target (< 20 ms): {verdict}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        previous = args.results.read_text() if args.results.exists() else "# Benchmark results\n"
        head, sep, rest = previous.partition(SECTION + "\n")
        intro = (
            "\n16 clients against a local `crimecheck serve` (bench/load_serve.py): latency of `POST /v1/check` "
            "and of versioned `PUT /v1/incidents`, versions of each incident sent out of order, and a check "
            "that every incident ends at its newest version. Newest run first.\n\n"
        )
        if sep:
            body = rest.split("### ", 1)
            kept = "### " + body[1] if len(body) > 1 else ""
            args.results.write_text(head + SECTION + "\n" + intro + text + "\n" + kept)
        else:
            args.results.write_text(previous.rstrip() + "\n\n" + SECTION + "\n" + intro + text)
        print(f"written to {args.results}")
    if tally.errors or lost:
        print(f"FAILED: {len(tally.errors)} errors {tally.errors[:5]}, lost or out-of-order: {lost}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
