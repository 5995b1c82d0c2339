"""`crimecheck compare`: change between two audits, and whether it is beyond chance."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from checker.audit.compare import compare, human
from checker.audit.stats import FISHER_METHOD, TWO_PROPORTION_METHOD
from checker.cli.exits import EXIT_ERROR, EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def summary(figures: dict[str, tuple[int, int]], ruleset: str = "abc") -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "as_of": "2025-02-01T00:00:00+00:00",
        "ruleset": {"hash": ruleset},
        "settings": {"confidence": 0.95},
        "figures": {
            key: {
                "label": key,
                "numerator": x,
                "denominator": n,
                "text": f"{100 * x / n:.1f} percent" if n else "no cases",
            }
            for key, (x, n) in figures.items()
        },
    }


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["compare", *args], stdout=out)
    return code, out.getvalue()


def write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_inspectorate_examples(tmp_path: Path) -> None:
    """An inspection's published figures: all crime 82.6 -> 92.6 and violence 75.7 -> 90.4 are real
    improvements; sexual offences 89.8 -> 89.7 is not a change."""
    a = summary(
        {
            "recording.all_crime": (390, 472),
            "recording.violence_against_the_person": (137, 181),
            "recording.sexual_offences": (106, 118),
        }
    )
    b = summary(
        {
            "recording.all_crime": (338, 365),
            "recording.violence_against_the_person": (123, 136),
            "recording.sexual_offences": (131, 146),
        }
    )
    doc = compare(a, b)
    rows = {r["measure"]: r for r in doc["measures"]}
    rise, flat = rows["recording.all_crime"], rows["recording.sexual_offences"]
    assert f"{rise['a']['rate']:.3f}" == "0.826" and f"{rise['b']['rate']:.3f}" == "0.926"
    assert rise["significant"] is True and round(rise["change_points"], 1) == 10.0 and rise["p_value"] < 0.001
    assert rise["significant_adjusted"] is True and rise["test"] == TWO_PROPORTION_METHOD
    assert rows["recording.violence_against_the_person"]["significant_adjusted"] is True
    assert flat["significant"] is False and abs(flat["change_points"]) < 0.2 and flat["p_value"] > 0.9
    assert any("3 figures are tested at once" in n for n in doc["notes"])

    code, text = run(write(tmp_path / "a.json", a), write(tmp_path / "b.json", b))
    assert code == EXIT_OK
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("recording.")}
    assert "82.6%" in lines["recording.all_crime"] and "92.6%" in lines["recording.all_crime"]
    assert "+10.0 pts" in lines["recording.all_crime"] and "significant: better" in lines["recording.all_crime"]
    assert "not significant" in lines["recording.sexual_offences"]
    assert "two-proportion z-test" in text and "Holm" in text

    code, text = run(str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", "json")
    assert code == EXIT_OK and json.loads(text)["measures"][0]["measure"] == "recording.all_crime"


def test_small_counts_use_the_exact_test() -> None:
    doc = compare(summary({"n100.correct": (2, 2)}), summary({"n100.correct": (50, 100)}))
    row = doc["measures"][0]
    assert row["test"] == FISHER_METHOD and row["significant"] is False and row["p_value"] > 0.4
    assert not any("tested at once" in n for n in doc["notes"])


def test_periods_as_of_and_shared_input_are_shown(tmp_path: Path) -> None:
    a = summary({"x": (50, 100)})
    b = summary({"x": (60, 100)})
    a["period"] = {"first": "2023-10", "last": "2024-03"}
    b["period"] = {"first": "2024-10", "last": "2024-10"}
    b["as_of"] = "2025-04-01T00:00:00+00:00"
    text = human(compare(a, b))
    assert "A: incidents reported 2023-10 to 2024-03; judged as of 2025-02-01T00:00:00+00:00" in text
    assert "B: incidents reported 2024-10; judged as of 2025-04-01T00:00:00+00:00" in text
    for doc in (a, b):
        doc["inputs"] = {"files": ["x.jsonl"], "digest": "d1"}
    assert any("both audits read the same input" in n for n in compare(a, b)["notes"])
    b["sample"] = {"size": 50, "of_read": 100}
    assert any("B is a sample of the same input that A audited whole" in n for n in compare(a, b)["notes"])
    b["inputs"]["digest"] = "d2"
    assert not any("same input" in n for n in compare(a, b)["notes"])


def test_report_folder_or_wrong_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "report"
    folder.mkdir()
    write(folder / "summary.json", summary({"x": (1, 2)}))
    assert run(str(folder), str(folder / "summary.json"))[0] == EXIT_OK
    capsys.readouterr()
    findings = tmp_path / "findings.csv"
    findings.write_text("incident_id,rule_id\n")
    assert run(str(folder), str(findings))[0] == EXIT_ERROR
    err = capsys.readouterr().err
    assert "not a summary.json" in err and "findings.csv" in err
    assert run(str(folder), str(tmp_path))[0] == EXIT_ERROR
    assert "no summary.json" in capsys.readouterr().err


def test_lower_is_better_and_edge_cases() -> None:
    a = summary({"n100.missing": (20, 100), "empty": (0, 0), "only.a": (1, 2)})
    b = summary({"n100.missing": (5, 100), "empty": (0, 0), "only.b": (1, 2)}, ruleset="other")
    for fig, better in ((a, "lower"), (b, "lower")):
        fig["figures"]["n100.missing"]["better"] = better
    doc = compare(a, b)
    rows = {r["measure"]: r for r in doc["measures"]}
    assert rows["n100.missing"]["significant"] and rows["n100.missing"]["change_points"] == -15.0
    assert rows["empty"]["note"] and rows["empty"]["change_points"] is None and not rows["empty"]["significant"]
    assert doc["only_in_one"] == ["only.a", "only.b"]
    assert doc["notes"] and "rule sets" in doc["notes"][0]
    text = human(doc)
    assert "significant: better" in text and "no test" in text and "only.a" in text


def test_two_real_audits(tmp_path: Path) -> None:
    fixtures = ROOT / "fixtures" / "incidents"
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(json.dumps(json.loads(p.read_text())) + "\n" for p in sorted(fixtures.glob("*.json"))))
    for name in ("a", "b"):
        out = io.StringIO()
        code = main(
            ["audit", str(batch), "--as-of", "2025-02-01T00:00:00+00:00", "--out", str(tmp_path / name), "--quiet"],
            stdout=out,
        )
        assert code == EXIT_OK
    code, text = run(str(tmp_path / "a" / "summary.json"), str(tmp_path / "b" / "summary.json"), "--format", "json")
    doc = json.loads(text)
    assert code == EXIT_OK
    assert any("both audits read the same input" in n for n in doc["notes"])
    assert doc["a"]["period"] == "2025-01" and doc["a"]["inputs_digest"]
    assert all(not r["significant"] and r["change_points"] in (0.0, None) for r in doc["measures"])
    assert "recording.all_crime" in {r["measure"] for r in doc["measures"]}


def test_unreadable_summaries_exit_2(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", summary({"x": (1, 2)}))
    assert run(good, str(tmp_path / "missing.json"))[0] == EXIT_ERROR
    (tmp_path / "bad.json").write_text("{not json")
    assert run(good, str(tmp_path / "bad.json"))[0] == EXIT_ERROR
    future = summary({"x": (1, 2)})
    future["schema_version"] = "2.0"
    assert run(good, write(tmp_path / "future.json", future))[0] == EXIT_ERROR
    assert run(good, write(tmp_path / "other.json", {"schema_version": "1.0"}))[0] == EXIT_ERROR


@pytest.mark.parametrize(
    ("damage", "field", "says"),
    [
        ({"numerator": "five"}, "figures.x.numerator", "should be a valid integer"),
        ({"numerator": True}, "figures.x.numerator", "should be a valid integer"),  # not read as 1
        ({"numerator": 1.5}, "figures.x.numerator", "should be a valid integer"),
        ({"denominator": -3}, "figures.x.denominator", "should be greater than or equal to 0"),
        ({"numerator": 50}, "figures.x", "numerator 50 is more than denominator 2"),
        ({"better": "up"}, "figures.x.better", "should be 'higher' or 'lower'"),
        (None, "figures.x", "should be an object of named fields ({...})"),
    ],
)
def test_a_damaged_summary_is_named_with_its_field_not_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: dict[str, Any] | None, field: str, says: str
) -> None:
    """A summary.json edited by hand (or damaged) crashed `compare` and `audit --previous` with an
    internal error (a text count, a numerator over its denominator, a negative count); true was read as 1."""
    good = write(tmp_path / "good.json", summary({"x": (1, 2)}))
    doc = summary({"x": (1, 2)})
    doc["figures"]["x"] = None if damage is None else {**doc["figures"]["x"], **damage}
    bad = write(tmp_path / "bad.json", doc)
    for args in ([good, bad], [bad, good]):
        assert run(*args)[0] == EXIT_ERROR
        err = capsys.readouterr().err
        assert f"{bad}: {field}: {says}: not as an audit writes summary.json" in err, err
        assert "internal error" not in err
    report = tmp_path / "report"
    fixtures = str(ROOT / "fixtures" / "incidents")
    code = main(["audit", fixtures, "--out", str(report), "--previous", bad, "--quiet"], stdout=io.StringIO())
    assert code == EXIT_ERROR and f"{bad}: {field}: {says}" in capsys.readouterr().err
    assert not report.exists(), "stopped before the report is written"
