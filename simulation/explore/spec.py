"""Shared checks of the explore commands' TOML specs: one sentence per problem, naming the field.

Each command declares its keys; these helpers read the file, check keys with
the shared schema helper (``simulation.schema``), check numbers and choices,
and check scenarios by building their ``Parameters``. ``ExploreSpecError``
is ``SpecError`` (an explore spec is a spec file like a sweep's), so the command
line answers it like a bad sweep spec: one sentence and exit code 2, before
anything is written. The field readers are the shared vocabulary of
``simulation.schema``; this module adds what only explore specs have (scenarios).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.explore.model_function import OUTCOMES, Scenario
from simulation.model.parameters import ParameterError
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.schema import (
    check_keys,
    is_number,
    list_of,
    mapping,
    one_line,
    one_of,
    origin_of,
    parse_toml,
    read_text,
    real,
    run_name,
    show,
    unique_names,
    whole,
)
from simulation.sweep.spec import SpecError

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
SCENARIO_KEYS = ("population", "therapists", "params")
#: Keys every cohort-based explore spec starts with (compare, sensitivity).
COHORT_KEYS = ("name", "description", "population", "therapists", "n_patients", "n_sessions", "replications", "seed")


#: Simulated dyad-sessions per second of the explore commands on one core (a run's cohort in one call; the
#: engine alone does about 2 M, README "Speed"; runs of a few patients cost their start-up): an assumption
#: set low so that the estimate errs long.
DYAD_SESSIONS_PER_SECOND = 1_000_000
#: Seconds per run beyond its sessions (building parameters and streams, summarising outcomes).
SECONDS_PER_RUN = 0.01
#: Seconds per model fit (a trial's mixed model; a discovery's PRIM and trees per thousand rows).
SECONDS_PER_FIT = 0.05
#: A design estimated above this many seconds needs ``--allow-large``; above a minute it is announced.
LARGE_SECONDS = 3600.0
ANNOUNCE_SECONDS = 60.0


@dataclass(frozen=True)
class Workload:
    """The size of an explore design: runs, simulated dyad-sessions (an upper bound) and model fits."""

    runs: int
    dyad_sessions: int
    fits: int = 0

    @property
    def seconds(self) -> float:
        """Estimated compute time on one core."""
        return self.dyad_sessions / DYAD_SESSIONS_PER_SECOND + self.runs * SECONDS_PER_RUN + self.fits * SECONDS_PER_FIT

    def describe(self, command: str) -> str:
        """One line: the size and the estimated time."""
        hours = self.seconds / 3600
        took = f"{hours:,.1f} hours" if hours >= 1 else f"{self.seconds / 60:,.1f} minutes"
        fits = f", {self.fits:,} model fits" if self.fits else ""
        return f"{command}: {self.runs:,} runs, up to {self.dyad_sessions:,} dyad-sessions{fits}: about {took}"

    def check(self, command: str, allow_large: bool) -> None:
        """Announce a design above a minute on stderr; refuse one above ``LARGE_SECONDS`` unless allowed.

        Raises:
            SpecError: For a design beyond the limit without ``allow_large``.
        """
        if self.seconds > LARGE_SECONDS and not allow_large:
            raise SpecError(
                f"{self.describe(command)} on one core, beyond the limit of {LARGE_SECONDS / 3600:g} hour; "
                "make the design smaller (sizes, samples, replications, patients) or pass --allow-large."
            )
        if self.seconds > ANNOUNCE_SECONDS:
            print(f"rupture-sim: {self.describe(command)} on one core.", file=sys.stderr)


#: The error of an explore spec: a spec file's error like a sweep's (exit code 2, one sentence).
ExploreSpecError = SpecError


def read_spec(path: str | Path, allowed: Sequence[str]) -> tuple[dict[str, Any], str]:
    """The TOML table of a spec file, its keys checked, and its text.

    Raises:
        SpecError: If the file cannot be read (not a regular file, too big, not UTF-8), is not TOML or has
            unknown keys; the message starts with the path.
    """
    text = read_text(Path(path), "spec", SpecError)
    with origin_of(str(path), SpecError):
        data = parse_toml(text, SpecError)
        check_keys("The spec", data, allowed, SpecError)
        name(data.get("name"))
    return data, text


def name(value: Any) -> str:
    """A run name: 1-100 letters, digits, ``_`` or ``-``."""
    return run_name("name", value)


def integer(where: str, value: Any, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high``."""
    return whole(where, value, low, high)


def number(where: str, value: Any, low: float, high: float, open_ends: bool = False) -> float:
    """A finite number between ``low`` and ``high`` (inclusive, or exclusive with ``open_ends``)."""
    return real(where, value, low, high, low_open=open_ends, high_open=open_ends)


def choice(where: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    return one_of(where, value, choices)


def integers(where: str, value: Any, low: int, high: int, min_len: int = 1) -> tuple[int, ...]:
    """A list of distinct increasing whole numbers between ``low`` and ``high``."""
    return list_of(where, value, lambda w, v: whole(w, v, low, high), min_length=min_len, increasing=True)


def outcome_list(where: str, value: Any, allowed: Sequence[str] = OUTCOMES) -> tuple[str, ...]:
    """A non-empty list of outcome names, each at most once."""
    return unique_names(where, value, allowed)


def scenario(where: str, label: str, value: Any, defaults: Mapping[str, Any]) -> Scenario:
    """A scenario table (population, therapists, params), checked by building its parameters.

    Args:
        where: How messages name the table, e.g. ``"[scenarios.aft]"``.
        label: The scenario's name.
        value: The table as read.
        defaults: ``population`` and ``therapists`` of the spec, used where the table has none.
    """
    mapping(where, value, SCENARIO_KEYS, what="a table with population, therapists and params")
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
