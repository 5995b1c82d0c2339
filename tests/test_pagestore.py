"""The page's tables (sessions, history of checks) on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from serve_support import postgres_database

from checker.serve.pagestore import PageStore, Session, session_key
from checker.serve.store import Store, Stored, stamp

NOW = datetime(2025, 1, 14, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(str(tmp_path / "page.db"))
        s.migrate()
        yield s
        s.close()
        return
    with postgres_database() as url:
        s = Store(url)
        s.migrate()
        yield s
        s.close()


def session(role: str = "supervisor", hours: int = 10) -> Session:
    return Session("ps-1234", role, "ab" * 32, "csrf-secret", stamp(NOW + timedelta(hours=hours)))


def test_a_session_is_found_by_its_cookie_until_it_expires_or_is_closed(store: Store) -> None:
    pages = PageStore(store)
    pages.open_session("cookie-1", session(), NOW)
    found = pages.session("cookie-1", NOW + timedelta(hours=9))
    assert found is not None and (found.name, found.role, found.csrf) == ("ps-1234", "supervisor", "csrf-secret")
    assert pages.session("cookie-1", NOW + timedelta(hours=10)) is None  # expired
    assert pages.session("cookie-2", NOW) is None
    pages.close_session("cookie-1")
    assert pages.session("cookie-1", NOW) is None
    # only the cookie's hash is kept
    rows = store._rows("SELECT session_sha256 FROM page_sessions")
    assert all(r[0] != "cookie-1" for r in rows)


def test_opening_a_session_forgets_the_expired_ones(store: Store) -> None:
    pages = PageStore(store)
    pages.open_session("old", session(hours=1), NOW)
    pages.open_session("new", session(), NOW + timedelta(hours=2))
    keys = {r[0] for r in store._rows("SELECT session_sha256 FROM page_sessions")}
    assert keys == {session_key("new")}


def test_the_history_lists_each_check_newest_first_with_its_counts(store: Store) -> None:
    pages = PageStore(store)
    doc = {
        "ruleset": {"hash": "582e6f5bbd9d127b"},
        "findings": [{"outcome": "breach"}, {"outcome": "breach"}, {"outcome": "needs_review"}],
        "decisions": [
            {"decision": "crime", "recorded": []},
            {"decision": "crime", "recorded": ["CRN-1 8N"]},
            {"decision": "no_crime", "recorded": []},
        ],
    }
    pages.add_check("INC-1", NOW, Stored(1, ""), "stored", doc)
    pages.add_check("INC-1", NOW + timedelta(minutes=5), Stored(-1, stamp(NOW)), "older_ignored", {"findings": []})
    pages.add_check("INC-2", NOW, Stored(1, ""), "stored", doc)
    first, second = pages.history("INC-1")
    assert (first.status, first.version, first.updated_at) == ("older_ignored", None, stamp(NOW))
    assert (second.version, second.breaches, second.risks, second.reviews) == (1, 2, 0, 1)
    assert (second.open_decisions, second.ruleset) == (1, "582e6f5bbd9d127b")
    assert pages.history("INC-3") == []
