"""The bodies of `crimecheck audit` and `crimecheck compare`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import TextIO

import orjson

from checker.audit.compare import compare, human, load_summary
from checker.audit.pseudonym import Pseudonymiser, load_key, new_key
from checker.audit.report import ReportWriter, SummaryOptions, build_summary
from checker.audit.report_html import ReportOptions, check_templates
from checker.audit.rows import Queued, Settings
from checker.audit.stream import checked_chunks, chunks, queue, reservoir
from checker.audit.tally import Tally
from checker.check.exceptions import load_register
from checker.cli.commands import load_ruleset
from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FAIL_ON
from checker.cli.progress import Progress, count_lines
from checker.cli.terminal import typing_hint
from checker.core.errors import CheckerError, Problem
from checker.core.models import Limits
from checker.core.times import parse_time, utc_now
from checker.read.csvitems import read_csv_items
from checker.read.incidents import Item, read_inputs
from checker.read.mapping import load_mapping


def _usage(message: str) -> CheckerError:
    return CheckerError([Problem(message)])


def _check_args(args: argparse.Namespace) -> None:
    """Refuse contradictory or impossible options before anything is read or written."""
    if not 0.5 <= args.confidence < 1:
        raise _usage("--confidence is a level such as 0.95")
    if args.key_file is not None and not args.pseudonymise:
        raise _usage("--key-file is only read with --pseudonymise: give both, or neither")
    if args.pseudonymise and args.include_narrative:
        raise _usage("--include-narrative cannot be combined with --pseudonymise: narratives name people")
    mapped = args.mapping is not None
    if not mapped and (args.records or args.disclosures):
        raise _usage("--records and --disclosures need --mapping: they are CSV files")
    if mapped and len(args.files) != 1:
        raise _usage("with --mapping, give one incidents CSV file (and the records file with --records)")
    missing = [f for f in (*args.files, args.records, args.disclosures) if f and f != "-" and not os.path.exists(f)]
    if missing:
        raise CheckerError([Problem("no such file", file=str(f)) for f in missing])
    if not mapped:
        csvs = [f for f in args.files if str(f).lower().endswith(".csv")]
        if csvs:
            raise _usage(f"{csvs[0]} is a CSV file: give --mapping FILE to say how its columns map to the contract")


def _items(args: argparse.Namespace, parse: bool) -> Iterable[Item]:
    """The items to audit: JSON files, or the CSV files joined through the mapping. Unless
    `parse`, JSON is cut into items but left for the worker processes to parse."""
    if args.mapping is None:
        typing_hint(args.files)
        return read_inputs(args.files, parse=parse)
    mapping = load_mapping(Path(args.mapping))
    # opened here, before the report directory is touched: a missing column stops the run
    csv_items = read_csv_items(
        mapping,
        Path(args.files[0]),
        Path(args.records) if args.records else None,
        Path(args.disclosures) if args.disclosures else None,
    )
    first = next(csv_items, None)
    return chain([first] if first is not None else [], csv_items)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_keygen(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck keygen FILE`: a new pseudonym key in a new file only its owner can read."""
    path: Path = args.key_file
    try:
        # O_EXCL: never overwrite a key (reports made with it could no longer be matched), and
        # never follow a link planted in its place
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise CheckerError([Problem("the file exists; keygen never overwrites a key", file=str(path))]) from None
    except OSError as exc:
        raise CheckerError([Problem(f"cannot create the key file: {exc.strerror}", file=str(path))]) from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(new_key())
    print(f"key written to {path} (readable by you only); keep it apart from the reports", file=out)
    return EXIT_OK


def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck audit`: check a batch and write summary.json, the CSVs and report.html to --out."""
    try:
        as_of = parse_time(args.as_of, args.timezone) if args.as_of else utc_now()
    except ValueError as exc:
        raise _usage(f"--as-of: {exc}") from None
    _check_args(args)
    mapped = args.mapping is not None
    pseudonymiser = None
    if args.pseudonymise:
        pseudonymiser = Pseudonymiser(load_key(args.key_file))

    ruleset = load_ruleset(args)
    window_s = ruleset.reference.recording_window_s
    limits = Limits(narrative=args.max_narrative)
    register = load_register(args.exceptions, ruleset) if args.exceptions else None
    settings = Settings(
        as_of, window_s, args.timezone, args.include_narrative, pseudonymiser, limits=limits, register=register
    )
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    # with workers, each parses what it checks; a sample is drawn from parsed, de-duplicated items
    items = _items(args, parse=workers <= 1 or args.sample is not None)
    show = not args.quiet and sys.stderr.isatty()
    total = None
    if show and args.files[0] != "-":
        total = sum(count_lines(str(f)) or 0 for f in args.files) - (1 if mapped else 0)
    terminal = getattr(sys.stderr, "raw", sys.stderr)  # the bar's own \r, past the escaping of controls
    progress = Progress(terminal, show, "reading" if args.sample else "auditing", total or None)
    tally = Tally(window_s=window_s)
    writer = ReportWriter(Path(args.out), include_narrative=args.include_narrative, options=_report_options(args))
    # so that SIGTERM removes the partial report too (a handler can only be set in the main thread)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        batches, read = _batches(queue(items), args, progress)
        for chunk in checked_chunks(batches, workers, ruleset, args.evaluator, settings, writer.widths_wanted):
            writer.write(chunk)
            tally.merge(chunk.tally)
            progress.advance(chunk.size)
        progress.finish()
        if args.sample is None:
            read = tally.audited
        tally.balance()
        summary = build_summary(_summary_options(args), ruleset, tally, settings, read)
        writer.commit(summary, tally)
    except OSError as exc:
        writer.abort()
        # a full or read-only disk: said plainly, and no partial report is left behind
        raise CheckerError([Problem(f"cannot write the report: {exc.strerror or exc}", file=str(args.out))]) from None
    except BaseException:
        writer.abort()
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    counts = summary["counts"]
    headline = summary["figures"]["recording.all_crime"]
    print(
        f"{counts['read']:,} read, {counts['audited']:,} audited, {counts['checked']:,} checked, "
        f"{counts['rejected']:,} rejected; findings: {counts['findings']:,}; "
        f"recording rate {headline['text']}; report written to {args.out}",
        file=out,
    )
    if args.fail_on is None:
        return EXIT_OK
    if tally.rejected:
        return EXIT_ERROR
    failing = FAIL_ON[args.fail_on]
    return EXIT_FINDINGS if any(tally.counts[f"outcome.{o}"] for o in failing) else EXIT_OK


def _batches(
    stream: Iterable[Queued], args: argparse.Namespace, progress: Progress
) -> tuple[Iterable[list[Queued]], int]:
    """The chunks to check, and how many items were read for them (0 until a full run has read all):
    every item, or a simple random sample of --sample of them."""
    if args.sample is None:
        return chunks(stream), 0

    def counted(s: Iterable[Queued]) -> Iterator[Queued]:
        for q in s:
            progress.advance()
            yield q

    todo, read = reservoir(counted(stream), args.sample, args.seed)
    progress.phase("checking the sample", len(todo))
    return chunks(todo), read


def run_compare(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck compare A B [--format json]`."""
    doc = compare(load_summary(Path(args.a)), load_summary(Path(args.b)))
    if args.format == "json":
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(human(doc), file=out)
    return EXIT_OK


def _report_options(args: argparse.Namespace) -> ReportOptions:
    """What report.html needs beyond the audit: templates, marking, force, earlier audits."""
    if args.templates is not None:
        check_templates(args.templates)
    if not args.marking.strip():
        raise _usage("--marking: give the protective marking, e.g. OFFICIAL-SENSITIVE")
    return ReportOptions(
        templates=args.templates,
        marking=args.marking.strip(),
        force=args.force,
        previous=tuple(load_summary(Path(p)) for p in args.previous),
    )


def _summary_options(args: argparse.Namespace) -> SummaryOptions:
    return SummaryOptions(
        files=tuple(str(f) for f in args.files),
        mapping=str(args.mapping) if args.mapping else None,
        records=str(args.records) if args.records else None,
        disclosures=str(args.disclosures) if args.disclosures else None,
        ci_method=args.ci_method,
        confidence=args.confidence,
        population=args.population,
        recorded_per_year=args.recorded_per_year,
        sample=args.sample,
        seed=args.seed,
        force=args.force,
        marking=args.marking.strip(),
    )
