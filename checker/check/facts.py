"""An incident becomes flat facts with derived values, computed once, for the rules to match."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import orjson

from checker.core.errors import InputError, Problem
from checker.core.models import Disclosure, Incident, Record, Victim
from checker.rules.facts_schema import Hit, Screen
from checker.rules.reference import Reference

DECISION_TEXT = {
    "victim_report": "the victim reported it and nothing credible contradicts it",
    "acting_for_victim": "reported by someone acting for the victim",
    "professional_referral": "a professional's referral needs no confirmation from the victim",
    "victim_confirmed": "the victim confirmed the third-party report",
    "victim_denies": "the victim denies it: the victim-based test is not met",
    "victim_untraceable": "the victim cannot be traced to confirm",
    "victim_not_confirmed": "the victim has not confirmed it",
    "credible_evidence_to_contrary": "credible evidence to the contrary is recorded",
    "other_force_area": "it happened in another force area",
    "confirm_with_victim": "a third-party report: confirm with the victim",
    "state_based": "a state-based offence: the points to prove must be made out",
    "police_generated": "police-generated: a person must judge whether there is a victim",
    "principal_crime": "reported with a more serious crime against the same victim by the same offender: "
    "it is counted in that principal crime",
    "s5_officer_warned": "public order aimed only at a police officer, who warned, and the behaviour stopped",
}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _yes_no(value: bool | None, unknown: str) -> str:
    return unknown if value is None else ("yes" if value else "no")


@dataclass(frozen=True)
class Decision:
    """The recording decision the rules require for one disclosure."""

    decision: Literal["crime", "n100", "no_crime", "review"]
    reason: str
    expected_code: str


def decide(incident: Incident, d: Disclosure, victim: Victim | None, ref: Reference) -> Decision:
    """The decision Section A and the N100 rules require for one disclosure (see the brief, 2-3)."""
    offence = ref.offences[d.offence]
    code = ref.banded_code(d.offence, victim.age if victim else None, victim.sex if victim else "unknown")
    rape = offence.subgroup == "rape"
    in_area = incident.occurred_in_force_area if d.occurred_in_force_area is None else d.occurred_in_force_area
    reporter = d.reported_by or incident.reporter
    if d.credible_evidence_to_contrary:
        return Decision("n100" if rape else "no_crime", "credible_evidence_to_contrary", code)
    if not in_area:
        return Decision("n100" if rape else "no_crime", "other_force_area", code)
    if not offence.victim_based:
        return Decision("review", "state_based", code)
    if offence.subgroup == "public_order_offences" and d.only_victim_is_police_officer and d.warned_and_stopped:
        return Decision("no_crime", "s5_officer_warned", code)
    if reporter in ("victim", "acting_for_victim"):
        return Decision("crime", "victim_report" if reporter == "victim" else "acting_for_victim", code)
    if reporter == "professional" and not ref.param("professional_report_needs_confirmation"):
        return Decision("crime", "professional_referral", code)
    if reporter == "police":
        return Decision("review", "police_generated", code)
    if d.victim_confirmed is True:
        return Decision("crime", "victim_confirmed", code)
    if d.victim_confirmed is False:
        return Decision(ref.param("third_party_denied"), "victim_denies", code)
    if not d.victim_traceable:
        if rape:
            return Decision("n100", "victim_not_confirmed", code)
        return Decision(ref.param("untraceable_victim"), "victim_untraceable", code)
    if rape:
        return Decision("n100", "victim_not_confirmed", code)
    policy = ref.param("third_party_unconfirmed")
    return Decision("crime" if policy == "crime" else "review", "confirm_with_victim", code)


@dataclass
class IncidentFacts:
    """The facts of one incident plus what the output needs to show per disclosure."""

    incident: Incident
    facts: list[dict[str, Any]]
    decisions: dict[str, Decision]


def _principals(incident: Incident, ref: Reference) -> dict[str, str]:
    """For each disclosure that is not its group's principal crime, the principal's id.

    A group is one victim's disclosures against one suspect made at the same moment (reported
    together); the principal is the most serious by the principal-crime order, the first on a tie."""
    groups: dict[tuple[str, str, datetime], list[Disclosure]] = {}
    for d in incident.disclosures:
        if d.victim_id and d.suspect_id:
            groups.setdefault((d.victim_id, d.suspect_id, d.disclosed_at or incident.reported_at), []).append(d)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        head = min(members, key=lambda d: ref.seriousness(d.offence))
        out.update({d.disclosure_id: head.disclosure_id for d in members if d is not head})
    return out


def _grounds_withdrawal_only(record: Record, phrases: list[str]) -> bool:
    c = record.cancellation
    if c is None:
        return False
    grounds = (c.avi or "").strip() or (c.reason or "").strip()
    if not grounds:
        return False
    text = grounds.lower()
    # The grounds count as withdrawal only when a withdrawal phrase is there and the text is short
    # enough to be nothing else; a long AVI that mentions withdrawal in passing is judged by a person.
    return any(p in text for p in phrases) and len(text.split()) <= 25


def build_facts(incident: Incident, ref: Reference, as_of: datetime, screen: Screen | None = None) -> IncidentFacts:
    """Turn one validated incident into facts; unknown offence codes are input errors."""
    _check_codes(incident, ref)
    out = _Facts(incident.reported_at.astimezone(UTC).date().isoformat())
    _incident_fact(out, incident)
    _victim_facts(out, incident, int(ref.param("domestic_abuse_min_age")))
    principal_of = _principals(incident, ref)
    decisions, disclosed = _disclosure_facts(out, incident, ref, as_of, principal_of)
    links = _record_facts(out, incident, ref)
    _link_facts(out, incident, ref, links, disclosed, principal_of)
    if screen is not None and incident.narrative:
        for hit in _uncontested_hits(incident, ref, screen(incident.narrative)):
            out.add(
                "mention",
                f"narrative/{hit.family}",
                {
                    "mention_id": f"narrative/{hit.family}",
                    "family": hit.family,
                    "phrase": hit.phrase,
                    "sentence": hit.sentence,
                },
            )
    return IncidentFacts(incident, out.facts, decisions)


def _check_codes(incident: Incident, ref: Reference) -> None:
    problems: list[Problem] = []
    for i, d in enumerate(incident.disclosures):
        if d.offence not in ref.offences or ref.offences[d.offence].notifiable_incident:
            problems.append(
                Problem(
                    f"unknown Home Office offence code {d.offence!r}",
                    record=incident.incident_id,
                    field=f"disclosures[{i}].offence",
                )
            )
    for i, r in enumerate(incident.records):
        if r.classification not in ref.offences:
            problems.append(
                Problem(
                    f"unknown Home Office offence code {r.classification!r}",
                    record=incident.incident_id,
                    field=f"records[{i}].classification",
                )
            )
    if problems:
        raise InputError(problems)


class _Facts:
    """The facts of one incident as they are built: each with its kind, id and report date."""

    def __init__(self, reported_on: str) -> None:
        self.reported_on = reported_on
        self.facts: list[dict[str, Any]] = []

    def add(self, kind: str, key: str, values: dict[str, Any]) -> None:
        fact = {k: v for k, v in values.items() if v is not None}
        fact.update(kind=kind, id=f"{kind}:{key}", reported_on=self.reported_on)
        self.facts.append(fact)


def _incident_fact(out: _Facts, incident: Incident) -> None:
    quals = set(incident.qualifiers)
    out.add(
        "incident",
        incident.incident_id,
        {
            "incident_id": incident.incident_id,
            "reporter": incident.reporter,
            "channel": incident.channel,
            "qualifiers": {q: True for q in sorted(quals)},
            "asb_personal": "asb_personal" in quals,
            "referral": incident.reporter == "professional" or bool(quals & {"child_protection", "vulnerable_adult"}),
            "in_force_area": incident.occurred_in_force_area,
            "victim_count": len(incident.victims),
            "disclosure_count": len(incident.disclosures),
            "record_count": len(incident.records),
        },
    )


def _victim_facts(out: _Facts, incident: Incident, min_da_age: int) -> None:
    for v in incident.victims:
        out.add(
            "victim",
            v.victim_id,
            {
                "victim_id": v.victim_id,
                "age": v.age,
                "sex": v.sex,
                "relationship": v.relationship_to_suspect,
                "partner_or_family": v.relationship_to_suspect in ("partner", "ex_partner", "family")
                and (v.age is None or v.age >= min_da_age),
                "vulnerable": v.vulnerable,
            },
        )


def _disclosure_facts(
    out: _Facts, incident: Incident, ref: Reference, as_of: datetime, principal_of: dict[str, str]
) -> tuple[dict[str, Decision], dict[str, datetime]]:
    """A fact per disclosure; returns the decision each requires and when each was disclosed."""
    window = ref.recording_window_s
    victims = {v.victim_id: v for v in incident.victims}
    all_from = date.fromisoformat(str(ref.param("principal_crime_all_from")))
    in_addition_from = date.fromisoformat(str(ref.param("conduct_in_addition_from")))
    report_day = incident.reported_at.astimezone(UTC).date()
    decisions: dict[str, Decision] = {}
    disclosed: dict[str, datetime] = {}
    for d in incident.disclosures:
        offence = ref.offences[d.offence]
        victim = victims.get(d.victim_id) if d.victim_id else None
        decision = decide(incident, d, victim, ref)
        principal = principal_of.get(d.disclosure_id)
        in_addition = False
        if principal is not None and decision.decision == "crime":
            if offence.conduct and in_addition_from <= report_day < all_from:
                in_addition = True
            else:
                decision = Decision("no_crime", "principal_crime", decision.expected_code)
        decisions[d.disclosure_id] = decision
        at = d.disclosed_at or incident.reported_at
        disclosed[d.disclosure_id] = at
        age_s = int((as_of - at).total_seconds())
        out.add(
            "disclosure",
            d.disclosure_id,
            {
                "disclosure_id": d.disclosure_id,
                "offence": d.offence,
                "offence_name": offence.name,
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "is_rape": offence.subgroup == "rape",
                "conduct": offence.conduct,
                "victim_based": offence.victim_based,
                "expected_code": decision.expected_code,
                "banded": offence.band is not None,
                "victim_id": d.victim_id,
                "victim_age": victim.age if victim else None,
                "victim_sex": victim.sex if victim else "unknown",
                "victim_attended": _yes_no(d.victim_attended, "unknown"),
                "principal_id": principal,
                "in_addition": in_addition,
                "suspect_id": d.suspect_id,
                "reported_by": d.reported_by or incident.reporter,
                "victim_confirmed": _yes_no(d.victim_confirmed, "not_asked"),
                "victim_traceable": d.victim_traceable,
                "credible_evidence": d.credible_evidence_to_contrary,
                "in_force_area": incident.occurred_in_force_area
                if d.occurred_in_force_area is None
                else d.occurred_in_force_area,
                "disclosed_at": _iso(at),
                "deadline": _iso(at + timedelta(seconds=window)),
                "age_s": age_s,
                "left_s": window - age_s,
                "window_expired": age_s > window,
                "decision": decision.decision,
                "decision_reason": decision.reason,
            },
        )
    return decisions, disclosed


def _authoriser_check(r: Record, ref: Reference) -> tuple[str, tuple[str, ...] | None]:
    """Whether the record's cancellation was authorised by a role allowed to, and the roles allowed."""
    c = r.cancellation
    allowed = ref.allowed_roles(c.category, r.classification) if c and c.category else None
    if c is None or c.category is None or r.status == "recorded":
        return "allowed", allowed
    if c.authorised_by_role is None:
        return "missing_role", allowed
    if allowed is None:
        return "no_rule", allowed
    return ("allowed" if c.authorised_by_role in allowed else "not_allowed"), allowed


def _record_facts(out: _Facts, incident: Incident, ref: Reference) -> list[tuple[str, Record, bool]]:
    """A fact per record; returns which disclosure each record answers (explicitly or inferred)."""
    phrases = [p.lower() for p in ref.param("withdrawal_phrases")]
    links: list[tuple[str, Record, bool]] = []
    record_ids = {r.record_id for r in incident.records}
    for r in incident.records:
        offence = ref.offences[r.classification]
        c = r.cancellation
        check, allowed = _authoriser_check(r, ref)
        out.add(
            "record",
            r.record_id,
            {
                "record_id": r.record_id,
                "classification": r.classification,
                "is_n100": r.classification == "N100",
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "status": r.status,
                "live": r.status == "recorded",
                "victim_id": r.victim_id,
                "recorded_at": _iso(r.recorded_at),
                "flags": {f: True for f in sorted(set(r.flags)) if f.isidentifier()},
                "personal_connection_required": offence.personal_connection_required,
                "n100_reason": r.n100_reason,
                "n100_reason_valid": r.n100_reason
                in ("victim_not_confirmed", "credible_evidence_to_contrary", "other_force_area"),
                "converted": r.converted_to is not None,
                "has_cancellation": c is not None,
                "cancel_category": c.category if c else None,
                "authorised_by": c.authorised_by_role if c else None,
                "has_avi": bool(c and c.avi and c.avi.strip()),
                "grounds_withdrawal_only": _grounds_withdrawal_only(r, phrases),
                "victim_informed": _yes_no(c.victim_informed if c else None, "unknown"),
                "transferred_to": c.transferred_to if c else None,
                "duplicate_of": c.duplicate_of if c else None,
                "duplicate_exists": bool(
                    c and c.duplicate_of and c.duplicate_of in record_ids and c.duplicate_of != r.record_id
                ),
                "authoriser_check": check,
                "allowed_roles": ", ".join(allowed or ()),
            },
        )
        if r.disclosure_ids:
            links.extend((did, r, True) for did in r.disclosure_ids)
        else:
            # A record without disclosure_ids answers the disclosures of the same victim and offence
            # family (an N100 is in the rape family), the way a reviewer would pair them by hand.
            for d in incident.disclosures:
                same_victim = r.victim_id is None or d.victim_id is None or r.victim_id == d.victim_id
                if same_victim and ref.offences[d.offence].family == offence.family:
                    links.append((d.disclosure_id, r, False))
    return links


def _link_facts(
    out: _Facts,
    incident: Incident,
    ref: Reference,
    links: list[tuple[str, Record, bool]],
    disclosed: dict[str, datetime],
    principal_of: dict[str, str],
) -> None:
    """A fact per (record, disclosure it answers)."""
    first: dict[str, datetime] = {}
    for did, r, _ in links:
        if did not in first or r.recorded_at < first[did]:
            first[did] = r.recorded_at
    answered: dict[str, set[str]] = {}
    for did, r, _ in links:
        answered.setdefault(r.record_id, set()).add(did)
    codes = {d.disclosure_id: d.offence for d in incident.disclosures}
    for did, r, explicit in links:
        offence = ref.offences[r.classification]
        principal = principal_of.get(did)
        note = ref.substitutions.get((codes[did], r.classification))
        out.add(
            "link",
            orjson.dumps([r.record_id, did]).decode(),  # "A>B" + "C" and "A" + "B>C" must differ
            {
                "disclosure_id": did,
                "record_id": r.record_id,
                "victim_id": r.victim_id,
                "classification": r.classification,
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "conduct": offence.conduct,
                "is_n100": r.classification == "N100",
                "live": r.status == "recorded",
                "covers_principal": principal is not None and principal in answered[r.record_id],
                "wrong_substitution": note is not None,
                "substitution_note": note,
                "status": r.status,
                "elapsed_s": int((r.recorded_at - disclosed[did]).total_seconds()),
                "first_decision": r.recorded_at == first[did],
                "converted": r.converted_to is not None,
                "explicit": explicit,
            },
        )


def _uncontested_hits(incident: Incident, ref: Reference, hits: Sequence[Hit]) -> list[Hit]:
    """Hits, less those whose phrase overlaps a hit of a family already disclosed or recorded:
    "the van was broken into" is the recorded theft, not a second, criminal damage, offence."""
    covered = {ref.offences[d.offence].family for d in incident.disclosures}
    covered |= {ref.offences[r.classification].family for r in incident.records}
    spans = [(h.start, h.end) for h in hits if h.family in covered]
    return [h for h in hits if h.family in covered or not any(s < h.end and h.start < e for s, e in spans)]
