"""The benchmark: `python -m bench.run` measures crimecheck on generated batches.

First, in one process on the first --split-size incidents of the smallest batch:
- the floor: the engine alone (the same prebuilt facts through `evaluate`) and the narrative
  screen alone (the same narratives), and the audit's own loop (one worker, report rows, CSV
  writing and tally included) as a ratio to their sum: 5 rounds, each measuring the three in
  turn, and the median of the rounds' ratios (and of each figure);
- the split of that loop between every stage, each timed in the same run.

Then for each batch size and each --workers count, as medians of --repeat runs:
- end to end: `crimecheck audit` (read, validate, evaluate, write the report) in a child process,
  incidents/s and the peak RSS of the largest process, with the load average at each run;
- two other floors on the same batch (first worker count only): reading and parsing alone, and
  the audit with the pure-Python reference evaluator instead of the engine.

With --check-batch-sizes, `crimecheck check` over whole batches in both output formats (wall time
and peak RSS). Figures are written to bench/RESULTS.md with the machine, the command and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from checker.rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2025-06-01T00:00:00+00:00"
ROUNDS = 5  # of the audit loop and its two floors, measured in turn
T = TypeVar("T")


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


def _as_array(batch: Path) -> Path:
    """The same batch as one JSON array (the form a records system often exports), made once."""
    path = batch.with_suffix(".array.json")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(batch, "rb") as src, open(tmp, "wb") as out:
            out.write(b"[\n")
            for n, line in enumerate(src):
                out.write((b",\n" if n else b"") + line.rstrip(b"\n"))
            out.write(b"\n]\n")
        tmp.rename(path)
    return path


def check_times(runs: int) -> list[dict[str, Any]]:
    """`crimecheck check` on one incident in a new process each time, with and without a narrative,
    with the compiled-lexicon cache empty (cold) and in place (warm): CPU and wall seconds."""
    fixture = ROOT / "fixtures" / "incidents" / "rape-recorded-as-n100.json"
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        pycache = Path(tmp) / "pycache"
        bare = Path(tmp) / "no-narrative.json"
        bare.write_text(json.dumps({k: v for k, v in json.loads(fixture.read_text()).items() if k != "narrative"}))

        def env_for(cache: Path) -> dict[str, str]:
            # Python's own bytecode cached, as on a machine that has run crimecheck before (this
            # sandbox sets PYTHONDONTWRITEBYTECODE, which would compile every module of the checker
            # again in every run); `cache` is the checker's own
            env = {**os.environ, "CRIMECHECK_CACHE_DIR": str(cache), "PYTHONPYCACHEPREFIX": str(pycache)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            return env

        # one run, not counted, that fills the bytecode cache
        command = [sys.executable, "-m", "checker", "check", str(fixture), "--as-of", AS_OF]
        subprocess.run(command, cwd=ROOT, env=env_for(Path(tmp) / "first"), stdout=subprocess.DEVNULL, check=False)
        for label, path in (("with a narrative", fixture), ("without a narrative", bare)):
            for cache in ("cold", "warm"):
                cpu, wall = [], []
                for n in range(runs + 1):
                    # "cold": the checker's cache emptied
                    folder = Path(tmp) / (f"cache-{label[0]}-{n}" if cache == "cold" else "cache-warm")
                    env = env_for(folder)
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    started = time.perf_counter()
                    code = subprocess.run(
                        [sys.executable, "-m", "checker", "check", str(path), "--as-of", AS_OF],
                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False,
                    ).returncode  # fmt: skip
                    elapsed = time.perf_counter() - started
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    if code not in (0, 1):
                        raise SystemExit(f"crimecheck check {path} failed with exit {code}")
                    if cache == "warm" and n == 0:
                        continue  # the first run fills the cache
                    cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                    wall.append(elapsed)
                out.append(
                    {
                        "incident": label,
                        "cache": cache,
                        "cpu": statistics.median(cpu[:runs]),
                        "wall": statistics.median(wall[:runs]),
                        "runs": min(runs, len(cpu)),
                        "load": _load(),
                    }
                )
                print(f"check {label}, {cache} cache: {out[-1]['cpu']:.3f} s CPU, {out[-1]['wall']:.3f} s wall")
    return out


# Started from a small process, so the audit's peak RSS is its own: a child forked straight from
# this one (which holds the floor's facts) would carry this process's high-water mark across exec.
_LAUNCH = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _child(args: list[str], exits: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child command: the largest of that process and the
    workers it waited for (wait4's own figures, from a launcher, so nothing of this process counts).
    An exit code outside `exits` stops the benchmark."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "maxrss"
        start = time.perf_counter()
        code = subprocess.run(
            [sys.executable, "-c", _LAUNCH, str(report), *args], cwd=ROOT, check=False, stdout=subprocess.DEVNULL
        ).returncode
        wall = time.perf_counter() - start
        if code not in exits:
            raise SystemExit(f"{' '.join(args[1:])} failed with exit {code}")
        return wall, int(report.read_text())


def check_batches(sizes: list[int], seed: int, data: Path) -> list[dict[str, Any]]:
    """`crimecheck check` over whole batches, in each output format: wall time and peak RSS, which
    should not grow with the batch (a check holds no result until the end)."""
    out = []
    for size in sizes:
        batch = _batch(size, seed, data)
        for fmt in ("human", "json"):
            load = _load()
            command = [sys.executable, "-m", "checker", "check", str(batch), "--as-of", AS_OF, "--format", fmt]
            wall, rss = _child(command, exits=(0, 1))  # 1: the batch has findings
            out.append({"size": size, "format": fmt, "wall": wall, "rss_mib": rss / 1024, "load": load})
            print(f"check {size:,} incidents, {fmt}: {wall:.1f} s, peak RSS {rss / 1024:.0f} MiB ({load})", flush=True)
    return out


def _audit(batch: Path, out: Path, workers: int, evaluator: str) -> list[str]:
    return [
        sys.executable, "-m", "checker", "audit", str(batch), "--out", str(out), "--as-of", AS_OF,
        "--quiet", "--workers", str(workers), "--evaluator", evaluator,
    ]  # fmt: skip


def _parse_only(batch: Path) -> list[str]:
    code = "import sys; from checker.read.incidents import read_items\nfor _ in read_items(sys.argv[1]): pass"
    return [sys.executable, "-c", code, str(batch)]


STAGES = (
    "parse",
    "validate",
    "narrative screen",
    "facts",
    "engine",
    "findings and decisions",
    "outcome rows",
    "report rows",
    "writing",
    "tally",
)


class _Clock:
    """Seconds spent in each stage, timed around the functions the audit calls."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(STAGES, 0.0)

    def wrap(self, stage: str, fn: Callable[..., T]) -> Callable[..., T]:
        spent, clock = self.spent, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> T:
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[stage] += clock() - started

        return timed


def split(batch: Path, limit: int) -> tuple[dict[str, float], dict[str, float], int]:
    """For the first `limit` incidents, all checked in this process by the engine, as the audit
    checks them (one worker):

    - the seconds spent in each stage of the audit, every stage timed in the same run, chunk by
      chunk as the audit checks them (nested stages subtracted from the stage around them:
      validation, the screen, facts, the engine and outcome rows from the chunk's whole check);
    - the floor: the engine alone (the same prebuilt facts through `evaluate`) and the narrative
      screen alone (the same narratives), and the audit's own time without any timing inside it.

    Returns (stages, floor, incidents)."""
    from checker.audit import rows
    from checker.audit.measures import CHUNK
    from checker.audit.report import ReportWriter
    from checker.audit.report_rows import Renderer
    from checker.audit.rows import Queued, Settings, check_chunk
    from checker.audit.stream import checking_gc, chunks, queue
    from checker.audit.tally import Tally
    from checker.check import checker as checker_module
    from checker.check.checker import Checker
    from checker.core.times import parse_time
    from checker.narrative.cache import load_lexicon_cached
    from checker.read.incidents import read_items

    ruleset = load_rules()
    checker = Checker(ruleset)
    screen = ruleset.screen
    assert screen is not None
    screen("warm up: load the lexicon before the clock starts")
    settings = Settings(parse_time(AS_OF), ruleset.reference.recording_window_s)
    queued: list[Queued] = list(islice(queue(read_items(batch)), limit))

    # 1. the audit's own loop, untimed inside: the cost the floor is compared with
    renderer = Renderer(settings.include_narrative)

    def audit_loop(count: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            writer, tally = ReportWriter(Path(tmp) / "r"), Tally(window_s=settings.window_s)
            try:
                started = time.perf_counter()
                with checking_gc():  # as the audit checks
                    for chunk in chunks(islice(queue(read_items(batch)), count)):
                        outcomes = check_chunk(checker, chunk, settings)
                        rendered = renderer.render(outcomes, settings.window_s, writer.widths_wanted())
                        writer.write(rendered)
                        tally.merge(rendered.tally)
                return time.perf_counter() - started
            finally:
                writer.abort()

    # warm-up, not counted: first-use caches and compiled patterns, and the narrative prefilter,
    # which a process builds (or loads from disk) in a thread after its first 200 narratives
    load_lexicon_cached(ruleset.directory / "lexicon").prepare_prefilter()  # compiled once, kept on disk
    audit_loop(min(limit, 500))
    for thread in threading.enumerate():
        if thread.name == "prefilter":
            thread.join()

    # 2. the same loop with each stage timed
    clock = _Clock()
    facts_seen: list[list[dict[str, Any]]] = []
    narratives: list[tuple[str, frozenset[str]]] = []  # each text with the families already covered
    timed_screen = clock.wrap("narrative screen", screen)

    def screen_and_keep(text: str, covered: frozenset[str] = frozenset()) -> Any:
        narratives.append((text, covered))
        return timed_screen(text, covered)

    hits = clock.wrap("engine", checker.hits)

    def hits_and_keep(facts: list[dict[str, Any]]) -> Any:
        facts_seen.append(facts)
        return hits(facts)

    # the functions the audit calls, by the names it calls them through
    patched = [
        (rows, "validate", "validate"),
        (checker_module, "build_facts", "facts"),
        (rows, "_checked", "outcome rows"),
    ]
    saved = [vars(module)[name] for module, name, _ in patched]
    for (module, name, stage), fn in zip(patched, saved, strict=True):
        setattr(module, name, clock.wrap(stage, fn))
    ruleset.__dict__["screen"] = screen_and_keep
    checker.hits = hits_and_keep  # type: ignore[method-assign]
    item_time = 0.0
    adding = _Clock()  # the chunk's tally, counted inside the rendering
    tally_add = Tally.add
    Tally.add = adding.wrap("tally", tally_add)  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp, checking_gc():
            writer, tally = ReportWriter(Path(tmp) / "r"), Tally(window_s=settings.window_s)
            render = clock.wrap("report rows", renderer.render)
            write, merge = clock.wrap("writing", writer.write), clock.wrap("tally", tally.merge)
            items = islice(queue(read_items(batch)), limit)
            perf = time.perf_counter
            while True:
                t0 = perf()
                chunk = list(islice(items, CHUNK))
                t1 = perf()
                if not chunk:
                    break
                clock.spent["parse"] += t1 - t0
                outcomes = check_chunk(checker, chunk, settings)
                item_time += perf() - t1
                rendered = render(outcomes, settings.window_s, writer.widths_wanted())
                write(rendered)
                merge(rendered.tally)
            writer.abort()
    finally:
        for (module, name, _), fn in zip(patched, saved, strict=True):
            setattr(module, name, fn)
        ruleset.__dict__["screen"] = screen
        del checker.hits
        Tally.add = tally_add  # type: ignore[method-assign]
    spent = clock.spent
    spent["report rows"] -= adding.spent["tally"]
    spent["tally"] += adding.spent["tally"]
    spent["findings and decisions"] = item_time - sum(
        spent[s] for s in ("validate", "narrative screen", "facts", "engine", "outcome rows")
    )

    # 3. the floor: the engine and the screen alone, on the same facts and narratives (medians of 3)
    def engine_alone() -> float:
        started = time.perf_counter()
        for facts in facts_seen:
            checker.hits(facts)
        return time.perf_counter() - started

    def screen_alone() -> float:
        started = time.perf_counter()
        for text, covered in narratives:
            screen(text, covered)
        return time.perf_counter() - started

    # The machine's speed drifts by 20% within seconds (a virtual machine on shared hardware), so
    # the audit and its floor are measured in turns, and the ratio is the median of each round's.
    audits: list[float] = []
    engines: list[float] = []
    screens: list[float] = []
    for _ in range(ROUNDS):
        audits.append(audit_loop(limit))
        with checking_gc():  # the collector as the audit has it
            engines.append(engine_alone())
            screens.append(screen_alone())
    floor = {
        "audit": statistics.median(audits),
        "engine alone": statistics.median(engines),
        "screen alone": statistics.median(screens),
        "ratio": statistics.median(a / (e + s) for a, e, s in zip(audits, engines, screens, strict=True)),
    }
    return spent, floor, len(queued)


def main() -> None:
    """Run the benchmark and write bench/RESULTS.md."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="batch sizes (default: 10k, 100k, 1M)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are reported")
    p.add_argument("--repeat-large", type=int, default=1, help="runs at sizes over 100k (default 1)")
    p.add_argument(
        "--floors-max", type=int, default=10_000_000, help="measure the two floors only up to this batch size"
    )
    p.add_argument("--workers", default="1,2", help="audit worker processes, one or more (default 1,2)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--split-size", type=int, default=5000, help="incidents for the stage split and the floor")
    p.add_argument("--data", type=Path, default=ROOT / "bench" / "out", help="where batches are kept")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument(
        "--array-sizes", default="", help="sizes also audited once as one JSON array, e.g. 100000 (about 200 MB)"
    )
    p.add_argument("--check-runs", type=int, default=5, help="runs of cold and warm `check` (0 skips them)")
    p.add_argument(
        "--check-batch-sizes", default="", help="sizes also run once through `crimecheck check`, both output formats"
    )
    args = p.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    worker_counts = [int(w) for w in str(args.workers).split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    # the floor first: it is what every other figure is compared with
    spent, floor, n = split(_batch(min(sizes), args.seed, args.data), args.split_size)
    print(
        f"floor over {n:,} incidents: engine {floor['engine alone'] / n * 1e3:.3f} ms + screen"
        f" {floor['screen alone'] / n * 1e3:.3f} ms per incident; audit {floor['audit'] / n * 1e3:.3f} ms"
        f" = {floor['ratio']:.2f}x the floor ({_load()})",
        flush=True,
    )
    rows = []
    for size in sizes:
        batch = _batch(size, args.seed, args.data)
        repeat = args.repeat if size <= 100_000 else args.repeat_large
        for i, workers in enumerate(worker_counts):
            measured: dict[str, list[tuple[float, int]]] = {"audit": [], "parse": [], "reference": []}
            loads = []
            for _ in range(repeat):
                loads.append(_load())
                measured["audit"].append(_child(_audit(batch, args.data / "report", workers, "engine")))
                if size <= args.floors_max and i == 0:
                    measured["parse"].append(_child(_parse_only(batch)))
                    measured["reference"].append(_child(_audit(batch, args.data / "report-ref", workers, "reference")))
            med = {k: statistics.median(w for w, _ in v) if v else float("nan") for k, v in measured.items()}
            row = {
                "size": size,
                "input": f"JSON Lines, {batch.stat().st_size / 1e6:,.0f} MB",
                "workers": workers,
                "audit_s": med["audit"],
                "audit_rate": size / med["audit"],
                "parse_rate": size / med["parse"],
                "reference_rate": size / med["reference"],
                "rss_mib": max(r for _, r in measured["audit"]) / 1024,
                "runs": repeat,
                "load": "; ".join(loads),
            }
            rows.append(row)
            print(
                f"{size:>9,} x{workers}: audit {row['audit_rate']:,.0f}/s ({med['audit']:.1f} s),"
                f" parse-only {row['parse_rate']:,.0f}/s, reference {row['reference_rate']:,.0f}/s,"
                f" peak RSS {row['rss_mib']:.0f} MiB, runs {repeat}, load {row['load']}",
                flush=True,
            )
    for size in [int(s) for s in args.array_sizes.split(",") if s]:
        array = _as_array(_batch(size, args.seed, args.data))
        workers = worker_counts[-1]
        load = _load()
        wall, rss = _child(_audit(array, args.data / "report", workers, "engine"))
        rows.append(
            {
                "size": size,
                "input": f"one JSON array, {array.stat().st_size / 1e6:,.0f} MB",
                "workers": workers,
                "audit_s": wall,
                "audit_rate": size / wall,
                "parse_rate": float("nan"),
                "reference_rate": float("nan"),
                "rss_mib": rss / 1024,
                "runs": 1,
                "load": load,
            }
        )
        print(f"{size:>9,} as a JSON array x{workers}: {size / wall:,.0f}/s, peak RSS {rss / 1024:.0f} MiB", flush=True)
    checks = check_times(args.check_runs) if args.check_runs else []
    batch_checks = check_batches([int(s) for s in args.check_batch_sizes.split(",") if s], args.seed, args.data)
    write_results(args, rows, spent, floor, n, checks, batch_checks)


def _load() -> str:
    """The machine's 1-minute load average (other processes share it)."""
    try:
        return f"load {os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover - no load average on this system
        return "load unknown"


def _n(value: float, spec: str = ",.0f") -> str:
    """A figure, or "not measured" for a floor skipped at this size."""
    return "not measured" if value != value else format(value, spec)


def write_results(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    spent: dict[str, float],
    floor: dict[str, float],
    n: int,
    checks: list[dict[str, Any]],
    batch_checks: Sequence[dict[str, Any]] = (),
) -> None:
    """Append this run to bench/RESULTS.md."""
    total = sum(spent.values()) or 1.0
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
    base = floor["engine alone"] + floor["screen alone"]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}.",
        f"Command: `python -m bench.run --sizes {args.sizes} --repeat {args.repeat} --repeat-large {args.repeat_large}"
        f" --workers {args.workers} --split-size {args.split_size}"
        + (f" --floors-max {args.floors_max}" if args.floors_max != 10_000_000 else "")
        + (f" --array-sizes {args.array_sizes}" if args.array_sizes else "")
        + f" --check-runs {args.check_runs}"
        + (f" --check-batch-sizes {args.check_batch_sizes}" if args.check_batch_sizes else "")
        + "` (medians of the runs shown).",
        "",
        f"Floor, in one process over the same {n:,} incidents: the engine alone (prebuilt facts through"
        f" `evaluate`) {floor['engine alone'] / n * 1e3:.3f} ms and the narrative screen alone"
        f" {floor['screen alone'] / n * 1e3:.3f} ms per incident, {base / n * 1e3:.3f} ms together; the audit"
        f" (one worker, report rows, CSV and tally included) {floor['audit'] / n * 1e3:.3f} ms:"
        f" **{floor['ratio']:.2f}x the floor** (the median of {ROUNDS} rounds' ratios, each round"
        " measuring the audit and both floors in turn).",
        "",
        "| incidents | input | workers | audit wall | audit incidents/s | peak RSS (largest process) |"
        " parse-only incidents/s | reference evaluator incidents/s | runs | load average at each run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['input']} | {r['workers']} | {r['audit_s']:.1f} s | {r['audit_rate']:,.0f} |"
            f" {r['rss_mib']:.0f} MiB | {_n(r['parse_rate'])} | {_n(r['reference_rate'])} |"
            f" {r['runs']:.0f} | {r['load']} |"
        )
    lines += [
        "",
        f"Split of one process's time over {n:,} incidents (the audit's own loop, each stage timed in the same run):",
        "",
        "| stage | share | ms per incident |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v / total:.0%} | {v / n * 1000:.3f} |" for k, v in spent.items()]
    lines += [f"| total | 100% | {total / n * 1000:.3f} |", ""]
    if checks:
        lines += [
            "`crimecheck check` on one incident (rape-recorded-as-n100.json, and the same without its narrative),"
            " a new process each run, medians:",
            "",
            "| incident | compiled-lexicon cache | CPU (user + system) | wall | runs | load |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['incident']} | {c['cache']} | {c['cpu']:.3f} s | {c['wall']:.3f} s | {c['runs']} | {c['load']} |"
            for c in checks
        ]
        lines.append("")
    if batch_checks:
        lines += [
            "`crimecheck check` over a whole batch (one run each; a check holds no result until the end):",
            "",
            "| incidents | output | wall | peak RSS | load |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['size']:,} | {c['format']} | {c['wall']:.1f} s | {c['rss_mib']:.0f} MiB | {c['load']} |"
            for c in batch_checks
        ]
        lines.append("")
    previous = args.results.read_text() if args.results.exists() else "# Benchmark results\n\n"
    head, sep, rest = previous.partition("\n## ")
    args.results.write_text(head.rstrip() + "\n\n" + "\n".join(lines) + ("\n## " + rest if sep else ""))
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
