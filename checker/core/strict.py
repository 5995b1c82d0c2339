"""The one base model of every file crimecheck reads as configuration (rules, reference tables, the
lexicon, CSV mappings): an unknown key is an error, not ignored, and a loaded value is frozen.

The incident record itself (checker.core.models) is deliberately not strict: a force's export may
carry fields the contract does not name, which are reported as warnings instead of refusing it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors; values are frozen; a field may be given by its name or its alias."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
