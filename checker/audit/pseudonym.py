"""Keyed pseudonyms for ids in report files (HMAC-SHA256), so a report can leave the force.

Incident ids are pseudonymised on their own, so one incident keeps the same pseudonym in every
report made with the same key. Record, disclosure and victim ids are pseudonymised within their
incident: "V1" or "D1" recur in every incident and must not look like one person across the batch.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from checker.core.errors import CheckerError, Problem
from checker.core.files import refuse_device

KEY_ENV = "CRIMECHECK_PSEUDONYM_KEY"
PREFIX = "P-"
DIGITS = 16  # hex digits kept: 64 bits, so a million ids collide with odds of about 1 in 37 million
# Ids are guessable (INC-2025-000123), so only the key protects them: 32 random bytes, written as
# hex by `crimecheck keygen`. A passphrase or a repeated pattern is refused: random bytes have many
# distinct values (32 random bytes with fewer than 20 distinct values: odds below 1 in 10^9).
MIN_KEY_BYTES = 32
MIN_DISTINCT_BYTES = 20
_HEX = re.compile(r"[0-9a-fA-F]+")
# A value quoted in a message, as repr() writes it: an id, or a value a check quotes back.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


class Pseudonymiser:
    """Replaces ids with `P-` and 16 hex digits of HMAC-SHA256 under a secret key."""

    def __init__(self, key: bytes) -> None:
        problem = weak_key(key)
        if problem is not None:
            raise ValueError(problem)
        self._key = key

    def __repr__(self) -> str:
        # never let the key, or anything that lets a guess of it be checked, reach a log or a traceback
        return "Pseudonymiser()"

    def __reduce__(self) -> tuple[type[Pseudonymiser], tuple[bytes]]:
        # picklable for worker processes; the key travels only between our own processes
        return (Pseudonymiser, (self._key,))

    def _digest(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:DIGITS]

    def incident(self, incident_id: str) -> str:
        """The pseudonym of an incident id."""
        return self._digest("incident", incident_id)

    def shared(self, kind: str, value: str) -> str:
        """The pseudonym of a value that means the same in every incident, such as an officer."""
        return self._digest(kind, value)

    def local(self, incident_id: str, kind: str, value: str) -> str:
        """The pseudonym of a record, disclosure or victim id within its incident."""
        return self._digest(kind, incident_id, value)

    def ids(self, incident_id: str, records: list[str], disclosures: list[str], victims: list[str]) -> dict[str, str]:
        """Every id of one incident mapped to its pseudonym, for `scrub`."""
        out = {incident_id: self.incident(incident_id)}
        for kind, values in (("record", records), ("disclosure", disclosures), ("victim", victims)):
            for value in values:
                out.setdefault(value, self.local(incident_id, kind, value))
        return out


def scrub_quoted(text: str, table: Mapping[str, str], unknown: Callable[[str], str]) -> str:
    """Every quoted value in a message replaced: a known id by its pseudonym, anything else (an id
    that names nothing, a value a check quotes back) by `unknown(value)`. Rejection reasons quote
    what they are about (`no victim 'VIC-MARY-JONES' in this incident`), so this is every id."""

    def replace(m: re.Match[str]) -> str:
        quoted = m.group()
        value = quoted[1:-1]
        return repr(table.get(value) or unknown(value))

    return _QUOTED.sub(replace, text)


def weak_key(key: bytes) -> str | None:
    """Why a key may not be used; None when it may."""
    if len(key) < MIN_KEY_BYTES:
        return (
            f"the pseudonym key must be at least {MIN_KEY_BYTES} random bytes (make one with `crimecheck keygen FILE`)"
        )
    if len(set(key)) < MIN_DISTINCT_BYTES:
        return (
            "the pseudonym key does not look random (a passphrase or a pattern): make one with `crimecheck keygen FILE`"
        )
    return None


def new_key() -> str:
    """A new key as keygen writes it: 32 random bytes in hex, and a newline."""
    return secrets.token_hex(MIN_KEY_BYTES) + "\n"


def _decode(text: bytes, where: str) -> bytes:
    """A key as written (hex, as keygen writes it); a located error for anything else."""
    stripped = text.strip()
    try:
        decoded = stripped.decode("ascii")
    except UnicodeDecodeError:
        decoded = ""
    if not _HEX.fullmatch(decoded) or len(decoded) % 2:
        raise CheckerError(
            [Problem(f"{where}: the pseudonym key must be written in hex, as `crimecheck keygen FILE` writes it")]
        )
    return bytes.fromhex(decoded)


def scrub(text: str, table: Mapping[str, str]) -> str:
    """Replace whole-word occurrences of the ids in `table` (longest first) in free text."""
    if not text or not table:
        return text
    names = sorted((k for k in table if k), key=len, reverse=True)
    # ids contain - / . so \b is not enough: an id must not sit inside a longer run of id characters
    pattern = re.compile(r"(?<![\w\-/.])(" + "|".join(re.escape(n) for n in names) + r")(?![\w\-/])")
    return pattern.sub(lambda m: table[m.group(1)], text)


def load_key(key_file: Path | None) -> bytes:
    """The key from --key-file, else from $CRIMECHECK_PSEUDONYM_KEY; a located error when neither."""
    if key_file is not None:
        try:
            refuse_device(key_file)
            text = key_file.read_bytes()
        except OSError as exc:
            raise CheckerError([Problem(f"cannot read the key file: {exc.strerror}", file=str(key_file))]) from None
        where = f"--key-file {key_file}"
    else:
        text = os.environ.get(KEY_ENV, "").encode("utf-8")
        where = f"${KEY_ENV}"
        if not text.strip():
            raise CheckerError(
                [Problem(f"--pseudonymise needs a key: set ${KEY_ENV} or give --key-file FILE (never stored)")]
            )
    key = _decode(text, where)
    problem = weak_key(key)
    if problem is not None:
        raise CheckerError([Problem(f"{where}: {problem}")])
    return key
