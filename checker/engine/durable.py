"""The durable-rules adapter: the only module that imports `durable`.

Rules become durable-rules JSON rulesets (one durable rule per branch of each YAML rule). Every
incident's facts are asserted as facts (never events, which the first matching rule would consume)
into a session of their own, which is deleted afterwards. A catch-all rule keeps a fact that matches
nothing from raising, and a host without dispatcher threads makes every action run inside the
assert call (see shared/design/durable-rules.md).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from typing import Any

import durable_rules_engine as _c
import orjson
from durable import engine as _durable

from checker.engine.compile import branch_json
from checker.rules.conditions import Branch, Ref, leaves
from checker.rules.fact_ids import check_id

Bindings = dict[str, dict[str, Any]]
Hit = tuple[int, Bindings]  # (index of the compiled branch, facts bound by alias)
MAX_RULES_PER_RULESET = 50  # error 303 appears past ~50 broad rules on one ruleset (deep dive 3.5: ~50 each)
KIND_ORDER = ("incident", "victim", "record", "link", "disclosure", "mention")


class _SyncHost(_durable.Host):  # type: ignore[misc]
    """A host without the background dispatcher threads, so actions run inside assert calls."""

    def _run(self) -> None:
        pass


def _order(branches: Sequence[Branch]) -> list[str] | None:
    """An order of fact kinds that asserts every negating kind before the kinds it negates.

    durable-rules does not withdraw a `$not` activation when the negating fact arrives later."""
    before: dict[str, set[str]] = {k: set() for k in KIND_ORDER}
    for b in branches:
        for absent in (p for p in b.patterns if p.absent):
            for bound in (p for p in b.patterns if not p.absent):
                before[bound.kind].add(absent.kind)
    order: list[str] = []
    pending = list(KIND_ORDER)
    while pending:
        ready = next((k for k in pending if before[k] <= set(order)), None)
        if ready is None:
            return None
        order.append(ready)
        pending.remove(ready)
    return order


ALWAYS_ASSERTED = ("kind", "id")  # every rule tests kind; id keeps facts distinct and maps bindings back


def tested_fields(branches: Sequence[Branch]) -> dict[str, tuple[str, ...]]:
    """For each fact kind some branch binds or tests, the fields a branch tests on it, directly or
    as the target of a `ref`, after `ALWAYS_ASSERTED`.

    Only these reach the engine: a field no rule reads cannot change a match, and each one left out
    is one less to serialise and parse for every fact of every incident."""
    fields: dict[str, set[str]] = {}
    for b in branches:
        kind_of = {p.alias: p.kind for p in b.patterns}
        for p in b.patterns:
            fields.setdefault(p.kind, set())
            for leaf in leaves(p.test):
                fields[p.kind].add(leaf.field)
                if isinstance(leaf.value, Ref):
                    fields.setdefault(kind_of[leaf.value.alias], set()).add(leaf.value.field)
    return {kind: (*ALWAYS_ASSERTED, *sorted(names - set(ALWAYS_ASSERTED))) for kind, names in fields.items()}


class DurableEngine:
    """Evaluates compiled branches against one incident's facts at a time."""

    def __init__(self, branches: Sequence[Branch], name: str = "crimecheck") -> None:
        self._branches = list(branches)
        self._sid = itertools.count()
        self._host = _SyncHost()
        self._shards: list[tuple[Any, list[tuple[str, tuple[str, ...]]], dict[str, int]]] = []
        groups: list[list[int]] = []
        for i in range(len(self._branches)):
            for group in groups:
                if len(group) < MAX_RULES_PER_RULESET and _order([self._branches[j] for j in (*group, i)]):
                    group.append(i)
                    break
            else:
                groups.append([i])
        definition: dict[str, Any] = {}
        plan: list[tuple[str, list[tuple[str, tuple[str, ...]]], dict[str, int]]] = []
        for n, group in enumerate(groups):
            shard = f"{name}_{n}"
            order = _order([self._branches[j] for j in group])
            if order is None:  # a single branch can always be ordered: absence of a bound kind is refused
                raise AssertionError(f"no assertion order for branch {group[0]}")
            rules: dict[str, Any] = {f"b{j}": {"all": branch_json(self._branches[j]), "run": _noop} for j in group}
            rules["zz_catch_all"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "cap": 65535, "run": _noop}
            definition[shard] = rules
            # a shard is given only the kinds its branches bind or test (the others match nothing
            # there), each with only the fields they test
            fields = tested_fields([self._branches[j] for j in group])
            plan.append((shard, [(k, fields[k]) for k in order if k in fields], {f"b{j}": j for j in group}))
        self._host.register_rulesets(definition)
        self._shards = [(self._host.get_ruleset(shard)._handle, order, names) for shard, order, names in plan]

    def evaluate(self, facts: list[dict[str, Any]]) -> list[Hit]:
        """Every (branch, bindings) the facts of one incident match; the session is then deleted.

        This drives the C engine directly, the way durable's own Ruleset does (assert, then start
        and complete each action), without its per-action Closure and state round trip: the same
        matches, measured about a third faster. It relies on durable-rules 2.0.28, which is pinned
        and has had no release since 2020; the engine/reference agreement tests guard it."""
        sid = f"s{next(self._sid)}"
        by_kind: dict[str, list[dict[str, Any]]] = {}
        full: dict[int, dict[str, Any]] = {}
        for fact in facts:
            check_id(fact)
            if fact["id"] in full:  # bindings are mapped back by id, so an id must name one fact
                raise ValueError(f"two facts have the id {fact['id']}")
            full[fact["id"]] = fact
            by_kind.setdefault(fact["kind"], []).append(fact)
        hits: list[Hit] = []
        for handle, kinds, names in self._shards:
            batch = [_asserted(f, keep, sid) for kind, keep in kinds for f in by_kind.get(kind, ())]
            if not batch:  # nothing its branches could bind: no session to open
                continue
            try:
                code, offset = _c.assert_facts(handle, orjson.dumps(batch).decode())
                if code == 2:
                    # the facts before the repeated one queued actions: deleting the session with
                    # them still queued crashes the process, so run them out first
                    result = _c.start_action_for_state(handle, offset)
                    while result and result[1]:
                        result = (None, _c.complete_and_start_action(handle, offset))
                    raise RuntimeError("the engine saw a fact twice (MessageObserved)")
                if code == 0:
                    result = _c.start_action_for_state(handle, offset)
                    message = result[1] if result else None
                    while message:
                        for name, bindings in orjson.loads(message).items():
                            index = names.get(name)
                            if index is not None:
                                # each bound fact as the checker built it, not only the fields asserted
                                bound = {
                                    k: {**full[v["id"]], "sid": sid} for k, v in bindings.items() if isinstance(v, dict)
                                }
                                hits.append((index, bound))
                        message = _c.complete_and_start_action(handle, offset)
            finally:
                with contextlib.suppress(Exception):  # a session never created has nothing to delete
                    _c.delete_state(handle, sid)
        return hits


MAX_FACT_FIELDS = 250  # a fact of 254+ fields, nested ones included, is silently never matched


def _asserted(fact: dict[str, Any], keep: tuple[str, ...], sid: str) -> dict[str, Any]:
    """The part of a fact a ruleset is given: the fields its branches test, and the session. Refuses
    what the C engine would silently ignore (too many fields, a float) rather than report no
    findings for it."""
    asserted: dict[str, Any] = {}
    fields = 0
    float_field = None
    for name in keep:  # one pass: this runs for every fact of every incident
        if name in fact:
            value = asserted[name] = fact[name]
            kind = type(value)
            if kind is str or kind is bool or kind is int or value is None:  # nearly every value
                continue
            if isinstance(value, dict):
                fields += len(value)
            elif isinstance(value, float) and float_field is None:
                float_field = name
    fields += len(asserted)
    if fields > MAX_FACT_FIELDS:
        raise ValueError(f"fact {fact['id']} has {fields} fields; the engine ignores more than {MAX_FACT_FIELDS}")
    if float_field is not None:
        raise ValueError(f"fact {fact['id']}: {float_field} is a float, which the engine may ignore")
    asserted["sid"] = sid
    return asserted


def _noop(c: Any) -> None:
    """The catch-all rule's action: it exists so unmatched facts do not raise."""
