"""The facts rules may test: every fact kind, its fields and their types, and the narrative
screen's interface. The rule loader type-checks every condition against this schema; the checker
(checker.check.facts) builds facts of exactly this shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

FieldType = Literal["str", "int", "bool", "set"]


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
        "cancel_category_text": _f("str", "the category in words, for messages", always=False),
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


class Screen(Protocol):
    """The narrative screen: the first ungoverned hit of each family in a text. A family not in
    ``covered`` skips hits overlapping any hit of a covered family (the push of a recorded robbery
    is not a second, assault, offence)."""

    def __call__(self, text: str, covered: frozenset[str] = frozenset()) -> Sequence[Hit]: ...


# What reports may not show of a fact field as it is (checker/audit/rows.py masks them):
# the words of the incident log, which name people ...
NARRATIVE_FIELDS = frozenset({"phrase", "sentence"})
# ... a victim's particulars, which with the date and place point to one person under --pseudonymise ...
PERSONAL_FIELDS = frozenset({"age", "sex", "relationship", "partner_or_family", "victim_age", "victim_sex"})
# ... and ids: every `*_id` field (but mention_id, which names an offence family) and these.
ID_FIELDS = frozenset({"duplicate_of"})


def is_id_field(name: str) -> bool:
    """Whether a fact field holds an id of the incident, a record, a disclosure, a victim or a suspect."""
    return name in ID_FIELDS or (name.endswith("_id") and name != "mention_id")
