"""`crimecheck serve` driven over loopback: a real process, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from serve_support import MAX_BODY, ROOT, Server, free_port, postgres_database, running_server

from checker.check.docs import rule_text
from checker.cli.main import main as cli_main
from checker.rules.loader import RuleSet
from checker.serve import schemas
from checker.serve.auth import ROLES, digest, new_token
from checker.serve.main import openapi_document
from checker.serve.store import Store, migrations
from checker.serve.workers import MAX_REQUEST_INCIDENTS

FIX = ROOT / "fixtures" / "incidents"
AS_OF = "2025-02-01T00:00:00Z"
CANCELLED = "rape-cancelled-by-supervisor.json"  # one finding: CX004 on CRN-25-0109


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        with running_server(workdir, str(workdir / "serve.db")) as s:
            yield s
    else:
        with postgres_database() as url, running_server(workdir, url) as s:
            yield s


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIX / name).read_text())
    data.update(changes)
    return data


def cli_document(path: Path, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    cli_main(["check", "--format", "json", *args, str(path)], stdout=out)
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def test_health_needs_no_token_and_ready_reports_the_database(server: Server) -> None:
    assert server.call("GET", "/healthz").json() == {"status": "ok"}
    ready = server.call("GET", "/readyz").json()
    assert ready["status"] == "ready"
    assert ready["checks"]["database"] == "ok" and ready["checks"]["workers"] == "ok"


def test_check_returns_the_command_line_document(server: Server) -> None:
    for name in (CANCELLED, "c2-cancelled-on-withdrawal.json", "two-victims-one-recorded.json"):
        answer = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", content=(FIX / name).read_bytes())
        assert answer.status_code == 200, answer.text
        schemas.CheckDocument.model_validate(answer.json())  # the shape docs/openapi.json documents
        out = io.StringIO()
        cli_main(["check", "--format", "json", "--as-of", AS_OF, str(FIX / name)], stdout=out)
        assert answer.text == out.getvalue()  # byte for byte


def test_check_takes_a_list_and_json_lines(server: Server) -> None:
    names = [CANCELLED, "rape-recorded-as-n100.json", "compliant-harassment-recorded.json"]
    incidents = [fixture(n) for n in names]
    as_list = server.call("POST", f"/v1/check?as_of={AS_OF}", "system", json=incidents).json()
    lines = "\n".join(json.dumps(i) for i in incidents).encode()
    as_lines = server.call("POST", f"/v1/check?as_of={AS_OF}", "system", content=lines).json()
    assert as_list["counts"] == {"read": 3, "checked": 3, "rejected": 0, "findings": 2, "excepted": 0}
    assert as_list["findings"] == as_lines["findings"]
    assert {f["rule_id"] for f in as_list["findings"]} == {"CX004", "RN002"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b'{"incident_id": "X", ', None, "invalid JSON"),
        (b"", None, "the file is empty"),
        (b"42", None, "expected an incident object, got a JSON number"),
        (b'{"incident_id": "BAD-1", "reported_at": "2025-01-01T00:00:00"}', "reported_at", "time has no UTC offset"),
        (b'{"incident_id": "BAD-2"}', "reported_at", "required field is missing"),
        (
            b'{"incident_id": "BAD-3", "reported_at": "2025-01-01T00:00:00Z", "version": -1}',
            "version",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_bodies_get_422_with_the_command_line_errors(
    server: Server, tmp_path: Path, body: bytes, field: str | None, message: str
) -> None:
    answer = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", content=body)
    assert answer.status_code == 422
    schemas.CheckDocument.model_validate(answer.json())
    rejected = answer.json()["rejected"]
    assert len(rejected) == 1
    error = rejected[0]["errors"][0]
    assert error["field"] == field and message in error["message"] and error["file"] == "request"
    # the same errors as `crimecheck check` gives for a file holding the same bytes
    path = tmp_path / "request"
    path.write_bytes(body)
    expected = cli_document(path, "--as-of", AS_OF)["rejected"]
    for item in expected:
        for e in item["errors"]:
            e["file"] = "request"
        item["where"] = item["where"].replace(str(path), "request")
    assert rejected == expected


def test_a_list_with_one_bad_incident_is_422_and_still_checks_the_others(server: Server) -> None:
    bad = fixture(CANCELLED, incident_id="BAD-4", reported_at="yesterday")
    answer = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", json=[fixture(CANCELLED), bad])
    assert answer.status_code == 422
    doc = answer.json()
    assert doc["counts"]["checked"] == 1 and doc["counts"]["rejected"] == 1
    assert doc["rejected"][0]["errors"][0]["incident_id"] == "BAD-4"
    assert doc["rejected"][0]["errors"][0]["field"] == "reported_at"


def test_bad_query_parameters_are_located(server: Server) -> None:
    answer = server.call("POST", "/v1/check?as_of=2025-01-01T00:00:00", "supervisor", json=fixture(CANCELLED))
    assert answer.status_code == 422
    assert schemas.Errors.model_validate(answer.json()).errors[0].field == "query.as_of"
    answer = server.call("GET", "/v1/queue?limit=0", "supervisor")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "query.limit"


def test_bodies_over_the_limit_get_413(server: Server) -> None:
    big = b" " * (MAX_BODY + 1)
    refused = server.call("POST", "/v1/check", "supervisor", content=big)
    assert (
        refused.status_code == 413
        and "larger than 200,000 bytes" in schemas.Errors.model_validate(refused.json()).errors[0].message
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        for _ in range(MAX_BODY // 10_000 + 1):
            yield b" " * 10_001

    assert server.call("POST", "/v1/check", "supervisor", content=chunks()).status_code == 413
    assert server.call("PUT", "/v1/incidents/X", "system", content=big).status_code == 413
    just_under = json.dumps(fixture(CANCELLED)).encode().ljust(MAX_BODY, b" ")
    assert server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", content=just_under).status_code == 200


def test_a_request_of_more_than_the_limit_of_incidents_is_refused_whole(server: Server) -> None:
    # 1.6 million `{}` lines fit under the service's byte limit; each was checked, rejected and listed
    at_limit = b"{}\n" * MAX_REQUEST_INCIDENTS
    answer = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", content=at_limit)
    assert answer.status_code == 422
    assert answer.json()["counts"]["read"] == answer.json()["counts"]["rejected"] == MAX_REQUEST_INCIDENTS
    valid = json.dumps(fixture(CANCELLED)).encode() + b"\n"
    over = valid + at_limit
    answer = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", content=over)
    assert answer.status_code == 422
    doc = schemas.CheckDocument.model_validate(answer.json())
    assert doc.counts.checked == 0 and doc.findings == []  # nothing of a refused request is kept
    (refused,) = answer.json()["rejected"]
    (error,) = refused["errors"]
    assert error["line"] == MAX_REQUEST_INCIDENTS + 1 and error["file"] == "request"
    assert error["message"].startswith(f"more than {MAX_REQUEST_INCIDENTS:,} incidents in one request")


def put(server: Server, incident: dict[str, Any]) -> dict[str, Any]:
    answer = server.call("PUT", f"/v1/incidents/{incident['incident_id']}", "system", json=incident)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    schemas.PutAnswer.model_validate(body)
    return body


def stored_version(server: Server, incident_id: str) -> Any:
    answer = server.call("GET", f"/v1/incidents/{incident_id}", "supervisor")
    assert answer.status_code == 200, answer.text
    return schemas.StoredIncident.model_validate(answer.json()).version


def test_an_older_version_never_overwrites_a_newer_one(server: Server) -> None:
    iid = "INC-OOO-1"
    assert put(server, fixture(CANCELLED, incident_id=iid, version=3))["status"] == "stored"
    late = put(server, fixture(CANCELLED, incident_id=iid, version=1, team="B"))
    assert late["status"] == "older_ignored"
    assert late["document"]["counts"]["checked"] == 1  # the caller still gets the check of what it sent
    assert put(server, fixture(CANCELLED, incident_id=iid, version=3))["status"] == "unchanged"
    assert stored_version(server, iid) == 3
    assert put(server, fixture(CANCELLED, incident_id=iid, version=4))["status"] == "stored"
    assert stored_version(server, iid) == 4


def test_updated_at_compares_real_times_across_offsets(server: Server) -> None:
    iid = "INC-OOO-3"
    assert put(server, fixture(CANCELLED, incident_id=iid, updated_at="2025-01-21T10:00:00+01:00"))["status"] == (
        "stored"
    )
    # 09:30 UTC is later than 10:00+01:00 (09:00 UTC): stored, although its wall clock reads earlier
    assert put(server, fixture(CANCELLED, incident_id=iid, updated_at="2025-01-21T09:30:00+00:00"))["status"] == (
        "stored"
    )
    assert put(server, fixture(CANCELLED, incident_id=iid, updated_at="2025-01-21T09:10:00+00:00"))["status"] == (
        "older_ignored"
    )
    assert (
        server.call("GET", f"/v1/incidents/{iid}", "supervisor").json()["updated_at"] == "2025-01-21T09:30:00.000000Z"
    )


def test_versions_arriving_at_once_leave_the_newest_stored(server: Server) -> None:
    ids = [f"INC-RACE-{n}" for n in range(4)]
    sends = [(iid, v) for iid in ids for v in range(1, 16)]
    random.Random(7).shuffle(sends)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda s: put(server, fixture(CANCELLED, incident_id=s[0], version=s[1]))["status"], sends)
        )
    assert set(statuses) <= {"stored", "older_ignored"}
    assert {iid: stored_version(server, iid) for iid in ids} == dict.fromkeys(ids, 15)


def test_put_refuses_a_body_without_version_or_another_id(server: Server) -> None:
    answer = server.call("PUT", "/v1/incidents/INC-NV", "system", json=fixture(CANCELLED, incident_id="INC-NV"))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "version"
    answer = server.call("PUT", "/v1/incidents/OTHER", "system", json=fixture(CANCELLED, version=1))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "incident_id"
    answer = server.call("PUT", "/v1/incidents/X", "system", json=[fixture(CANCELLED, version=1)])
    assert answer.status_code == 422 and "one incident object" in answer.text
    assert server.call("GET", "/v1/incidents/INC-NV", "supervisor").status_code == 404


def test_narratives_are_not_stored_and_the_access_log_holds_no_content(server: Server) -> None:
    incident = fixture("asb-log-mentions-assault.json", incident_id="INC-LOG-1", version=1)
    narrative = incident["narrative"]
    answer = put(server, incident)
    quoted = [f["message"] for f in answer["document"]["findings"] if f["rule_id"] == "RC003"]
    assert quoted, "the caller's own answer may quote the log it sent"
    stored = server.call("GET", "/v1/incidents/INC-LOG-1", "supervisor").text
    words = narrative.split()
    pieces = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    assert not [p for p in pieces if p in stored], "the stored result quotes the narrative"
    assert "[log text withheld]" in stored
    items = server.call("GET", "/v1/queue?limit=1000", "supervisor").json()["items"]
    queued = json.dumps([i for i in items if i["incident_id"] == "INC-LOG-1"])
    assert "INC-LOG-1" in queued and not [p for p in pieces if p in queued]
    log = server.log.read_text()
    assert "PUT /v1/incidents/{incident_id} 200" in log
    for secret in ("INC-LOG-1", "INC-OOO-1", "CRN-25-0109", *pieces, *server.tokens.values()):
        assert secret not in log


def test_queue_is_ordered_by_deadline_and_filtered(server: Server) -> None:
    put(server, fixture("threats-unrecorded-overdue.json", incident_id="INC-Q-1", version=1, team="Red", area="North"))
    put(server, fixture("two-victims-one-recorded.json", incident_id="INC-Q-2", version=1, team="Blue"))
    items = server.call("GET", "/v1/queue?limit=1000", "supervisor").json()["items"]
    schemas.Queue.model_validate({"as_of": "now", "items": items})
    deadlines = [i["deadline"] for i in items if i["deadline"] is not None]
    assert deadlines == sorted(deadlines) and deadlines
    red = server.call("GET", "/v1/queue?team=Red", "registrar").json()["items"]
    assert red and {i["incident_id"] for i in red} == {"INC-Q-1"}
    assert {i["kind"] for i in red} == {"decision", "finding"}
    assert all(i["overdue"] and i["due_in_s"] < 0 for i in red)  # judged now, long after January 2025
    north = server.call("GET", "/v1/queue?area=North&kind=decision", "FCR").json()["items"]
    assert [i["decision"]["disclosure_id"] for i in north] == ["D1"]
    breaches = server.call("GET", "/v1/queue?outcome=breach&team=Blue", "supervisor").json()["items"]
    assert breaches and all(i["finding"]["outcome"] == "breach" for i in breaches)
    recording = server.call("GET", "/v1/queue?rule_area=recording", "supervisor").json()["items"]
    assert recording and all(i["finding"]["area"] == "recording" for i in recording)
    assert server.call("GET", "/v1/queue?rule_area=flags&team=Red", "supervisor").json()["items"] == []
    late = server.call("GET", "/v1/queue?due_after=2030-01-01T00:00:00Z", "supervisor").json()["items"]
    assert late == []


def accept(server: Server, role: str, expires: str, incident: str = "INC-EX-1", rule: str = "CX004") -> Any:
    body = {
        "rule": rule,
        "incident": incident,
        "subject": "CRN-25-0109",
        "reason": "authorised by the DDM in person; the record was entered under the supervisor's login",
        "accepted_by": "DDM 4521",
        "expires": expires,
    }
    return server.call("POST", "/v1/exceptions", role, json=body)


def test_exceptions_hold_findings_back_until_they_expire(server: Server) -> None:
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    made = accept(server, "DDM", day.isoformat())
    assert made.status_code == 201, made.text
    entry = schemas.RegisterEntry.model_validate(made.json()).model_dump()
    lapses = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo("Europe/London"))
    assert entry["accepted_by_role"] == "DDM" and entry["expires_at"] == lapses.isoformat()
    incident = fixture(CANCELLED, incident_id="INC-EX-1")
    before = (lapses - timedelta(seconds=1)).isoformat()
    held = server.call("POST", "/v1/check", "supervisor", json=incident, params={"as_of": before}).json()
    assert held["findings"] == [] and held["counts"]["excepted"] == 1
    assert held["excepted"][0]["rule_id"] == "CX004"
    assert held["excepted"][0]["exception"]["id"] == entry["id"]
    assert "accepted_by" not in held["excepted"][0]["exception"]  # the role and reason, not the person
    after = lapses.isoformat()
    back = server.call("POST", "/v1/check", "supervisor", json=incident, params={"as_of": after}).json()
    assert [f["rule_id"] for f in back["findings"]] == ["CX004"] and back["excepted"] == []
    # the register lists it with who accepted it, in force now; an expired one only when asked
    listed = schemas.ExceptionList.model_validate(
        server.call("GET", "/v1/exceptions?incident_id=INC-EX-1", "registrar").json()
    ).model_dump()
    assert [(e["id"], e["accepted_by"], e["in_force"]) for e in listed["exceptions"]] == [
        (entry["id"], "DDM 4521", True)
    ]


def test_an_exception_in_force_leaves_the_queue_and_comes_back_when_it_expires(server: Server) -> None:
    put(server, fixture(CANCELLED, incident_id="INC-EX-2", version=1))

    def queued() -> list[str]:
        items = server.call("GET", "/v1/queue?kind=finding&limit=1000", "supervisor").json()["items"]
        return [i["finding"]["rule_id"] for i in items if i["incident_id"] == "INC-EX-2"]

    assert queued() == ["CX004"]
    soon = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()  # room for a slow, shared machine
    assert accept(server, "FCR", soon, incident="INC-EX-2").status_code == 201
    assert queued() == []
    pushed = put(server, fixture(CANCELLED, incident_id="INC-EX-2", version=2))
    assert pushed["document"]["counts"]["excepted"] == 1
    deadline = datetime.fromisoformat(soon) + timedelta(seconds=0.5)
    while datetime.now(UTC) < deadline:
        time.sleep(0.1)
    assert queued() == ["CX004"]
    assert server.call("GET", "/v1/exceptions?incident_id=INC-EX-2", "DDM").json()["exceptions"] == []
    listed = server.call("GET", "/v1/exceptions?incident_id=INC-EX-2&include_expired=true", "DDM").json()
    assert [(e["accepted_by_role"], e["in_force"]) for e in listed["exceptions"]] == [("FCR", False)]


def test_the_audit_log_records_who_accepted(server: Server) -> None:
    made = accept(server, "DFCR", "2031-01-01", incident="INC-EX-3").json()
    entries = schemas.AuditLog.model_validate(server.call("GET", "/v1/audit-log", "registrar").json()).model_dump()[
        "entries"
    ]
    log = [e for e in entries if e["detail"]["exception"] == made["id"]]
    assert [(e["token"], e["role"], e["action"], e["detail"]["accepted_by"]) for e in log] == [
        ("test-DFCR", "DFCR", "exception.accept", "DDM 4521")
    ]


def test_only_the_allowed_roles_may_accept(server: Server) -> None:
    for role in ("system", "registrar"):
        assert accept(server, role, "2031-01-01").status_code == 403
    refused = accept(server, "supervisor", "2031-01-01")  # may ask, but the policy names no supervisor
    assert refused.status_code == 403 and "allows FCR, DFCR, DDM" in refused.text
    assert accept(server, "FCR", "2020-01-01").status_code == 422  # already expired
    assert accept(server, "FCR", "2031-01-01", rule="ZZ999").json()["errors"][0]["field"] == "rule"


# (method, path, body) and the roles allowed; every other role must get 403
ACCESS: list[tuple[str, str, Any, set[str]]] = [
    ("POST", f"/v1/check?as_of={AS_OF}", "incident", set(ROLES)),
    ("PUT", "/v1/incidents/INC-ACL", "versioned", {"system"}),
    ("GET", "/v1/incidents/INC-ACL", None, {"supervisor", "registrar", "FCR", "DFCR", "DDM"}),
    ("GET", "/v1/queue", None, {"supervisor", "registrar", "FCR", "DFCR", "DDM"}),
    ("GET", "/v1/exceptions", None, {"supervisor", "registrar", "FCR", "DFCR", "DDM"}),
    ("GET", "/v1/audit-log", None, {"registrar", "FCR", "DFCR"}),
    ("GET", "/v1/rules", None, set(ROLES)),
    ("GET", "/v1/rules/CX004", None, set(ROLES)),
]


def test_each_role_reaches_only_what_it_needs(server: Server) -> None:
    put(server, fixture(CANCELLED, incident_id="INC-ACL", version=1))
    for method, path, body, allowed in ACCESS:
        content = None
        if body == "incident":
            content = json.dumps(fixture(CANCELLED)).encode()
        elif body == "versioned":
            content = json.dumps(fixture(CANCELLED, incident_id="INC-ACL", version=2)).encode()
        for role in ROLES:
            answer = server.call(method, path, role, content=content)
            assert (answer.status_code == 403) == (role not in allowed), (method, path, role, answer.status_code)
            if answer.status_code == 403:
                assert "may not do this" in schemas.Errors.model_validate(answer.json()).errors[0].message
        missing = server.call(method, path, content=content)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        schemas.Errors.model_validate(missing.json())
        bad = {"Authorization": "Bearer cc_not-a-token"}
        assert server.call(method, path, content=content, headers=bad).status_code == 401
        basic = {"Authorization": "Basic dXNlcjpwYXNz"}
        assert server.call(method, path, content=content, headers=basic).status_code == 401
    # nobody changes the rules over HTTP: there is no such endpoint for any role
    for role in ROLES:
        assert server.call("PUT", "/v1/rules/CX004", role, json={}).status_code == 405


def test_rules_say_what_the_command_line_says(server: Server, ruleset: RuleSet) -> None:
    listed = schemas.RuleList.model_validate(server.call("GET", "/v1/rules", "system").json()).model_dump()
    assert listed["ruleset"] == ruleset.digest
    assert [r["id"] for r in listed["rules"]] == [r.id for r in ruleset.rules]
    one = schemas.RuleText.model_validate(server.call("GET", "/v1/rules/cx004", "supervisor").json()).model_dump()
    rule = ruleset.get("CX004")
    assert rule is not None and one["explain"] == rule_text(ruleset, rule)
    assert server.call("GET", "/v1/rules/ZZ999", "supervisor").status_code == 404


def test_openapi_in_docs_is_current() -> None:
    assert (ROOT / "docs" / "openapi.json").read_bytes() == openapi_document(), (
        "docs/openapi.json is stale: crimecheck serve --write-openapi docs/openapi.json"
    )


def test_served_openapi_is_the_one_in_docs(server: Server) -> None:
    served = server.call("GET", "/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_sqlite_is_in_wal_mode_with_the_migrations_recorded(server: Server) -> None:
    store = Store(server.database)
    try:
        assert store.schema_version() == len(migrations("sqlite"))
        assert store.migrate() == []  # applying again changes nothing
    finally:
        store.close()
    if store.dialect == "sqlite":
        with sqlite3.connect(server.database) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_tokens_kept_in_the_database_work_until_removed(server: Server, tmp_path: Path) -> None:
    token = new_token()
    store = Store(server.database)
    try:
        store.add_token("db-registrar", "registrar", digest(token))
        auth = {"Authorization": f"Bearer {token}"}
        assert server.call("GET", "/v1/queue?limit=1", headers=auth).status_code == 200
        assert server.call("PUT", "/v1/incidents/X", headers=auth, json={}).status_code == 403
        assert store.remove_token("db-registrar") and not store.remove_token("db-registrar")
        assert server.call("GET", "/v1/queue?limit=1", headers=auth).status_code == 401
    finally:
        store.close()


def test_serve_adds_and_removes_tokens_from_the_command_line(tmp_path: Path) -> None:
    database = str(tmp_path / "tokens.db")
    out = io.StringIO()
    assert cli_main(["serve", "--database", database, "--add-token", "records", "--role", "system"], out) == 0
    token = out.getvalue().splitlines()[-1]
    assert token.startswith("cc_") and len(token) > 40
    store = Store(database)
    try:
        assert store.token(digest(token)) == ("records", "system")
        raw = sqlite3.connect(database).execute("SELECT * FROM tokens").fetchall()
        assert token not in repr(raw)  # only the hash is kept
        assert cli_main(["serve", "--database", database, "--remove-token", "records"], io.StringIO()) == 0
        assert store.token(digest(token)) is None
        assert cli_main(["serve", "--database", database, "--remove-token", "records"], io.StringIO()) == 2
        assert cli_main(["serve", "--database", database, "--add-token", "x"], io.StringIO()) == 2  # no --role
    finally:
        store.close()


def _worker_pids(parent: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return found


def test_a_killed_worker_is_replaced(server: Server) -> None:
    if server.database.startswith("postgresql"):
        pytest.skip("the worker pool does not depend on the database")
    (pid,) = _worker_pids(server.process.pid)
    os.kill(pid, signal.SIGKILL)
    statuses = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = server.call("POST", f"/v1/check?as_of={AS_OF}", "supervisor", json=fixture(CANCELLED)).status_code
        statuses.append(status)
        if status == 200:
            break
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses
    assert _worker_pids(server.process.pid) and pid not in _worker_pids(server.process.pid)


def test_the_service_reconnects_when_postgresql_drops_its_connections(server: Server) -> None:
    if not server.database.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    import psycopg

    assert server.call("GET", "/v1/queue?limit=1", "supervisor").status_code == 200
    with psycopg.connect(server.database, autocommit=True) as conn:
        dropped = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert dropped
    for _ in range(10):
        assert server.call("GET", "/v1/queue?limit=1", "supervisor").status_code == 200
    assert put(server, fixture(CANCELLED, incident_id="INC-PG-GONE", version=1))["status"] == "stored"


def test_a_full_disk_answers_503_with_its_reason_not_500(tmp_path: Path) -> None:
    """The database on a file system that fills: SQLite's "database or disk is full" was an
    Internal Server Error (500, a traceback in the log). Now 503 with the reason and Retry-After,
    which a records system retries, one log line naming the route (never the incident's id), and a
    page for a person."""
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (it needs root)")
    try:
        with running_server(tmp_path, str(small / "serve.db")) as s:
            assert s.call("GET", "/readyz").json()["checks"]["disk"] == "ok"
            statuses = []
            for i in range(2000):
                incident = fixture(CANCELLED, incident_id=f"INC-FULL-{i}", version=1)
                answer = s.call("PUT", f"/v1/incidents/INC-FULL-{i}", "system", json=incident)
                statuses.append(answer.status_code)
                if answer.status_code != 200:
                    break
            assert statuses[-1] == 503 and set(statuses) == {200, 503}, statuses[-3:]
            (problem,) = answer.json()["errors"]
            assert problem["message"] == (
                "the database cannot serve this now (database or disk is full); send it again later"
            )
            assert answer.headers["retry-after"] == "30"
            ready = s.call("GET", "/readyz")  # it answered "ready" before the disk filled
            assert ready.status_code == 503 and ready.json()["checks"]["disk"].startswith("nearly full: ")
            assert ready.json()["checks"]["database"] == "ok"  # reads still work
            log = s.log.read_text()
            assert "the database cannot serve PUT /v1/incidents/{incident_id}: database or disk is full" in log
            assert "Traceback" not in log and "INC-FULL" not in log
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True, check=False)


def test_a_lost_postgresql_is_not_described_to_callers(tmp_path: Path) -> None:
    """The 503's reason is SQLite's own words (a full disk), but never PostgreSQL's, whose errors
    can name the server's host and user; the log keeps them for whoever runs the service."""
    import sqlite3

    import psycopg

    pg = Store("postgresql://alice:secret@db1.force.internal/crimecheck")
    gone = psycopg.OperationalError('connection to server at "db1.force.internal" failed for user "alice"')
    assert pg.unavailable == (psycopg.OperationalError,)
    assert pg.unavailable_reason(gone) == "the database server did not answer"
    lite = Store(str(tmp_path / "serve.db"))
    assert lite.unavailable_reason(sqlite3.OperationalError("database or disk is full")) == "database or disk is full"


def test_the_demo_serves_the_sample_incidents_and_cleans_up() -> None:
    port = free_port()
    command = [sys.executable, "-m", "checker", "serve", "--demo", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("crimecheck demo: 13 sample incidents in ")
        database = Path(lines[0].split(" in ", 1)[1].strip())
        tokens = {line.split()[0]: line.split()[-1] for line in lines[1:4]}
        assert set(tokens) == {"system", "supervisor", "FCR"}
        assert lines[4].startswith(f"crimecheck serving on http://127.0.0.1:{port} ")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                auth = {"Authorization": f"Bearer {tokens['supervisor']}"}
                answer = httpx.get(url + "/v1/queue?limit=1000", headers=auth, timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert len({i["incident_id"] for i in answer.json()["items"]}) >= 10
        assert database.exists()
    finally:
        process.terminate()
        process.wait(30)
    assert not database.parent.exists(), "the demo's database is removed when it stops"


def _gone(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [p for p in pids if Path(f"/proc/{p}").exists() and b"spawn_main" in _cmdline(p)]:
            return True
        time.sleep(0.2)
    return False


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_workers_do_not_outlive_the_service(tmp_path: Path, sig: signal.Signals) -> None:
    with running_server(tmp_path, str(tmp_path / "serve.db")) as s:
        workers = _worker_pids(s.process.pid)
        assert workers
        s.process.send_signal(sig)
        s.process.wait(30)
        assert _gone(workers, 10), "a worker process outlived the service"


def _closed_within(sock: Any, seconds: float) -> float | None:
    """Seconds until the server closed `sock` (its end read), or None if it stayed open that long."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except OSError:  # reset: closed as well
        pass
    return time.monotonic() - start


def _largest(incident_id: str) -> dict[str, Any]:
    """An incident at the bounds: 50 disclosures and 50 records, each record answering all of them."""
    incident = fixture(CANCELLED, incident_id=incident_id)
    (disclosure,), (record,) = incident["disclosures"], incident["records"]
    incident["disclosures"] = [{**disclosure, "disclosure_id": f"D{i}"} for i in range(50)]
    ids = [d["disclosure_id"] for d in incident["disclosures"]]
    incident["records"] = [{**record, "record_id": f"CRN-25-{i:04d}", "disclosure_ids": ids} for i in range(50)]
    return incident


def test_a_connection_that_sends_no_whole_request_in_time_is_closed(tmp_path: Path) -> None:
    """uvicorn held a connection that sent part of a request head, or a body a byte at a time, for
    ever: a thousand of them (no token needed) left a service with 1,024 open files refusing every
    connection. Now a request must arrive within --request-timeout of the connection opening or
    of the previous response; a request that has arrived takes as long as its checking takes."""
    import socket

    with running_server(tmp_path, str(tmp_path / "serve.db"), "--request-timeout", "1", "--max-body", "5000000") as s:
        port = int(s.url.rsplit(":", 1)[1])
        head = socket.create_connection(("127.0.0.1", port))
        head.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        idle = socket.create_connection(("127.0.0.1", port))  # opened, nothing sent
        for sock in (head, trickle, idle):
            waited = _closed_within(sock, 10)
            assert waited is not None and waited < 5, "the server closes it after about a second"
            sock.close()
        # a whole request, then half of the next on the same connection: the second has its own second
        kept = socket.create_connection(("127.0.0.1", port))
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.8)
        kept.sendall(b"GET /heal")
        assert _closed_within(kept, 10) is not None
        kept.close()
        # a request that has arrived is not cut however long its checking takes (here over the second)
        many = [_largest(f"INC-SLOW-{i}") for i in range(30)]  # ~0.1 s each to check
        started = time.monotonic()
        answer = s.call("POST", "/v1/check", "system", json=many)
        assert answer.status_code == 200 and answer.json()["counts"]["checked"] == 30
        assert time.monotonic() - started > 1.5
        assert "closed a connection that sent no whole request in 1 s" in s.log.read_text()


def test_the_open_files_limit_is_raised_to_the_hard_one_and_never_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from checker.serve.connections import raise_open_files_limit

    inf = resource.RLIM_INFINITY
    for limits, wanted in [
        ((1024, 4096), [(4096, 4096)]),
        ((4096, 4096), []),
        ((inf, inf), []),
        ((1024, inf), [(1_048_576, inf)]),
    ]:
        set_to: list[tuple[int, int]] = []
        monkeypatch.setattr(resource, "getrlimit", lambda _which, now=limits: now)
        monkeypatch.setattr(resource, "setrlimit", lambda _which, value, into=set_to: into.append(value))
        raise_open_files_limit()
        assert set_to == wanted, limits
