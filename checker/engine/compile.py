"""The compiler from the condition AST to durable-rules' JSON ruleset form."""

from __future__ import annotations

from typing import Any

from checker.rules.conditions import Branch, Leaf, Node, Ref


def _leaf_json(leaf: Leaf) -> dict[str, Any]:
    f, v = leaf.field, leaf.value
    rhs: Any = {v.alias: v.field} if isinstance(v, Ref) else v
    if leaf.op == "eq":
        return {f: rhs}
    if leaf.op in ("ne", "lt", "lte", "gt", "gte"):
        return {"$" + ("neq" if leaf.op == "ne" else leaf.op): {f: rhs}}
    if leaf.op == "in":
        return {f: v[0]} if len(v) == 1 else {"$or": [{f: x} for x in v]}
    if leaf.op == "not_in":
        return {"$and": [{"$neq": {f: x}} for x in v]}
    if leaf.op == "exists":
        return {("$ex" if v else "$nex"): {f: 1}}
    if leaf.op == "contains":
        return {f"{f}.{v}": True}
    return {"$nex": {f"{f}.{v}": 1}}  # lacks


def _node_json(node: Node) -> dict[str, Any]:
    parts = [_node_json(i) if isinstance(i, Node) else _leaf_json(i) for i in node.items]
    if not parts:
        return {"$ex": {"kind": 1}}
    if len(parts) == 1:
        return parts[0]
    return {"$and" if node.op == "all" else "$or": parts}


def branch_json(branch: Branch) -> list[dict[str, Any]]:
    """The `all` list of one durable-rules rule for this branch."""
    out: list[dict[str, Any]] = []
    for p in branch.patterns:
        expr = {"$and": [{"kind": p.kind}, _node_json(p.test)]}
        out.append({(f"{p.alias}$not" if p.absent else p.alias): expr})
    return out
