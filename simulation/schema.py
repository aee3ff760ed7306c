"""The shared vocabulary of the package's input files: sweep and explore specs, virtual-study designs.

Every file kind is TOML, checked field by field, and every problem is one
sentence that names the field and what is allowed. This module holds the one
vocabulary of those checks: reading a spec file (a regular file of bounded
size, UTF-8 TOML), key checks (unknown keys with a did-you-mean hint, missing
keys), and the typed field readers (``whole``, ``real``, ``share``, ``flag``,
``text``, ``one_of``, ``run_name``, ``list_of``, ``unique_names``,
``power_of_two``, ``parameter``), each of which returns the normalised value or
raises ``InputError``. ``origin_of`` prefixes a message with the file it came
from and re-raises it as the reader's subclass (``SpecError`` for spec files,
``DesignError`` for design files), so callers catch the kind of file they read
or ``InputError`` for any. It sits below the layers: it imports nothing of the
package.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import re
import reprlib
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
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


# --- the error ----------------------------------------------------------------------------------------------------


class InputError(ValueError):
    """Input a user wrote (a field of a spec or design file) that cannot be used; the message is one sentence."""


# --- checks -----------------------------------------------------------------------------------------------------


def is_integer(value: Any) -> bool:
    """Whether a value is a whole number as written (an int, not a bool and not a float such as 3.0)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether a value is a number (int or float, not a bool); it may be infinite or NaN."""
    return is_integer(value) or isinstance(value, (float, np.floating))


def check_keys(
    where: str,
    data: Mapping[str, Any],
    allowed: Sequence[str],
    error: type[ValueError] = InputError,
    required: bool = False,
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


# --- field readers: each returns the normalised value or raises InputError naming the field ---------------------

#: A field reader: ``(where, value) -> normalised value``.
Reader = Callable[[str, Any], Any]


def whole(where: str, value: Any, low: int, high: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` (no upper bound if None), written without a decimal point."""
    if not is_integer(value) or value < low or (high is not None and value > high):
        allowed = f"of at least {low}" if high is None else f"between {low} and {high}"
        hint = ", written without a decimal point" if isinstance(value, float) and math.isfinite(value) else ""
        raise InputError(f"{where} must be a whole number {allowed}{hint} (got {show(value)}).")
    return int(value)


def real(where: str, value: Any, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """A finite number from ``low`` to ``high``; an open end excludes the bound itself (returned as a float)."""
    ok = is_number(value) and math.isfinite(value)
    ok = ok and (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    if not ok:
        above = f"above {low:g}" if low_open else f"from {low:g}"
        below = f"below {high:g}" if high_open else f"to {high:g}"
        raise InputError(f"{where} must be a number {above} {below} (got {show(value)}).")
    return float(value)


def share(where: str, value: Any) -> float:
    """A share from 0 to 1 (returned as a float)."""
    if not is_number(value) or not 0 <= value <= 1:
        raise InputError(f"{where} must be a share from 0 to 1, e.g. 0.5 (got {show(value, table='a table')}).")
    return float(value)


def flag(where: str, value: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false (got {show(value, table='a table')}).")
    return value


def text(where: str, value: Any, required: bool = False) -> str:
    """A string; ``required``: a non-empty one, its whitespace collapsed to single spaces."""
    if not isinstance(value, str) or (required and not value.strip()):
        kind = "a non-empty string" if required else "a string"
        raise InputError(f"{where} must be {kind} (got {show(value, table='a table')}).")
    return one_line(value) if required else value


def one_of(where: str, value: Any, choices: Sequence[str], what: str = "") -> str:
    """One of ``choices`` (``what`` names them in the message, e.g. ``"a population preset"``)."""
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(value, list(choices), n=1) if isinstance(value, str) else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        kind = f"{what}: one of" if what else "one of"
        raise InputError(f"{where} must be {kind} {', '.join(choices)} (got {show(value, table='a table')}{hint}).")
    return value


_NAME = re.compile(r"[A-Za-z0-9_-]+")


def run_name(where: str, value: Any, max_length: int = 100, why: str = "") -> str:
    """A name of 1 to ``max_length`` letters, digits, ``_`` or ``-`` (it names files and folders)."""
    if not isinstance(value, str) or len(value) > max_length or not _NAME.fullmatch(value):
        raise InputError(f"{where} must be 1 to {max_length} letters, digits, '_' or '-' (got {show(value)}){why}.")
    return value


def list_of(
    where: str,
    value: Any,
    item: Reader,
    min_length: int = 1,
    length: int | None = None,
    unique: bool = False,
    increasing: bool = False,
    example: str = "",
) -> tuple[Any, ...]:
    """A list whose entries each pass ``item`` (returned as a tuple).

    Args:
        where: The field, e.g. ``"sizes"``; entries are named ``sizes[0]`` ...
        value: The value read.
        item: The reader of one entry.
        min_length: Fewest entries.
        length: Exact number of entries, if fixed.
        unique: No entry may be given twice.
        increasing: Entries in increasing order (implies unique).
        example: An example for the message, e.g. ``'["observer", "symptom_scale"]'``.
    """
    size = f"exactly {length}" if length is not None else f"at least {min_length}"
    if (
        isinstance(value, (str, bytes, Mapping))
        or not isinstance(value, Sequence)
        or len(value) < min_length
        or (length is not None and len(value) != length)
    ):
        such = f" such as {example}" if example else ""
        raise InputError(f"{where} must be a list of {size} values{such} (got {show(value, table='a table')}).")
    out = tuple(item(f"{where}[{i}]", v) for i, v in enumerate(value))
    if increasing and any(b <= a for a, b in itertools.pairwise(out)):
        raise InputError(f"{where} must be in increasing order without repeats (got {show(value)}).")
    twice = [v for i, v in enumerate(out) if v in out[:i]]
    if unique and twice:
        raise InputError(f"{where} names {show(twice[0])} more than once; give each once (got {show(value)}).")
    return out


def unique_names(where: str, value: Any, choices: Sequence[str], min_length: int = 1) -> tuple[str, ...]:
    """A list of at least ``min_length`` names from ``choices``, each at most once."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) < min_length:
        raise InputError(
            f"{where} must be a list of at least {min_length} of {', '.join(choices)} (got {show(value)})."
        )
    return list_of(where, value, lambda w, v: one_of(w, v, choices), min_length=min_length, unique=True)


def power_of_two(where: str, value: Any, low: int, high: int, why: str = "") -> int:
    """A whole power of 2 from ``low`` to ``high``."""
    number = whole(where, value, low, high)
    if number & (number - 1):
        below = 1 << (number.bit_length() - 1)
        raise InputError(f"{where} must be a power of 2{why}, e.g. {max(below, low)} or {2 * below} (got {number}).")
    return number


def parameter(where: str, value: Any, spec: Any) -> float | int:
    """A value of a model parameter: a number in its declared range (``spec`` has name, low, high, integer).

    Returns an int for an integer parameter, else a float.
    """
    allowed = f"{spec.low:g} to {spec.high:g}"
    kind = "a whole number" if spec.integer else "a number"
    if not is_number(value) or not math.isfinite(value):
        raise InputError(f"{where} must be {kind} from {allowed} for parameter '{spec.name}' (got {show(value)}).")
    if not spec.low <= value <= spec.high:
        raise InputError(f"{where}: {show(value)} is outside the allowed range of parameter '{spec.name}' ({allowed}).")
    if spec.integer and not float(value).is_integer():
        raise InputError(f"{where} must be a whole number for the integer parameter '{spec.name}' (got {show(value)}).")
    return int(value) if spec.integer else float(value)


def mapping(where: str, value: Any, keys: Sequence[str], required: bool = False, what: str = "a table") -> dict:
    """A table whose keys are among ``keys`` (all of them if ``required``)."""
    if not isinstance(value, Mapping):
        raise InputError(f"{where} must be {what} (got {show(value, table='a table')}).")
    check_keys(where, value, keys, InputError, required)
    return dict(value)


# --- reading ----------------------------------------------------------------------------------------------------


#: Largest spec or design file read (a real one is a few kilobytes; this stops /dev/zero and the like).
MAX_FILE_BYTES = 1 << 20


def read_text(path: Path, what: str, error: type[ValueError] = InputError) -> str:
    """The UTF-8 text of a regular file of at most ``MAX_FILE_BYTES`` (a byte-order mark is dropped).

    A FIFO, a device or a folder is refused before it is opened for reading, so
    nothing waits for a writer or reads without end.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``"spec"``).
        error: The error class to raise; its message names the path.
    """
    try:
        return _bounded_bytes(path, what, error).decode("utf-8-sig")
    except OSError as err:
        raise error(f"{path}: cannot read the {what} file ({err.strerror or err}).") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: the {what} file is not UTF-8 text (bad byte at offset {err.start}).") from None


def _bounded_bytes(path: Path, what: str, error: type[ValueError]) -> bytes:
    """The bytes of ``path`` if it is a regular file of bounded size (checked on the opened file too)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise error(f"{path}: cannot read the {what} file: it is a folder, pipe or device, not a regular file.")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # never waits, even if swapped for a FIFO
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{path}: cannot read the {what} file: it is not a regular file.")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise error(f"{path}: cannot read the {what} file: it is larger than {MAX_FILE_BYTES >> 20} MiB.")
    return data


def parse_toml(text: str, error: type[ValueError] = InputError) -> dict[str, Any]:
    """The TOML document in ``text``; raises ``error`` with one sentence if it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"invalid TOML: {one_line(err)}.") from None
    except (ValueError, RecursionError) as err:  # e.g. integers too long for Python, absurd nesting
        raise error(f"the TOML could not be read ({one_line(err) or type(err).__name__}).") from None


@contextmanager
def as_kind(error: type[ValueError]) -> Iterator[None]:
    """Re-raise an ``InputError`` of a field reader inside the block as ``error`` (the file kind's subclass)."""
    try:
        yield
    except InputError as err:
        if isinstance(err, error):
            raise
        raise error(str(err)) from None


@contextmanager
def origin_of(origin: str, error: type[ValueError] = InputError) -> Iterator[None]:
    """Prefix the message of an error raised inside the block with where the input came from.

    Both ``error`` and any ``InputError`` of a field reader are caught; the one raised is an ``error``.
    """
    try:
        yield
    except (error, InputError) as err:
        raise error(f"{origin}: {err}") from None
