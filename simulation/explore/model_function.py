"""The model as a function: parameters in, named outcomes out (in the style of EMA Workbench).

A *scenario* is a population and therapist preset plus parameter overrides.
``patient_outcomes`` simulates a scenario and returns one row per course with
the per-patient outcomes; ``summarize`` turns such rows into the named group
outcomes (``OUTCOMES``) through ``simulation.run.outcomes``, so an outcome is
computed the way the rest of the package computes it. ``ModelFunction``
evaluates a *designs* table (one row per run: parameter columns and a
``seed``) into an *outcomes* table aligned with it by row. Test stubs (an
Ishigami function, a bivariate normal) implement the same ``evaluate``
interface, so every command can be checked against known answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from simulation.api import resolve_parameters, simulate
from simulation.model.parameters import Parameters
from simulation.run.outcomes import CATALOG, RUN_OUTCOMES, group_outcomes, group_sums, stage_where_episode

#: Group outcomes of one run, in the order of tables and figures (declared in ``simulation.run.outcomes``).
OUTCOMES = RUN_OUTCOMES
#: Outcomes that are shares of patients (compared as risk differences, not d).
BINARY = tuple(name for name in OUTCOMES if CATALOG[name].share_of_patients)
#: Course result, ordered from worst to best (for "who changed").
COURSE_RESULTS = ("dropped out", "no reliable change", "reliable change", "recovered")
#: Per-course sums that ``outcomes.group_sums`` adds up.
SUM_COLUMNS = ("n_sessions_rupture_observed", "sessions_attended", "n_resolved", "n_episodes", "symptom_change")
#: Per-course counts of the sessions each informant reports a rupture in.
INFORMANT_COLUMNS = ("n_sessions_patient_rupture", "n_sessions_therapist_rupture")
#: Columns describing a patient at intake, kept with the per-patient outcomes.
INTAKE = ("patient_id", "therapist_id", "diagnosis", "pd_severity", "insight")


class Model(Protocol):
    """What every explore command needs of a model: named outcomes for a designs table."""

    outcomes: tuple[str, ...]

    def evaluate(self, designs: pd.DataFrame) -> pd.DataFrame:
        """One row of outcomes per designs row, in the same order (same index)."""
        ...


@dataclass(frozen=True)
class Scenario:
    """A named scenario: presets and parameter overrides.

    Attributes:
        name: Name shown in tables and figures.
        population: Population preset name or a dict of population parameters.
        therapists: Therapist preset name (a therapist policy) or a dict of therapist parameters.
        params: Further overrides by parameter name (e.g. ``aft_start_session``).
    """

    name: str
    population: str | Mapping[str, float] = "mixed"
    therapists: str | Mapping[str, float] = "experienced"
    params: Mapping[str, float] = field(default_factory=dict)

    def parameters(self) -> Parameters:
        """The checked parameters (raises ``ParameterError``)."""
        return resolve_parameters(self.population, self.therapists, self.params)


def derived_seed(*parts: Any) -> int:
    """A 63-bit seed from any parts (stable across platforms): first 8 bytes of sha256 of their text."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def patient_outcomes(
    scenario: Scenario,
    n_patients: int,
    n_sessions: int,
    seed: int,
    coded_sessions: tuple[int, ...] = (),
    patient_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-patient outcomes of a scenario (``simulate_scenario`` without the trajectory)."""
    return simulate_scenario(scenario, n_patients, n_sessions, seed, coded_sessions, patient_ids)[0]


def simulate_scenario(
    scenario: Scenario,
    n_patients: int,
    n_sessions: int,
    seed: int,
    coded_sessions: tuple[int, ...] = (),
    patient_ids: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate a scenario: one row per course with intake columns and per-patient outcomes, and the trajectory.

    Patient ``i`` has the same intake and random numbers in every scenario on
    the same seed (common random numbers).

    Args:
        scenario: What to simulate.
        n_patients: Patients (ids 0..n-1).
        n_sessions: Planned course length.
        seed: Root seed.
        coded_sessions: Sessions whose patient-rated resolution is averaged into
            ``patient_resolution`` (all attended sessions if empty).
        patient_ids: Explicit patient ids instead of 0..n_patients-1.

    Returns:
        The courses (columns ``INTAKE``, the per-patient ``OUTCOMES``, ``course_result``
        (0-3, ``COURSE_RESULTS``) and the sums ``group_sums`` needs) and the
        trajectory (mean alliance and symptom of the attending patients by session).
    """
    res = simulate(
        scenario.population,
        scenario.therapists,
        n_patients,
        n_sessions,
        seed,
        dict(scenario.params),
        events=False,
        patient_ids=patient_ids,
    )
    p, s = res.patients, res.sessions
    by_patient = s.groupby("patient_id")
    coded = s[s["session"].isin(coded_sessions)] if coded_sessions else s
    out = p[list(INTAKE)].copy()
    for channel in ("patient", "therapist"):
        reported = by_patient[f"{channel}_rupture_reported"].sum().reindex(p["patient_id"]).values
        out[f"n_sessions_{channel}_rupture"] = reported
    out["patient_resolution"] = coded.groupby("patient_id")["patient_resolution"].mean().reindex(p["patient_id"]).values
    out[list(SUM_COLUMNS)] = p[list(SUM_COLUMNS)]
    out["rupture_rate"] = p["n_sessions_rupture_observed"] / p["sessions_attended"]
    out["patient_rupture_rate"] = out["n_sessions_patient_rupture"] / p["sessions_attended"]
    out["therapist_rupture_rate"] = out["n_sessions_therapist_rupture"] / p["sessions_attended"]
    out["resolution_rate"] = p["n_resolved"] / p["n_episodes"].where(p["n_episodes"] > 0)
    out["resolution_stage"] = stage_where_episode(p["mean_resolution_stage"].to_numpy(), p["n_episodes"].to_numpy())
    out["mean_resolution_stage"] = p["mean_resolution_stage"]
    out["alliance_final"] = p["alliance_final"]
    out["reliable_change"] = p["reliable_change"]
    out["recovery"] = p["recovered"]
    out["recovered"] = p["recovered"]
    out["dropout"] = p["dropped_out"]
    out["dropped_out"] = p["dropped_out"]
    out["course_result"] = np.select([p["dropped_out"], p["recovered"], p["reliable_change"]], [0, 3, 2], 1).astype(
        np.int8
    )
    trajectory = by_session_means(s)
    return out, trajectory


def by_session_means(sessions: pd.DataFrame) -> pd.DataFrame:
    """Mean alliance and symptom of the attending patients, by session."""
    return sessions.groupby("session", as_index=False)[["alliance", "symptom"]].mean()


def summarize(patients: pd.DataFrame) -> dict[str, float]:
    """The group ``OUTCOMES`` of one run from its ``patient_outcomes`` rows (``outcomes.group_outcomes``).

    Rates are pooled (ratios of sums); alliance and reliable change are means
    over patients; the patient- and therapist-reported rupture rates are pooled
    over attended sessions like the observer's (three informant channels).
    """
    needed = [*SUM_COLUMNS, *INFORMANT_COLUMNS, "dropped_out", "recovered", "reliable_change", "alliance_final"]
    sums = group_sums(patients[[*needed, "mean_resolution_stage"]].assign(_all=0), ["_all"])
    group = group_outcomes(sums).iloc[0]
    return {name: float(group[name]) for name in OUTCOMES}


@dataclass(frozen=True)
class ModelFunction:
    """The simulation as a function of its parameters (EMA Workbench style).

    Each designs row is one run: its parameter columns override ``base``'s
    parameters, and its ``seed`` column (or ``replication``, turned into a
    seed of ``root_seed``) fixes the random numbers. Rows with the same seed
    share common random numbers.

    Attributes:
        base: The scenario the designs vary.
        n_patients: Patients per run.
        n_sessions: Planned course length.
        root_seed: Root of the seeds derived from a ``replication`` column.
        outcomes: Names of the outcome columns.
    """

    base: Scenario = field(default_factory=lambda: Scenario("base"))
    n_patients: int = 100
    n_sessions: int = 30
    root_seed: int = 0
    outcomes: tuple[str, ...] = OUTCOMES

    def run(self, row: Mapping[str, Any]) -> dict[str, float]:
        """The outcomes of one run (a designs row as a mapping)."""
        params = {k: v for k, v in row.items() if k not in ("seed", "replication")}
        seed = int(row["seed"]) if "seed" in row else derived_seed(self.root_seed, int(row.get("replication", 0)))
        scenario = Scenario(self.base.name, self.base.population, self.base.therapists, {**self.base.params, **params})
        return summarize(patient_outcomes(scenario, self.n_patients, self.n_sessions, seed))

    def evaluate(self, designs: pd.DataFrame) -> pd.DataFrame:
        """Outcomes of every designs row, aligned by row (same index)."""
        rows = [self.run(_plain(row)) for _, row in designs.iterrows()]
        return pd.DataFrame(rows, index=designs.index, columns=list(self.outcomes))


def _plain(row: pd.Series) -> dict[str, Any]:
    """A designs row as a dict of Python numbers (integers stay integers)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
