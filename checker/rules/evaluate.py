"""The pure-Python reference evaluator: the twin of the durable-rules engine, with its semantics,
so the two can be proved to agree (tests/test_agreement.py) and rules can be explained."""

from __future__ import annotations

from typing import Any

from checker.rules.conditions import Branch, Leaf, Node, Ref


def test_leaf(leaf: Leaf, fact: dict[str, Any], bound: dict[str, dict[str, Any]]) -> bool:
    """Whether one leaf holds, with durable-rules' semantics (a missing field fails every test
    except `exists: false` and `lacks`)."""
    if leaf.op == "exists":
        return (leaf.field in fact) is leaf.value
    if leaf.op in ("contains", "lacks"):
        present = leaf.value in fact.get(leaf.field, {})
        return present if leaf.op == "contains" else not present
    if leaf.field not in fact:
        return False
    have = fact[leaf.field]
    want = leaf.value
    if isinstance(want, Ref):
        want = bound[want.alias].get(want.field)
        if want is None:
            return False
    if leaf.op == "in":
        return bool(have in want)
    if leaf.op == "not_in":
        return bool(have not in want)
    result: bool = {
        "eq": lambda: have == want,
        "ne": lambda: have != want,
        "lt": lambda: have < want,
        "lte": lambda: have <= want,
        "gt": lambda: have > want,
        "gte": lambda: have >= want,
    }[leaf.op]()
    return result


def test_node(node: Node, fact: dict[str, Any], bound: dict[str, dict[str, Any]]) -> bool:
    """Whether a node holds for a fact."""
    results = (test_node(i, fact, bound) if isinstance(i, Node) else test_leaf(i, fact, bound) for i in node.items)
    return all(results) if node.op == "all" else any(results)


def match_branch(branch: Branch, by_kind: dict[str, list[dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    """Every binding of aliases to distinct facts that satisfies the branch."""
    found: list[dict[str, dict[str, Any]]] = []
    bound: dict[str, dict[str, Any]] = {}

    def visit(i: int) -> None:
        if i == len(branch.patterns):
            found.append({a: f for a, f in bound.items()})
            return
        p = branch.patterns[i]
        used = {id(f) for f in bound.values()}
        candidates = [f for f in by_kind.get(p.kind, []) if id(f) not in used]
        if p.absent:
            if not any(test_node(p.test, f, bound) for f in candidates):
                visit(i + 1)
            return
        for f in candidates:
            if test_node(p.test, f, bound):
                bound[p.alias] = f
                visit(i + 1)
                del bound[p.alias]

    visit(0)
    return found


def evaluate_reference(
    branches: list[Branch], facts: list[dict[str, Any]]
) -> list[tuple[int, dict[str, dict[str, Any]]]]:
    """The pure-Python twin of the engine: every (branch index, bindings) the facts match."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        by_kind.setdefault(fact["kind"], []).append(fact)
    return [(i, b) for i, branch in enumerate(branches) for b in match_branch(branch, by_kind)]
