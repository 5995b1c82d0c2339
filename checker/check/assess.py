"""Judgements the facts carry that need more than a field lookup (issue 10): whether cancellation
grounds are additional verifiable information, which classification fault a record has, whether
two parties make a crime domestic abuse, and what a C3 duplicate points at."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Literal

from checker.core.models import Cancellation, Incident, Record, Victim
from checker.rules.reference import Offence, Reference

AviJudgement = Literal["evidence", "not_avi", "none", "unclear"]
Fault = Literal["none", "band", "rape_as_other", "aggravated_as_basic", "conduct_as_oneoff", "table", "other"]
DA_RELATIONSHIPS = ("partner", "ex_partner", "family")


def _phrase(term: str) -> str:
    return r"\b" + re.escape(term.lower()).replace(r"\ ", r"\s+")


def judge_avi(c: Cancellation | None, not_avi: Sequence[str], evidence: Sequence[str]) -> AviJudgement:
    """Judge the grounds of a cancellation by what they say, never by their length.

    Evidence the police can verify (CCTV, a witness, records, the item found) is AVI even beside a
    withdrawal; a withdrawal, no contact, no further information or time passing is not AVI however
    long; evidence that is only said to be absent ("no CCTV") is not AVI either; anything else is
    for a person to judge."""
    if c is None:
        return "none"
    text = " ".join(t.strip() for t in (c.avi or "", c.reason or "") if t and t.strip()).lower()
    if not text:
        return "none"
    negated, absent, evidence_re, not_avi_res, any_not_avi = _avi_patterns(tuple(not_avi), tuple(evidence))
    said_absent = bool(negated.search(text) or absent.search(text))
    rest = absent.sub(" ", negated.sub(" ", text))
    if any_not_avi.search(rest):  # else there is no phrase to take out
        for phrase in not_avi_res:
            rest, taken = phrase.subn(" ", rest)
            if taken and not any_not_avi.search(rest):
                break  # no phrase is left to take out, after this one either
    if evidence_re.search(rest):
        return "evidence"
    if said_absent or any_not_avi.search(text):
        return "not_avi"
    return "unclear"


@functools.lru_cache(maxsize=16)
def _avi_patterns(
    not_avi: tuple[str, ...], evidence: tuple[str, ...]
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], tuple[re.Pattern[str], ...], re.Pattern[str]]:
    """The patterns `judge_avi` uses, built once per pair of phrase lists (the reference's): the
    last finds whatever any of the not-AVI phrases finds."""
    terms = "|".join(_phrase(t) for t in evidence)
    negated = re.compile(
        rf"\b(?:no|not|nil|without|nothing\s+on|lack\s+of)\s+(?:\w+\s+){{0,2}}?(?:{terms})\w*"
        r"(?:\s+(?:was\s+|were\s+)?(?:found|available|seen|located|recovered|identified))?"
    )
    absent = re.compile(rf"(?:{terms})\w*\s+(?:\w+\s+){{0,2}}?(?:not\s+available|unavailable|not\s+found|negative)")
    phrases = [_phrase(p) for p in not_avi]
    any_phrase = re.compile("|".join(f"(?:{p})" for p in phrases) or "(?!)")  # (?!) never matches
    return negated, absent, re.compile(rf"(?:{terms})"), tuple(re.compile(p) for p in phrases), any_phrase


def is_domestic(relationship: str | None, victim_age: int | None, suspect_age: int | None, min_age: int) -> bool:
    """Partners, ex-partners or family, both aged `min_age` or over (an unknown age does not exclude)."""
    return (
        relationship in DA_RELATIONSHIPS
        and (victim_age is None or victim_age >= min_age)
        and (suspect_age is None or suspect_age >= min_age)
    )


def band_fits(offence: Offence, victim: Victim | None) -> bool | None:
    """Whether the victim fits the age and sex band the code carries; None when it cannot be told."""
    band = offence.band
    if band is None:
        return True
    if victim is None:
        return None
    if band.sex is not None and victim.sex in ("female", "male") and victim.sex != band.sex:
        return False
    if victim.age is not None and not band.fits(victim.age):
        return False
    if victim.age is None or (band.sex is not None and victim.sex not in ("female", "male")):
        return None
    return True


def classification_fault(
    recorded: Offence, disclosed: Offence, expected_code: str, victim: Victim | None, ref: Reference
) -> tuple[Fault, bool, str]:
    """The one classification fault of a crime record against the disclosure it answers, whether it
    is certain (a breach) or turns on facts the record lacks (a review), and the code that is right."""
    fits = band_fits(recorded, victim)
    if fits is False:
        right = ref.banded_code(recorded.code, victim.age if victim else None, victim.sex if victim else "unknown")
        return "band", True, right if right != recorded.code else expected_code
    if recorded.code == expected_code:
        return "none", True, expected_code
    expected = ref.offence(expected_code) or disclosed
    if disclosed.subgroup == "rape" and recorded.subgroup != "rape":
        return "rape_as_other", True, expected_code
    if recorded.code in expected.aggravated_of:
        return "aggravated_as_basic", True, expected_code
    if (
        disclosed.conduct
        and not recorded.conduct
        and (recorded.family == disclosed.family or recorded.subgroup == "public_order_offences")
    ):
        return "conduct_as_oneoff", True, expected_code
    if (disclosed.code, recorded.code) in ref.substitutions:
        return "table", True, expected_code
    same_set = recorded.band is not None and expected.band is not None and recorded.band.set == expected.band.set
    return "other", not (same_set and fits is None), expected_code


def duplicate_state(record: Record, incident: Incident) -> str:
    """What a C3 cancellation's `duplicate_of` points at: missing, self, elsewhere (another
    incident), cancelled, separate (a live record of a different report) or live."""
    c = record.cancellation
    if c is None or not c.duplicate_of:
        return "missing"
    if c.duplicate_of == record.record_id:
        return "self"
    target = next((r for r in incident.records if r.record_id == c.duplicate_of), None)
    if target is None:
        return "elsewhere"
    if target.status != "recorded":
        return "cancelled"
    other_victim = (
        record.victim_id is not None and target.victim_id is not None and record.victim_id != target.victim_id
    )
    disjoint = bool(record.disclosure_ids and target.disclosure_ids) and not set(record.disclosure_ids) & set(
        target.disclosure_ids
    )
    return "separate" if other_victim or disjoint else "live"
