"""Broken rule and reference files fail loading with file, line and field, all errors at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checker.core.errors import RuleError
from checker.rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent
GOOD = (ROOT / "rules" / "timeliness" / "TL002.yaml").read_text()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "reference", target / "reference")
    shutil.copytree(ROOT / "rules" / "examples", target / "examples")
    (target / "timeliness").mkdir()
    (target / "timeliness" / "TL002.yaml").write_text(GOOD)
    return target


def _errors(rules_dir: Path) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_rules(rules_dir)
    return [str(p) for p in info.value.problems]


def test_good_copy_loads(rules_dir: Path) -> None:
    assert [r.id for r in load_rules(rules_dir).rules] == ["TL002"]


def test_unknown_fact_field_names_file_line_and_field(rules_dir: Path) -> None:
    (rules_dir / "timeliness" / "TL002.yaml").write_text(GOOD.replace("window_expired: true", "window_expird: true"))
    [msg] = _errors(rules_dir)
    line = GOOD.splitlines().index("      window_expired: true") + 1
    assert msg.startswith(f"{rules_dir}/timeliness/TL002.yaml:{line}: when[0].where.window_expird: ")
    assert "disclosure facts have no field 'window_expird'" in msg


def test_all_errors_of_a_rule_set_in_one_run(rules_dir: Path) -> None:
    bad = GOOD.replace("outcome: breach", "outcome: fatal").replace('  edition: "NCRS 2002, current"\n', "")
    (rules_dir / "timeliness" / "TL002.yaml").write_text(bad)
    (rules_dir / "timeliness" / "TL009.yaml").write_text("id: TL009\nname: [unclosed\n")
    errors = _errors(rules_dir)
    assert any("TL002.yaml" in e and "outcome" in e for e in errors)
    assert any("TL002.yaml" in e and "source.edition" in e and "required" in e.lower() for e in errors)
    assert any("TL009.yaml:3" in e and "invalid YAML" in e for e in errors)


def test_python_object_tag_is_refused(rules_dir: Path) -> None:
    (rules_dir / "timeliness" / "TL002.yaml").write_text(
        GOOD.replace("title: No recording", "title: !!python/object/apply:os.system ['echo pwned']\nx: No recording")
    )
    [msg] = _errors(rules_dir)
    assert "TL002.yaml" in msg and "object tags are refused" in msg


def test_id_must_match_file_and_area(rules_dir: Path) -> None:
    (rules_dir / "timeliness" / "TL002.yaml").write_text(GOOD.replace("id: TL002", "id: TL005"))
    [msg] = _errors(rules_dir)
    assert "does not match the file name TL002.yaml" in msg


def test_type_checked_literal_and_unknown_param(rules_dir: Path) -> None:
    bad = GOOD.replace("window_expired: true", "window_expired: {eq: 3}\n      age_s: {gt: {param: nope}}")
    (rules_dir / "timeliness" / "TL002.yaml").write_text(bad)
    errors = _errors(rules_dir)
    assert any("expected a bool value, got 3" in e for e in errors)
    assert any("no parameter 'nope'" in e for e in errors)


def test_message_placeholder_checked(rules_dir: Path) -> None:
    (rules_dir / "timeliness" / "TL002.yaml").write_text(GOOD.replace("{d.offence_name}", "{d.offense_name}"))
    [msg] = _errors(rules_dir)
    assert "message" in msg and "{d.offense_name}" in msg


def test_retired_id_cannot_come_back(rules_dir: Path) -> None:
    (rules_dir / "retired.yaml").write_text("retired:\n  TL002: merged into TL001 in 2025\n")
    [msg] = _errors(rules_dir)
    assert "retired" in msg and "never be reused" in msg


def test_broken_reference_table(rules_dir: Path) -> None:
    path = rules_dir / "reference" / "cancellation-authorisation.yaml"
    path.write_text(path.read_text().replace("roles: [FCR, DFCR, DDM]\n", "roles: [FCR, Chief]\n", 1))
    [msg] = _errors(rules_dir)
    assert "cancellation-authorisation.yaml:" in msg and "rows[0].roles[1]" in msg


def test_force_points_at_its_own_reference(rules_dir: Path, tmp_path: Path) -> None:
    own = tmp_path / "force-ref"
    shutil.copytree(rules_dir / "reference", own)
    text = (own / "cancellation-authorisation.yaml").read_text()
    rape_row = '  - categories: [C2]\n    offences: ["subgroup:rape"]\n    roles: [FCR, DFCR]\n'
    (own / "cancellation-authorisation.yaml").write_text(
        text.replace("rows:\n", "rows:\n" + rape_row).replace(
            "roles: [FCR, DFCR, DDM]", "roles: [FCR, DFCR, DDM, supervisor]"
        )
    )
    assert load_rules(rules_dir).reference.allowed_roles("C2", "19C") == ("FCR", "DFCR", "DDM")  # the default
    ruleset = load_rules(rules_dir, own)
    assert ruleset.reference.allowed_roles("C2", "105A") == ("FCR", "DFCR", "DDM", "supervisor")
    assert ruleset.reference.allowed_roles("C2", "19C") == ("FCR", "DFCR")


def test_duplicate_key_is_an_error_not_a_silent_overwrite(rules_dir: Path) -> None:
    (rules_dir / "timeliness" / "TL002.yaml").write_text(
        GOOD.replace("outcome: breach\n", "outcome: breach\noutcome: risk\n")
    )
    [msg] = _errors(rules_dir)
    assert "TL002.yaml:6: outcome: duplicate key 'outcome'" in msg


def test_yaml_alias_bomb_is_refused_quickly(rules_dir: Path) -> None:
    """A "billion laughs" file is refused once it expands past the cap, not expanded in full."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 30)]
    (rules_dir / "timeliness" / "TL002.yaml").write_text("\n".join(lines) + "\n")
    [msg] = _errors(rules_dir)
    assert "TL002.yaml:" in msg and "expands to more than 100,000 values" in msg


@pytest.mark.parametrize("digit", ["\u0661", "\u0967", "\uff12"], ids=["arabic-indic", "devanagari", "fullwidth"])
def test_a_rule_id_is_ascii(rules_dir: Path, digit: str) -> None:
    """`TL00١` would load the same rule again under a look-alike id."""
    (rules_dir / "timeliness" / f"TL00{digit}.yaml").write_text(GOOD.replace("id: TL002", f"id: TL00{digit}"))
    errors = _errors(rules_dir)
    assert any(f"TL00{digit}.yaml" in e and "id: String should match pattern" in e for e in errors), errors


def test_a_rule_file_the_loader_would_pass_over_is_named(rules_dir: Path) -> None:
    """A rule beside the area folders, ending .yml or one folder too deep was ignored without a
    word: the force's new rule silently never ran."""
    (rules_dir / "RC900.yaml").write_text(GOOD)
    (rules_dir / "timeliness" / "RC901.yml").write_text(GOOD)
    (rules_dir / "timeliness" / "old").mkdir()
    (rules_dir / "timeliness" / "old" / "RC902.yaml").write_text(GOOD)
    errors = _errors(rules_dir)
    assert len(errors) == 3, errors
    assert errors[0].endswith("RC900.yaml: not read: a rule file is rules/<area>/<ID>.yaml")
    assert errors[1].endswith("RC901.yml: not read: a rule file is rules/<area>/<ID>.yaml (ending .yaml, not .yml)")
    assert "RC902.yaml: not read" in errors[2] and "not in a folder inside the area's" in errors[2]
    (rules_dir / "notes.txt").write_text("not YAML: not a rule, not an error")
    (rules_dir / "RC900.yaml").unlink()
    (rules_dir / "timeliness" / "RC901.yml").unlink()
    shutil.rmtree(rules_dir / "timeliness" / "old")
    assert [r.id for r in load_rules(rules_dir).rules] == ["TL002"]
