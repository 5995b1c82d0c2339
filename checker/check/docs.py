"""Rule documentation generated from the YAML: `rules explain` and docs/rules/ share this text."""

from __future__ import annotations

from pathlib import Path

import yaml

from checker.check.examples import example_incident, jsonable
from checker.rules.conditions import Leaf, Node
from checker.rules.loader import AREAS, Rule, RuleSet, load_rules


def node_text(node: Node, top: bool = True) -> str:
    """A condition as the engine evaluates it: `all` joined by "and", `any` by "or", in brackets
    when nested, so an either/or never reads as an and."""
    parts = [item.text if isinstance(item, Leaf) else node_text(item, item.op == node.op) for item in node.items]
    parts = [p for p in parts if p]
    if not parts:
        return ""
    text = (" and " if node.op == "all" else " or ").join(parts)
    return text if top or len(parts) == 1 else f"({text})"


def rule_text(ruleset: RuleSet, rule: Rule) -> str:
    """The full Markdown page of one rule."""
    m = rule.model
    s = m.source
    lines = [
        f"# {m.id} {m.title}",
        "",
        f"`{m.name}` | area: **{m.area}** | outcome: **{m.outcome}** | status: {m.status} | "
        f"in force from {m.effective.from_}" + (f" to {m.effective.to}" if m.effective.to else ""),
        "",
        "## Why",
        "",
        " ".join(m.rationale.split()),
        "",
        "## Source",
        "",
        f"{s.document}, {s.section}, edition {s.edition} [{s.tag}]" + (f": <{s.url}>" if s.url else ""),
        "",
        f"> {' '.join(s.quote.split())}",
        "",
        "## Message",
        "",
        " ".join(m.message.split()),
        "",
    ]
    if m.params:
        lines += ["## Parameters", ""] + [f"- `{k}`: {v}" for k, v in m.params.items()] + [""]
    lines += ["## Condition", ""]
    for n, branch in enumerate(rule.branches):
        if len(rule.branches) > 1:
            lines.append(f"Alternative {n + 1}:")
        for p in branch.patterns:
            head = f"no {p.kind}" if p.absent else f"a {p.kind} `{p.alias}`"
            lines.append(f"- {head} where " + (node_text(p.test) or "anything"))
    lines += ["", "## Examples", ""]
    for ex in m.examples:
        expect = ", ".join(f"{e.rule} on {e.subject}" for e in ex.expect) or "no finding"
        lines.append(f"### {ex.name}: {expect}")
        lines.append("")
        if ex.description:
            lines += [" ".join(ex.description.split()), ""]
        body = ex.patch if ex.patch is not None else example_incident(ruleset, ex)
        label = "Patch on the baseline incident" if ex.patch is not None else "Incident"
        lines += [
            f"{label}" + (f", judged at {ex.as_of}" if ex.as_of else "") + ":",
            "",
            "```yaml",
            yaml.safe_dump(jsonable(body), sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip(),
            "```",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_docs(ruleset: RuleSet, target: Path) -> list[Path]:
    """Write one page per rule and an index by area; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index = [
        "# crimecheck rules",
        "",
        "Generated from rules/ by `python -m checker.check.docs`; do not edit by hand.",
        "",
    ]
    for area in AREAS:
        rules = [r for r in ruleset.rules if r.model.area == area]
        if not rules:
            continue
        index += [f"## {area}", "", "| id | outcome | title | edition |", "|---|---|---|---|"]
        for r in rules:
            index.append(f"| [{r.id}]({r.id}.md) | {r.model.outcome} | {r.model.title} | {r.model.source.edition} |")
            page = target / f"{r.id}.md"
            page.write_text(rule_text(ruleset, r), encoding="utf-8")
            written.append(page)
        index.append("")
    (target / "index.md").write_text("\n".join(index), encoding="utf-8")
    written.append(target / "index.md")
    for stale in target.glob("*.md"):
        if stale not in written:
            stale.unlink()
    return written


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[2] / "docs" / "rules"
    print(f"wrote {len(write_docs(load_rules(), out))} files to {out}")
