"""Figures of a simulated study, drawn with seaborn from the tidy tables.

Every function takes tidy tables (the ``sessions`` and ``patients`` tables of
``simulate`` or of a study, optionally with a ``condition`` column) and an
output path, writes one PNG and returns its path. The figures use matplotlib's
non-interactive Agg backend, so they render on machines without a display.

``make_figures`` draws the whole set for a study.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from simulation.model.taxonomy import DIAGNOSES, DIAGNOSIS_LABELS
from simulation.run import outcomes
from simulation.style import apply_theme, save

#: File names of the figures ``make_figures`` writes, with a one-line caption each.
FIGURES: dict[str, str] = {
    "rupture_rates.png": "Share of sessions with a rupture, by session and diagnosis: observer vs patient report.",
    "trajectories_by_complexity.png": "Mean alliance and symptom over sessions by the course's resolution complexity.",
    "dropout.png": "Share of patients still in therapy by session, by diagnosis and therapist condition.",
    "outcomes_by_condition.png": "Recovery, dropout, resolution depth and resolution rate by therapist condition.",
    "resolution_stages.png": "Deepest resolution stage reached in sessions with a resolution episode.",
}
#: Short diagnosis labels for axes with little room.
SHORT_DIAGNOSIS = {"no_pd": "No PD", "bpd": "BPD", "other_pd": "Other PD"}
REPORTERS = {
    "rupture_observed": "Observer (3RS, salient marker)",
    "patient_rupture_reported": "Patient (post-session questionnaire)",
}


def _select(table: pd.DataFrame, condition: str | None) -> pd.DataFrame:
    """Rows of one condition (all rows if ``condition`` is None or there is no condition column)."""
    if condition is None or "condition" not in table.columns:
        return table
    rows = table[table["condition"] == condition]
    if rows.empty:
        raise ValueError(f"No rows for condition {condition!r}.")
    return rows


def _keys(table: pd.DataFrame) -> list[str]:
    return ["condition", "patient_id"] if "condition" in table.columns else ["patient_id"]


def _with_patient_columns(sessions: pd.DataFrame, patients: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sessions with some patient-level columns joined on (condition and) patient id."""
    keys = _keys(sessions)
    return sessions.merge(patients[keys + columns], on=keys, how="left", validate="many_to_one")


def _conditions(table: pd.DataFrame) -> list[str]:
    """Conditions in their categorical order (or of appearance); ``["all"]`` without a condition column."""
    if "condition" not in table.columns:
        return ["all"]
    col = table["condition"]
    present = set(col.unique())
    order = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else list(pd.unique(col))
    return [c for c in order if c in present]


def _condition_palette(conditions: list[str]) -> dict[str, tuple[float, float, float]]:
    """Paired colours: consecutive conditions (e.g. one skill level, two repertoires) share a hue."""
    colors = sns.color_palette("Paired", max(len(conditions), 2))
    return dict(zip(conditions, colors, strict=False))


def _title_suffix(condition: str | None) -> str:
    return f" (condition: {condition})" if condition else ""


def plot_rupture_rates(
    sessions: pd.DataFrame, patients: pd.DataFrame, path: str | Path, condition: str | None = None
) -> Path:
    """Rupture rate per session by diagnosis: observer coding vs patient report, side by side.

    Args:
        sessions: Sessions table.
        patients: Patients table (for the diagnosis).
        path: Output PNG.
        condition: Draw only this condition of a study (default: all rows).

    Returns:
        The path written.
    """
    apply_theme()
    df = _with_patient_columns(_select(sessions, condition), _select(patients, condition), ["diagnosis"])
    df["Diagnosis"] = df["diagnosis"].astype(str).map(DIAGNOSIS_LABELS)
    hue_order = [DIAGNOSIS_LABELS[d] for d in DIAGNOSES if d in set(df["diagnosis"].astype(str))]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, (column, reporter) in zip(axes, REPORTERS.items(), strict=True):
        data = df[["session", "Diagnosis"]].assign(rate=df[column].astype(float) * 100)
        sns.lineplot(
            data=data,
            x="session",
            y="rate",
            hue="Diagnosis",
            hue_order=hue_order,
            errorbar=("ci", 95),
            n_boot=500,
            seed=0,
            marker="o",
            markersize=4,
            ax=ax,
        )
        ax.set(title=reporter, xlabel="Session", ylabel="Sessions with a rupture (%)", ylim=(0, 100))
        ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.06))
    fig.suptitle("Ruptures per session by diagnosis: observer vs patient report" + _title_suffix(condition))
    fig.text(0.5, -0.12, "Lines: share of attended sessions; bands: 95% bootstrap CI.", ha="center", fontsize=9)
    fig.tight_layout()
    return save(fig, path)


def _with_intake(sessions: pd.DataFrame, patients: pd.DataFrame, group: str) -> pd.DataFrame:
    """Session rows plus a session-0 row per patient holding the intake alliance and symptom."""
    keys = _keys(sessions)
    cols = [*keys, "session", "alliance", "symptom"]
    intake = patients[keys].assign(session=0, alliance=patients["alliance_intake"], symptom=patients["symptom_pre"])
    rows = pd.concat([intake[cols], sessions[cols]], ignore_index=True)
    return rows.merge(patients[[*keys, group]], on=keys, how="left", validate="many_to_one")


def plot_trajectories_by_complexity(
    sessions: pd.DataFrame, patients: pd.DataFrame, path: str | Path, condition: str | None = None
) -> Path:
    """Mean alliance and symptom over sessions by the course's resolution complexity group.

    Session 0 is intake. Later sessions average the patients still in therapy.

    Args:
        sessions: Sessions table.
        patients: Patients table (for ``complexity_group``).
        path: Output PNG.
        condition: Draw only this condition of a study (default: all rows).

    Returns:
        The path written.
    """
    apply_theme()
    patients = _select(patients, condition)
    df = _with_intake(_select(sessions, condition), patients, "complexity_group")
    counts = patients["complexity_group"].value_counts()
    groups = [g for g in patients["complexity_group"].cat.categories if counts.get(g, 0) > 0]
    names = {g: f"{g} (n={counts[g]})" for g in groups}
    df["Resolution complexity"] = df["complexity_group"].astype(str).map(names)
    hue_order = [names[g] for g in groups]
    palette = dict(zip(hue_order, sns.color_palette("viridis_r", len(hue_order)), strict=True))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (("alliance", "Latent alliance (0-1)", "Alliance"), ("symptom", "Symptom scale (0-4)", "Symptoms"))
    for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
        sns.lineplot(
            data=df,
            x="session",
            y=column,
            hue="Resolution complexity",
            hue_order=hue_order,
            palette=palette,
            errorbar=("ci", 95),
            n_boot=500,
            seed=0,
            ax=ax,
        )
        ax.set(title=title, xlabel="Session (0 = intake)", ylabel=ylabel)
        ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        title="Resolution complexity (mean deepest stage of sessions with an episode)",
        loc="lower center",
        ncol=len(labels),
        frameon=False,
        bbox_to_anchor=(0.5, -0.12),
    )
    fig.suptitle("Alliance and symptom trajectories by resolution complexity" + _title_suffix(condition))
    fig.text(
        0.5,
        -0.17,
        "Session 0 = intake; later sessions average the patients still in therapy. "
        "Bands: 95% bootstrap CI; small groups are noisy.",
        ha="center",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, path)


def _wilson(successes: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion."""
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def retention_curves(patients: pd.DataFrame, n_sessions: int) -> pd.DataFrame:
    """Share of patients still in therapy after each session, by condition and diagnosis.

    Patients are followed to the planned end (no censoring): a patient is out
    after session ``s`` if they dropped out after a session at or before ``s``.

    Args:
        patients: Patients table.
        n_sessions: Planned course length.

    Returns:
        Columns condition, diagnosis, session (0..n_sessions), n, retained, low, high.
    """
    df = patients.assign(condition=patients["condition"] if "condition" in patients.columns else "all")
    sessions = np.arange(n_sessions + 1)
    rows = []
    for (cond, diag), group in df.groupby(["condition", "diagnosis"], observed=True, sort=False):
        left_after = np.where(group["dropped_out"], group["sessions_attended"], n_sessions + 1).astype(int)
        n = np.full(len(sessions), float(len(group)))
        stayed = n - (left_after[None, :] <= sessions[:, None]).sum(axis=1)
        low, high = _wilson(stayed, n)
        rows.append(
            pd.DataFrame(
                {
                    "condition": cond,
                    "diagnosis": str(diag),
                    "session": sessions,
                    "n": n,
                    "retained": stayed / n,
                    "low": low,
                    "high": high,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def plot_dropout(patients: pd.DataFrame, path: str | Path, n_sessions: int | None = None) -> Path:
    """Survival-style curves: share of patients still in therapy by session, per diagnosis and condition.

    Args:
        patients: Patients table (with a ``condition`` column for a study).
        path: Output PNG.
        n_sessions: Planned course length (default: the most sessions anyone attended).

    Returns:
        The path written.
    """
    apply_theme()
    n_sessions = int(n_sessions or patients["sessions_attended"].max())
    curves = retention_curves(patients, n_sessions)
    conditions = _conditions(patients)
    palette = _condition_palette(conditions)
    diagnoses = [d for d in DIAGNOSES if d in set(curves["diagnosis"])]
    fig, axes = plt.subplots(1, len(diagnoses), figsize=(4.6 * len(diagnoses) + 1, 4.8), sharey=True, squeeze=False)
    for ax, diag in zip(axes[0], diagnoses, strict=True):
        for cond in conditions:
            c = curves[(curves["diagnosis"] == diag) & (curves["condition"] == cond)]
            ax.step(c["session"], 100 * c["retained"], where="post", color=palette[cond], label=cond, lw=1.8)
            ax.fill_between(
                c["session"], 100 * c["low"], 100 * c["high"], step="post", color=palette[cond], alpha=0.10, lw=0
            )
        n = int(curves.loc[curves["diagnosis"] == diag, "n"].iloc[0])
        ax.set(title=f"{DIAGNOSIS_LABELS[diag]} (n={n} per condition)", xlabel="Session", xlim=(0, n_sessions))
    axes[0, 0].set_ylabel("Still in therapy (%)")
    low = 100 * curves["low"].min()
    axes[0, 0].set_ylim(max(0.0, np.floor(low / 10) * 10 - 5), 101)
    _condition_legend(fig, axes[0, 0], conditions, -0.13)
    fig.suptitle("Retention over the course (dropout = leaving before the planned end); bands: 95% Wilson CI")
    fig.tight_layout()
    return save(fig, path)


def patient_outcomes(sessions: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Per-patient outcome columns used by ``plot_outcomes`` (percentages and resolution measures).

    Returns:
        The patients' keys and diagnosis, plus ``recovered_pct``, ``dropout_pct``,
        ``stage_mean`` / ``stage_sessions`` (mean deepest stage over sessions with
        an episode, and how many such sessions) and ``resolved_share`` /
        ``n_episodes`` (share of episodes resolved, and how many episodes).
    """
    keys = _keys(patients)
    stage_sessions = sessions[sessions["resolution_stage"] > 0].groupby(keys, observed=True).size()
    out = patients[[*keys, "diagnosis", "n_episodes", "n_resolved"]].join(
        stage_sessions.rename("stage_sessions"), on=keys
    )
    out["stage_mean"] = outcomes.stage_where_episode(patients["mean_resolution_stage"], patients["n_episodes"])
    out["recovered_pct"] = 100 * patients["recovered"].astype(float)
    out["dropout_pct"] = 100 * patients["dropped_out"].astype(float)
    out["resolved_share"] = 100 * out["n_resolved"] / out["n_episodes"].where(out["n_episodes"] > 0)
    out["stage_sessions"] = out["stage_sessions"].fillna(0)
    return out


def plot_outcomes(sessions: pd.DataFrame, patients: pd.DataFrame, path: str | Path) -> Path:
    """Key outcomes by diagnosis and therapist condition (bars: pooled means; whiskers: 95% bootstrap CI).

    Panels: recovered %, dropout %, mean deepest resolution stage per session
    with an episode (weighted by such sessions, i.e. pooled over sessions), and
    the share of resolution episodes that ended resolved (weighted by episodes).

    Args:
        sessions: Sessions table.
        patients: Patients table.
        path: Output PNG.

    Returns:
        The path written.
    """
    apply_theme()
    df = patient_outcomes(sessions, patients)
    conditions = _conditions(patients)
    df["condition"] = df["condition"].astype(str) if "condition" in df.columns else "all"
    df["Diagnosis"] = df["diagnosis"].astype(str).map(SHORT_DIAGNOSIS)
    order = [SHORT_DIAGNOSIS[d] for d in DIAGNOSES if d in set(df["diagnosis"].astype(str))]
    panels = (
        ("recovered_pct", None, "Recovered (%)", "Reliable change and below cut-off"),
        ("dropout_pct", None, "Dropped out (%)", "Left before the planned end"),
        ("stage_mean", "stage_sessions", "Mean deepest stage (1-5)", "Resolution depth per session with an episode"),
        ("resolved_share", "n_episodes", "Episodes resolved (%)", "Resolution rate (episodes reaching resolution)"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    palette = _condition_palette(conditions)
    for ax, (column, weights, ylabel, title) in zip(axes.flat, panels, strict=True):
        data = df.dropna(subset=[column])
        sns.barplot(
            data=data,
            x="Diagnosis",
            y=column,
            hue="condition",
            order=order,
            hue_order=conditions,
            palette=palette,
            weights=weights,
            errorbar=("ci", 95),
            n_boot=500,
            seed=0,
            ax=ax,
            err_kws={"linewidth": 1.2},
            capsize=0.1,
        )
        ax.set(title=title, xlabel="", ylabel=ylabel)
        ax.get_legend().remove()
    axes[1, 0].set_ylim(0, 5)
    _condition_legend(fig, axes[0, 0], conditions, -0.06)
    fig.suptitle("Outcomes by diagnosis and therapist condition")
    fig.tight_layout()
    return save(fig, path)


def plot_resolution_stages(sessions: pd.DataFrame, patients: pd.DataFrame, path: str | Path) -> Path:
    """Distribution of the deepest resolution stage per session with an episode, by diagnosis and repertoire.

    Without a ``repertoire`` column (a single run) all sessions form one group.

    Args:
        sessions: Sessions table (optionally with ``condition`` and ``repertoire`` columns).
        patients: Patients table (for the diagnosis).
        path: Output PNG.

    Returns:
        The path written.
    """
    apply_theme()
    df = _with_patient_columns(sessions[sessions["resolution_stage"] > 0], patients, ["diagnosis"])
    group = "repertoire" if "repertoire" in df.columns else None
    df["Strategies"] = df[group].astype(str) if group else "all"
    counts = df.groupby(["diagnosis", "Strategies", "resolution_stage"], observed=True).size()
    shares = (100 * counts / counts.groupby(level=[0, 1], observed=True).transform("sum")).rename("pct").reset_index()
    diagnoses = [d for d in DIAGNOSES if d in set(shares["diagnosis"].astype(str))]
    strategies = list(pd.unique(df["Strategies"]))
    fig, axes = plt.subplots(1, len(diagnoses), figsize=(4.4 * len(diagnoses) + 1, 4.6), sharey=True, squeeze=False)
    for ax, diag in zip(axes[0], diagnoses, strict=True):
        sns.barplot(
            data=shares[shares["diagnosis"].astype(str) == diag],
            x="resolution_stage",
            y="pct",
            hue="Strategies",
            hue_order=strategies,
            order=[1, 2, 3, 4, 5],
            palette="Set2",
            ax=ax,
        )
        ax.set(title=DIAGNOSIS_LABELS[diag], xlabel="Deepest stage in the session", ylabel="")
        ax.get_legend().remove()
    axes[0, 0].set_ylabel("Sessions with an episode (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if len(strategies) > 1:
        fig.legend(
            handles,
            labels,
            title="Therapist repertoire (all skill levels)",
            loc="lower center",
            ncol=len(labels),
            frameon=False,
            bbox_to_anchor=(0.5, -0.13),
        )
    fig.suptitle("Resolution complexity: how deep do resolution episodes go? (Safran & Muran stages 1-5)")
    fig.tight_layout()
    return save(fig, path)


def make_figures(
    tables: Mapping[str, pd.DataFrame],
    folder: str | Path,
    n_sessions: int,
    reference: str | None = None,
    on_figure: Callable[[str], None] | None = None,
) -> list[Path]:
    """Draw every figure of ``FIGURES`` into ``folder``.

    Args:
        tables: At least ``sessions`` and ``patients``.
        folder: Output folder.
        n_sessions: Planned course length.
        reference: Condition shown in the single-condition figures (rupture
            rates, trajectories); all rows if None.
        on_figure: Called with each file name after it is written (progress).

    Returns:
        The paths written, in ``FIGURES`` order.
    """
    folder = Path(folder)
    sessions, patients = tables["sessions"], tables["patients"]
    drawers: dict[str, Callable[[Path], Path]] = {
        "rupture_rates.png": lambda p: plot_rupture_rates(sessions, patients, p, condition=reference),
        "trajectories_by_complexity.png": lambda p: plot_trajectories_by_complexity(sessions, patients, p, reference),
        "dropout.png": lambda p: plot_dropout(patients, p, n_sessions=n_sessions),
        "outcomes_by_condition.png": lambda p: plot_outcomes(sessions, patients, p),
        "resolution_stages.png": lambda p: plot_resolution_stages(sessions, patients, p),
    }
    paths = []
    for name in FIGURES:
        paths.append(drawers[name](folder / name))
        if on_figure is not None:
            on_figure(name)
    return paths


def _condition_legend(fig: plt.Figure, ax: plt.Axes, conditions: list, y: float) -> None:
    """One legend of the therapist conditions below the panels (when there is more than one)."""
    handles, labels = ax.get_legend_handles_labels()
    if len(conditions) > 1:
        legend = {"title": "Therapist condition", "loc": "lower center", "ncol": min(len(labels), 6)}
        fig.legend(handles, labels, frameon=False, bbox_to_anchor=(0.5, y), **legend)
