"""Figures of the explore commands, in the package's one style (``simulation.style``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from simulation.run.outcomes import CATALOG
from simulation.style import apply_theme, save


def compare_figures(
    effects: pd.DataFrame, trajectories: pd.DataFrame, pairs: tuple[tuple[str, str], ...], folder: Path
) -> list[Path]:
    """``effects.png`` (standardised effects with CIs) and ``trajectories.png`` (paired trajectories)."""
    effects = effects.assign(scenario=effects["scenario"] + " vs " + effects["reference"])
    return [effects_figure(effects, folder / "effects.png"), trajectories_figure(trajectories, pairs, folder)]


def effects_figure(effects: pd.DataFrame, path: Path) -> Path:
    """Forest plot: Cohen's d and risk differences in separate panels, 95% CIs and SE savings."""
    apply_theme()
    kinds = [k for k in ("d", "risk difference") if (effects["effect_kind"] == k).any()]
    alts = list(dict.fromkeys(effects["scenario"]))
    sizes = [effects.loc[effects["effect_kind"] == k, "outcome"].nunique() for k in kinds]
    fig, axes = plt.subplots(
        len(kinds),
        1,
        figsize=(8.5, 0.45 * sum(sizes) * max(1, len(alts)) + 1.2 * len(kinds) + 0.8),
        squeeze=False,
        gridspec_kw={"height_ratios": sizes},
    )
    colors = plt.get_cmap("tab10")
    offsets = np.linspace(-0.25, 0.25, len(alts)) if len(alts) > 1 else [0.0]
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        part = effects[effects["effect_kind"] == kind]
        outcomes = list(dict.fromkeys(part["outcome"]))
        for k, alt in enumerate(alts):
            sub = part[part["scenario"] == alt].set_index("outcome").reindex(outcomes).dropna(subset=["effect"])
            y = np.array([outcomes.index(o) for o in sub.index]) + offsets[k]
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
        ax.set_yticks(range(len(outcomes)), [f"{o} ({CATALOG[o].direction})" for o in outcomes])
        ax.invert_yaxis()
        ax.axvline(0, color="grey", lw=1)
        unit = (
            "Cohen's d (difference / pooled between-patient SD)"
            if kind == "d"
            else "risk difference (share of patients)"
        )
        ax.set_xlabel(f"{unit}, 95% CI")
    axes[0, 0].legend(loc="best", fontsize=8)
    axes[0, 0].set_title(
        "Paired effects on common random numbers (SE ÷k: saving vs independent streams)\n"
        "CI = Monte Carlo precision of the model's expected effect, not a study's CI",
        fontsize=10,
    )
    return save(fig, path)


def trajectories_figure(trajectories: pd.DataFrame, pairs: tuple[tuple[str, str], ...], folder: Path) -> Path:
    """Mean alliance and symptom by session per scenario, and the paired symptom difference with a 95% band."""
    apply_theme()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = plt.get_cmap("tab10")
    scenarios = list(dict.fromkeys(trajectories["scenario"]))
    for k, scenario in enumerate(scenarios):
        sub = trajectories[trajectories["scenario"] == scenario]
        for ax, column in zip(axes[:2], ("alliance", "symptom"), strict=True):
            _band(ax, sub.pivot(index="replication", columns="session", values=column), scenario, colors(k))
    wide = {
        name: group.pivot(index="replication", columns="session", values="symptom")
        for name, group in trajectories.groupby("scenario")
    }
    for k, (reference, alt) in enumerate(pairs):
        _band(axes[2], wide[alt] - wide[reference].reindex_like(wide[alt]), f"{alt} - {reference}", colors(k + 1))
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


def sensitivity_figures(spec: object, result: dict, folder: Path) -> list[Path]:
    """``sobol.png`` (indices with CIs), ``convergence.png`` (indices against N) and ``oat.png`` (profiles)."""
    return [
        sobol_figure(result["sobol"], folder / "sobol.png"),
        convergence_figure(result["convergence"], folder / "convergence.png"),
        oat_figure(spec, result["oat"], folder / "oat.png"),
    ]


def sobol_figure(sobol: pd.DataFrame, path: Path) -> Path:
    """S1 and ST per factor and outcome; bars clipped at 0 and hatched where the CI spans zero."""
    apply_theme()
    outcomes = list(dict.fromkeys(sobol["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5 * len(outcomes), 4.2), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        sub = sobol[sobol["outcome"] == outcome].reset_index(drop=True)
        x = np.arange(len(sub))
        for k, (index, color) in enumerate((("S1", "C0"), ("ST", "C1"))):
            value = sub[index].clip(lower=0)
            low = value - sub[f"{index}_low"].clip(lower=0)
            high = sub[f"{index}_high"].clip(lower=0) - value
            bars = ax.bar(x + (k - 0.5) * 0.38, value, 0.38, color=color, label=index, yerr=[low, high], capsize=3)
            for bar, spans in zip(bars, sub[f"{index}_spans_zero"], strict=True):
                if spans:
                    bar.set_alpha(0.35)
                    bar.set_hatch("//")
        ax.set_xticks(x, sub["factor"], rotation=30, ha="right")
        ax.set(title=outcome, ylabel="Sobol index (95% CI)", ylim=(0, max(1.0, float(sub["ST_high"].max()) + 0.05)))
        ax.legend(fontsize=8, title="hatched: CI spans 0", title_fontsize=7)
    fig.suptitle("Sobol indices: first order (S1) and total order (ST)")
    return save(fig, path)


def convergence_figure(convergence: pd.DataFrame, path: Path) -> Path:
    """S1 (dashed) and ST (solid) against the number of base samples N, with CI bands, per outcome."""
    apply_theme()
    outcomes = list(dict.fromkeys(convergence["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5 * len(outcomes), 4.2), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        sub = convergence[convergence["outcome"] == outcome]
        for k, (factor, group) in enumerate(sub.groupby("factor", sort=False)):
            color = f"C{k % 10}"
            ax.plot(group["n"], group["ST"], "o-", color=color, label=factor)
            ax.fill_between(group["n"], group["ST_low"], group["ST_high"], color=color, alpha=0.15)
            ax.plot(group["n"], group["S1"], "s--", color=color, alpha=0.7)
        ax.set_xscale("log", base=2)
        ax.axhline(0, color="grey", lw=1)
        ax.set(title=outcome, xlabel="base samples N", ylabel="index (ST solid, S1 dashed)")
        ax.legend(fontsize=7)
    fig.suptitle("Convergence of the Sobol indices (sub-samples of one Saltelli design)")
    return save(fig, path)


def oat_figure(spec: object, oat: pd.DataFrame, path: Path) -> Path:
    """One-at-a-time profiles: each outcome against each factor, the other factors at their midpoints."""
    apply_theme()
    factors, outcomes = list(spec.factors), list(spec.outcomes)
    fig, axes = plt.subplots(
        len(outcomes), len(factors), figsize=(3.2 * len(factors), 2.6 * len(outcomes)), squeeze=False, sharey="row"
    )
    for i, outcome in enumerate(outcomes):
        for j, factor in enumerate(factors):
            sub = oat[oat["factor"] == factor]
            axes[i][j].plot(sub[factor], sub[outcome], "o-", color="C0")
            axes[i][j].set(xlabel=factor if i == len(outcomes) - 1 else "", ylabel=outcome if j == 0 else "")
    fig.suptitle("One-at-a-time profiles (other factors at their midpoints)")
    return save(fig, path)


def discover_figures(result: dict, folder: Path) -> list[Path]:
    """``tradeoff.png`` (coverage vs density of the peeling trajectories) and ``feature_scores.png``."""
    apply_theme()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    traj = result["trajectories"]
    points = None
    for number, whole in traj.groupby("box") if len(traj) else ():
        group = whole[whole["peeled"]]
        cut = whole[whole["supported"]]
        ax.scatter(cut["coverage"], cut["density"], s=30, marker="x", color="grey", label=f"box {number + 1} cut back")
        points = ax.scatter(
            group["coverage"],
            group["density"],
            c=group["res_dim"],
            cmap="viridis",
            s=18,
            marker="o" if number == 0 else "^",
            label=f"box {number + 1}",
        )
        chosen = whole[whole["chosen"]]
        ax.scatter(chosen["coverage"], chosen["density"], s=140, facecolors="none", edgecolors="red", linewidths=2)
    if points is None:  # no box passed the selection rule
        ax.text(0.5, 0.5, "no box passed the selection rule", ha="center", va="center", transform=ax.transAxes)
    else:
        fig.colorbar(points, ax=ax, label="restricted inputs")
    ax.axhline(result["base_rate"], color="grey", ls="--", lw=1, label="base rate")
    ax.set(
        xlabel="coverage (share of all failures inside the box)",
        ylabel="density (failure share inside)",
        title="PRIM peeling (dots), steps cut back to qp < 0.05 (x), red: chosen",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8, loc="lower left")
    paths = [save(fig, folder / "tradeoff.png")]
    apply_theme()
    scores = result["scores"]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(scores) + 1.5))
    err = [scores["score"] - scores["low"], scores["high"] - scores["score"]]
    ax.barh(scores["input"], scores["score"], xerr=err, color="C0", capsize=3)
    ax.invert_yaxis()
    ax.set(xlabel="feature score (extra trees; bootstrap 95% interval)", title="What predicts failure")
    paths.append(save(fig, folder / "feature_scores.png"))
    return paths
