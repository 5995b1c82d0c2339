"""An incident becomes flat facts with derived values, computed once, for the rules to match."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import orjson

from checker.check.assess import band_fits, classification_fault, duplicate_state, is_domestic, judge_avi
from checker.core.models import Disclosure, Incident, Record, Victim
from checker.core.times import LONDON
from checker.rules.fact_ids import number
from checker.rules.facts_schema import FACT_SCHEMA, Hit, Screen
from checker.rules.reference import Offence, Reference

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


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))  # months, days, hours, minutes and seconds as times show them


def _iso(value: datetime) -> str:
    # what strftime("%Y-%m-%dT%H:%M:%SZ") gives (the year unpadded, as glibc writes it), in a third of the time
    return _utc_iso(value.astimezone(UTC))


def _utc_iso(v: datetime) -> str:
    """`_iso` of a time already in UTC."""
    two = _TWO_DIGITS
    return f"{v.year}-{two[v.month]}-{two[v.day]}T{two[v.hour]}:{two[v.minute]}:{two[v.second]}Z"


def _yes_no(value: bool | None, unknown: str) -> str:
    return unknown if value is None else ("yes" if value else "no")


@dataclass(frozen=True)
class Decision:
    """The recording decision the rules require for one disclosure."""

    decision: Literal["crime", "n100", "no_crime", "review"]
    reason: str
    expected_code: str


_AGGRAVATING = frozenset(("race", "religion"))  # hate strands that make an offence its aggravated form


def decide(incident: Incident, d: Disclosure, victim: Victim | None, ref: Reference) -> Decision:
    """The decision Section A and the N100 rules require for one disclosure (see the brief, 2-3)."""
    offence = ref.offence(d.offence)
    if offence is None or offence.notifiable_incident:
        return Decision("review", "unknown_code", d.offence)
    code = ref.banded_code(offence.code, victim.age if victim else None, victim.sex if victim else "unknown")
    if d.hate and not _AGGRAVATING.isdisjoint(d.hate):
        code = ref.aggravated_form(code) or code
    rape = offence.subgroup == "rape"
    if offence.recorded_by == "action_fraud":
        return Decision("no_crime", "action_fraud", code)
    child = victim is not None and victim.age is not None and victim.age < ref.child_age_below
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
    deadlines: dict[str, datetime]  # by disclosure id: when its recording decision falls due


def _principals(incident: Incident, ref: Reference) -> dict[str, str]:
    """For each disclosure that is not its group's principal crime, the principal's id.

    A group is one victim's disclosures against one suspect made at the same moment (reported
    together); the principal is the most serious by the principal-crime order, the first on a tie."""
    if len(incident.disclosures) < 2:
        return {}
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


@lru_cache(maxsize=256)  # an Offence is frozen: one stand-in serves every record with that code
def _unknown(code: str) -> Offence:
    """A stand-in for a code the offence list does not hold: the review path, never a rejection."""
    unknown = "unknown"
    return Offence(code=code, name=f"unknown code {code}", group=unknown, subgroup=unknown, family=unknown, src="")


def _offence(ref: Reference, code: str) -> Offence:
    """The offence for a code, or the stand-in for a code the list does not hold."""
    return _looked_up(ref, code)[0]


def _looked_up(ref: Reference, code: str) -> tuple[Offence, bool]:
    """`_offence` of a code, and whether the offence list holds the code (one lookup for both)."""
    listed = ref.offence(code)
    return listed or _unknown(code), listed is not None


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # strftime's %a and %b: crimecheck never sets a locale
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(value: datetime) -> str:
    """`Fri 3 Jan 2025 14:22`: an absolute date and time in the force's zone, for messages (what
    strftime("%a %-d %b %Y %H:%M") gives, the year unpadded as glibc writes it, without its cost)."""
    m = value.astimezone(LONDON)
    return f"{_DAYS[m.weekday()]} {m.day} {_MONTHS[m.month - 1]} {m.year} {_TWO_DIGITS[m.hour]}:{_TWO_DIGITS[m.minute]}"


def narrative_hits(incident: Incident, ref: Reference, screen: Screen | None) -> Sequence[Hit]:
    """What the narrative screen finds in the incident's log (nothing without a log or a screen)."""
    if screen is None or not incident.narrative:
        return ()
    return screen(incident.narrative, _covered(incident, ref))


def build_facts(
    incident: Incident,
    ref: Reference,
    as_of: datetime,
    screen: Screen | None = None,
    mentions: Sequence[Hit] | None = None,
) -> IncidentFacts:
    """Turn one validated incident into facts; a code outside the offence list becomes a fact the
    review rules read, not an input error. The narrative's `mentions` are what `narrative_hits`
    gives with `screen`, unless given (already screened)."""
    out = _Facts(incident.reported_at.astimezone(UTC).date().isoformat())
    _incident_fact(out, incident)
    _victim_facts(out, incident, ref.domestic_abuse_min_age)
    principal_of = _principals(incident, ref)
    seen = _disclosure_facts(out, incident, ref, as_of, principal_of)
    links = _links(incident, ref)
    _record_facts(out, incident, ref, links, seen)
    _link_facts(out, incident, ref, links, seen, principal_of)
    for hit in narrative_hits(incident, ref, screen) if mentions is None else mentions:
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
    number(out.facts, out.names)  # ids the engine cannot confuse (checker/rules/fact_ids.py)
    return IncidentFacts(incident, out.facts, seen.decisions, seen.deadlines)


class _Facts:
    """The facts of one incident as they are built: each with its kind, id and report date."""

    def __init__(self, reported_on: str) -> None:
        self.reported_on = reported_on
        self.facts: list[dict[str, Any]] = []
        self.names: list[str] = []  # each fact's name, made of the incident's own ids

    def add(self, kind: str, key: str, values: dict[str, Any]) -> None:
        """Add a fact made of `values` (a new dict, taken over): a field that may be absent is left
        out when None; the others never are None (tests/test_fast_paths.py checks both)."""
        for name in _OPTIONAL[kind]:
            if values[name] is None:
                del values[name]
        values["kind"] = kind
        values["reported_on"] = self.reported_on
        self.facts.append(values)
        self.names.append(f"{kind}:{key}")


# each kind's fields that a fact may lack (the schema's `always=False`): the only ones ever None
_OPTIONAL = {kind: tuple(n for n, spec in fields.items() if not spec.always) for kind, fields in FACT_SCHEMA.items()}


@dataclass
class _Seen:
    """What the disclosure facts found that the record and link facts need."""

    decisions: dict[str, Decision]
    disclosed: dict[str, datetime]
    in_area: dict[str, bool]
    domestic: dict[str, bool]
    hate: dict[str, bool]
    deadlines: dict[str, datetime]


_SAFEGUARDING = frozenset(("child_protection", "vulnerable_adult"))  # qualifiers that make an incident a referral


def _incident_fact(out: _Facts, incident: Incident) -> None:
    quals = set(incident.qualifiers)
    out.add(
        "incident",
        incident.incident_id,
        {
            "incident_id": incident.incident_id,
            "reporter": incident.reporter,
            "channel": incident.channel,
            "qualifiers": dict.fromkeys(sorted(quals), True),
            "asb_personal": "asb_personal" in quals,
            "referral": incident.reporter == "professional" or not quals.isdisjoint(_SAFEGUARDING),
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


# Longer than 80 lines on purpose: most of it is the disclosure fact's one literal, its fields in the
# order checker.rules.facts_schema documents them; the decision logic itself is `decide`.
def _disclosure_facts(
    out: _Facts, incident: Incident, ref: Reference, as_of: datetime, principal_of: dict[str, str]
) -> _Seen:
    """A fact per disclosure; returns the decision each requires, when each was disclosed and falls
    due, and where, between whom and with what hostility each happened."""
    window = ref.recording_window_s
    window_span = timedelta(seconds=window)
    victims = {v.victim_id: v for v in incident.victims}
    suspects = {s.suspect_id: s for s in incident.suspects}
    min_da_age = ref.domestic_abuse_min_age
    child_below = ref.child_age_below
    all_from = ref.principal_crime_all_from
    in_addition_from = ref.conduct_in_addition_from
    seen = _Seen({}, {}, {}, {}, {}, {})
    for d in incident.disclosures:
        offence, listed = _looked_up(ref, d.offence)
        victim = victims.get(d.victim_id) if d.victim_id else None
        decision = decide(incident, d, victim, ref)
        principal = principal_of.get(d.disclosure_id)
        in_addition = False
        if principal is not None and decision.decision == "crime":
            if offence.conduct and in_addition_from <= incident.reported_at.astimezone(UTC).date() < all_from:
                in_addition = True
            else:
                decision = Decision("no_crime", "principal_crime", decision.expected_code)
        seen.decisions[d.disclosure_id] = decision
        at = d.disclosed_at or incident.reported_at
        at_utc = at.astimezone(UTC)  # converted once: the deadline in UTC needs no zone
        deadline = seen.deadlines[d.disclosure_id] = at_utc + window_span
        seen.disclosed[d.disclosure_id] = at
        age_s = int((as_of - at_utc).total_seconds())
        in_area = incident.occurred_in_force_area if d.occurred_in_force_area is None else d.occurred_in_force_area
        seen.in_area[d.disclosure_id] = in_area
        suspect = suspects.get(d.suspect_id) if d.suspect_id else None
        relationship = (suspect.relationship_to(d.victim_id) if suspect and d.victim_id else None) or (
            victim.relationship_to_suspect if victim else None
        )
        domestic = is_domestic(
            relationship, victim.age if victim else None, suspect.age_at(at) if suspect else None, min_da_age
        )
        seen.domestic[d.disclosure_id] = domestic
        seen.hate[d.disclosure_id] = bool(d.hate)
        child = victim is not None and victim.age is not None and victim.age < child_below
        out.add(
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
                "known": listed and not offence.notifiable_incident,
                "recorded_by": offence.recorded_by,
                "expected_code": decision.expected_code,
                "banded": offence.band is not None,
                "victim_id": d.victim_id,
                "victim_age": victim.age if victim else None,
                "victim_sex": victim.sex if victim else "unknown",
                "victim_attended": _yes_no(d.victim_attended, "unknown"),
                "victim_child": child,
                "victim_vulnerable": child or (victim is not None and victim.vulnerable),
                "principal_id": principal,
                "in_addition": in_addition,
                "suspect_id": d.suspect_id,
                "domestic": domestic,
                "hate": bool(d.hate),
                "hate_strands": ", ".join(s.replace("_", " ") for s in d.hate) if d.hate else None,
                "hate_incident": "hate" in incident.qualifiers,
                "reported_by": d.reported_by or incident.reporter,
                "victim_confirmed": _yes_no(d.victim_confirmed, "not_asked"),
                "victim_traceable": d.victim_traceable,
                "credible_evidence": d.credible_evidence_to_contrary,
                "in_force_area": in_area,
                "disclosed_at": _utc_iso(at_utc),
                "disclosed_text": _local(at_utc),
                "deadline": _utc_iso(deadline),
                "deadline_text": _local(deadline),
                "age_s": age_s,
                "left_s": window - age_s,
                "window_expired": age_s > window,
                "decision": decision.decision,
                "decision_reason": decision.reason,
                "decision_text": DECISION_TEXT.get(decision.reason, decision.reason),
            },
        )
    return seen


def _authoriser_check(r: Record, code: str, ref: Reference) -> tuple[str, tuple[str, ...] | None]:
    """Whether the record's cancellation was authorised by a role allowed to, and the roles allowed
    (`code`: the record's offence code, already looked up)."""
    c = r.cancellation
    allowed = ref.allowed_roles(c.category, code) if c and c.category else None
    if c is None or c.category is None or r.status == "recorded":
        return "allowed", allowed
    if c.authorised_by_role is None:
        return "missing_role", allowed
    if allowed is None:
        return "no_rule", allowed
    return ("allowed" if c.authorised_by_role in allowed else "not_allowed"), allowed


def _links(incident: Incident, ref: Reference) -> list[tuple[str, Record, bool]]:
    """Which disclosures each record answers: its disclosure_ids, or else those of the same victim
    and offence family (an N100 is in the rape family), the way a reviewer would pair them by hand."""
    links: list[tuple[str, Record, bool]] = []
    for r in incident.records:
        if r.disclosure_ids:
            links.extend((did, r, True) for did in r.disclosure_ids)
            continue
        family = _offence(ref, r.classification).family
        for d in incident.disclosures:
            same_victim = r.victim_id is None or d.victim_id is None or r.victim_id == d.victim_id
            if same_victim and family != "unknown" and _offence(ref, d.offence).family == family:
                links.append((d.disclosure_id, r, False))
    return links


def _cancellation_facts(
    r: Record, incident: Incident, mine: set[str], live: dict[str, set[str]], seen: _Seen, ref: Reference
) -> dict[str, Any]:
    """What a cancellation's grounds and target say: AVI judged by content, the C3 target, a C3 or
    C4 on a report of its own, whether the victim loses a crime."""
    c = r.cancellation
    category = c.category if c else None
    dup = duplicate_state(r, incident) if category == "C3" else None
    judgement = judge_avi(c, ref.not_avi_phrases, ref.avi_evidence_terms) if category == "C2" else None
    return {
        "has_avi": bool(c and c.avi and c.avi.strip()),
        "grounds_withdrawal_only": judgement == "not_avi",
        "avi_judgement": judgement,
        "duplicate_exists": dup in ("cancelled", "separate", "live"),
        "duplicate_state": dup,
        "separate_report": dup == "separate"
        or (
            category == "C4"
            and not any(live.get(did, set()) - {r.record_id} for did in mine)  # no other live record answers it
            and any(seen.decisions[did].decision == "crime" for did in mine)  # and a crime was due
        ),
        # the victim keeps a crime when a C3's surviving record (here or, to be confirmed, on
        # another incident) stands for it
        "victim_loses_crime": dup not in ("live", "elsewhere"),
    }


def _record_facts(
    out: _Facts, incident: Incident, ref: Reference, links: list[tuple[str, Record, bool]], seen: _Seen
) -> None:
    """A fact per record."""
    answered: dict[str, set[str]] = {}
    live: dict[str, set[str]] = {}
    for did, r, _ in links:
        answered.setdefault(r.record_id, set()).add(did)
        if r.status == "recorded":
            live.setdefault(did, set()).add(r.record_id)
    codes = {d.disclosure_id: d.offence for d in incident.disclosures}
    for r in incident.records:
        offence, known = _looked_up(ref, r.classification)
        c = r.cancellation
        mine = answered.get(r.record_id, set())
        check, allowed = _authoriser_check(r, offence.code, ref)
        out.add(
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
                "unknown_shared": not known and any(codes[did] == r.classification for did in mine),
                "recorded_by": offence.recorded_by,
                "status": r.status,
                "live": r.status == "recorded",
                "victim_id": r.victim_id,
                "recorded_at": _iso(r.recorded_at),
                "flags": {f: True for f in sorted(set(r.flags)) if f.isidentifier()} if r.flags else {},
                "personal_connection_required": offence.personal_connection_required,
                "n100_reason": r.n100_reason,
                "n100_reason_valid": r.n100_reason
                in ("victim_not_confirmed", "credible_evidence_to_contrary", "other_force_area"),
                "converted": r.converted_to is not None,
                "has_cancellation": c is not None,
                "cancel_category": c.category if c else None,
                "cancel_category_text": CATEGORY_WORDS.get(c.category) if c and c.category else None,
                "authorised_by": c.authorised_by_role if c else None,
                **_cancellation_facts(r, incident, mine, live, seen, ref),
                "victim_informed": _yes_no(c.victim_informed if c else None, "unknown"),
                "transferred_to": c.transferred_to if c else None,
                "duplicate_of": c.duplicate_of if c else None,
                "in_force_area": all(seen.in_area[did] for did in mine) if mine else incident.occurred_in_force_area,
                "domestic": any(seen.domestic[did] for did in mine),
                "hate": any(seen.hate[did] for did in mine),
                "hate_incident": "hate" in incident.qualifiers,
                "authoriser_check": check,
                "allowed_roles": _roles_in_words(allowed or ()),
            },
        )


def _link_facts(
    out: _Facts,
    incident: Incident,
    ref: Reference,
    links: list[tuple[str, Record, bool]],
    seen: _Seen,
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
    by_id = {d.disclosure_id: d for d in incident.disclosures}
    victims = {v.victim_id: v for v in incident.victims}
    for did, r, explicit in links:
        offence, listed = _looked_up(ref, r.classification)
        principal = principal_of.get(did)
        note = ref.substitutions.get((_offence(ref, by_id[did].offence).code, offence.code))
        fault, certain, right = _link_fault(r, by_id[did], seen.decisions, answered[r.record_id], by_id, victims, ref)
        out.add(
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
                "known": listed,
                "covers_principal": principal is not None and principal in answered[r.record_id],
                "wrong_substitution": note is not None,
                "substitution_note": note,
                "classification_fault": fault,
                "fault_certain": certain,
                "right_code": right,
                "status": r.status,
                "elapsed_s": int((r.recorded_at - seen.disclosed[did]).total_seconds()),
                "first_decision": r.recorded_at == first[did],
                "converted": r.converted_to is not None,
                "explicit": explicit,
            },
        )


CATEGORY_WORDS = {
    "C1": "C1 (committed outside the force area, transferred)",
    "C2": "C2 (additional verifiable information, AVI, shows no crime happened)",
    "C3": "C3 (duplicate record)",
    "C4": "C4 (recorded in error)",
    "C5": "C5",
}
ROLE_WORDS = {
    "FCR": "the force crime registrar (FCR)",
    "DFCR": "a deputy force crime registrar (DFCR)",
    "DDM": "a designated decision maker (DDM)",
    "supervisor": "a supervisor",
    "investigator": "an investigator",
    "other": "someone else",
}


def _either(words: Iterable[str]) -> str:
    """`a, b or c`."""
    items = list(words)
    return " or ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


@lru_cache(maxsize=256)  # the roles a table row allows: a few tuples for a whole run
def _roles_in_words(roles: tuple[str, ...]) -> str:
    """`the force crime registrar (FCR) or a supervisor`."""
    return _either(ROLE_WORDS.get(role, role) for role in roles)


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
    judged = [d]  # answering only this disclosure, the record is judged against it
    if len(answered) > 1:
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


def _covered(incident: Incident, ref: Reference) -> frozenset[str]:
    """The offence families a disclosure or record of the incident already covers. The screen skips
    a hit of any other family that overlaps a hit of one of these, wherever it stands in the log:
    "the van was broken into" is the recorded theft, not a second, criminal damage, offence
    (was ``_uncontested_hits``, which saw only each family's first hit)."""
    covered = {o.family for d in incident.disclosures if (o := ref.offence(d.offence))}
    covered |= {o.family for r in incident.records if (o := ref.offence(r.classification))}
    return frozenset(covered)
