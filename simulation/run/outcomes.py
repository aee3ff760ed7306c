"""Outcomes declared once: what a course and a group of courses achieved.

``CATALOG`` names every outcome the package reports, once: its label, unit,
direction (is higher better or worse), kind (a value per patient, per group
of patients, per episode), weighting (what a group value averages over), the
range it can take and the smallest effect of interest on its scale. The main
job (``simulation.report``), the sweep summaries (``simulation.sweep``), the
explore commands (``simulation.explore``) and the hypothesis reports read it.

Per patient: the Jacobson & Truax reliable change index with one critical
value, recovery, the mean resolution stage and the complexity group. Per group
of patients (a run, a condition, a sweep cell): ``group_outcomes`` from the
sums of ``group_sums``. Every function takes plain arrays or pandas columns
(course sums or patients-table columns), so the tables, the virtual studies,
the sweep summaries, the main job and the figures compute an outcome the same
way.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.model.rules import RCI_CRITICAL
from simulation.model.rules import reliable_change_index as reliable_change_index_rule

#: Complexity groups by the mean resolution stage, in order (see ``complexity_group``).
COMPLEXITY_GROUPS = ("none", "shallow (<2.5)", "middle (2.5-3)", "deep (>=3)")
HIGHER_IS_BETTER = "higher is better"
HIGHER_IS_WORSE = "higher is worse"


@dataclass(frozen=True)
class Outcome:
    """One outcome, declared once.

    Attributes:
        name: Column name in every table.
        title: Short title (table headers, figure titles).
        label: What it is, in plain words (axis labels).
        unit: Its unit and scale.
        direction: ``HIGHER_IS_BETTER`` or ``HIGHER_IS_WORSE`` (for the patient).
        kind: What one value describes: ``per patient`` (a course), ``per group`` (a run or
            cell of patients) or ``per episode``.
        weighting: What a group value averages over: ``patients``, ``sessions`` or ``episodes``.
        share_of_patients: A 0/1 per patient whose group value is a share (compared as a risk
            difference, not a Cohen's d).
        bounds: The range the value can take.
        digits: Decimals in tables.
        smallest_effect: The smallest difference between groups that matters, on the outcome's
            scale (a verdict's threshold unless a spec says otherwise), and ``why`` that size.
        colour_map: Colour map of sweep heatmaps (red for harms, blue-green for benefits;
            darker = further from the good end).
    """

    name: str
    title: str
    label: str
    unit: str
    direction: str
    kind: str
    weighting: str
    share_of_patients: bool = False
    bounds: tuple[float, float] = (0.0, 1.0)
    digits: int = 3
    smallest_effect: float = 0.02
    why: str = "2 points of a share: below that no service would notice it"
    colour_map: str = "mako_r"

    @property
    def better(self) -> str:
        """Which sign of a difference is an improvement: ``higher`` or ``lower``."""
        return "higher" if self.direction == HIGHER_IS_BETTER else "lower"

    def describe(self) -> str:
        """``unit; higher is better`` (for tables and reports)."""
        return f"{self.unit}; {self.direction}"


_SHARE_OF_SESSIONS = "share of attended sessions (0-1)"
_SHARE_OF_PATIENTS = "share of patients (0-1)"
_STAGE = ("Safran & Muran stage (1-5)", (1.0, 5.0), 2, 0.1, "a tenth of a stage: one episode in ten a stage deeper")


def _stage_outcome(name: str, label: str, meaning: str, kind: str, weighting: str) -> Outcome:
    """A resolution depth on the stage scale: the two weightings differ only in what they average over."""
    unit, bounds, digits, smallest, why = _STAGE
    return Outcome(
        name, label, meaning, unit, HIGHER_IS_BETTER, kind, weighting,
        bounds=bounds, digits=digits, smallest_effect=smallest, why=why, colour_map="crest",
    )  # fmt: skip


_RUPTURES = {
    "rupture_rate": ("Rupture rate", "Sessions with an observed rupture (share)"),
    "patient_rupture_rate": ("Patient-reported rupture rate", "Sessions the patient reports a rupture in (share)"),
    "therapist_rupture_rate": (
        "Therapist-reported rupture rate",
        "Sessions the therapist reports a rupture in (share)",
    ),
}

#: Every outcome, in the order of tables and figures.
CATALOG: dict[str, Outcome] = {
    **{
        name: Outcome(
            name, title, label, _SHARE_OF_SESSIONS, HIGHER_IS_WORSE, "per group", "sessions", colour_map="rocket_r"
        )
        for name, (title, label) in _RUPTURES.items()
    },
    "resolution_rate": Outcome(
        "resolution_rate",
        "Resolution rate",
        "Episodes resolved (share)",
        "share of resolution episodes (0-1)",
        HIGHER_IS_BETTER,
        "per episode",
        "episodes",
    ),
    "resolution_stage": _stage_outcome(
        "resolution_stage",
        "Resolution depth",
        "Mean deepest resolution stage per patient with an episode (1-5)",
        "per patient",
        "patients",
    ),
    "session_resolution_depth": _stage_outcome(
        "session_resolution_depth",
        "Resolution depth per session",
        "Mean deepest resolution stage over sessions with an episode (1-5)",
        "per group",
        "sessions",
    ),
    "alliance_final": Outcome(
        "alliance_final",
        "Final alliance",
        "Alliance at the last attended session (0-1)",
        "alliance (0-1)",
        HIGHER_IS_BETTER,
        "per patient",
        "patients",
        smallest_effect=0.02,
        why="2 points of the 0-1 alliance scale, about a fifth of its between-patient SD",
    ),
    "symptom_change": Outcome(
        "symptom_change",
        "Symptom change",
        "Mean symptom change (negative = better)",
        "points on the 0-4 symptom scale (post - pre)",
        HIGHER_IS_WORSE,
        "per patient",
        "patients",
        bounds=(-4.0, 4.0),
        smallest_effect=0.05,
        why="0.05 points, about d = 0.08: a tenth of the change a course brings",
        colour_map="mako",
    ),
    "reliable_change": Outcome(
        "reliable_change",
        "Reliable change",
        "Patients reliably improved (share)",
        _SHARE_OF_PATIENTS,
        HIGHER_IS_BETTER,
        "per patient",
        "patients",
        share_of_patients=True,
    ),
    "recovery": Outcome(
        "recovery",
        "Recovery",
        "Patients recovered (share)",
        _SHARE_OF_PATIENTS,
        HIGHER_IS_BETTER,
        "per patient",
        "patients",
        share_of_patients=True,
    ),
    "dropout": Outcome(
        "dropout",
        "Dropout",
        "Patients dropped out (share)",
        _SHARE_OF_PATIENTS,
        HIGHER_IS_WORSE,
        "per patient",
        "patients",
        share_of_patients=True,
        colour_map="rocket_r",
    ),
}
#: Names of the group outcomes of a sweep cell (``group_outcomes`` computes them from ``group_sums``).
GROUP_OUTCOMES = ("rupture_rate", "resolution_rate", "dropout", "symptom_change", "recovery", "resolution_stage")
#: Names of the outcomes of one run of the explore commands (``group_outcomes`` with the informant columns).
RUN_OUTCOMES = (
    "rupture_rate",
    "patient_rupture_rate",
    "therapist_rupture_rate",
    "resolution_rate",
    "resolution_stage",
    "alliance_final",
    "symptom_change",
    "reliable_change",
    "recovery",
    "dropout",
)

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
    # The rule's Python code: numpy divides the whole array as the compiled rule would, and compiling
    # the rule for arrays took a third of a second of every first run.
    rule = getattr(reliable_change_index_rule, "py_func", reliable_change_index_rule)
    return rule(change, float(params["symptom_scale_sd"]), float(params["symptom_reliability"]))


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
        **({"reliable_change": patients["reliable_change"].astype("int64")} if "reliable_change" in patients else {}),
        stage_sum=patients["mean_resolution_stage"],  # 0 without an episode
        with_episode=(patients["n_episodes"] > 0).astype("int64"),
    ).drop(columns="mean_resolution_stage")
    return df.groupby(by).sum()


def group_outcomes(sums: pd.DataFrame) -> pd.DataFrame:
    """The group outcomes (``GROUP_OUTCOMES``, and ``RUN_OUTCOMES`` when the sums hold their columns).

    - ``rupture_rate``: sessions with an observed rupture / sessions attended (session-weighted);
      ``patient_rupture_rate`` and ``therapist_rupture_rate`` likewise from the informants' reports
      (``n_sessions_patient_rupture``, ``n_sessions_therapist_rupture``);
    - ``resolution_rate``: episodes resolved / episodes (episode-weighted);
    - ``dropout``, ``recovery``, ``reliable_change``: share of patients who dropped out, recovered,
      reliably improved;
    - ``symptom_change``, ``alliance_final``: means over patients (symptom change negative = better);
    - ``resolution_stage``: resolution depth, the mean over patients with an episode of their mean
      deepest stage (patient-weighted; ``session_resolution_depth`` is the session-weighted one).
    """
    n = sums["n"]
    out = {
        "rupture_rate": ratio(sums["n_sessions_rupture_observed"], sums["sessions_attended"]),
        "resolution_rate": ratio(sums["n_resolved"], sums["n_episodes"]),
        "dropout": ratio(sums["dropped_out"], n),
        "symptom_change": ratio(sums["symptom_change"], n),
        "recovery": ratio(sums["recovered"], n),
        "resolution_stage": ratio(sums["stage_sum"], sums["with_episode"]),
    }
    optional = {
        "patient_rupture_rate": ("n_sessions_patient_rupture", "sessions_attended"),
        "therapist_rupture_rate": ("n_sessions_therapist_rupture", "sessions_attended"),
        "alliance_final": ("alliance_final", "n"),
        "reliable_change": ("reliable_change", "n"),
    }
    for name, (numerator, denominator) in optional.items():
        if numerator in sums:
            out[name] = ratio(sums[numerator], sums[denominator])
    return pd.DataFrame(out)


def session_resolution_depth(session_stage: pd.Series) -> float:
    """Resolution depth, session-weighted: mean deepest stage over the sessions with an episode (NaN if none).

    Args:
        session_stage: The ``resolution_stage`` of each session (0 without an episode).
    """
    return float(session_stage[session_stage > 0].mean())
