"""What an audit counts: the figures every summary reports, with their definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from checker.core.times import human_duration

SCHEMA_VERSION = "1.0"
CHUNK = 256  # items per chunk: large enough to amortise a process hop later, small enough to stream
TOP_INCIDENTS = 100  # incidents listed in report.html, most serious first
EXAMPLES = 20  # warnings and rejected items quoted in summary.json and report.html
# Findings in these areas mean a crime was not recorded correctly (the recording rate's numerator).
RECORDING_AREAS = frozenset({"recording", "rape_n100", "classification", "counting"})
SAFEGUARDING_QUALIFIERS = frozenset({"child_protection", "vulnerable_adult"})
CATEGORIES = ("C1", "C2", "C3", "C4", "C5", "none")
# Timeliness buckets: upper bounds in seconds from disclosure to the first record.
BUCKETS = (
    ("up to 1 h", 3600),
    ("1 to 24 h", 86400),
    ("24 to 72 h", 3 * 86400),
    ("3 to 7 days", 7 * 86400),
    ("7 to 30 days", 30 * 86400),
)
LONGER = "over 30 days"


@dataclass(frozen=True)
class Measure:
    """One audit figure: a share of counted cases, with its definition."""

    key: str
    label: str
    definition: str
    better: Literal["higher", "lower"] = "higher"


def window_text(seconds: int) -> str:
    """`24 hours` for the recording window (human_duration would say `1 day`)."""
    return f"{seconds // 3600} hours" if seconds % 3600 == 0 else human_duration(seconds)


def measures(window_s: int) -> list[Measure]:
    """The figures every summary reports, in report order."""
    window = window_text(window_s)
    crime = (
        "disclosures whose required decision is a crime (fraud excluded); recorded correctly = a crime "
        "record was made for the disclosure (even if since cancelled) and no finding of area recording, "
        "rape_n100, classification or counting is about it; an N100 where a crime was required is not recorded"
    )
    out = [
        Measure("recording.all_crime", "All crime (excluding fraud)", f"Crimes correctly recorded, of {crime}."),
        Measure(
            "recording.violence_against_the_person",
            "Violence against the person",
            "As all crime, for disclosures in the Home Office group violence against the person.",
        ),
        Measure(
            "recording.sexual_offences",
            "Sexual offences",
            "As all crime, for disclosures in the Home Office group sexual offences.",
        ),
        Measure("recording.rape", "Rape", "As all crime, for disclosures in the rape sub-group."),
        Measure(
            "recording.asb_personal",
            "Crimes in ASB-personal incidents",
            "As all crime, for disclosures in incidents with the asb_personal qualifier.",
        ),
        Measure(
            "recording.safeguarding",
            "Safeguarding referrals",
            "As all crime, for disclosures in incidents with the child_protection or vulnerable_adult "
            "qualifier, or reported by a professional.",
        ),
        Measure(
            "timeliness.within_window",
            f"Recorded within {window}",
            f"Disclosures with a crime or N100 record (live or cancelled) whose first record was made within "
            f"{window} of the disclosure (the recording_window setting).",
        ),
        Measure(
            "n100.correct",
            "N100s that were right",
            "Rape disclosures answered by a live N100 where the rules require an N100.",
        ),
        Measure(
            "n100.should_have_been_crime",
            "N100s that should have been crimes",
            "Rape disclosures answered by a live N100 where the rules require a crime and no crime record was made.",
            better="lower",
        ),
        Measure(
            "n100.missing",
            "Rape reports with neither crime nor N100",
            "Rape disclosures needing a crime or an N100 that have no record at all.",
            better="lower",
        ),
        Measure(
            "cancellation.correct",
            "Cancellations and transfers correct",
            "Cancelled or transferred records with no cancellation-area breach about the record.",
        ),
    ]
    for cat in CATEGORIES:
        name = "with no category" if cat == "none" else cat
        out.append(
            Measure(
                f"cancellation.correct.{cat}",
                f"Cancellations {name} correct",
                f"As cancellations correct, for records cancelled {name}.",
            )
        )
    out.append(
        Measure(
            "cancellation.victim_informed",
            "Victims told of the cancellation",
            "Cancelled or transferred records whose victim_informed is true (false or not recorded: not told).",
        )
    )
    return out
