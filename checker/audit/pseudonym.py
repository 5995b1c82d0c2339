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
from collections.abc import Mapping
from pathlib import Path

from checker.core.errors import CheckerError, Problem

KEY_ENV = "CRIMECHECK_PSEUDONYM_KEY"
PREFIX = "P-"
DIGITS = 16  # hex digits kept: 64 bits, so a million ids collide with odds of about 1 in 37 million
MIN_KEY_BYTES = 16  # ids are guessable (INC-2025-000123), so only the key's strength protects them


class Pseudonymiser:
    """Replaces ids with `P-` and 16 hex digits of HMAC-SHA256 under a secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        # never let the key reach a log or a traceback through repr()
        return f"Pseudonymiser(key_id={self.key_id})"

    def __reduce__(self) -> tuple[type[Pseudonymiser], tuple[bytes]]:
        # picklable for worker processes; the key travels only between our own processes
        return (Pseudonymiser, (self._key,))

    def _digest(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:DIGITS]

    @property
    def key_id(self) -> str:
        """A fingerprint of the key (not the key): equal in two reports made with the same key."""
        return hmac.new(self._key, b"crimecheck key id", hashlib.sha256).hexdigest()[:8]

    def incident(self, incident_id: str) -> str:
        """The pseudonym of an incident id."""
        return self._digest("incident", incident_id)

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
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise CheckerError([Problem(f"cannot read the key file: {exc.strerror}", file=str(key_file))]) from None
        where = f"--key-file {key_file}"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode("utf-8")
        where = f"${KEY_ENV}"
        if not key:
            raise CheckerError(
                [Problem(f"--pseudonymise needs a key: set ${KEY_ENV} or give --key-file FILE (never stored)")]
            )
    if len(key) < MIN_KEY_BYTES:
        raise CheckerError([Problem(f"{where}: the pseudonym key must be at least {MIN_KEY_BYTES} bytes")])
    return key
