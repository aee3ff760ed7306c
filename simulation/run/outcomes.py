"""Outcomes declared once: what a course and a group of courses achieved.

Per patient: the Jacobson & Truax reliable change index with one critical
value, recovery, the mean resolution stage and the complexity group. Per group
of patients (a run, a condition, a sweep cell): rupture rate, resolution rate,
resolution depth, dropout and recovery. Every function takes plain arrays or
pandas columns (course sums or patients-table columns), so the tables, the
virtual studies, the sweep summaries, the main job and the figures compute an
outcome the same way.

Conventions, stated once:

- The mean resolution stage of a patient without any resolution episode is 0,
  not NaN. An average over patients leaves such patients out
  (``stage_where_episode``), since "no episode" is not a depth.
- A group rate is a ratio of sums (pooled, not a mean of per-patient rates);
  its weighting says what it averages over. A ratio without a denominator is
  NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simulation.model.rules import RCI_CRITICAL
from simulation.model.rules import reliable_change_index as reliable_change_index_rule

#: Complexity groups by the mean resolution stage, in order (see ``complexity_group``).
COMPLEXITY_GROUPS = ("none", "shallow (<2.5)", "middle (2.5-3)", "deep (>=3)")
#: Names of the group outcomes of ``group_outcomes``, in the order of tables and figures.
GROUP_OUTCOMES = ("rupture_rate", "resolution_rate", "dropout", "symptom_change", "recovery", "resolution_stage")

# --- per patient ---------------------------------------------------------------------------------------------


def reliable_change_index(symptom_change: np.ndarray | pd.Series, params: Mapping[str, float]) -> np.ndarray:
    """Jacobson & Truax reliable change index of a symptom change (negative = improvement).

    ``SEM = symptom_scale_sd * sqrt(1 - symptom_reliability)``,
    ``RCI = (post - pre) / (sqrt(2) * SEM)``: the model's own rule
    (``rules.reliable_change_index``, which the good-enough ending reads too).

    Args:
        symptom_change: ``symptom_post - symptom_pre`` of each patient.
        params: Parameter values with ``symptom_scale_sd`` and ``symptom_reliability``.
    """
    change = np.asarray(symptom_change, dtype=np.float64)
    return reliable_change_index_rule(change, float(params["symptom_scale_sd"]), float(params["symptom_reliability"]))


def reliably_improved(rci: np.ndarray | pd.Series) -> np.ndarray:
    """Whether each patient reliably improved: RCI below ``RCI_CRITICAL``."""
    return rci < RCI_CRITICAL


def recovered(
    rci: np.ndarray | pd.Series, symptom_post: np.ndarray | pd.Series, params: Mapping[str, float]
) -> np.ndarray:
    """Recovery (Jacobson & Truax): reliable improvement and a post score below ``recovery_cutoff``."""
    return reliably_improved(rci) & (symptom_post < params["recovery_cutoff"])


def mean_resolution_stage(stage_sum: np.ndarray, stage_sessions: np.ndarray) -> np.ndarray:
    """Mean deepest resolution stage over the sessions with an episode; 0 for a patient without one.

    Args:
        stage_sum: Sum over the course of each session's deepest stage (0 without an episode).
        stage_sessions: Sessions with an episode.
    """
    return np.divide(stage_sum, stage_sessions, out=np.zeros_like(stage_sum), where=stage_sessions > 0)


def stage_where_episode(mean_stage: np.ndarray, n_episodes: np.ndarray) -> np.ndarray:
    """The mean resolution stage, NaN for patients without an episode (for averages over patients)."""
    return np.where(np.asarray(n_episodes) > 0, mean_stage, np.nan)


def complexity_group(n_episodes: np.ndarray, mean_stage: np.ndarray) -> pd.Categorical:
    """Course-level resolution complexity: none, shallow (< 2.5), middle (2.5-3) or deep (>= 3).

    Args:
        n_episodes: Resolution episodes over the course.
        mean_stage: ``mean_resolution_stage`` of the course.
    """
    codes = np.select([n_episodes == 0, mean_stage < 2.5, mean_stage < 3.0], [0, 1, 2], 3)
    return pd.Categorical.from_codes(codes, COMPLEXITY_GROUPS, ordered=True)


# --- per group -----------------------------------------------------------------------------------------------


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as floats, NaN where the denominator is 0."""
    return numerator.astype(float) / denominator.where(denominator > 0).astype(float)


def group_sums(patients: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per-group sums of the patient columns the group outcomes need.

    The sums add up: sums of batches of a group, summed again, are the group's
    sums, so a large dataset can be streamed in batches.

    Args:
        patients: Patients-table columns ``n_sessions_rupture_observed``,
            ``sessions_attended``, ``n_resolved``, ``n_episodes``, ``dropped_out``,
            ``symptom_change``, ``recovered``, ``mean_resolution_stage`` and the ``by`` columns.
        by: Columns that define the groups.

    Returns:
        One row per group: ``n`` (patients), ``with_episode`` (patients with an
        episode), ``stage_sum`` (sum of their mean stages) and the sums of the
        other columns.
    """
    df = patients.assign(
        n=1,
        dropped_out=patients["dropped_out"].astype("int64"),
        recovered=patients["recovered"].astype("int64"),
        stage_sum=patients["mean_resolution_stage"],  # 0 without an episode
        with_episode=(patients["n_episodes"] > 0).astype("int64"),
    ).drop(columns="mean_resolution_stage")
    return df.groupby(by).sum()


def group_outcomes(sums: pd.DataFrame) -> pd.DataFrame:
    """The group outcomes (``GROUP_OUTCOMES``) from the sums of ``group_sums``.

    - ``rupture_rate``: sessions with an observed rupture / sessions attended (session-weighted);
    - ``resolution_rate``: episodes resolved / episodes (episode-weighted);
    - ``dropout``, ``recovery``: share of patients who dropped out, who recovered;
    - ``symptom_change``: mean symptom change over patients (negative = better);
    - ``resolution_stage``: resolution depth, the mean over patients with an episode of their mean
      deepest stage (patient-weighted; ``session_resolution_depth`` is the session-weighted one).
    """
    n = sums["n"]
    return pd.DataFrame(
        {
            "rupture_rate": ratio(sums["n_sessions_rupture_observed"], sums["sessions_attended"]),
            "resolution_rate": ratio(sums["n_resolved"], sums["n_episodes"]),
            "dropout": ratio(sums["dropped_out"], n),
            "symptom_change": ratio(sums["symptom_change"], n),
            "recovery": ratio(sums["recovered"], n),
            "resolution_stage": ratio(sums["stage_sum"], sums["with_episode"]),
        }
    )


def session_resolution_depth(session_stage: pd.Series) -> float:
    """Resolution depth, session-weighted: mean deepest stage over the sessions with an episode (NaN if none).

    Args:
        session_stage: The ``resolution_stage`` of each session (0 without an episode).
    """
    return float(session_stage[session_stage > 0].mean())
