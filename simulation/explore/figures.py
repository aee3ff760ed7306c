"""Figures of the explore commands, in the package's one style (``simulation.style``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from simulation.style import apply_theme, save


def compare_figures(effects: pd.DataFrame, trajectories: pd.DataFrame, baseline: str, folder: Path) -> list[Path]:
    """``effects.png`` (standardised effects with CIs) and ``trajectories.png`` (paired trajectories)."""
    return [effects_figure(effects, folder / "effects.png"), trajectories_figure(trajectories, baseline, folder)]


def effects_figure(effects: pd.DataFrame, path: Path) -> Path:
    """Forest plot: the standardised effect of each alternative on each outcome, with 95% CIs and SE savings."""
    apply_theme()
    outcomes = list(dict.fromkeys(effects["outcome"]))
    alts = list(dict.fromkeys(effects["scenario"]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(outcomes) * max(1, len(alts)) + 1.5))
    colors = plt.get_cmap("tab10")
    offsets = np.linspace(-0.25, 0.25, len(alts)) if len(alts) > 1 else [0.0]
    for k, alt in enumerate(alts):
        sub = effects[effects["scenario"] == alt].set_index("outcome").loc[outcomes]
        y = np.arange(len(outcomes)) + offsets[k]
        err = [sub["effect"] - sub["effect_low"], sub["effect_high"] - sub["effect"]]
        ax.errorbar(sub["effect"], y, xerr=err, fmt="o", color=colors(k), capsize=3, label=alt)
        for yi, r in zip(y, sub.itertuples(), strict=True):
            ax.annotate(
                f"SE ÷{r.se_ratio:.1f}",
                (r.effect_high, yi),
                xytext=(4, -3),
                textcoords="offset points",
                fontsize=7,
                color=colors(k),
            )
    labels = [
        f"{o} ({'RD' if o in set(effects.loc[effects.effect_kind == 'risk difference', 'outcome']) else 'd'})"
        for o in outcomes
    ]
    ax.set_yticks(range(len(outcomes)), labels)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel("effect vs baseline (Cohen's d, or risk difference for shares), 95% CI")
    ax.set_title("Paired effects on common random numbers (SE ÷k: saving vs independent streams)")
    ax.legend(loc="best", fontsize=8)
    return save(fig, path)


def trajectories_figure(trajectories: pd.DataFrame, baseline: str, folder: Path) -> Path:
    """Mean alliance and symptom by session per scenario, and the paired symptom difference with a 95% band."""
    apply_theme()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = plt.get_cmap("tab10")
    scenarios = list(dict.fromkeys(trajectories["scenario"]))
    for k, scenario in enumerate(scenarios):
        sub = trajectories[trajectories["scenario"] == scenario]
        for ax, column in zip(axes[:2], ("alliance", "symptom"), strict=True):
            _band(ax, sub.pivot(index="replication", columns="session", values=column), scenario, colors(k))
    base = trajectories[trajectories["scenario"] == baseline].pivot(
        index="replication", columns="session", values="symptom"
    )
    for k, scenario in enumerate(scenarios):
        if scenario != baseline:
            alt = trajectories[trajectories["scenario"] == scenario].pivot(
                index="replication", columns="session", values="symptom"
            )
            _band(axes[2], alt - base.reindex_like(alt), f"{scenario} - {baseline}", colors(k))
    axes[2].axhline(0, color="grey", lw=1)
    for ax, title in zip(axes, ("alliance", "symptom", "paired symptom difference"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("session")
        ax.legend(fontsize=8)
    fig.suptitle("Paired trajectories (mean over replications, 95% band; same patients and random numbers)")
    return save(fig, folder / "trajectories.png")


def _band(ax: plt.Axes, wide: pd.DataFrame, label: str, color: object) -> None:
    """Mean over rows with a 95% band (t-free normal approximation over replications)."""
    mean = wide.mean()
    half = 1.96 * wide.std(ddof=1) / np.sqrt(max(1, wide.notna().sum().min()))
    ax.plot(mean.index, mean.values, color=color, label=label)
    ax.fill_between(mean.index, (mean - half).values, (mean + half).values, color=color, alpha=0.2)


def power_figure(spec: object, power: pd.DataFrame, trials: pd.DataFrame, path: Path) -> Path:
    """Power curve with 95% CIs, and the estimates of the simulated trials by size."""
    apply_theme()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    left.plot(power["size"], power["power"], "o-", color="C0", label="simulated power")
    left.fill_between(power["size"], power["power_low"], power["power_high"], color="C0", alpha=0.2)
    left.axhline(0.8, color="grey", ls="--", lw=1, label="0.80")
    left.set(xlabel="patients per trial", ylabel="power", ylim=(0, 1.02), title="Power (95% CI)")
    left.legend(fontsize=8)
    sizes = sorted(trials["size"].unique())
    data = [trials.loc[trials["size"] == s, "estimate"].dropna() for s in sizes]
    right.violinplot(data, positions=range(len(sizes)), showmedians=True)
    right.axhline(0, color="grey", lw=1)
    right.set_xticks(range(len(sizes)), [str(s) for s in sizes])
    label = "Pearson r" if getattr(spec, "kind", "") == "correlation" else "arm effect (d)"
    right.set(xlabel="patients per trial", ylabel=label, title="Estimates of the simulated trials")
    fig.suptitle(f"Virtual trial {getattr(spec, 'name', '')}")
    return save(fig, path)
