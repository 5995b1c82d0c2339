"""The HTTP API: check incidents, keep their latest versions, a queue by deadline, the exceptions register."""

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checker.audit.rows import WITHHELD
from checker.check.checker import Checker, Result
from checker.check.docs import rule_text
from checker.check.document import json_document, problem_dict
from checker.check.exceptions import Entry, Policy, Register, check_entry
from checker.core.errors import Problem, dotted, error_text
from checker.core.models import Incident
from checker.core.times import utc_now
from checker.rules.facts_schema import NARRATIVE_FIELDS
from checker.rules.loader import Area, Outcome, RuleSet
from checker.serve.auth import PERMISSIONS, Caller, Permission, digest
from checker.serve.pagestore import PageStore
from checker.serve.schemas import (
    AuditLog,
    CheckDocument,
    Errors,
    ExceptionList,
    PutAnswer,
    Queue,
    RegisterEntry,
    RuleList,
    RuleText,
    Shape,
    StoredIncident,
)
from checker.serve.store import IncidentRow, QueueFilter, QueueItem, Store, Stored, stamp
from checker.serve.workers import SOURCE, Checked, Workers

API_VERSION = "1"
DEFAULT_MAX_BODY = 5_000_000  # bytes: a few thousand incidents in one check; a batch belongs to `audit`
MAX_QUEUE = 1000
# /readyz says "not ready" below this much room on the SQLite file's disk: a push takes a few KB
READY_FREE_BYTES = 1024 * 1024
access_log = logging.getLogger("crimecheck.access")
RETRY_AFTER_S = 30  # what a 503 asks a caller to wait before sending again
API_PATHS = ("/v1/", "/healthz", "/readyz", "/openapi.json")  # answered in JSON; every other path is a page


@dataclass(frozen=True)
class Settings:
    """How the service runs: where its database is, its limits, and the force's choices."""

    database: str
    rules: Path | None = None
    reference: Path | None = None
    workers: int = 2
    max_body: int = DEFAULT_MAX_BODY
    timezone: tzinfo | None = None
    store_narrative: bool = False
    policy: Policy = field(default_factory=Policy)
    token_file: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Service:
    """What the endpoints share: settings, rules, database and worker processes."""

    settings: Settings
    ruleset: RuleSet
    store: Store
    workers: Workers

    @cached_property
    def messages(self) -> Checker:
        """Writes findings' messages again with masked values (no engine: checking is the workers')."""
        return Checker(self.ruleset, evaluator="reference")


# ------------------------------------------------------------------------------------------------
# Error bodies, and what the store keeps of a checked version
# ------------------------------------------------------------------------------------------------


def _errors(problems: list[Problem]) -> dict[str, Any]:
    return {"errors": [problem_dict(p) for p in problems]}


def _problem_response(status: int, problems: list[Problem], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(_errors(problems)), status, headers, media_type="application/json")


def incident_row(
    service: Service, incident: Incident, result: Result, warnings: list[str], key: Stored, now: datetime
) -> IncidentRow:
    """What the store keeps of one checked version: no narrative, and no quote of it, unless the force asks."""
    keep_log = service.settings.store_narrative
    kept = result if keep_log else _withheld(service, result, incident, now)
    return IncidentRow(
        incident_id=incident.incident_id,
        key=key,
        reported_at=stamp(incident.reported_at),
        force=incident.force,
        officer=incident.officer,
        team=incident.team,
        area=incident.area,
        shift=incident.shift,
        received_at=stamp(now),
        checked_at=stamp(now),
        record=orjson.dumps(incident.model_dump(mode="json", exclude=None if keep_log else {"narrative"})),
        document=json_document(service.ruleset, [kept], [], now, warnings=warnings),
        items=_queue_items(kept),
    )


def version_key(incident: Incident) -> Stored:
    """How versions of an incident are ordered: by `version`, then by `updated_at`."""
    return Stored(
        -1 if incident.version is None else incident.version,
        "" if incident.updated_at is None else stamp(incident.updated_at),
    )


def _withheld(service: Service, result: Result, incident: Incident, as_of: datetime) -> Result:
    """A result whose messages quote nothing of the incident log, for storing without narratives:
    each message written again with the log's words withheld, and no quote kept."""
    if not incident.narrative:
        return result

    def mask(name: str, value: Any) -> Any:
        return WITHHELD if name in NARRATIVE_FIELDS else value

    findings = tuple(replace(f, message=service.messages.message(f, as_of, mask), quote=None) for f in result.findings)
    return replace(result, findings=findings)


def _queue_items(result: Result) -> tuple[QueueItem, ...]:
    deadlines = {d.disclosure_id: stamp(_parse(d.deadline)) for d in result.decisions}
    items: list[QueueItem] = []
    for d in result.decisions:
        # open: a crime or N100 to record (or a decision to make) and nothing recorded against it
        if d.decision in ("crime", "n100", "review") and not d.recorded:
            item = orjson.dumps(d.to_dict())
            items.append(QueueItem("decision", None, None, None, d.disclosure_id, deadlines[d.disclosure_id], item))
    for f in result.findings:
        deadline = deadlines.get(f.disclosure_id) if f.disclosure_id else None
        item = orjson.dumps(f.to_dict())
        items.append(QueueItem("finding", f.rule_id, f.area, f.outcome, f.subject, deadline, item))
    return tuple(items)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------------------
# Middleware: body limit and an access log without incident content
# ------------------------------------------------------------------------------------------------


class Guard:
    """Refuses bodies over the limit (413) and logs each request by route, never by content."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        body, too_big = await self._read(scope, receive)
        if too_big:
            await _send_413(sending, self.max_body)
        else:
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, sending)
        route = scope.get("route")
        path = getattr(route, "path", None) or "(no route)"
        caller: Caller | None = scope.get("state", {}).get("caller")
        # method, route template (never the incident id in the path), status, time, size, role
        access_log.info(
            "%s %s %d %.1fms in=%dB role=%s token=%s",
            scope["method"],
            path,
            status[0],
            (time.perf_counter() - started) * 1000,
            len(body),
            caller.role if caller else "-",
            caller.log_id if caller else "-",
        )

    async def _read(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                return b"", True
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False


async def _send_413(send: Callable[[Message], Awaitable[None]], limit: int) -> None:
    body = orjson.dumps(_errors([Problem(f"the request body is larger than {limit:,} bytes", file=SOURCE)]))
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------------------------
# The application
# ------------------------------------------------------------------------------------------------


class ExceptionRequest(BaseModel):
    """An exception to accept: the role is the caller's, the time is the service's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rule: str = Field(description="rule id, e.g. CX003")
    incident: str = Field(description="incident id")
    subject: str = Field(description="the record, disclosure or victim id the finding is about")
    reason: str = Field(description="why the finding is accepted")
    accepted_by: str = Field(description="name or number of the person accepting it")
    expires: str = Field(description="when it lapses: a time with offset, or a date (to the end of that day, London)")


_INCIDENT_BODY = {"$ref": "#/components/schemas/Incident"}
_CHECK_BODY: dict[str, Any] = {
    "required": True,
    "description": "one incident, a JSON array of incidents, or JSON Lines, as the record contract defines",
    "content": {
        "application/json": {"schema": {"anyOf": [_INCIDENT_BODY, {"type": "array", "items": _INCIDENT_BODY}]}}
    },
}
_PUT_BODY: dict[str, Any] = {
    "required": True,
    "description": "one version of the incident; it must carry `version` or `updated_at`",
    "content": {"application/json": {"schema": _INCIDENT_BODY}},
}
_DOC = {"model": CheckDocument, "description": "the versioned document of `crimecheck check --format json`"}
_BAD = {
    "model": CheckDocument | Errors,
    "description": "an incident rejected: the same document, its located errors under `rejected`; "
    "a bad query parameter: the located errors",
}
_ERRORS = {"model": Errors, "description": "bad input: the located errors"}
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": Errors, "description": "no or unknown bearer token"},
    403: {"model": Errors, "description": "the token's role may not"},
    # not about the token, but every endpoint can answer it
    503: {
        "model": Errors,
        "description": "cannot serve now: the database (a full disk, a lost server) or a checking process "
        "stopped; the reason in `errors`; nothing was half stored: send it again after `Retry-After` seconds",
    },
}


def _answer(
    model: type[Shape], description: str, more: dict[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}, 422: _ERRORS, **_AUTH, **(more or {})}


# Longer than 80 lines on purpose: it registers each endpoint, a short closure over the service,
# on one app; the work is in the store, the workers and the views.
def create_app(service: Service) -> FastAPI:
    """The FastAPI application over a started service."""
    settings = service.settings
    store = service.store
    ruleset = service.ruleset
    app = FastAPI(
        title="crimecheck",
        version=API_VERSION,
        summary="Checks police incident records against the Home Office Crime Recording Rules",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.add_middleware(Guard, max_body=settings.max_body)

    def require(permission: Permission) -> Callable[[Request], Awaitable[Caller]]:
        async def caller(request: Request) -> Caller:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
            key = digest(token.strip())
            found = settings.token_file.get(key) or await run_in_threadpool(store.token, key)
            if found is None:
                raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
            who = Caller(found[0], found[1], key)
            request.scope.setdefault("state", {})["caller"] = who
            if who.role not in PERMISSIONS[permission]:
                raise HTTPException(403, f"the {who.role} role may not do this")
            return who

        return caller

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [Problem(error_text(e), field=dotted(e["loc"])) for e in exc.errors()]
        return _problem_response(422, problems)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _problem_response(exc.status_code, [Problem(str(exc.detail))], exc.headers)

    async def _unavailable(request: Request, exc: Exception) -> Response:
        # one line, no traceback, and the route's template, never the incident id in the path: the
        # cause is the database's (a full disk, a lost server), not a bug; the log has its own words
        route = getattr(request.scope.get("route"), "path", None) or "(no route)"
        logging.getLogger("crimecheck").error("the database cannot serve %s %s: %s", request.method, route, exc)
        why = f"the database cannot serve this now ({service.store.unavailable_reason(exc)}); send it again later"
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        if request.url.path.startswith(API_PATHS):
            return _problem_response(503, [Problem(why)], retry)
        title = (  # a bare page (the page's own templates may need what failed), readable on a phone
            '<!doctype html><html lang="en"><meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>crimecheck: try again</title><h1>Try again in a minute</h1>"
        )
        return Response(f"{title}<p>{html.escape(why)}.</p>", 503, retry, media_type="text/html")

    for error in service.store.unavailable:
        app.add_exception_handler(error, _unavailable)

    async def run_check(body: bytes, as_of: datetime, single: bool) -> Checked:
        try:
            return await asyncio.wrap_future(service.workers.check(body, as_of, settings.timezone, single))
        except BrokenProcessPool:
            # the pool is replaced on the next call; this request is not retried, as it may be the cause
            stopped = "a checking process stopped; send the request again"
            raise HTTPException(503, stopped, {"Retry-After": "1"}) from None

    async def register_for(results: list[Result]) -> Register:
        ids = [r.incident_id for r in results]
        entries = await run_in_threadpool(store.exceptions, ids)
        return Register(entries, settings.policy)

    @app.get("/healthz", tags=["health"], summary="the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="rules loaded, database answering with room to write, workers ready")
    async def readyz() -> Response:
        checks: dict[str, str] = {"rules": f"{len(ruleset.active)} rules, set {ruleset.digest}"}
        try:
            await run_in_threadpool(store.ping)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        free = await run_in_threadpool(store.free_space)
        if free is not None:  # a full disk answers reads but fails every write (503)
            checks["disk"] = "ok" if free >= READY_FREE_BYTES else f"nearly full: {free:,} bytes free"
        checks["workers"] = "ok" if await run_in_threadpool(service.workers.ready) else "not answering"
        ok = all(checks[name] == "ok" for name in ("database", "workers", "disk") if name in checks)
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503)

    @app.post(
        "/v1/check",
        tags=["check"],
        summary="check one incident or a list; nothing is stored",
        openapi_extra={"requestBody": _CHECK_BODY},
        responses={200: _DOC, 422: _BAD, 413: {"model": Errors, "description": "the body is over the limit"}, **_AUTH},
    )
    async def check(
        request: Request,
        caller: Annotated[Caller, Depends(require("check"))],
        as_of: Annotated[AwareDatetime | None, Query(description="judge clocks at this time (default: now)")] = None,
    ) -> Response:
        when = as_of or utc_now()
        checked = await run_check(await request.body(), when, single=False)
        results, excepted = (await register_for(checked.results)).split(checked.results, when)
        doc = json_document(ruleset, results, checked.rejected, when, warnings=checked.warnings, excepted=excepted)
        return Response(doc, status_code=422 if checked.rejected else 200, media_type="application/json")

    @app.put(
        "/v1/incidents/{incident_id}",
        tags=["incidents"],
        summary="push a version of an incident: checked, stored unless a newer version is, result returned",
        openapi_extra={"requestBody": _PUT_BODY},
        responses=_answer(PutAnswer, "what the push did, and the check of the version sent", {422: _ERRORS}),
    )
    async def put_incident(
        incident_id: str, request: Request, caller: Annotated[Caller, Depends(require("push"))]
    ) -> Response:
        now = utc_now()
        checked = await run_check(await request.body(), now, single=True)
        if checked.rejected:
            return _problem_response(422, [p for _, problems in checked.rejected for p in problems])
        incident = checked.incidents[0]
        result = checked.results[0]
        problems = []
        if incident.incident_id != incident_id:
            msg = f"the body is incident {incident.incident_id!r} but the path names {incident_id!r}"
            problems.append(Problem(msg, file=SOURCE, record=incident.incident_id, field="incident_id"))
        if incident.version is None and incident.updated_at is None:
            msg = "a pushed incident needs a version or updated_at, so that an older version never overwrites it"
            problems.append(Problem(msg, file=SOURCE, record=incident.incident_id, field="version"))
        if problems:
            return _problem_response(422, problems)
        key = version_key(incident)
        stored = await run_in_threadpool(store.stored, incident_id)
        if stored is not None and not stored.older_than(key):
            status = "unchanged" if stored == key else "older_ignored"
        else:
            row = incident_row(service, incident, result, checked.warnings, key, now)
            status = "stored" if await run_in_threadpool(store.put, row) else "older_ignored"
        results, excepted = (await register_for([result])).split([result], now)
        doc = json_document(ruleset, results, [], now, warnings=checked.warnings, excepted=excepted)
        await run_in_threadpool(PageStore(store).add_check, incident_id, now, key, status, orjson.loads(doc))
        head = orjson.dumps(
            {"incident_id": incident_id, "status": status, "version": incident.version, "updated_at": key.updated_key}
        )
        return Response(head[:-1] + b',"document":' + doc.rstrip() + b"}", media_type="application/json")

    @app.get(
        "/v1/incidents/{incident_id}",
        tags=["incidents"],
        summary="the stored version of an incident and its latest check",
        responses=_answer(StoredIncident, "the stored version", {404: {"model": Errors, "description": "none stored"}}),
    )
    async def get_incident(incident_id: str, caller: Annotated[Caller, Depends(require("read"))]) -> Response:
        found = await run_in_threadpool(store.incident, incident_id)
        if found is None:
            raise HTTPException(404, "no incident with this id is stored")
        live = await run_in_threadpool(store.exceptions, [incident_id], stamp(utc_now()))
        found["exceptions_in_force"] = [_entry_dict(i, e, full=False) for i, e in live]
        return Response(orjson.dumps(found), media_type="application/json")

    @app.get(
        "/v1/queue",
        tags=["incidents"],
        summary="open recording decisions and findings across stored incidents, by deadline",
        responses=_answer(Queue, "the queue, deadlines first"),
    )
    async def queue(
        caller: Annotated[Caller, Depends(require("read"))],
        kind: Literal["decision", "finding"] | None = None,
        outcome: Outcome | None = None,
        rule_area: Annotated[Area | None, Query(description="the finding's area")] = None,
        area: Annotated[str | None, Query(description="the incident's neighbourhood or command unit")] = None,
        team: str | None = None,
        officer: str | None = None,
        shift: str | None = None,
        due_after: AwareDatetime | None = None,
        due_before: AwareDatetime | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_QUEUE)] = 100,
    ) -> Response:
        now = utc_now()
        filt = QueueFilter(
            kind="finding" if outcome or rule_area else kind,
            outcome=outcome,
            rule_area=rule_area,
            area=area,
            team=team,
            officer=officer,
            shift=shift,
            due_after=stamp(due_after) if due_after else None,
            due_before=stamp(due_before) if due_before else None,
            limit=limit,
        )
        items = await run_in_threadpool(store.queue, filt, stamp(now))
        for item in items:
            # clocks judged now, at the request, not when the incident was last checked
            if item["deadline"] is not None:
                left = int((_parse(item["deadline"]) - now).total_seconds())
                item["due_in_s"] = left
                item["overdue"] = left < 0
        return Response(orjson.dumps({"as_of": now.isoformat(), "items": items}), media_type="application/json")

    @app.get(
        "/v1/rules",
        tags=["rules"],
        summary="the rules, as `crimecheck rules list` shows them",
        responses=_answer(RuleList, "the rules"),
    )
    async def rules(caller: Annotated[Caller, Depends(require("rules"))]) -> dict[str, Any]:
        return {"ruleset": ruleset.digest, "rules": [_rule_dict(r.model) for r in ruleset.rules]}

    @app.get(
        "/v1/rules/{rule_id}",
        tags=["rules"],
        summary="one rule, with the text of `crimecheck rules explain`",
        responses=_answer(RuleText, "the rule", {404: {"model": Errors, "description": "no such rule"}}),
    )
    async def rule(rule_id: str, caller: Annotated[Caller, Depends(require("rules"))]) -> dict[str, Any]:
        found = ruleset.get(rule_id.upper())
        if found is None:
            raise HTTPException(404, "no such rule; GET /v1/rules lists them")
        return {**_rule_dict(found.model), "explain": rule_text(ruleset, found)}

    @app.post(
        "/v1/exceptions",
        tags=["exceptions"],
        status_code=201,
        summary="accept a finding as an exception (FCR, DFCR and DDM by default)",
        responses={201: {"model": RegisterEntry, "description": "accepted"}, 422: _ERRORS, **_AUTH},
    )
    async def accept(body: ExceptionRequest, caller: Annotated[Caller, Depends(require("accept"))]) -> Response:
        now = utc_now()
        try:
            entry = Entry(
                rule=body.rule.upper(),
                incident=body.incident,
                subject=body.subject,
                reason=body.reason,
                accepted_by_role=caller.role,
                accepted_by=body.accepted_by,
                accepted_at=now,
                expires=body.expires,
            )
        except ValidationError as exc:
            problems = [Problem(error_text(e), field=dotted(e["loc"])) for e in exc.errors()]
            return _problem_response(422, problems)
        wrong = check_entry(entry, ruleset, settings.policy)
        if any(f == "accepted_by_role" for f, _ in wrong):
            raise HTTPException(403, wrong[0][1])
        if entry.expires_at <= now and not wrong:
            wrong.append(("expires", "already expired"))
        if wrong:
            return _problem_response(422, [Problem(msg, field=f) for f, msg in wrong])
        entry_id = await run_in_threadpool(store.add_exception, entry, caller.name, caller.role)
        return Response(orjson.dumps(_entry_dict(entry_id, entry)), status_code=201, media_type="application/json")

    @app.get(
        "/v1/exceptions",
        tags=["exceptions"],
        summary="the exceptions register",
        responses=_answer(ExceptionList, "the register"),
    )
    async def exceptions(
        caller: Annotated[Caller, Depends(require("read"))],
        incident_id: str | None = None,
        include_expired: bool = False,
    ) -> Response:
        now = utc_now()
        entries = await run_in_threadpool(
            store.exceptions, None if incident_id is None else [incident_id], None if include_expired else stamp(now)
        )
        out = [{**_entry_dict(i, e), "in_force": e.expires_at > now} for i, e in entries]
        return Response(orjson.dumps({"exceptions": out}), media_type="application/json")

    @app.get(
        "/v1/audit-log",
        tags=["exceptions"],
        summary="who accepted which exception, oldest first (registrar, FCR, DFCR)",
        responses=_answer(AuditLog, "the audit log"),
    )
    async def audit_log(caller: Annotated[Caller, Depends(require("audit"))]) -> Response:
        entries = await run_in_threadpool(store.audit_log)
        return Response(orjson.dumps({"entries": entries}), media_type="application/json")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes, description=_DESCRIPTION
            )
            schema = Incident.model_json_schema(ref_template="#/components/schemas/{model}")
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.pop("$defs", {}))
            components["Incident"] = schema
            spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            spec["security"] = [{"bearer": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


_DESCRIPTION = (
    "Every endpoint but /healthz and /readyz needs `Authorization: Bearer TOKEN`. Roles: system (check, push "
    "incidents, read rules), supervisor and registrar (check, read the queue, incidents, exceptions and rules), "
    "FCR, DFCR and DDM (the same, and accept exceptions where the force's policy allows the role). "
    "See docs/serve.md."
)


def _rule_dict(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "title": m.title,
        "area": m.area,
        "outcome": m.outcome,
        "status": m.status,
        "edition": m.source.edition,
        "effective_from": m.effective.from_.isoformat(),
        "effective_to": m.effective.to.isoformat() if m.effective.to else None,
    }


def _entry_dict(entry_id: str, e: Entry, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry_id,
        "rule": e.rule,
        "incident": e.incident,
        "subject": e.subject,
        "reason": e.reason,
        "accepted_by_role": e.accepted_by_role,
        "accepted_at": e.accepted_at.isoformat() if e.accepted_at else None,
        "expires_at": e.expires_at.isoformat(),
    }
    if full:
        out["accepted_by"] = e.accepted_by
    return out
