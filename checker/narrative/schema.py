"""The lexicon's files: rules/lexicon/<family>.yaml and _cues.yaml, as pydantic models (the
constants the screen and the loader share are in checker.narrative.constants)."""

from __future__ import annotations

import re
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from checker.core.strict import Strict

_FAMILY_NAME = re.compile(r"[a-z][a-z0-9_]*")
_OFFENCE_CODE = re.compile(r"\d{1,3}[A-Z]?")

PathPart = str | int
M = TypeVar("M", bound=BaseModel)
LinePath = tuple[PathPart, ...]


# --------------------------------------------------------------------------
# File schemas (pydantic)
# --------------------------------------------------------------------------


class PatternEntry(Strict):
    """One screening pattern. ``pattern`` may use ``{{NAME}}`` fragments."""

    pattern: str = Field(min_length=1)
    example: str = Field(min_length=1)


class FamilyFile(Strict):
    """Schema of ``rules/lexicon/<family>.yaml``."""

    family: str
    title: str = Field(min_length=1)
    offence_codes: list[str] = Field(min_length=1)
    fragments: dict[str, str | list[str]] = Field(default_factory=dict)
    patterns: list[PatternEntry] = Field(min_length=1)
    not_examples: list[str] = Field(default_factory=list)

    @field_validator("family")
    @classmethod
    def _family_name(cls, value: str) -> str:
        if not _FAMILY_NAME.fullmatch(value):
            raise ValueError("must be lower_snake_case")
        return value

    @field_validator("offence_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value: object) -> object:
        # YAML reads bare numeric codes such as ``104`` as integers.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("offence_codes")
    @classmethod
    def _codes_valid(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not _OFFENCE_CODE.fullmatch(code)]
        if bad:
            raise ValueError(f"not Home Office offence codes: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("duplicate offence codes")
        return value

    @field_validator("not_examples")
    @classmethod
    def _not_examples_nonempty(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("empty not_example")
        return value


class CueGroup(Strict):
    """A group of cue phrases that suppress a match they govern.

    A cue governs a match when it lies in the same clause (``scope: clause``) or
    sentence (``scope: sentence``), on the side given by ``direction`` and, if
    ``window_tokens`` is set, with at most that many word tokens between the cue
    and the match. ``pseudo`` lists longer phrases containing a cue that do *not*
    count as the cue (``no reason``, ``not only``).
    """

    name: str = Field(min_length=1)
    direction: Literal["before", "after", "both"] = "before"
    scope: Literal["clause", "sentence"] = "clause"
    window_tokens: int | None = Field(default=None, ge=0)
    cues: list[str] = Field(min_length=1)
    pseudo: list[str] = Field(default_factory=list)
    exempt_families: list[str] = Field(default_factory=list)
    only_families: list[str] | None = None

    @field_validator("cues", "pseudo", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: object) -> object:
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, bool):
                    raise ValueError(
                        f"item {i} is the YAML boolean {item}; quote words such as 'no', 'yes', 'on', 'off'"
                    )
        return value


class CuesFile(Strict):
    """Schema of ``rules/lexicon/_cues.yaml``."""

    max_scope_chars: int = Field(default=400, ge=50, le=5000)
    skip_questions: bool = True
    sentence_boundaries: list[str] = Field(min_length=1)
    clause_boundaries: list[str] = Field(default_factory=list)
    fragments: dict[str, str | list[str]] = Field(default_factory=dict)
    cue_groups: list[CueGroup] = Field(default_factory=list)
