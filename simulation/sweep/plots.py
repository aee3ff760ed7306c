"""Summaries and figures of a finished sweep folder.

``plot_sweep`` reads a sweep folder (see ``simulation.sweep.store``) and writes,
next to the data:

* ``runs.parquet``: one row per run (design point x replication) with the run's
  outcomes, computed from the ``patients`` dataset (see ``OUTCOMES``);
* ``summary.md``: what was run (from ``manifest.json``) and, per design point,
  each outcome's mean over the replications with a 95% t-interval;
* ``figures/``: one figure per outcome against the varied parameters (heatmap
  of a grid, scatter of an lhs or sobol design, line plot for one parameter,
  bars without [vary]) and the alliance and symptom trajectories of a few cells.

The parquet datasets are streamed in record batches, reading only the needed
columns, so memory stays bounded for large sweeps. Figures use matplotlib's
non-interactive Agg backend.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import seaborn as sns
from matplotlib.ticker import FuncFormatter
from scipy import stats

from simulation.run import outcomes

__all__ = [
    "OUTCOMES",
    "Outcome",
    "cell_summary",
    "cell_trajectories",
    "choose_cells",
    "plot_cell_trajectories",
    "plot_outcome_bars",
    "plot_outcome_heatmap",
    "plot_outcome_lines",
    "plot_outcome_scatter",
    "plot_sweep",
    "run_outcomes",
    "t_interval",
    "write_summary",
]

#: Resolution of the saved PNGs.
DPI = 120
#: Largest grid (per side) whose heatmap cells get their value written in.
ANNOTATE_MAX = 8
#: Trajectory cells drawn by default.
MAX_CELLS = 4
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


@dataclass(frozen=True)
class Outcome:
    """How one run outcome is shown.

    Attributes:
        label: Axis and colourbar label.
        title: Short title.
        cmap: Colour map of heatmaps and scatters: red maps for harms (darker =
            worse), blue-green maps for benefits (darker = better).
        digits: Decimals in tables and cell annotations.
        bounds: Possible range of the outcome; t-intervals are clipped to it.
    """

    label: str
    title: str
    cmap: str
    digits: int = 3
    bounds: tuple[float, float] = (0.0, 1.0)


#: Run outcomes, in the order of tables and figures.
OUTCOMES: dict[str, Outcome] = {
    "rupture_rate": Outcome("Sessions with an observed rupture (share)", "Rupture rate", "rocket_r"),
    "resolution_rate": Outcome("Episodes resolved (share)", "Resolution rate", "mako_r"),
    "dropout": Outcome("Patients dropped out (share)", "Dropout", "rocket_r"),
    "symptom_change": Outcome("Mean symptom change (negative = better)", "Symptom change", "mako", bounds=(-4.0, 4.0)),
    "recovery": Outcome("Patients recovered (share)", "Recovery", "mako_r"),
    "resolution_stage": Outcome("Mean deepest resolution stage (1-5)", "Resolution stage", "crest", 2, (1.0, 5.0)),
}


# --- public entry point ---------------------------------------------------------------------


def plot_sweep(folder: Path, x: str | None = None, y: str | None = None, cells: list[int] | None = None) -> list[Path]:
    """Write ``runs.parquet``, ``summary.md`` and the figures of a sweep folder.

    Args:
        folder: A sweep folder written by ``run_sweep``.
        x: Varied parameter on the horizontal axis (default: the first varied one).
        y: Varied parameter on the vertical axis (default: the first other varied one).
        cells: Design points whose trajectories are drawn (default: up to four
            corners of the x/y plane, or the ends of the one varied parameter).

    Returns:
        Paths of the figures written (PNG), outcome figures first.

    Raises:
        ValueError: If the folder holds no results, or ``x``, ``y`` or ``cells``
            name no varied parameter or design point.
    """
    folder = Path(folder)
    manifest = _read_json(folder / "manifest.json")
    design = pd.read_parquet(folder / "design.parquet").set_index("point")
    params = list(design.columns)
    x, y = _axes(params, x, y)
    runs = run_outcomes(folder, design)
    runs.to_parquet(folder / "runs.parquet", index=False)
    done = design.loc[runs["point"].unique()]  # all points, unless the sweep is unfinished
    cells = _check_cells(cells, done) if cells is not None else choose_cells(done, x, y)
    summary = cell_summary(runs, params)
    figures = _outcome_figures(summary, runs, manifest, x, y, folder / "figures")
    figures.append(plot_cell_trajectories(folder, design, cells, folder / "figures" / "trajectories.png"))
    write_summary(folder / "summary.md", manifest, summary, params, figures)
    return figures


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path.parent} is not a sweep folder (no {path.name}).") from None


def _axes(params: list[str], x: str | None, y: str | None) -> tuple[str | None, str | None]:
    """The parameters on the x and y axes (None where there are too few varied parameters)."""
    for name in (x, y):
        if name is not None and name not in params:
            raise ValueError(
                f"{name!r} is not a varied parameter of this sweep (varied: {', '.join(params) or 'none'})."
            )
    if x is not None and x == y:
        raise ValueError(f"x and y must be different parameters (both are {x!r}).")
    x = x or next((p for p in params if p != y), None)
    y = y or next((p for p in params if p != x), None)
    if x is None:  # only y was given, and it is the one varied parameter
        return y, None
    return x, y


def _check_cells(cells: Iterable[int], done: pd.DataFrame) -> list[int]:
    """The chosen cells, checked against the design points with finished runs."""
    chosen = [int(c) for c in cells]
    unknown = [c for c in chosen if c not in done.index]
    if unknown or not chosen:
        raise ValueError(
            f"cells must be design points with results, 0..{done.index.max()} (got {chosen}; unknown: {unknown})."
        )
    return list(dict.fromkeys(chosen))


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


# --- outcome figures ------------------------------------------------------------------------


def _outcome_figures(
    summary: pd.DataFrame, runs: pd.DataFrame, manifest: dict[str, Any], x: str | None, y: str | None, out: Path
) -> list[Path]:
    """The figures of the outcomes against the varied parameters."""
    _style()
    design = manifest["spec"]["design"]["type"]
    if x is None:
        return [plot_outcome_bars(summary, runs, out / "outcomes.png")]
    if y is None:
        return [plot_outcome_lines(summary, x, out / f"outcomes_by_{x}.png")]
    draw = plot_outcome_heatmap if design == "grid" else plot_outcome_scatter
    return [draw(summary, name, x, y, out / f"{name}.png") for name in OUTCOMES]


def plot_outcome_heatmap(summary: pd.DataFrame, outcome: str, x: str, y: str, path: Path) -> Path:
    """Heatmap of an outcome's cell means over two parameters of a grid.

    Other varied parameters are averaged over (a mean of cell means).

    Args:
        summary: Output of ``cell_summary``.
        outcome: A key of ``OUTCOMES``.
        x: Parameter on the horizontal axis.
        y: Parameter on the vertical axis.
        path: Output PNG.

    Returns:
        The path written.
    """
    info = OUTCOMES[outcome]
    table = summary.pivot_table(index=y, columns=x, values=outcome, aggfunc="mean", dropna=False)
    table = table.sort_index(ascending=False)  # low y at the bottom
    annotate = max(table.shape) <= ANNOTATE_MAX
    width, height = (1.1, 0.8) if annotate else (0.5, 0.4)
    fig, ax = plt.subplots(figsize=(max(6.4, width * table.shape[1] + 3.2), max(4.8, height * table.shape[0] + 2.2)))
    vmin, vmax = _color_limits(summary[outcome], info)
    sns.heatmap(
        table,
        ax=ax,
        cmap=info.cmap,
        vmin=vmin,
        vmax=vmax,
        annot=annotate,
        fmt=f".{info.digits}f",
        linewidths=0.5 if annotate else 0,
        cbar_kws={"label": info.label},
        xticklabels=[_tick(v) for v in table.columns],
        yticklabels=[_tick(v) for v in table.index],
    )
    ax.set(xlabel=x, ylabel=y, facecolor="0.9")  # grey = no results (unfinished sweep)
    ax.grid(False)
    ax.tick_params(axis="y", rotation=0)
    ax.set_title(f"{info.title}: {_reps_note(summary)}" + _averaged_note(summary, x, y), fontsize=11)
    return _save(fig, path)


def plot_outcome_scatter(summary: pd.DataFrame, outcome: str, x: str, y: str, path: Path) -> Path:
    """Scatter of the design points of an lhs or sobol design, coloured by an outcome's cell mean.

    Args:
        summary: Output of ``cell_summary``.
        outcome: A key of ``OUTCOMES``.
        x: Parameter on the horizontal axis.
        y: Parameter on the vertical axis.
        path: Output PNG.

    Returns:
        The path written.
    """
    info = OUTCOMES[outcome]
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    size = float(np.clip(9000 / max(len(summary), 1), 25, 220))
    vmin, vmax = _color_limits(summary[outcome], info)
    dots = ax.scatter(
        summary[x],
        summary[y],
        c=summary[outcome],
        cmap=info.cmap,
        vmin=vmin,
        vmax=vmax,
        s=size,
        edgecolors="0.3",
        linewidths=0.5,
    )
    fig.colorbar(dots, ax=ax, label=info.label)
    ax.set(xlabel=x, ylabel=y)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
    ax.set_title(f"{info.title}: {_reps_note(summary)}" + _averaged_note(summary, x, y, sampled=True), fontsize=11)
    return _save(fig, path)


def plot_outcome_lines(summary: pd.DataFrame, x: str, path: Path) -> Path:
    """Every outcome's cell mean against the one varied parameter, with 95% t-bands.

    Args:
        summary: Output of ``cell_summary``.
        x: The varied parameter.
        path: Output PNG.

    Returns:
        The path written.
    """
    data = summary.sort_values(x)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharex=True)
    for ax, (name, info) in zip(axes.flat, OUTCOMES.items(), strict=True):
        ax.plot(data[x], data[name], marker="o", color="C0")
        ax.fill_between(data[x], data[f"{name}_lo"], data[f"{name}_hi"], color="C0", alpha=0.2, lw=0)
        ax.set_title(info.title, fontsize=11)
        ax.set_ylabel(info.label, fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
    for ax in axes[-1]:
        ax.set_xlabel(x)
    fig.suptitle(f"Outcomes by {x} (lines: mean over replications; bands: 95% t-interval)")
    fig.tight_layout()
    return _save(fig, path)


def plot_outcome_bars(summary: pd.DataFrame, runs: pd.DataFrame, path: Path) -> Path:
    """Every outcome of a sweep without varied parameters: mean bar, 95% t-interval and the runs.

    Args:
        summary: Output of ``cell_summary`` (one row: the single design point).
        runs: Output of ``run_outcomes``.
        path: Output PNG.

    Returns:
        The path written.
    """
    fig, axes = plt.subplots(2, 3, figsize=(11, 7.5))
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(runs))
    for ax, (name, info) in zip(axes.flat, OUTCOMES.items(), strict=True):
        mean, lo, hi = (float(summary[c].iloc[0]) for c in (name, f"{name}_lo", f"{name}_hi"))
        ax.bar([0], [mean], color="C0", alpha=0.5, width=0.5)
        if not math.isnan(lo):
            ax.errorbar([0], [mean], yerr=[[mean - lo], [hi - mean]], fmt="none", color="0.2", capsize=8, lw=1.5)
        ax.scatter(jitter, runs[name], s=14, color="0.2", zorder=3)
        ax.set_xlim(-0.75, 0.75)
        ax.set_xticks([0], [f"{len(runs)} run{'s' if len(runs) > 1 else ''}"])
        ax.set_title(info.title, fontsize=11)
        ax.set_ylabel(info.label, fontsize=9)
    fig.suptitle("Outcomes (bars: mean over replications; whiskers: 95% t-interval; dots: runs)")
    fig.tight_layout()
    return _save(fig, path)


def _color_limits(values: pd.Series, info: Outcome) -> tuple[float | None, float | None]:
    """Colour scale limits: automatic, or the outcome's whole range if it is the same in every cell.

    (A constant outcome, e.g. no dropout anywhere in a short course, would
    otherwise get a scale around the value that includes impossible values.)
    """
    low, high = values.min(), values.max()
    if pd.isna(low) or low < high:
        return None, None
    return info.bounds


def _reps_note(summary: pd.DataFrame) -> str:
    return f"mean over {_count(summary['replications'].min(), summary['replications'].max(), 'replication')}"


def _count(low: int, high: int, noun: str) -> str:
    """``"3 replications"``, ``"1 replication"`` or ``"2-5 replications"``."""
    number = f"{high}" if low == high else f"{low}-{high}"
    return f"{number} {noun}{'s' if high != 1 else ''}"


def _averaged_note(summary: pd.DataFrame, x: str, y: str, sampled: bool = False) -> str:
    others = [c for c in _params_of(summary) if c not in (x, y)]
    if not others:
        return ""
    verb = "varying" if sampled else "mean over"
    return f"\n({verb} {', '.join(others)})"


def _params_of(summary: pd.DataFrame) -> list[str]:
    columns = list(summary.columns)
    return columns[1 : columns.index("replications")]


# --- trajectories ---------------------------------------------------------------------------


def choose_cells(design: pd.DataFrame, x: str | None, y: str | None) -> list[int]:
    """Default trajectory cells: the points nearest the corners of the x/y plane.

    With one varied parameter, the points at its lowest and highest value;
    without any, the single point. Distances are measured on each parameter's
    range scaled to [0, 1]; ties go to the lowest point number.

    Args:
        design: Design points (index ``point``).
        x: Parameter of the horizontal axis (None without varied parameters).
        y: Parameter of the vertical axis (None with fewer than two).

    Returns:
        Up to ``MAX_CELLS`` distinct point numbers.
    """
    if x is None:
        return [int(design.index[0])]
    axes = [a for a in (x, y) if a is not None]
    unit = (design[axes] - design[axes].min()) / (design[axes].max() - design[axes].min()).replace(0, 1)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * len(axes))).T.reshape(-1, len(axes))
    chosen = [int(((unit - corner) ** 2).sum(axis=1).idxmin()) for corner in corners]
    return list(dict.fromkeys(chosen))[:MAX_CELLS]


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


def plot_cell_trajectories(folder: Path, design: pd.DataFrame, cells: list[int], path: Path) -> Path:
    """Alliance and symptom by session for some design points, with 95% bands across replications.

    Args:
        folder: A sweep folder.
        design: Its design points (index ``point``).
        cells: Design points to draw, one line each.
        path: Output PNG.

    Returns:
        The path written.
    """
    _style()
    data = cell_trajectories(folder, cells)
    palette = dict(zip(cells, _distinct_colors(len(cells)), strict=True))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (("alliance", "Latent alliance (0-1)", "Alliance"), ("symptom", "Symptom scale (0-4)", "Symptoms"))
    for ax, (measure, ylabel, title) in zip(axes, panels, strict=True):
        for cell in cells:
            line = data[(data["point"] == cell) & (data["measure"] == measure)]
            ax.plot(line["session"], line["mean"], color=palette[cell], label=_cell_name(design, cell), lw=1.8)
            ax.fill_between(line["session"], line["lo"], line["hi"], color=palette[cell], alpha=0.13, lw=0)
        ax.set(title=title, xlabel="Session (0 = intake)", ylabel=ylabel)
    fig.suptitle("Alliance and symptoms of selected cells")
    reps = data.loc[data["session"] == 0, "n"]
    caption = (
        f"Lines: mean over {_count(reps.min(), reps.max(), 'replication')}; bands: 95% t-interval across "
        "replications (no band with a single one). Sessions after intake average the patients still in therapy."
    )
    _legend_below(fig, axes[0], caption)
    return _save(fig, path)


def _legend_below(fig: plt.Figure, ax: plt.Axes, caption: str) -> None:
    """A figure legend of ``ax``'s lines under the panels, and a caption under the legend."""
    handles, labels = ax.get_legend_handles_labels()
    ncol = 2 if max(len(label) for label in labels) > 30 else min(len(labels), 4)
    fig.legend(handles, labels, loc="upper center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.02))
    rows = math.ceil(len(labels) / ncol)
    fig.text(0.5, -0.03 - 0.06 * rows, caption, ha="center", fontsize=9)
    fig.tight_layout()


def _distinct_colors(n: int) -> list[tuple[float, float, float]]:
    """Colour-blind-safe colours, the most distinct first (blue, vermilion, green, pink, ...)."""
    base = sns.color_palette("colorblind", 10)
    order = [0, 3, 2, 4, 1, 9, 5, 6, 7, 8]
    return [base[order[i % 10]] for i in range(n)]


def _cell_name(design: pd.DataFrame, cell: int) -> str:
    values = ", ".join(f"{name} = {_tick(value)}" for name, value in design.loc[cell].items())
    return f"point {cell}: {values}" if values else f"point {cell}"


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
        cells = [str(int(row["point"])), *(_tick(row[p]) for p in params), str(int(row["replications"]))]
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


def _tick(value: float) -> str:
    """A parameter value rounded to 3 significant digits (whole numbers in full)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.0)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path
