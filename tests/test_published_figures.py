"""An inspection's published figures come out of `audit` and `compare` exactly as published.

The inspectorate samples all crime, violence against the person and sexual offences separately, so
each figure is audited here from its own batch of incidents whose counts fit the published rate and
its +/- (the normal approximation's half width): earlier inspection first, then the latest.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from checker.cli.exits import EXIT_OK
from checker.cli.main import main

AS_OF = "2025-03-01T00:00:00+00:00"
# figure: (offence code, (correct, cases) earlier, (correct, cases) latest, published text earlier, latest)
PUBLISHED = {
    "recording.all_crime": ("105A", (390, 472), (338, 365), "82.6 percent (+/-3.4", "92.6 percent (+/-2.7"),
    "recording.violence_against_the_person": (
        "105A",
        (137, 181),
        (123, 136),
        "75.7 percent (+/-6.2",
        "90.4 percent (+/-4.9",
    ),
    "recording.sexual_offences": ("17A", (106, 118), (131, 146), "89.8 percent (+/-5.5", "89.7 percent (+/-4.9"),
}


def incident(i: int, code: str, recorded: bool) -> dict[str, Any]:
    """A victim's report of one offence, recorded correctly within the hour or never recorded."""
    day = f"2025-01-{1 + i % 28:02d}"
    return {
        "incident_id": f"INC-{i:06d}",
        "reported_at": f"{day}T10:00:00+00:00",
        "reporter": "victim",
        "victims": [{"victim_id": "V1", "age": 30, "sex": "male", "relationship_to_suspect": "stranger"}],
        "disclosures": [{"disclosure_id": "D1", "offence": code, "victim_id": "V1"}],
        "records": (
            [
                {
                    "record_id": f"CRN-{i}",
                    "classification": code,
                    "victim_id": "V1",
                    "disclosure_ids": ["D1"],
                    "recorded_at": f"{day}T11:00:00+00:00",
                }
            ]
            if recorded
            else []
        ),
    }


def audit(tmp: Path, name: str, code: str, correct: int, cases: int) -> Path:
    batch = tmp / f"{name}.jsonl"
    batch.write_text("".join(json.dumps(incident(i, code, i < correct)) + "\n" for i in range(cases)))
    out = tmp / name
    code_ = main(["audit", str(batch), "--as-of", AS_OF, "--workers", "1", "--out", str(out)], stdout=io.StringIO())
    assert code_ == EXIT_OK
    return out


@pytest.mark.parametrize("measure", list(PUBLISHED))
def test_published_figures_come_back(tmp_path: Path, measure: str) -> None:
    code, earlier, latest, text_earlier, text_latest = PUBLISHED[measure]
    a = audit(tmp_path, "earlier", code, *earlier)
    b = audit(tmp_path, "latest", code, *latest)
    fa = json.loads((a / "summary.json").read_text())["figures"][measure]
    fb = json.loads((b / "summary.json").read_text())["figures"][measure]
    assert fa["text"] == text_earlier + " percentage points)"
    assert fb["text"] == text_latest + " percentage points)"
    page = (b / "report.html").read_text()
    assert text_latest in page, "report.html shows the figure as the inspectorate states it"

    out = io.StringIO()
    assert main(["compare", str(a), str(b), "--format", "json"], stdout=out) == EXIT_OK
    row = next(r for r in json.loads(out.getvalue())["measures"] if r["measure"] == measure)
    assert row["a"]["text"] == fa["text"] and row["b"]["text"] == fb["text"]
    assert row["significant"] is (measure != "recording.sexual_offences")

    out = io.StringIO()
    assert main(["compare", str(a), str(b)], stdout=out) == EXIT_OK
    label = fb["label"]
    line = next(line for line in out.getvalue().splitlines() if line.startswith(label))
    if measure == "recording.sexual_offences":
        assert "not significant" in line
    else:
        assert "significant: better" in line
