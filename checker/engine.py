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
from collections.abc import Callable, Sequence
from typing import Any

from durable import engine as _durable

from checker.conditions import Branch, branch_json

Bindings = dict[str, dict[str, Any]]
Hit = tuple[int, Bindings]  # (index of the compiled branch, facts bound by alias)
MAX_RULES_PER_RULESET = 40  # error 303 appears past ~50 broad rules on one ruleset
KIND_ORDER = ("incident", "victim", "record", "link", "disclosure")


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


class DurableEngine:
    """Evaluates compiled branches against one incident's facts at a time."""

    def __init__(self, branches: Sequence[Branch], name: str = "crimecheck") -> None:
        self._branches = list(branches)
        self._hits: list[Hit] = []
        self._sid = itertools.count()
        self._host = _SyncHost()
        self._shards: list[tuple[str, list[str]]] = []
        groups: list[list[int]] = []
        for i in range(len(self._branches)):
            for group in groups:
                if len(group) < MAX_RULES_PER_RULESET and _order([self._branches[j] for j in (*group, i)]):
                    group.append(i)
                    break
            else:
                groups.append([i])
        definition: dict[str, Any] = {}
        for n, group in enumerate(groups):
            shard = f"{name}_{n}"
            order = _order([self._branches[j] for j in group])
            if order is None:  # a single branch can always be ordered: absence of a bound kind is refused
                raise AssertionError(f"no assertion order for branch {group[0]}")
            rules: dict[str, Any] = {
                f"b{j}": {"all": branch_json(self._branches[j]), "run": self._action(j)} for j in group
            }
            rules["zz_catch_all"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "cap": 65535, "run": _noop}
            definition[shard] = rules
            self._shards.append((shard, order))
        self._host.register_rulesets(definition)

    def _action(self, index: int) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            self._hits.append((index, {k: v for k, v in c._m.items() if isinstance(v, dict)}))

        return action

    def evaluate(self, facts: list[dict[str, Any]]) -> list[Hit]:
        """Every (branch, bindings) the facts of one incident match; the session is then deleted."""
        sid = f"s{next(self._sid)}"
        self._hits = []
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            by_kind.setdefault(fact["kind"], []).append({**fact, "sid": sid})
        for shard, order in self._shards:
            batch = [f for kind in order for f in by_kind.get(kind, [])]
            try:
                state = self._host.assert_facts(shard, batch)
            except _durable.MessageNotHandledException:
                state = None  # nothing matched: no findings from this shard
            finally:
                self._delete(shard, sid)
            if isinstance(state, dict) and "exception" in state:
                raise RuntimeError(f"a rule action failed: {state['exception']}")
        hits, self._hits = self._hits, []
        return hits

    def _delete(self, shard: str, sid: str) -> None:
        # a session that was never created has nothing to delete
        with contextlib.suppress(Exception):
            self._host.delete_state(shard, sid)


def _noop(c: Any) -> None:
    """The catch-all rule's action: it exists so unmatched facts do not raise."""
