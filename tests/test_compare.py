"""`crimecheck compare`: change between two audits, and whether it is beyond chance."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from checker.audit.compare import compare
from checker.audit.stats import TWO_PROPORTION_METHOD
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
    """92.6% against 82.6% is a real change; 89.7% against 89.8% is not (samples of about 360)."""
    a = summary({"recording.all_crime": (338, 365), "recording.violence_against_the_person": (323, 360)})
    b = summary({"recording.all_crime": (299, 362), "recording.violence_against_the_person": (324, 361)})
    doc = compare(a, b)
    rows = {r["measure"]: r for r in doc["measures"]}
    fall, flat = rows["recording.all_crime"], rows["recording.violence_against_the_person"]
    assert f"{fall['a']['rate']:.3f}" == "0.926" and f"{fall['b']['rate']:.3f}" == "0.826"
    assert fall["significant"] is True and round(fall["change_points"], 1) == -10.0 and fall["p_value"] < 0.001
    assert f"{flat['a']['rate']:.3f}" == "0.897" and f"{flat['b']['rate']:.3f}" == "0.898"
    assert flat["significant"] is False and abs(flat["change_points"]) < 0.2 and flat["p_value"] > 0.9
    assert doc["method"] == TWO_PROPORTION_METHOD and doc["notes"] == []

    code, text = run(write(tmp_path / "a.json", a), write(tmp_path / "b.json", b))
    assert code == EXIT_OK
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("recording.")}
    assert "92.6%" in lines["recording.all_crime"] and "82.6%" in lines["recording.all_crime"]
    assert "-10.0 pts" in lines["recording.all_crime"] and "significant: worse" in lines["recording.all_crime"]
    assert "not significant" in lines["recording.violence_against_the_person"]
    assert "two-proportion z-test" in text

    code, text = run(str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", "json")
    assert code == EXIT_OK and json.loads(text)["measures"][0]["measure"] == "recording.all_crime"


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
    from checker.audit.compare import human

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
    assert code == EXIT_OK and doc["notes"] == []
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
