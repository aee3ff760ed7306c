r"""Experiment specs: a parameter sweep declared in one named TOML file.

An experiment (the NetLogo BehaviorSpace idea) says which cohorts to simulate:
the presets, the parameters held constant, the parameters varied and how they
are combined into *design points*, how many replications of every point to
run, and which tables to keep. This module reads and checks such a spec and
derives from it everything a runner needs: the design points, the parameters
of a point, the seed of a replication and the size of the experiment. It does
not run anything.

A complete spec::

    name = "skill_x_severity"          # required: letters, digits, _ and - (at most 100)
    description = "Therapist skill against BPD severity"
    population = "adult_bpd"           # preset in presets.POPULATIONS (default "mixed")
    therapists = "experienced"         # preset in presets.THERAPISTS (default "experienced")
    n_patients = 200                   # patients per run (default 120)
    n_sessions = 30                    # planned course length, 1-1000 (default 30)
    replications = 10                  # runs per design point (default 1)
    seed = 2026                        # root seed, >= 0 (default 0)
    tables = ["patients", "sessions"]  # subset of patients, sessions, events; patients is always kept
    chunk_replications = 5             # replications per chunk of work (default min(replications, 10))

    [design]
    type = "grid"                      # grid | lhs | sobol (default grid)
    # samples = 64                     # number of points: lhs and sobol only (sobol: a power of 2)

    [constants]                        # parameter = number, the same in every run
    noticing = 0.4

    [vary]                             # parameter = values or range, in the order they are combined
    skill_mean = [0.4, 0.6, 0.8]                              # explicit values (grid only)
    bpd_severity_mean = { low = 0.4, high = 0.9, steps = 3 }  # range; steps only and always in a grid

Only the keys shown are allowed, in these tables; any other key is an error.
Parameter names are those of ``simulation.model.parameters.PARAMETERS`` (``rupture-sim
params``), and every value, in [constants] and in [vary] (every listed value and
both ends of a range), must lie in the parameter's declared range. A parameter is
either constant or varied, not both.

Parameters of a run are built in this order, later ones winning: population
preset, therapist preset, [constants], the design point.

Designs:

* ``grid``: the full factorial of the varied parameters. A list is used as
  given; a range ``{low, high, steps}`` becomes ``steps`` evenly spaced values
  from low to high (interior values rounded to 12 significant digits). Points
  are numbered as ``itertools.product`` makes them: in file order, the last
  parameter varying fastest. Without [vary] the experiment has one point.
* ``lhs``: ``samples`` points of a Latin hypercube,
  ``scipy.stats.qmc.LatinHypercube(d, seed=seed)``, scaled onto the ranges.
* ``sobol``: ``samples`` (a power of 2) points of a scrambled Sobol' sequence,
  ``scipy.stats.qmc.Sobol(d, scramble=True, seed=seed).random_base2(log2(samples))``,
  scaled onto the ranges.

In lhs and sobol designs every varied parameter must be a range without
``steps``. Integer parameters (``Param.integer``) get whole values: in a grid
the evenly spaced values are rounded (the ends must be whole numbers and the
steps may not repeat a value); in lhs and sobol the unit interval is cut into
``high - low + 1`` equal parts, one per whole number, so each is equally likely.

Seeds: replication ``r`` of every design point runs with ``run_seed(spec, r)``,
the first 63 bits of ``sha256(f"{seed}:{r}")``. The seed does not depend on the
design point, so all points of one replication share common random numbers and
differences between points are paired comparisons.

Checks: a spec that fails any check raises ``SpecError`` with one sentence that
names the field and what is allowed. Besides every field on its own, the design
is checked as a whole: ``Parameters`` are built for every design point (about
15 microseconds a point), so a combination that is invalid as a whole, such as
diagnosis shares that do not sum to 1, is reported with the point; and an
experiment may have at most ``MAX_RUNS`` runs (design points times replications).

Examples:
    >>> spec = parse_spec('name = "demo"\nreplications = 2\n[vary]\nnoticing = [0.2, 0.4]')
    >>> n_runs(spec), list(design_points(spec)["noticing"])
    (4, [0.2, 0.4])
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.api import resolve_parameters
from simulation.model.parameters import SPECS, ParameterError, Parameters, check_name
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.schema import (
    InputError,
    as_kind,
    check_keys,
    one_line,
    one_of,
    origin_of,
    parameter,
    parse_toml,
    power_of_two,
    read_text,
    run_name,
    show,
    text,
    whole,
)

__all__ = [
    "DESIGNS",
    "MAX_RUNS",
    "TABLE_NAMES",
    "SpecError",
    "SweepSpec",
    "Vary",
    "design_points",
    "dyad_sessions",
    "load_spec",
    "n_points",
    "n_runs",
    "parse_spec",
    "point_parameters",
    "run_seed",
]

DESIGNS = ("grid", "lhs", "sobol")
TABLE_NAMES = ("patients", "sessions", "events")
MAX_RUNS = 1_000_000
MAX_PATIENTS = 10**8
MAX_SESSIONS = 1000
MAX_SEED = 2**63 - 1
MAX_NAME_LENGTH = 100
DEFAULT_CHUNK = 10
FINGERPRINT_VERSION = 1
TOP_LEVEL_KEYS = (
    "name",
    "description",
    "population",
    "therapists",
    "n_patients",
    "n_sessions",
    "replications",
    "seed",
    "tables",
    "chunk_replications",
    "design",
    "constants",
    "vary",
)
DESIGN_KEYS = ("type", "samples")
VARY_KEYS = ("values", "low", "high", "steps")

_NAME = re.compile(r"[A-Za-z0-9_-]+")


class SpecError(InputError):
    """A spec file (a sweep's or an explore command's) that cannot be read or is not valid; one sentence.

    The ``InputError`` of spec files, as ``DesignError`` is that of design files: callers catch the kind of
    file they read.
    """


@dataclass(frozen=True)
class Vary:
    """How one parameter varies across the design points.

    Either an explicit list of ``values`` or a range from ``low`` to ``high``
    (with ``steps`` evenly spaced values in a grid; without steps in lhs and
    sobol designs, which draw from the whole range). ``SweepSpec`` checks and
    normalises its entries; build them directly only to pass them to it.

    Attributes:
        values: Explicit values, in order (grid designs only).
        low: Lower end of a range.
        high: Upper end of a range.
        steps: Number of evenly spaced values of a range in a grid.
    """

    values: tuple[float, ...] | None = None
    low: float | None = None
    high: float | None = None
    steps: int | None = None

    @property
    def is_range(self) -> bool:
        """Whether this is a range rather than a list of values."""
        return self.values is None

    def grid_values(self, integer: bool = False) -> tuple[float, ...]:
        """The values this entry takes in a grid design.

        Args:
            integer: Round to whole numbers (for integer parameters).

        Raises:
            SpecError: For a range without ``steps``.
        """
        if self.values is not None:
            return tuple(self.values)
        if self.steps is None or self.low is None or self.high is None:
            raise SpecError("A range needs low, high and steps to give grid values.")
        raw = np.linspace(self.low, self.high, self.steps)
        if integer:
            return tuple(int(v) for v in np.rint(raw))
        return tuple(float(f"{v:.12g}") for v in raw)

    def scale(self, unit: np.ndarray, integer: bool = False) -> np.ndarray:
        """Map samples of the unit interval [0, 1) onto the range.

        Args:
            unit: Values in [0, 1).
            integer: Give whole numbers, each of ``low..high`` equally likely.
        """
        if self.low is None or self.high is None:
            raise SpecError("Only a range {low, high} can be scaled onto.")
        if integer:
            whole = np.floor(self.low + unit * (self.high - self.low + 1))
            return np.clip(whole, self.low, self.high).astype(np.int64)
        return np.clip(self.low + unit * (self.high - self.low), self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        """The entry as it is written in TOML (only the keys that are set)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, (tuple, list)) else value
        return out


@dataclass(frozen=True)
class SweepSpec:
    """A checked experiment spec (see the module docstring for the TOML layout).

    Construction checks and normalises every field (numbers become ``float``,
    or ``int`` for integer parameters; ``tables`` gets ``"patients"`` and a fixed
    order) and raises ``SpecError`` for anything invalid, so a ``SweepSpec`` -
    also one made with ``dataclasses.replace`` - is always valid. Read specs with
    ``load_spec`` or ``parse_spec``.

    Attributes:
        name: Experiment name: letters, digits, ``_`` and ``-``.
        description: Free text.
        population: Population preset (``presets.POPULATIONS``).
        therapists: Therapist preset (``presets.THERAPISTS``).
        n_patients: Patients per run.
        n_sessions: Planned course length in sessions (1-1000).
        replications: Runs per design point.
        seed: Root seed of the experiment.
        design: ``"grid"``, ``"lhs"`` or ``"sobol"``.
        samples: Number of design points of an lhs or sobol design (None for a grid).
        constants: Parameter values held constant, in file order.
        vary: Varied parameters, in file order (the order matters: it fixes the
            point numbering of a grid and the columns of lhs and sobol samples).
        tables: Tables to keep, a subset of ``TABLE_NAMES`` in that order, always
            with ``"patients"`` (one summary row per course).
        chunk_replications: Replications per chunk of work (does not change results).
        source: The TOML text the spec was read from ("" when built in code); for
            copying next to the results. The fields, not this text, are authoritative.
    """

    name: str
    description: str = ""
    population: str = "mixed"
    therapists: str = "experienced"
    n_patients: int = 120
    n_sessions: int = 30
    replications: int = 1
    seed: int = 0
    design: str = "grid"
    samples: int | None = None
    constants: dict[str, float] = field(default_factory=dict)
    vary: dict[str, Vary] = field(default_factory=dict)
    tables: tuple[str, ...] = ("patients",)
    chunk_replications: int | None = None
    source: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        with as_kind(SpecError):
            for key, value in _normalized(self).items():
                object.__setattr__(self, key, value)
            _check_size(self)
            _check_points(self)

    def __hash__(self) -> int:
        return hash((self.fingerprint(), self.description, self.chunk_replications))

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-able dict in the layout of the TOML file (without ``source``)."""
        design: dict[str, Any] = {"type": self.design}
        if self.samples is not None:
            design["samples"] = self.samples
        return {
            "name": self.name,
            "description": self.description,
            "population": self.population,
            "therapists": self.therapists,
            "n_patients": self.n_patients,
            "n_sessions": self.n_sessions,
            "replications": self.replications,
            "seed": self.seed,
            "tables": list(self.tables),
            "chunk_replications": self.chunk_replications,
            "design": design,
            "constants": dict(self.constants),
            "vary": {name: entry.to_dict() for name, entry in self.vary.items()},
        }

    def fingerprint(self) -> str:
        """SHA-256 (hex) of everything that affects the results.

        That is every field except ``description``, ``chunk_replications`` and
        ``source``, as canonical JSON (sorted keys, the [vary] order kept). A
        runner stores it to refuse resuming into a folder made by another spec.
        """
        payload = self.to_dict()
        del payload["description"], payload["chunk_replications"]
        payload["vary"] = [[name, entry] for name, entry in payload["vary"].items()]
        payload["fingerprint_version"] = FINGERPRINT_VERSION
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()


# --- reading --------------------------------------------------------------------------------


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the experiment spec in a TOML file.

    Args:
        path: The ``.toml`` file.

    Raises:
        SpecError: If the file cannot be read or the spec is not valid; the
            message starts with the path.
    """
    path = Path(path)
    text = read_text(path, "spec", SpecError)
    return parse_spec(text, origin=str(path))


def parse_spec(text: str, origin: str = "spec") -> SweepSpec:
    """Check an experiment spec given as TOML text.

    Args:
        text: The TOML document.
        origin: Where the text comes from; starts every error message.

    Raises:
        SpecError: If the text is not TOML or the spec is not valid.
    """
    with origin_of(origin, SpecError):
        return _parse(text)


def _parse(text: str) -> SweepSpec:
    if not isinstance(text, str):
        raise SpecError(f"The spec must be TOML text (got {type(text).__name__}).")
    data = parse_toml(text, SpecError)
    check_keys("The spec", data, TOP_LEVEL_KEYS, SpecError)
    if "name" not in data:
        raise SpecError('name is required: add a line like name = "my_experiment".')
    design = data.pop("design", {})
    if not isinstance(design, dict):
        raise SpecError(f'design must be a table: [design] with type = "grid", "lhs" or "sobol" (got {show(design)}).')
    check_keys("[design]", design, DESIGN_KEYS, SpecError)
    return SweepSpec(**data, design=design.get("type", "grid"), samples=design.get("samples"), source=text)


# --- design ---------------------------------------------------------------------------------


def n_points(spec: SweepSpec) -> int:
    """Number of design points (1 without [vary])."""
    if not spec.vary:
        return 1
    if spec.design == "grid":
        return math.prod(_grid_count(entry) for entry in spec.vary.values())
    return int(spec.samples or 0)


def n_runs(spec: SweepSpec) -> int:
    """Number of runs: design points times replications."""
    return n_points(spec) * spec.replications


def dyad_sessions(spec: SweepSpec) -> int:
    """Runs times patients times sessions: an upper bound of simulated sessions (dropouts end courses early)."""
    return n_runs(spec) * spec.n_patients * spec.n_sessions


def design_points(spec: SweepSpec) -> pd.DataFrame:
    """The design points: one row per point, one column per varied parameter.

    Columns follow the [vary] order (int64 for integer parameters, float64
    otherwise); the index, named ``point``, runs 0..n-1. The result depends
    only on the spec. A spec without [vary] has one point and no columns.
    """
    names = list(spec.vary)
    index = pd.RangeIndex(n_points(spec), name="point")
    if not names:
        return pd.DataFrame(index=index)
    if spec.design == "grid":
        columns = [spec.vary[n].grid_values(SPECS[n].integer) for n in names]
        frame = pd.DataFrame(list(itertools.product(*columns)), columns=names)
    else:
        unit = _unit_sample(spec)
        frame = pd.DataFrame({n: spec.vary[n].scale(unit[:, j], SPECS[n].integer) for j, n in enumerate(names)})
    frame = frame.astype({n: "int64" if SPECS[n].integer else "float64" for n in names})
    frame.index = index
    return frame


def point_parameters(spec: SweepSpec, point_row: Mapping[str, Any] | pd.Series) -> Parameters:
    """The parameters of one design point: presets, then [constants], then the point.

    Args:
        spec: The experiment.
        point_row: A row of ``design_points(spec)`` (or any mapping holding a
            value for every varied parameter; other keys are ignored).

    Raises:
        SpecError: If a varied parameter is missing or the values are invalid.
    """
    point = {}
    for name in spec.vary:
        if name not in point_row:
            raise SpecError(f"The design point has no value for the varied parameter '{name}'.")
        with as_kind(SpecError):
            point[name] = _parameter_value(f"point.{name}", name, point_row[name])
    try:
        return resolve_parameters(spec.population, spec.therapists, {**spec.constants, **point})
    except ParameterError as err:
        raise SpecError(f"The design point {_format_point(point)} is invalid: {_lower_first(err)}") from None


def run_seed(spec: SweepSpec, replication: int) -> int:
    """Seed of replication ``replication`` (0-based) of every design point.

    The first 63 bits (big-endian) of ``sha256(f"{spec.seed}:{replication}")``:
    stable across platforms and versions, and independent of the design point,
    so all points of a replication share common random numbers.

    Raises:
        SpecError: If ``replication`` is not in ``0..spec.replications - 1``.
    """
    with as_kind(SpecError):
        replication = whole("replication", replication, 0, spec.replications - 1)
    digest = hashlib.sha256(f"{spec.seed}:{replication}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _grid_count(entry: Vary) -> int:
    return len(entry.values) if entry.values is not None else int(entry.steps or 0)


def _unit_sample(spec: SweepSpec) -> np.ndarray:
    from scipy.stats import qmc  # scipy.stats is slow to import; only lhs and sobol need it

    d = len(spec.vary)
    samples = int(spec.samples or 0)
    if spec.design == "lhs":
        return qmc.LatinHypercube(d, seed=spec.seed).random(samples)
    return qmc.Sobol(d, scramble=True, seed=spec.seed).random_base2(samples.bit_length() - 1)


# --- checks of a whole spec -----------------------------------------------------------------


def _normalized(spec: SweepSpec) -> dict[str, Any]:
    """Checked, normalised values of all fields of ``spec`` (raises SpecError)."""
    out: dict[str, Any] = {
        "name": run_name("name", spec.name, MAX_NAME_LENGTH, "; it names the results folder"),
        "description": text("description", spec.description),
        "population": one_of("population", spec.population, tuple(POPULATIONS)),
        "therapists": one_of("therapists", spec.therapists, tuple(THERAPISTS)),
        "n_patients": whole("n_patients", spec.n_patients, 1, MAX_PATIENTS),
        "n_sessions": whole("n_sessions", spec.n_sessions, 1, MAX_SESSIONS),
        "replications": whole("replications", spec.replications, 1, MAX_RUNS),
        "seed": whole("seed", spec.seed, 0, MAX_SEED),
        "design": one_of("design.type", spec.design, DESIGNS),
        "tables": _tables(spec.tables),
    }
    out["chunk_replications"] = _chunk(spec.chunk_replications, out["replications"])
    out["samples"] = _samples(spec.samples, out["design"])
    out["constants"] = _constants(spec.constants)
    out["vary"] = _vary(spec.vary, out["design"], out["constants"])
    return out


def _check_size(spec: SweepSpec) -> None:
    points = n_points(spec)
    runs = points * spec.replications
    if runs > MAX_RUNS:
        raise SpecError(
            f"The design has {points:,} points and {spec.replications:,} replications, {runs:,} runs in all, "
            f"more than the limit of {MAX_RUNS:,}; use fewer points or replications."
        )


def _check_points(spec: SweepSpec) -> None:
    """Build Parameters for every design point; report the first invalid one."""
    points = design_points(spec)
    names = list(points.columns)
    rows = zip(*(points[n].tolist() for n in names), strict=True) if names else [()]
    for number, values in enumerate(rows):
        point = dict(zip(names, values, strict=True))
        try:
            resolve_parameters(spec.population, spec.therapists, {**spec.constants, **point})
        except ParameterError as err:
            what = f"Design point {number} ({_format_point(point)}) gives" if point else "The constants give"
            raise SpecError(
                f"{what} invalid parameters with population '{spec.population}' and therapists "
                f"'{spec.therapists}': {_lower_first(err)}"
            ) from None


# --- checks of single fields ----------------------------------------------------------------


def _tables(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise SpecError(f'tables must be a list such as ["patients", "sessions"] (got {show(value)}).')
    for table in value:
        if not isinstance(table, str) or table not in TABLE_NAMES:
            raise SpecError(f"tables may only contain {', '.join(TABLE_NAMES)} (got {show(table)}).")
    chosen = {"patients", *value}
    return tuple(t for t in TABLE_NAMES if t in chosen)


def _chunk(value: Any, replications: int) -> int:
    if value is None:
        return min(replications, DEFAULT_CHUNK)
    return whole("chunk_replications", value, 1, replications)


def _samples(value: Any, design: str) -> int | None:
    if design == "grid":
        if value is not None:
            raise SpecError("design.samples is only used by lhs and sobol designs; remove it for a grid.")
        return None
    if value is None:
        raise SpecError(f"design.samples is required for a {design} design (the number of design points).")
    if design == "sobol":
        return power_of_two("design.samples", value, 1, MAX_RUNS, " for a sobol design")
    return whole("design.samples", value, 1, MAX_RUNS)


def _constants(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise SpecError(f"constants must be a table of parameter = number lines (got {show(value)}).")
    out = {}
    for name, number in value.items():
        _known_parameter("constants", name)
        out[name] = _parameter_value(_key("constants", name), name, number)
    return out


def _vary(value: Any, design: str, constants: Mapping[str, float]) -> dict[str, Vary]:
    if not isinstance(value, Mapping):
        raise SpecError(f"vary must be a table of parameter = values or range lines (got {show(value)}).")
    out = {}
    for name, entry in value.items():
        _known_parameter("vary", name)
        if name in constants:
            raise SpecError(f"Parameter '{name}' is both in [constants] and in [vary]; keep it in one of them.")
        out[name] = _vary_entry(name, entry, design)
    if design != "grid" and not out:
        raise SpecError(
            f"A {design} design needs at least one range in [vary], e.g. noticing = {{ low = 0.2, high = 0.6 }}."
        )
    return out


def _vary_entry(name: str, entry: Any, design: str) -> Vary:
    where = _key("vary", name)
    if isinstance(entry, Vary):
        entry = entry.to_dict()
    elif isinstance(entry, (list, tuple)):
        entry = {"values": entry}
    if not isinstance(entry, Mapping):
        raise SpecError(
            f"{where} must be a list of values or a range {{ low = ..., high = ..., steps = ... }}; "
            f"put a single value in [constants] (got {show(entry)})."
        )
    check_keys(where, entry, VARY_KEYS, SpecError)
    if "values" in entry:
        if len(entry) > 1:
            raise SpecError(f"{where} must give either values or a range (low, high, steps), not both.")
        return _value_list(where, name, entry["values"], design)
    return _value_range(where, name, entry, design)


def _value_list(where: str, name: str, values: Any, design: str) -> Vary:
    if design != "grid":
        raise SpecError(
            f"{where} must be a range {{ low = ..., high = ... }}: a {design} design samples every "
            "varied parameter from a range, not from a list of values."
        )
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise SpecError(f"{where} must be a non-empty list of numbers (got {show(values)}).")
    checked = tuple(_parameter_value(where, name, v) for v in values)
    for i, v in enumerate(checked):
        if v in checked[:i]:
            raise SpecError(f"{where} lists the value {v:g} more than once; each value makes its own design points.")
    return Vary(values=checked)


def _value_range(where: str, name: str, entry: Mapping[str, Any], design: str) -> Vary:
    missing = [k for k in ("low", "high") if k not in entry]
    if missing:
        raise SpecError(f"{where} needs values = [...] or both low and high (missing {' and '.join(missing)}).")
    low = _parameter_value(f"{where}.low", name, entry["low"])
    high = _parameter_value(f"{where}.high", name, entry["high"])
    if low >= high:
        raise SpecError(f"{where} must have low < high (got low = {low:g}, high = {high:g}).")
    steps = entry.get("steps")
    if design != "grid":
        if steps is not None:
            raise SpecError(f"{where}.steps is only used by grid designs; a {design} design samples the whole range.")
        return Vary(low=low, high=high)
    if steps is None:
        raise SpecError(f"{where}.steps is required for a range in a grid design (a whole number of at least 2).")
    entry_vary = Vary(low=low, high=high, steps=whole(f"{where}.steps", steps, 2))
    if SPECS[name].integer and entry_vary.steps > high - low + 1:
        raise SpecError(
            f"{where}.steps may be at most {int(high - low) + 1} for the integer parameter '{name}' "
            f"from {low:g} to {high:g}, or whole values would repeat."
        )
    # e.g. a range narrower than the 12 digits kept (a design of more steps is refused for its size)
    if entry_vary.steps <= MAX_RUNS and len(set(entry_vary.grid_values())) < entry_vary.steps:
        raise SpecError(f"{where}: the {entry_vary.steps} steps from {low:g} to {high:g} give repeated values.")
    return entry_vary


def _known_parameter(section: str, name: Any) -> None:
    if not isinstance(name, str):
        raise SpecError(f"[{section}] keys must be parameter names (got {show(name)}).")
    try:
        check_name(name)
    except ParameterError as err:
        message = str(err) if name.isprintable() else f"Unknown parameter {show(name)}."
        raise SpecError(f"In [{section}]: {_lower_first(message)}") from None


def _parameter_value(where: str, name: str, value: Any) -> float:
    """A checked value of parameter ``name``: int for integer parameters, float otherwise."""
    return parameter(where, value, SPECS[name])


# --- message helpers ------------------------------------------------------------------------


def _key(section: str, name: str) -> str:
    shown = name if _NAME.fullmatch(name) else json.dumps(name)
    return f"{section}.{shown}"


def _format_point(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in point.items())


def _lower_first(message: object) -> str:
    text = one_line(message)
    return text[:1].lower() + text[1:]
