"""The versioned JSON document of a check (`crimecheck check --format json`, the service's
`POST /v1/check`): rule set, counts, findings, decisions, rejected items, warnings, and the
findings an exception in the register holds back, listed apart."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson

from checker.check.checker import Result
from checker.check.exceptions import Excepted
from checker.core.errors import CheckerError, Problem
from checker.rules.loader import RuleSet

SCHEMA_VERSION = "1.0"


def ruleset_info(ruleset: RuleSet) -> dict[str, Any]:
    """What identifies the rules a result came from."""
    return {
        "hash": ruleset.digest,
        "editions": ruleset.editions,
        "rules": len(ruleset.active),
        "reference": str(ruleset.reference.directory),
    }


# What a list of the document keeps in memory before going on in a temporary file: a check of a
# large batch writes its document in bounded memory (results are not kept until the end).
IN_MEMORY = 4 * 1024 * 1024
CHUNK = 1024 * 1024  # what `Document.chunks` gives at a time, at most (about)
_INDENT_2 = orjson.OPT_INDENT_2
SECTIONS = ("findings", "decisions", "rejected", "warnings", "excepted")  # the document's lists, in order


class _Section:
    """One list of the document, each item written as it comes, indented as the document has it."""

    def __init__(self) -> None:
        self.count = 0
        self._file = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 (closed by Document)

    def add(self, value: Any) -> None:
        # JSON strings never hold a raw line end, so every line end is the layout's own
        item = orjson.dumps(value, option=_INDENT_2).replace(b"\n", b"\n    ")
        try:
            self._file.write((b",\n    " if self.count else b"\n    ") + item)
        except OSError as exc:  # past IN_MEMORY the list is on the temporary folder's disk
            where = tempfile.gettempdir()
            why = f"cannot keep the JSON document's lists in {where}: {exc.strerror}"
            raise CheckerError([Problem(f"{why}; make room there, or set TMPDIR to another folder")]) from None
        self.count += 1

    def chunks(self) -> Iterator[bytes]:
        if not self.count:
            yield b"[]"
            return
        yield b"["
        self._file.seek(0)
        while chunk := self._file.read(CHUNK):
            yield chunk
        yield b"\n  ]"

    def close(self) -> None:
        self._file.close()


class Document:
    """The versioned JSON output of `check`, written as results come: `add` each result (and each
    rejected item, warning and excepted finding), then `chunks` gives the document's bytes, the same
    as one `orjson.dumps` of it with two-space indentation."""

    def __init__(self, ruleset: RuleSet, as_of: datetime, explain: bool = False) -> None:
        self._head = {"schema_version": SCHEMA_VERSION, "as_of": as_of.isoformat(), "ruleset": ruleset_info(ruleset)}
        self._explain = explain
        self._sections = {name: _Section() for name in SECTIONS}
        self.checked = 0

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for section in self._sections.values():
            section.close()

    def add(self, result: Result) -> None:
        """One checked incident's findings and decisions."""
        self.checked += 1
        findings, decisions = self._sections["findings"], self._sections["decisions"]
        for f in result.findings:
            findings.add(f.to_dict(self._explain))
        for d in result.decisions:
            decisions.add(d.to_dict())

    def reject(self, where: str, problems: Sequence[Problem]) -> None:
        """An item that was not checked, and why."""
        self._sections["rejected"].add({"where": where, "errors": [problem_dict(p) for p in problems]})

    def warn(self, warnings: Iterable[str]) -> None:
        """Warnings about an item that was checked."""
        for w in warnings:
            self._sections["warnings"].add(w)

    def except_(self, excepted: Iterable[Excepted]) -> None:
        """Findings an accepted exception holds back."""
        for e in excepted:
            self._sections["excepted"].add(e.to_dict(self._explain))

    def chunks(self) -> Iterator[bytes]:
        """The document's bytes, in pieces of about `CHUNK` bytes at most."""
        sections = self._sections
        rejected = sections["rejected"].count
        counts = {
            "read": self.checked + rejected,
            "checked": self.checked,
            "rejected": rejected,
            "findings": sections["findings"].count,
            "excepted": sections["excepted"].count,
        }
        head = {**self._head, "counts": counts}
        yield b"{"
        for key, value in head.items():
            # a member of the top object: its value's own lines indented one level more
            yield b"\n  " + orjson.dumps(key) + b": " + orjson.dumps(value, option=_INDENT_2).replace(b"\n", b"\n  ")
            yield b","
        for i, name in enumerate(SECTIONS):
            yield b"\n  " + orjson.dumps(name) + b": "
            yield from sections[name].chunks()
            if i < len(SECTIONS) - 1:
                yield b","
        yield b"\n}\n"


def json_document(
    ruleset: RuleSet,
    results: list[Result],
    rejected: list[tuple[str, list[Problem]]],
    as_of: datetime,
    explain: bool = False,
    warnings: list[str] | None = None,
    excepted: Sequence[Excepted] = (),
) -> bytes:
    """The versioned JSON output of `check`, of results already at hand (a request's)."""
    with Document(ruleset, as_of, explain) as doc:
        for r in results:
            doc.add(r)
        for where, problems in rejected:
            doc.reject(where, problems)
        doc.warn(warnings or ())
        doc.except_(excepted)
        return b"".join(doc.chunks())


def problem_dict(p: Problem) -> dict[str, Any]:
    """A located problem as the document (and the service's error bodies) write it."""
    return {"file": p.file, "line": p.line, "incident_id": p.record, "field": p.field, "message": p.message}
