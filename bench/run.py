"""The benchmark: `python -m bench.run` measures crimecheck on generated batches.

For each batch size it reports, as medians of --repeat runs:
- end to end: `crimecheck audit` (read, validate, evaluate, write the report) in a child process,
  incidents/s and the peak RSS of the largest process;
- two floors on the same batch: reading and parsing alone, and the same audit with the
  pure-Python reference evaluator instead of the engine (ratios printed);
- the split of one process's time between parsing, validation, fact building (with the narrative
  screen), the engine and the findings, measured in-process on the first --split-size incidents.

Figures are written to bench/RESULTS.md with the machine, the command and the date.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2025-06-01T00:00:00+00:00"


def _batch(size: int, seed: int, folder: Path) -> Path:
    """The generated batch of this size, made once and kept in `folder`."""
    path = folder / f"batch-{seed}-{size}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        subprocess.run(
            [sys.executable, "-m", "bench.generate", "--count", str(size), "--seed", str(seed), "--out", str(tmp)],
            cwd=ROOT,
            check=True,
        )
        tmp.rename(path)
    return path


def _child(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, the largest process) of one child command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(after, before)


def _audit(batch: Path, out: Path, workers: int, evaluator: str) -> list[str]:
    return [
        sys.executable, "-m", "checker", "audit", str(batch), "--out", str(out), "--as-of", AS_OF,
        "--quiet", "--workers", str(workers), "--evaluator", evaluator,
    ]  # fmt: skip


def _parse_only(batch: Path) -> list[str]:
    code = "import sys; from checker.read.incidents import read_items\nfor _ in read_items(sys.argv[1]): pass"
    return [sys.executable, "-c", code, str(batch)]


def split(batch: Path, limit: int) -> dict[str, float]:
    """Seconds per stage for the first `limit` incidents, checked in this process by the engine."""
    from checker.check.checker import Checker
    from checker.check.facts import build_facts
    from checker.core.errors import CheckerError
    from checker.core.times import parse_time
    from checker.read.incidents import read_items, validate
    from checker.rules.loader import load_rules

    ruleset = load_rules()
    checker = Checker(ruleset)
    as_of = parse_time(AS_OF)
    stages = dict.fromkeys(("parse", "validate", "narrative screen", "facts", "engine", "findings"), 0.0)
    screen = ruleset.screen  # loaded before the clock starts
    assert screen is not None
    clock = time.perf_counter
    items = read_items(batch)
    for _ in range(limit):
        t0 = clock()
        item = next(items, None)
        t1 = clock()
        if item is None:
            break
        try:
            incident, _ = validate(item)
        except CheckerError:
            continue
        t2 = clock()
        hits = screen(incident.narrative) if incident.narrative else []
        t3 = clock()
        facts = build_facts(incident, ruleset.reference, as_of, lambda _text, found=hits: found).facts  # type: ignore[misc]
        t4 = clock()
        checker.hits(facts)
        t5 = clock()
        stages["parse"] += t1 - t0
        stages["validate"] += t2 - t1
        stages["narrative screen"] += t3 - t2
        stages["facts"] += t4 - t3
        stages["engine"] += t5 - t4
    # findings: the rest of `check` (building facts and hits again is subtracted)
    items = read_items(batch)
    incidents = []
    for item, _ in zip(items, range(limit), strict=False):
        try:
            incidents.append(validate(item)[0])
        except CheckerError:
            continue
    t0 = clock()
    for incident in incidents:
        checker.check(incident, as_of)
    whole = clock() - t0
    stages["findings"] = max(0.0, whole - stages["narrative screen"] - stages["facts"] - stages["engine"])
    return stages


def main() -> None:
    """Run the benchmark and write bench/RESULTS.md."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="batch sizes (default: 10k, 100k, 1M)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are reported")
    p.add_argument("--repeat-large", type=int, default=1, help="runs at sizes over 100k (default 1)")
    p.add_argument(
        "--floors-max", type=int, default=10_000_000, help="measure the two floors only up to this batch size"
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="audit worker processes")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--split-size", type=int, default=5000, help="incidents for the stage split")
    p.add_argument("--data", type=Path, default=ROOT / "bench" / "out", help="where batches are kept")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = p.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        batch = _batch(size, args.seed, args.data)
        repeat = args.repeat if size <= 100_000 else args.repeat_large
        measured: dict[str, list[tuple[float, int]]] = {"audit": [], "parse": [], "reference": []}
        for _ in range(repeat):
            measured["audit"].append(_child(_audit(batch, args.data / "report", args.workers, "engine")))
            if size <= args.floors_max:
                measured["parse"].append(_child(_parse_only(batch)))
                measured["reference"].append(_child(_audit(batch, args.data / "report-ref", args.workers, "reference")))
        med = {k: statistics.median(w for w, _ in v) if v else float("nan") for k, v in measured.items()}
        rss = max(r for _, r in measured["audit"])
        row = {
            "size": size,
            "audit_s": med["audit"],
            "audit_rate": size / med["audit"],
            "parse_rate": size / med["parse"],
            "reference_rate": size / med["reference"],
            "rss_mib": rss / 1024,
            "runs": repeat,
        }
        rows.append(row)
        print(
            f"{size:>9,}: audit {row['audit_rate']:,.0f}/s ({med['audit']:.1f} s),"
            f" parse-only {row['parse_rate']:,.0f}/s, reference {row['reference_rate']:,.0f}/s,"
            f" peak RSS {row['rss_mib']:.0f} MiB, runs {repeat}",
            flush=True,
        )
    stages = split(_batch(min(int(s) for s in args.sizes.split(",")), args.seed, args.data), args.split_size)
    write_results(args, rows, stages)


def _n(value: float, spec: str = ",.0f") -> str:
    """A figure, or "not measured" for a floor skipped at this size."""
    return "not measured" if value != value else format(value, spec)


def write_results(args: argparse.Namespace, rows: list[dict[str, float]], stages: dict[str, float]) -> None:
    """Append this run to bench/RESULTS.md."""
    total = sum(stages.values()) or 1.0
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; workers {args.workers}.",
        f"Command: `python -m bench.run --sizes {args.sizes} --repeat {args.repeat} --repeat-large {args.repeat_large}"
        f" --workers {args.workers}` (medians of the runs shown).",
        "",
        "| incidents | audit wall | audit incidents/s | peak RSS (largest process) | parse-only incidents/s |"
        " reference evaluator incidents/s | engine / reference | audit / parse-only | runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['audit_s']:.1f} s | {r['audit_rate']:,.0f} | {r['rss_mib']:.0f} MiB |"
            f" {_n(r['parse_rate'])} | {_n(r['reference_rate'])} | {_n(r['audit_rate'] / r['reference_rate'], '.2f')} |"
            f" {_n(r['audit_rate'] / r['parse_rate'], '.3f')} | {r['runs']:.0f} |"
        )
    lines += [
        "",
        f"Split of one process's time over {args.split_size:,} incidents (engine path, no report writing):",
        "",
        "| stage | share | ms per incident |",
        "|---|---|---|",
    ]
    n = args.split_size
    lines += [f"| {k} | {v / total:.0%} | {v / n * 1000:.3f} |" for k, v in stages.items()]
    lines.append("")
    previous = args.results.read_text() if args.results.exists() else "# Benchmark results\n\n"
    head, sep, rest = previous.partition("\n## ")
    args.results.write_text(head.rstrip() + "\n\n" + "\n".join(lines) + ("\n## " + rest if sep else ""))
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
