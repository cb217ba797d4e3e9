"""The release this code is: its version, read from the installed package's metadata (set once, in pyproject.toml)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


@cache
def version() -> str:
    """The installed timebok's version, e.g. "0.2.0"; "0+unknown" when run from a tree that was never installed."""
    try:
        return _installed("timebok")
    except PackageNotFoundError:
        return "0+unknown"
