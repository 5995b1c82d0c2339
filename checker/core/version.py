"""The installed crimecheck's version, for --version and the reports' "made by"."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The version pip installed, or "unknown" when running from a checkout that was never installed."""
    try:
        return version("crimecheck")
    except PackageNotFoundError:
        return "unknown"
