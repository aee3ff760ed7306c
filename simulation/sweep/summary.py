"""Run outcomes and cell summaries of a sweep folder, and its ``summary.md``.

* ``run_outcomes``: one row per run (design point x replication) with the
  run's group outcomes (``simulation.run.outcomes``), from the ``patients``
  dataset, streamed in record batches so memory stays bounded;
* ``cell_summary``: per design point, each outcome's mean over the
  replications with a 95% t-interval (``t_interval``);
* ``cell_trajectories``: alliance and symptom by session of a few cells;
* ``write_summary``: ``summary.md``, what was run and the cell table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
from scipy import stats

from simulation.run import outcomes
from simulation.run.outcomes import Outcome

#: Possible range of the trajectory measures (bands are clipped to it).
TRAJECTORY_BOUNDS = {"alliance": (0.0, 1.0), "symptom": (0.0, 4.0)}
#: Columns that identify a run.
RUN = ["point", "replication"]
#: Columns of the patients dataset needed for the run outcomes.
PATIENT_COLUMNS = (
    "point",
    "replication",
    "n_sessions_rupture_observed",
    "sessions_attended",
    "n_resolved",
    "n_episodes",
    "dropped_out",
    "symptom_change",
    "recovered",
    "mean_resolution_stage",
)


#: Run outcomes of a sweep, in the order of tables and figures (declared once in ``simulation.run.outcomes``).
OUTCOMES: dict[str, Outcome] = {name: outcomes.CATALOG[name] for name in outcomes.GROUP_OUTCOMES}


# --- run outcomes ---------------------------------------------------------------------------


def run_outcomes(folder: Path, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """Outcomes of every run, from the ``patients`` dataset of a sweep folder.

    Per run, the group outcomes of ``simulation.run.outcomes.group_outcomes``
    over the run's patients (rates are ratios of sums; resolution stage is
    patient-weighted over the patients with an episode).

    Args:
        folder: A sweep folder.
        design: Its design points (default: read ``design.parquet``).

    Returns:
        One row per run, sorted: ``point``, ``replication``, the varied
        parameters, ``n_patients`` and the outcomes of ``OUTCOMES``.
    """
    if design is None:
        design = pd.read_parquet(Path(folder) / "design.parquet").set_index("point")
    sums = _run_sums(Path(folder) / "patients")
    out = outcomes.group_outcomes(sums).assign(n_patients=sums["n"].astype("int64")).reset_index()
    runs = design.join(out.set_index("point"), how="inner").reset_index()
    return runs.sort_values(["point", "replication"], ignore_index=True)[
        ["point", "replication", *design.columns, "n_patients", *OUTCOMES]
    ]


def _run_sums(dataset: Path) -> pd.DataFrame:
    """Per-run sums of the patient columns, streamed batch by batch."""
    if not dataset.is_dir():
        raise ValueError(f"{dataset} does not exist: the sweep has no patients table yet.")
    parts = [
        outcomes.group_sums(batch.to_pandas(), RUN)
        for batch in pads.dataset(dataset).to_batches(columns=list(PATIENT_COLUMNS))
    ]
    if not parts:
        raise ValueError(f"{dataset} holds no rows: run the sweep first.")
    return pd.concat(parts).groupby(level=RUN).sum().sort_index()


# --- cell summaries -------------------------------------------------------------------------


def t_interval(
    values: Sequence[float] | np.ndarray, level: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> tuple[float, float, float]:
    """Mean and t-interval of the mean of some values (NaN values are left out).

    Args:
        values: The run means.
        level: Coverage of the interval.
        bounds: Possible range of the values; the interval is clipped to it
            (a t-interval of a share near 0 can reach below 0).

    Returns:
        ``(mean, low, high)``; the bounds are NaN with fewer than two values.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if len(v) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, max(mean - half, bounds[0]), min(mean + half, bounds[1])


def cell_summary(runs: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Per design point: each outcome's mean over replications and its 95% t-interval.

    Intervals are clipped to the outcome's possible range (``Outcome.bounds``).

    Args:
        runs: Output of ``run_outcomes``.
        params: The varied parameters.

    Returns:
        One row per point: ``point``, the parameters, ``replications`` and, per
        outcome, columns ``<outcome>``, ``<outcome>_lo`` and ``<outcome>_hi``.
    """
    rows = []
    for point, group in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": point, **group.iloc[0][params].to_dict(), "replications": len(group)}
        for name, info in OUTCOMES.items():
            row[name], row[f"{name}_lo"], row[f"{name}_hi"] = t_interval(group[name], bounds=info.bounds)
        rows.append(row)
    return pd.DataFrame(rows)


# --- trajectories ---------------------------------------------------------------------------


def cell_trajectories(folder: Path, cells: list[int]) -> pd.DataFrame:
    """Per cell and session: mean alliance and symptom over replications, with 95% t-bands.

    Session 0 is intake (the patients' ``alliance_intake`` and ``symptom_pre``);
    later sessions average the patients still attending. A session nobody
    attended is left out. Bands are clipped to ``TRAJECTORY_BOUNDS``.

    Args:
        folder: A sweep folder.
        cells: Design points.

    Returns:
        Columns ``point``, ``measure`` (alliance or symptom), ``session``, ``mean``,
        ``lo``, ``hi`` and ``n`` (replications with a value).
    """
    columns = ["point", "replication", "session", "n_attending", "alliance", "symptom"]
    traj = pd.read_parquet(folder / "trajectories", columns=columns, filters=[("point", "in", cells)])
    traj = traj[traj["n_attending"] > 0].drop(columns="n_attending")
    both = pd.concat([_intake(folder, cells), traj], ignore_index=True)
    long = both.melt(["point", "replication", "session"], ["alliance", "symptom"], var_name="measure")
    groups = long.groupby(["point", "measure", "session"])["value"]
    rows = {
        key: (*t_interval(values, bounds=TRAJECTORY_BOUNDS[key[1]]), values.notna().sum()) for key, values in groups
    }
    out = pd.DataFrame(list(rows.values()), index=pd.MultiIndex.from_tuples(list(rows), names=groups.keys))
    return out.set_axis(["mean", "lo", "hi", "n"], axis=1).reset_index()


def _intake(folder: Path, cells: list[int]) -> pd.DataFrame:
    columns = ["point", "replication", "alliance_intake", "symptom_pre"]
    patients = pd.read_parquet(folder / "patients", columns=columns, filters=[("point", "in", cells)])
    means = patients.groupby(["point", "replication"], as_index=False)[columns[2:]].mean()
    return means.rename(columns={"alliance_intake": "alliance", "symptom_pre": "symptom"}).assign(session=0)


# --- summary.md -----------------------------------------------------------------------------


def write_summary(
    path: Path, manifest: dict[str, Any], summary: pd.DataFrame, params: list[str], figures: list[Path]
) -> Path:
    """Write the Markdown summary: what was run, the cell table and links to the figures.

    Args:
        path: Output ``.md`` file (figure links are relative to its folder).
        manifest: The sweep's manifest.
        summary: Output of ``cell_summary``.
        params: The varied parameters.
        figures: Figure paths to link.

    Returns:
        The path written.
    """
    lines = [*_header(manifest, params), "", "## Cells", ""]
    lines += _cell_table(summary, params)
    lines += ["", "## Figures", ""]
    lines += [f"- [{f.name}]({f.relative_to(path.parent).as_posix()})" for f in figures]
    path.write_text("\n".join(lines) + "\n")
    return path


def _header(manifest: dict[str, Any], params: list[str]) -> list[str]:
    spec = manifest["spec"]
    design = spec["design"]["type"] + (f", {spec['design']['samples']} samples" if "samples" in spec["design"] else "")
    lines = [f"# Sweep `{spec['name']}`", ""]
    if spec.get("description"):
        lines += [spec["description"], ""]
    lines += [
        f"- design: {design}; varied: {_vary_text(spec['vary'], params)}",
        f"- constants: {', '.join(f'{k} = {v:g}' for k, v in spec['constants'].items()) or 'none'}",
        f"- population: {spec['population']}; therapists: {spec['therapists']}",
        f"- {manifest['n_points']} design points x {spec['replications']} replications; "
        f"{spec['n_patients']} patients per run; {spec['n_sessions']} sessions; seed {spec['seed']}",
        "- each cell: mean over replications [95% t-interval of the run means]; no interval with one replication",
    ]
    if not manifest.get("complete", False):
        lines.append(f"- **incomplete sweep**: {len(manifest['chunks'])} of {manifest['n_chunks']} chunks finished")
    return lines


def _vary_text(vary: dict[str, dict[str, Any]], params: list[str]) -> str:
    """The [vary] table in words, in the spec's order (the manifest's keys are sorted)."""
    parts = []
    for name in params:
        entry = vary[name]
        if "values" in entry:
            parts.append(f"{name} in {{{', '.join(f'{v:g}' for v in entry['values'])}}}")
        else:
            steps = f" ({entry['steps']} steps)" if "steps" in entry else ""
            parts.append(f"{name} from {entry['low']:g} to {entry['high']:g}{steps}")
    return "; ".join(parts) or "none"


def _cell_table(summary: pd.DataFrame, params: list[str]) -> list[str]:
    head = ["point", *params, "runs", *(info.title for info in OUTCOMES.values())]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for _, row in summary.iterrows():
        cells = [str(int(row["point"])), *(tick(row[p]) for p in params), str(int(row["replications"]))]
        cells += [_estimate(row, name, info.digits) for name, info in OUTCOMES.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _estimate(row: pd.Series, name: str, digits: int) -> str:
    mean, lo, hi = row[name], row[f"{name}_lo"], row[f"{name}_hi"]
    if pd.isna(mean):
        return "-"
    if pd.isna(lo):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


# --- helpers --------------------------------------------------------------------------------


def tick(value: float) -> str:
    """A parameter value rounded to 3 significant digits (whole numbers in full)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"
