"""Run the six experiments on resolution complexity and write their reports, each ending in a verdict.

    .venv/bin/python experiments/hypotheses/run.py                  # all six into results/hypotheses/
    .venv/bin/python experiments/hypotheses/run.py b d              # only some
    .venv/bin/python experiments/hypotheses/run.py --replications 5 --out results/quick   # a quick look
    .venv/bin/python experiments/hypotheses/run.py --publish        # rewrite the reports and figures here
    .venv/bin/python experiments/hypotheses/run.py --publish --fresh   # after a model change: simulate again

Each experiment is a comparison spec (``rupture-sim compare``) in this folder that states the hypothesis
and the rule of its verdict (``[[claims]]``: what is predicted, in which direction, and the smallest
effect of interest) before anything runs. Its simulations go to ``<out>/<name>/`` (resumable); its report
to ``<out>/reports/<name>.md`` with figures in ``<out>/reports/figures/``, and ``summary.md`` lists the
verdicts. Only ``--publish`` rewrites the reports, figures and ``summary.md`` of this folder, with the
replications the specs name. Experiment (d) adds a mediation analysis (adjusted for the confounders the
model knows) beside the model's own causal check; (f) adds an episode-level analysis of the sessions.
Every number and every sentence of a report is computed from the run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from simulation.api import simulate
from simulation.explore import verdict
from simulation.explore.compare import (
    CompareSpec,
    interaction_lines,
    load_compare_spec,
    run_compare,
    saving_text,
    size_columns,
)
from simulation.explore.store import load_table
from simulation.run.outcomes import CATALOG
from simulation.style import apply_theme, save

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "results" / "hypotheses"

TITLES = {
    "a": "(a) Exploratory repertoire x PD severity x insight",
    "b": "(b) AFT switched on early vs late in a 30-session course",
    "c": "(c) Noticing vs repertoire depth",
    "d": "(d) Does resolution complexity carry the effect of therapist skill?",
    "e": "(e) Withdrawal vs confrontation repairs and retention",
    "f": "(f) Does deeper resolution matter more for BPD?",
}
CHANGE = {
    "a": "A lower `insight_depth_weight` (insight blocks deep stages less) or a smaller `severity_repair_penalty` "
    "would shrink the severity and insight contrasts; a calibration of `expressive_provocation` (exploratory work "
    "provoking ruptures in patients without insight) could reverse the sign in the low-insight cells.",
    "b": "If AFT's gains were front-loaded in the model (e.g. a larger `aft_noticing_gain` acting on early ruptures) "
    "the late start could catch up; courses much longer than 30 sessions would shrink the early-vs-late gap.",
    "c": "The two levers are moved by amounts chosen here (+0.20 noticing, +0.40 exploratory preference); other "
    "steps, or a different `immediate_stage_cap` / `resolved_stage`, change their relative size. The sensitivity "
    "analysis (`experiments/explore/sensitivity_resolution.toml`) gives the variance-based view over whole ranges.",
    "d": "The regression mediation assumes no unmeasured mediator-outcome confounding; it is adjusted here for what "
    "the model knows drives both depth and outcome (severity, insight, diagnosis, intake symptoms), and any other "
    "common cause the dynamics gain would have to be added. The causal check closes the only other path of skill in "
    "the rules (fewer unclear interventions); if the dynamics add paths for skill, the check must close those too.",
    "e": "`withdrawal_dip_ratio` (how much less alliance a withdrawal marker costs) sets the answer: at 1.0 the two "
    "profiles would differ only by salience and frequency.",
    "f": "Depth is raised here through the therapist (repertoire, preference); how much deeper BPD episodes can go is "
    "set by `insight_depth_weight` and `severity_repair_penalty`, and how much a deep repair restores by the stage "
    "gains of the resolution rules. The episode-level association is observational within the model (adjusted for "
    "the alliance before the session, severity, insight and session number), not a paired contrast.",
}
#: Effects shown in each report's table.
MAIN = {
    "a": ["resolution_stage", "symptom_change", "dropout"],
    "b": ["resolution_stage", "alliance_final", "symptom_change", "recovery", "dropout"],
    "c": ["resolution_stage", "symptom_change", "reliable_change", "dropout"],
    "d": ["resolution_stage", "symptom_change", "dropout"],
    "e": ["resolution_rate", "alliance_final", "symptom_change", "dropout"],
    "f": ["resolution_stage", "symptom_change", "dropout"],
}


@dataclass(frozen=True)
class Places:
    """Where a run writes: simulations, reports and their figures."""

    results: Path
    reports: Path

    @property
    def figures(self) -> Path:
        return self.reports / "figures"


def shown(path: Path) -> str:
    """A path as the reports show it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def names() -> dict[str, str]:
    """Experiment key (a, b, ...) -> spec name, from the specs in this folder."""
    return {p.stem[0]: p.stem for p in sorted(HERE.glob("?_*.toml"))}


# --- numbers into words ----------------------------------------------------------------------------------------


def ci(estimate: float, low: float, high: float, digits: int = 3) -> str:
    """``+0.012 [+0.004, +0.020]``."""
    return f"{estimate:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def size_note(outcome: str, estimate: float, low: float, high: float) -> str:
    """What an effect's size means against the outcome's smallest effect of interest."""
    delta = CATALOG[outcome].smallest_effect
    if -delta < low and high < delta:
        return f"smaller than the smallest effect of interest ({delta:g}): nil in practice"
    if low <= 0 <= high:
        return "the interval spans 0"
    if abs(estimate) < delta:
        return f"below the smallest effect of interest ({delta:g})"
    return ""


def reading(row: pd.Series, if_negative: str, if_positive: str) -> str:
    """An interaction in words, from its sign, interval and the outcome's smallest effect of interest."""
    delta = CATALOG[row["outcome"]].smallest_effect
    est, low, high = row["difference"], row["ci_low"], row["ci_high"]
    if -delta < low and high < delta:
        side = if_negative if est < 0 else if_positive
        return f"{side}, but by less than the smallest effect of interest ({delta:g}) — no difference that matters"
    if low <= 0 <= high:
        return "no clear difference (the interval spans 0)"
    text = if_negative if high < 0 else if_positive
    return text + (f", by less than the smallest effect of interest ({delta:g})" if abs(est) < delta else "")


def effect_line(label: str, effects: pd.DataFrame, alt: str, outcome: str, group: str = "all") -> str:
    """``label: symptom change -0.071 [-0.076, -0.066] points (note)``."""
    row = get(effects, alt, outcome, group)
    info = CATALOG[outcome]
    note = size_note(outcome, row["difference"], row["ci_low"], row["ci_high"])
    return f"{label}: {info.title.lower()} {ci(row['difference'], row['ci_low'], row['ci_high'], info.digits)}" + (
        f" ({note})" if note else ""
    )


def interaction_sentence(row: pd.Series, label: str, if_negative: str, if_positive: str) -> str:
    """One interaction with its paired CI, the unpaired SE it replaces, and its reading."""
    return (
        f"{label}: {ci(row['difference'], row['ci_low'], row['ci_high'], 4)} "
        f"({CATALOG[row['outcome']].unit}; paired SE {row['se_crn']:.4f}, against {row['se_as_unpaired']:.4f} if the "
        f"two contrasts were treated as independent — they correlate {row['contrast_correlation']:+.2f}) — "
        f"{reading(row, if_negative, if_positive)}."
    )


def get(effects: pd.DataFrame, alt: str, outcome: str, group: str = "all") -> pd.Series:
    """One effects row."""
    keep = (effects["scenario"] == alt) & (effects["outcome"] == outcome) & (effects["group"] == group)
    return effects[keep].iloc[0]


def inter(result: dict[str, Any], name: str, outcome: str) -> pd.Series:
    """One interactions row."""
    table = result["interactions"]
    return table[(table["interaction"] == name) & (table["outcome"] == outcome)].iloc[0]


def effects_table(effects: pd.DataFrame, outcomes: list[str]) -> list[str]:
    """Markdown rows: contrast x outcome with its difference, d or risk difference, and CRN saving."""
    lines = [
        "| alternative | vs | outcome (unit; direction) | difference [95% CI] | Cohen's d [95% CI] "
        "| risk difference [95% CI] | SE saving [95% CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    overall = effects[(effects["group"] == "all") & effects["outcome"].isin(outcomes)]
    for r in overall.itertuples():
        cohen, risk = size_columns(r, 2)
        lines.append(
            f"| {r.scenario} | {r.reference} | {r.outcome} ({CATALOG[r.outcome].describe()}) "
            f"| {ci(r.difference, r.ci_low, r.ci_high)} | {cohen} | {risk} "
            f"| {saving_text(r.se_ratio, r.se_ratio_low, r.se_ratio_high)} |"
        )
    return lines


# --- the experiments' headline results ------------------------------------------------------------------------

CELLS = {
    "mild_low": "mild, low insight",
    "mild_high": "mild, high insight",
    "severe_low": "severe, low insight",
    "severe_high": "severe, high insight",
}


def headline_a(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    lines = ["Effect of the exploratory repertoire (on minus off), per cell:", ""]
    for key, label in CELLS.items():
        parts = [effect_line("", effects, f"exp_{key}", o).removeprefix(": ") for o in MAIN["a"]]
        lines.append(f"- {label}: " + "; ".join(parts))
    lines += [
        "",
        "- "
        + interaction_sentence(
            inter(result, "severe_minus_mild", "symptom_change"),
            "Severe minus mild (high insight), symptom change",
            "the repertoire lowers symptoms more in severe patients",
            "the repertoire lowers symptoms less in severe patients than in mild ones",
        ),
        "- "
        + interaction_sentence(
            inter(result, "insight_in_severe", "symptom_change"),
            "High minus low insight (severe), symptom change",
            "in severe patients the repertoire lowers symptoms more with insight",
            "in severe patients the repertoire lowers symptoms less with insight",
        ),
    ]
    return lines


def headline_b(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    lines = ["Effect of AFT vs none (same patients):", ""]
    for alt in ("aft_from_1", "aft_from_10", "aft_from_20"):
        parts = [effect_line("", effects, alt, o).removeprefix(": ") for o in ("symptom_change", "recovery", "dropout")]
        lines.append(f"- {alt}: " + "; ".join(parts))
    lines.append("")
    for outcome, word in (("symptom_change", "symptoms"), ("dropout", "dropout")):
        lines.append(
            "- "
            + interaction_sentence(
                inter(result, "early_minus_late", outcome),
                f"From session 1 minus from session 20, {CATALOG[outcome].title.lower()}",
                f"the early start lowers {word} more",
                f"the early start lowers {word} less",
            )
        )
    return lines


def headline_c(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    lines = ["Effect of each lever vs usual (same patients):", ""]
    for alt in ("noticing_up", "depth_up", "both_up"):
        parts = [effect_line("", effects, alt, o).removeprefix(": ") for o in MAIN["c"]]
        lines.append(f"- {alt}: " + "; ".join(parts))
    lines += [
        "",
        "- "
        + interaction_sentence(
            inter(result, "noticing_minus_depth", "symptom_change"),
            "Noticing minus depth, symptom change",
            "raising noticing lowers symptoms more than raising depth",
            "raising depth lowers symptoms more than raising noticing",
        ),
        "",
        "Depth lever by diagnosis (the same contrast within each diagnosis, paired):",
        "",
    ]
    for group in ("bpd", "other_pd", "no_pd"):
        lines.append("- " + effect_line(group, effects, "depth_up", "symptom_change", group))
    for name, label in (("depth_bpd_minus_no_pd", "BPD"), ("depth_other_pd_minus_no_pd", "other PD")):
        lines.append(
            "- "
            + interaction_sentence(
                inter(result, name, "symptom_change"),
                f"{label} minus no PD, symptom change",
                f"deeper repair lowers symptoms more in {label}",
                f"deeper repair lowers symptoms less in {label} than without PD",
            )
        )
    return lines


def headline_e(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    lines = ["Effect of poorer repair (stage advance 1.0 -> 0.5):", ""]
    for alt, label in (("withdrawal_poor", "withdrawal-dominant"), ("confrontation_poor", "confrontation-dominant")):
        parts = [effect_line("", effects, alt, o).removeprefix(": ") for o in ("dropout", "symptom_change")]
        lines.append(f"- {label}: " + "; ".join(parts))
    row = inter(result, "confrontation_minus_withdrawal", "dropout")
    return [
        *lines,
        "",
        "- "
        + interaction_sentence(
            row,
            "Confrontation minus withdrawal, dropout",
            "poor repair raises dropout less with confrontation ruptures",
            "poor repair raises dropout more with confrontation ruptures",
        ),
    ]


# --- (d): mediation on simulated courses, adjusted for the confounders the model knows --------------------------

#: Adjustment sets of the mediation, smallest first; the last is the one the verdict uses.
ADJUSTMENTS = {
    "none": (),
    "severity, insight, diagnosis": ("pd_severity", "insight", "diagnosis"),
    "severity, insight, diagnosis, intake symptoms": ("pd_severity", "insight", "diagnosis", "symptom_pre"),
}


def mediation_courses(seed: int = 2026, n_patients: int = 2400) -> pd.DataFrame:
    """Simulated courses with therapist skill varying between therapists (SD 0.2), patients with an episode."""
    res = simulate("mixed", "experienced", n_patients, 30, seed, {"skill_sd": 0.2, "caseload": 6}, events=False)
    data = res.patients.merge(res.therapists[["therapist_id", "skill"]], on="therapist_id")
    data = data[data["n_episodes"] > 0].reset_index(drop=True)
    data["diagnosis"] = data["diagnosis"].astype(str)
    return data


def _covariates(data: pd.DataFrame, confounders: tuple[str, ...]) -> np.ndarray:
    """The confounders as columns (a categorical as dummies without its first level)."""
    parts = [np.ones((len(data), 1))]
    for c in confounders:
        if pd.api.types.is_numeric_dtype(data[c]):
            parts.append(data[[c]].to_numpy(float))
        else:
            parts.append(pd.get_dummies(data[c].astype(str), drop_first=True, dtype=float).to_numpy())
    return np.hstack(parts)


def mediation_estimate(
    data: pd.DataFrame, confounders: tuple[str, ...], mediator: str = "mean_resolution_stage"
) -> tuple[float, float, float, float]:
    """Total, direct and indirect effect of skill on symptom change and the mediated share (product of coefficients).

    ``M ~ skill + C`` gives a; ``Y ~ skill + M + C`` gives the direct effect and b; ``Y ~ skill + C`` the
    total (= direct + a b for least squares with the same covariates ``C``).
    """
    c = _covariates(data, confounders)
    skill = data[["skill"]].to_numpy(float)
    m, y = data[mediator].to_numpy(float), data["symptom_change"].to_numpy(float)
    a = np.linalg.lstsq(np.hstack([skill, c]), m, rcond=None)[0][0]
    coef = np.linalg.lstsq(np.hstack([skill, m[:, None], c]), y, rcond=None)[0]
    total = np.linalg.lstsq(np.hstack([skill, c]), y, rcond=None)[0][0]
    indirect = a * coef[1]
    return float(total), float(coef[0]), float(indirect), float(indirect / total) if total else float("nan")


def mediation(
    data: pd.DataFrame, confounders: tuple[str, ...], boots: int = 300, seed: int = 2026
) -> dict[str, tuple[float, float, float]]:
    """``mediation_estimate`` with 95% percentile intervals from a bootstrap over therapists."""
    point = mediation_estimate(data, confounders)
    rng = np.random.default_rng(seed)
    rows = list(data.groupby("therapist_id").indices.values())
    draws = []
    for _ in range(boots):
        pick = np.concatenate([rows[i] for i in rng.integers(0, len(rows), len(rows))])
        draws.append(mediation_estimate(data.iloc[pick], confounders))
    low, high = np.nanpercentile(np.array(draws), [2.5, 97.5], axis=0)
    return {k: (point[i], low[i], high[i]) for i, k in enumerate(("total", "direct", "indirect", "share"))}


def causal_share(runs: pd.DataFrame, boots: int = 2000, seed: int = 2026) -> tuple[float, float, float]:
    """Share of the skill effect on symptom change left with the unclear-intervention path closed, with a CI.

    Per replication (common random numbers) the paired skill effect with every path open and with the other
    path closed; the share is the ratio of their means, its interval a bootstrap over replications.
    """

    def effect(high: str, low: str) -> np.ndarray:
        arm = runs[(runs["streams"] == "common") & (runs.get("group", "all") == "all")]
        wide = arm.pivot(index="replication", columns="scenario", values="symptom_change")
        return (wide[high] - wide[low]).to_numpy()

    both, only = effect("high_skill", "low_skill"), effect("high_skill_no_unclear", "low_skill_no_unclear")
    pick = np.random.default_rng(seed).integers(0, len(both), (boots, len(both)))
    shares = only[pick].mean(axis=1) / both[pick].mean(axis=1)
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(only.mean() / both.mean()), float(low), float(high)


def analyses_d(spec: CompareSpec, folder: Path, places: Places) -> tuple[dict, list[str]]:
    data = mediation_courses()
    fits = {label: mediation(data, conf) for label, conf in ADJUSTMENTS.items()}
    share = causal_share(load_table(folder, "runs"))
    _mediation_figure(fits, share, places.figures / "d_mediation.png")
    adjusted = fits[list(ADJUSTMENTS)[-1]]["share"]
    found = {
        "causal_share": (*share, "share of the skill effect carried by the resolution path (causal check)"),
        "adjusted_mediated_share": (*adjusted, "mediated share, adjusted for " + list(ADJUSTMENTS)[-1]),
    }
    lines = [
        f"Mediation on {len(data):,} simulated courses (patients with at least one resolution episode; skill varies "
        "between therapists, SD 0.2; effects per unit of skill on symptom change, points on the 0-4 scale; 95% "
        "bootstrap CI over therapists):",
        "",
        "| adjusted for | total | direct | indirect (through the mean resolution stage) | mediated share |",
        "|---|---|---|---|---|",
    ]
    for label, fit in fits.items():
        lines.append(
            f"| {label} | {ci(*fit['total'])} | {ci(*fit['direct'])} | {ci(*fit['indirect'])} | "
            f"{fit['share'][0]:.0%} [{fit['share'][1]:.0%}, {fit['share'][2]:.0%}] |"
        )
    unadjusted = fits["none"]["share"][0]
    lines += [
        "",
        f"Causal check on the model (paired, skill 0.4 -> 0.8, every path open vs the unclear-intervention path closed "
        f"in both arms): the resolution path carries **{share[0]:.0%}** [{share[1]:.0%}, {share[2]:.0%}] of the skill "
        "effect (bootstrap over replications; closing the other path also moves the baseline, so the share is "
        "approximate).",
        "",
        _mediation_reading(unadjusted, adjusted, share),
        "",
        "![mediation](figures/d_mediation.png)",
    ]
    return found, lines


def _mediation_reading(
    unadjusted: float, adjusted: tuple[float, float, float], share: tuple[float, float, float]
) -> str:
    """What the adjustment does to the mediated share, next to the causal check (written from the numbers)."""
    moved = "lowers" if adjusted[0] < unadjusted else "raises"
    inside = adjusted[1] <= share[0] <= adjusted[2]
    agree = (
        "its interval holds the causal check's share"
        if inside
        else f"its interval does not hold the causal check's share ({share[0]:.0%})"
    )
    return (
        f"Adjusting for the patient characteristics that drive both depth and outcome {moved} the mediated share from "
        f"{unadjusted:.0%} (unadjusted) to {adjusted[0]:.0%}; {agree}. The unadjusted regression counts severity's "
        "own effect on symptoms as mediated (severe patients resolve less deeply and improve less)."
    )


def _mediation_figure(fits: dict, share: tuple[float, float, float], path: Path) -> None:
    apply_theme()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    labels = [*fits, "causal check (model)"]
    values = [fits[k]["share"] for k in fits] + [share]
    y = np.arange(len(labels))
    mid = np.array([v[0] for v in values])
    err = [mid - np.array([v[1] for v in values]), np.array([v[2] for v in values]) - mid]
    ax.errorbar(mid, y, xerr=err, fmt="o", color="C0", capsize=4)
    ax.axvline(0.5, color="grey", ls="--", lw=1, label="half of the effect")
    ax.set_yticks(y, [f"adjusted for: {k}" if k in fits else k for k in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="share of the skill effect on symptom change through resolution depth (95% CI)")
    ax.set_title("Skill -> resolution depth -> symptom change", fontsize=10)
    ax.legend(fontsize=8)
    save(fig, path)  # creates the folder


def headline_d(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    return [
        "- " + effect_line("Skill 0.4 -> 0.8, every path open", effects, "high_skill", "symptom_change"),
        "- "
        + effect_line(
            "Skill 0.4 -> 0.8, unclear interventions switched off in both arms",
            effects,
            "high_skill_no_unclear",
            "symptom_change",
        ),
    ]


# --- (f): depth x diagnosis, and the episode-level analysis ------------------------------------------------------

#: Cumulative stage steps: ``reached_k`` = the session's deepest stage is at least k.
STEPS = (2, 3, 4, 5)


#: The episode-level dataset: one run of a mixed caseload.
EPISODE_PATIENTS, EPISODE_SESSIONS = 1500, 30


def episode_sessions(
    seed: int = 2026, n_patients: int = EPISODE_PATIENTS, n_sessions: int = EPISODE_SESSIONS
) -> pd.DataFrame:
    """Sessions with a resolution episode, with the alliance at the end of the patient's next session."""
    res = simulate("mixed", "experienced", n_patients, n_sessions, seed, events=False)
    s = res.sessions.sort_values(["patient_id", "session"]).copy()
    nxt = s.groupby("patient_id")[["session", "alliance"]].shift(-1)
    s["next_alliance"] = nxt["alliance"].where(nxt["session"] == s["session"] + 1)
    s = s.merge(res.patients[["patient_id", "diagnosis", "pd_severity", "insight"]], on="patient_id")
    s["diagnosis"] = s["diagnosis"].astype(str)
    s = s[(s["resolution_stage"] >= 1) & s["next_alliance"].notna()].copy()
    for k in STEPS:
        s[f"reached_{k}"] = (s["resolution_stage"] >= k).astype(float)
    return s


def stage_steps(sessions: pd.DataFrame) -> pd.DataFrame:
    """Next-session alliance on the cumulative stage steps, adjusted; one row per step with a therapist-clustered CI.

    ``next_alliance ~ reached_2 + ... + reached_5 + alliance_start + session + pd_severity + insight``: the
    coefficient of ``reached_k`` is what reaching stage k adds beyond stopping at stage k - 1.
    """
    import statsmodels.formula.api as smf

    steps = " + ".join(f"reached_{k}" for k in STEPS)
    formula = f"next_alliance ~ {steps} + alliance_start + session + pd_severity + insight"
    fit = smf.ols(formula, sessions).fit(cov_type="cluster", cov_kwds={"groups": sessions["therapist_id"]})
    conf = fit.conf_int()
    return pd.DataFrame(
        {
            "step": [f"stage {k - 1} -> {k}" for k in STEPS],
            "estimate": [fit.params[f"reached_{k}"] for k in STEPS],
            "low": [conf.loc[f"reached_{k}", 0] for k in STEPS],
            "high": [conf.loc[f"reached_{k}", 1] for k in STEPS],
            "sessions": int(fit.nobs),
        }
    )


def analyses_f(spec: CompareSpec, folder: Path, places: Places) -> tuple[dict, list[str]]:
    sessions = episode_sessions()
    tables = {d: stage_steps(g) for d, g in sessions.groupby("diagnosis")}
    _steps_figure(tables, places.figures / "f_stage_steps.png")
    bpd = tables["bpd"].set_index("step").loc["stage 3 -> 4"]
    found = {
        "deep_stage_next_alliance_bpd": (
            float(bpd["estimate"]),
            float(bpd["low"]),
            float(bpd["high"]),
            "BPD sessions, next-session alliance for reaching stage 4 beyond stage 3",
        )
    }
    lines = [
        f"Episode level: {len(sessions):,} sessions with a resolution episode ({EPISODE_PATIENTS:,} patients, mixed "
        f"caseload, {EPISODE_SESSIONS} sessions, one run). Alliance at the end of the next session regressed on "
        "cumulative stage steps (reaching stage k beyond stopping at k - 1), adjusted for the alliance at the start "
        "of the session, the session number, severity and insight; 95% CIs clustered by therapist (sampling "
        "precision of this simulated dataset).",
        "",
        "| diagnosis | sessions | " + " | ".join(tables["bpd"]["step"]) + " |",
        "|---|---|" + "---|" * len(STEPS),
    ]
    for d, t in tables.items():
        cells = " | ".join(ci(r.estimate, r.low, r.high, 4) for r in t.itertuples())
        lines.append(f"| {d} | {int(t['sessions'].iloc[0]):,} | {cells} |")
    deep = {d: t.set_index("step").loc["stage 3 -> 4"] for d, t in tables.items()}
    diff = deep["bpd"]["estimate"] - deep["no_pd"]["estimate"]
    se = np.hypot(*((deep[d]["high"] - deep[d]["low"]) / (2 * 1.959964) for d in ("bpd", "no_pd")))
    lines += [
        "",
        f"Reaching stage 4 beyond stage 3, BPD minus no PD: {ci(diff, diff - 1.96 * se, diff + 1.96 * se, 4)} "
        "(the two groups' patients differ, so their estimates are combined as independent; they share therapists, so "
        "this interval is approximate) — "
        + (
            "deep stages predict the next alliance more strongly in BPD."
            if diff - 1.96 * se > 0
            else "deep stages predict the next alliance less strongly in BPD."
            if diff + 1.96 * se < 0
            else "no clear difference between BPD and no PD (the interval spans 0)."
        ),
        "",
        "![stage steps](figures/f_stage_steps.png)",
    ]
    return found, lines


def _steps_figure(tables: dict[str, pd.DataFrame], path: Path) -> None:
    apply_theme()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, (d, t) in enumerate(tables.items()):
        x = np.arange(len(t)) + (k - 1) * 0.22
        ax.errorbar(
            x, t["estimate"], yerr=[t["estimate"] - t["low"], t["high"] - t["estimate"]], fmt="o", capsize=3, label=d
        )
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(range(len(STEPS)), tables["bpd"]["step"])
    ax.set(ylabel="next-session alliance (0-1), 95% CI", xlabel="reaching the next stage of the episode")
    ax.set_title("Does a deeper resolution stage predict the next session's alliance?", fontsize=10)
    ax.legend(fontsize=8)
    save(fig, path)  # creates the folder


def headline_f(spec: CompareSpec, result: dict[str, Any], places: Places) -> list[str]:
    effects = result["effects"]
    lines = ["Effect of raising resolution depth, by diagnosis (same patients):", ""]
    for alt, label in (("usual", "exploratory repertoire on"), ("deep_preference", "deep-repair preference 0.9")):
        for group in ("bpd", "other_pd", "no_pd"):
            parts = [effect_line("", effects, alt, o, group).removeprefix(": ") for o in MAIN["f"]]
            lines.append(f"- {label}, {group}: " + "; ".join(parts))
    lines.append("")
    for name, label in (("repertoire_bpd_minus_no_pd", "Repertoire"), ("preference_bpd_minus_no_pd", "Preference")):
        lines.append(
            "- "
            + interaction_sentence(
                inter(result, name, "symptom_change"),
                f"{label} x diagnosis (BPD minus no PD), symptom change",
                "deeper resolution lowers symptoms more in BPD",
                "deeper resolution lowers symptoms less in BPD than without PD",
            )
        )
    return lines


HEADLINES = {"a": headline_a, "b": headline_b, "c": headline_c, "d": headline_d, "e": headline_e, "f": headline_f}
ANALYSES = {"d": analyses_d, "f": analyses_f}


# --- reports ---------------------------------------------------------------------------------------------------


def shown_interactions(table: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """The interactions on the report's main outcomes (none if the spec declares none)."""
    return table[table["outcome"].isin(outcomes)] if len(table) else table


def verdicts(spec: CompareSpec, result: dict[str, Any], found: dict) -> tuple[list, list]:
    """Every claim judged, in the spec's order: the compare claims and the script's analyses."""
    from_compare = iter(result["verdicts"])
    judged, whats = [], []
    for claim in spec.claims:
        if claim.estimate[0] == "analysis":
            estimate, low, high, what = found[claim.estimate[1]]
            j = verdict.judge(claim, estimate, low, high)
        else:
            j, what = next(from_compare)
        judged.append(j)
        whats.append(what)
    return judged, whats


def report(key: str, name: str, places: Places, replications: int | None, fresh: bool = False) -> str:
    """Run one experiment and write its report; return its overall verdict."""
    spec = load_compare_spec(HERE / f"{name}.toml")
    if replications:
        spec = replace(spec, replications=replications)
    folder = places.results / name
    if fresh and (folder / "manifest.json").exists():
        shutil.rmtree(folder)  # a compare folder of this script (its manifest says so): simulated again below
    result = run_compare(spec, folder, quiet=True)
    places.figures.mkdir(parents=True, exist_ok=True)
    for figure in ("effects", "trajectories"):
        (places.figures / f"{name}_{figure}.png").write_bytes((folder / f"{figure}.png").read_bytes())
    found, extra = ANALYSES[key](spec, folder, places) if key in ANALYSES else ({}, [])
    judged, whats = verdicts(spec, result, found)
    lines = [
        f"# {TITLES[key]}",
        "",
        *verdict.verdict_lines(judged, whats, spec.hypothesis),
        "",
        f"**Design.** {spec.description} {spec.replications} replications of {spec.n_patients} patients x "
        f"{spec.n_sessions} sessions on common random numbers (root seed {spec.seed}); spec `{name}.toml` (with the "
        f"verdict rule), full tables in `{shown(places.results / name)}/summary.md`. Effects are differences of the "
        "alternative minus the reference on each outcome's scale; symptom change is negative when patients improve.",
        "",
        "**Result.**",
        "",
        *HEADLINES[key](spec, result, places),
        "",
        *([*extra, ""] if extra else []),
        *interaction_lines(shown_interactions(result["interactions"], MAIN[key])),
        *effects_table(result["effects"], MAIN[key]),
        "",
        f"({verdict.PRECISION}; the saving is the SE without common random numbers over the SE with them, with a "
        "bootstrap interval over replications.)",
        "",
        f"![effects](figures/{name}_effects.png)",
        "",
        f"![trajectories](figures/{name}_trajectories.png)",
        "",
        f"**What would change the conclusion.** {CHANGE[key]}",
        "",
        f"Rerun: `.venv/bin/python experiments/hypotheses/run.py {key}` (add `--publish` to rewrite this report).",
        "",
    ]
    places.reports.mkdir(parents=True, exist_ok=True)
    (places.reports / f"{name}.md").write_text("\n".join(lines))
    return verdict.overall(j.verdict for j in judged)


def write_summary(places: Places) -> Path:
    """``summary.md``: the verdict of every report in the reports folder, read back from the reports."""
    rows = []
    for key, name in names().items():
        path = places.reports / f"{name}.md"
        if not path.exists():
            continue
        text = path.read_text()
        checked = verdict.recheck(text)
        claims = [printed for printed, _ in checked[:-1]]
        counts = ", ".join(f"{claims.count(v)} {v}" for v in verdict.VERDICTS if claims.count(v))
        rows.append(f"| [{TITLES[key]}]({name}.md) | **{checked[-1][0]}** | {counts} |")
    text = "\n".join(
        [
            "# Verdicts of the experiments on resolution complexity",
            "",
            "Each hypothesis is judged by the rule written in its spec before the run "
            "(`simulation/explore/verdict.py`): a claim is supported when its 95% interval excludes 0 on the "
            "predicted side and the estimate reaches the smallest effect of interest, contradicted when the whole "
            "interval lies below the smallest effect of interest in the predicted direction, inconclusive otherwise. "
            "The intervals are Monte Carlo precision of the model's expected effect, not a study's CI: the verdicts "
            "are about what the model does.",
            "",
            "| experiment | verdict | claims |",
            "|---|---|---|",
            *rows,
            "",
            "Regenerate: `.venv/bin/python experiments/hypotheses/run.py --publish`.",
            "",
        ]
    )
    path = places.reports / "summary.md"
    path.write_text(text)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the experiments on resolution complexity and their reports.")
    parser.add_argument("keys", nargs="*", help="experiments to run (a-f; all by default)")
    parser.add_argument("--replications", type=int, default=None, help="replications instead of the specs' (>= 3)")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder of simulations and reports (default: results/hypotheses)"
    )
    parser.add_argument(
        "--publish", action="store_true", help="rewrite the reports and figures in experiments/hypotheses/"
    )
    parser.add_argument("--fresh", action="store_true", help="simulate again (e.g. after the model changed)")
    args = parser.parse_args(argv)
    known = names()
    unknown = [k for k in args.keys if k not in known]
    if unknown:
        parser.error(f"experiments must be among {', '.join(known)} (got {', '.join(unknown)}).")
    if args.replications is not None and args.replications < 3:
        parser.error(f"--replications must be a whole number of at least 3 (got {args.replications}).")
    if args.publish and args.replications is not None:
        parser.error("--publish writes the reports with the replications their specs name; drop --replications.")
    return args


def main(argv: list[str]) -> int:
    """Run the chosen experiments (all by default), write their reports and ``summary.md``; print the verdicts."""
    args = parse_args(argv)
    default = RESULTS if args.replications is None else RESULTS.with_name(f"hypotheses-r{args.replications}")
    results = args.out or default
    places = Places(results, HERE if args.publish else results / "reports")
    for key, name in names().items():
        if not args.keys or key in args.keys:
            print(f"{name}: {report(key, name, places, args.replications, args.fresh)}", flush=True)
    print(f"reports and summary.md in {write_summary(places).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
