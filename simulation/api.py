"""The Python API: ``simulate`` one cohort and get tidy tables back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.parameters import ParameterError, Parameters
from simulation.model.presets import preset_values
from simulation.model.records import THERAPIST, THERAPIST_FIELDS
from simulation.run.engine import simulate_cohort
from simulation.run.forks import Fork, override_table, policy_table
from simulation.run.tables import build_tables

ENGINES = ("cohort", "agents")
TABLES = ("sessions", "patients", "events", "therapists")


@dataclass
class Results:
    """Tables of one simulated cohort.

    Attributes:
        sessions: One row per patient per attended session.
        patients: One row per course.
        events: One row per marker, strategy, negative intervention and stage step.
        therapists: One row per therapist.
        params: The parameters used.
        seed: Root seed.
        n_sessions: Planned course length.
        meta: Population and therapist presets, engine.
    """

    sessions: pd.DataFrame
    patients: pd.DataFrame
    events: pd.DataFrame
    therapists: pd.DataFrame
    params: Parameters
    seed: int
    n_sessions: int
    meta: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by name."""
        return {name: getattr(self, name) for name in TABLES}

    def save(self, folder: str | Path) -> None:
        """Write the tables as parquet files and the parameters as JSON into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            table.to_parquet(folder / f"{name}.parquet", index=False)
        (folder / "parameters.json").write_text(json.dumps(self.params.as_dict(), indent=2))


def resolve_parameters(
    population: str | Mapping[str, float] = "mixed",
    therapists: str | Mapping[str, float] = "experienced",
    params: Mapping[str, float] | None = None,
) -> Parameters:
    """Combine a population preset, a therapist preset and overrides into checked parameters.

    Args:
        population: Population preset name, or a dict of population parameters.
        therapists: Therapist preset name, or a dict of therapist parameters.
        params: Further overrides (win over both presets).

    Raises:
        ParameterError: For a preset that is neither a name nor a mapping, an
            unknown name, a name that is not a string, or a bad value.
    """
    values: dict[str, float] = {}
    for kind, choice in (("population", population), ("therapist", therapists)):
        if isinstance(choice, str):
            values.update(preset_values(kind, choice))
        elif isinstance(choice, Mapping):
            values.update(choice)
        else:
            raise ParameterError(
                f"{kind} must be a preset name or a mapping of parameter names to numbers (got {_short(choice)})."
            )
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(f"params must be a mapping of parameter names to numbers (got {_short(params)}).")
    values.update(params or {})
    return Parameters(values)


def simulate(
    population: str | Mapping[str, float] = "mixed",
    therapists: str | Mapping[str, float] = "experienced",
    n_patients: int = 120,
    n_sessions: int = 30,
    seed: int = 0,
    params: Mapping[str, float] | None = None,
    engine: str = "cohort",
    events: bool = True,
    patient_ids: Sequence[int] | None = None,
    therapist_states: np.ndarray | None = None,
    overrides: Sequence[Fork | Sequence[int]] | None = None,
    policy: Mapping[Any, str | int] | None = None,
) -> Results:
    """Simulate courses of therapy and return tidy tables.

    Args:
        population: Population preset (``presets.POPULATIONS``) or a dict of overrides.
        therapists: Therapist preset (``presets.THERAPISTS``) or a dict of overrides.
        n_patients: Number of patients (ids 0..n_patients-1) if ``patient_ids`` is not given.
        n_sessions: Planned course length in sessions (e.g. 16, 30, 48).
        seed: Root seed; the same seed gives the same numbers on either engine.
        params: Further parameter overrides by name (see ``rupture-sim params``).
        engine: ``"cohort"`` (compiled, for research runs) or ``"agents"`` (the Mesa view).
        events: Whether to keep the per-event table (large for big cohorts).
        patient_ids: Explicit patient ids; a patient's course depends only on its id and the seed.
        therapist_states: Optional therapist records (``records.THERAPIST``), record ``t`` for
            therapist id ``t``, to give therapists their own settings — e.g. the staggered AFT
            start of a multiple-baseline design. Start from ``engine.intake_therapists`` and
            edit fields (``states["aft_start_session"][:3] = 5``); a float matrix with the
            record's fields as columns works too. Drawn from the parameters if omitted.
        overrides: Responses imposed on the therapist (what-if forks): ``forks.Fork`` or
            ``(patient_id, session, segment, response)`` each, response a code of
            ``taxonomy.RESPONSES``; at most one per patient and session. With none, every number
            is the rules' own.
        policy: A therapist policy, a function of what the therapist can observe: the response
            (a name or code of ``taxonomy.RESPONSES``) to a marker by its rupture type, for every
            salience (``{"withdrawal": "invite"}``) or one (``{("confrontation", 4): "hostile"}``);
            markers it does not name are left to the rules. It replaces only the choice of response
            to a marker the therapist notices: noticing and hostility stay the therapist's draws
            (unless its response is ``let-pass``, ``notice`` or ``hostile``). A fork wins over the policy.

    Returns:
        The ``Results`` with ``sessions``, ``patients``, ``events`` and ``therapists``.

    Raises:
        ParameterError: For a bad preset, parameter, engine or size.

    Examples:
        >>> res = simulate("adult_bpd", "novice", n_patients=20, n_sessions=16, seed=3)
        >>> res.sessions.groupby("session")["alliance"].mean().shape
        (16,)
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)} (got {_short(engine)}).")
    if not isinstance(events, (bool, np.bool_)):
        raise ParameterError(f"events must be True or False (got {_short(events)}).")
    _check_count("n_sessions", n_sessions, 1, 1000)
    _check_count("seed", seed, 0, 2**63 - 1)
    if patient_ids is None:
        _check_count("n_patients", n_patients, 1, 10**8)
        ids = np.arange(n_patients, dtype=np.int64)
    else:
        ids = _patient_ids(patient_ids)
    parameters = resolve_parameters(population, therapists, params)
    if therapist_states is not None:
        needed = int(ids.max()) // int(parameters["caseload"]) + 1
        try:
            states = np.asarray(therapist_states)
        except (TypeError, ValueError, OverflowError):  # e.g. ragged lists
            states = np.empty((0, 0))
        as_records_ok = states.dtype == THERAPIST and states.ndim == 1
        as_matrix_ok = states.dtype != THERAPIST and states.ndim == 2 and states.shape[1] == len(THERAPIST_FIELDS)
        if not (as_records_ok or as_matrix_ok) or states.shape[0] < needed:
            raise ParameterError(
                f"therapist_states must hold {needed} or more therapist records (one per therapist id), or a "
                f"matrix with that many rows and {len(THERAPIST_FIELDS)} columns ({', '.join(THERAPIST_FIELDS)})."
            )
    imposed = override_table(overrides, n_sessions, int(parameters["n_segments"]))
    responses = policy_table(policy)
    if engine == "cohort":
        raw = simulate_cohort(parameters, ids, n_sessions, seed, record_events=events, therapists=therapist_states,
                              overrides=imposed, policy=responses)  # fmt: skip
    else:
        from simulation.view.model import RuptureModel  # Mesa is only imported when asked for

        model = RuptureModel(
            parameters,
            ids,
            n_sessions=n_sessions,
            seed=seed,
            record_events=events,
            therapists=therapist_states,
            overrides=imposed,
            policy=responses,
        )
        model.run()
        raw = model.raw()
    tables = build_tables(raw, parameters)
    meta = {
        "population": population if isinstance(population, str) else "custom",
        "therapists": therapists if isinstance(therapists, str) else "custom",
        "engine": engine,
    }
    return Results(**tables, params=parameters, seed=seed, n_sessions=n_sessions, meta=meta)


def _patient_ids(patient_ids: Any) -> np.ndarray:
    """Explicit patient ids as int64, checked element by element before any conversion (1.5 and True are refused)."""
    message = "patient_ids must be a non-empty list of distinct whole numbers between 0 and 2**63 - 1"
    if isinstance(patient_ids, (str, bytes, Mapping)) or not hasattr(patient_ids, "__len__"):
        raise ParameterError(f"{message} (got {_short(patient_ids)}).")
    items = patient_ids.tolist() if isinstance(patient_ids, np.ndarray) else list(patient_ids)
    if not 0 < len(items) <= 10**8:
        raise ParameterError(f"{message} (got {len(items)} ids).")
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)) or not 0 <= item < 2**63:
            raise ParameterError(f"{message} (got {_short(item)}).")
    ids = np.asarray(items, dtype=np.int64)
    if ids.ndim != 1 or len(np.unique(ids)) != len(ids):
        raise ParameterError(f"{message} (got repeated ids).")
    return ids


def _short(value: Any) -> str:
    """A short rendering of a user's value for a message."""
    from simulation.schema import show

    return show(value)


def _check_count(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ParameterError(f"{name} must be a whole number between {low} and {high} (got {_short(value)}).")
