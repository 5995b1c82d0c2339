"""An incident becomes flat facts with derived values, computed once, for the rules to match."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import orjson

from checker.assess import band_fits, classification_fault, duplicate_state, is_domestic, judge_avi
from checker.models import Disclosure, Incident, Record, Victim
from checker.reference import Offence, Reference, duration_seconds

FieldType = Literal["str", "int", "bool", "set"]
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class FieldSpec:
    """A fact field: its type, whether every fact of the kind has it, and what it means."""

    type: FieldType
    always: bool
    doc: str


def _f(type_: FieldType, doc: str, always: bool = True) -> FieldSpec:
    return FieldSpec(type_, always, doc)


_COMMON = {"reported_on": _f("str", "date the incident was reported (YYYY-MM-DD, UTC)")}

# The fields rules may test, by fact kind. The rule loader rejects any other name, so a typo in a
# rule fails at load time with its file and line instead of silently never matching.
FACT_SCHEMA: dict[str, dict[str, FieldSpec]] = {
    "incident": {
        **_COMMON,
        "incident_id": _f("str", "incident id"),
        "reporter": _f("str", "who reported: victim, acting_for_victim, third_party, ..."),
        "channel": _f("str", "how it was reported", always=False),
        "qualifiers": _f("set", "incident qualifiers (asb_personal, child_protection, ...)"),
        "asb_personal": _f("bool", "the incident carries the ASB personal qualifier"),
        "referral": _f("bool", "a professional's or safeguarding referral"),
        "in_force_area": _f("bool", "the incident occurred in this force's area"),
        "victim_count": _f("int", "number of victims"),
        "disclosure_count": _f("int", "number of disclosures"),
        "record_count": _f("int", "number of records"),
    },
    "victim": {
        **_COMMON,
        "victim_id": _f("str", "victim id"),
        "age": _f("int", "age in years at the offence", always=False),
        "sex": _f("str", "female, male or unknown"),
        "relationship": _f("str", "relationship to the suspect"),
        "partner_or_family": _f("bool", "partner, ex-partner or family member of the suspect"),
        "vulnerable": _f("bool", "recorded as vulnerable"),
    },
    "disclosure": {
        **_COMMON,
        "disclosure_id": _f("str", "disclosure id"),
        "offence": _f("str", "Home Office code the circumstances amount to"),
        "offence_name": _f("str", "name of that code"),
        "family": _f("str", "offence family (rape, assault, harassment_stalking, ...)"),
        "group": _f("str", "Home Office offence group"),
        "subgroup": _f("str", "Home Office offence sub-group"),
        "is_rape": _f("bool", "a rape code (19C-19H)"),
        "conduct": _f("bool", "a course-of-conduct crime (harassment, stalking, CCB)"),
        "victim_based": _f("bool", "a victim-based offence"),
        "expected_code": _f("str", "the code that fits the victim's age and sex"),
        "banded": _f("bool", "the code is one of a set split by the victim's age and sex"),
        "victim_id": _f("str", "the victim it concerns", always=False),
        "victim_age": _f("int", "the victim's age", always=False),
        "victim_sex": _f("str", "the victim's sex: female, male or unknown"),
        "victim_attended": _f("str", "the victim attended an appointment: yes, no or unknown"),
        "principal_id": _f("str", "the disclosure whose crime this one is counted in", always=False),
        "in_addition": _f("bool", "a conduct crime recorded in addition to the principal crime (2018-2023)"),
        "suspect_id": _f("str", "the suspect", always=False),
        "reported_by": _f("str", "who disclosed it"),
        "victim_confirmed": _f("str", "yes, no, or not_asked"),
        "victim_traceable": _f("bool", "the victim can be traced"),
        "credible_evidence": _f("bool", "credible evidence to the contrary is recorded"),
        "in_force_area": _f("bool", "occurred in this force's area"),
        "disclosed_at": _f("str", "when disclosed (ISO 8601, UTC)"),
        "deadline": _f("str", "when the recording decision falls due (ISO 8601, UTC)"),
        "age_s": _f("int", "seconds from the disclosure to the as-of time"),
        "left_s": _f("int", "seconds left before the decision is due (negative: overdue)"),
        "window_expired": _f("bool", "the recording window has run out as of the as-of time"),
        "decision": _f("str", "what the rules require: crime, n100, no_crime or review"),
        "decision_reason": _f("str", "why that decision"),
        "decision_text": _f("str", "why that decision, in words"),
        "known": _f("bool", "the code is in the offence list"),
        "recorded_by": _f("str", "who records the offence: force or action_fraud"),
        "state_based": _f("bool", "a state-based offence (other crimes against society)"),
        "disclosed_text": _f("str", "when disclosed, as a date and time in the force's zone"),
        "deadline_text": _f("str", "when the decision falls due, as a date and time in the force's zone"),
        "domestic": _f("bool", "victim and suspect are partners, ex-partners or family, both 16 or over"),
        "hate": _f("bool", "the disclosure names a hate strand"),
        "hate_strands": _f("str", "the hate strands named, comma separated", always=False),
        "hate_incident": _f("bool", "the incident carries the hate qualifier"),
        "victim_child": _f("bool", "the victim is a child"),
        "victim_vulnerable": _f("bool", "the victim is a child or a vulnerable adult"),
    },
    "record": {
        **_COMMON,
        "record_id": _f("str", "record id"),
        "classification": _f("str", "Home Office code, or N100"),
        "is_n100": _f("bool", "an N100 reported incident of rape"),
        "family": _f("str", "offence family of the classification"),
        "group": _f("str", "Home Office offence group"),
        "subgroup": _f("str", "Home Office offence sub-group"),
        "status": _f("str", "recorded, cancelled or transferred"),
        "live": _f("bool", "still recorded (not cancelled or transferred)"),
        "victim_id": _f("str", "victim", always=False),
        "recorded_at": _f("str", "when recorded (ISO 8601, UTC)"),
        "flags": _f("set", "Home Office crime flags"),
        "personal_connection_required": _f("bool", "the offence can only be committed between connected people"),
        "n100_reason": _f("str", "N100 reason as given", always=False),
        "n100_reason_valid": _f("bool", "the N100 reason is one of the recognised reasons"),
        "converted": _f("bool", "the N100 names the crime it became"),
        "has_cancellation": _f("bool", "the record carries cancellation details"),
        "cancel_category": _f("str", "C1..C5", always=False),
        "authorised_by": _f("str", "role that authorised the cancellation", always=False),
        "has_avi": _f("bool", "additional verifiable information is given"),
        "grounds_withdrawal_only": _f("bool", "the only grounds given are the victim's withdrawal"),
        "victim_informed": _f("str", "yes, no or unknown"),
        "transferred_to": _f("str", "C1 receiving force", always=False),
        "duplicate_of": _f("str", "C3: the record it duplicates", always=False),
        "duplicate_exists": _f("bool", "C3: the record it names as duplicated exists in the incident"),
        "authoriser_check": _f("str", "allowed, not_allowed, no_rule or missing_role"),
        "allowed_roles": _f("str", "roles the authorisation table allows, comma separated"),
        "known": _f("bool", "the classification is in the offence list"),
        "unknown_shared": _f("bool", "an unknown code the disclosure it answers carries as well"),
        "recorded_by": _f("str", "who records the offence: force or action_fraud"),
        "avi_judgement": _f("str", "C2 grounds: evidence, not_avi, none or unclear", always=False),
        "duplicate_state": _f("str", "C3 target: missing, self, elsewhere, cancelled, separate, live", always=False),
        "separate_report": _f("bool", "C3 or C4 used on what the facts show is a report of its own"),
        "victim_loses_crime": _f("bool", "cancelling it leaves the victim without a live crime"),
        "in_force_area": _f("bool", "what it records happened in this force's area"),
        "domestic": _f("bool", "a disclosure it answers is between partners, ex-partners or family, both 16+"),
        "hate": _f("bool", "a disclosure it answers names a hate strand"),
        "hate_incident": _f("bool", "the incident carries the hate qualifier"),
    },
    "link": {
        **_COMMON,
        "disclosure_id": _f("str", "the disclosure answered"),
        "record_id": _f("str", "the record answering it"),
        "victim_id": _f("str", "the record's victim", always=False),
        "classification": _f("str", "the record's classification"),
        "family": _f("str", "offence family of the record's classification"),
        "group": _f("str", "offence group of the record's classification"),
        "subgroup": _f("str", "offence sub-group of the record's classification"),
        "conduct": _f("bool", "the record's classification is a course-of-conduct crime"),
        "is_n100": _f("bool", "the record is an N100"),
        "live": _f("bool", "the record is still recorded"),
        "covers_principal": _f("bool", "the record also answers the disclosure's principal crime"),
        "wrong_substitution": _f("bool", "the misclassification table says this code is wrong for the disclosure"),
        "substitution_note": _f("str", "why the table says so", always=False),
        "status": _f("str", "the record's status"),
        "elapsed_s": _f("int", "seconds from disclosure to record"),
        "first_decision": _f("bool", "the earliest record answering this disclosure"),
        "converted": _f("bool", "the record is an N100 that names the crime it became"),
        "explicit": _f("bool", "linked by the record's disclosure_ids, not inferred"),
        "classification_fault": _f(
            "str", "none, band, rape_as_other, aggravated_as_basic, conduct_as_oneoff, table or other"
        ),
        "fault_certain": _f("bool", "the right code is certain from the facts given"),
        "right_code": _f("str", "the code the facts require of this record"),
        "known": _f("bool", "the record's classification is in the offence list"),
    },
}

FACT_SCHEMA["mention"] = {
    **_COMMON,
    "mention_id": _f("str", "narrative/<family>: what the narrative mentions"),
    "family": _f("str", "offence family the phrase suggests"),
    "phrase": _f("str", "the matching phrase, quoted from the narrative"),
    "sentence": _f("str", "the sentence it stands in (at most 200 characters)"),
}

SUBJECT_FIELD = {
    "incident": "incident_id",
    "victim": "victim_id",
    "disclosure": "disclosure_id",
    "record": "record_id",
    "link": "record_id",
    "mention": "mention_id",
}

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
    "action_fraud": "fraud is recorded by Action Fraud for the National Fraud Intelligence Bureau, not by the "
    "force: refer the victim to Action Fraud",
    "unknown_code": "its code is not in the offence list, so the rules cannot decide it",
    "vulnerable_third_party": "a report by someone else of a crime against a child or a vulnerable adult: it is not "
    "dropped because the victim has not confirmed it",
    "capable_adult_declines": "a professional's referral of a capable adult who does not want police involvement",
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
    offence = ref.offence(d.offence)
    if offence is None or offence.notifiable_incident:
        return Decision("review", "unknown_code", d.offence)
    code = ref.banded_code(offence.code, victim.age if victim else None, victim.sex if victim else "unknown")
    if {"race", "religion"} & set(d.hate):
        code = ref.aggravated_form(code) or code
    rape = offence.subgroup == "rape"
    if offence.recorded_by == "action_fraud":
        return Decision("no_crime", "action_fraud", code)
    child = victim is not None and victim.age is not None and victim.age < int(ref.param("child_age_below"))
    vulnerable = child or (victim is not None and victim.vulnerable)
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
        if d.victim_confirmed is False and not vulnerable:
            return Decision("n100" if rape else ref.param("capable_adult_declines"), "capable_adult_declines", code)
        return Decision("crime", "professional_referral", code)
    if reporter == "police":
        return Decision("review", "police_generated", code)
    if d.victim_confirmed is True:
        return Decision("crime", "victim_confirmed", code)
    if rape:  # every report of rape is recorded, as an N100 at least
        return Decision("n100", "victim_not_confirmed", code)
    if d.victim_confirmed is None and not d.victim_traceable:
        return Decision(ref.param("untraceable_victim"), "victim_untraceable", code)
    if vulnerable:  # a child or vulnerable adult's report is not dropped for want of confirmation
        return Decision("review", "vulnerable_third_party", code)
    if d.victim_confirmed is False:
        return Decision(ref.param("third_party_denied"), "victim_denies", code)
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


def _unknown(code: str) -> Offence:
    """A stand-in for a code the offence list does not hold: the review path, never a rejection."""
    return Offence(
        code=code, name=f"unknown code {code}", group="unknown", subgroup="unknown", family="unknown", src=""
    )


def _local(value: datetime) -> str:
    """`Fri 3 Jan 2025 14:22`: an absolute date and time in the force's zone, for messages."""
    moment = value.astimezone(LONDON)
    return f"{moment.strftime('%a')} {moment.day} {moment.strftime('%b %Y %H:%M')}"


def build_facts(incident: Incident, ref: Reference, as_of: datetime, screen: Screen | None = None) -> IncidentFacts:
    """Turn one validated incident into facts; a code outside the offence list becomes a fact the
    review rules read, not an input error."""

    def offence_of(code: str) -> Offence:
        return ref.offence(code) or _unknown(code)

    window = duration_seconds(ref.param("recording_window")) or 86400
    not_avi = [p.lower() for p in (*ref.param("withdrawal_phrases"), *ref.param("not_avi_phrases"))]
    evidence = [p.lower() for p in ref.param("avi_evidence_terms")]
    min_da_age = int(ref.param("domestic_abuse_min_age"))
    child_below = int(ref.param("child_age_below"))
    reported_on = incident.reported_at.astimezone(UTC).date().isoformat()
    victims = {v.victim_id: v for v in incident.victims}
    suspects = {s.suspect_id: s for s in incident.suspects}
    facts: list[dict[str, Any]] = []

    def add(kind: str, key: str, values: dict[str, Any]) -> None:
        fact = {k: v for k, v in values.items() if v is not None}
        fact.update(kind=kind, id=f"{kind}:{key}", reported_on=reported_on)
        facts.append(fact)

    quals = set(incident.qualifiers)
    add(
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
    for v in incident.victims:
        add(
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

    principal_of = _principals(incident, ref)
    all_from = date.fromisoformat(str(ref.param("principal_crime_all_from")))
    in_addition_from = date.fromisoformat(str(ref.param("conduct_in_addition_from")))
    report_day = incident.reported_at.astimezone(UTC).date()
    decisions: dict[str, Decision] = {}
    disclosed: dict[str, datetime] = {}
    in_addition: set[str] = set()
    by_id = {d.disclosure_id: d for d in incident.disclosures}
    in_area_of: dict[str, bool] = {}
    domestic_of: dict[str, bool] = {}
    hate_of: dict[str, bool] = {}
    for d in incident.disclosures:
        offence = offence_of(d.offence)
        known = ref.offence(d.offence) is not None and not offence.notifiable_incident
        victim = victims.get(d.victim_id) if d.victim_id else None
        decision = decide(incident, d, victim, ref)
        principal = principal_of.get(d.disclosure_id)
        if principal is not None and decision.decision == "crime":
            if offence.conduct and in_addition_from <= report_day < all_from:
                in_addition.add(d.disclosure_id)
            else:
                decision = Decision("no_crime", "principal_crime", decision.expected_code)
        decisions[d.disclosure_id] = decision
        at = d.disclosed_at or incident.reported_at
        disclosed[d.disclosure_id] = at
        age_s = int((as_of - at).total_seconds())
        in_area = incident.occurred_in_force_area if d.occurred_in_force_area is None else d.occurred_in_force_area
        in_area_of[d.disclosure_id] = in_area
        suspect = suspects.get(d.suspect_id) if d.suspect_id else None
        relationship = (suspect.relationship_to(d.victim_id) if suspect and d.victim_id else None) or (
            victim.relationship_to_suspect if victim else None
        )
        domestic = is_domestic(
            relationship, victim.age if victim else None, suspect.age_at(at) if suspect else None, min_da_age
        )
        domestic_of[d.disclosure_id] = domestic
        hate_of[d.disclosure_id] = bool(d.hate)
        add(
            "disclosure",
            d.disclosure_id,
            {
                "disclosure_id": d.disclosure_id,
                "offence": offence.code,
                "offence_name": offence.name,
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "is_rape": offence.subgroup == "rape" and not offence.notifiable_incident,
                "conduct": offence.conduct,
                "victim_based": offence.victim_based,
                "state_based": offence.state_based,
                "known": known,
                "recorded_by": offence.recorded_by,
                "expected_code": decision.expected_code,
                "banded": offence.band is not None,
                "victim_id": d.victim_id,
                "victim_age": victim.age if victim else None,
                "victim_sex": victim.sex if victim else "unknown",
                "victim_attended": _yes_no(d.victim_attended, "unknown"),
                "victim_child": victim is not None and victim.age is not None and victim.age < child_below,
                "victim_vulnerable": victim is not None
                and (victim.vulnerable or (victim.age is not None and victim.age < child_below)),
                "principal_id": principal,
                "in_addition": d.disclosure_id in in_addition,
                "suspect_id": d.suspect_id,
                "domestic": domestic,
                "hate": bool(d.hate),
                "hate_incident": "hate" in quals,
                "hate_strands": ", ".join(s.replace("_", " ") for s in d.hate) or None,
                "reported_by": d.reported_by or incident.reporter,
                "victim_confirmed": _yes_no(d.victim_confirmed, "not_asked"),
                "victim_traceable": d.victim_traceable,
                "credible_evidence": d.credible_evidence_to_contrary,
                "in_force_area": in_area,
                "disclosed_at": _iso(at),
                "disclosed_text": _local(at),
                "deadline": _iso(at + timedelta(seconds=window)),
                "deadline_text": _local(at + timedelta(seconds=window)),
                "age_s": age_s,
                "left_s": window - age_s,
                "window_expired": age_s > window,
                "decision": decision.decision,
                "decision_reason": decision.reason,
                "decision_text": DECISION_TEXT.get(decision.reason, decision.reason),
            },
        )

    links: list[tuple[str, Record, bool]] = []
    for r in incident.records:
        offence = offence_of(r.classification)
        if r.disclosure_ids:
            links.extend((did, r, True) for did in r.disclosure_ids)
        else:
            # A record without disclosure_ids answers the disclosures of the same victim and offence
            # family (an N100 is in the rape family), the way a reviewer would pair them by hand.
            for d in incident.disclosures:
                same_victim = r.victim_id is None or d.victim_id is None or r.victim_id == d.victim_id
                if same_victim and offence_of(d.offence).family == offence.family and offence.family != "unknown":
                    links.append((d.disclosure_id, r, False))
    answered: dict[str, set[str]] = {}
    for did, r, _ in links:
        answered.setdefault(r.record_id, set()).add(did)
    live_answers: dict[str, set[str]] = {}
    for did, r, _ in links:
        if r.status == "recorded":
            live_answers.setdefault(did, set()).add(r.record_id)

    for r in incident.records:
        offence = offence_of(r.classification)
        known = ref.offence(r.classification) is not None
        c = r.cancellation
        allowed = ref.allowed_roles(c.category, offence.code) if c and c.category else None
        if c is None or c.category is None or r.status == "recorded":
            check = "allowed"
        elif c.authorised_by_role is None:
            check = "missing_role"
        elif allowed is None:
            check = "no_rule"
        else:
            check = "allowed" if c.authorised_by_role in allowed else "not_allowed"
        mine = answered.get(r.record_id, set())
        category = c.category if c else None
        dup = duplicate_state(r, incident) if category == "C3" else None
        judgement = judge_avi(c, not_avi, evidence) if category == "C2" else None
        others_live = any(live_answers.get(did, set()) - {r.record_id} for did in mine)
        separate = dup == "separate" or (
            category == "C4" and not others_live and any(decisions[did].decision == "crime" for did in mine)
        )
        add(
            "record",
            r.record_id,
            {
                "record_id": r.record_id,
                "classification": offence.code,
                "is_n100": r.classification == "N100",
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "known": known,
                "unknown_shared": not known and any(by_id[did].offence == r.classification for did in mine),
                "recorded_by": offence.recorded_by,
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
                "cancel_category": category,
                "authorised_by": c.authorised_by_role if c else None,
                "has_avi": bool(c and c.avi and c.avi.strip()),
                "grounds_withdrawal_only": judgement == "not_avi",
                "avi_judgement": judgement,
                "victim_informed": _yes_no(c.victim_informed if c else None, "unknown"),
                "transferred_to": c.transferred_to if c else None,
                "duplicate_of": c.duplicate_of if c else None,
                "duplicate_exists": dup in ("cancelled", "separate", "live"),
                "duplicate_state": dup,
                "separate_report": separate,
                # the victim keeps a crime when a C3's surviving record (here or, to be confirmed,
                # on another incident) stands for it
                "victim_loses_crime": dup not in ("live", "elsewhere"),
                "in_force_area": all(in_area_of[did] for did in mine) if mine else incident.occurred_in_force_area,
                "domestic": any(domestic_of[did] for did in mine),
                "hate": any(hate_of[did] for did in mine),
                "hate_incident": "hate" in quals,
                "authoriser_check": check,
                "allowed_roles": ", ".join(_role_words(allowed or ())),
            },
        )

    first: dict[str, datetime] = {}
    for did, r, _ in links:
        if did not in first or r.recorded_at < first[did]:
            first[did] = r.recorded_at
    for did, r, explicit in links:
        offence = offence_of(r.classification)
        d = by_id[did]
        principal = principal_of.get(did)
        note = ref.substitutions.get((offence_of(d.offence).code, offence.code))
        fault, certain, right = _link_fault(r, d, decisions, answered[r.record_id], by_id, victims, ref)
        add(
            "link",
            orjson.dumps([r.record_id, did]).decode(),  # "A>B" + "C" and "A" + "B>C" must differ
            {
                "disclosure_id": did,
                "record_id": r.record_id,
                "victim_id": r.victim_id,
                "classification": offence.code,
                "family": offence.family,
                "group": offence.group,
                "subgroup": offence.subgroup,
                "conduct": offence.conduct,
                "is_n100": r.classification == "N100",
                "live": r.status == "recorded",
                "known": ref.offence(r.classification) is not None,
                "covers_principal": principal is not None and principal in answered[r.record_id],
                "wrong_substitution": note is not None,
                "substitution_note": note,
                "classification_fault": fault,
                "fault_certain": certain,
                "right_code": right,
                "status": r.status,
                "elapsed_s": int((r.recorded_at - disclosed[did]).total_seconds()),
                "first_decision": r.recorded_at == first[did],
                "converted": r.converted_to is not None,
                "explicit": explicit,
            },
        )
    if screen is not None and incident.narrative:
        for hit in _uncontested_hits(incident, ref, screen(incident.narrative)):
            add(
                "mention",
                f"narrative/{hit.family}",
                {
                    "mention_id": f"narrative/{hit.family}",
                    "family": hit.family,
                    "phrase": hit.phrase,
                    "sentence": hit.sentence,
                },
            )
    return IncidentFacts(incident, facts, decisions)


ROLE_WORDS = {
    "FCR": "the force crime registrar (FCR)",
    "DFCR": "a deputy force crime registrar (DFCR)",
    "DDM": "a designated decision maker (DDM)",
    "supervisor": "a supervisor",
    "investigator": "an investigator",
    "other": "someone else",
}


def _role_words(roles: Sequence[str]) -> list[str]:
    return [ROLE_WORDS.get(r, r) for r in roles]


def _link_fault(
    r: Record,
    d: Disclosure,
    decisions: dict[str, Decision],
    answered: set[str],
    by_id: dict[str, Disclosure],
    victims: dict[str, Victim],
    ref: Reference,
) -> tuple[str, bool, str]:
    """The classification fault of a live crime record judged against this disclosure, or "none".

    A record answering several disclosures (a principal crime and what it counts in) is judged once,
    against the most serious disclosure that is to be recorded; a record whose code is the one any
    of them requires is right. Whether the report had to be recorded at all (a review decision) does
    not matter: a crime that was recorded is judged as recorded."""
    recorded = ref.offence(r.classification)
    decision = decisions[d.disclosure_id]
    disclosed = ref.offence(d.offence)
    if (
        recorded is None
        or disclosed is None
        or recorded.notifiable_incident
        or r.status != "recorded"
        or decision.decision not in ("crime", "review")
    ):
        return "none", True, decision.expected_code
    judged = [by_id[i] for i in sorted(answered) if decisions[i].decision in ("crime", "review")]
    head = min(judged, key=lambda i: ref.seriousness((ref.offence(i.offence) or disclosed).code))
    if head.disclosure_id != d.disclosure_id:
        return "none", True, decision.expected_code
    victim = victims.get(r.victim_id or d.victim_id or "")
    if (
        any(decisions[i.disclosure_id].expected_code == recorded.code for i in judged)
        and band_fits(recorded, victim) is not False
    ):
        return "none", True, decision.expected_code
    return classification_fault(recorded, disclosed, decision.expected_code, victim, ref)


class Hit(Protocol):
    """What the narrative screen reports for one offence family (read-only)."""

    @property
    def family(self) -> str: ...
    @property
    def phrase(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def sentence(self) -> str: ...


Screen = Callable[[str], Sequence[Hit]]


def _uncontested_hits(incident: Incident, ref: Reference, hits: Sequence[Hit]) -> list[Hit]:
    """Hits, less those whose phrase overlaps a hit of a family already disclosed or recorded:
    "the van was broken into" is the recorded theft, not a second, criminal damage, offence."""
    covered = {o.family for d in incident.disclosures if (o := ref.offence(d.offence))}
    covered |= {o.family for r in incident.records if (o := ref.offence(r.classification))}
    spans = [(h.start, h.end) for h in hits if h.family in covered]
    return [h for h in hits if h.family in covered or not any(s < h.end and h.start < e for s, e in spans)]
