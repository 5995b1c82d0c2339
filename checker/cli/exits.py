"""Exit codes and --fail-on levels, shared by every command."""

from __future__ import annotations

EXIT_OK = 0  # checked, nothing at or above --fail-on
EXIT_FINDINGS = 1  # at least one finding at or above --fail-on (default: a breach)
EXIT_ERROR = 2  # input, rule or usage error, or an internal error: never a silent 0

FAIL_ON = {
    "breach": ("breach",),
    "risk": ("breach", "risk"),
    "needs_review": ("breach", "risk", "needs_review"),
    "never": (),
}
