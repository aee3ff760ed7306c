"""Figures of a finished sweep folder, and ``plot_sweep``, which writes them with the summaries.

``plot_sweep`` reads a sweep folder (see ``simulation.sweep.store``) and writes,
next to the data, ``runs.parquet`` and ``summary.md`` (``simulation.sweep.summary``)
and ``figures/``: one figure per outcome against the varied parameters (heatmap
of a grid, scatter of an lhs or sobol design, line plot for one parameter,
bars without [vary]) and the alliance and symptom trajectories of a few cells.
Figures use the package's one style (``simulation.style``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from simulation.style import apply_theme, save
from simulation.sweep.summary import (
    OUTCOMES,
    Outcome,
    cell_summary,
    cell_trajectories,
    run_outcomes,
    tick,
    write_summary,
)

__all__ = [
    "choose_cells",
    "plot_cell_trajectories",
    "plot_outcome_bars",
    "plot_outcome_heatmap",
    "plot_outcome_lines",
    "plot_outcome_scatter",
    "plot_sweep",
]

#: Largest grid (per side) whose heatmap cells get their value written in.
ANNOTATE_MAX = 8
#: Trajectory cells drawn by default.
MAX_CELLS = 4


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


# --- outcome figures ------------------------------------------------------------------------


def _outcome_figures(
    summary: pd.DataFrame, runs: pd.DataFrame, manifest: dict[str, Any], x: str | None, y: str | None, out: Path
) -> list[Path]:
    """The figures of the outcomes against the varied parameters."""
    apply_theme()
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
        cmap=info.colour_map,
        vmin=vmin,
        vmax=vmax,
        annot=annotate,
        fmt=f".{info.digits}f",
        linewidths=0.5 if annotate else 0,
        cbar_kws={"label": info.label},
        xticklabels=[tick(v) for v in table.columns],
        yticklabels=[tick(v) for v in table.index],
    )
    ax.set(xlabel=x, ylabel=y, facecolor="0.9")  # grey = no results (unfinished sweep)
    ax.grid(False)
    ax.tick_params(axis="y", rotation=0)
    ax.set_title(f"{info.title}: {_reps_note(summary)}" + _averaged_note(summary, x, y), fontsize=11)
    return save(fig, path)


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
        cmap=info.colour_map,
        vmin=vmin,
        vmax=vmax,
        s=size,
        edgecolors="0.3",
        linewidths=0.5,
    )
    fig.colorbar(dots, ax=ax, label=info.label)
    ax.set(xlabel=x, ylabel=y)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))
    ax.set_title(f"{info.title}: {_reps_note(summary)}" + _averaged_note(summary, x, y, sampled=True), fontsize=11)
    return save(fig, path)


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
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))
    for ax in axes[-1]:
        ax.set_xlabel(x)
    fig.suptitle(f"Outcomes by {x} (lines: mean over replications; bands: 95% t-interval)")
    fig.tight_layout()
    return save(fig, path)


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
    return save(fig, path)


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
    apply_theme()
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
    return save(fig, path)


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
    values = ", ".join(f"{name} = {tick(value)}" for name, value in design.loc[cell].items())
    return f"point {cell}: {values}" if values else f"point {cell}"
