"""The work behind each command: kept apart from argument parsing so tests can call it."""

from __future__ import annotations

import argparse
import codecs
import os
import sys
from dataclasses import replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from checker.check.checker import Checker, Evaluator, Result
from checker.check.facts import build_facts
from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FAIL_ON
from checker.cli.output import Paint, Totals, human_excepted, human_result, human_totals
from checker.cli.terminal import typing_hint, wants_colour
from checker.core.errors import CheckerError, Problem
from checker.core.models import Limits
from checker.core.times import LONDON, parse_time, utc_now
from checker.read.incidents import read_inputs, validate
from checker.read.seen import SeenIds
from checker.rules.loader import Rule, RuleSet, load_rules

if TYPE_CHECKING:
    from checker.check.document import Document
    from checker.check.exceptions import Excepted, Register

# What only some runs need (the exceptions register, JSON output, --explain, --why-not, `rules`)
# is imported where it is used, so that a plain `check` starts quickly.


def load_ruleset(args: argparse.Namespace) -> RuleSet:
    """The rule set a command names: --rules (or $CRIMECHECK_RULES) and --reference."""
    rules_dir = args.rules or (Path(os.environ["CRIMECHECK_RULES"]) if os.environ.get("CRIMECHECK_RULES") else None)
    return load_rules(rules_dir, args.reference)


def _paint(args: argparse.Namespace, out: TextIO) -> Paint:
    return Paint(wants_colour(getattr(args, "color", "auto"), out))


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck check`: read, validate, evaluate and print every incident."""
    try:
        as_of = parse_time(args.as_of, args.timezone) if args.as_of else utc_now()
    except ValueError as exc:
        raise CheckerError([Problem(f"--as-of: {exc}")]) from None
    ruleset = load_ruleset(args)
    if args.why_not and ruleset.get(args.why_not) is None:
        raise CheckerError([Problem(f"--why-not: no rule {args.why_not!r} (see `crimecheck rules list`)")])
    register: Register | None = None
    if args.exceptions:
        from checker.check.exceptions import load_register

        register = load_register(args.exceptions, ruleset)
    zone = args.timezone or LONDON
    checker = Checker(ruleset, evaluator=args.evaluator, zone=zone)
    paint = _paint(args, out)
    human = args.format == "human"
    typing_hint(args.files)
    # Nothing is kept per incident but a hash of its id (for duplicates): people read each result
    # as it is checked, and the JSON document keeps its lists on disk past a few MiB (check.document).
    doc: Document | None = None
    if not human:
        from checker.check.document import Document

        doc = Document(ruleset, as_of, args.explain)
    try:
        totals = _check_each(args, checker, register, as_of, zone, doc, out, paint)
        if doc is not None:
            decoder = codecs.getincrementaldecoder("utf-8")()
            for chunk in doc.chunks():
                out.write(decoder.decode(chunk))
    finally:
        if doc is not None:
            doc.close()
    if human:
        print(paint("\n" + human_totals(totals), "bold"), file=out)
    if totals.rejected:
        return EXIT_ERROR
    failing = FAIL_ON[args.fail_on]
    return EXIT_FINDINGS if any(totals.by_outcome[o] for o in failing) else EXIT_OK


def _check_each(
    args: argparse.Namespace,
    checker: Checker,
    register: Register | None,
    as_of: datetime,
    zone: tzinfo,
    doc: Document | None,
    out: TextIO,
    paint: Paint,
) -> Totals:
    """Read and check every item the command names, each result printed (people) or added to
    `doc` (JSON) as it comes; the counts."""
    totals = Totals()
    seen = SeenIds()  # 8 bytes an id
    on_stderr = _paint(args, sys.stderr)
    for item in read_inputs(args.files):
        try:
            incident, warns = validate(item, args.timezone, Limits(narrative=args.max_narrative))
            if seen.add(incident.incident_id):
                raise CheckerError(
                    [
                        Problem(
                            f"duplicate incident_id {incident.incident_id!r} in this batch; the first was checked",
                            file=item.source,
                            line=item.line,
                            record=incident.incident_id,
                            field="incident_id",
                        )
                    ]
                )
            result = checker.check(incident, as_of)
            held: list[Excepted] = []
            if register is not None:
                (result,), held = register.split([result], as_of)
        except CheckerError as exc:
            # problems raised after reading (unknown codes, engine failures) do not know the file
            problems = [p if p.file else replace(p, file=item.source, line=item.line) for p in exc.problems]
            totals.rejected += 1
            if doc is not None:
                doc.reject(item.where, problems)
                continue
            print(paint(f"{item.where}: rejected, not checked:", "breach"), file=out)
            for p in problems:
                print(f"  {p}", file=out)
            continue
        totals.add(result, len(held))
        if doc is not None:
            doc.add(result)
            doc.warn(warns)
            doc.except_(held)
            continue
        for w in warns:  # on standard error as they come, the results staying on standard output
            print(on_stderr(f"warning: {w}", "dim"), file=sys.stderr)
        print("\n".join(human_result(result, paint, as_of, zone, args.explain)), file=out)
        for e in held:
            print("\n".join(human_excepted(e, paint, as_of, zone)), file=out)
        if args.explain:
            _print_explain(checker, result, out, paint)
        if args.why_not:
            _print_why_not(checker, args.why_not, incident, as_of, out, paint)
    return totals


def _print_explain(checker: Checker, result: Result, out: TextIO, paint: Paint) -> None:
    from checker.rules.explain import fired_conditions

    for f in result.findings:
        rule = checker.ruleset.get(f.rule_id)
        if rule is None:
            continue
        print(paint(f"  why {f.rule_id} fired on {f.subject}:", "bold"), file=out)
        for line in fired_conditions(rule, f.facts):
            print(paint(f"      {line}", "dim"), file=out)


def _print_why_not(checker: Checker, rule_id: str, incident: Any, as_of: datetime, out: TextIO, paint: Paint) -> None:
    from checker.rules.explain import why_not

    rule = checker.ruleset.get(rule_id)
    assert rule is not None
    facts = build_facts(incident, checker.ruleset.reference, as_of, checker.ruleset.screen).facts
    print(paint(f"  why-not {rule_id} ({rule.model.title}):", "bold"), file=out)
    for line in why_not(rule, facts):
        print(f"      {line}", file=out)


def rules_document(ruleset: RuleSet, shown: list[Rule], day: date | None) -> dict[str, Any]:
    """`rules list --format json`: the rules, with what identifies the rule set."""
    return {
        "schema_version": "1.0",
        "ruleset": {"hash": ruleset.digest, "editions": ruleset.editions, "rules": len(ruleset.active)},
        "in_force_on": day.isoformat() if day else None,
        "rules": [
            {
                "id": r.model.id,
                "name": r.model.name,
                "title": r.model.title,
                "area": r.model.area,
                "outcome": r.model.outcome,
                "status": r.model.status,
                "effective_from": r.model.effective.from_.isoformat(),
                "effective_to": r.model.effective.to.isoformat() if r.model.effective.to else None,
                "source": {
                    "document": r.model.source.document,
                    "edition": r.model.source.edition,
                    "section": r.model.source.section,
                    "tag": r.model.source.tag,
                },
            }
            for r in shown
        ],
    }


def run_rules(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck rules list|explain|test`."""
    ruleset = load_ruleset(args)
    if args.rules_command == "list":
        day = None
        if args.as_of:
            try:
                day = date.fromisoformat(args.as_of[:10])
            except ValueError:
                raise CheckerError(
                    [Problem(f"--as-of: {args.as_of!r} is not a date: write YYYY-MM-DD, e.g. 2025-01-03")]
                ) from None
        shown = [r for r in ruleset.rules if day is None or r.applies_on(day)]
        if args.format == "json":
            out.write(orjson.dumps(rules_document(ruleset, shown, day), option=orjson.OPT_INDENT_2).decode() + "\n")
            return EXIT_OK
        for r in shown:
            m = r.model
            print(f"{m.id}  {m.outcome:<12} {m.area:<14} {m.title}  [{m.source.edition}; {m.status}]", file=out)
        print(
            f"\n{len(shown)} rules" + (f" in force on {day}" if day else "") + f"; rule set {ruleset.digest}", file=out
        )
        return EXIT_OK
    if args.rules_command == "explain":
        rule = ruleset.get(args.rule_id.upper())
        if rule is None:
            raise CheckerError([Problem(f"no rule {args.rule_id!r}; `crimecheck rules list` shows them")])
        from checker.check.docs import rule_text

        print(rule_text(ruleset, rule), file=out)
        return EXIT_OK
    unknown = [i for i in args.rule_ids if ruleset.get(i) is None]
    if unknown:
        raise CheckerError([Problem(f"no rule {i!r}") for i in unknown])
    from checker.check.examples import run_all

    failed = 0
    outcomes = []
    evaluators: tuple[Evaluator, ...] = ("engine", "reference")
    for evaluator in evaluators:
        checker = Checker(ruleset, evaluator=evaluator)
        outcomes = run_all(checker, set(args.rule_ids) or None)
        for o in outcomes:
            if not o.ok:
                failed += 1
                print(
                    f"FAIL {o.rule} {o.example} ({evaluator}): expected {o.expected}, found {o.found}"
                    + (f"; error: {o.error}" if o.error else ""),
                    file=out,
                )
    passed = 2 * len(outcomes) - failed
    if not args.rule_ids and (ruleset.directory / "lexicon").is_dir():
        from checker.narrative.loader import load_lexicon  # deferred: `check` never lints the lexicon

        lexicon = load_lexicon(ruleset.directory / "lexicon", optimise=False)  # lints every pattern
        checked, problems = lexicon.check_examples()
        for problem in problems:
            print(f"FAIL lexicon {problem}", file=out)
        passed, failed = passed + checked - len(problems), failed + len(problems)
    print(f"{passed} passed, {failed} failed", file=out)
    return EXIT_OK if failed == 0 else EXIT_FINDINGS
