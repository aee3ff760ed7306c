"""The shared schema helper of the package's input files: sweep specs and virtual-study designs.

Both file kinds are TOML, checked field by field, and every problem is
reported as one sentence that starts with the file and names the field. This
module holds what the two checkers share: reading a TOML file or text, key
checks (unknown keys with a did-you-mean hint, missing keys), the number
predicates, the prefixing of messages with the file, and short renderings of
user input. Each checker passes its own error class (``SpecError``,
``DesignError``), so callers catch the error of the file kind they read. It
sits below the layers: it imports nothing of the package.
"""

from __future__ import annotations

import difflib
import reprlib
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlong = 30
_REPR.maxlist = 6
_REPR.maxdict = 4
_REPR.maxlevel = 2


# --- renderings for messages ------------------------------------------------------------------------------------


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


def one_line(message: object) -> str:
    """A message with its whitespace (newlines included) collapsed to single spaces."""
    return " ".join(str(message).split())


def unknown_keys(where: str, unknown: Sequence[Any], allowed: Sequence[str]) -> str:
    """The sentence for keys of a table that are not allowed, with the closest allowed key for a single typo."""
    close = difflib.get_close_matches(str(unknown[0]), allowed, n=1) if len(unknown) == 1 else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    keys = ", ".join(show(k) for k in unknown)
    plural = "s" if len(unknown) > 1 else ""
    return f"{where} has unknown key{plural} {keys}{hint}; allowed keys are {', '.join(allowed)}."


# --- checks -----------------------------------------------------------------------------------------------------


def is_integer(value: Any) -> bool:
    """Whether a value is a whole number as written (an int, not a bool and not a float such as 3.0)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether a value is a number (int or float, not a bool); it may be infinite or NaN."""
    return is_integer(value) or isinstance(value, (float, np.floating))


def check_keys(
    where: str, data: Mapping[str, Any], allowed: Sequence[str], error: type[ValueError], required: bool = False
) -> None:
    """Raise ``error`` for a key of a table that is not allowed, or (if ``required``) for one that is missing.

    Args:
        where: How a message names the table, e.g. ``"[design]"``.
        data: The table.
        allowed: Its allowed keys, in the order messages list them.
        error: The error class to raise.
        required: Whether every allowed key must be present.
    """
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise error(unknown_keys(where, unknown, allowed))
    missing = [k for k in allowed if k not in data] if required else []
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise error(f"{where} is missing the key{plural} {', '.join(missing)}; it needs {', '.join(allowed)}.")


# --- reading ----------------------------------------------------------------------------------------------------


def read_text(path: Path, what: str, error: type[ValueError]) -> str:
    """The UTF-8 text of a file (a byte-order mark is dropped); ``error`` names the path if it cannot be read.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``"spec"``).
        error: The error class to raise.
    """
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise error(f"{path}: cannot read the {what} file ({err.strerror or err}).") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: the {what} file is not UTF-8 text (bad byte at offset {err.start}).") from None


def parse_toml(text: str, error: type[ValueError]) -> dict[str, Any]:
    """The TOML document in ``text``; raises ``error`` with one sentence if it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"invalid TOML: {one_line(err)}.") from None
    except (ValueError, RecursionError) as err:  # e.g. integers too long for Python, absurd nesting
        raise error(f"the TOML could not be read ({one_line(err) or type(err).__name__}).") from None


@contextmanager
def origin_of(origin: str, error: type[ValueError]) -> Iterator[None]:
    """Prefix the message of an ``error`` raised inside the block with where the input came from."""
    try:
        yield
    except error as err:
        raise error(f"{origin}: {err}") from None
