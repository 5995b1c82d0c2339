"""Seeded generator of synthetic incidents in the crimecheck record contract.

The incidents follow ``shared/design/record-contract.md`` and mix compliant and non-compliant
recording decisions at the shares named below, so that the checker, its benchmarks and its audit
statistics have realistic input at any volume.

Incident ``i`` of seed ``s`` is drawn from its own ``random.Random(s * 2**32 + i)``: output is
byte-identical for the same seed and count, incident ``i`` never depends on the count, and a batch
of 10k is a prefix of a batch of 1M with the same seed.

As a script::

    python -m bench.generate --count 100000 --seed 7 --out /tmp/batch.jsonl
    python -m bench.generate --count 1000 --seed 7 --out - --bad-share 0.01 --truth

``--truth`` adds a ``synthetic_truth`` object to each incident (the decision each disclosure
should have had, and the defects injected). It is outside the contract, so it is off by default.
"""

from __future__ import annotations

import _random
import argparse
import os
import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from random import Random
from typing import IO, Any, Final, TypeVar
from zoneinfo import ZoneInfo

import orjson

# ---------------------------------------------------------------------------------------------
# Shares of non-compliance. Each approximates a figure in shared/domain/counting-rules-brief.md
# (section given) or, where the brief has no figure, says so. Tune here.
# ---------------------------------------------------------------------------------------------

# Share of crime-worthy reports (one crime per victim and suspect) left with no record at all.
# Brief 6.1: the 2014 national audit found 19% of crime unrecorded (recording rate 80.5%); the
# 2025 spotlight found 94.8%. With the rapes wrongly left as N100 below, 0.16 gives ~83% of
# crime-worthy disclosures answered by a crime record (the share the lead asked for; the brief's
# nearest figure is the 2014 one).
P_MISSED_CRIME: Final = 0.16
# Share of recording decisions (crime or N100) made more than 24 hours after the disclosure.
# Brief 2.4 gives only Leicestershire's 93.7% within 24 h after reform; no national figure. The
# lead asked for 72-80% within 24 h, so 24% late (76% timely).
P_LATE_RECORD: Final = 0.24
# Of late decisions, the share made 3 to 30 days after the disclosure (the rest 24-72 h).
# No figure in the brief.
P_VERY_LATE: Final = 0.30
# Of recorded rapes that should have been crimes (reported by the victim, someone acting for
# them or a professional, or confirmed by the victim), the share wrongly left as N100. Brief 3:
# Lancashire 2019, 2 of 8 rapes not properly recorded were N100s; 1 of 20 sampled N100s should
# have been a rape from the outset.
P_RAPE_AS_N100: Final = 0.12
# Of recorded rapes, the share classified as a sexual assault instead. Brief 3: Lancashire 2019,
# 2 of 8 rapes not properly recorded were misclassified as sexual assaults.
P_RAPE_AS_SEXUAL_ASSAULT: Final = 0.05
# Of recorded age- or sex-banded sexual offences with a known age, the share given the wrong band
# (e.g. 19C for a 14-year-old). No figure in the brief (5, "Accurate crime record" definition).
P_WRONG_AGE_BAND: Final = 0.04
# Of N100 records, the share with no n100_reason. No figure in the brief (3, N100 sub-codes).
P_N100_NO_REASON: Final = 0.10
# Of correct N100s for unconfirmed third-party rape reports, the share later converted to a crime
# after the victim confirms. Brief 3: Lancashire, 5 of 20 sampled N100s correctly converted.
P_N100_CONVERTED: Final = 0.25
# Of records that need the domestic abuse flag, the share without it. No figure in the brief
# (2.12 gives the rule only).
P_DA_FLAG_MISSING: Final = 0.10
# Share of recorded crimes later cancelled C2 (rape and other sexual offences use the higher
# rate). Brief 6.1: 200+ rapes and 250 violent crimes wrongly no-crimed in the 2014 audit; the
# brief has no overall cancellation rate.
P_CANCELLED: Final = 0.05
P_CANCELLED_SEXUAL: Final = 0.10
# Of C2 cancellations, the share with no AVI at all, and the share whose only reason is that the
# victim withdrew support. Brief 4: "a victim ... making 'no complaint' is insufficient
# justification" (Scotland, [M] for England and Wales); brief 9, rule 5.
P_C2_NO_AVI: Final = 0.12
P_C2_WITHDRAWAL_ONLY: Final = 0.12
# Of C2 cancellations, the share authorised by a role the [M] matrix in brief 4 does not allow
# (rape cancelled by a supervisor; other C2 by the investigator).
P_CANCEL_WRONG_ROLE: Final = 0.15
# Of cancellations and transfers, the share where the victim was not told. Brief 4: Suffolk 2019,
# 26 of 29 victims told (~10% not); brief 6.1: 22% of rape no-crime victims not told (2014).
P_VICTIM_NOT_INFORMED: Final = 0.10
P_VICTIM_NOT_INFORMED_RAPE: Final = 0.22
# Share of crime records that get a second, duplicate record cancelled C3. No figure in the brief.
P_DUPLICATE_RECORD: Final = 0.03
# Of reports that should not be crimes (credible evidence to the contrary, or a third party's
# report the victim declined to confirm), the share recorded anyway; half of those are later
# cancelled C4. Brief 6.1: the 2025 spotlight found "some over-recording".
P_OVER_RECORDED: Final = 0.20
# Share of disclosures with credible evidence to the contrary immediately available. No figure.
P_CREDIBLE_EVIDENCE: Final = 0.03
# Share of incidents that occurred outside the force area. No figure in the brief (4, Transfers).
P_OUT_OF_AREA: Final = 0.02
# Share of incidents whose narrative mentions an offence that has no disclosure, for narrative
# screening. Brief 2.9: conduct crimes are 37.9% of unrecorded violence; no figure for logs.
P_NARRATIVE_EXTRA_OFFENCE: Final = 0.08
# Chance of each extra (lesser) offence disclosed by the same victim against the same suspect,
# recorded under the principal crime (brief 2.8). No figure in the brief.
P_SECONDARY_OFFENCE: Final = 0.22
# Issue 10 situations. None of these has a figure in the brief; they are small shares that make
# every new rule meet each of its cases in a 10,000-incident batch.
# Of stranger victims of an offence with a racially or religiously aggravated form (and no lesser
# offence beside it), the share whose disclosure carries a hate strand; of those recorded, the
# share without the hate flag and (race or religion) the share recorded as the basic offence.
P_HATE: Final = 0.15
P_HATE_FLAG_MISSING: Final = 0.15
P_AGGRAVATED_AS_BASIC: Final = 0.20
# Of first victims in theft incidents, the share whose report is a fraud (recorded by Action
# Fraud, not the force), and of those the share the force records as a crime anyway.
P_FRAUD: Final = 0.10
P_FRAUD_FORCE_RECORDED: Final = 0.20
# Of family relationships with a victim of 16 or over, the share where the suspect is 13 to 15
# (not domestic abuse).
P_CHILD_SUSPECT: Final = 0.08
# Of third-party or witness reports about a child or a vulnerable adult the victim has not
# confirmed, the share where the victim can be traced but nobody has asked (a review decision).
P_UNASKED_VULNERABLE: Final = 0.5
# Of crime records, the share transferred C1 although the crime happened in the force area, and
# the share cancelled C3 as a duplicate of a record on another incident; of C2 cancellations, the
# share that also have a duplicate cancelled C3 against the cancelled record.
P_C1_IN_AREA: Final = 0.01
P_C3_ELSEWHERE: Final = 0.01
P_C3_OF_CANCELLED: Final = 0.15

SCHEMA_VERSION: Final = "1"
FORCE: Final = "Exampleshire Police"
LONDON: Final = ZoneInfo("Europe/London")
FIRST_DAY: Final = datetime(2024, 4, 1)  # reported_at spans 2024-04-01 .. 2025-03-31, local days
N_DAYS: Final = 365
# Incident i of seed s uses Random(s * SEED_STRIDE + i): no collisions across seeds for
# counts below 2**32, and no use of hash().
SEED_STRIDE: Final = 1 << 32

T = TypeVar("T")
Incident = dict[str, Any]
# A weighted choice as a tuple of SLOTS = 2**10 values, each repeated in proportion to its
# weight: table[getrandbits(10)] picks with one cheap draw (the hot path).
SLOTS: Final = 1024
Weighted = tuple[T, ...]


def _weighted(pairs: Sequence[tuple[T, float]]) -> Weighted[T]:
    """Apportion SLOTS entries to (value, weight) pairs by largest remainder."""
    total = sum(w for _, w in pairs)
    quotas = [w / total * SLOTS for _, w in pairs]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(pairs)), key=lambda i: counts[i] - quotas[i])
    for i in by_remainder[: SLOTS - sum(counts)]:
        counts[i] += 1
    return tuple(v for (v, _), c in zip(pairs, counts, strict=True) for _ in range(c))


# ---------------------------------------------------------------------------------------------
# Time: ints are UTC seconds since _BASE; formatting uses tables built once with zoneinfo.
# ---------------------------------------------------------------------------------------------

_BASE: Final = datetime(2024, 3, 1, tzinfo=UTC)
_TABLE_DAYS: Final = 700  # to early 2026: covers every later record and cancellation time


def _build_time_tables() -> tuple[list[str], list[int], list[int]]:
    """Date prefixes, BST start/end instants, and local-midnight instants of the reporting year."""
    dates = [(_BASE + timedelta(days=d)).strftime("%Y-%m-%dT") for d in range(_TABLE_DAYS)]
    transitions: list[int] = []

    def offset(hours: int) -> timedelta | None:
        return (_BASE + timedelta(hours=hours)).astimezone(LONDON).utcoffset()

    for d in range(_TABLE_DAYS - 1):  # offsets change at most once a day: find the day, then the hour
        if offset(d * 24) != offset(d * 24 + 24):
            h = next(h for h in range(d * 24 + 1, d * 24 + 25) if offset(h) != offset(d * 24))
            transitions.append(h * 3600)
    midnights = []
    for d in range(N_DAYS):
        local = (FIRST_DAY + timedelta(days=d)).replace(tzinfo=LONDON)
        midnights.append(int((local - _BASE).total_seconds()))
    return dates, transitions, midnights


_DATES, _BST_EDGES, _MIDNIGHTS = _build_time_tables()
# Small tables, so that they stay in cache: "HH:MM:" per minute of the day, and "SS+00:00" /
# "SS+01:00" per second of the minute (GMT first, then BST).
_HOURS_MINUTES: Final = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECONDS_OFFSET: Final = [f"{s:02d}{offset}" for offset in ("+00:00", "+01:00") for s in range(60)]


def _ts(t: int) -> str:
    """Format UTC seconds since _BASE as London local time with its offset."""
    bst = bisect_right(_BST_EDGES, t) & 1
    day, second = divmod(t + 3600 * bst, 86400)
    return _DATES[day] + _HOURS_MINUTES[second // 60] + _SECONDS_OFFSET[60 * bst + second % 60]


# Reports by hour of day: quiet before dawn, busiest late afternoon and evening.
_HOURS: Final = _weighted(
    list(
        zip(
            range(24),
            [3, 2.5, 2, 1.5, 1, 1, 1.5, 2.5, 3.5, 4, 4.5, 5, 5, 5, 5.5, 6, 6.5, 6.5, 6, 6, 5.5, 5, 4.5, 4],
            strict=True,
        )
    )
)

# ---------------------------------------------------------------------------------------------
# Offences
# ---------------------------------------------------------------------------------------------

RAPE_CODES: Final = frozenset({"19C", "19D", "19E", "19F", "19G", "19H"})
SEXUAL_ASSAULT_CODES: Final = frozenset({"20A", "20B", "17A", "17B"})
FAMILY: Final[dict[str, str]] = {
    **dict.fromkeys(("105A", "8N", "5D", "3B", "8L", "8Q", "8R", "8U"), "violence"),
    **dict.fromkeys(RAPE_CODES | SEXUAL_ASSAULT_CODES, "sexual"),
    "34B": "robbery",
    "28E": "burglary",
    **dict.fromkeys(("49", "46", "45", "48"), "theft"),
    **dict.fromkeys(("58A", "58C", "58D"), "damage"),
    "9A": "public_order",
}
# Racially or religiously aggravated forms (open-data lookup, brief 5): the code a hate strand of
# race or religion calls for.
AGGRAVATED: Final[dict[str, str]] = {
    "105A": "105B",
    "8N": "8P",
    "8L": "8M",
    "58A": "58J",
    "58C": "58J",
    "58D": "58J",
    "9A": "9B",
}
FAMILY.update({agg: FAMILY[basic] for basic, agg in AGGRAVATED.items()})
# Fraud is recorded by Action Fraud for the NFIB (HOCR Fraud, April 2021), not by the force.
FRAUD_CODES: Final = ("53C", "53D", "NFIB5A")
# The offence family of every code the generator writes, as in the reference offence table (a
# test holds the two together). RC003 raises a narrative mention only where no disclosure or record
# on the incident, of any victim and in any state, is of the mention's family; the
# narrative_only_offence label follows the same definition.
SCREEN_FAMILY: Final[dict[str, str]] = {
    **dict.fromkeys(("105A", "105B", "8N", "8P", "5D"), "assault"),
    **dict.fromkeys(("8L", "8M", "8Q", "8R", "8U"), "harassment_stalking"),
    "3B": "threats_to_kill",
    **dict.fromkeys(RAPE_CODES | {"N100"}, "rape"),
    **dict.fromkeys(SEXUAL_ASSAULT_CODES, "sexual_assault"),
    "34B": "robbery",
    "28E": "burglary",
    **dict.fromkeys(("49", "46", "45", "48"), "theft"),
    **dict.fromkeys(("58A", "58C", "58D", "58J"), "criminal_damage"),
    **dict.fromkeys(("9A", "9B"), "public_order"),
    **dict.fromkeys(FRAUD_CODES, "fraud"),
}
FAMILY.update(dict.fromkeys(FRAUD_CODES, "fraud"))
HATE_STRANDS: Final = (
    ("race", 0.5),
    ("religion", 0.15),
    ("sexual_orientation", 0.15),
    ("disability", 0.1),
    ("transgender", 0.1),
)
_HATE_STRANDS: Final = _weighted(HATE_STRANDS)
OFFENCE_CODES: Final = frozenset(FAMILY)
# Families whose crimes must carry the domestic abuse flag between personally connected people
# aged 16 or over (brief 2.12, [D] checker rule).
DA_FAMILIES: Final = frozenset({"violence", "sexual", "damage"})  # kept for reading; the flag is due on any crime
DA_RELATIONSHIPS: Final = frozenset({"partner", "ex_partner", "family"})

# Seriousness order for the principal crime rule (brief 2.8): lower is more serious. An
# approximation by maximum sentence [M]. Every offence in _SECONDARY ranks below its principal
# (the tests hold the generator to that), so the record is always classified as the principal.
_RANK: Final[dict[str, int]] = {
    **dict.fromkeys(RAPE_CODES, 0),
    "5D": 1,
    "34B": 2,
    "28E": 3,
    "20B": 4,
    "17B": 4,
    "20A": 5,
    "17A": 5,
    "8Q": 6,
    "3B": 7,
    "8U": 8,
    "8N": 9,
    "48": 10,
    "58A": 11,
    "8L": 12,
    "45": 13,
    "49": 14,
    "46": 15,
    "58C": 16,
    "105A": 17,
    "58D": 18,
    "8R": 19,
    "9A": 20,
}
# Lesser offences a victim may disclose alongside the principal one, by the same suspect.
_SECONDARY: Final[dict[str, tuple[str, ...]]] = {
    "rape": ("105A", "3B", "8R", "58D"),
    "sexual_assault": ("105A", "8R", "9A"),
    "5D": ("58D", "58A", "105A", "3B"),
    "8N": ("58D", "58A", "58C", "8R", "9A"),
    "105A": ("58D", "8R", "9A"),
    "3B": ("58D", "58C", "8R", "9A"),
    "8Q": ("58C", "58D", "8R"),
    "8U": ("58D", "8R", "105A"),
    "8L": ("58D", "58C", "8R"),
    "34B": ("8N", "105A", "58D"),
    "28E": ("58A",),
    "45": ("58C",),
    "49": ("58D",),
    "58A": ("9A", "8R"),
}


def rape_code(age: int | None, sex: str) -> str:
    """The rape offence code for a victim's age and sex (unknown age: adult)."""
    if sex == "male":
        return "19F" if age is None or age >= 16 else ("19G" if age >= 13 else "19H")
    return "19C" if age is None or age >= 16 else ("19D" if age >= 13 else "19E")


def sexual_assault_code(age: int | None, sex: str) -> str:
    """The sexual assault offence code for a victim's age and sex (unknown age: adult)."""
    child = age is not None and age < 13
    if sex == "male":
        return "17B" if child else "17A"
    return "20B" if child else "20A"


def _wrong_band(code: str, sex: str) -> str:
    """A neighbouring age band of the same sex: wrong for the victim the right code was for."""
    bands: tuple[str, ...]
    if code in RAPE_CODES:
        bands = ("19F", "19G", "19H") if sex == "male" else ("19C", "19D", "19E")
    else:
        bands = ("17A", "17B") if sex == "male" else ("20A", "20B")
    i = bands.index(code)
    return bands[i - 1] if i > 0 else bands[1]


# ---------------------------------------------------------------------------------------------
# Scenarios: who reports what, how, about whom.
# ---------------------------------------------------------------------------------------------

Ages = Weighted[tuple[int, int] | None]


class _Profile:
    """Victim profile: ages, sex, relationship to the suspect and offences."""

    __slots__ = ("ages", "offences", "rels", "sexes", "vulnerable")

    def __init__(
        self,
        ages: Sequence[tuple[tuple[int, int] | None, float]],
        female: float,
        rels: Sequence[tuple[str, float]],
        offences: Sequence[tuple[str, float]],
        vulnerable: float = 0.05,
    ) -> None:
        self.ages: Ages = _weighted(ages)
        unknown = 0.03
        self.sexes: Weighted[str] = _weighted(
            [("female", female * (1 - unknown)), ("male", (1 - female) * (1 - unknown)), ("unknown", unknown)]
        )
        self.rels: Weighted[str] = _weighted(rels)
        self.offences: Weighted[str] = _weighted(offences)
        self.vulnerable = vulnerable


class _Scenario:
    """Incident scenario: category, qualifiers, channel, reporter and victim profiles."""

    __slots__ = (
        "categories",
        "channels",
        "extra",
        "fillers",
        "main",
        "max_victims",
        "name",
        "places",
        "qualifiers",
        "reporters",
    )

    def __init__(
        self,
        name: str,
        categories: Sequence[str],
        qualifiers: Sequence[tuple[tuple[str, ...], float]],
        channels: Sequence[tuple[str, float]],
        reporters: Sequence[tuple[str, float]],
        main: _Profile,
        extra: _Profile | None,
        max_victims: int,
        places: Sequence[str],
        fillers: Sequence[str],
    ) -> None:
        self.name = name
        self.categories = tuple(categories)
        self.qualifiers: Weighted[tuple[str, ...]] = _weighted(qualifiers)
        self.channels: Weighted[str] = _weighted(channels)
        self.reporters: Weighted[str] = _weighted(reporters)
        self.main = main
        self.extra = extra or main
        self.max_victims = max_victims
        self.places = tuple(places)
        self.fillers = tuple(fillers)


_ADULT = ((18, 29), 0.3), ((30, 44), 0.35), ((45, 64), 0.25), ((65, 85), 0.06), (None, 0.04)
_HOME_PLACES = ("the caller's home address", "a flat on the estate", "a terraced house near the park")
_STREET_PLACES = (
    "a takeaway on the high street",
    "the railway station",
    "the town centre car park",
    "a bus stop on the ring road",
    "a pub in the town centre",
)
_DOMESTIC_FILLERS = (
    "DASH risk assessment completed and graded medium.",
    "DASH completed and graded high; referral made to MARAC.",
    "Children were in the house at the time but were not hurt.",
    "A neighbour confirmed hearing raised voices earlier in the evening.",
    "The suspect had left before officers arrived; attempts to locate them are ongoing.",
    "The victim did not want to give a statement tonight but spoke openly to officers.",
    "Previous domestic incidents recorded between the same parties.",
    "Refuge and IDVA details passed on.",
)
_SEXUAL_FILLERS = (
    "Early evidence kit offered and used.",
    "SARC referral discussed and accepted.",
    "ISVA details provided to the victim.",
    "Clothing seized for forensic examination.",
    "Specially trained officer allocated.",
    "ABE interview to be arranged.",
)
_CHILD_FILLERS = (
    "Strategy discussion arranged with children's social care.",
    "Child seen at school by a social worker; no immediate medical need.",
    "Section 47 enquiries to be carried out jointly.",
    "Referral came through the MASH with the agency's notes attached.",
    "The referrer is the point of contact for any visit.",
    "Siblings in the household to be seen by social care.",
)
_ADULT_FILLERS = (
    "Adult safeguarding concern raised by the care provider under section 42.",
    "Care home manager has been told not to discuss the matter with the suspect.",
    "Referral came through the MASH with the agency's notes attached.",
    "The referrer is the point of contact for any visit.",
    "The GP has been told and a capacity assessment is being arranged.",
)
_BURGLARY_FILLERS = (
    "Crime prevention advice given.",
    "Items listed with serial numbers where known.",
    "Point of entry appears to be the rear kitchen window.",
    "Insurance details taken.",
    "Forensic officer requested to attend in the morning.",
    "Doorbell camera footage to be downloaded.",
)
_PROPERTY_FILLERS = (
    "Crime prevention advice given.",
    "Items listed with serial numbers where known.",
    "Insurance details taken.",
    "Doorbell camera footage to be downloaded.",
    "A tracking app shows the item's last known location.",
)
_STREET_FILLERS = (
    "Ambulance attended and treated the injured party at the scene.",
    "Medical attention offered and declined.",
    "Door staff gave their account and hold CCTV of the area.",
    "Several witnesses left before officers arrived.",
)
_HARASSMENT_FILLERS = (
    "Screenshots of the messages to be uploaded.",
    "Advice given on blocking the suspect and keeping a record of contact.",
    "The suspect's account is not yet known.",
)
_ASB_FILLERS = (
    "Long-running dispute between neighbours; several earlier logs.",
    "Neighbourhood team aware and a joint visit with the housing officer is planned.",
    "Caller keeps a diary of the behaviour and will send a copy.",
    "Community trigger threshold discussed with the caller.",
)

_SCENARIOS: Final = _weighted(
    [
        (
            _Scenario(
                "domestic",
                ("DOMESTIC INCIDENT", "DOMESTIC ABUSE", "DOMESTIC - VERBAL ARGUMENT"),
                [(("domestic_abuse",), 0.92), (("domestic_abuse", "mental_health"), 0.08)],
                [("emergency_call", 0.55), ("non_emergency_call", 0.25), ("in_person", 0.1), ("online", 0.1)],
                [("victim", 0.7), ("third_party", 0.1), ("witness", 0.08), ("acting_for_victim", 0.12)],
                _Profile(
                    [((16, 17), 0.03), ((18, 29), 0.3), ((30, 44), 0.4), ((45, 70), 0.23), (None, 0.04)],
                    0.8,
                    [("partner", 0.4), ("ex_partner", 0.4), ("family", 0.2)],
                    [
                        ("8N", 0.3),
                        ("105A", 0.2),
                        ("8U", 0.1),
                        ("3B", 0.08),
                        ("8Q", 0.07),
                        ("8L", 0.07),
                        ("5D", 0.03),
                        ("rape", 0.07),
                        ("sexual_assault", 0.03),
                        ("58A", 0.05),
                    ],
                ),
                _Profile(
                    [((2, 9), 0.3), ((10, 12), 0.2), ((13, 15), 0.2), ((16, 60), 0.27), (None, 0.03)],
                    0.5,
                    [("family", 1.0)],
                    [("105A", 0.5), ("8N", 0.3), ("3B", 0.2)],
                ),
                4,
                _HOME_PLACES,
                _DOMESTIC_FILLERS,
            ),
            0.22,
        ),
        (
            _Scenario(
                "street",
                ("ASSAULT", "FIGHT", "PUBLIC ORDER"),
                [((), 0.88), (("hate",), 0.08), (("mental_health",), 0.04)],
                [("emergency_call", 0.6), ("non_emergency_call", 0.2), ("police_generated", 0.1), ("in_person", 0.1)],
                [("victim", 0.62), ("witness", 0.25), ("third_party", 0.08), ("acting_for_victim", 0.05)],
                _Profile(
                    [
                        ((10, 15), 0.08),
                        ((16, 17), 0.06),
                        ((18, 29), 0.4),
                        ((30, 49), 0.3),
                        ((50, 80), 0.11),
                        (None, 0.05),
                    ],
                    0.35,
                    [("stranger", 0.6), ("acquaintance", 0.35), ("unknown", 0.05)],
                    [("8N", 0.35), ("105A", 0.35), ("5D", 0.08), ("9A", 0.15), ("3B", 0.07)],
                ),
                None,
                5,
                _STREET_PLACES,
                _STREET_FILLERS,
            ),
            0.11,
        ),
        (
            _Scenario(
                "sexual",
                ("SEXUAL OFFENCE", "RAPE", "SEXUAL ASSAULT"),
                [((), 0.9), (("vulnerable_adult",), 0.05), (("mental_health",), 0.05)],
                [("non_emergency_call", 0.35), ("emergency_call", 0.25), ("in_person", 0.2), ("online", 0.2)],
                [("victim", 0.6), ("acting_for_victim", 0.1), ("third_party", 0.2), ("witness", 0.1)],
                _Profile(
                    [((13, 15), 0.15), ((16, 24), 0.35), ((25, 44), 0.35), ((45, 70), 0.11), (None, 0.04)],
                    0.85,
                    [
                        ("acquaintance", 0.45),
                        ("stranger", 0.25),
                        ("ex_partner", 0.15),
                        ("partner", 0.05),
                        ("family", 0.1),
                    ],
                    [("rape", 0.55), ("sexual_assault", 0.45)],
                    0.08,
                ),
                None,
                2,
                ("a house party", "the victim's home", "a hotel room", "a nightclub in the town centre", "a park"),
                _SEXUAL_FILLERS,
            ),
            0.06,
        ),
        (
            _Scenario(
                "child_referral",
                ("CHILD PROTECTION", "CONCERN FOR CHILD", "SAFEGUARDING REFERRAL"),
                [(("child_protection",), 1.0)],
                [("referral", 1.0)],
                [("professional", 1.0)],
                _Profile(
                    [((2, 9), 0.3), ((10, 12), 0.3), ((13, 15), 0.4)],
                    0.55,
                    [("family", 0.6), ("acquaintance", 0.3), ("stranger", 0.05), ("unknown", 0.05)],
                    [("rape", 0.2), ("sexual_assault", 0.25), ("8N", 0.25), ("105A", 0.3)],
                    1.0,
                ),
                None,
                3,
                ("the family home", "a secondary school", "a relative's house"),
                _CHILD_FILLERS,
            ),
            0.05,
        ),
        (
            _Scenario(
                "vulnerable_adult",
                ("ADULT SAFEGUARDING", "CONCERN FOR WELFARE", "VULNERABLE ADULT REFERRAL"),
                [(("vulnerable_adult",), 0.85), (("vulnerable_adult", "mental_health"), 0.15)],
                [("referral", 1.0)],
                [("professional", 1.0)],
                _Profile(
                    [((18, 59), 0.3), ((60, 79), 0.35), ((80, 98), 0.33), (None, 0.02)],
                    0.6,
                    [("family", 0.45), ("acquaintance", 0.35), ("stranger", 0.2)],
                    [("49", 0.35), ("105A", 0.25), ("8N", 0.15), ("sexual_assault", 0.1), ("8U", 0.05), ("28E", 0.1)],
                    1.0,
                ),
                None,
                2,
                ("a care home", "supported living accommodation", "the victim's home"),
                _ADULT_FILLERS,
            ),
            0.04,
        ),
        (
            _Scenario(
                "asb",
                ("ASB - PERSONAL", "ASB - NUISANCE", "NEIGHBOUR DISPUTE"),
                [(("asb_personal",), 0.85), (("asb_personal", "hate"), 0.05), (("asb_nuisance",), 0.1)],
                [("non_emergency_call", 0.6), ("online", 0.2), ("emergency_call", 0.15), ("in_person", 0.05)],
                [("victim", 0.8), ("third_party", 0.1), ("witness", 0.1)],
                _Profile(
                    [((12, 17), 0.05), *_ADULT],
                    0.55,
                    [("acquaintance", 0.6), ("stranger", 0.35), ("unknown", 0.05)],
                    [("9A", 0.35), ("8L", 0.25), ("58D", 0.15), ("58A", 0.1), ("3B", 0.05), ("105A", 0.1)],
                ),
                None,
                3,
                ("the caller's street", "a block of flats", "the shared garden", "the parade of shops"),
                _ASB_FILLERS,
            ),
            0.12,
        ),
        (
            _Scenario(
                "burglary",
                ("BURGLARY - RESIDENTIAL", "BURGLARY DWELLING", "SUSPICIOUS CIRCUMSTANCES"),
                [((), 1.0)],
                [("emergency_call", 0.3), ("non_emergency_call", 0.45), ("online", 0.25)],
                [("victim", 0.85), ("acting_for_victim", 0.05), ("third_party", 0.05), ("witness", 0.05)],
                _Profile(
                    [((20, 39), 0.35), ((40, 64), 0.4), ((65, 90), 0.2), (None, 0.05)],
                    0.5,
                    [("stranger", 0.9), ("unknown", 0.08), ("acquaintance", 0.02)],
                    [("28E", 1.0)],
                ),
                None,
                1,
                _HOME_PLACES,
                _BURGLARY_FILLERS,
            ),
            0.09,
        ),
        (
            _Scenario(
                "theft",
                ("THEFT", "THEFT OF/FROM VEHICLE", "SHOPLIFTING", "CRIMINAL DAMAGE"),
                [((), 1.0)],
                [("online", 0.35), ("non_emergency_call", 0.4), ("emergency_call", 0.15), ("in_person", 0.1)],
                [("victim", 0.85), ("acting_for_victim", 0.1), ("third_party", 0.05)],
                _Profile(
                    _ADULT,
                    0.5,
                    [("stranger", 0.85), ("unknown", 0.12), ("acquaintance", 0.03)],
                    [("49", 0.3), ("45", 0.2), ("48", 0.15), ("46", 0.15), ("58C", 0.1), ("58D", 0.1)],
                ),
                None,
                2,
                ("the retail park", "the street outside the caller's address", "a station car park"),
                _PROPERTY_FILLERS,
            ),
            0.15,
        ),
        (
            _Scenario(
                "robbery",
                ("ROBBERY", "ROBBERY - PERSONAL"),
                [((), 1.0)],
                [("emergency_call", 0.6), ("non_emergency_call", 0.3), ("in_person", 0.1)],
                [("victim", 0.75), ("witness", 0.15), ("acting_for_victim", 0.1)],
                _Profile(
                    [((12, 15), 0.15), ((16, 17), 0.15), ((18, 40), 0.5), ((41, 80), 0.15), (None, 0.05)],
                    0.3,
                    [("stranger", 0.9), ("acquaintance", 0.1)],
                    [("34B", 1.0)],
                ),
                None,
                3,
                _STREET_PLACES,
                _STREET_FILLERS,
            ),
            0.04,
        ),
        (
            _Scenario(
                "harassment",
                ("HARASSMENT", "MALICIOUS COMMUNICATIONS", "STALKING", "THREATS"),
                [((), 0.95), (("hate",), 0.05)],
                [("online", 0.35), ("non_emergency_call", 0.45), ("emergency_call", 0.1), ("in_person", 0.1)],
                [("victim", 0.85), ("acting_for_victim", 0.1), ("third_party", 0.05)],
                _Profile(
                    [((13, 15), 0.06), ((16, 29), 0.35), ((30, 49), 0.35), ((50, 75), 0.2), (None, 0.04)],
                    0.7,
                    [
                        ("ex_partner", 0.35),
                        ("acquaintance", 0.35),
                        ("stranger", 0.15),
                        ("family", 0.1),
                        ("unknown", 0.05),
                    ],
                    [("8R", 0.3), ("8L", 0.3), ("8Q", 0.2), ("3B", 0.2)],
                ),
                None,
                3,
                ("the caller's home address", "the caller's workplace", "a flat in the town centre"),
                _HARASSMENT_FILLERS,
            ),
            0.12,
        ),
    ]
)

_N_VICTIMS: Final = _weighted([(1, 0.70), (2, 0.18), (3, 0.07), (4, 0.03), (5, 0.02)])

# ---------------------------------------------------------------------------------------------
# Narrative templates. Tokens: {V}/{Vc} victim, {S}/{Sc} suspect (c = capitalised); pronouns
# {vs} {vo} {vp} (victim subject, object, possessive) and {ss} {so} {sp} (suspect) are filled in
# once per sex at import.
# ---------------------------------------------------------------------------------------------

_OFFENCE_TEXT: Final[dict[str, tuple[str, ...]]] = {
    "53C": (
        "{Vc} reports unrecognised payments on {vp} bank card from an online retailer {V} has never used.",
        "{Vc} says {vp} online banking shows card payments {V} did not make; the bank has been told.",
    ),
    "53D": (
        "{Vc} paid a deposit for a holiday let advertised online; the advert has gone and nobody answers.",
        "{Vc} sent money for a car advertised on a marketplace site; the seller has blocked {vo}.",
    ),
    "NFIB5A": (
        "{Vc} reports a caller posing as the bank persuaded {vo} to move savings into a new account.",
        "{Vc} says a text that looked like the bank's led {vo} to enter {vp} card details on a false website.",
    ),
    "105A": (
        "{Vc} states {S} pushed {vo} against the wall and slapped {vo} across the face; no visible injury.",
        "{Vc} reports that {S} grabbed {vp} arm and shoved {vo} to the ground, but there is no injury.",
        "According to {V}, {S} spat at {vo} and then kicked out at {vp} legs.",
        "{Vc} says {S} threw a drink over {vo} and pushed {vo} hard in the chest.",
    ),
    "8N": (
        "{Vc} states {S} punched {vo} in the face, leaving a cut lip and swelling to the cheek.",
        "{Vc} reports being headbutted by {S} and has a suspected broken nose.",
        "{Sc} is said to have kicked {V} repeatedly on the floor, causing heavy bruising to the ribs.",
        "{Vc} has bite marks to {vp} forearm and says {S} did this during the argument.",
    ),
    "5D": (
        "{Vc} was struck over the head with a bottle by {S} and has a deep wound needing stitches.",
        "{Sc} is alleged to have stabbed {V} once in the thigh with a kitchen knife; ambulance on scene.",
        "{Vc} was stamped on by {S} and has been taken to A&E with a fractured eye socket.",
    ),
    "3B": (
        "{Vc} states {S} held up a knife and said {ss} would kill {vo} if the police were called.",
        "{Sc} told {V} that {ss} is going to kill {vo} and {vp} family, and {V} believes {so} capable of it.",
        "{Vc} received a voice note from {S} saying {ss} will find {vo} and end {vp} life.",
    ),
    "8L": (
        "{Vc} says {S} has turned up outside {vp} home on several occasions in the past fortnight, shouting abuse.",
        "{Vc} reports repeated unwanted calls and messages from {S} since last month, despite asking {so} to stop.",
        "{Sc} keeps confronting {V} in the street and making derogatory comments; it has happened five times.",
    ),
    "8Q": (
        "{Vc} believes {S} has been following {vo} to and from work and waiting near {vp} address at night.",
        "{Sc} has opened new accounts to contact {V} after being blocked and has turned up at {vp} gym and workplace.",
        "{Vc} found a tracking device under {vp} car and suspects {S}, who keeps appearing wherever {V} goes.",
    ),
    "8R": (
        "{Vc} has received a stream of abusive and offensive messages from {S}; screenshots provided.",
        "{Sc} posted an intimidating message about {V} on a community group page, which {V} found very distressing.",
        "{Vc} has been sent grossly offensive texts by {S}, including sexual insults and slurs.",
    ),
    "8U": (
        "{Vc} describes {S} controlling {vp} money, checking {vp} phone daily and stopping {vo} seeing friends.",
        "{Vc} states {S} tracks {vp} phone location, keeps {vp} bank card and decides what {V} may wear.",
        "For months {S} has cut {V} off from family, kept control of money and threatened to leave {vo} with nothing.",
    ),
    "rape": (
        "{Vc} discloses that {S} had sex with {vo} without consent after {V} said no and tried to push {so} away.",
        "{Vc} states {vs} woke to find {S} having sex with {vo} and did not consent.",
        "{Vc} reports {S} forced {vo} into sexual intercourse at {sp} flat despite {vo} saying stop.",
    ),
    "sexual_assault": (
        "{Vc} reports {S} grabbed {vp} bottom and groped {vo} over {vp} clothing on the dance floor.",
        "{Vc} states {S} put a hand up {vp} top and touched {vo} sexually without consent.",
        "{Sc} is said to have forced a kiss on {V} and touched {vp} groin while {V} was trying to leave.",
    ),
    "rape_child": (
        "{Vc} disclosed to a teacher that {S} had raped {vo} at home.",
        "During a social care visit {V} said {S} has been having sex with {vo} over several weeks.",
        "Health staff report that {V} disclosed penetrative sexual abuse by {S}.",
    ),
    "sexual_assault_child": (
        "{Vc} told school staff that {S} touched {vo} sexually over {vp} clothing.",
        "{Vc} disclosed that {S} made {vo} sit on {sp} lap and touched {vo} sexually.",
    ),
    "105A_child": (
        "{Vc} told staff that {S} slapped {vo} the night before; no marks seen.",
        "{Vc} says {S} grabbed {vo} by the arm and dragged {vo} upstairs.",
    ),
    "8N_child": (
        "{Vc} has bruising to {vp} back and arm and says {S} hit {vo} with a belt.",
        "A school nurse noted finger-mark bruising on {V}'s neck, which {V} says {S} caused.",
    ),
    "34B": (
        "{Vc} states {S} demanded {vp} phone and pulled it from {vp} hand after threatening to stab {vo}.",
        "{Vc} was pushed over by {S}, who took {vp} wallet and ran off towards the park.",
        "{Sc} threatened {V} with what looked like a knife and took {vp} headphones and bank card.",
    ),
    "28E": (
        "{Vc} returned home to find the back door forced and jewellery and a laptop missing.",
        "{Vc} reports that someone got into {vp} house overnight through an open window and took car keys and a purse.",
        "{Vc} disturbed {S} in {vp} kitchen; {ss} fled through the rear garden with a games console.",
    ),
    "49": (
        "{Vc} reports {vp} bag was taken from the back of {vp} chair in a cafe while {V} was distracted.",
        "{Vc} states {S} took cash from {vp} purse in the kitchen without permission.",
        "{Vc} says parcels and garden tools have been taken from {vp} front porch.",
    ),
    "46": (
        "Store security report that {S} left the shop with bottles of spirits and razor blades without paying.",
        "Staff at the supermarket state {S} hid meat products in a bag and walked past the tills.",
        "The store manager reports {S} stole cosmetics worth about 120 pounds and left on foot.",
    ),
    "45": (
        "{Vc} found the window of {vp} van smashed and power tools taken from the back.",
        "{Vc} reports {vp} car was entered overnight and a sat-nav and sunglasses were taken.",
        "Doorbell footage shows {S} trying car doors along the street before taking a bag from {V}'s car.",
    ),
    "48": (
        "{Vc} reports {vp} car has been taken from outside {vp} address overnight; the keys are still with {vo}.",
        "{Vc}'s motorcycle was stolen from the communal car park; CCTV requested.",
        "{Vc} states {S} took {vp} car without consent and has not brought it back.",
    ),
    "58A": (
        "{Vc} reports {S} kicked {vp} front door, breaking the glass panel.",
        "{Sc} is alleged to have thrown a brick through {V}'s living room window.",
        "{Vc} states {S} smashed the bathroom door and punched holes in the walls during the argument.",
    ),
    "58C": (
        "{Vc} found all four tyres on {vp} car slashed and believes {S} is responsible.",
        "{Sc} scratched the side of {V}'s car with a key and snapped off a wing mirror.",
        "{Vc} reports paint stripper was poured over the bonnet of {vp} car.",
    ),
    "58D": (
        "{Vc} states {S} snatched {vp} mobile phone and smashed it on the ground.",
        "{Sc} kicked over and broke {V}'s garden fence panels.",
        "{Vc} reports {S} damaged {vp} mobility scooter by ripping off the controls.",
    ),
    "9A": (
        "{Vc} reports {S} stood outside shouting and swearing at {vo}, leaving {vo} alarmed and distressed.",
        "{Sc} was aggressive towards {V} in the shop, squaring up and shouting, leaving {vo} shaken.",
        "{Vc} says {S} has been banging on {vp} windows and yelling abuse, and {V} is frightened to go out.",
    ),
}
# Mentions of an offence with no disclosure, for narrative screening to find.
_EXTRA_MENTION: Final[tuple[tuple[str, str], ...]] = (
    ("8R", "{Vc} also mentions receiving abusive messages from {S} over the past week."),
    ("58D", "It also comes out that {S} broke {vp} phone during the incident."),
    ("105A", "{Vc} adds that {S} pushed {vo} as {V} tried to leave."),
    ("3B", "Almost in passing, {V} says {S} told {vo} {ss} would kill {vo}."),
    ("8L", "{Vc} says this is the fourth time this month {S} has come round shouting."),
    ("8N", "{Vc} mentioned a cut to {vp} elbow from being shoved to the floor by {S}."),
    ("49", "{Vc} noticed afterwards that cash was missing from {vp} purse."),
)
_FILLERS: Final = (
    "Officers attended and spoke with all parties present.",
    "Area search completed with negative result.",
    "PNC and local intelligence checks completed on all parties.",
    "Body-worn video was running throughout the attendance.",
    "Caller sounded distressed and was crying at times.",
    "No weapons were seen or mentioned.",
    "House-to-house enquiries started on the immediate street.",
    "Nearby CCTV identified; request sent to the council control room.",
    "Safeguarding advice given and contact numbers provided.",
    "Officer will take a statement at a time that suits the victim.",
    "Log updated after a call-back from the control room.",
    "Caller advised to ring 999 straight away if the suspect returns.",
    "Scene checked and photographs taken.",
    "Suspect details circulated to the local patrol team.",
    "No previous calls from this address in the last twelve months.",
    "Several previous logs exist for this address.",
    "Victim care leaflet handed over and a referral to victim services offered.",
    "THRIVE assessment completed by the call handler; graded for a priority response.",
    "Attendance delayed by demand across the district.",
    "Language Line interpreter used for the first account.",
    "Caller prefers a phone call to a visit.",
    "Duty sergeant updated.",
    "Enquiries are continuing.",
    "Passed to the neighbourhood team for follow-up.",
    "Description given: slim build, dark clothing, hood up.",
    "Dry weather and good street lighting at the time.",
    "Vehicle seen leaving the area at speed; partial registration obtained.",
    "Caller's mobile number confirmed for updates.",
    "Occurrence linked to the earlier call from the same number.",
    "Control room supervisor reviewed the grading.",
    "Officer's pocket notebook entry referenced on the log.",
    "Call recording retained for evidential purposes.",
)
_CLOSINGS_MISSED: Final = (
    "Caller did not want to make a formal complaint at this time.",
    "Words of advice given to all parties; no further police action requested.",
    "Resolved at scene; log closed.",
    "Parties separated for the night; no offences disclosed according to the attending officer.",
)
_CLOSINGS: Final = (
    "Log passed to the crime management unit for a recording decision.",
    "Log closed pending further contact.",
    "Incident to be reviewed by the investigation hub.",
    "Handed over to the day shift for continuity.",
)
_OPENINGS: Final[dict[str, tuple[str, ...]]] = {
    "emergency_call": (
        "999 call from the victim, who is at {P}.",
        "Emergency call from the injured party, speaking from {P}.",
        "999 call received; the caller is upset and says the incident happened at {P}.",
    ),
    "emergency_call:other": (
        "999 call from a member of the public reporting a disturbance at {P}.",
        "Emergency call from a neighbour who can hear shouting and screaming at {P}.",
        "999 call from a passer-by about an incident at {P}.",
    ),
    "non_emergency_call": (
        "101 call about an incident at {P}.",
        "Non-emergency call received regarding {P}.",
        "Caller rang 101 to report what happened at {P}.",
    ),
    "online": (
        "Online report submitted through the force website about {P}.",
        "Report received through the online reporting portal; location given as {P}.",
    ),
    "in_person": (
        "Reporting person attended the front counter at the police station about {P}.",
        "Walk-in report at the station enquiry office concerning {P}.",
    ),
    "referral:child_referral": (
        "Referral received from children's social care about a child, concerning {P}.",
        "Referral from the designated safeguarding lead at a secondary school; concern relates to {P}.",
        "Referral from a health visitor through the MASH regarding {P}.",
    ),
    "referral:vulnerable_adult": (
        "Referral from adult social care through the MASH; the concern relates to {P}.",
        "Safeguarding referral from a GP surgery about a patient living at {P}.",
        "Referral from the manager of {P} about a resident.",
    ),
    "police_generated": (
        "Officers on foot patrol came across a disturbance at {P}.",
        "Patrol flagged down by a member of the public at {P}.",
    ),
}
_VICTIM_REFS: Final[dict[str, tuple[str, ...]]] = {
    "self": ("the caller", "the victim", "the IP", "the reporting person"),
    "other": ("the victim", "the injured party", "the IP"),
    "child": ("the child", "the young person", "the pupil"),
    "adult_referral": ("the resident", "the service user", "the adult at risk"),
    "extra": ("a second victim", "another victim", "the caller's friend"),
    "extra_child": ("a younger sibling", "another child", "an older sibling"),
}
_SUSPECT_REFS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("partner", "male"): ("{vp} partner", "{vp} husband", "{vp} boyfriend"),
    ("partner", "female"): ("{vp} partner", "{vp} wife", "{vp} girlfriend"),
    ("ex_partner", "male"): ("{vp} ex-partner", "{vp} ex-husband", "{vp} ex-boyfriend"),
    ("ex_partner", "female"): ("{vp} ex-partner", "{vp} ex-wife", "{vp} ex-girlfriend"),
    ("family", "male"): ("{vp} brother", "{vp} son", "{vp} father", "{vp} brother-in-law"),
    ("family", "female"): ("{vp} sister", "{vp} daughter", "{vp} mother"),
    ("family_child", "male"): ("{vp} father", "{vp} stepfather", "{vp} mother's partner"),
    ("family_child", "female"): ("{vp} mother", "{vp} stepmother"),
    ("family_older", "male"): ("{vp} son", "{vp} grandson", "{vp} nephew"),
    ("family_older", "female"): ("{vp} daughter", "{vp} granddaughter", "{vp} niece"),
    ("acquaintance", "male"): ("a man known to {vo}", "a neighbour", "a family friend", "a former friend"),
    ("acquaintance", "female"): ("a woman known to {vo}", "a neighbour", "a family friend", "a former friend"),
    ("stranger", "male"): ("an unknown male", "a man in his twenties", "a man in a dark hooded top"),
    ("stranger", "female"): ("an unknown female", "a woman in her thirties", "a woman in a grey coat"),
    ("unknown", "male"): ("the suspect", "a person not yet identified"),
    ("unknown", "female"): ("the suspect", "a person not yet identified"),
}
_PRONOUNS: Final[dict[str, tuple[str, str, str]]] = {
    "female": ("she", "her", "her"),
    "male": ("he", "him", "his"),
    "unknown": ("the victim", "them", "their"),
}
_SEX_INDEX: Final = {"female": 0, "male": 1, "unknown": 2}


def _render(text: str, vsex: str, ssex: str) -> str:
    """Fill the pronoun tokens of a template for a victim and suspect sex."""
    vs, vo, vp = _PRONOUNS[vsex]
    ss, so, sp = _PRONOUNS[ssex]
    return (
        text.replace("{vs}", vs)
        .replace("{vo}", vo)
        .replace("{vp}", vp)
        .replace("{ss}", ss)
        .replace("{so}", so)
        .replace("{sp}", sp)
    )


# A template after pronouns are filled: a %-format and a getter that picks its arguments, in
# order, from (victim, Victim, suspect, Suspect). %-formatting is about twice as fast as
# str.format_map, and this runs for every disclosure.
Template = tuple[str, Callable[[tuple[str, str, str, str]], Any]]
_SLOT_RE: Final = re.compile(r"\{(V|Vc|S|Sc)\}")
_SLOT_INDEX: Final = {"V": 0, "Vc": 1, "S": 2, "Sc": 3}


def _compile(text: str) -> Template:
    """Turn the {V} {Vc} {S} {Sc} slots of a template into %s and an argument getter."""
    order = [_SLOT_INDEX[name] for name in _SLOT_RE.findall(text)]
    fmt = _SLOT_RE.sub("%s", text.replace("%", "%%"))
    if not order:
        return fmt, lambda _values: ()
    getter = itemgetter(*order)
    if len(order) == 1:
        return fmt, lambda values: (getter(values),)
    return fmt, getter


def _rendered(texts: Sequence[str]) -> tuple[tuple[Template, ...], ...]:
    """Compile templates for every (victim sex, suspect sex): index vsex * 2 + ssex."""
    return tuple(
        tuple(_compile(_render(t, vsex, ssex)) for t in texts)
        for vsex in ("female", "male", "unknown")
        for ssex in ("male", "female")
    )


_TEXT: Final = {key: _rendered(texts) for key, texts in _OFFENCE_TEXT.items()}
_EXTRA_TEXT: Final = tuple((code, _rendered([text])) for code, text in _EXTRA_MENTION)
_SUSPECT_TEXT: Final = {
    key: tuple(tuple(_render(t, vsex, "male") for t in refs) for vsex in ("female", "male", "unknown"))
    for key, refs in _SUSPECT_REFS.items()
}

# ---------------------------------------------------------------------------------------------
# Cancellations
# ---------------------------------------------------------------------------------------------

_AVI: Final[dict[str, tuple[str, ...]]] = {
    "violence": (
        "The victim withdrew support; CCTV from the premises also shows the injury came from a fall on the stairs.",
        "CCTV from the premises shows the complainant fell without anyone touching them; they accept it on viewing.",
        "Verified bodycam footage shows the named person never approached the complainant.",
    ),
    "sexual": (
        "Verified CCTV and phone-location data show the act could not have happened as described; reviewed by the FCR.",
        "The complainant's written statement, backed by an independent witness, describes events that were no offence.",
    ),
    "robbery": ("Phone records and the victim's written statement show the phone was lent to a friend, not taken.",),
    "burglary": ("A relative confirmed in writing that they took the items with permission; no trespass occurred.",),
    "theft": (
        "The property was found at the victim's workplace, where it was left; the victim confirmed this in writing.",
        "Tracking data shows the vehicle was moved by the finance company under a lawful repossession.",
    ),
    "damage": ("Dashcam footage shows the damage was caused by a falling branch in high winds.",),
    "public_order": ("Bodycam footage shows the words were not directed at the complainant or anyone present.",),
}
_NO_AVI_REASONS: Final = (
    "No further lines of enquiry.",
    "Insufficient evidence to proceed.",
    "Suspect denies the offence and there are no witnesses.",
)
_WITHDRAWAL_TEXT: Final = (
    "Victim withdrew support.",
    "Victim does not wish to proceed and has withdrawn support for police action.",
    "Victim no longer supports a prosecution.",
)
_FORCES: Final = (
    "Thames Valley Police",
    "West Midlands Police",
    "Greater Manchester Police",
    "Avon and Somerset Constabulary",
    "Metropolitan Police Service",
    "Kent Police",
)
# Roles the [M] authorisation matrix of brief 4 allows, by cancellation kind.
# The default table (issue 10): only the FCR, the deputy FCR and the DDMs cancel or transfer.
ROLES_C2_SEXUAL: Final = ("FCR", "DFCR", "DDM")
ROLES_C2_OTHER: Final = ("DDM", "FCR", "DFCR")
ROLES_ADMIN: Final = ("DDM", "FCR", "DFCR")

# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def expected_decision(
    offence: str,
    reported_by: str,
    confirmed: bool | None,
    traceable: bool,
    credible_evidence: bool,
    in_area: bool,
    age: int | None,
    vulnerable: bool,
) -> tuple[str, str | None]:
    """The decision the rules call for (crime, n100, none, transfer, review or refer) and the N100
    reason.

    Encodes the [M] third-party rules of brief 2.5 as the checker's settings have them, the N100
    table of brief 3, and issue 10: fraud is referred to Action Fraud; a professional's referral
    of a capable adult who declines, a police-generated report, and an unconfirmed report by
    someone else about a child or a vulnerable adult are for a person to decide (review).
    """
    if offence in FRAUD_CODES:
        return "refer", None
    rape = offence in RAPE_CODES
    if credible_evidence:  # credible evidence that it did not happen decides before where it happened
        return ("n100", "credible_evidence_to_contrary") if rape else ("none", None)
    if not in_area:
        return ("n100", "other_force_area") if rape else ("transfer", None)
    if reported_by in ("victim", "acting_for_victim"):
        return "crime", None
    at_risk = vulnerable or (age is not None and age < 18)
    if reported_by == "professional":
        if confirmed is False and not at_risk:
            return ("n100", "victim_not_confirmed") if rape else ("review", None)
        return "crime", None
    if reported_by == "police":
        return "review", None
    if confirmed:
        return "crime", None
    if not traceable:
        return ("n100", "victim_not_confirmed") if rape else ("crime", None)
    if rape:
        return "n100", "victim_not_confirmed"
    if at_risk:
        return "review", None
    if confirmed is False:
        return "none", None
    return "review", None


def _delay(r: Callable[[], float], lo_min: float, hi_min: float) -> int:
    """A delay in seconds between lo_min and hi_min minutes, skewed towards lo_min."""
    x = r()
    return int((lo_min + (hi_min - lo_min) * x * x) * 60)


_VIDS: Final = tuple(f"V{i}" for i in range(1, 6))
_DIDS: Final = tuple(f"D{i}" for i in range(1, 6))
_CRNS: Final = tuple(f"CRN-{i}" for i in range(1, 11))
_LATE_CUT: Final = P_LATE_RECORD * P_VERY_LATE  # draws below: very late; below P_LATE_RECORD: late
_ADMIN_ROLES: Final = len(ROLES_ADMIN)


class _Builder:
    """Records and defect labels of one incident while it is built."""

    __slots__ = ("defects", "missed", "r", "records", "room")

    def __init__(self, r: Callable[[], float], room: int) -> None:
        self.r = r
        self.records: list[dict[str, Any]] = []
        self.defects: list[str] = []
        self.room = room  # extra records (duplicates, conversions) that still fit in five
        self.missed = False

    def record(
        self,
        code: str,
        victim_id: str,
        disclosure_ids: list[str],
        recorded_at: int,
        flags: list[str],
        n100_reason: str | None = None,
    ) -> dict[str, Any]:
        """Append a record with status recorded (times stay ints until the incident is done)."""
        rec: dict[str, Any] = {
            "record_id": _CRNS[len(self.records)],
            "classification": code,
            "victim_id": victim_id,
            "disclosure_ids": disclosure_ids,
            "recorded_at": recorded_at,
            "flags": flags,
            "n100_reason": n100_reason,
            "converted_to": None,
            "status": "recorded",
            "cancellation": None,
        }
        self.records.append(rec)
        return rec

    def decision_time(self, disclosed: int, rid: str) -> int:
        """When decision rid is made: mostly within 24 hours of the disclosure, else late."""
        r = self.r
        x = r()
        if x >= P_LATE_RECORD:
            y = r()
            return disclosed + int((2 + 1428 * y * y) * 60)  # 2 minutes to 23 h 50
        self.defects.append("late_record:" + rid)
        if x < _LATE_CUT:
            return disclosed + 3 * 86400 + int(r() * 27 * 86400)
        return disclosed + 86400 + 60 + int(r() * 48 * 3600)

    def cancel(
        self,
        rec: dict[str, Any],
        category: str,
        role: str,
        avi: str | None,
        reason: str,
        informed: bool,
        transferred_to: str | None = None,
        duplicate_of: str | None = None,
    ) -> None:
        """Cancel (C2-C4) or transfer (C1) a record."""
        r = self.r
        rec["status"] = "transferred" if category == "C1" else "cancelled"
        rec["cancellation"] = {
            "category": category,
            "decided_at": rec["recorded_at"] + 3600 + int(r() * r() * 45 * 86400),
            "authorised_by_role": role,
            "avi": avi,
            "reason": reason,
            "victim_informed": informed,
            "transferred_to": transferred_to,
            "duplicate_of": duplicate_of,
        }

    def informed(self, rid: str, rape: bool) -> bool:
        """Whether the victim was told of a cancellation or transfer."""
        if self.r() < (P_VICTIM_NOT_INFORMED_RAPE if rape else P_VICTIM_NOT_INFORMED):
            self.defects.append("victim_not_informed:" + rid)
            return False
        return True

    def cancel_c2(self, rec: dict[str, Any], family: str, rape: bool) -> None:
        """Cancel a crime C2: compliant, or with an authoriser, AVI or withdrawal defect."""
        r = self.r
        rid = rec["record_id"]
        sexual = family == "sexual"
        roles = ROLES_C2_SEXUAL if sexual else ROLES_C2_OTHER
        role = roles[int(r() * len(roles))]
        if r() < P_CANCEL_WRONG_ROLE:
            role = ("supervisor", "investigator")[int(r() * 1.6)] if sexual else "investigator"
            self.defects.append("cancel_wrong_role:" + rid)
        x = r()
        avi: str | None
        if x < P_C2_NO_AVI:
            avi, reason = None, _NO_AVI_REASONS[int(r() * len(_NO_AVI_REASONS))]
            self.defects.append("c2_no_avi:" + rid)
        elif x < P_C2_NO_AVI + P_C2_WITHDRAWAL_ONLY:
            reason = _WITHDRAWAL_TEXT[int(r() * len(_WITHDRAWAL_TEXT))]
            avi = reason if r() < 0.5 else None
            self.defects.append("c2_withdrawal_only:" + rid)
        else:
            texts = _AVI[family]
            avi, reason = texts[int(r() * len(texts))], "AVI shows that no notifiable crime was committed."
        self.cancel(rec, "C2", role, avi, reason, self.informed(rid, rape))

    def decide(
        self,
        primary: str,
        dids: list[str],
        victim_id: str,
        disclosed: int,
        expected: str,
        n100_reason: str | None,
        da_needed: bool,
        age: int | None,
        sex: str,
        hate: str | None = None,
    ) -> bool:
        """Make the recording decisions for one victim-suspect group; True if an N100 converted.

        `hate` is the hate strand of the disclosure, if any: the record needs the hate flag and,
        for race or religion, the aggravated code."""
        r = self.r
        rid = _CRNS[len(self.records)]
        flags = ["domestic_abuse"] if da_needed else []

        if expected == "refer":
            if r() < P_FRAUD_FORCE_RECORDED:
                self.record(primary, victim_id, dids, self.decision_time(disclosed, rid), flags)
                self.defects.append("fraud_force_recorded:" + rid)
            return False

        if expected == "none":
            if r() < P_OVER_RECORDED:
                rec = self.record(primary, victim_id, dids, self.decision_time(disclosed, rid), flags)
                if r() < 0.5:
                    reason = "Recorded in error: the report did not meet the crime recording standard."
                    self.cancel(rec, "C4", ROLES_ADMIN[int(r() * _ADMIN_ROLES)], None, reason, True)
                else:
                    self.defects.append("over_recorded:" + rid)
            return False

        if r() < P_MISSED_CRIME:
            label = {"n100": "missed_n100:", "review": "review_open:"}.get(expected, "missed_crime:")
            self.defects.extend(label + d for d in dids)
            self.missed = True
            return False

        rape = primary in RAPE_CODES
        if expected == "n100" or (rape and r() < P_RAPE_AS_N100):
            if expected != "n100":
                self.defects.append("rape_n100_wrong:" + rid)
                n100_reason = "victim_not_confirmed"
                convert = False
            else:
                convert = n100_reason == "victim_not_confirmed" and self.room > 0 and r() < P_N100_CONVERTED
            if r() < P_N100_NO_REASON:
                n100_reason = None
                self.defects.append("n100_no_reason:" + rid)
            n100 = self.record("N100", victim_id, dids, self.decision_time(disclosed, rid), [], n100_reason)
            if not convert:
                return False
            self.room -= 1
            crime_id = _CRNS[len(self.records)]
            if da_needed and r() < P_DA_FLAG_MISSING:
                self.defects.append("da_flag_missing:" + crime_id)
                flags = []
            later = n100["recorded_at"] + 86400 + int(r() * 9 * 86400)
            self.record(primary, victim_id, list(dids), later, flags)
            n100["converted_to"] = crime_id
            return True

        if da_needed and r() < P_DA_FLAG_MISSING:
            self.defects.append("da_flag_missing:" + rid)
            flags = []
        code = primary
        if hate is not None:
            if r() < P_HATE_FLAG_MISSING:
                self.defects.append("hate_flag_missing:" + rid)
            else:
                flags = [*flags, "hate_crime"]
            if hate in ("race", "religion"):
                if r() < P_AGGRAVATED_AS_BASIC:
                    self.defects.append("aggravated_as_basic:" + rid)
                else:
                    code = AGGRAVATED[primary]
        if rape and r() < P_RAPE_AS_SEXUAL_ASSAULT:
            code = sexual_assault_code(age, sex)
            self.defects.append("rape_as_sexual_assault:" + rid)
        elif age is not None and (rape or code in SEXUAL_ASSAULT_CODES) and r() < P_WRONG_AGE_BAND:
            code = _wrong_band(code, sex)
            self.defects.append("wrong_age_band:" + rid)
        rec = self.record(code, victim_id, dids, self.decision_time(disclosed, rid), flags)

        if expected == "transfer":
            force = _FORCES[int(r() * len(_FORCES))]
            reason = f"Offence took place in the {force} area; transferred under the NCRSG protocol."
            role = ROLES_ADMIN[int(r() * _ADMIN_ROLES)]
            self.cancel(rec, "C1", role, None, reason, self.informed(rid, rape), transferred_to=force)
            return False
        x = r()
        family = FAMILY[primary]
        if x < P_C1_IN_AREA:
            force = _FORCES[int(r() * len(_FORCES))]
            reason = f"Transferred to {force}."
            role = ROLES_ADMIN[int(r() * _ADMIN_ROLES)]
            self.cancel(rec, "C1", role, None, reason, self.informed(rid, rape), transferred_to=force)
            self.defects.append("c1_in_area:" + rid)
        elif x < P_C1_IN_AREA + P_C3_ELSEWHERE:
            other = f"CRN-EXT-{int(r() * 90000) + 10000}"
            role = ROLES_ADMIN[int(r() * _ADMIN_ROLES)]
            self.cancel(rec, "C3", role, None, f"Repeat call: duplicate of {other}.", True, duplicate_of=other)
            self.defects.append("c3_elsewhere:" + rid)
        elif x < P_C1_IN_AREA + P_C3_ELSEWHERE + (P_CANCELLED_SEXUAL if family == "sexual" else P_CANCELLED):
            self.cancel_c2(rec, family, rape)
            if self.room > 0 and r() < P_C3_OF_CANCELLED:
                self.room -= 1
                dup = self.record(code, victim_id, list(dids), rec["recorded_at"] + _delay(r, 30, 600), list(flags))
                role = ROLES_ADMIN[int(r() * _ADMIN_ROLES)]
                self.cancel(dup, "C3", role, None, f"Duplicate of {rid}.", True, duplicate_of=rid)
                self.defects.append("c3_of_cancelled:" + dup["record_id"])
        elif x > 1 - P_DUPLICATE_RECORD and self.room > 0:
            self.room -= 1
            dup = self.record(code, victim_id, list(dids), rec["recorded_at"] + _delay(r, 30, 3 * 24 * 60), list(flags))
            role = ROLES_ADMIN[int(r() * _ADMIN_ROLES)]
            self.cancel(dup, "C3", role, None, f"Duplicate of {rid}.", True, duplicate_of=rid)
        return False


# Incident categories that follow the first victim's offence, for scenarios whose name says
# little on its own.
_CATEGORY_BY_OFFENCE: Final[dict[str, tuple[str, ...]]] = {
    "46": ("SHOPLIFTING",),
    "45": ("THEFT OF/FROM VEHICLE",),
    "48": ("THEFT OF/FROM VEHICLE", "VEHICLE CRIME"),
    "49": ("THEFT", "THEFT - OTHER"),
    "58C": ("CRIMINAL DAMAGE", "VEHICLE CRIME"),
    "58D": ("CRIMINAL DAMAGE",),
    **dict.fromkeys(RAPE_CODES, ("RAPE", "SEXUAL OFFENCE")),
    **dict.fromkeys(SEXUAL_ASSAULT_CODES, ("SEXUAL ASSAULT", "SEXUAL OFFENCE")),
    "8R": ("MALICIOUS COMMUNICATIONS", "HARASSMENT"),
    "8L": ("HARASSMENT",),
    "8Q": ("STALKING", "HARASSMENT"),
    "3B": ("THREATS", "THREATS TO KILL"),
    "9A": ("PUBLIC ORDER",),
    "105A": ("ASSAULT", "FIGHT"),
    "8N": ("ASSAULT", "ASSAULT - INJURY"),
    "5D": ("ASSAULT - SERIOUS INJURY", "ASSAULT"),
}
_CATEGORY_SCENARIOS: Final = frozenset({"theft", "sexual", "harassment", "street"})
_CHILD_TEXT: Final = frozenset({"rape", "sexual_assault", "105A", "8N"})
# Template key per offence code, and per code for a child victim in a professional's referral.
_TEXT_KEY: Final = {
    **{c: c for c in _OFFENCE_TEXT},
    **dict.fromkeys(RAPE_CODES, "rape"),
    **dict.fromkeys(SEXUAL_ASSAULT_CODES, "sexual_assault"),
}
_CHILD_KEY: Final = {c: k + "_child" if k in _CHILD_TEXT else k for c, k in _TEXT_KEY.items()}
_MAX_NARRATIVE: Final = 1500
_FILLER_ORDERS: Final = 8


def _cap(s: str) -> str:
    """Capitalise the first letter only."""
    return s[0].upper() + s[1:]


def _pairs(refs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Each reference with its capitalised form."""
    return tuple((ref, _cap(ref)) for ref in refs)


_VREFS: Final = {key: _pairs(refs) for key, refs in _VICTIM_REFS.items()}
_SREFS: Final = {key: tuple(_pairs(refs) for refs in by_sex) for key, by_sex in _SUSPECT_TEXT.items()}


def _filler_orders(pool: Sequence[str]) -> tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]:
    """Fixed shuffles of a filler pool, each doubled, with cumulative lengths (one space each).

    A narrative takes a run of consecutive fillers from one shuffle: distinct, varied, and
    found with one bisect instead of a loop.
    """
    orders = []
    for k in range(_FILLER_ORDERS):
        items = list(pool)
        Random(k).shuffle(items)
        items += items
        cum = [0]
        for item in items:
            cum.append(cum[-1] + len(item) + 1)
        orders.append((tuple(items), tuple(cum)))
    return tuple(orders)


_FILLER_SEQ: Final = {sc.name: _filler_orders(sc.fillers + _FILLERS) for sc in dict.fromkeys(_SCENARIOS)}
# Every opening sentence with every place of every scenario, filled in once.
_OPENING_TEXT: Final = {
    (sc.name, key): tuple(text.format(P=place) for text in texts for place in sc.places)
    for sc in dict.fromkeys(_SCENARIOS)
    for key, texts in _OPENINGS.items()
}


# The C-level seed of random.Random: the same stream as Random(key), without re-creating the
# generator or running the Python-level wrapper, which nearly doubles the cost of Random(key).
_reseed: Final = _random.Random.seed


def _build(rng: Random, seed: int, index: int, truth: bool) -> tuple[Incident, Callable[[], float]]:
    """Build incident `index` of `seed` with rng; also return its random stream for later draws."""
    _reseed(rng, seed * SEED_STRIDE + index)
    r = rng.random
    g = rng.getrandbits  # g(16) % n: a choice among n < 50 with bias under 0.1%
    sc = _SCENARIOS[g(10)]
    reported = _MIDNIGHTS[g(24) % N_DAYS] + _HOURS[g(10)] * 3600 + g(24) % 3600
    channel = sc.channels[g(10)]
    reporter = "police" if channel == "police_generated" else sc.reporters[g(10)]
    in_area = r() >= P_OUT_OF_AREA
    nv = min(_N_VICTIMS[g(10)], sc.max_victims)
    b = _Builder(r, 5 - nv)
    reported_s = _ts(reported)
    if channel == "emergency_call" and reporter != "victim":
        openings = _OPENING_TEXT[sc.name, "emergency_call:other"]
    elif channel == "referral":
        openings = _OPENING_TEXT[sc.name, "referral:" + sc.name]
    else:
        openings = _OPENING_TEXT[sc.name, channel]
    story = [openings[g(16) % len(openings)]]
    victims: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    used_text: dict[str, int] = {}
    suspect_sex = ["", ""]
    suspect_age: list[int | None] = [None, None]
    suspect_links: list[list[dict[str, str]]] = [[], []]
    suspect_ref: list[tuple[str, str] | None] = [None, None]
    v1_codes: list[str] = []
    v1_values = ("", "", "", "")
    v1_variant = 0

    for k in range(nv):
        prof = sc.main if k == 0 else sc.extra
        band = prof.ages[g(10)]
        age = None if band is None else band[0] + g(16) % (band[1] - band[0] + 1)
        sex = prof.sexes[g(10)]
        rel = prof.rels[g(10)]
        kind = prof.offences[g(10)]
        vulnerable = r() < prof.vulnerable
        if kind == "rape" or kind == "sexual_assault":
            if sex == "unknown":
                sex = "female"
            primary = rape_code(age, sex) if kind == "rape" else sexual_assault_code(age, sex)
        else:
            if kind == "8U" and (rel not in DA_RELATIONSHIPS or (age is not None and age < 16)):
                kind = "8L"  # controlling behaviour needs a personal connection and a victim of 16+
            elif kind == "28E" and rel in DA_RELATIONSHIPS:
                kind = "49"  # a relative taking from the home is theft, not a burglary
            if k == 0 and sc.name == "theft" and r() < P_FRAUD:
                kind = FRAUD_CODES[g(16) % len(FRAUD_CODES)]
            primary = kind
        vid = _VIDS[k]
        victims.append(
            {"victim_id": vid, "age": age, "sex": sex, "relationship_to_suspect": rel, "vulnerable": vulnerable}
        )

        si = 0 if k == 0 or r() < 0.7 else 1
        ssex = suspect_sex[si]
        if not ssex:
            if (rel == "partner" or rel == "ex_partner") and sex != "unknown":
                opposite = "male" if sex == "female" else "female"
                ssex = opposite if r() < 0.9 else sex
            else:
                ssex = "male" if r() < 0.85 else "female"
            suspect_sex[si] = ssex
        if suspect_age[si] is None:
            child_suspect = rel == "family" and kind != "8U" and (age is None or age >= 16) and r() < P_CHILD_SUSPECT
            suspect_age[si] = 13 + g(16) % 3 if child_suspect else 18 + g(16) % 50
        suspect_links[si].append({"victim_id": vid, "relationship": rel})

        if k == 0 or reporter == "professional" or reporter == "police":
            reported_by = reporter
        elif age is not None and age < 16:
            reported_by = "acting_for_victim"
        elif r() < 0.5:
            reported_by = "victim"
        else:
            reported_by = "witness" if reporter == "victim" or reporter == "acting_for_victim" else reporter

        if k == 0 and r() < 0.85:
            disclosed = reported
        elif r() < 0.9:
            disclosed = reported + _delay(r, 5, 240)
        else:
            disclosed = reported + _delay(r, 240, 3 * 24 * 60)

        traceable = True
        confirmed: bool | None
        x = r()
        if reported_by == "victim" or reported_by == "acting_for_victim":
            confirmed = True if x < 0.85 else None
        elif reported_by == "professional" or primary in RAPE_CODES:
            confirmed = True if x < 0.3 else (False if x < 0.5 else None)
            traceable = confirmed is not None or reported_by == "professional" or r() < 0.8
        else:
            confirmed = True if x < 0.55 else (False if x < 0.8 else None)
            traceable = confirmed is not None
            at_risk = vulnerable or (age is not None and age < 18)
            if confirmed is None and at_risk and r() < P_UNASKED_VULNERABLE:
                traceable = True  # nobody has asked the child or vulnerable adult yet
        cetc = r() < P_CREDIBLE_EVIDENCE
        decision, n100_reason = expected_decision(
            primary, reported_by, confirmed, traceable, cetc, in_area, age, vulnerable
        )

        # Lesser offences disclosed in the same account, answered by the same record. Not with an
        # N100: that record is for the rape alone.
        codes = [primary]
        pool = _SECONDARY.get(kind)
        if pool and decision not in ("n100", "refer"):
            slots = min(3, 5 - len(disclosures) - (nv - k - 1))
            if slots > 1 and r() < P_SECONDARY_OFFENCE:
                codes.append(pool[g(16) % len(pool)])
                if slots > 2 and r() < P_SECONDARY_OFFENCE:
                    extra = pool[g(16) % len(pool)]
                    if extra != codes[1]:
                        codes.append(extra)

        disclosed_s = reported_s if disclosed == reported else _ts(disclosed)
        sid = "S1" if si == 0 else "S2"
        first = len(disclosures)
        dids = list(_DIDS[first : first + len(codes)])
        for j, code in enumerate(codes):
            disclosures.append(
                {
                    "disclosure_id": dids[j],
                    "offence": code,
                    "victim_id": vid,
                    "suspect_id": sid,
                    "disclosed_at": disclosed_s,
                    "reported_by": reported_by,
                    "victim_confirmed": confirmed,
                    "victim_traceable": traceable,
                    "credible_evidence_to_contrary": cetc,
                    "occurred_in_force_area": in_area,
                }
            )
        hate: str | None = None
        if decision == "crime" and rel == "stranger" and len(codes) == 1 and primary in AGGRAVATED and r() < P_HATE:
            hate = _HATE_STRANDS[g(10)]
            disclosures[-1]["hate"] = [hate]
        s_age = suspect_age[si]
        da_needed = (
            rel in DA_RELATIONSHIPS and (age is None or age >= 16) and (s_age is None or s_age >= 16)
        )  # any crime type between them, theft and fraud included (issue 10)
        if b.decide(primary, dids, vid, disclosed, decision, n100_reason, da_needed, age, sex, hate):
            decision = "crime"  # the victim confirmed after the N100, which was then converted
            for d in disclosures[first:]:
                d["victim_confirmed"] = True
        if truth:
            code = AGGRAVATED[primary] if hate in ("race", "religion") else primary
            value = f"{decision}:{code}" if decision == "crime" or decision == "transfer" else decision
            for did in dids:
                expected[did] = value

        # Narrative sentences for this victim.
        vsi = _SEX_INDEX[sex]
        variant = vsi * 2 + (ssex != "male")
        if k == 0:
            if sc.name == "child_referral":
                refs = _VREFS["child"]
            elif sc.name == "vulnerable_adult":
                refs = _VREFS["adult_referral"]
            else:
                refs = _VREFS["self" if reported_by == "victim" or reported_by == "acting_for_victim" else "other"]
        else:
            refs = _VREFS["extra_child" if age is not None and age < 16 else "extra"]
        vref, vrefc = refs[g(16) % len(refs)]
        if rel == "family":
            relkey = "family_child" if age is not None and age < 16 else "family"
            if age is not None and age >= 60:
                relkey = "family_older"
        else:
            relkey = rel
        seen = suspect_ref[si]
        if seen and rel not in DA_RELATIONSHIPS:
            sref, srefc = seen  # the same suspect keeps the description first given
        elif si == 1 and rel in ("stranger", "unknown"):
            sref = "a second male" if ssex == "male" else "a second female"
            srefc = _cap(sref)
        else:
            srefs = _SREFS[(relkey, ssex)][vsi]
            sref, srefc = srefs[g(16) % len(srefs)]
        if rel not in DA_RELATIONSHIPS:
            suspect_ref[si] = (sref, srefc)
        values = (vref, vrefc, sref, srefc)
        keys = _CHILD_KEY if reported_by == "professional" and age is not None and age < 16 else _TEXT_KEY
        for code in codes:
            key = keys[code]
            texts = _TEXT[key][variant]
            j = g(16) % len(texts)
            if used_text.get(key) == j:
                j = (j + 1) % len(texts)  # no identical sentence twice in one log
            used_text[key] = j
            fmt, args = texts[j]
            story.append(fmt % args(values))
        if k == 0:
            v1_codes, v1_values, v1_variant = codes, values, variant
            if age is not None and r() < 0.3:
                story.append(f"{vrefc} is {age} years old.")

    if r() < P_NARRATIVE_EXTRA_OFFENCE:
        mention, variants = _EXTRA_TEXT[g(16) % len(_EXTRA_TEXT)]
        if mention not in v1_codes:
            fmt, args = variants[v1_variant][0]
            story.append(fmt % args(v1_values))
            covered = {SCREEN_FAMILY[d["offence"]] for d in disclosures}
            covered |= {SCREEN_FAMILY[rec["classification"]] for rec in b.records}
            if SCREEN_FAMILY[mention] not in covered:  # else a covered family, which RC003 rightly ignores
                b.defects.append("narrative_only_offence:V1:" + mention)

    # Narrative: opening, what was disclosed (above), a run of neutral fillers, closing.
    closings = _CLOSINGS_MISSED if b.missed and r() < 0.6 else _CLOSINGS
    closing = closings[g(16) % len(closings)]
    size = sum(map(len, story)) + len(story) + len(closing)
    target = 300 + int(1150 * r() ** 1.6)
    if size < target:
        items, cum = _FILLER_SEQ[sc.name][g(16) % _FILLER_ORDERS]
        start = g(16) % (len(items) // 2)
        base = cum[start]
        end = bisect_right(cum, base + target - size - 1)  # shortest run reaching the target
        end = min(end, bisect_right(cum, base + _MAX_NARRATIVE - size) - 1, start + len(items) // 2)
        story += items[start:end]
    story.append(closing)
    narrative = " ".join(story)

    records = b.records
    for rec in records:
        rec["recorded_at"] = _ts(rec["recorded_at"])
        canc = rec["cancellation"]
        if canc is not None:
            canc["decided_at"] = _ts(canc["decided_at"])

    categories = sc.categories
    if sc.name in _CATEGORY_SCENARIOS:
        categories = _CATEGORY_BY_OFFENCE.get(v1_codes[0], categories)
    category = categories[g(16) % len(categories)]
    qualifiers = list(sc.qualifiers[g(10)])
    v1 = victims[0]
    if (
        v1["relationship_to_suspect"] in DA_RELATIONSHIPS
        and (v1["age"] is None or v1["age"] >= 16)
        and "domestic_abuse" not in qualifiers
    ):
        qualifiers.append("domestic_abuse")

    if "hate" in qualifiers:  # a hate incident's crimes carry the hate flag, unless a defect says not
        unflagged = {d.split(":", 1)[1] for d in b.defects if d.startswith("hate_flag_missing:")}
        for rec in records:
            if (
                rec["classification"] != "N100"
                and rec["record_id"] not in unflagged
                and "hate_crime" not in rec["flags"]
            ):
                rec["flags"].append("hate_crime")
    inc: Incident = {
        "schema_version": SCHEMA_VERSION,
        "incident_id": f"SYN-{seed}-{index:07d}",
        "force": FORCE,
        "reported_at": reported_s,
        "channel": channel,
        "reporter": reporter,
        "incident_category": category,
        "qualifiers": qualifiers,
        "occurred_in_force_area": in_area,
        "narrative": narrative,
        "victims": victims,
        "suspects": [
            {
                "suspect_id": "S1" if si == 0 else "S2",
                "age": suspect_age[si],
                "sex": suspect_sex[si],
                "relationships": suspect_links[si],
            }
            for si in (0, 1)
            if suspect_links[si]
        ],
        "disclosures": disclosures,
        "records": records,
    }
    if truth:
        inc["synthetic_truth"] = {"scenario": sc.name, "expected": expected, "defects": b.defects}
    return inc, r


def _check(count: int, bad_share: float = 0.0) -> None:
    """Reject a count the seed derivation cannot keep collision-free, or a share outside [0, 1]."""
    if not 0 <= count <= SEED_STRIDE:
        raise ValueError(f"count must be between 0 and {SEED_STRIDE}")
    if not 0.0 <= bad_share <= 1.0:
        raise ValueError("bad share must be between 0 and 1")


def incident(seed: int, index: int, truth: bool = False) -> Incident:
    """Incident number `index` of the stream for `seed` (what generate yields at that position)."""
    if not 0 <= index < SEED_STRIDE:
        raise ValueError(f"index must be between 0 and {SEED_STRIDE - 1}")
    return _build(Random(), seed, index, truth)[0]


def generate(n: int, seed: int, truth: bool = False) -> Iterator[Incident]:
    """Yield n synthetic incidents for seed; incident i is the same whatever n is."""
    _check(n)
    return _incidents(n, seed, truth)


def _incidents(n: int, seed: int, truth: bool) -> Iterator[Incident]:
    """The body of generate, run lazily once its arguments are checked."""
    rng = Random()
    for i in range(n):
        yield _build(rng, seed, i, truth)[0]


BAD_KINDS: Final = ("truncated", "missing_incident_id", "naive_datetime", "unknown_victim", "negative_age")
_DUMPS_OPTION: Final = orjson.OPT_APPEND_NEWLINE


def _spoil(inc: Incident, r: Callable[[], float]) -> bytes:
    """One malformed JSON line made from a good incident."""
    kind = BAD_KINDS[int(r() * len(BAD_KINDS))]
    if kind == "missing_incident_id":
        del inc["incident_id"]
    elif kind == "naive_datetime":
        inc["reported_at"] = inc["reported_at"][:19]
    elif kind == "unknown_victim":  # an unknown offence code is a finding now, not an input error
        ds = inc["disclosures"]
        ds[int(r() * len(ds))]["victim_id"] = "V9"
    elif kind == "negative_age":
        vs = inc["victims"]
        vs[int(r() * len(vs))]["age"] = -1 - int(r() * 40)
    line = orjson.dumps(inc, option=_DUMPS_OPTION)
    if kind == "truncated":
        cut = len(line) // 4 + int(r() * (len(line) * 3 // 4 - 2))
        line = line[:cut] + b"\n"
    return line


def generate_lines(n: int, seed: int, bad_share: float = 0.0, truth: bool = False) -> Iterator[bytes]:
    """Yield n JSON Lines (bytes ending in a newline); bad_share of them malformed on purpose.

    A malformed line replaces the good line at its position; every other line is the same as
    with bad_share 0.
    """
    _check(n, bad_share)
    return _lines(n, seed, bad_share, truth)


def _lines(n: int, seed: int, bad_share: float, truth: bool) -> Iterator[bytes]:
    """The body of generate_lines, run lazily once its arguments are checked."""
    dumps = orjson.dumps
    option = _DUMPS_OPTION
    rng = Random()
    for i in range(n):
        inc, r = _build(rng, seed, i, truth)
        if bad_share and r() < bad_share:
            yield _spoil(inc, r)
        else:
            yield dumps(inc, option=option)


def write(out: IO[bytes], n: int, seed: int, bad_share: float = 0.0, truth: bool = False) -> int:
    """Stream n lines to a binary file in chunks of 2048; return the bytes written."""
    total = 0
    chunk: list[bytes] = []
    for line in generate_lines(n, seed, bad_share, truth):
        chunk.append(line)
        if len(chunk) == 2048:
            data = b"".join(chunk)
            out.write(data)
            total += len(data)
            chunk.clear()
    data = b"".join(chunk)
    out.write(data)
    return total + len(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Write seeded synthetic incidents as JSON Lines in the crimecheck record contract.",
    )
    parser.add_argument("--count", type=int, default=1000, help="number of incidents (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="seed (default 7)")
    parser.add_argument("--out", default="-", help="output file, or - for stdout (default -)")
    parser.add_argument(
        "--bad-share", type=float, default=0.0, help="share of deliberately malformed lines (default 0)"
    )
    parser.add_argument(
        "--truth", action="store_true", help="add a synthetic_truth object (expected decisions, defects)"
    )
    args = parser.parse_args(argv)
    try:
        _check(args.count, args.bad_share)
    except ValueError as err:
        parser.error(str(err))
    if args.out == "-":
        try:
            write(sys.stdout.buffer, args.count, args.seed, args.bad_share, args.truth)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # the reader stopped early (| head): not an error worth a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        with open(args.out, "wb", buffering=1 << 20) as f:
            write(f, args.count, args.seed, args.bad_share, args.truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
