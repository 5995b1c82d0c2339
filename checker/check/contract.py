"""docs/contract.md, generated: every field of the incident record, its meaning, type, an example
and which rules read it.

The fields and their types come from the pydantic models (checker.core.models), so a field added to the
contract appears here at the next `python -m checker.check.contract`. Which rules read a field is worked
out from the rules themselves: each rule's conditions and message name fact fields (rules/), and
FACT_SOURCES below says which contract fields build_facts computes each fact field from. Examples
are the first value found in the sample incidents (fixtures/incidents and the rules' baseline),
else EXAMPLES below.

`python -m checker.check.contract` writes docs/contract.md; `--check` exits 1 when it is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from checker.core.models import Incident
from checker.rules.conditions import Branch, Leaf, Node, Ref
from checker.rules.loader import RuleSet, load_rules

# Contract paths build_facts reads for each fact field. `*` after a kind means every fact of that
# kind (its id). The decision a disclosure needs (checker.check.facts.decide) is one derived value that
# many fields feed; it is spelt out once as DECISION.
DECISION = (
    "disclosures[].offence",
    "victims[].age",
    "victims[].sex",
    "occurred_in_force_area",
    "disclosures[].occurred_in_force_area",
    "reporter",
    "disclosures[].reported_by",
    "disclosures[].credible_evidence_to_contrary",
    "disclosures[].only_victim_is_police_officer",
    "disclosures[].warned_and_stopped",
    "disclosures[].victim_confirmed",
    "disclosures[].victim_traceable",
    "disclosures[].victim_id",
    "disclosures[].suspect_id",
    "disclosures[].disclosed_at",
    "reported_at",
)
DISCLOSED = ("disclosures[].disclosed_at", "reported_at")
# the principal-crime group: one victim's disclosures against one suspect made at the same moment
PRINCIPAL = (
    "disclosures[].victim_id",
    "disclosures[].suspect_id",
    "disclosures[].disclosed_at",
    "disclosures[].offence",
)
# the domestic abuse test: both parties, their ages and how they are related
DOMESTIC = (
    "victims[].relationship_to_suspect",
    "victims[].age",
    "disclosures[].suspect_id",
    "suspects[].age",
    "suspects[].date_of_birth",
    "suspects[].relationships[].relationship",
    "suspects[].relationships[].victim_id",
    "disclosures[].offence",
)
LINKED = ("records[].disclosure_ids", "records[].victim_id", "disclosures[].victim_id", "disclosures[].offence")

FACT_SOURCES: dict[str, tuple[str, ...]] = {
    "*.reported_on": ("reported_at",),
    "incident.incident_id": ("incident_id",),
    "incident.reporter": ("reporter",),
    "incident.channel": ("channel",),
    "incident.qualifiers": ("qualifiers",),
    "incident.asb_personal": ("qualifiers",),
    "incident.referral": ("reporter", "qualifiers"),
    "incident.in_force_area": ("occurred_in_force_area",),
    "incident.victim_count": ("victims",),
    "incident.disclosure_count": ("disclosures",),
    "incident.record_count": ("records",),
    "victim.victim_id": ("victims[].victim_id",),
    "victim.age": ("victims[].age",),
    "victim.sex": ("victims[].sex",),
    "victim.relationship": ("victims[].relationship_to_suspect",),
    "victim.partner_or_family": ("victims[].relationship_to_suspect", "victims[].age"),
    "victim.vulnerable": ("victims[].vulnerable",),
    "disclosure.disclosure_id": ("disclosures[].disclosure_id",),
    "disclosure.offence": ("disclosures[].offence",),
    "disclosure.offence_name": ("disclosures[].offence",),
    "disclosure.family": ("disclosures[].offence",),
    "disclosure.group": ("disclosures[].offence",),
    "disclosure.subgroup": ("disclosures[].offence",),
    "disclosure.is_rape": ("disclosures[].offence",),
    "disclosure.conduct": ("disclosures[].offence",),
    "disclosure.victim_based": ("disclosures[].offence",),
    "disclosure.expected_code": ("disclosures[].offence", "victims[].age", "victims[].sex"),
    "disclosure.banded": ("disclosures[].offence",),
    "disclosure.victim_id": ("disclosures[].victim_id",),
    "disclosure.victim_age": ("victims[].age", "disclosures[].victim_id"),
    "disclosure.victim_sex": ("victims[].sex", "disclosures[].victim_id"),
    "disclosure.victim_attended": ("disclosures[].victim_attended",),
    "disclosure.principal_id": PRINCIPAL,
    "disclosure.in_addition": (*PRINCIPAL, "reported_at"),
    "disclosure.suspect_id": ("disclosures[].suspect_id",),
    "disclosure.reported_by": ("disclosures[].reported_by", "reporter"),
    "disclosure.victim_confirmed": ("disclosures[].victim_confirmed",),
    "disclosure.victim_traceable": ("disclosures[].victim_traceable",),
    "disclosure.credible_evidence": ("disclosures[].credible_evidence_to_contrary",),
    "disclosure.in_force_area": ("disclosures[].occurred_in_force_area", "occurred_in_force_area"),
    "disclosure.disclosed_at": DISCLOSED,
    "disclosure.deadline": DISCLOSED,
    "disclosure.age_s": DISCLOSED,
    "disclosure.left_s": DISCLOSED,
    "disclosure.window_expired": DISCLOSED,
    "disclosure.decision": DECISION,
    "disclosure.decision_reason": DECISION,
    "disclosure.state_based": ("disclosures[].offence",),
    "disclosure.known": ("disclosures[].offence",),
    "disclosure.recorded_by": ("disclosures[].offence",),
    "disclosure.victim_child": ("victims[].age", "disclosures[].victim_id"),
    "disclosure.victim_vulnerable": ("victims[].age", "victims[].vulnerable", "disclosures[].victim_id"),
    "disclosure.domestic": DOMESTIC,
    "disclosure.hate": ("disclosures[].hate",),
    "disclosure.hate_strands": ("disclosures[].hate",),
    "disclosure.hate_incident": ("qualifiers",),
    "disclosure.disclosed_text": DISCLOSED,
    "disclosure.deadline_text": DISCLOSED,
    "disclosure.decision_text": DECISION,
    "record.record_id": ("records[].record_id",),
    "record.classification": ("records[].classification",),
    "record.is_n100": ("records[].classification",),
    "record.family": ("records[].classification",),
    "record.group": ("records[].classification",),
    "record.subgroup": ("records[].classification",),
    "record.status": ("records[].status",),
    "record.live": ("records[].status",),
    "record.victim_id": ("records[].victim_id",),
    "record.recorded_at": ("records[].recorded_at",),
    "record.flags": ("records[].flags",),
    "record.personal_connection_required": ("records[].classification",),
    "record.n100_reason": ("records[].n100_reason",),
    "record.n100_reason_valid": ("records[].n100_reason",),
    "record.converted": ("records[].converted_to",),
    "record.has_cancellation": ("records[].cancellation",),
    "record.cancel_category": ("records[].cancellation.category",),
    "record.authorised_by": ("records[].cancellation.authorised_by_role",),
    "record.has_avi": ("records[].cancellation.avi",),
    "record.grounds_withdrawal_only": ("records[].cancellation.avi", "records[].cancellation.reason"),
    "record.victim_informed": ("records[].cancellation.victim_informed",),
    "record.transferred_to": ("records[].cancellation.transferred_to",),
    "record.duplicate_of": ("records[].cancellation.duplicate_of",),
    "record.duplicate_exists": ("records[].cancellation.duplicate_of", "records[].record_id"),
    "record.authoriser_check": (
        "records[].status",
        "records[].classification",
        "records[].cancellation.category",
        "records[].cancellation.authorised_by_role",
    ),
    "record.allowed_roles": ("records[].cancellation.category", "records[].classification"),
    "record.known": ("records[].classification",),
    "record.unknown_shared": ("records[].classification", *LINKED),
    "record.recorded_by": ("records[].classification",),
    "record.cancel_category_text": ("records[].cancellation.category",),
    "record.avi_judgement": ("records[].cancellation.avi", "records[].cancellation.reason"),
    "record.duplicate_state": ("records[].cancellation.duplicate_of", "records[].record_id", "records[].status"),
    "record.separate_report": ("records[].cancellation.category", "records[].cancellation.duplicate_of", *LINKED),
    "record.victim_loses_crime": ("records[].cancellation.duplicate_of", "records[].status"),
    "record.in_force_area": ("disclosures[].occurred_in_force_area", "occurred_in_force_area", *LINKED),
    "record.domestic": (*DOMESTIC, *LINKED),
    "record.hate": ("disclosures[].hate", *LINKED),
    "record.hate_incident": ("qualifiers",),
    "link.known": ("records[].classification",),
    "link.classification_fault": (
        "records[].classification",
        "disclosures[].offence",
        "victims[].age",
        "victims[].sex",
    ),
    "link.fault_certain": ("records[].classification", "disclosures[].offence", "victims[].age", "victims[].sex"),
    "link.right_code": ("disclosures[].offence", "victims[].age", "victims[].sex"),
    "link.disclosure_id": LINKED,
    "link.record_id": LINKED,
    "link.victim_id": ("records[].victim_id",),
    "link.classification": ("records[].classification",),
    "link.family": ("records[].classification",),
    "link.group": ("records[].classification",),
    "link.subgroup": ("records[].classification",),
    "link.conduct": ("records[].classification",),
    "link.is_n100": ("records[].classification",),
    "link.live": ("records[].status",),
    "link.covers_principal": (*LINKED, "disclosures[].suspect_id"),
    "link.wrong_substitution": ("records[].classification", "disclosures[].offence"),
    "link.substitution_note": ("records[].classification", "disclosures[].offence"),
    "link.status": ("records[].status",),
    "link.elapsed_s": ("records[].recorded_at", *DISCLOSED),
    "link.first_decision": ("records[].recorded_at",),
    "link.converted": ("records[].converted_to",),
    "link.explicit": ("records[].disclosure_ids",),
    "mention.mention_id": ("narrative",),
    "mention.family": ("narrative",),
    "mention.phrase": ("narrative",),
    "mention.sentence": ("narrative",),
}

# What each field means. A field that another part of the code base adds to the models with a
# pydantic `description` needs no entry here.
MEANINGS: dict[str, str] = {
    "schema_version": "Version of this contract; always 1 for now.",
    "incident_id": "The incident's id; unique in a batch.",
    "force": "The force the incident belongs to.",
    "reported_at": "When the police first received the report.",
    "channel": "How the report came in.",
    "reporter": "Who reported it; the default for each disclosure's `reported_by`.",
    "incident_category": "The force's incident (NICL) opening or closing category, as free text.",
    "qualifiers": "Incident qualifiers: ASB, domestic abuse, safeguarding, hate, mental health.",
    "occurred_in_force_area": "The incident happened in this force's area (default for its disclosures).",
    "narrative": "Free text of the incident log; screened for offences no disclosure covers, never reported "
    "unless asked for.",
    "officer": "The officer who holds the incident (optional); breakdowns and the service's queue use it.",
    "team": "The team that holds the incident (optional); breakdowns and the queue filter on it.",
    "area": "The neighbourhood or command unit (optional); breakdowns and the queue filter on it.",
    "shift": "The shift the incident was taken on (optional); breakdowns and the queue filter on it.",
    "version": "The version of this incident in the records system; a service never lets an older one "
    "overwrite a newer one.",
    "updated_at": "When the records system last changed the incident; orders versions when `version` is absent.",
    "victims": "The victims named in the incident.",
    "victims[].victim_id": "The victim's id, unique in the incident.",
    "victims[].age": "Age in years at the time of the offence; null if unknown.",
    "victims[].sex": "The victim's sex, which with age picks the right code for banded offences.",
    "victims[].relationship_to_suspect": "Relationship to the suspect (domestic abuse flags turn on it).",
    "victims[].vulnerable": "The victim is recorded as vulnerable.",
    "disclosures": "The offences the report discloses, as assessed by the person reviewing it.",
    "disclosures[].disclosure_id": "The disclosure's id, unique in the incident.",
    "disclosures[].offence": "The Home Office offence code the circumstances amount to.",
    "disclosures[].victim_id": "The victim it concerns.",
    "disclosures[].suspect_id": "The suspect; needed for principal-crime and per-victim counting.",
    "disclosures[].disclosed_at": "When the offence was disclosed (default `reported_at`); the 24-hour "
    "recording clock starts here.",
    "disclosures[].reported_by": "Who disclosed it (default: the incident's `reporter`).",
    "disclosures[].victim_confirmed": "The victim confirmed a third-party report: true, false, or null when not asked.",
    "disclosures[].victim_traceable": "The victim can be traced to confirm.",
    "disclosures[].credible_evidence_to_contrary": "Credible evidence that it did not happen is immediately available.",
    "disclosures[].occurred_in_force_area": "It happened in this force's area (default: the incident's).",
    "disclosures[].only_victim_is_police_officer": "Public order aimed only at a police officer.",
    "disclosures[].warned_and_stopped": "The officer warned and the behaviour stopped.",
    "disclosures[].victim_attended": "The victim attended an appointment (never a condition of recording).",
    "suspects": "The suspects (optional): lets the rules see both parties, as the domestic abuse flag needs.",
    "suspects[].suspect_id": "The suspect's id, as disclosures[].suspect_id names it.",
    "suspects[].age": "Age in years at the time of the offence; null if unknown.",
    "suspects[].date_of_birth": "Date of birth, from which the age is worked out when age is not given.",
    "suspects[].sex": "The suspect's sex.",
    "suspects[].relationships": "How the suspect is related to each victim.",
    "suspects[].relationships[].victim_id": "The victim the relationship is with.",
    "suspects[].relationships[].relationship": "The relationship to that victim.",
    "disclosures[].hate": "Hate crime strands the disclosure carries; the hate crime flag turns on them.",
    "records": "The recording decisions made on the incident: crimes and N100s.",
    "records[].record_id": "The crime or N100 reference.",
    "records[].classification": "A Home Office offence code, or N100 (a reported incident of rape).",
    "records[].victim_id": "The victim the record is for.",
    "records[].disclosure_ids": "The disclosures this record answers; when empty, it answers those of the "
    "same victim and offence family.",
    "records[].recorded_at": "When the record was made.",
    "records[].flags": "Home Office crime flags such as domestic_abuse.",
    "records[].n100_reason": "For an N100: why it is not a crime.",
    "records[].converted_to": "For an N100: the record_id of the crime it became.",
    "records[].status": "Whether the record stands, was cancelled, or transferred.",
    "records[].cancellation": "How the record was cancelled or transferred; needed when status is not recorded.",
    "records[].cancellation.category": "Cancellation category: C1 transfer, C2 additional verifiable "
    "information, C3 duplicate, C4 recorded in error, C5 part of another crime.",
    "records[].cancellation.decided_at": "When the cancellation was decided.",
    "records[].cancellation.authorised_by_role": "The role that authorised it.",
    "records[].cancellation.avi": "The additional verifiable information, as text; null if none.",
    "records[].cancellation.reason": "The reason given, as free text.",
    "records[].cancellation.victim_informed": "The victim was told of the cancellation.",
    "records[].cancellation.transferred_to": "C1: the receiving force.",
    "records[].cancellation.duplicate_of": "C3: the record_id it duplicates.",
}

EXAMPLES: dict[str, Any] = {
    "records[].n100_reason": "victim_not_confirmed",
    "records[].converted_to": "CRN-25-0107",
    "records[].cancellation.transferred_to": "Example Police",
    "records[].cancellation.duplicate_of": "CRN-25-0110",
    "disclosures[].only_victim_is_police_officer": False,
    "disclosures[].warned_and_stopped": False,
    "disclosures[].victim_attended": True,
}


def _inner(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `None`, and whether None was allowed."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def type_text(info: FieldInfo) -> str:
    """The field's type in words: `text`, `one of: a, b`, `time (ISO 8601 with offset)`, `list of ...`."""
    annotation, nullable = _inner(_strip_annotated(info.annotation))
    annotation = _strip_annotated(annotation)
    text = _type_words(annotation)
    for meta in info.metadata:
        lo, hi = getattr(meta, "ge", None), getattr(meta, "le", None)
        if lo is not None or hi is not None:
            text += f" {lo}–{hi}" if lo is not None and hi is not None else ""
        if getattr(meta, "min_length", None):
            text += ", not empty"
        if getattr(meta, "max_length", None):
            text += f", at most {meta.max_length}"
    return text + (" or null" if nullable else "")


def _type_words(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of: " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        item = _strip_annotated(item)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return f"list of {item.__name__.lower()} objects"
        return f"list of {_type_words(item)}"
    if annotation is datetime:
        return "time (ISO 8601 with offset)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"{annotation.__name__.lower()} object"
    return {str: "text", int: "integer", bool: "true or false", float: "number"}.get(annotation, str(annotation))


def contract_fields(model: type[BaseModel] = Incident, prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """Every field path of the contract, depth first: `disclosures`, `disclosures[].offence`, ..."""
    out: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        path = prefix + name
        out.append((path, info))
        annotation, _ = _inner(_strip_annotated(info.annotation))
        annotation = _strip_annotated(annotation)
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            item = _strip_annotated(item)
            if isinstance(item, type) and issubclass(item, BaseModel):
                out.extend(contract_fields(item, path + "[]."))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(contract_fields(annotation, path + "."))
    return out


# ------------------------------------------------------------------------------------------------
# Which rules read which fact fields, from the rules' conditions and messages
# ------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\.(\w+)(?::\w+)?\}")


def _leaves(node: Node) -> list[Leaf]:
    out: list[Leaf] = []
    for item in node.items:
        out.extend(_leaves(item) if isinstance(item, Node) else [item])
    return out


def fact_fields_read(ruleset: RuleSet) -> dict[str, set[str]]:
    """For each `kind.field`, the ids of the rules whose conditions or message read it."""
    read: dict[str, set[str]] = {}
    for rule in ruleset.rules:
        branches: tuple[Branch, ...] = rule.branches
        for branch in branches:
            aliases = {p.alias: p.kind for p in branch.patterns}
            for pattern in branch.patterns:
                read.setdefault(f"{pattern.kind}.*", set()).add(rule.id)
                for leaf in _leaves(pattern.test):
                    read.setdefault(f"{pattern.kind}.{leaf.field}", set()).add(rule.id)
                    if isinstance(leaf.value, Ref) and leaf.value.alias in aliases:
                        read.setdefault(f"{aliases[leaf.value.alias]}.{leaf.value.field}", set()).add(rule.id)
            for alias, field in _PLACEHOLDER.findall(rule.model.message):
                if alias in aliases:
                    read.setdefault(f"{aliases[alias]}.{field}", set()).add(rule.id)
    return read


def rules_reading(ruleset: RuleSet) -> dict[str, set[str]]:
    """For each contract path, the ids of the rules that read a fact built from it."""
    facts = fact_fields_read(ruleset)
    out: dict[str, set[str]] = {}
    for key, rule_ids in facts.items():
        field = key.split(".", 1)[1]
        if field == "*":
            continue
        for path in FACT_SOURCES.get(key, ()) + FACT_SOURCES.get(f"*.{field}", ()):
            out.setdefault(path, set()).update(rule_ids)
    return out


def unmapped_fact_fields() -> list[str]:
    """Fact fields of checker.rules.facts_schema.FACT_SCHEMA that FACT_SOURCES does not trace to the contract."""
    from checker.rules.facts_schema import FACT_SCHEMA

    return [
        f"{kind}.{field}"
        for kind, fields in FACT_SCHEMA.items()
        for field in fields
        if f"{kind}.{field}" not in FACT_SOURCES and f"*.{field}" not in FACT_SOURCES
    ]


# ------------------------------------------------------------------------------------------------
# Examples from the sample incidents
# ------------------------------------------------------------------------------------------------


def _sample_incidents(root: Path, ruleset: RuleSet) -> list[dict[str, Any]]:
    out = [orjson.loads(path.read_bytes()) for path in sorted((root / "fixtures" / "incidents").glob("*.json"))]
    return [*out, dict(ruleset.baseline)]


def _values(doc: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [doc]
    head, rest = parts[0], parts[1:]
    if not isinstance(doc, dict) or head.rstrip("[]") not in doc:
        return []
    value = doc[head.rstrip("[]")]
    if head.endswith("[]"):
        return [v for item in (value or []) for v in _values(item, rest)]
    return _values(value, rest)


def example(path: str, incidents: list[dict[str, Any]]) -> Any:
    """The first non-null value of a field in the sample incidents, else EXAMPLES[path]."""
    if path in EXAMPLES:
        return EXAMPLES[path]
    for doc in incidents:
        for value in _values(doc, path.split(".")):
            if value is not None and value != [] and value != {}:
                return value
    return None


def _example_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "(see below)"
    if isinstance(value, dict):
        return "(see below)"
    text = orjson.dumps(value).decode()
    return "`" + (text if len(text) <= 60 else text[:57] + "…") + "`"


# ------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------

HEAD = """# The incident record contract

<!-- generated by `python -m checker.check.contract` from checker/core/models.py and rules/; do not edit by hand -->

One incident as crimecheck reads it: the canonical JSON form a force's export is mapped onto (a
JSON object per incident; a file may hold one, a JSON array, or JSON Lines). A records-system team
can validate an export against [schemas/incident.schema.json](../schemas/incident.schema.json)
before running the checker, e.g. with Python's `jsonschema` package:

```python
import json

import jsonschema

schema = json.load(open("schemas/incident.schema.json"))
jsonschema.validate(json.load(open("incident.json")), schema)
```

The schema checks shapes and vocabularies. The checker checks more: that references between
victims, disclosures and records resolve, that ids are unique, that times are in order and in
1900–2199, that offence codes are in the reference tables, and that no id holds control
characters. Times are ISO 8601 with an offset (`2025-01-02T14:22:00+00:00`); a time without one
is an error unless the run gives `--timezone`. Unknown fields are kept, ignored and reported as
warnings. Field names and meanings are fixed: fields may be added, none is renamed or changes
meaning without a new `schema_version`.

"Read by" lists the rules whose conditions or messages use a fact built from the field (from
rules/ and `checker.check.contract.FACT_SOURCES`); a field no rule reads may still feed the audit's
figures and breakdowns, or serve people reading the output. The other schemas in
[schemas/](../schemas/) describe `check --format json` (check-document), an audit's
`summary.json` (summary) and the CSV column mapping (mapping).
"""


def render(root: Path, ruleset: RuleSet) -> str:
    """The whole of docs/contract.md."""
    incidents = _sample_incidents(root, ruleset)
    reading = rules_reading(ruleset)
    lines = [HEAD]
    titles = {"": "## The incident"}
    sections: dict[str, list[str]] = {}
    for path, info in contract_fields():
        parent = path.rpartition(".")[0]
        meaning = info.description or MEANINGS.get(path, "")
        if info.is_required():
            required = "required"
        elif info.default_factory is not None or info.default is not None:
            required = "default: " + orjson.dumps(info.get_default(call_default_factory=True)).decode()
        else:
            required = "optional"
        rules = ", ".join(sorted(reading.get(path, set()))) or "–"
        name = path.rpartition(".")[2]
        sections.setdefault(parent, []).append(
            f"| `{name}` | {meaning} | {type_text(info)} | {required} | {_example_text(example(path, incidents))} "
            f"| {rules} |"
        )
    for parent, rows in sections.items():
        lines.append("")
        lines.append(titles.get(parent, f"## {parent}"))
        lines.append("")
        lines.append("| field | meaning | type | required / default | example | read by |")
        lines.append("|---|---|---|---|---|---|")
        lines.extend(rows)
    lines.append("")
    return "\n".join(lines)


def missing_meanings() -> list[str]:
    """Contract fields that have neither a pydantic description nor an entry in MEANINGS."""
    return [path for path, info in contract_fields() if not info.description and path not in MEANINGS]


def default_root() -> Path:
    """The checkout this module sits in."""
    return Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    """Write docs/contract.md (or, with --check, exit 1 when it is stale)."""
    parser = argparse.ArgumentParser(prog="python -m checker.check.contract", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/contract.md is out of date")
    args = parser.parse_args(argv)
    root = default_root()
    text = render(root, load_rules())
    target = root / "docs" / "contract.md"
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target}: out of date; run python -m checker.check.contract", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
