"""What the supervisors' page keeps beside the API's tables: sessions, and the history of checks.

It runs on the service's own `Store` (same connections, same two databases, same migrations:
`0002_pages.sql`), so that it works on SQLite and on PostgreSQL behind a load balancer alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from checker.serve.store import NO_VERSION, Store, Stored, stamp

OPEN_DECISIONS = ("crime", "n100", "review")  # a decision still to act on while nothing is recorded


@dataclass(frozen=True)
class Session:
    """A signed-in person: the token's name and role, the token's hash, and the CSRF secret of its forms."""

    name: str
    role: str
    token_sha256: str
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class CheckEntry:
    """One check of a pushed version of an incident, as the incident page lists it."""

    checked_at: str
    version: int | None
    updated_at: str | None
    status: str
    breaches: int
    risks: int
    reviews: int
    open_decisions: int
    ruleset: str


def session_key(cookie: str) -> str:
    """The SHA-256 of a session cookie: the database never holds the cookie itself."""
    return hashlib.sha256(cookie.encode()).hexdigest()


class PageStore:
    """Sessions and check history on the service's store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- sessions ------------------------------------------------------------------------------

    def open_session(self, cookie: str, session: Session, now: datetime) -> None:
        """Keep a new session (and forget the expired ones)."""
        with self.store._transaction():
            self.store._rows("DELETE FROM page_sessions WHERE expires_at <= ?", (stamp(now),))
            self.store._rows(
                "INSERT INTO page_sessions (session_sha256, token_sha256, name, role, csrf, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session_key(cookie),
                    session.token_sha256,
                    session.name,
                    session.role,
                    session.csrf,
                    stamp(now),
                    session.expires_at,
                ),
            )

    def session(self, cookie: str, now: datetime) -> Session | None:
        """The session of a cookie, unless it has expired."""
        rows = self.store._rows(
            "SELECT name, role, token_sha256, csrf, expires_at FROM page_sessions "
            "WHERE session_sha256 = ? AND expires_at > ?",
            (session_key(cookie), stamp(now)),
        )
        if not rows:
            return None
        name, role, token, csrf, expires = rows[0]
        return Session(str(name), str(role), str(token), str(csrf), str(expires))

    def close_session(self, cookie: str) -> None:
        """Forget a session (signing out)."""
        with self.store._transaction():
            self.store._rows("DELETE FROM page_sessions WHERE session_sha256 = ?", (session_key(cookie),))

    # -- history -------------------------------------------------------------------------------

    def add_check(self, incident_id: str, at: datetime, key: Stored, status: str, document: dict[str, Any]) -> None:
        """Note one check of a pushed version, with the counts of what it found."""
        outcomes = [f["outcome"] for f in document.get("findings", [])]
        decisions = document.get("decisions", [])
        open_decisions = sum(1 for d in decisions if d["decision"] in OPEN_DECISIONS and not d["recorded"])
        with self.store._transaction():
            self.store._rows(
                "INSERT INTO check_history (incident_id, checked_at, version_key, updated_key, status, breaches, "
                "risks, reviews, open_decisions, ruleset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    stamp(at),
                    key.version_key,
                    key.updated_key,
                    status,
                    outcomes.count("breach"),
                    outcomes.count("risk"),
                    outcomes.count("needs_review"),
                    open_decisions,
                    str(document.get("ruleset", {}).get("hash", "")),
                ),
            )

    def history(self, incident_id: str, limit: int = 50) -> list[CheckEntry]:
        """The checks of an incident, newest first."""
        rows = self.store._rows(
            "SELECT checked_at, version_key, updated_key, status, breaches, risks, reviews, open_decisions, ruleset "
            "FROM check_history WHERE incident_id = ? ORDER BY id DESC LIMIT ?",
            (incident_id, limit),
        )
        return [
            CheckEntry(
                checked_at=str(at),
                version=None if int(version) == NO_VERSION else int(version),
                updated_at=str(updated) or None,
                status=str(status),
                breaches=int(b),
                risks=int(r),
                reviews=int(n),
                open_decisions=int(o),
                ruleset=str(rs),
            )
            for at, version, updated, status, b, r, n, o, rs in rows
        ]

    def record(self, incident_id: str) -> dict[str, Any] | None:
        """The stored version of an incident as the records system sent it (its log only if the force keeps logs)."""
        rows = self.store._rows("SELECT record FROM incidents WHERE incident_id = ?", (incident_id,))
        if not rows:
            return None
        record: dict[str, Any] = orjson.loads(rows[0][0])
        return record

    # -- filters -------------------------------------------------------------------------------

    def choices(self) -> dict[str, list[str]]:
        """The teams and areas of the stored incidents, for the queue's filters."""
        out: dict[str, list[str]] = {}
        for column in ("team", "area"):
            rows = self.store._rows(f"SELECT DISTINCT {column} FROM incidents WHERE {column} IS NOT NULL")
            out[column] = sorted(str(r[0]) for r in rows)
        return out
