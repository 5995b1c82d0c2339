"""Why a rule fired, or why it did not: the conditions of a branch evaluated on real facts."""

from __future__ import annotations

from typing import Any

from checker.rules.conditions import Branch, Leaf, Node, leaves
from checker.rules.evaluate import test_leaf, test_node
from checker.rules.loader import Rule


def _value(leaf: Leaf, fact: dict[str, Any]) -> Any:
    if leaf.op in ("contains", "lacks"):
        return sorted(fact.get(leaf.field, {}))
    return fact.get(leaf.field, "(absent)")


def fired_conditions(rule: Rule, bindings: dict[str, dict[str, Any]]) -> list[str]:
    """The conditions of the branch that matched, each with the value it saw."""
    for branch in rule.branches:
        if all(p.absent or p.alias in bindings for p in branch.patterns):
            lines = []
            for p in branch.patterns:
                if p.absent:
                    lines.append(f"no {p.kind} with " + " and ".join(leaf.text for leaf in leaves(p.test)))
                    continue
                fact = bindings[p.alias]
                for leaf in leaves(p.test):
                    mark = "yes" if test_leaf(leaf, fact, bindings) else "no"
                    lines.append(f"{leaf.describe(p.alias)}  [{p.alias}.{leaf.field} = {_value(leaf, fact)}: {mark}]")
            return lines
    return []


def why_not(rule: Rule, facts: list[dict[str, Any]]) -> list[str]:
    """For each branch, how far the facts got and the first conditions that failed."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        by_kind.setdefault(f["kind"], []).append(f)
    out: list[str] = []
    for n, branch in enumerate(rule.branches):
        prefix = f"branch {n + 1}: " if len(rule.branches) > 1 else ""
        out.extend(prefix + line for line in _why_not_branch(branch, by_kind))
    return out


def _why_not_branch(branch: Branch, by_kind: dict[str, list[dict[str, Any]]]) -> list[str]:
    bound: dict[str, dict[str, Any]] = {}
    for p in branch.patterns:
        candidates = [f for f in by_kind.get(p.kind, []) if f not in bound.values()]
        if p.absent:
            blockers = [f for f in candidates if test_node(p.test, f, bound)]
            if blockers:
                return [f"fails: a {p.kind} exists that the rule requires to be absent: {fact_label(blockers[0])}"]
            continue
        match = next((f for f in candidates if test_node(p.test, f, bound)), None)
        if match is None:
            if not candidates:
                return [f"fails: there is no {p.kind} fact"]
            lines = [f"fails: no {p.kind} satisfies the pattern {p.alias}:"]
            for f in candidates:
                failed = [leaf for leaf in leaves(p.test) if not test_leaf(leaf, f, bound)]
                shown = "; ".join(f"{leaf.describe(p.alias)} (is {_value(leaf, f)})" for leaf in failed) or _nested(
                    p.test
                )
                lines.append(f"  {fact_label(f)}: {shown}")
            return lines
        bound[p.alias] = match
    return ["all conditions hold: the rule fires"]


def fact_label(fact: dict[str, Any]) -> str:
    """A fact as a person reads it: its kind and the id of what it stands for (`link CRN-1>D1`).

    The fact's own `id` is a number the checker assigns, which means nothing to a reader."""
    kind = str(fact.get("kind"))
    if kind == "link":
        return f"link {fact.get('record_id')}>{fact.get('disclosure_id')}"
    return f"{kind} {fact.get(kind + '_id')}"


def _nested(node: Node) -> str:
    return "an any: group has no true alternative"
