"""Bearer tokens and roles: each role reaches only what it needs.

A token is 32 random bytes (URL-safe text, `cc_` in front so that it is recognisable in a leak
scan); only its SHA-256 is kept, in a token file or in the database. Roles:

- `system`: the records system. Checks incidents and pushes their versions; reads the rules.
- `supervisor`: checks incidents, reads the queue, stored results, exceptions and rules; accepts
  exceptions only where the force's policy names supervisors (by default nowhere).
- `registrar`: what a supervisor reads; accepts nothing.
- `FCR`, `DFCR`, `DDM`: the Force Crime Registrar, a deputy and the designated decision makers;
  what a supervisor reads, and they accept exceptions where the policy allows their role.

The audit log (who accepted which exception) is read by the registrar's office: registrar, FCR
and DFCR.

Nobody changes the rules over HTTP: they are files under review, loaded at start.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from checker.core.errors import InputError
from checker.read.yamlio import load_yaml

TokenRole = Literal["system", "supervisor", "registrar", "FCR", "DFCR", "DDM"]
ROLES: tuple[TokenRole, ...] = ("system", "supervisor", "registrar", "FCR", "DFCR", "DDM")
READERS: frozenset[str] = frozenset({"supervisor", "registrar", "FCR", "DFCR", "DDM"})
Permission = Literal["check", "push", "read", "rules", "accept", "audit"]
PERMISSIONS: dict[Permission, frozenset[str]] = {
    "check": frozenset(ROLES),
    "push": frozenset({"system"}),
    "read": READERS,  # the queue, stored results, the exceptions register
    "rules": frozenset(ROLES),
    "accept": frozenset({"FCR", "DFCR", "DDM", "supervisor"}),  # then narrowed by the force's policy
    "audit": frozenset({"registrar", "FCR", "DFCR"}),  # who accepted what: the registrar's office
}
PREFIX = "cc_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's name, role, and a short id safe to log."""

    name: str
    role: str
    digest: str

    @property
    def log_id(self) -> str:
        """Eight hex digits of the token's hash: tells tokens apart in logs without naming anyone."""
        return self.digest[:8]


def new_token() -> str:
    """A fresh random token (shown once; only its hash is kept)."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 of a token, as kept in a token file or the database."""
    return hashlib.sha256(token.encode()).hexdigest()


class _TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    role: TokenRole
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _TokenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: list[_TokenEntry]


def load_token_file(path: Path) -> dict[str, tuple[str, str]]:
    """Hashed tokens from a YAML file (`tokens: [{name, role, sha256}]`): hash -> (name, role)."""
    doc, problems = load_yaml(path)
    if doc is None:
        raise InputError(problems)
    parsed, problems = doc.validate(_TokenFile)
    if parsed is None:
        raise InputError(problems)
    out: dict[str, tuple[str, str]] = {}
    for i, t in enumerate(parsed.tokens):
        if t.sha256 in out:
            raise InputError([doc.problem(("tokens", i, "sha256"), "the same token is listed twice")])
        out[t.sha256] = (t.name, t.role)
    return out
