"""The default study (the "main job"): a mixed caseload across therapist skill and repertoire.

One population (preset ``mixed``: BPD, other PD, no PD) meets therapists of
three skill levels (``skill_mean`` 0.4 / 0.6 / 0.8), each either with
immediate 3RS strategies only (``exploratory_repertoire`` 0) or also with
exploratory metacommunication (1). Every condition runs ``simulate`` on the
same seed and the same patient ids (common random numbers), so conditions
differ only where the scenario differs.

``run_study`` writes into ``<out>/<name>/``: one parquet file per table (with
``condition``, ``skill_mean`` and ``repertoire`` columns), ``manifest.json``,
the figures and ``summary.md``. It builds everything in a hidden sibling
folder and renames it into place at the end, so an interrupted run never
leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from tqdm import tqdm

from simulation import __version__
from simulation.api import TABLES, resolve_parameters, simulate
from simulation.model.parameters import SPECS, ParameterError, Parameters
from simulation.model.taxonomy import DIAGNOSES, DIAGNOSIS_LABELS
from simulation.outputs import check_output, prepare_target, staging_folder
from simulation.run import outcomes

#: Therapist skill levels of the default study.
SKILL_LEVELS = (0.4, 0.6, 0.8)
#: Repertoire value -> short name used in condition names.
REPERTOIRES = {0: "immediate", 1: "exploratory"}
#: Folder names a study may use.
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Condition:
    """One therapist scenario of the study.

    Attributes:
        name: Value of the ``condition`` column, e.g. ``"skill 0.6, exploratory"``.
        skill_mean: Mean therapist skill.
        repertoire: ``"immediate"`` (immediate strategies only) or ``"exploratory"``
            (with exploratory metacommunication).
        overrides: Parameter overrides on top of the study's presets.
    """

    name: str
    skill_mean: float
    repertoire: str
    overrides: dict[str, float] = field(default_factory=dict)


def default_conditions(skills: tuple[float, ...] = SKILL_LEVELS) -> tuple[Condition, ...]:
    """Skill x repertoire conditions, skill-major (consecutive conditions share a skill level)."""
    return tuple(
        Condition(f"skill {skill:g}, {name}", skill, name, {"skill_mean": skill, "exploratory_repertoire": value})
        for skill in skills
        for value, name in REPERTOIRES.items()
    )


@dataclass
class StudyConfig:
    """What the study runs.

    Attributes:
        name: Study name, also the output folder name.
        seed: Root seed, shared by every condition.
        n_patients: Patients per condition (the same ids 0..n-1 in each).
        n_sessions: Planned course length.
        population: Population preset.
        therapists: Therapist preset the conditions modify.
        conditions: The therapist conditions.
        reference: Condition drawn in the single-condition figures.
        keep_events: Whether to keep the per-event table.
    """

    name: str = "default"
    seed: int = 2025
    n_patients: int = 400
    n_sessions: int = 30
    population: str = "mixed"
    therapists: str = "experienced"
    conditions: tuple[Condition, ...] = field(default_factory=default_conditions)
    reference: str = "skill 0.6, exploratory"
    keep_events: bool = True


def check_config(config: StudyConfig) -> dict[str, Parameters]:
    """Validate a study before anything is written.

    Returns:
        The checked parameters of each condition, by condition name.

    Raises:
        ParameterError: For a bad size, seed, preset or parameter value.
    """
    if not _NAME_PATTERN.fullmatch(config.name):
        raise ParameterError(
            f"Study name must be a plain folder name of letters, digits, '_', '.' or '-' (got {config.name!r})."
        )
    _check_int("patients", config.n_patients, 1, 1_000_000)
    _check_int("sessions", config.n_sessions, 1, 1000)
    _check_int("seed", config.seed, 0, 2**63 - 1)
    names = [c.name for c in config.conditions]
    if not names or len(set(names)) != len(names):
        raise ParameterError("A study needs at least one condition and distinct condition names.")
    if config.reference not in names:
        raise ParameterError(f"Reference condition must be one of: {', '.join(names)} (got {config.reference!r}).")
    return {c.name: resolve_parameters(config.population, config.therapists, c.overrides) for c in config.conditions}


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ParameterError(f"{name} must be a whole number between {low} and {high} (got {value!r}).")


def _label(table: pd.DataFrame, condition: Condition, categories: list[str]) -> pd.DataFrame:
    """The table with the condition columns in front."""
    front = pd.DataFrame(
        {
            "condition": pd.Categorical([condition.name] * len(table), categories=categories, ordered=True),
            "skill_mean": np.full(len(table), condition.skill_mean),
            "repertoire": pd.Categorical([condition.repertoire] * len(table), categories=list(REPERTOIRES.values())),
        },
        index=table.index,
    )
    return pd.concat([front, table], axis=1)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tables, keeping categorical columns categorical when categories differ."""
    if not frames:
        return pd.DataFrame()
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype):
            cats = list(dict.fromkeys(c for f in frames for c in f[col].cat.categories))
            ordered = frames[0][col].cat.ordered
            for f in frames:
                f[col] = f[col].cat.set_categories(cats, ordered=ordered)
    return pd.concat(frames, ignore_index=True)


def run_conditions(config: StudyConfig, bar: tqdm | None = None) -> dict[str, pd.DataFrame]:
    """Simulate every condition on the same seed and patient ids; stack the tables.

    Args:
        config: The study.
        bar: Optional progress bar, advanced once per condition.

    Returns:
        The four tables, each with ``condition``, ``skill_mean`` and ``repertoire`` columns.
    """
    categories = [c.name for c in config.conditions]
    patient_ids = np.arange(config.n_patients, dtype=np.int64)
    stacked: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for condition in config.conditions:
        if bar is not None:
            bar.set_description(f"simulating {condition.name}")
        res = simulate(
            config.population,
            config.therapists,
            n_sessions=config.n_sessions,
            seed=config.seed,
            params=condition.overrides,
            events=config.keep_events,
            patient_ids=patient_ids,
        )
        for name, table in res.tables().items():
            stacked[name].append(_label(table, condition, categories))
        if bar is not None:
            bar.update()
    return {name: _concat(frames) for name, frames in stacked.items()}


SUMMARY_HEADERS = {
    "condition": "Condition",
    "diagnosis": "Diagnosis",
    "patients": "Patients",
    "observed_rupture_pct": "Observed rupture %",
    "patient_reported_rupture_pct": "Patient-reported rupture %",
    "session_resolution_depth": outcomes.CATALOG["session_resolution_depth"].title + " (stage 1-5)",
    "resolution_rate_pct": "Resolved episodes %",
    "dropout_pct": "Dropout %",
    "recovered_pct": "Recovered %",
    "symptom_change": "Symptom change",
}


def summary_table(sessions: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Key outcomes per condition and diagnosis (plus all diagnoses together).

    Returns:
        One row per (condition, diagnosis) with patients, observed and
        patient-reported rupture rates (% of attended sessions), resolution depth
        per session (mean deepest stage over sessions with an episode), resolution rate (% of episodes
        resolved), dropout %, recovered % and mean symptom change.
    """
    keys = ["condition", "patient_id"]
    s = sessions.merge(patients[[*keys, "diagnosis"]], on=keys, how="left", validate="many_to_one")
    rows = []
    for diag in (*DIAGNOSES, "all"):
        ss = s if diag == "all" else s[s["diagnosis"] == diag]
        pp = patients if diag == "all" else patients[patients["diagnosis"] == diag]
        by_s, by_p = ss.groupby("condition", observed=True), pp.groupby("condition", observed=True)
        part = pd.DataFrame(
            {
                "patients": by_p.size(),
                "observed_rupture_pct": 100 * by_s["rupture_observed"].mean(),
                "patient_reported_rupture_pct": 100 * by_s["patient_rupture_reported"].mean(),
                "session_resolution_depth": by_s["resolution_stage"].agg(outcomes.session_resolution_depth),
                "resolution_rate_pct": 100 * by_s["n_resolved"].sum() / by_s["n_episodes"].sum(),
                "dropout_pct": 100 * by_p["dropped_out"].mean(),
                "recovered_pct": 100 * by_p["recovered"].mean(),
                "symptom_change": by_p["symptom_change"].mean(),
            }
        )
        rows.append(part.reset_index().assign(diagnosis=diag))
    out = pd.concat(rows, ignore_index=True)
    out["condition"] = pd.Categorical(out["condition"], categories=sessions["condition"].cat.categories, ordered=True)
    out["diagnosis"] = pd.Categorical(out["diagnosis"], categories=[*DIAGNOSES, "all"], ordered=True)
    return out.sort_values(["condition", "diagnosis"]).reset_index(drop=True)[list(SUMMARY_HEADERS)]


def markdown_table(df: pd.DataFrame, headers: dict[str, str], digits: int = 1) -> str:
    """A pandas table as a GitHub markdown table (numbers rounded to ``digits``, symptom change to 2)."""

    def cell(col: str, value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return "-" if np.isnan(value) else f"{value:.{2 if col == 'symptom_change' else digits}f}"
        return str(value)

    lines = [
        "| " + " | ".join(headers[c] for c in df.columns) + " |",
        "|" + "|".join("---" if c in ("condition", "diagnosis") else "---:" for c in df.columns) + "|",
    ]
    for record in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(df.columns, record, strict=True)) + " |")
    return "\n".join(lines)


def summary_markdown(config: StudyConfig, summary: pd.DataFrame, row_counts: dict[str, int], seconds: float) -> str:
    """Text of ``summary.md``: what was run, the outcome table and links to the figures."""
    from simulation.report.figures import FIGURES  # plotting libraries load only when a study runs

    conds = "\n".join(
        f"- **{c.name}**: " + ", ".join(f"`{k}={v:g}`" for k, v in c.overrides.items()) for c in config.conditions
    )
    labels = "; ".join(f"`{d}` = {DIAGNOSIS_LABELS[d]}" for d in DIAGNOSES)
    figures = "\n".join(f"- [{name}]({name}): {caption}" for name, caption in FIGURES.items())
    counts = ", ".join(f"{name} {n:,}" for name, n in row_counts.items())
    return f"""# Study `{config.name}`

rupture-sim {__version__}. Population preset `{config.population}`, therapist preset `{config.therapists}`,
{config.n_patients} patients per condition (the same patient ids 0-{config.n_patients - 1} and seed
{config.seed} in every condition: common random numbers), {config.n_sessions} planned sessions.
Run time {seconds:.1f} s. Rows: {counts}.

## Conditions

{conds}

`immediate` = immediate 3RS strategies only; `exploratory` = with exploratory metacommunication.
The figures that show one condition use **{config.reference}**.

## Key outcomes

Rupture rates are % of attended sessions (observer: a 3RS marker rated at or above the salience threshold;
patient: post-session questionnaire). Resolution depth per session is the mean over the sessions with a
resolution episode of the deepest Safran & Muran stage (1-5) reached (session-weighted: a patient with many
episodes counts more; the explore commands' resolution depth is patient-weighted). Resolved episodes % =
resolved / all episodes. Recovered = reliable improvement and below the clinical cut-off. Symptom change =
post - pre on the 0-4 scale (negative = better).
Diagnoses: {labels}.

{markdown_table(summary, SUMMARY_HEADERS)}

## Figures

{figures}

## Files

`sessions.parquet`, `patients.parquet`, `events.parquet`, `therapists.parquet` (each with the columns
`condition`, `skill_mean`, `repertoire` in front), `manifest.json` (parameters of every condition, versions,
row counts).
"""


def manifest(
    config: StudyConfig,
    params: dict[str, Parameters],
    row_counts: dict[str, int],
    started: datetime,
    figures: list[str],
) -> dict[str, Any]:
    """Everything needed to reproduce and identify the run."""
    return {
        "study": config.name,
        "package": "rupture-sim",
        "version": __version__,
        "seed": config.seed,
        "n_patients": config.n_patients,
        "n_sessions": config.n_sessions,
        "population": config.population,
        "therapists": config.therapists,
        "reference_condition": config.reference,
        "common_random_numbers": True,
        "events_kept": config.keep_events,
        "conditions": [
            {
                "name": c.name,
                "skill_mean": c.skill_mean,
                "repertoire": c.repertoire,
                "overrides": c.overrides,
                "parameters": params[c.name].as_dict(),
                "changed_from_defaults": {k: v for k, v in params[c.name].as_dict().items() if v != SPECS[k].default},
            }
            for c in config.conditions
        ],
        "row_counts": row_counts,
        "files": [f"{name}.parquet" for name in TABLES] + ["summary.md", *figures],
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def publish(figures: list[Path], folder: Path) -> list[Path]:
    """Copy figures into ``folder`` (e.g. ``docs/figures`` for the README)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(path, folder / path.name)) for path in figures]


def run_study(
    config: StudyConfig,
    out: str | Path = "results",
    overwrite: bool = False,
    quiet: bool = False,
    publish_figures: str | Path | None = None,
    overwrite_any: bool = False,
) -> Path:
    """Run the study and write its folder ``<out>/<name>``.

    Args:
        config: The study.
        out: Parent folder of the study folder.
        overwrite: Replace an existing study folder.
        quiet: No progress bar.
        publish_figures: Also copy the figures into this folder.
        overwrite_any: Replace the study folder even if this tool did not write it.

    Returns:
        The study folder.

    Raises:
        ParameterError: For a bad study setting (nothing is written).
        OutputError: If an output path cannot be used, or the study folder
            exists and may not be replaced (checked before any computation).
    """
    from simulation.report.figures import FIGURES, make_figures

    params = check_config(config)
    target = check_output("--out", out, parent=True) / config.name
    prepare_target("--out", target, "study", overwrite, overwrite_any)
    if publish_figures is not None:
        check_output("--publish-figures", publish_figures)
    started, clock = datetime.now(UTC), time.perf_counter()
    steps = len(config.conditions) + 1 + len(FIGURES) + 1
    with (
        staging_folder(target, overwrite, "study", overwrite_any) as folder,
        tqdm(total=steps, disable=quiet, file=sys.stderr, unit="step", leave=False) as bar,
    ):
        tables = run_conditions(config, bar)
        bar.set_description("writing tables")
        for name, table in tables.items():
            table.to_parquet(folder / f"{name}.parquet", index=False)
        bar.update()
        row_counts = {name: len(table) for name, table in tables.items()}
        bar.set_description("drawing figures")
        figures = make_figures(tables, folder, config.n_sessions, config.reference, on_figure=lambda _: bar.update())
        bar.set_description("writing summary")
        summary = summary_table(tables["sessions"], tables["patients"])
        seconds = time.perf_counter() - clock
        (folder / "summary.md").write_text(summary_markdown(config, summary, row_counts, seconds))
        info = manifest(config, params, row_counts, started, [p.name for p in figures])
        info["seconds"] = round(seconds, 2)
        (folder / "manifest.json").write_text(json.dumps(info, indent=2))
        bar.update()
    if publish_figures is not None:
        publish([target / p.name for p in figures], Path(publish_figures))
    return target
