"""Shared checks of the explore commands' TOML specs: one sentence per problem, naming the field.

Each command declares its keys; these helpers read the file, check keys with
the shared schema helper (``simulation.schema``), check numbers and choices,
and check scenarios by building their ``Parameters``. ``ExploreSpecError``
is a ``SpecError``, so the command line answers it like a bad sweep spec:
one sentence and exit code 2, before anything is written.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulation.explore.model_function import OUTCOMES, Scenario
from simulation.model.parameters import ParameterError
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.schema import check_keys, is_integer, is_number, one_line, origin_of, parse_toml, read_text, show
from simulation.sweep.spec import SpecError

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
SCENARIO_KEYS = ("population", "therapists", "params")
#: Keys every cohort-based explore spec starts with (compare, sensitivity).
COHORT_KEYS = ("name", "description", "population", "therapists", "n_patients", "n_sessions", "replications", "seed")


class ExploreSpecError(SpecError):
    """A spec of an explore command that cannot be read or is not valid (one sentence)."""


def read_spec(path: str | Path, allowed: Sequence[str]) -> tuple[dict[str, Any], str]:
    """The TOML table of a spec file, its keys checked, and its text.

    Raises:
        ExploreSpecError: If the file cannot be read, is not TOML or has unknown keys;
            the message starts with the path.
    """
    text = read_text(Path(path), "spec", ExploreSpecError)
    with origin_of(str(path), ExploreSpecError):
        data = parse_toml(text, ExploreSpecError)
        check_keys("The spec", data, allowed, ExploreSpecError)
        name(data.get("name"))
    return data, text


def name(value: Any) -> str:
    """A run name: 1-100 letters, digits, ``_`` or ``-``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ExploreSpecError(f"name must be 1 to 100 letters, digits, '_' or '-' (got {show(value)}).")
    return value


def integer(where: str, value: Any, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high``."""
    if not is_integer(value) or not low <= value <= high:
        raise ExploreSpecError(f"{where} must be a whole number between {low} and {high} (got {show(value)}).")
    return int(value)


def number(where: str, value: Any, low: float, high: float) -> float:
    """A number between ``low`` and ``high`` (inclusive)."""
    if not is_number(value) or not low <= value <= high:
        raise ExploreSpecError(f"{where} must be a number from {low:g} to {high:g} (got {show(value)}).")
    return float(value)


def choice(where: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ExploreSpecError(f"{where} must be one of {', '.join(choices)} (got {show(value)}).")
    return value


def integers(where: str, value: Any, low: int, high: int, min_len: int = 1) -> tuple[int, ...]:
    """A list of distinct increasing whole numbers between ``low`` and ``high``."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) < min_len:
        raise ExploreSpecError(f"{where} must be a list of at least {min_len} whole numbers (got {show(value)}).")
    out = tuple(integer(f"{where}[{i}]", v, low, high) for i, v in enumerate(value))
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ExploreSpecError(f"{where} must be in increasing order without repeats (got {show(value)}).")
    return out


def outcome_list(where: str, value: Any, allowed: Sequence[str] = OUTCOMES) -> tuple[str, ...]:
    """A non-empty list of outcome names."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ExploreSpecError(f"{where} must be a non-empty list of outcomes from {', '.join(allowed)}.")
    return tuple(choice(f"{where}[{i}]", v, allowed) for i, v in enumerate(value))


def scenario(where: str, label: str, value: Any, defaults: Mapping[str, Any]) -> Scenario:
    """A scenario table (population, therapists, params), checked by building its parameters.

    Args:
        where: How messages name the table, e.g. ``"[scenarios.aft]"``.
        label: The scenario's name.
        value: The table as read.
        defaults: ``population`` and ``therapists`` of the spec, used where the table has none.
    """
    if not isinstance(value, Mapping):
        raise ExploreSpecError(f"{where} must be a table with population, therapists and params (got {show(value)}).")
    check_keys(where, value, SCENARIO_KEYS, ExploreSpecError)
    population = choice(f"{where}.population", value.get("population", defaults["population"]), tuple(POPULATIONS))
    therapists = choice(f"{where}.therapists", value.get("therapists", defaults["therapists"]), tuple(THERAPISTS))
    params = value.get("params", {})
    if not isinstance(params, Mapping) or not all(is_number(v) for v in params.values()):
        raise ExploreSpecError(f"{where}.params must be a table of parameter = number lines (got {show(params)}).")
    built = Scenario(label, population, therapists, dict(params))
    try:
        built.parameters()
    except ParameterError as err:
        raise ExploreSpecError(f"{where} is invalid: {one_line(err)}") from None
    return built


def scenarios(data: Mapping[str, Any], key: str = "scenarios", at_least: int = 2) -> dict[str, Scenario]:
    """The named scenarios of a spec (``[scenarios.NAME]`` tables), at least ``at_least`` of them."""
    tables = data.get(key)
    if not isinstance(tables, Mapping) or len(tables) < at_least:
        got = f"{len(tables)}" if isinstance(tables, Mapping) else show(tables)
        raise ExploreSpecError(
            f"[{key}] must hold at least {at_least} named tables such as [{key}.usual] and [{key}.aft] (got {got})."
        )
    defaults = {"population": data.get("population", "mixed"), "therapists": data.get("therapists", "experienced")}
    for label in tables:
        if not _NAME.fullmatch(str(label)):
            raise ExploreSpecError(f"[{key}] names must be 1 to 100 letters, digits, '_' or '-' (got {show(label)}).")
    return {str(k): scenario(f"[{key}.{k}]", str(k), v, defaults) for k, v in tables.items()}
