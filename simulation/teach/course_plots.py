"""The teaching app's figures: one course (and its what-if), and the trainee's spread of consequences."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from simulation.style import DPI, apply_theme

#: Colours of the original and the forked course.
ORIGINAL, FORKED = "#1f4e79", "#c0504d"


def course_figure(
    original: pd.DataFrame,
    forked: pd.DataFrame | None = None,
    upto: int | None = None,
    n_sessions: int | None = None,
    stacked: bool = False,
) -> plt.Figure:
    """Three panels over sessions: latent alliance, symptom scale, markers (and those left unrepaired).

    Args:
        original: Session rows of one patient (``Results.sessions``).
        forked: Session rows of the same patient in the what-if course, drawn in red.
        upto: Show sessions up to this one only (the app's player); all if omitted.
        n_sessions: Width of the session axis (the planned course); the sessions shown if omitted.
        stacked: Panels one above the other (the app's narrow column) instead of side by side.
    """
    apply_theme()
    fig, axes = plt.subplots(3, 1, figsize=(5.2, 7.2)) if stacked else plt.subplots(1, 3, figsize=(11, 3.1))
    courses = [("original", original, ORIGINAL)] + ([("what-if", forked, FORKED)] if forked is not None else [])
    last = n_sessions or (int(max(c[1].session.max() for c in courses)) if len(original) else 1)
    for label, rows, colour in courses:
        rows = rows if upto is None else rows[rows.session <= upto]
        line = {"marker": "o", "ls": "-"} if label == "original" else {"marker": "s", "ls": "--"}  # not colour alone
        axes[0].plot(rows.session, rows.alliance, ms=3, color=colour, label=label, **line)
        axes[1].plot(rows.session, rows.symptom, ms=3, color=colour, label=label, **line)
        width = 0.4 if forked is not None else 0.8
        shift = 0.0 if forked is None else (-0.2 if label == "original" else 0.2)
        markers = rows.n_withdrawal + rows.n_confrontation
        hatch = None if label == "original" else "//"
        axes[2].bar(rows.session + shift, markers, width=width, color=colour, alpha=0.35, label=f"{label}: markers")
        axes[2].bar(rows.session + shift, rows.n_unrepaired, width=width, color=colour, hatch=hatch,
                    edgecolor="white" if hatch else None, label=f"{label}: unrepaired")  # fmt: skip
    titles = ("Alliance (latent, 0-1)", "Symptoms (scale, 0-4)", "Rupture markers per session")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("session")
        ax.set_xlim(0.4, last + 0.6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylim(0, 1)
    axes[1].set_ylim(0, 4)
    axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if forked is not None:
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def spread_figure(spread: pd.DataFrame, chosen: str, horizon: int) -> plt.Figure:
    """The consequences of every alternative over the paired futures, one row per alternative.

    Panels: the alliance change over the next ``horizon`` sessions and the symptom change by the
    course's end (a dot per future, the median and the interquartile range as a bar), the share of
    futures in which the episode was resolved, and the share that dropped out.

    Args:
        spread: One row per alternative and future (``trainee.spread``).
        chosen: The trainee's alternative (drawn in red and marked).
        horizon: Sessions after the marker's session of the alliance change.
    """
    apply_theme()
    order = list(dict.fromkeys(spread.response))
    colours = {name: FORKED if name == chosen else ORIGINAL for name in order}
    fig, axes = plt.subplots(1, 4, figsize=(12, 0.32 * len(order) + 1.4), sharey=True,
                             gridspec_kw={"width_ratios": [3, 1.2, 1.2, 3]})  # fmt: skip
    for ax, column, title in ((axes[0], "alliance_change", f"Alliance change to {horizon} sessions later"),
                              (axes[3], "symptom_change", "Symptom change by the course's end")):  # fmt: skip
        sns.stripplot(spread, x=column, y="response", hue="response", order=order, palette=colours, size=3,
                      alpha=0.45, jitter=0.25, legend=False, ax=ax)  # fmt: skip
        stats = spread.groupby("response", sort=False)[column].quantile([0.25, 0.5, 0.75]).unstack()
        for y, name in enumerate(order):
            ax.plot([stats.loc[name, 0.25], stats.loc[name, 0.75]], [y, y], color="black", lw=2.5, zorder=3)
            ax.plot(stats.loc[name, 0.5], y, "|", color="black", ms=14, mew=2.5, zorder=4)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("dots: futures; bar: median and middle half")
    shares = spread.groupby("response", sort=False)[["resolved", "dropped_out"]].mean().reindex(order)
    for ax, column, title in ((axes[1], "resolved", "Episode resolved"), (axes[2], "dropped_out", "Dropped out")):
        ax.barh(range(len(order)), shares[column], color=[colours[name] for name in order], alpha=0.8)
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("share of futures")
    axes[0].set_ylabel("")
    axes[0].set_yticks(range(len(order)), [f"{name}  (yours)" if name == chosen else name for name in order])
    n = spread.future.nunique()
    fig.suptitle(f"Every alternative in the same {n} futures (identical up to the marker, different after it)",
                 fontsize=11)  # fmt: skip
    fig.tight_layout()
    return fig


def figure_png(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes (and closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
