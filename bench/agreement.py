"""How far the checker agrees with the generator's truth labels, rule by rule.

    python -m bench.agreement --count 10000 --seed 7

Each injected defect of ``bench.generate --truth`` names the rule that must report it and the
record, disclosure or narrative mention it is about; each disclosure names the decision the rules
call for. The table counts, per rule, the labelled defects it reported (agree), the labelled
defects nobody reported (missed) and the findings no label explains (extra), and then the
disclosures whose decision and expected code agree with the label.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from bench.generate import generate
from checker.check.checker import Checker
from checker.core.times import parse_time
from checker.read.incidents import Item, validate
from checker.rules.loader import RuleSet, load_rules

# The rules that report each defect label, the first being the one a miss is charged to.
LABEL_RULES: dict[str, tuple[str, ...]] = {
    "missed_crime": ("RC001", "RN001", "CN003", "RC004"),
    "missed_n100": ("RN001",),
    "review_open": ("TL004",),
    "late_record": ("TL001",),
    "rape_n100_wrong": ("RN002", "RN004"),
    "n100_no_reason": ("RN003",),
    "rape_as_sexual_assault": ("CL001",),
    "wrong_age_band": ("CL002",),
    "aggravated_as_basic": ("CL006",),
    "da_flag_missing": ("FL001",),
    "hate_flag_missing": ("FL003",),
    "c2_no_avi": ("CX002", "CX003"),
    "c2_withdrawal_only": ("CX003",),
    "cancel_wrong_role": ("CX004",),
    "victim_not_informed": ("CX005",),
    "c1_in_area": ("CX014",),
    "c3_elsewhere": ("CX011",),
    "c3_of_cancelled": ("CX012",),
    "over_recorded": ("RC002",),
    "fraud_force_recorded": ("RC002",),
    "narrative_only_offence": ("RC003",),
}
# Flags and classification are judged on crimes that still stand: a label on a record that was
# later cancelled or transferred is not a fault the checker reports.
NOT_JUDGED_WHEN_GONE = frozenset(
    {"da_flag_missing", "hate_flag_missing", "wrong_age_band", "rape_as_sexual_assault", "aggravated_as_basic"}
)
# The decision the checker shows for each truth label value.
DECISION = {"crime": "crime", "n100": "n100", "none": "no_crime", "transfer": "no_crime", "refer": "no_crime"}
DECISION["review"] = "review"
AS_OF = "2025-07-01T00:00:00+00:00"  # after every generated report (April 2024 to March 2025)


@dataclass
class Table:
    """Per-rule agreement counts and the decision agreement."""

    agree: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)
    decisions: int = 0
    decisions_agree: int = 0
    incidents: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, rule: str, where: str) -> None:
        """Keep the first few disagreements of each rule, to read."""
        self.examples.setdefault(f"{kind} {rule}", [])
        if len(self.examples[f"{kind} {rule}"]) < 3:
            self.examples[f"{kind} {rule}"].append(where)

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        """(rule, labelled, agree, missed, extra), every rule that was labelled or fired."""
        rules = sorted(set(self.agree) | set(self.missed) | set(self.extra))
        return [(r, self.agree[r] + self.missed[r], self.agree[r], self.missed[r], self.extra[r]) for r in rules]


def _subject(label: str, ruleset: RuleSet) -> tuple[str, str]:
    kind, _, rest = label.partition(":")
    if kind == "narrative_only_offence":
        code = rest.split(":", 1)[1]
        offence = ruleset.reference.offence(code)
        return kind, f"narrative/{offence.family if offence else code}"
    return kind, rest


def measure(incidents: Iterable[dict[str, Any]], ruleset: RuleSet, evaluator: str = "engine") -> Table:
    """Check each generated incident and compare its findings and decisions with its labels."""
    checker = Checker(ruleset, evaluator="engine" if evaluator == "engine" else "reference")
    as_of: datetime = parse_time(AS_OF)
    table = Table()
    for raw in incidents:
        truth = raw.pop("synthetic_truth")
        incident, _ = validate(Item("generated", None, 0, data=raw))
        result = checker.check(incident, as_of)
        table.incidents += 1
        found = {(f.rule_id, f.subject) for f in result.findings}
        explained: set[tuple[str, str]] = set()
        gone = {r.record_id for r in incident.records if r.status != "recorded"}
        counted_in = {d.disclosure_id for d in result.decisions if d.reason == "principal_crime"}
        for label in truth["defects"]:
            kind, subject = _subject(label, ruleset)
            if kind in NOT_JUDGED_WHEN_GONE and subject in gone:
                continue
            if kind == "missed_crime" and subject in counted_in:
                continue  # one finding, on the principal crime, covers the offences counted in it
            rules = LABEL_RULES[kind]
            hit = next((r for r in rules if (r, subject) in found), None)
            if hit is None:
                table.missed[rules[0]] += 1
                table.note("missed", rules[0], f"{incident.incident_id} {subject}")
            elif (hit, subject) not in explained:
                table.agree[hit] += 1
                explained.add((hit, subject))
        for rule, subject in sorted(found - explained):
            table.extra[rule] += 1
            table.note("extra", rule, f"{incident.incident_id} {subject}")
        # the generator labels an offence counted in its principal crime with the principal's code
        principal_codes = {(x.expected_code, x.decision) for x in result.decisions}
        for d in result.decisions:
            value = truth["expected"][d.disclosure_id]
            decision, _, code = value.partition(":")
            table.decisions += 1
            if decision == "transfer":
                ok = d.decision == "no_crime"
            elif d.reason == "principal_crime":
                ok = decision in ("crime", "transfer") and (code, "crime") in principal_codes
            else:
                ok = DECISION[decision] == d.decision and (not code or code == d.expected_code)
            table.decisions_agree += ok
            if not ok:
                table.note("decision", value, f"{incident.incident_id} {d.disclosure_id} -> {d.decision}")
    return table


def render(table: Table, out: IO[str]) -> None:
    """The agreement table as Markdown."""
    print(f"{table.incidents} generated incidents, judged at {AS_OF}\n", file=out)
    print("| rule | labelled | agree | missed | extra |", file=out)
    print("|---|---:|---:|---:|---:|", file=out)
    rows = table.rows()
    for rule, labelled, agree, missed, extra in rows:
        print(f"| {rule} | {labelled} | {agree} | {missed} | {extra} |", file=out)
    total = [sum(int(row[i]) for row in rows) for i in range(1, 5)]
    print(f"| all | {total[0]} | {total[1]} | {total[2]} | {total[3]} |", file=out)
    print(
        f"\ndecisions: {table.decisions_agree} of {table.decisions} disclosures agree with the label "
        "(decision and expected code)",
        file=out,
    )
    for key, where in sorted(table.examples.items()):
        print(f"  {key}: {', '.join(where)}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, check, and print the agreement table."""
    parser = argparse.ArgumentParser(prog="python -m bench.agreement", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    table = measure(generate(args.count, args.seed, truth=True), load_rules())
    render(table, sys.stdout)
    return 0 if not table.missed and not table.extra and table.decisions == table.decisions_agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
