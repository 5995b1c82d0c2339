"""The supervisors' page in a real Chromium against a real `crimecheck serve` on loopback.

Playwright drives the distribution's Chromium (/usr/bin/chromium; `.ci/run` installs it): sign in,
filter the queue, open an incident, check a pasted record, accept an exception and see the
finding leave the queue, see it come back when the exception expires, be refused as the wrong
role, sign out. Every view is screenshotted at 1280 and 400 px wide into tests/screenshots/
(git-ignored) and checked with axe-core (tests/vendor/axe.min.js): no serious or critical
violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from serve_support import ROOT, Server, running_server

from checker.core.times import LONDON, utc_now
from checker.serve.demo import shifted

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

FIX = ROOT / "fixtures" / "incidents"
SHOTS = ROOT / "tests" / "screenshots"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8")
WIDTHS = (1280, 400)
CONSOLE: list[str] = []  # errors and warnings the browser printed, from every page
RAPE_N100 = "INC-2025-000102"  # RN002 on N100-25-0007, a rape area finding (FCR, DFCR, DDM only)
ASB = "INC-2025-000113"  # RC003: the log mentions an assault


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("page")
    with running_server(workdir, str(workdir / "serve.db")) as s:
        now = utc_now()
        for index, path in enumerate(sorted(FIX.glob("*.json"))):
            data = shifted(json.loads(path.read_text()), now, index)
            data["version"] = 1
            answer = s.call("PUT", f"/v1/incidents/{data['incident_id']}", "system", json=data)
            assert answer.status_code == 200, answer.text
        yield s


def new_page(browser: Browser, width: int = 1280, javascript: bool = True) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda m: CONSOLE.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    return context, page


def sign_in(page: Page, server: Server, role: str) -> None:
    page.goto(server.url + "/sign-in")
    page.get_by_label("Your access token").fill(server.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it stands."""
    # evaluated through the DevTools protocol: the page's CSP (rightly) refuses an injected script tag
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE + "\n;true")
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def look(page: Page, name: str) -> None:
    """Screenshot the view (full page) and assert axe-core finds nothing serious or critical."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    refused = [m for m in CONSOLE if "Content Security Policy" in m or "Refused to" in m]
    assert refused == [], f"{name}: the browser refused something the page asked for: {refused}"
    bad = axe_violations(page)
    assert bad == [], f"{name} at {width} px: {bad}"
    # nothing is wider than the window: no sideways scrolling at phone width
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"


def queue_items(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#queue-results .item-title").all_inner_texts()]


# ------------------------------------------------------------------------------------------------


def test_sign_in_is_required_and_a_wrong_token_is_refused(browser: Browser, server: Server) -> None:
    context, page = new_page(browser)
    page.goto(server.url + "/incidents/" + RAPE_N100)
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    look(page, "sign-in")
    page.get_by_label("Your access token").fill("cc_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not known")
    page.get_by_label("Your access token").fill(server.tokens["supervisor"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Incident {RAPE_N100}")  # back where it was going
    cookie = next(c for c in context.cookies() if c["name"] == "crimecheck_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert 0 < cookie["expires"] - utc_now().timestamp() <= 10 * 3600 + 60
    context.close()


def test_the_queue_counts_sorts_and_filters_and_keeps_the_filters_on_refresh(browser: Browser, server: Server) -> None:
    for width in WIDTHS:
        context, page = new_page(browser, width)
        sign_in(page, server, "supervisor")
        expect(page.get_by_role("heading", level=1)).to_have_text("Queue: open decisions and findings")
        everything = queue_items(page)
        assert len(everything) > 10
        counts = page.locator(".counts h2").inner_text()
        assert counts.startswith(f"{len(everything)} open items")
        # sorted by deadline: overdue first, and each overdue item says so in words, not only in red
        states = page.locator("#queue-results .item").evaluate_all("els => els.map(e => e.className)")
        firsts = [s for s in states if "item-overdue" in s]
        assert states[: len(firsts)] == firsts
        overdue = page.locator("#queue-results .item-overdue .due").first.inner_text()
        assert "OVERDUE" in overdue and "overdue by" in overdue
        assert page.locator("#queue-results .due-overdue").first.evaluate("e => getComputedStyle(e).color") == (
            "rgb(164, 20, 27)"
        )
        look(page, "queue")
        page.get_by_label("Team").select_option("CID North")
        page.get_by_label("Outcome").select_option("breach")
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(r"team=CID\+North.*outcome=breach"))
        filtered = queue_items(page)
        assert 0 < len(filtered) < len(everything)
        assert all("Breach" in t for t in filtered)
        assert all("CID North" in m for m in page.locator("#queue-results .meta").all_inner_texts())
        if width == WIDTHS[0]:
            look(page, "queue-filtered")
        page.get_by_role("link", name="Refresh now").click()
        expect(page.get_by_label("Team")).to_have_value("CID North")
        assert queue_items(page) == filtered
        context.close()


def test_the_queue_refreshes_itself_in_place(browser: Browser, server: Server) -> None:
    context, page = new_page(browser)
    page.clock.install()
    sign_in(page, server, "supervisor")
    page.goto(server.url + "/?rule_area=timeliness")
    before = queue_items(page)
    page.locator("#queue-results").evaluate("e => e.setAttribute('data-old', 'yes')")
    page.clock.run_for(61_000)
    expect(page.locator("#refresh-status")).to_contain_text("Updated at")
    assert page.get_by_label("Rule area").input_value() == "timeliness"  # the form was not replaced
    assert queue_items(page) == before
    assert all("Timeliness" in m for m in page.locator("#queue-results .meta").all_inner_texts())
    # turned off, it leaves the list alone
    page.get_by_label("Refresh every minute").uncheck()
    page.locator("#refresh-status").evaluate("e => e.textContent = ''")
    page.clock.run_for(61_000)
    assert page.locator("#refresh-status").inner_text() == ""
    context.close()


def test_an_incident_shows_decisions_findings_sources_explanations_and_history(
    browser: Browser, server: Server
) -> None:
    for width in WIDTHS:
        context, page = new_page(browser, width)
        sign_in(page, server, "supervisor")
        page.get_by_role("link", name=re.compile(f"Open incident {RAPE_N100}")).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Incident {RAPE_N100}")
        decisions = page.locator("table.decisions")
        expect(decisions).to_contain_text("Record a crime (19C)")
        expect(decisions).to_contain_text("N100-25-0007 N100")
        finding = page.locator("article.finding").first
        expect(finding).to_contain_text("RN002")
        expect(finding).to_contain_text("Source: Home Office Crime Recording Rules")
        history = page.get_by_role("table").filter(has_text="Open decisions")
        expect(history).to_contain_text("stored")
        look(page, "incident")
        page.get_by_role("link", name="Explain: why RN002 found this").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Why RN002 found this on N100-25-0007")
        expect(page.locator(".conditions")).to_contain_text("is_n100")
        look(page, "explain")
        context.close()


def test_reading_works_without_javascript(browser: Browser, server: Server) -> None:
    context, page = new_page(browser, javascript=False)
    sign_in(page, server, "supervisor")
    assert len(queue_items(page)) > 10
    page.get_by_label("Rule area").select_option("cancellation")
    page.get_by_role("button", name="Apply filters").click()
    assert queue_items(page) and all("CX0" in t for t in queue_items(page))
    page.get_by_role("link", name=re.compile("Open incident")).first.click()
    expect(page.locator("article.finding").first).to_contain_text("CX0")
    expect(page.get_by_label("Refresh every minute")).to_be_hidden()  # the script's control only
    missing = page.goto(server.url + "/no-such-page")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    context.close()


def test_checking_a_pasted_record_shows_the_same_view_and_stores_nothing(browser: Browser, server: Server) -> None:
    record = json.loads((FIX / "rape-recorded-as-n100.json").read_text())
    record["incident_id"] = "INC-PASTED-1"
    for width in WIDTHS:
        context, page = new_page(browser, width)
        sign_in(page, server, "supervisor")
        page.get_by_role("link", name="Check a record").click()
        look(page, "check-form")
        page.get_by_label("Incident JSON").fill(json.dumps(record, indent=2))
        page.get_by_role("button", name="Check", exact=True).click()
        result = page.locator("section.result")
        expect(result).to_contain_text("INC-PASTED-1")
        expect(result.locator("table.decisions")).to_contain_text("Record a crime (19C)")
        expect(result.locator("article.finding")).to_contain_text("RN002")
        page.get_by_text("Explain: why RN002 found this").click()
        expect(result.locator("details.explain li").first).to_be_visible()
        look(page, "check-result")
        # a broken record is refused with the place of the problem
        page.get_by_label("Incident JSON").fill('{"incident_id": "X", "reported_at": "yesterday"}')
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("reported_at")
        context.close()
    assert server.call("GET", "/v1/incidents/INC-PASTED-1", "supervisor").status_code == 404


def test_the_log_is_withheld_from_a_role_that_may_not_read_it(browser: Browser, server: Server) -> None:
    body = (FIX / "asb-log-mentions-assault.json").read_text()
    for role, shown in (("supervisor", True), ("registrar", False)):
        context, page = new_page(browser)
        sign_in(page, server, role)
        page.goto(server.url + "/check")
        page.get_by_label("Incident JSON").fill(body)
        page.get_by_role("button", name="Check", exact=True).click()
        message = page.locator("section.result article.finding .message").first
        expect(message).to_contain_text("The incident log says")
        assert ("kicked her" in message.inner_text()) is shown
        assert ("kicked her" in page.content()) is shown  # nor echoed back in the form
        if not shown:
            expect(message).to_contain_text("[log text withheld]")
        context.close()


def accept_on(page: Page, server: Server, incident: str, rule: str) -> None:
    page.goto(server.url + "/")
    page.get_by_role("link", name=re.compile(f"Accept an exception to {rule}")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept an exception")
    assert incident in page.locator(".finding .meta").inner_text()


def test_accepting_an_exception_takes_the_finding_off_the_queue_until_it_expires(
    browser: Browser, server: Server
) -> None:
    context, page = new_page(browser)
    sign_in(page, server, "FCR")
    page.goto(server.url + "/?rule_area=rape_n100")
    assert any("RN002" in t for t in queue_items(page))
    accept_on(page, server, RAPE_N100, "RN002")
    for width in (400, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        look(page, "accept")
    # a time already past is refused by the server, with the field named
    page.get_by_label("Reason").fill("The victim later confirmed no offence took place; see the FCR's note.")
    page.get_by_label("Your name or number").fill("FCR 1001")
    page.get_by_label("Expires on").fill(datetime.now(LONDON).date().isoformat())
    page.get_by_label("At (optional)").fill("00:00:00")
    page.get_by_role("button", name="Accept the exception").click()
    expect(page.get_by_role("alert")).to_contain_text("already passed")
    expect(page.get_by_label("Expires on")).to_have_attribute("aria-invalid", "true")
    # expiring 25 seconds from now, UK time
    expiry = (utc_now() + timedelta(seconds=25)).astimezone(LONDON)
    page.get_by_label("Expires on").fill(expiry.date().isoformat())
    page.get_by_label("At (optional)").fill(expiry.strftime("%H:%M:%S"))
    page.get_by_role("button", name="Accept the exception").click()
    expect(page.get_by_role("status")).to_contain_text("accepted: the finding has left the queue")
    expect(page.locator("#exceptions")).to_contain_text("In force")
    look(page, "incident-excepted")
    page.goto(server.url + "/?rule_area=rape_n100")
    assert not any("RN002" in t for t in queue_items(page))
    audit = server.call("GET", "/v1/audit-log", "FCR").json()["entries"]
    assert audit[-1]["detail"]["accepted_by"] == "FCR 1001" and audit[-1]["role"] == "FCR"
    # once the exception has expired, the finding is back
    wait = (expiry - datetime.now(LONDON)).total_seconds() + 1
    page.wait_for_timeout(max(wait, 0) * 1000)
    page.reload()
    assert any("RN002" in t for t in queue_items(page))
    page.goto(server.url + f"/incidents/{RAPE_N100}")
    expect(page.locator("#exceptions")).to_contain_text("Expired")
    context.close()


def test_a_role_the_force_does_not_allow_is_refused_with_the_reason(browser: Browser, server: Server) -> None:
    for width in WIDTHS:
        context, page = new_page(browser, width)
        sign_in(page, server, "supervisor")
        accept_link = page.get_by_role("link", name=re.compile("Accept an exception to RN002")).first
        accept_link.click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("The supervisor role may not accept a finding in the Rape and N100 area")
        expect(alert).to_contain_text("FCR, DFCR, DDM")
        look(page, "refused")
        # the form sent anyway is refused by the server too
        token = page.evaluate("document.querySelector('input[name=csrf]').value")
        sent = page.request.post(
            server.url + "/exceptions",
            form={
                "csrf": token,
                "incident": RAPE_N100,
                "rule": "RN002",
                "subject": "N100-25-0007",
                "reason": "forced",
                "accepted_by": "PS 1",
                "expires_on": "2099-01-01",
                "expires_at": "",
            },
            headers={"Origin": server.url},
        )
        assert sent.status == 403 and "may not accept" in sent.text()
        context.close()
    # the records system's token may check and read the rules, not the queue
    context, page = new_page(browser)
    sign_in(page, server, "system")
    expect(page).to_have_url(re.compile("/check$"))
    page.goto(server.url + "/")
    expect(page.get_by_role("alert")).to_contain_text("cannot read the queue")
    context.close()


def test_rules_list_and_explain_as_the_command_line(browser: Browser, server: Server) -> None:
    expected = server.call("GET", "/v1/rules/RN002", "supervisor").json()["explain"]
    for width in WIDTHS:
        context, page = new_page(browser, width)
        sign_in(page, server, "supervisor")
        page.get_by_role("link", name="Rules").click()
        expect(page.get_by_role("link", name="RN002")).to_be_visible()
        look(page, "rules")
        page.get_by_role("link", name="RN002").click()
        assert page.locator("pre.explain-text").inner_text().strip() == expected.strip()
        look(page, "rule")
        context.close()


def test_forms_need_their_csrf_token_and_this_origin(browser: Browser, server: Server) -> None:
    context, page = new_page(browser)
    sign_in(page, server, "FCR")
    headers = page.goto(server.url + "/")
    assert headers is not None
    csp = headers.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.locator("script:not([src])").count() == 0  # no inline script anywhere
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    jar = {"crimecheck_session": cookies["crimecheck_session"]}
    record = (FIX / "rape-recorded-as-n100.json").read_text()
    with httpx.Client(base_url=server.url, cookies=jar) as client:
        assert client.post("/check", data={"record": record}).status_code == 403  # no token
        assert client.post("/check", data={"record": record, "csrf": "guess"}).status_code == 403
        token = page.evaluate("document.querySelector('input[name=csrf]').value")
        evil = client.post("/check", data={"record": record, "csrf": token}, headers={"Origin": "http://evil.test"})
        assert evil.status_code == 403
        assert client.post("/check", data={"record": record, "csrf": token}).status_code == 200
    context.close()


def test_sign_out_ends_the_session(browser: Browser, server: Server) -> None:
    context, page = new_page(browser)
    sign_in(page, server, "supervisor")
    old = next(c["value"] for c in context.cookies() if c["name"] == "crimecheck_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile("/sign-in"))
    # the old cookie is dead on the server, not only forgotten by the browser
    gone = httpx.get(server.url + "/", cookies={"crimecheck_session": old}, follow_redirects=False)
    assert gone.status_code == 303 and "/sign-in" in gone.headers["location"]
    # a hand-edited address is still a page, not the API's JSON error
    for odd in ("abc", "99999999999999999999999", ""):
        answer = httpx.get(server.url + "/sign-in", params={"out": odd})
        assert answer.status_code == 200 and "text/html" in answer.headers["content-type"], odd
        assert ("You are signed out." in answer.text) == bool(odd), odd
    context.close()


def test_the_keyboard_reaches_everything_from_a_skip_link(browser: Browser, server: Server) -> None:
    context, page = new_page(browser)
    sign_in(page, server, "supervisor")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-team"  # the first filter, past the header
    # a visible focus ring on links
    page.get_by_role("link", name=re.compile("Open incident")).first.focus()
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"
    context.close()


@pytest.fixture(scope="module")
def logging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service whose force keeps incident logs (--store-narrative), with the ASB incident pushed."""
    workdir = tmp_path_factory.mktemp("page-logs")
    with running_server(workdir, str(workdir / "serve.db"), "--store-narrative") as s:
        data = shifted(json.loads((FIX / "asb-log-mentions-assault.json").read_text()), utc_now(), 0)
        data["version"] = 1
        assert s.call("PUT", f"/v1/incidents/{ASB}", "system", json=data).status_code == 200
        yield s


def test_a_kept_log_is_shown_only_to_the_roles_that_may_read_it(browser: Browser, logging_server: Server) -> None:
    for role, shown in (("supervisor", True), ("registrar", False)):
        context, page = new_page(browser)
        sign_in(page, logging_server, role)
        page.goto(logging_server.url + f"/incidents/{ASB}")
        message = page.locator("article.finding .message").first
        expect(message).to_contain_text("The incident log says")
        assert ("kicked her" in page.content()) is shown
        expect(page.get_by_role("heading", name="Incident log", exact=True)).to_have_count(1 if shown else 0)
        if not shown:
            expect(message).to_contain_text("[log text withheld]")
            page.get_by_role("link", name="Explain: why RC003 found this").click()
            expect(page.locator(".conditions")).to_be_visible()
            assert "kicked" not in page.content()
        context.close()


def test_over_https_the_session_cookie_is_secure_and_host_only(server: Server) -> None:
    # as a TLS proxy on this machine would send it (uvicorn trusts X-Forwarded-Proto from loopback)
    https = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=server.url, headers=https) as client:
        form = client.get("/sign-in")
        signin_cookie = form.headers["set-cookie"]
        assert "Secure" in signin_cookie and "HttpOnly" in signin_cookie and "SameSite=strict" in signin_cookie
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        # a Secure cookie is not sent back over plain http, so the test sends it by hand
        pre = signin_cookie.split(";", 1)[0]
        sent = {"csrf": csrf.group(1), "token": server.tokens["supervisor"], "next": "/"}
        answer = client.post("/sign-in", data=sent, headers={"Cookie": pre})
        assert answer.status_code == 303, answer.text
        cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
        session = next(c for c in cookies if c.startswith("__Host-crimecheck_session="))
        assert all(part in session for part in ("Secure", "HttpOnly", "SameSite=strict", "Path=/", "Max-Age=36000"))
        assert "Domain" not in session
