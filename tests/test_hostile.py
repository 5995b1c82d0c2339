"""Hostile input and a shared disk (issue 14): what is not an input file of tests/bad/.

Bounds given on the command line, the audit's own reading of ids, pseudonyms, report files made
on a disk other users share, terminals, pipes and worker processes that die.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import importlib.util
import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from checker.audit.report import FILES
from checker.cli.exits import EXIT_ERROR, EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"
GOOD = json.loads((FIX / "compliant-harassment-recorded.json").read_text())
AS_OF = "2025-02-01T00:00:00+00:00"


def run(*args: str | Path) -> tuple[int, str, str]:
    """The exit code, standard output and standard error of one command."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args], stdout=out)
    return code, out.getvalue(), err.getvalue()


def jsonl(path: Path, *incidents: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in incidents), encoding="utf-8")
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


# --- bounds given on the command line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("0001-01-01T00:00:00+14:00", "--as-of: year 1 is outside 1900-2199; check the date"),
        ("9999-12-31T23:59:59-12:00", "--as-of: year 9999 is outside 1900-2199; check the date"),
    ],
)
@pytest.mark.parametrize("command", ["check", "audit"])
def test_as_of_at_the_ends_of_the_calendar_is_a_clear_error(
    tmp_path: Path, command: str, as_of: str, message: str
) -> None:
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    extra = ["--out", str(tmp_path / "report"), "--quiet"] if command == "audit" else []
    code, _, err = run(command, path, "--as-of", as_of, *extra)
    assert code == EXIT_ERROR
    assert message in err and "internal error" not in err


def test_as_of_in_the_spring_gap_is_refused(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    code, _, err = run("check", path, "--as-of", "2025-03-30T01:30:00", "--timezone", "Europe/London")
    assert code == EXIT_ERROR
    assert "--as-of: 2025-03-30T01:30:00 did not happen in Europe/London: the clocks went forward over it" in err


def test_the_narrative_bound_is_set_per_run(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {**GOOD, "narrative": "n" * 5_000})
    code, out, _ = run("check", path, "--as-of", AS_OF, "--format", "json", "--max-narrative", "4000")
    [error] = json.loads(out)["rejected"][0]["errors"]
    assert code == EXIT_ERROR
    assert (error["field"], error["message"]) == (
        "narrative",
        "5,000 characters of narrative; the limit is 4,000 (raise it with --max-narrative)",
    )
    code, out, _ = run("check", path, "--as-of", AS_OF, "--format", "json", "--max-narrative", "5000")
    assert code == EXIT_OK and json.loads(out)["counts"]["checked"] == 1
    report = tmp_path / "report"
    run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet", "--max-narrative", "4000")
    [rejected] = rows(report / "rejected.csv")
    assert "the limit is 4,000" in str(rejected)


def test_audit_finds_duplicates_after_normalising_ids(tmp_path: Path) -> None:
    """`INC-1` and ` INC-1\u00a0` are one incident: the second is a duplicate, not audited twice."""
    path = jsonl(tmp_path / "in.jsonl", {**GOOD, "incident_id": "INC-1"}, {**GOOD, "incident_id": " INC-1\u00a0"})
    report = tmp_path / "report"
    run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet")
    summary = json.loads((report / "summary.json").read_text())
    [rejected] = rows(report / "rejected.csv")
    assert summary["counts"]["read"] == 2 and summary["counts"]["checked"] == 1
    assert "duplicate incident_id 'INC-1'" in str(rejected)


# --- a worker that dies -----------------------------------------------------------------------------

KILLER = """
import os, signal
import checker.audit.stream as stream

_check_chunk = stream.check_chunk


def _dies_on_kill(checker, chunk, settings):
    if any(isinstance(q.item.data, dict) and q.item.data.get("incident_id") == "KILL-ME" for q in chunk):
        os.kill(os.getpid(), signal.SIGKILL)  # as the C engine aborting the process would
    return _check_chunk(checker, chunk, settings)


stream.check_chunk = _dies_on_kill
"""


def test_a_worker_that_dies_is_noticed(tmp_path: Path) -> None:
    """Its incident is rejected as an internal error, by name; every other one is checked; no hang."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILLER)  # loaded by every process, the spawned workers too
    ids = [f"OK-{i}" for i in range(5)] + ["KILL-ME"] + [f"OK-{i}" for i in range(5, 11)]
    path = jsonl(tmp_path / "in.jsonl", *({**GOOD, "incident_id": i} for i in ids))
    report = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    args = ["audit", str(path), "--as-of", AS_OF, "--out", str(report), "--quiet", "--workers", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "checker", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == EXIT_OK, proc.stderr[-2000:]  # the report was written (exit 2 needs --fail-on)
    summary = json.loads((report / "summary.json").read_text())
    assert (summary["counts"]["read"], summary["counts"]["checked"]) == (12, 11)
    [rejected] = rows(report / "rejected.csv")
    assert rejected["incident_id"] == "KILL-ME"
    assert "internal error: the process checking this incident died" in str(rejected)


CANNOT_START = {
    # the worker's rules cannot be loaded: the reason is said
    "raises": """
import checker.audit.stream as stream


def _gone(*args, **kwargs):
    raise ValueError("the rules folder went away")


stream.load_rules = _gone
""",
    # the worker dies before it can say anything (as out of memory would)
    "dies": """
import os, signal
import checker.audit.stream as stream


def _dies(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


stream._start_worker = _dies
""",
}


@pytest.mark.parametrize("how", sorted(CANNOT_START))
def test_workers_that_cannot_start_stop_the_audit_with_the_reason(tmp_path: Path, how: str) -> None:
    """Not every incident tried alone in a process of its own (511 processes a chunk) and rejected
    as if the engine had aborted on it: the audit stops at once, saying why, and leaves no report."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CANNOT_START[how])  # the audit's own process never calls these
    path = jsonl(tmp_path / "in.jsonl", *({**GOOD, "incident_id": f"OK-{i}"} for i in range(300)))
    report = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    args = ["audit", str(path), "--as-of", AS_OF, "--out", str(report), "--quiet", "--workers", "2"]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "checker", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == EXIT_ERROR, proc.stderr[-2000:]
    why = "the rules folder went away" if how == "raises" else "they die as they start (out of memory?)"
    assert f"the audit's worker processes cannot start: {why}; --workers 1 checks here" in proc.stderr
    assert not report.exists() and time.monotonic() - started < 60


# --- what must not leak -----------------------------------------------------------------------------

KEY = "c3a1f09e5b7d2c4816e0a9f3b5d7c1e2846a0f9b3d5c7e1a2b4d6f8091a3c5e7"


def _all_text(report: Path) -> str:
    """Every text a report holds: its text files, and every cell of its workbook."""
    texts = [p.read_text(encoding="utf-8-sig") for p in sorted(report.iterdir()) if p.suffix != ".xlsx"]
    for book in report.glob("*.xlsx"):
        workbook = openpyxl.load_workbook(book, read_only=True)
        texts.extend(str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row)
    return "\n".join(texts)


@pytest.mark.parametrize("space", ["  ", "\t", "\r", "\u00a0"], ids=["double-space", "tab", "cr", "nbsp"])
@pytest.mark.parametrize("pseudonymise", [False, True], ids=["plain", "pseudonymised"])
def test_the_log_is_withheld_whatever_its_spacing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, space: str, pseudonymise: bool
) -> None:
    """The quote is a field of its own, and a report without narratives never receives it."""
    incident = json.loads((FIX / "asb-log-mentions-assault.json").read_text())
    incident["narrative"] = incident["narrative"].replace("Tonight one of", f"Tonight{space}Zebedee, one{space}of")
    path = jsonl(tmp_path / "in.jsonl", incident)
    report = tmp_path / "report"
    monkeypatch.setenv("CRIMECHECK_PSEUDONYM_KEY", KEY)
    extra = ["--pseudonymise"] if pseudonymise else []
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet", *extra)
    assert code == EXIT_OK, err
    findings = rows(report / "findings.csv")
    assert any(f["rule_id"] == "RC003" for f in findings), "the screen found the mention"
    text = _all_text(report)
    for word in ("Zebedee", "kicked her", "Tonight"):
        assert word not in text
    assert "[log text withheld]" in next(f["message"] for f in findings if f["rule_id"] == "RC003")


def test_pseudonymised_reports_name_no_id_and_no_particulars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A C3's duplicate_of, a converted_to and ids in rejection reasons are pseudonymised too, and
    CL002 does not say the victim's sex and age."""
    c3 = json.loads((ROOT / "tests" / "bad" / "duplicate-of-missing-record.jsonl").read_text())
    c3["records"][1]["cancellation"]["duplicate_of"] = "CRN-SECRET-DUP"
    dangling = {**GOOD, "incident_id": "INC-DANGLING", "disclosures": [{**GOOD["disclosures"][0]}]}
    dangling["disclosures"][0]["victim_id"] = "VIC-MARY-JONES"
    converted = {**GOOD, "incident_id": "INC-CONVERTED", "records": [{**GOOD["records"][0]}]}
    converted["records"][0]["converted_to"] = "CRN-SECRET-CONV"
    misbanded = json.loads((FIX / "rape-child-misbanded.json").read_text())
    path = jsonl(tmp_path / "in.jsonl", c3, dangling, converted, misbanded)
    report = tmp_path / "report"
    monkeypatch.setenv("CRIMECHECK_PSEUDONYM_KEY", KEY)
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet", "--pseudonymise")
    assert code == EXIT_OK, err
    findings = rows(report / "findings.csv")
    assert {"CX011", "CL002"} <= {f["rule_id"] for f in findings}  # CX011 names the duplicate_of
    assert len(rows(report / "rejected.csv")) == 2
    text = _all_text(report)
    for raw in ("CRN-SECRET-DUP", "VIC-MARY-JONES", "CRN-SECRET-CONV", misbanded["incident_id"], "INC-DANGLING"):
        assert raw not in text
    cl002 = next(f["message"] for f in findings if f["rule_id"] == "CL002")
    assert "female" not in cl002 and " 14" not in cl002 and "[withheld]" in cl002


def test_key_file_without_pseudonymise_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text(KEY)
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", tmp_path / "r", "--quiet", "--key-file", key)
    assert code == EXIT_ERROR and "--key-file is only read with --pseudonymise" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("00112233445566778899aabbccddeeff", "must be at least 32 random bytes"),
        ("ab" * 32, "does not look random"),
        ("correct horse battery staple and more words", "must be written in hex"),
    ],
    ids=["16-bytes", "pattern", "passphrase"],
)
def test_weak_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, message: str) -> None:
    monkeypatch.setenv("CRIMECHECK_PSEUDONYM_KEY", key)
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", tmp_path / "r", "--quiet", "--pseudonymise")
    assert code == EXIT_ERROR and message in err


def test_an_out_folder_under_a_file_names_the_file(tmp_path: Path) -> None:
    """mkdir's "File exists" was about a parent that is a file, and read as if about --out itself."""
    (tmp_path / "notes").write_text("a file")
    out = tmp_path / "notes" / "march" / "report"
    code, _, err = run("audit", ROOT / "fixtures" / "incidents", "--out", out, "--as-of", AS_OF)
    assert code == EXIT_ERROR
    assert f"{out}: cannot write the report here: {tmp_path / 'notes'} is a file, not a folder" in err


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "pseudonym.key"
    code, out, _ = run("keygen", key)
    assert code == EXIT_OK and "readable by you only" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    code, _, err = run("keygen", key)
    assert code == EXIT_ERROR and "never overwrites" in err and key.read_text() == text
    link = tmp_path / "link.key"
    link.symlink_to(tmp_path / "elsewhere")
    code, _, _ = run("keygen", link)
    assert code == EXIT_ERROR and not (tmp_path / "elsewhere").exists()
    monkeypatch.delenv("CRIMECHECK_PSEUDONYM_KEY", raising=False)
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    code, _, err = run(
        "audit", path, "--as-of", AS_OF, "--out", tmp_path / "r", "--quiet", "--pseudonymise", "--key-file", key
    )
    assert code == EXIT_OK, err


# --- reports on a shared disk -----------------------------------------------------------------------


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith((".partial", ".old")))


def test_a_report_is_private_and_put_in_place_whole(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    report = tmp_path / "report"
    # a file another user planted under the old fixed partial names is never written through
    victim = tmp_path / "victims-file"
    victim.write_text("precious")
    report.mkdir()
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet")
    assert code == EXIT_OK, err
    assert stat.S_IMODE(report.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in report.iterdir()} == {name: 0o600 for name in FILES}
    first = (report / "summary.json").read_text()
    (report / ".findings.csv.partial").symlink_to(victim)
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet")
    assert code == EXIT_ERROR and "holds other files than a report" in err
    (report / ".findings.csv.partial").unlink()
    code, _, _ = run("audit", path, "--as-of", "2025-03-01T00:00:00+00:00", "--out", report, "--quiet")
    assert code == EXIT_OK and (report / "summary.json").read_text() != first, "the older report was replaced"
    assert victim.read_text() == "precious" and _leftovers(tmp_path) == []


def test_out_as_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "report").symlink_to(elsewhere)
    path = jsonl(tmp_path / "in.jsonl", GOOD)
    code, _, err = run("audit", path, "--as-of", AS_OF, "--out", tmp_path / "report", "--quiet")
    assert code == EXIT_ERROR and "--out is a symbolic link" in err and list(elsewhere.iterdir()) == []


def test_one_audit_per_out_at_a_time(tmp_path: Path) -> None:
    import fcntl

    path = jsonl(tmp_path / "in.jsonl", GOOD)
    with open(tmp_path / ".report.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another audit holds it
        code, _, err = run("audit", path, "--as-of", AS_OF, "--out", tmp_path / "report", "--quiet")
    assert code == EXIT_ERROR and "another audit is writing this report" in err
    assert not (tmp_path / "report").exists() and _leftovers(tmp_path) == []
    code, _, _ = run("audit", path, "--as-of", AS_OF, "--out", tmp_path / "report", "--quiet")
    assert code == EXIT_OK


@pytest.mark.parametrize(
    ("code_", "reason"), [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")]
)
def test_a_full_or_read_only_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code_: int, reason: str
) -> None:
    from checker.audit.report import ReportWriter

    path = jsonl(tmp_path / "in.jsonl", *({**GOOD, "incident_id": f"I-{i}"} for i in range(3)))
    report = tmp_path / "report"
    assert run("audit", path, "--as-of", AS_OF, "--out", report, "--quiet")[0] == EXIT_OK
    before = (report / "findings.csv").read_text()

    def fails(self: ReportWriter, chunk: Any) -> None:  # the disk fills once the header rows are written
        raise OSError(code_, os.strerror(code_))

    monkeypatch.setattr(ReportWriter, "write", fails)
    code, _, err = run("audit", path, "--as-of", "2025-03-01T00:00:00+00:00", "--out", report, "--quiet")
    assert code == EXIT_ERROR and f"cannot write the report: {reason}" in err and "internal error" not in err
    assert (report / "findings.csv").read_text() == before, "the report in place is untouched"
    assert _leftovers(tmp_path) == []


def test_sigterm_leaves_no_partial_report(tmp_path: Path) -> None:
    batch = tmp_path / "big.jsonl"
    gen = [sys.executable, "-m", "bench.generate", "--count", "4000", "--seed", "5", "--out", str(batch)]
    subprocess.run(gen, cwd=ROOT, check=True)
    args = ["audit", str(batch), "--as-of", AS_OF, "--out", str(tmp_path / "report"), "--quiet", "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "checker", *args], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers(tmp_path), "the audit started writing"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert _leftovers(tmp_path) == [] and not (tmp_path / "report").exists()


# --- terminals and pipes ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "audit"])
def test_standard_input_from_a_terminal_says_what_it_waits_for(tmp_path: Path, command: str) -> None:
    """`crimecheck check -` at a terminal waited without a word; now it says to paste and press
    Ctrl-D, on standard error, and only when standard input is a terminal."""
    import pty

    leader, follower = pty.openpty()
    extra = ["--out", str(tmp_path / "out")] if command == "audit" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", command, "-", "--as-of", AS_OF, *extra],
        cwd=ROOT,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    try:
        line = json.dumps(json.loads((FIX / "assault-recorded-late.json").read_text())).encode()
        os.write(leader, line + b"\n\x04")  # Ctrl-D at the start of a line: the end of input
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        os.close(leader)
    assert b"reading incidents from the terminal: paste them, then press Ctrl-D" in err
    assert b"1 read" in out and proc.returncode in (EXIT_OK, 1)
    piped = subprocess.run(
        [sys.executable, "-m", "checker", command, "-", "--as-of", AS_OF, *extra],
        cwd=ROOT,
        input=line,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert b"paste them" not in piped.stderr


def test_controls_in_input_are_escaped_in_human_output(tmp_path: Path) -> None:
    incident = json.loads((FIX / "asb-log-mentions-assault.json").read_text())
    incident["narrative"] = incident["narrative"].replace("Tonight", "\x1b[2J\x1b]8;;http://x\x1b\\\u202eTonight")
    incident["officer\x1b[31m"] = "1"
    path = jsonl(tmp_path / "in.jsonl", incident)
    _, out, err = run("check", path, "--as-of", AS_OF)
    text = out + err
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b]8;;http://x\\x1b\\\\u202eTonight" in out and "officer\\x1b[31m" in err
    _, out, _ = run("check", path, "--as-of", AS_OF, "--color", "always")
    assert "\x1b[1m" in out and "\x1b[2J" not in out, "Paint's colours pass, the input's codes do not"


def test_a_line_end_in_a_field_name_does_not_start_a_line_of_its_own(tmp_path: Path) -> None:
    """Line ends and tabs pass the terminal's escaping (they are the output's own layout), so a field
    name holding one could print a line that looks like a finding; a name is quoted as values are."""
    incident = json.loads((FIX / "rape-recorded-as-n100.json").read_text())
    incident["note\n  RN999 breach forged"] = 1
    incident["victims"][0]["tab\there"] = 2
    path = jsonl(tmp_path / "in.jsonl", incident)
    _, _, err = run("check", path, "--as-of", AS_OF)
    assert [line for line in err.splitlines() if "unknown field" in line] == [
        f"warning: {path}:1: incident INC-2025-000102: note\\n  RN999 breach forged: unknown field, kept and ignored",
        f"warning: {path}:1: incident INC-2025-000102: victims[0].tab\\there: unknown field, kept and ignored",
    ]
    assert "RN999" not in err.replace("note\\n  RN999", "")


def test_a_closed_pipe_keeps_the_exit_code_of_the_findings(tmp_path: Path) -> None:
    incidents = [
        {**json.loads((FIX / "rape-recorded-as-n100.json").read_text()), "incident_id": f"P-{i}"} for i in range(300)
    ]
    path = jsonl(tmp_path / "in.jsonl", *incidents)
    command = f"{sys.executable} -m checker check {path} --as-of {AS_OF} | head -1"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 1, proc.stderr[-500:]  # findings: 1, as without the pipe
    assert proc.stdout.startswith("P-0") and "Traceback" not in proc.stderr and "Exception" not in proc.stderr


def test_closed_standard_input_is_a_clear_error() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m checker check - --as-of {AS_OF} <&-",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == EXIT_ERROR
    assert "-: cannot read: standard input is closed" in proc.stdout and "internal error" not in proc.stderr


DEVICE = "cannot read: a device, not a file (name a regular file, a folder of them or a pipe)"


def _process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`crimecheck ARGS` in a process of its own (bounded at 120 s), which must not crash."""
    command = [sys.executable, "-m", "checker", *map(str, args)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "audit"])
def test_a_device_is_refused_not_read_for_ever(tmp_path: Path, device: str, command: str) -> None:
    # /dev/zero is one line that never ends: it was read (and dropped) until killed
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    extra = ["--out", str(tmp_path / "out"), "--workers", "2"] if command == "audit" else []
    proc = _process(command, device, "--as-of", AS_OF, *extra)
    message = f"{device}: {DEVICE}"
    if command == "check":
        assert proc.returncode == EXIT_ERROR and message in proc.stdout
    else:
        assert proc.returncode == EXIT_OK and "1 read, 1 audited, 0 checked, 1 rejected" in proc.stdout
        (rejected,) = rows(tmp_path / "out" / "rejected.csv")
        assert f"{rejected['file']}: {rejected['reason']}" == message


@pytest.mark.parametrize(
    "options",
    [
        ["--mapping", "/dev/zero"],  # a YAML file: read whole
        ["--records", "/dev/zero"],  # a CSV file that is not a regular one is copied: it filled the disk
        ["--exceptions", "/dev/zero"],
        ["--pseudonymise", "--key-file", "/dev/zero"],
    ],
)
def test_every_file_an_audit_reads_refuses_a_device(tmp_path: Path, options: list[str]) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    csv_input = "--records" in options
    mapping = ["--mapping", str(ROOT / "fixtures" / "csv" / "force-mapping.yaml")] if csv_input else []
    source = ROOT / "fixtures" / "csv" / "incidents.csv" if csv_input or "--mapping" in options else ROOT / "fixtures"
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "audit", str(source), *mapping, *options, "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    where = "/dev/zero: " + (
        "cannot read the key file: " + DEVICE.removeprefix("cannot read: ") if "--key-file" in options else DEVICE
    )
    assert proc.returncode == EXIT_ERROR and where in proc.stderr, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_folders_entry_that_is_not_a_file_is_rejected_not_passed_over_or_waited_on(
    tmp_path: Path, workers: str
) -> None:
    """A folder's *.json that is a broken link, a pipe, a device or a folder was passed over without
    a word (its incidents lost; counts short); now each is a rejection of its own, and a pipe is
    never opened (it would wait for a writer for ever)."""
    folder = tmp_path / "incidents"
    folder.mkdir()
    for f in sorted((ROOT / "fixtures" / "incidents").glob("*.json"))[:3]:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "broken.json").symlink_to(tmp_path / "gone.json")
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "sub.json").mkdir()
    (folder / "notes.txt").write_text("not an incident file: not read, not rejected")
    if os.path.exists("/dev/null"):
        (folder / "null.json").symlink_to("/dev/null")
    refused = sorted(p.name for p in folder.iterdir() if p.suffix != ".txt" and not p.is_file())
    out = tmp_path / "out"
    proc = _process("audit", folder, "--as-of", AS_OF, "--out", out, "--workers", workers)
    assert f"{3 + len(refused)} read, {3 + len(refused)} audited, 3 checked, {len(refused)} rejected" in proc.stdout
    got = rows(out / "rejected.csv")
    assert [Path(r["file"]).name for r in got] == refused
    assert {r["reason"] for r in got} == {
        "not read: not a regular file (a broken link, a pipe, a device or a folder); name a pipe on its own to read it"
    }
    code, text, _ = run("check", folder, "--as-of", AS_OF)
    assert code == EXIT_ERROR and text.count("rejected, not checked") == len(refused)


# --- CSV exports ------------------------------------------------------------------------------------

CSV_FIX = ROOT / "fixtures" / "csv"


def test_a_row_shifted_by_an_unquoted_comma_quotes_no_narrative(tmp_path: Path) -> None:
    incidents = (CSV_FIX / "incidents.csv").read_text().split("\n")
    quoted = incidents[1][incidents[1].index('"') : incidents[1].rindex('"') + 1]
    incidents[1] = incidents[1].replace(quoted, "Caller states Zebedee, her ex-partner pushed her, then punched her")
    (tmp_path / "incidents.csv").write_text("\n".join(incidents))
    report = tmp_path / "report"
    code, out, err = run(
        "audit", tmp_path / "incidents.csv", "--records", CSV_FIX / "crimes.csv", "--disclosures",
        CSV_FIX / "disclosures.csv", "--mapping", CSV_FIX / "force-mapping.yaml", "--as-of", AS_OF,
        "--out", report, "--quiet",
    )  # fmt: skip
    assert code == EXIT_OK, err
    text = _all_text(report)
    for word in ("Zebedee", "pushed her", "punched"):
        assert word not in text
    shifted = next(r for r in rows(report / "rejected.csv") if r["line"] == "2")
    assert "the row has 17 cells but the header names 15 columns" in shifted["reason"]
    assert "13 read" in out, "its joined record rows are rejected with it, not counted again as orphans"


def test_records_from_a_fifo_are_read_once(tmp_path: Path) -> None:
    """`--records <(...)`: a file that can be read only once is copied privately, not reopened."""
    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write((CSV_FIX / "crimes.csv").read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    args: list[str | Path] = ["--mapping", CSV_FIX / "force-mapping.yaml", "--as-of", AS_OF, "--quiet"]
    code, out, err = run("audit", CSV_FIX / "incidents.csv", "--records", fifo, *args, "--out", tmp_path / "fifo")
    writer.join(timeout=10)
    assert code == EXIT_OK, err
    code, expected, _ = run(
        "audit", CSV_FIX / "incidents.csv", "--records", CSV_FIX / "crimes.csv", *args, "--out", tmp_path / "file"
    )
    assert out.replace(str(tmp_path / "fifo"), "") == expected.replace(str(tmp_path / "file"), "")


def _with_long_line(path: Path, at: int, length: int, end: bytes = b"\n") -> None:
    """The fixture incidents.csv with a line of `length` bytes put in as line `at` (1 is the header)."""
    lines = (CSV_FIX / "incidents.csv").read_bytes().split(b"\n")
    long = b"EX-LONG," + b'"' + b"x" * length + b'"' + end
    path.write_bytes(b"\n".join(lines[: at - 1]) + b"\n" + long + (b"\n".join(lines[at - 1 :]) if end else b""))


def _csv_items(incidents: Path, records: Path | None = None) -> list[Any]:
    from checker.read.csvitems import read_csv_items
    from checker.read.mapping import load_mapping

    mapping = load_mapping(CSV_FIX / "force-mapping.yaml")
    return list(read_csv_items(mapping, incidents, records or CSV_FIX / "crimes.csv"))


def test_a_csv_line_past_the_bound_is_rejected_unread_and_the_rows_after_it_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV line is read with a bound, not whole: a 300 MB line took 697 MB and was then refused by
    the csv module's field limit; now 64 MiB at most is held, and the row is rejected on its line."""
    import tracemalloc

    from checker.read import csvfile

    monkeypatch.setattr(csvfile, "MAX_LINE_BYTES", 10_000)
    plain = _csv_items(CSV_FIX / "incidents.csv")
    _with_long_line(tmp_path / "incidents.csv", 3, 20_000_000)
    tracemalloc.start()
    try:
        found = _csv_items(tmp_path / "incidents.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"{peak:,} bytes held reading past a 20 MB line"
    assert len(found) == len(plain) + 1  # every other row read, and the long one rejected
    long = found[1]
    assert long.line == 3 and long.data is None
    assert [p.message for p in long.problems] == ["not a readable CSV row: a line of more than 10,000 bytes; not read"]

    def shifted(i: Any) -> int:  # the incidents file's rows are a line further on; its joined files' are not
        return int(i.line) + int(i.source != str(CSV_FIX / "crimes.csv"))

    after = [(i.line, i.data and i.data.get("incident_id")) for i in found[2:]]
    assert after == [(shifted(i), i.data and i.data.get("incident_id")) for i in plain[1:]]
    # a joined file's long line is rejected on its line too, as an orphan row the module could not read
    records = (CSV_FIX / "crimes.csv").read_bytes().split(b"\n")
    (tmp_path / "crimes.csv").write_bytes(b"\n".join([*records[:2], b"y" * 30_000, *records[2:]]))
    joined = _csv_items(CSV_FIX / "incidents.csv", tmp_path / "crimes.csv")
    broken = [p for i in joined for p in i.problems if "a line of more than" in p.message]
    assert [(p.file, p.line) for p in broken] == [(str(tmp_path / "crimes.csv"), 3)]


def test_a_csv_line_that_never_ends_stops_the_file_with_a_rejection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checker.read import csvfile, incidents

    monkeypatch.setattr(csvfile, "MAX_LINE_BYTES", 1_000)
    monkeypatch.setattr(incidents, "MAX_SKIP_BYTES", 5_000_000)  # the JSON reader's bound, shared
    _with_long_line(tmp_path / "incidents.csv", 4, 6_000_000, end=b"")
    found = _csv_items(tmp_path / "incidents.csv")
    ours = [i for i in found if i.source == str(tmp_path / "incidents.csv")]
    assert [i.line for i in ours] == [2, 3, 4]
    assert "runs on past 5,000,000 bytes without ending" in ours[-1].problems[0].message


def test_a_csv_pipe_past_the_spool_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe is copied to disk to be read back by offset: one that never ends would fill the disk."""
    from checker.core.errors import RuleError
    from checker.read import csvfile

    monkeypatch.setattr(csvfile, "MAX_SPOOL_BYTES", 3_000_000)
    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as pipe, contextlib.suppress(BrokenPipeError):
            for _ in range(10):
                pipe.write(b"z" * 1_000_000)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    spools = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("crimecheck-*"))
    with pytest.raises(RuleError, match="more than 3,000,000 bytes from a pipe") as raised:
        _csv_items(CSV_FIX / "incidents.csv", fifo)
    writer.join(timeout=10)
    assert raised.value.problems[0].file == str(fifo)
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("crimecheck-*")) == spools, "the copy is removed"


# --- all of it in one batch -------------------------------------------------------------------------

GOOD_COUNT = int(os.environ.get("CRIMECHECK_HOSTILE_GOOD", "2000"))


def _bad_input_cases() -> Any:
    """The whole-incident cases of the bad-input corpus (tests/test_bad_input.py)."""
    spec = importlib.util.spec_from_file_location("bad_input", ROOT / "tests" / "test_bad_input.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bad_input", module)  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _check_json(path: Path) -> tuple[dict[str, Any], int, float]:
    """`crimecheck check PATH --format json` in a process of its own: the document, its peak RSS
    (KiB) and its time (s)."""
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "checker",
            "check",
            str(path),
            "--format",
            "json",
            "--as-of",
            "2025-04-15T00:00:00+00:00",
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=1800,
        check=False,
    )
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    assert b"internal error" not in proc.stderr, proc.stderr[-2000:]
    return json.loads(proc.stdout), max(rss, before), time.monotonic() - started


def test_a_hostile_batch_loses_nothing_and_changes_no_good_finding(tmp_path: Path) -> None:
    """Every hostile input of the corpus in one batch with generated good incidents: bounded time
    and memory, every item counted, and the good incidents' findings as without the hostile ones."""
    bad = _bad_input_cases()
    good = tmp_path / "good.jsonl"
    gen = [sys.executable, "-m", "bench.generate", "--count", str(GOOD_COUNT), "--seed", "14", "--out", str(good)]
    subprocess.run(gen, cwd=ROOT, check=True)
    good_lines = good.read_bytes().splitlines(keepends=True)
    cases = [c for c in bad.CASES if c.batch and not c.args]
    hostile = [bad._path(c, tmp_path).read_bytes().rstrip(b"\n") + b"\n" for c in cases]
    mixed = tmp_path / "mixed.jsonl"
    step = max(1, len(good_lines) // (len(hostile) + 1))
    with mixed.open("wb") as f:
        for i, line in enumerate(good_lines):
            if i % step == 0 and hostile:
                f.write(hostile.pop())
            f.write(line)
        f.writelines(hostile)
    alone, _, _ = _check_json(good)
    doc, rss_kib, seconds = _check_json(mixed)
    counts = doc["counts"]
    # nothing lost: every item is read, and each is checked or rejected
    assert counts["read"] == GOOD_COUNT + sum(c.read for c in cases)
    assert counts["read"] == counts["checked"] + counts["rejected"]
    # cases reuse a few ids (the fixture's): a later copy is rejected as a duplicate, and said so
    duplicate = "duplicate incident_id"
    again = sum(e["message"].startswith(duplicate) for r in doc["rejected"] for e in r["errors"])
    again -= sum(msg.startswith(duplicate) for c in cases for *_, msg in c.errors)
    assert counts["checked"] == alone["counts"]["checked"] + sum(c.checked for c in cases) - again
    # the good incidents: the same findings and decisions as on their own
    ids = {json.loads(line)["incident_id"] for line in good_lines}

    def of_good(items: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(i, sort_keys=True) for i in items if i["incident_id"] in ids)

    assert of_good(doc["findings"]) == of_good(alone["findings"]) != []
    assert of_good(doc["decisions"]) == of_good(alone["decisions"])
    # bounded: memory well under what the 8 MB id, the 1 MB narrative and deep nesting could take
    assert rss_kib < 600 * 1024, f"peak RSS {rss_kib // 1024} MiB"
    assert seconds < 60 + GOOD_COUNT * 0.05, f"{seconds:.0f} s"
    print(f"\n{counts['read']:,} read ({len(cases)} hostile cases), {seconds:.1f} s, peak RSS {rss_kib // 1024} MiB")
