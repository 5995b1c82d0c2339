"""`python -m bench.prefilter [BATCH.jsonl] [--count N] [--repeat R]`: the narrative screen with and
without its Hyperscan prefilter (checker/narrative/prefilter.py), on the first N narratives of a
generated batch, in one process: µs per narrative (medians of R), the families the prefilter lets
through against those that match, the database's compile and load times, and the number of
narratives whose hits differ (must be 0)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from checker.narrative import prefilter as pf
from checker.narrative.loader import load_lexicon
from checker.narrative.screen import Lexicon, fold

ROOT = Path(__file__).resolve().parent.parent


def _narratives(path: Path, count: int) -> list[str]:
    texts: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line).get("narrative")
            if text:
                texts.append(text)
                if len(texts) == count:
                    break
    return texts


def _us_per_text(lexicon: Lexicon, texts: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            lexicon.screen(text)
        runs.append((time.perf_counter() - started) / len(texts) * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("batch", nargs="?", type=Path, default=ROOT / "bench" / "out" / "batch-7-10000.jsonl")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    texts = _narratives(args.batch, args.count)
    lexicon = load_lexicon(ROOT / "rules" / "lexicon", optimise=True, lint=False)
    families = lexicon.compiled_families()
    plain = Lexicon(families, lexicon.scope, prefilter=False)
    named = [(info.name, regex) for info, regex in families]

    hyperscan = importlib.import_module("hyperscan")
    compiles = []
    for _ in range(3):
        started = time.perf_counter()
        pf.compile_families(hyperscan, named, pf.flags_of(hyperscan))
        compiles.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CRIMECHECK_CACHE_DIR"] = cache
        pf.build(named)  # compiles and keeps it on disk
        pf._BUILT.clear()
        started = time.perf_counter()
        prefilter = lexicon.prepare_prefilter()  # from disk
        loaded = time.perf_counter() - started
    assert prefilter is not None

    differ = sum(lexicon.screen(t) != plain.screen(t) for t in texts)
    through = [len(lexicon.families if (m := prefilter.may_match(fold(t))) is None else m) for t in texts]
    matching = [sum(any(m.end() > m.start() for m in r.finditer(fold(t))) for _, r in named) for t in texts]
    without = _us_per_text(plain, texts, args.repeat)
    with_it = _us_per_text(lexicon, texts, args.repeat)
    scan = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for text in texts:
            prefilter.may_match(fold(text))
        scan.append((time.perf_counter() - started) / len(texts) * 1e6)
    print(f"{len(texts)} narratives of {args.batch.name}, {statistics.mean(map(len, texts)):.0f} characters on average")
    print(f"screen without the prefilter: {without:.1f} µs per narrative (median of {args.repeat})")
    print(f"screen with the prefilter:    {with_it:.1f} µs per narrative ({without / with_it:.2f}x)")
    print(f"fold + prefilter scan alone:  {statistics.median(scan):.1f} µs per narrative")
    print(
        f"families run per narrative: {statistics.mean(through):.2f} of {len(named)} "
        f"(with a non-empty match: {statistics.mean(matching):.2f})"
    )
    print(f"database compile: {statistics.median(compiles):.2f} s (median of 3)")
    print(f"database loaded from disk: {loaded * 1e3:.0f} ms")
    print(f"narratives whose hits differ: {differ}")


if __name__ == "__main__":
    main()
