"""Short renderings of user input for the one-sentence error messages of spec and design files."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Sequence
from typing import Any

_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlong = 30
_REPR.maxlist = 6
_REPR.maxdict = 4
_REPR.maxlevel = 2


def show(value: Any, table: str | None = None) -> str:
    """A short, single-line rendering of a value read from a file.

    Args:
        value: The value (TOML types: bool, number, string, list, table).
        table: Words to show instead of a table's contents (e.g. ``"a table"``); its repr if omitted.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if table is not None and isinstance(value, dict):
        return table
    try:
        return _REPR.repr(value)
    except Exception:  # e.g. an int too long to print
        return f"a {type(value).__name__}"


def unknown_keys(where: str, unknown: Sequence[Any], allowed: Sequence[str]) -> str:
    """The sentence for keys of a table that are not allowed, with the closest allowed key for a single typo."""
    close = difflib.get_close_matches(str(unknown[0]), allowed, n=1) if len(unknown) == 1 else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    keys = ", ".join(show(k) for k in unknown)
    plural = "s" if len(unknown) > 1 else ""
    return f"{where} has unknown key{plural} {keys}{hint}; allowed keys are {', '.join(allowed)}."
