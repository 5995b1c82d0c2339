"""The `when` language of a rule: parsed once into an AST that both the durable-rules compiler
and the pure-Python reference evaluator read, so the two can be proved to agree.

A condition is a list of patterns (one branch), or `{any: [branch, branch, ...]}`. A pattern
binds one fact (`{kind: disclosure, as: d, where: ...}`) or says none exists
(`{kind: link, absent: true, where: ...}`). `where` maps field names to tests; `any:`/`all:` nest.
A test is a literal (equality) or operators: eq ne lt lte gt gte in not_in exists contains lacks.
An operand is a literal, `{param: NAME}` or `{ref: alias.field}` (a field of an earlier pattern).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.rules.facts_schema import FACT_SCHEMA, FieldSpec
from checker.rules.reference import duration_seconds

Loc = tuple[str | int, ...]
OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "contains", "lacks")
_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_MAX_ALTERNATIVES = 500  # durable-rules hangs past 512 alternatives on one field


@dataclass(frozen=True)
class Ref:
    """A field of a fact bound by an earlier pattern."""

    alias: str
    field: str


@dataclass(frozen=True)
class Leaf:
    """One test on one field of the pattern's fact."""

    field: str
    op: str
    value: Any  # a literal, a tuple (in / not_in), or a Ref
    text: str  # how the rule wrote it, for explanations

    def describe(self, alias: str) -> str:
        """The test in words, as `d.window_expired == true`."""
        return f"{alias}.{self.text}"


@dataclass(frozen=True)
class Node:
    """All or any of its items."""

    op: str  # "all" | "any"
    items: tuple[Leaf | Node, ...]


@dataclass(frozen=True)
class Pattern:
    """One fact a rule binds, or a fact that must not exist."""

    kind: str
    alias: str
    absent: bool
    test: Node


@dataclass(frozen=True)
class Branch:
    """A conjunction of patterns; a rule fires when any of its branches matches."""

    patterns: tuple[Pattern, ...]

    @property
    def aliases(self) -> list[str]:
        """Aliases of the bound (not absent) patterns, in order."""
        return [p.alias for p in self.patterns if not p.absent]


@dataclass
class Parser:
    """Parses and type-checks a `when` block against the fact schema; collects every error."""

    params: dict[str, Any]
    errors: list[tuple[Loc, str]] = field(default_factory=list)

    def parse(self, when: Any, loc: Loc) -> tuple[Branch, ...]:
        """The branches of a condition; errors are collected, not raised."""
        if isinstance(when, dict) and set(when) == {"any"} and isinstance(when["any"], list):
            branches = [self._branch(b, (*loc, "any", i)) for i, b in enumerate(when["any"])]
        else:
            branches = [self._branch(when, loc)]
        return tuple(b for b in branches if b is not None)

    def _err(self, loc: Loc, msg: str) -> None:
        self.errors.append((loc, msg))

    def _branch(self, spec: Any, loc: Loc) -> Branch | None:
        if not isinstance(spec, list) or not spec:
            self._err(loc, "a condition is a non-empty list of patterns, or {any: [list, ...]}")
            return None
        bound: dict[str, str] = {}
        patterns: list[Pattern] = []
        for i, item in enumerate(spec):
            p = self._pattern(item, (*loc, i), bound, i)
            if p is not None:
                patterns.append(p)
                if not p.absent:
                    bound[p.alias] = p.kind
        if patterns and patterns[0].absent:
            self._err((*loc, 0), "the first pattern must bind a fact, not test for absence")
        bound_kinds = {p.kind for p in patterns if not p.absent}
        for i, p in enumerate(patterns):
            if p.absent and p.kind in bound_kinds:
                # Absence of a kind the rule also binds depends on assertion order inside the
                # engine; refuse it rather than risk the engine and the reference disagreeing.
                self._err((*loc, i, "kind"), f"an absent pattern cannot test a kind the rule binds ({p.kind})")
        return Branch(tuple(patterns))

    def _pattern(self, spec: Any, loc: Loc, bound: dict[str, str], index: int) -> Pattern | None:
        if not isinstance(spec, dict):
            self._err(loc, "a pattern is a mapping with kind, as/absent and where")
            return None
        unknown = set(spec) - {"kind", "as", "absent", "where"}
        if unknown:
            self._err((*loc, sorted(unknown)[0]), "unknown key; expected kind, as, absent, where")
        kind = spec.get("kind")
        if kind not in FACT_SCHEMA:
            self._err((*loc, "kind"), f"kind must be one of {', '.join(FACT_SCHEMA)}; got {kind!r}")
            return None
        absent = spec.get("absent", False)
        if not isinstance(absent, bool):
            self._err((*loc, "absent"), "absent must be true or false")
            absent = False
        alias = spec.get("as")
        if absent:
            if alias is not None:
                self._err((*loc, "as"), "an absent pattern binds nothing; drop `as`")
            alias = f"_none{index}"
        elif not isinstance(alias, str) or not alias.isidentifier() or alias.startswith("_"):
            self._err((*loc, "as"), "a bound pattern needs `as: <alias>` (a name like d or rec)")
            return None
        elif alias in bound or alias == "params":
            self._err((*loc, "as"), f"alias {alias!r} is already used")
        where = spec.get("where", {})
        test = self._node("all", where, (*loc, "where"), kind, bound)
        return Pattern(kind, alias, absent, test)

    def _node(self, op: str, spec: Any, loc: Loc, kind: str, bound: dict[str, str]) -> Node:
        items: list[Leaf | Node] = []
        if op == "any":
            if not isinstance(spec, list) or not spec:
                self._err(loc, "any: takes a non-empty list of conditions")
                return Node(op, ())
            for i, sub in enumerate(spec):
                items.append(self._node("all", sub, (*loc, i), kind, bound))
            return Node(op, tuple(items))
        if isinstance(spec, list):
            for i, sub in enumerate(spec):
                items.append(self._node("all", sub, (*loc, i), kind, bound))
            return Node(op, tuple(items))
        if not isinstance(spec, dict):
            self._err(loc, "where: takes a mapping of field: test")
            return Node(op, ())
        for name, test in spec.items():
            if name in ("any", "all"):
                items.append(self._node(name, test, (*loc, name), kind, bound))
                continue
            fspec = FACT_SCHEMA[kind].get(name)
            if fspec is None:
                self._err((*loc, name), f"{kind} facts have no field {name!r}; fields: {', '.join(FACT_SCHEMA[kind])}")
                continue
            ops = test if isinstance(test, dict) and test and set(test) <= set(OPS) else {"eq": test}
            for opname, raw in ops.items():
                leaf = self._leaf(name, fspec, opname, raw, (*loc, name), bound)
                if leaf is not None:
                    items.append(leaf)
        return Node(op, tuple(items))

    def _operand(self, raw: Any, fspec: FieldSpec, loc: Loc, bound: dict[str, str]) -> Any:
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if name not in self.params:
                self._err(loc, f"no parameter {name!r} (rule params or settings.yaml)")
                return None
            raw = self.params[name]
            if fspec.type == "int" and (secs := duration_seconds(raw)) is not None:
                return secs
        if isinstance(raw, dict) and set(raw) == {"ref"}:
            alias, _, fname = str(raw["ref"]).partition(".")
            if alias not in bound:
                self._err(loc, f"ref {raw['ref']!r}: {alias!r} is not bound by an earlier pattern")
                return None
            target = FACT_SCHEMA[bound[alias]].get(fname)
            if target is None:
                self._err(loc, f"ref {raw['ref']!r}: {bound[alias]} facts have no field {fname!r}")
                return None
            if target.type != fspec.type:
                self._err(loc, f"ref {raw['ref']!r} is {target.type}, the field is {fspec.type}")
            return Ref(alias, fname)
        return self._literal(raw, fspec, loc)

    def _literal(self, raw: Any, fspec: FieldSpec, loc: Loc) -> Any:
        # Types are checked here because the engine coerces: '5' == 5 and true == 1 are true there.
        if fspec.type == "str" and isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw)
        if fspec.type == "int" and (secs := duration_seconds(raw)) is not None:
            return secs
        expected = {"str": str, "int": int, "bool": bool, "set": str}[fspec.type]
        if not isinstance(raw, expected) or (fspec.type == "int" and isinstance(raw, bool)):
            self._err(loc, f"expected a {fspec.type} value, got {raw!r}")
            return None
        return raw

    def _leaf(self, name: str, fspec: FieldSpec, op: str, raw: Any, loc: Loc, bound: dict[str, str]) -> Leaf | None:
        loc = (*loc, op) if op != "eq" or isinstance(raw, dict) else loc
        if op == "exists":
            if not isinstance(raw, bool):
                self._err(loc, "exists takes true or false")
                return None
            return Leaf(name, op, raw, f"{name} {'exists' if raw else 'is absent'}")
        if fspec.type == "set":
            if op not in ("contains", "lacks"):
                self._err(loc, f"{name} is a set: use contains or lacks")
                return None
            if not isinstance(raw, str) or not raw.isidentifier():
                self._err(loc, f"{op} takes one member name, got {raw!r}")
                return None
            return Leaf(name, op, raw, f"{name} {op} {raw}")
        if op in ("contains", "lacks"):
            self._err(loc, f"{op} applies to set fields only; {name} is {fspec.type}")
            return None
        if op in ("in", "not_in"):
            if not isinstance(raw, list) or not raw or len(raw) > _MAX_ALTERNATIVES:
                self._err(loc, f"{op} takes a list of 1 to {_MAX_ALTERNATIVES} values")
                return None
            values = tuple(self._literal(v, fspec, (*loc, i)) for i, v in enumerate(raw))
            return Leaf(name, op, values, f"{name} {op.replace('_', ' ')} [{', '.join(map(str, values))}]")
        if op in ("lt", "lte", "gt", "gte") and fspec.type == "bool":
            self._err(loc, f"{op} does not apply to true/false fields")
            return None
        value = self._operand(raw, fspec, loc, bound)
        if value is None:
            return None
        shown = f"{value.alias}.{value.field}" if isinstance(value, Ref) else _show(value, raw)
        return Leaf(name, op, value, f"{name} {_SYMBOL[op]} {shown}")


def _show(value: Any, raw: Any) -> str:
    if isinstance(raw, dict) and "param" in raw:
        return f"{raw['param']} ({value})"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def leaves(node: Node) -> list[Leaf]:
    """Every leaf under a node, in order."""
    out: list[Leaf] = []
    for item in node.items:
        out.extend(leaves(item) if isinstance(item, Node) else [item])
    return out


def guards(branch: Branch) -> dict[str, list[Leaf]]:
    """`exists` guards for optional fields other patterns refer to: durable-rules treats a
    comparison with a missing referenced field as true, so such a fact must not bind at all."""
    out: dict[str, list[Leaf]] = {}
    for p in branch.patterns:
        for leaf in leaves(p.test):
            if isinstance(leaf.value, Ref):
                target = next(q for q in branch.patterns if q.alias == leaf.value.alias)
                if not FACT_SCHEMA[target.kind][leaf.value.field].always:
                    out.setdefault(target.alias, []).append(
                        Leaf(leaf.value.field, "exists", True, f"{leaf.value.field} exists")
                    )
    return out


def with_guards(branch: Branch) -> Branch:
    """The branch with its reference guards made explicit, for both evaluators to share."""
    extra = guards(branch)
    if not extra:
        return branch
    return Branch(
        tuple(
            Pattern(p.kind, p.alias, p.absent, Node("all", (*extra.get(p.alias, []), p.test))) for p in branch.patterns
        )
    )


def _has_ref(node: Node) -> bool:
    return any(isinstance(leaf.value, Ref) for leaf in leaves(node))


def _split_any(node: Node) -> list[Node] | None:
    """The alternatives of the first `any` holding a join reference, each as a whole node; None
    when there is none. durable-rules ignores the literal alternatives of an `$or` that holds a
    reference to another fact (measured), so such an `any` must not reach the engine."""
    for i, item in enumerate(node.items):
        if isinstance(item, Leaf):
            continue
        if item.op == "any" and _has_ref(item):
            return [Node(node.op, (*node.items[:i], alt, *node.items[i + 1 :])) for alt in item.items]
        inner = _split_any(item)
        if inner is not None:
            return [Node(node.op, (*node.items[:i], alt, *node.items[i + 1 :])) for alt in inner]
    return None


def expand_ref_alternatives(branch: Branch) -> list[Branch]:
    """Equivalent branches without any `any` that holds a join reference: a bound pattern's
    alternatives become separate branches; an absent pattern's become several absent patterns
    (no fact matching A or B = no fact matching A and none matching B)."""
    for i, p in enumerate(branch.patterns):
        alternatives = _split_any(p.test)
        if alternatives is None:
            continue
        before, after = branch.patterns[:i], branch.patterns[i + 1 :]
        if p.absent:
            split = tuple(Pattern(p.kind, f"{p.alias}_{n}", True, alt) for n, alt in enumerate(alternatives))
            return expand_ref_alternatives(Branch((*before, *split, *after)))
        out: list[Branch] = []
        for alt in alternatives:
            out.extend(expand_ref_alternatives(Branch((*before, Pattern(p.kind, p.alias, False, alt), *after))))
        return out
    return [branch]
