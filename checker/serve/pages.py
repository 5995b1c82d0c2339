"""The supervisors' page at `/`: the queue, an incident, checking a record, accepting an exception, the rules.

Server-rendered (Jinja2, autoescaped) on the same service, tokens and roles as the API. Readable
without JavaScript; the one script (static/page.js, no inline script: the Content Security
Policy forbids it) refreshes the queue's results in place, keeping the filters.

Security: sign-in exchanges a bearer token for a session cookie (HttpOnly, SameSite=Strict,
Secure and `__Host-` over HTTPS, expiring after a shift); the database keeps only the cookie's
hash, and the session ends when its token is removed. Every form carries a CSRF token (the
session's own; before sign-in a double-submit cookie) and every POST from another origin is
refused. The log text (narrative) and any quote of it are shown only to the roles in
NARRATIVE_ROLES.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from checker.check.checker import Finding
from checker.check.docs import rule_text
from checker.check.document import json_document
from checker.check.exceptions import EXPIRY_ZONE, Entry, Register, check_entry
from checker.core.errors import dotted, error_text
from checker.core.times import LONDON, human_time, utc_now
from checker.rules.explain import fired_conditions
from checker.rules.loader import AREAS, OUTCOMES
from checker.serve.app import API_PATHS, MAX_QUEUE, Service
from checker.serve.auth import PERMISSIONS, Caller, Permission, digest
from checker.serve.pagestore import PageStore, Session
from checker.serve.store import QueueFilter, stamp, unstamp
from checker.serve.views import (
    AREA_WORDS,
    OUTCOME_ICONS,
    OUTCOME_WORDS,
    SUBJECT_WORDS,
    countdown,
    decision_text,
    log_mask,
    log_pieces,
    queue_rows,
    source_text,
    without_log,
)
from checker.serve.workers import Checked

SESSION_HOURS = 10  # one shift; then sign in again
COOKIE = "crimecheck_session"
SECURE_COOKIE = "__Host-crimecheck_session"  # over HTTPS: Secure, path /, no Domain
SIGNIN_COOKIE = "crimecheck_signin"  # the double-submit CSRF token of the sign-in form
NARRATIVE_ROLES = frozenset({"supervisor", "FCR", "DFCR", "DDM"})  # who may read an incident's log
REFRESH_S = 60
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
Found = dict[str, Any]  # a finding, decision or record as the stored JSON has it
LOG_MESSAGE_WITHHELD = "This message is withheld: it quotes the incident log, which your role may not read."


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, from the session: the token's name and role."""

    name: str
    role: str
    csrf: str

    def may(self, permission: Permission) -> bool:
        """Whether the role has an API permission."""
        return self.role in PERMISSIONS[permission]

    @property
    def reads_log(self) -> bool:
        """Whether the role may read the incident log and quotes of it."""
        return self.role in NARRATIVE_ROLES


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("checker.serve", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        SUBJECT_WORDS=SUBJECT_WORDS,
        when=_when,
        OUTCOME_WORDS=OUTCOME_WORDS,
        OUTCOME_ICONS=OUTCOME_ICONS,
        AREA_WORDS=AREA_WORDS,
        decision_text=decision_text,
        source_text=source_text,
        quote=quote,
    )
    return env


# Longer than 80 lines on purpose: it registers each view, a short closure over the service and the
# page's session store, on the service's app; what a view shows is built in checker.serve.views.
def add_pages(app: FastAPI, service: Service) -> None:
    """Mount the page's routes, its static files and its security headers on the service's app."""
    env = _environment()
    pages = PageStore(service.store)
    settings = service.settings
    zone = settings.timezone or LONDON
    static = resources.files("checker.serve") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method == "POST" and not request.url.path.startswith(API_PATHS) and not _same_origin(request):
            response: Response = HTMLResponse("Refused: this form was sent from another site.", 403)
        else:
            response = await call_next(request)
        if not request.url.path.startswith(API_PATHS):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make form POSTs say Origin: null
            response.headers["X-Frame-Options"] = "DENY"
            if not request.url.path.startswith("/static/"):
                response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        # a person who mistypes an address gets a page; the API keeps FastAPI's answer
        if exc.status_code == 404 and not request.url.path.startswith(API_PATHS):
            viewer = await viewer_of(request)
            return render(request, "missing.html", viewer, 404, title="Page not found", incident_id=None)
        return await http_exception_handler(request, exc)

    # -- helpers -------------------------------------------------------------------------------

    def render(request: Request, name: str, viewer: Viewer | None, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(viewer=viewer, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def cookie_name(request: Request) -> str:
        return SECURE_COOKIE if request.url.scheme == "https" else COOKIE

    async def viewer_of(request: Request) -> Viewer | None:
        cookie = request.cookies.get(cookie_name(request))
        if not cookie:
            return None
        session: Session | None = await run_in_threadpool(pages.session, cookie, utc_now())
        if session is None:
            return None
        # a removed token ends its sessions at once
        known = session.token_sha256 in settings.token_file
        if not known and await run_in_threadpool(service.store.token, session.token_sha256) is None:
            return None
        # the access log names the role and the token's short id, as for the API
        request.scope.setdefault("state", {})["caller"] = Caller(session.name, session.role, session.token_sha256)
        return Viewer(session.name, session.role, session.csrf)

    def to_sign_in(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/sign-in?" + urlencode({"next": target}), 303)

    def refused(request: Request, viewer: Viewer, what: str) -> HTMLResponse:
        return render(request, "refused.html", viewer, 403, title="Not for this role", reason=what)

    async def form_of(request: Request, viewer: Viewer) -> dict[str, Any] | None:
        """The form's fields, or None when its CSRF token is missing or wrong."""
        # a pasted record may be as large as the service takes (Starlette's default part limit is 1 MB)
        form = await request.form(max_part_size=settings.max_body)
        fields: dict[str, Any] = dict(form)
        sent = str(fields.get("csrf", ""))
        if not hmac.compare_digest(sent.encode(), viewer.csrf.encode()):
            return None
        return fields

    def csrf_refused(request: Request, viewer: Viewer | None) -> HTMLResponse:
        reason = "The form had expired or did not come from this page. Go back, reload the page and send it again."
        return render(request, "refused.html", viewer, 403, title="Form refused", reason=reason)

    async def log_free(
        findings: list[dict[str, Any]], record: dict[str, Any] | None, at: datetime
    ) -> list[dict[str, Any]]:
        """Stored findings as a role that may not read the log sees them. Kept without the log, they
        already quote none of it; kept with it, each message is written again from the stored version
        (checked again as at `at`) with the log's words withheld, or withheld whole if it cannot be."""
        narrative = record.get("narrative") if record else None
        if not narrative or record is None:
            return [{**f, "quote": None} for f in findings]
        checked = await _check(service, orjson.dumps(record), at, single=True)
        again = {(g.rule_id, g.subject): g for r in checked.results for g in r.findings}
        out = []
        for f in findings:
            g = again.get((f["rule_id"], f["subject"]))
            message = _masked(service, g, at, narrative) if g is not None else LOG_MESSAGE_WITHHELD
            out.append({**f, "message": message, "quote": None})
        return out

    # -- sign-in -------------------------------------------------------------------------------

    @app.get("/sign-in", include_in_schema=False)
    async def sign_in_form(request: Request, next: str = "/", out: str = "") -> Response:
        # text, read leniently: a typed parameter given a wrong value answers with the API's JSON 422
        signed_out = out not in ("", "0")
        if await viewer_of(request) is not None and not signed_out:
            return RedirectResponse(_local(next), 303)
        token = secrets.token_urlsafe(24)
        note = "You are signed out." if signed_out else None
        response = render(request, "signin.html", None, csrf=token, next=_local(next), note=note, error=None)
        _set_cookie(response, request, SIGNIN_COOKIE, token, 3600)
        return response

    @app.post("/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = dict(await request.form())
        target = _local(str(form.get("next", "/")))
        sent = str(form.get("csrf", ""))
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        token_text = str(form.get("token", "")).strip()
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return csrf_refused(request, None)
        key = digest(token_text) if token_text else ""
        found = settings.token_file.get(key) or (await run_in_threadpool(service.store.token, key) if key else None)
        if found is None:
            fresh = secrets.token_urlsafe(24)
            error = "That token is not known here. Paste the whole token you were given, starting cc_."
            again = render(request, "signin.html", None, 401, csrf=fresh, next=target, note=None, error=error)
            _set_cookie(again, request, SIGNIN_COOKIE, fresh, 3600)
            return again
        now = utc_now()
        cookie = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=SESSION_HOURS)
        session = Session(found[0], found[1], key, secrets.token_urlsafe(32), stamp(expires))
        await run_in_threadpool(pages.open_session, cookie, session, now)
        if found[1] not in PERMISSIONS["read"] and target == "/":
            target = "/check"
        response = RedirectResponse(target, 303)
        _set_cookie(response, request, cookie_name(request), cookie, SESSION_HOURS * 3600)
        response.delete_cookie(SIGNIN_COOKIE, path="/")
        return response

    @app.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return RedirectResponse("/sign-in?out=1", 303)
        if await form_of(request, viewer) is None:
            return csrf_refused(request, viewer)
        await run_in_threadpool(pages.close_session, request.cookies.get(cookie_name(request), ""))
        response = RedirectResponse("/sign-in?out=1", 303)
        response.delete_cookie(cookie_name(request), path="/", secure=request.url.scheme == "https")
        return response

    # -- the queue -----------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def queue(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        if not viewer.may("read"):
            return refused(request, viewer, f"The {viewer.role} role cannot read the queue. It may check a record.")
        choices = await run_in_threadpool(pages.choices)
        params = request.query_params
        chosen = {
            "team": params.get("team") or "",
            "area": params.get("area") or "",
            "outcome": params.get("outcome") or "",
            "rule_area": params.get("rule_area") or "",
            "kind": params.get("kind") or "",
        }
        # a value that is not on offer is dropped (and said), never passed on
        allowed = {
            "team": choices["team"],
            "area": choices["area"],
            "outcome": list(OUTCOMES),
            "rule_area": list(AREAS),
            "kind": ["decision", "finding"],
        }
        ignored = [k for k, v in chosen.items() if v and v not in allowed[k]]
        for k in ignored:
            chosen[k] = ""
        now = utc_now()
        filt = QueueFilter(
            kind="finding" if chosen["outcome"] or chosen["rule_area"] else (chosen["kind"] or None),
            outcome=chosen["outcome"] or None,
            rule_area=chosen["rule_area"] or None,
            area=chosen["area"] or None,
            team=chosen["team"] or None,
            limit=MAX_QUEUE,
        )
        items = await run_in_threadpool(service.store.queue, filt, stamp(now))
        rows, counts = queue_rows(items, now, zone)
        context: dict[str, Any] = {
            "title": "Queue",
            "rows": rows,
            "counts": counts,
            "chosen": chosen,
            "choices": choices,
            "ignored": ignored,
            "full": len(items) >= MAX_QUEUE,
            "as_of": human_time(now.isoformat(), now, zone),
            "refresh_s": REFRESH_S,
            "filtered": any(chosen.values()),
            "query": request.url.query,
        }
        if request.headers.get("x-page-fragment") == "queue":
            return render(request, "queue_results.html", viewer, **context)
        return render(request, "queue.html", viewer, **context)

    # -- an incident ---------------------------------------------------------------------------

    async def incident_context(incident_id: str, viewer: Viewer) -> dict[str, Any] | None:
        found = await run_in_threadpool(service.store.incident, incident_id)
        if found is None:
            return None
        now = utc_now()
        entries = await run_in_threadpool(service.store.exceptions, [incident_id])
        history = await run_in_threadpool(pages.history, incident_id)
        record = await run_in_threadpool(pages.record, incident_id)
        narrative = record.get("narrative") if record else None
        doc = found["document"]
        checked_at = unstamp(found["checked_at"])
        live = {(e.rule, e.subject): (i, e) for i, e in entries if e.expires_at > now}
        findings = []
        for f in doc["findings"]:
            hit = live.get((f["rule_id"], f["subject"]))
            findings.append({**f, "excepted_by": hit[1] if hit else None, "excepted_id": hit[0] if hit else None})
        return {
            "title": f"Incident {incident_id}",
            "incident_id": incident_id,
            "found": found,
            "record": record,
            "narrative": narrative if viewer.reads_log else None,
            "log_withheld": bool(narrative) and not viewer.reads_log,
            "doc": doc,
            "findings": findings if viewer.reads_log else await log_free(findings, record, checked_at),
            "decisions": _decision_rows(doc["decisions"], now, checked_at, zone),
            "checked_at": human_time(checked_at.isoformat(), now, zone),
            "exceptions": [_exception_row(i, e, now, zone) for i, e in entries],
            "history": [{**h.__dict__, "when": human_time(h.checked_at, now, zone)} for h in history],
            "stored": True,
        }

    @app.get("/incidents/{incident_id}", include_in_schema=False)
    async def incident(request: Request, incident_id: str, accepted: str | None = None) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        if not viewer.may("read"):
            return refused(request, viewer, f"The {viewer.role} role cannot read stored incidents.")
        context = await incident_context(incident_id, viewer)
        if context is None:
            return render(request, "missing.html", viewer, 404, title="No such incident", incident_id=incident_id)
        note = f"Exception {accepted} accepted: the finding has left the queue." if accepted else None
        return render(request, "incident.html", viewer, note=note, **context)

    @app.get("/incidents/{incident_id}/explain", include_in_schema=False)
    async def explain(request: Request, incident_id: str, rule: str = "", subject: str = "") -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        if not viewer.may("read"):
            return refused(request, viewer, f"The {viewer.role} role cannot read stored incidents.")
        found = await run_in_threadpool(service.store.incident, incident_id)
        record = await run_in_threadpool(pages.record, incident_id)
        if found is None or record is None:
            return render(request, "missing.html", viewer, 404, title="No such incident", incident_id=incident_id)
        at = unstamp(found["checked_at"])
        checked = await _check(service, orjson.dumps(record), at, single=True)
        lines: list[str] | None = None
        finding: Finding | None = None
        for result in checked.results:
            for f in result.findings:
                if f.rule_id == rule and f.subject == subject:
                    finding = f
        if finding is not None:
            lines = _explain_lines(service, finding, None if viewer.reads_log else record.get("narrative"))
        context: dict[str, Any] = {
            "title": f"Why {rule} fired",
            "incident_id": incident_id,
            "rule": rule,
            "subject": subject,
            "lines": lines,
            "log_kept": settings.store_narrative,
            "checked_at": human_time(at.isoformat(), utc_now(), zone),
        }
        return render(request, "explain.html", viewer, **context)

    # -- checking a record ---------------------------------------------------------------------

    @app.get("/check", include_in_schema=False)
    async def check_form(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        return render(request, "check.html", viewer, title="Check a record", text="", result=None, errors=[])

    @app.post("/check", include_in_schema=False)
    async def check_record(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        if not viewer.may("check"):
            return refused(request, viewer, f"The {viewer.role} role cannot check records.")
        fields = await form_of(request, viewer)
        if fields is None:
            return csrf_refused(request, viewer)
        upload = fields.get("upload")
        body = b""
        if isinstance(upload, UploadFile) and upload.filename:
            body = await upload.read()
        if not body.strip():
            body = str(fields.get("record", "")).encode()
        if not body.strip():
            errors = [{"where": "the form", "message": "paste an incident (JSON) or choose a file"}]
            return render(
                request, "check.html", viewer, 422, title="Check a record", text="", result=None, errors=errors
            )
        now = utc_now()
        checked = await _check(service, body, now, single=False)
        errors = [
            {"where": where, "message": (f"{p.field}: " if p.field else "") + p.message}
            for where, problems in checked.rejected
            for p in problems
        ]
        entries = await run_in_threadpool(service.store.exceptions, [r.incident_id for r in checked.results])
        results, excepted = Register(entries, settings.policy).split(checked.results, now)
        doc = orjson.loads(
            json_document(service.ruleset, results, [], now, warnings=checked.warnings, excepted=excepted)
        )
        narratives = {i.incident_id: i.narrative for i in checked.incidents}
        incidents = []
        for r in results:
            log = narratives.get(r.incident_id)
            hidden = None if viewer.reads_log else log
            findings = [
                {
                    **f.to_dict(),
                    "message": f.message if viewer.reads_log else _masked(service, f, now, log),
                    "quote": f.quote if viewer.reads_log else None,
                    "explain": _explain_lines(service, f, hidden),
                }
                for f in r.findings
            ]
            decisions = [d for d in doc["decisions"] if d["incident_id"] == r.incident_id]
            incidents.append(
                {
                    "incident_id": r.incident_id,
                    "findings": findings,
                    "decisions": _decision_rows(decisions, now, now, zone),
                    "excepted": [e for e in doc["excepted"] if e["incident_id"] == r.incident_id],
                    "log_withheld": bool(log) and not viewer.reads_log,
                }
            )
        text = body.decode("utf-8", "replace") if viewer.reads_log else ""
        status = 422 if errors and not incidents else 200
        return render(
            request,
            "check.html",
            viewer,
            status,
            title="Check a record",
            text=text,
            result={"incidents": incidents, "as_of": human_time(now.isoformat(), now, zone)},
            errors=errors,
            warnings=checked.warnings,
        )

    # -- accepting an exception ----------------------------------------------------------------

    def acceptance_refusal(viewer: Viewer, rule_id: str) -> str | None:
        found = service.ruleset.get(rule_id)
        if found is None:
            return f"There is no rule {rule_id!r}."
        allowed = settings.policy.allowed(found.model.area)
        if not viewer.may("accept") or viewer.role not in allowed:
            words = AREA_WORDS.get(found.model.area, found.model.area)
            return (
                f"The {viewer.role} role may not accept a finding in the {words} area: this force allows only "
                f"{', '.join(allowed)}. Ask one of them to look at it."
            )
        return None

    async def accept_context(incident_id: str, rule_id: str, subject: str, viewer: Viewer) -> dict[str, Any] | None:
        found = await run_in_threadpool(service.store.incident, incident_id)
        if found is None:
            return None
        finding = next(
            (f for f in found["document"]["findings"] if f["rule_id"] == rule_id and f["subject"] == subject), None
        )
        if finding is None:
            return None
        if not viewer.reads_log:
            record = await run_in_threadpool(pages.record, incident_id)
            finding = (await log_free([finding], record, unstamp(found["checked_at"])))[0]
        today = utc_now().astimezone(EXPIRY_ZONE).date()
        return {
            "title": "Accept an exception",
            "incident_id": incident_id,
            "finding": finding,
            "today": today.isoformat(),
            "default_expiry": (today + timedelta(days=28)).isoformat(),
        }

    @app.get("/exceptions/new", include_in_schema=False)
    async def accept_form(request: Request, incident: str = "", rule: str = "", subject: str = "") -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        if not viewer.may("read"):
            return refused(request, viewer, f"The {viewer.role} role cannot read stored incidents.")
        context = await accept_context(incident, rule, subject, viewer)
        if context is None:
            return render(request, "missing.html", viewer, 404, title="No such finding", incident_id=incident)
        reason = acceptance_refusal(viewer, rule)
        if reason is not None:
            return refused(request, viewer, reason)
        values = {"reason": "", "accepted_by": "", "expires_on": context["default_expiry"], "expires_at": ""}
        return render(request, "accept.html", viewer, values=values, errors={}, **context)

    @app.post("/exceptions", include_in_schema=False)
    async def accept(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        fields = await form_of(request, viewer)
        if fields is None:
            return csrf_refused(request, viewer)
        incident_id, rule_id, subject = (str(fields.get(k, "")) for k in ("incident", "rule", "subject"))
        reason_refused = acceptance_refusal(viewer, rule_id)
        if reason_refused is not None:
            return refused(request, viewer, reason_refused)
        context = await accept_context(incident_id, rule_id, subject, viewer)
        if context is None:
            return render(request, "missing.html", viewer, 404, title="No such finding", incident_id=incident_id)
        values = {k: str(fields.get(k, "")).strip() for k in ("reason", "accepted_by", "expires_on", "expires_at")}
        errors: dict[str, str] = {}
        expires: date | datetime | None = None
        try:
            day = date.fromisoformat(values["expires_on"])
            if values["expires_at"]:
                clock = time.fromisoformat(values["expires_at"])
                expires = datetime.combine(day, clock, tzinfo=EXPIRY_ZONE)
            else:
                expires = day
        except ValueError:
            errors["expires_on"] = "Give the day it expires (and, if you wish, the time), e.g. 2025-03-01 and 17:00."
        now = utc_now()
        entry: Entry | None = None
        if expires is not None:
            try:
                entry = Entry(
                    rule=rule_id,
                    incident=incident_id,
                    subject=subject,
                    reason=values["reason"],
                    accepted_by_role=viewer.role,
                    accepted_by=values["accepted_by"],
                    accepted_at=now,
                    expires=expires,
                )
            except ValidationError as exc:
                for e in exc.errors():
                    name = {"expires": "expires_on"}.get(dotted(e["loc"]), dotted(e["loc"]))
                    errors[name] = _plain_error(name, error_text(e))
        if entry is not None:
            for name, message in check_entry(entry, service.ruleset, settings.policy):
                errors[{"expires": "expires_on"}.get(name, name)] = message
            if entry.expires_at <= now:
                errors["expires_on"] = "That time has already passed: an exception must expire in the future."
        if errors or entry is None:
            return render(request, "accept.html", viewer, 422, values=values, errors=errors, **context)
        entry_id = await run_in_threadpool(service.store.add_exception, entry, viewer.name, viewer.role)
        return RedirectResponse(f"/incidents/{quote(incident_id, safe='')}?accepted={entry_id}#exceptions", 303)

    # -- the rules -----------------------------------------------------------------------------

    @app.get("/rules", include_in_schema=False)
    async def rules(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        listed = [r.model for r in service.ruleset.rules]
        return render(request, "rules.html", viewer, title="Rules", rules=listed, digest=service.ruleset.digest)

    @app.get("/rules/{rule_id}", include_in_schema=False)
    async def rule(request: Request, rule_id: str) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return to_sign_in(request)
        found = service.ruleset.get(rule_id.upper())
        if found is None:
            return render(request, "missing.html", viewer, 404, title="No such rule", incident_id=None)
        text = rule_text(service.ruleset, found)
        return render(request, "rule.html", viewer, title=f"Rule {found.model.id}", model=found.model, text=text)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    """`14:22 tomorrow`: a stored time for a person, in UK time."""
    if not iso:
        return ""
    return human_time(str(iso), utc_now(), LONDON)


def _local(target: str) -> str:
    """A redirect target on this site only: a path, never `//host` or a full URL."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    """Whether a POST came from this site (the Origin header, or else the Referer, names this host)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # no header (older clients, privacy settings): the CSRF token still decides
    host = request.headers.get("host", "")
    rest = origin.split("://", 1)[-1]
    return rest.split("/", 1)[0] == host


def _set_cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


async def _check(service: Service, body: bytes, at: datetime, single: bool) -> Checked:
    future = service.workers.check(body, at, service.settings.timezone, single)
    return await asyncio.wrap_future(future)


def _explain_lines(service: Service, finding: Finding, narrative: str | None) -> list[str]:
    """Each condition of the rule with the value it saw; the log's words withheld when `narrative` is given."""
    rule = service.ruleset.get(finding.rule_id)
    if rule is None:
        return []
    lines = fired_conditions(rule, finding.facts)
    if narrative is None:
        return lines
    pieces = log_pieces(finding.facts)
    return [without_log(line, pieces, narrative) for line in lines]


def _masked(service: Service, finding: Finding, as_of: datetime, narrative: str | None) -> str:
    """The finding's message written again with the log's words withheld, as the service stores it."""
    text = service.messages.message(finding, as_of, log_mask)
    return without_log(text, log_pieces(finding.facts), narrative)


def _decision_rows(decisions: list[dict[str, Any]], now: datetime, judged: datetime, zone: Any) -> list[dict[str, Any]]:
    out = []
    for d in decisions:
        open_ = d["decision"] in ("crime", "n100", "review") and not d["recorded"]
        out.append({**d, "open": open_, "countdown": countdown(d["deadline"], now, zone) if open_ else None})
    return out


def _exception_row(entry_id: str, e: Entry, now: datetime, zone: Any) -> dict[str, Any]:
    return {
        "id": entry_id,
        "rule": e.rule,
        "subject": e.subject,
        "reason": e.reason,
        "role": e.accepted_by_role,
        "by": e.accepted_by,
        "accepted": human_time(e.accepted_at.isoformat(), now, zone) if e.accepted_at else "",
        "expires": human_time(e.expires_at.isoformat(), now, zone),
        "in_force": e.expires_at > now,
    }


def _plain_error(name: str, message: str) -> str:
    words = {
        "reason": "Say why the finding is accepted (at least 3 characters).",
        "accepted_by": "Give your name or number.",
    }
    if name in words and ("at least" in message or "missing" in message):
        return words[name]
    return message
