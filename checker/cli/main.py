"""The `crimecheck` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checker.cli.exits import EXIT_ERROR, FAIL_ON
from checker.cli.terminal import Terminal
from checker.core.errors import CheckerError
from checker.core.models import DEFAULT_LIMITS


class _Parser(argparse.ArgumentParser):
    """The parser of crimecheck and of each command. With ``fill``, a command's options are added
    when the command is used (parsed, or its help shown), so that other commands do not pay for
    what its options need (`serve` imports the service's roles)."""

    def __init__(
        self, *args: Any, fill: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._fill = fill

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"crimecheck: error: {message}\n")

    def _filled(self) -> None:
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill(self)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._filled()
        return super().format_usage()

    def format_help(self) -> str:
        self._filled()
        return super().format_help()


class _Version(argparse.Action):
    """--version: the installed version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from checker.core.version import package_version

        formatter = parser._get_formatter()  # as argparse's own "version" action prints it
        formatter.add_text(f"crimecheck {package_version()}")
        parser._print_message(formatter.format_help(), sys.stdout)
        parser.exit()


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r} (e.g. Europe/London)") from None


def _clock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", metavar="TIME", help="judge clocks at this time, ISO 8601 with offset (default: now)")
    p.add_argument(
        "--timezone",
        type=_zone,
        default=None,
        metavar="ZONE",
        help="read times without an offset in this zone (e.g. Europe/London); default: refuse them",
    )


LARGEST = 2**63 - 1  # what a summary's JSON and the service's database can hold
MAX_WORKERS = max(32, 4 * (os.cpu_count() or 1))  # processes are CPU-bound; more only take memory


def _whole(low: int, high: int = LARGEST, why: str = "") -> Callable[[str], int]:
    """An option's type: a whole number from `low` to `high`, or a usage error saying so (a count
    too large for JSON crashed the audit when it wrote its summary; 100,000 workers would start as
    many processes)."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number of {low:,} or more, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected a whole number of at most {high:,}{why}, got {text!r}")
        return value

    return whole


WORKERS = _whole(1, MAX_WORKERS, " on this machine (more workers than cores only take memory)")


def _limit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-narrative",
        type=_whole(1),
        default=DEFAULT_LIMITS.narrative,
        metavar="CHARS",
        help=f"reject an incident whose narrative is longer (default {DEFAULT_LIMITS.narrative:,})",
    )


def _exceptions_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exceptions",
        type=Path,
        metavar="FILE",
        help="YAML register of accepted exceptions: those findings are reported apart until they expire",
    )


def _rules_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="DIR",
        help="rule directory (default: the bundled rules/, or $CRIMECHECK_RULES)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        metavar="DIR",
        help="a force's own reference tables (offences, authorisation, settings); default: RULES/reference",
    )


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The argument parser (and its `rules` sub-parser), with help for every command and option."""
    parser = _Parser(
        prog="crimecheck", description="Check police incident records against the Home Office Crime Recording Rules."
    )
    parser.add_argument("--version", action=_Version, help="show program's version number and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = sub.add_parser(
        "check",
        help="check incidents (JSON object, JSON array or JSON Lines) and print findings",
        description="Check incidents and print, per incident, the recording decision each disclosure needs "
        "and every finding.",
    )
    check.add_argument(
        "files", nargs="+", metavar="FILE", help="incident file(s) or folder(s) of them; - reads standard input"
    )
    check.add_argument("--format", choices=("human", "json"), default="human", help="output format (default: human)")
    _clock_args(check)
    _limit_args(check)
    check.add_argument(
        "--fail-on",
        choices=tuple(FAIL_ON),
        default="breach",
        help="exit 1 when a finding of this outcome or worse is found (default: breach)",
    )
    check.add_argument("--explain", action="store_true", help="show the facts and conditions behind each finding")
    check.add_argument("--why-not", metavar="RULE", help="show which condition of RULE failed on each incident")
    _exceptions_arg(check)
    check.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour output (default: auto)"
    )
    check.add_argument("--evaluator", choices=("engine", "reference"), default="engine", help=argparse.SUPPRESS)
    _rules_args(check)

    rules = sub.add_parser("rules", help="list, explain and test the rules")
    rsub = rules.add_subparsers(dest="rules_command", metavar="ACTION", parser_class=_Parser)
    lst = rsub.add_parser("list", help="list the rules (in force on a date with --as-of)")
    lst.add_argument("--format", choices=("human", "json"), default="human", help="output format (default: human)")
    lst.add_argument(
        "--as-of", metavar="DATE", help="only rules in force for incidents reported on this date (YYYY-MM-DD)"
    )
    _rules_args(lst)
    exp = rsub.add_parser("explain", help="show a rule: title, rationale, source, parameters, examples")
    exp.add_argument("rule_id", metavar="ID")
    _rules_args(exp)
    tst = rsub.add_parser("test", help="run every rule's examples (or the named rules')")
    tst.add_argument("rule_ids", nargs="*", metavar="ID")
    _rules_args(tst)

    _audit_parser(sub)
    keygen = sub.add_parser(
        "keygen",
        help="write a new pseudonym key (for audit --pseudonymise --key-file)",
        description="Write 32 random bytes, in hex, to a new file only you can read (mode 0600). "
        "An existing file is never overwritten.",
    )
    keygen.add_argument("key_file", type=Path, metavar="FILE", help="the key file to create")

    _serve_parser(sub)
    compare = sub.add_parser("compare", help="compare two audit summaries: change and statistical significance")
    compare.add_argument("a", metavar="A", help="the earlier audit: its report folder or summary.json")
    compare.add_argument("b", metavar="B", help="the later audit: its report folder or summary.json")
    compare.add_argument("--format", choices=("human", "json"), default="human", help="output format (default: human)")
    return parser, rules


def _audit_parser(sub: Any) -> None:
    """`crimecheck audit` and its options."""
    audit = sub.add_parser(
        "audit",
        help="pre-audit self-check: a batch in, an inspection-style report (summary.json, CSVs, report.html) out",
        description="Check a batch of incidents and write the figures an inspection reports, with confidence "
        "intervals, and the findings, decisions and rejected items, to a report directory (docs/audit.md).",
    )
    audit.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="incidents: JSON or JSON Lines files or folders of them, or one CSV with --mapping",
    )
    audit.add_argument("--out", required=True, type=Path, metavar="DIR", help="report directory (created if missing)")
    audit.add_argument("--mapping", type=Path, metavar="FILE", help="YAML column mapping for CSV exports")
    audit.add_argument("--records", metavar="FILE", help="CSV of crime and N100 records (with --mapping)")
    audit.add_argument("--disclosures", metavar="FILE", help="CSV of further disclosures (with --mapping)")
    _clock_args(audit)
    _limit_args(audit)
    audit.add_argument("--sample", type=_whole(1), metavar="N", help="audit a simple random sample of N incidents")
    audit.add_argument("--seed", type=_whole(-LARGEST), default=0, metavar="S", help="seed for --sample (default 0)")
    audit.add_argument("--ci-method", choices=("wilson", "normal"), default="wilson", help="interval (default wilson)")
    audit.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    audit.add_argument("--population", type=_whole(1), metavar="N", help="incidents the audited ones represent (FPC)")
    audit.add_argument(
        "--recorded-per-year", type=_whole(0), metavar="N", help="crimes recorded a year: estimate unrecorded"
    )
    audit.add_argument("--fail-on", choices=tuple(FAIL_ON), default=None, help="exit 1 on this outcome or worse")
    audit.add_argument("--include-narrative", action="store_true", help="put incident narratives in the report")
    audit.add_argument("--pseudonymise", action="store_true", help="replace ids by keyed hashes (needs a key)")
    audit.add_argument(
        "--key-file", type=Path, metavar="FILE", help="pseudonym key (default $CRIMECHECK_PSEUDONYM_KEY)"
    )
    audit.add_argument("--quiet", action="store_true", help="no progress bar")
    _exceptions_arg(audit)
    audit.add_argument("--force", metavar="NAME", help="the force named on the report (default: the incidents' force)")
    audit.add_argument(
        "--marking",
        default="OFFICIAL-SENSITIVE",
        metavar="TEXT",
        help="protective marking at the head and foot of every page (default: OFFICIAL-SENSITIVE)",
    )
    audit.add_argument(
        "--previous",
        nargs="+",
        default=[],
        metavar="SUMMARY",
        help="earlier audits (report folders or summary.json), oldest first: a trend section in report.html",
    )
    audit.add_argument(
        "--templates", type=Path, metavar="DIR", help="a folder of Jinja2 templates that override report.html's"
    )
    audit.add_argument(
        "--workers",
        type=WORKERS,
        default=None,
        metavar="N",
        help="worker processes, each with its own engine (default: one per core; 1 checks in this process). "
        "The report is the same, byte for byte, whatever the number",
    )
    audit.add_argument("--evaluator", choices=("engine", "reference"), default="engine", help=argparse.SUPPRESS)
    _rules_args(audit)


def _serve_parser(sub: Any) -> None:
    """`crimecheck serve` and its options (docs/serve.md), added when `serve` is used."""
    sub.add_parser(
        "serve",
        help="the checker as an HTTP service the records system calls (docs/serve.md)",
        description="Serve the checker over HTTP: check incidents, keep their latest versions, a queue by "
        "deadline and the exceptions register. Listens on 127.0.0.1 unless --host says otherwise.",
        fill=_serve_options,
    )


def _serve_options(serve: argparse.ArgumentParser) -> None:
    from checker.serve.auth import ROLES

    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    serve.add_argument("--port", type=_whole(0, 65535), default=8765, help="port (default 8765)")
    serve.add_argument(
        "--database",
        default=None,
        metavar="PATH|URL",
        help="SQLite file (default ./crimecheck-serve.db) or postgresql://user@host/db for several instances",
    )
    serve.add_argument(
        "--workers", type=WORKERS, default=2, metavar="N", help="checking processes, one engine each (2)"
    )
    serve.add_argument(
        "--max-body",
        type=_whole(1),
        default=5_000_000,
        metavar="BYTES",
        help="larger request bodies get 413 (5,000,000)",
    )
    serve.add_argument(
        "--request-timeout",
        type=_whole(1, 3600),
        default=30,
        metavar="SECONDS",
        help="close a connection whose request (head and body) has not arrived in this time (30)",
    )
    serve.add_argument(
        "--timezone", type=_zone, default=None, metavar="ZONE", help="read times without an offset in this zone"
    )
    serve.add_argument("--store-narrative", action="store_true", help="keep incident narratives in the database")
    serve.add_argument(
        "--tokens", type=Path, metavar="FILE", help="YAML of hashed tokens: tokens: [{name, role, sha256}]"
    )
    serve.add_argument("--policy", type=Path, metavar="FILE", help="YAML allowed_roles: who may accept exceptions")
    serve.add_argument("--demo", action="store_true", help="a throwaway database with the sample incidents, and tokens")
    serve.add_argument("--add-token", metavar="NAME", help="create a token in the database, print it once, and exit")
    serve.add_argument("--role", choices=ROLES, help="the role of --add-token")
    serve.add_argument("--remove-token", metavar="NAME", help="delete a token from the database, and exit")
    serve.add_argument("--write-openapi", type=Path, metavar="FILE", help="write the OpenAPI document, and exit")
    _rules_args(serve)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser, rules = build_parser()
    args = parser.parse_args(argv)
    # Everything for people goes through a Terminal: controls escaped, a closed pipe survived.
    # JSON output is left as it is: orjson escapes every control character in a string.
    human = getattr(args, "format", "human") != "json"
    colour = getattr(args, "color", "auto")
    out = cast(TextIO, Terminal(stdout or sys.stdout, escape=human, colour=colour))
    saved, sys.stderr = sys.stderr, cast(TextIO, Terminal(sys.stderr, colour=colour))
    try:
        return _run(args, parser, rules, out)
    finally:
        sys.stderr.flush()
        sys.stderr = saved


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser, rules: argparse.ArgumentParser, out: TextIO) -> int:
    # Each command's module is imported only when it runs, so `check` does not load the audit's.
    try:
        if args.command == "check":
            from checker.cli.commands import run_check

            return run_check(args, out)
        if args.command == "audit":
            from checker.cli.audit import run_audit

            return run_audit(args, out)
        if args.command == "keygen":
            from checker.cli.audit import run_keygen

            return run_keygen(args, out)
        if args.command == "compare":
            from checker.cli.audit import run_compare

            return run_compare(args, out)
        if args.command == "serve":
            from checker.serve.main import run_serve

            return run_serve(args, out)
        if args.command == "rules" and args.rules_command:
            from checker.cli.commands import run_rules

            return run_rules(args, out)
        (rules if args.command == "rules" else parser).print_help(out)
        return EXIT_ERROR
    except CheckerError as exc:
        print("crimecheck: cannot continue:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR  # output was lost: never a success (Terminal normally absorbs this)
    except OSError as exc:
        # a read-only or full disk, a closed standard input: the operating system's reason, not a crash
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"crimecheck: cannot continue: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("CRIMECHECK_DEBUG"):
            raise
        print(
            f"crimecheck: internal error: {type(exc).__name__}: {exc} (set CRIMECHECK_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
