"""What a new `crimecheck check` process loads: only what checking needs. The options of other
commands, the version, the service's roles, PyYAML (with the rule YAML cached) and the narrative
screen (without a narrative) are left alone, and the command line behaves exactly as before."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from checker.cli.exits import EXIT_ERROR
from checker.cli.main import main
from checker.core.version import package_version
from checker.serve.auth import ROLES

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"


def test_version_is_looked_up_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"crimecheck {package_version()}\n"


def test_serve_options_are_there_when_serve_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"], stdout=io.StringIO())
    shown = capsys.readouterr().out
    assert f"--role {{{','.join(ROLES)}}}" in shown and "--store-narrative" in shown
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--role", "chief"])
    assert stop.value.code == EXIT_ERROR
    assert "argument --role: invalid choice: 'chief'" in capsys.readouterr().err


def _imported_by_a_cold_check(tmp_path: Path, incident: Path) -> list[str]:
    """The modules of interest a second new `check` process has imported (the first fills the caches)."""
    probe = (
        "import sys\n"
        "from checker.cli.main import main\n"
        f"main(['check', {str(incident)!r}, '--as-of', '2025-06-01T00:00:00+00:00'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'yaml', 'openpyxl', 'jinja2', 'fastapi', "
        "'starlette', 'uvicorn', 'psycopg'} or m.startswith(('checker.narrative.', 'checker.audit', "
        "'checker.serve'))))\n"
    )
    env = {**os.environ, "CRIMECHECK_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=False
        )
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("["), run.stdout + run.stderr
    return list(orjson.loads(last.replace("'", '"')))


def test_cold_check_without_a_narrative_imports_neither_yaml_nor_the_lexicon(tmp_path: Path) -> None:
    data = orjson.loads((FIX / "assault-recorded-late.json").read_bytes())
    del data["narrative"]
    plain = tmp_path / "plain.json"
    plain.write_bytes(orjson.dumps(data))
    assert _imported_by_a_cold_check(tmp_path, plain) == []


def test_cold_check_with_a_narrative_reads_the_compiled_lexicon_only(tmp_path: Path) -> None:
    """With a narrative the screen is loaded from the compiled-lexicon cache: not the lexicon's
    YAML, schemas or linter, and still not the audit or the service."""
    found = _imported_by_a_cold_check(tmp_path, FIX / "assault-recorded-late.json")
    assert "checker.narrative.screen" in found
    assert [
        m
        for m in found
        if m
        not in {
            "checker.narrative.cache",
            "checker.narrative.constants",
            "checker.narrative.guard",
            "checker.narrative.index",
            "checker.narrative.screen",
        }
    ] == []
