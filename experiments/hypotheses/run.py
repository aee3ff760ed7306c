"""Rerun the five experiments on resolution complexity and regenerate their reports.

    .venv/bin/python experiments/hypotheses/run.py            # all five (about 5 min on 2 cores)
    .venv/bin/python experiments/hypotheses/run.py b d        # only some

Each experiment is a comparison spec (``rupture-sim compare``) in this folder; its results go to
``results/hypotheses/<name>/`` (resumable), its report to ``<name>.md`` here, its figures to
``figures/``. Experiment (d) adds a mediation analysis on simulated courses (statsmodels OLS,
bootstrap over therapists) checked against the model's own causal structure (its compare spec).
The hypotheses, designs and "what would change the conclusion" are written below; every number in
the reports is computed by this script.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from simulation.api import simulate
from simulation.explore.compare import load_compare_spec, run_compare
from simulation.style import apply_theme, save

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "results" / "hypotheses"
FIGURES = HERE / "figures"

TEXT = {
    "a_repertoire_severity_insight": {
        "title": "(a) Exploratory repertoire x PD severity x insight",
        "hypothesis": "Exploratory metacommunication (the deep, stage 4-5 repairs) helps severe BPD patients more "
        "than milder ones, but only when they have the insight to take it up.",
        "change": "A lower `insight_depth_weight` (insight blocks deep stages less) or a smaller "
        "`severity_repair_penalty` would shrink the severity and insight contrasts; a calibration of "
        "`expressive_provocation` (exploratory work provoking ruptures in patients without insight) could "
        "reverse the sign in the low-insight cells.",
    },
    "b_aft_timing": {
        "title": "(b) AFT switched on early vs late in a 30-session course",
        "hypothesis": "Alliance-focused training pays off more when it starts early: the benefit accumulates over "
        "sessions and early ruptures drive dropout.",
        "change": "If AFT's gains were front-loaded in the model (e.g. a larger `aft_noticing_gain` acting on "
        "early ruptures) the late start could catch up; courses much longer than 30 sessions would shrink the "
        "early-vs-late gap in symptom change.",
    },
    "c_noticing_vs_depth": {
        "title": "(c) Noticing vs repertoire depth",
        "hypothesis": "Noticing ruptures is a bigger lever on outcome than the depth of resolution, because an "
        "unnoticed rupture cannot be repaired at any depth; depth matters more for PD patients.",
        "change": "The two levers are moved by amounts chosen here (+0.20 noticing, +0.40 exploratory "
        "preference); other steps, or a different `immediate_stage_cap` / `resolved_stage`, change their "
        "relative size. The sensitivity analysis (`experiments/explore/sensitivity_resolution.toml`) gives the "
        "variance-based view over whole ranges.",
    },
    "d_skill_paths": {
        "title": "(d) Does resolution complexity carry the effect of therapist skill?",
        "hypothesis": "Therapist skill improves outcome mainly through deeper resolution of ruptures (skill -> "
        "mean resolution stage -> symptom change).",
        "change": "The regression mediation assumes no unmeasured mediator-outcome confounding; in the simulation "
        "patient severity drives both depth and outcome, so adjusting for severity moves the estimate. The "
        "causal check closes the only other path of skill in the rules (fewer unclear interventions); if the "
        "lead's new dynamics add paths for skill, the check must close those too.",
    },
    "e_withdrawal_vs_confrontation": {
        "title": "(e) Withdrawal vs confrontation repairs and retention",
        "hypothesis": "Repairing confrontation ruptures matters more for retention than repairing withdrawal "
        "ruptures, since confrontations cost more alliance and drive dropout.",
        "change": "`withdrawal_dip_ratio` (how much less alliance a withdrawal marker costs) sets the answer: at "
        "1.0 the two profiles would differ only by salience and frequency. Dropout is rare, so the CIs on "
        "dropout are wide relative to the effect; more replications narrow them.",
    },
}


def ci(row: pd.Series, scale: float = 1.0, digits: int = 3) -> str:
    """A difference with its 95% CI."""
    low, mid, high = (row[k] * scale for k in ("ci_low", "difference", "ci_high"))
    return f"{mid:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def run(name: str) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Run (or resume) one comparison; copy its figures; return effects, who-changed and folder."""
    spec = load_compare_spec(HERE / f"{name}.toml")
    folder = RESULTS / name
    result = run_compare(spec, folder, quiet=True)
    FIGURES.mkdir(exist_ok=True)
    for figure in ("effects", "trajectories"):
        shutil.copy(folder / f"{figure}.png", FIGURES / f"{name}_{figure}.png")
    return result["effects"], result["who_changed"], folder


def effects_table(effects: pd.DataFrame, outcomes: list[str]) -> list[str]:
    """Markdown rows: contrast x outcome with difference and CI, effect size and CRN saving."""
    lines = [
        "| alternative | vs | outcome | difference [95% CI] | effect [95% CI] | SE saving |",
        "|---|---|---|---|---|---|",
    ]
    for r in effects[effects["outcome"].isin(outcomes)].itertuples():
        kind = "RD" if r.effect_kind == "risk difference" else "d"
        lines.append(
            f"| {r.scenario} | {r.reference} | {r.outcome} | {r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] "
            f"| {kind} {r.effect:+.2f} [{r.effect_low:+.2f}, {r.effect_high:+.2f}] | {r.se_ratio:.1f}x |"
        )
    return lines


def get(effects: pd.DataFrame, alt: str, outcome: str) -> pd.Series:
    """One effects row."""
    return effects[(effects["scenario"] == alt) & (effects["outcome"] == outcome)].iloc[0]


def diff_of_diffs(a: pd.Series, b: pd.Series) -> str:
    """Difference between two contrasts on different patients (independent), with a normal 95% CI."""
    d = a["difference"] - b["difference"]
    se = math.hypot(a["se_crn"], b["se_crn"])
    return f"{d:+.3f} [{d - 1.96 * se:+.3f}, {d + 1.96 * se:+.3f}]"


# --- the experiments' headline results ------------------------------------------------------------------------


def headline_a(effects: pd.DataFrame, who: pd.DataFrame) -> list[str]:
    cells = {
        "mild_low": "mild, low insight",
        "mild_high": "mild, high insight",
        "severe_low": "severe, low insight",
        "severe_high": "severe, high insight",
    }
    lines = ["Effect of the exploratory repertoire (on minus off), per cell:", ""]
    for key, label in cells.items():
        s, d = get(effects, f"exp_{key}", "symptom_change"), get(effects, f"exp_{key}", "dropout")
        st = get(effects, f"exp_{key}", "resolution_stage")
        lines.append(f"- {label}: resolution stage {ci(st, digits=2)}, symptom change {ci(s)}, dropout {ci(d)}")
    severe = diff_of_diffs(
        get(effects, "exp_severe_high", "symptom_change"), get(effects, "exp_mild_high", "symptom_change")
    )
    insight = diff_of_diffs(
        get(effects, "exp_severe_high", "symptom_change"), get(effects, "exp_severe_low", "symptom_change")
    )
    lines += [
        "",
        f"Severe minus mild (high insight), symptom change: {severe}; high minus low insight (severe): {insight} "
        "(negative = the repertoire helps more).",
    ]
    return lines


def headline_b(effects: pd.DataFrame, who: pd.DataFrame) -> list[str]:
    lines = ["Effect of AFT vs none (same patients):", ""]
    for alt in ("aft_from_1", "aft_from_10", "aft_from_20"):
        lines.append(
            f"- {alt}: symptom change {ci(get(effects, alt, 'symptom_change'))}, "
            f"recovery {ci(get(effects, alt, 'recovery'))}, dropout {ci(get(effects, alt, 'dropout'))}"
        )
    return lines


def headline_c(effects: pd.DataFrame, who: pd.DataFrame) -> list[str]:
    lines = ["Effect of each lever vs usual (same patients):", ""]
    for alt in ("noticing_up", "depth_up", "both_up"):
        lines.append(
            f"- {alt}: symptom change {ci(get(effects, alt, 'symptom_change'))}, resolution stage "
            f"{ci(get(effects, alt, 'resolution_stage'), digits=2)}, dropout {ci(get(effects, alt, 'dropout'))}"
        )
    lines += ["", "For whom (net share of courses with a better result, by diagnosis):", ""]
    table = who.pivot(index="diagnosis", columns="scenario", values="net_better_share")
    lines += ["| diagnosis | " + " | ".join(table.columns) + " |", "|---" * (len(table.columns) + 1) + "|"]
    lines += [f"| {d} | " + " | ".join(f"{v:+.1%}" for v in row) + " |" for d, row in table.iterrows()]
    return lines


def headline_e(effects: pd.DataFrame, who: pd.DataFrame) -> list[str]:
    w, c = get(effects, "withdrawal_poor", "dropout"), get(effects, "confrontation_poor", "dropout")
    ws, cs = get(effects, "withdrawal_poor", "symptom_change"), get(effects, "confrontation_poor", "symptom_change")
    return [
        "Effect of poorer repair (stage advance 1.0 -> 0.5):",
        "",
        f"- withdrawal-dominant: dropout {ci(w)}, symptom change {ci(ws)}",
        f"- confrontation-dominant: dropout {ci(c)}, symptom change {ci(cs)}",
        "",
        f"Confrontation minus withdrawal, dropout: {diff_of_diffs(c, w)} (positive = repair matters more for "
        "retention with confrontation ruptures).",
    ]


# --- (d): mediation on simulated courses -----------------------------------------------------------------------


def mediation(seed: int = 2026, n_patients: int = 2400, boots: int = 300) -> dict[str, tuple[float, float, float]]:
    """Skill -> mean resolution stage -> symptom change, product of coefficients, bootstrap over therapists."""
    import statsmodels.api as sm

    res = simulate("mixed", "experienced", n_patients, 30, seed, {"skill_sd": 0.2, "caseload": 6}, events=False)
    data = res.patients.merge(res.therapists[["therapist_id", "skill"]], on="therapist_id")
    data = data[data["n_episodes"] > 0]

    def estimate(d: pd.DataFrame) -> tuple[float, float, float]:
        x = sm.add_constant(d[["skill"]])
        a = sm.OLS(d["mean_resolution_stage"], x).fit().params["skill"]
        fit = sm.OLS(d["symptom_change"], sm.add_constant(d[["skill", "mean_resolution_stage"]])).fit()
        total = sm.OLS(d["symptom_change"], x).fit().params["skill"]
        return total, fit.params["skill"], a * fit.params["mean_resolution_stage"]

    point = estimate(data)
    rng = np.random.default_rng(seed)
    groups = {t: g for t, g in data.groupby("therapist_id")}
    ids = np.array(list(groups))
    draws = np.array([estimate(pd.concat([groups[t] for t in rng.choice(ids, len(ids))])) for _ in range(boots)])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    return {k: (point[i], low[i], high[i]) for i, k in enumerate(("total", "direct", "indirect"))}


def _mediation_reading(share: float, causal_share: float, direct: tuple[float, float, float]) -> str:
    """What the regression's mediated share says next to the model's own causal check (written from the numbers)."""
    caveat = (
        " (The check compares the skill effect with the other path closed in both arms; closing it also raises "
        "the baseline, so the share is approximate.)"
    )
    if direct[1] <= 0.0 <= direct[2]:
        return (
            f"The regression's direct effect is indistinguishable from 0, so its mediated share ({share:.0%}) and the "
            f"causal check ({causal_share:.0%}) agree that the resolution path carries the skill effect; a share "
            "above 100% only means the direct part came out with the opposite sign, within noise." + caveat
        )
    verb = "understates" if share < causal_share else "overstates"
    return (
        f"The regression {verb} the mediated share: the mean resolution stage is only one summary of what skill does "
        "to resolution (it also changes how often ruptures get resolved at all, and how much alliance a repair "
        "restores), so part of the resolution path is counted on the wrong side. On real data, where no such check "
        "exists, an incomplete summary of the mediator biases a regression mediation in the same way." + caveat
    )


def headline_d(effects: pd.DataFrame, who: pd.DataFrame) -> list[str]:
    med = mediation()
    share = med["indirect"][0] / med["total"][0]
    both = get(effects, "high_skill", "symptom_change")
    resolution_only = get(effects, "high_skill_no_unclear", "symptom_change")
    causal_share = resolution_only["difference"] / both["difference"]
    _mediation_figure(med)

    def fmt(k: str) -> str:
        return f"{med[k][0]:+.3f} [{med[k][1]:+.3f}, {med[k][2]:+.3f}]"

    return [
        "Mediation on 2,400 simulated courses (skill varies between therapists, SD 0.2; per unit of skill; "
        "patients with at least one resolution episode; 95% bootstrap CI over therapists):",
        "",
        f"- total effect of skill on symptom change {fmt('total')}; direct {fmt('direct')}; "
        f"indirect through the mean resolution stage {fmt('indirect')}: **{share:.0%} mediated**.",
        "",
        "Causal check on the model (paired, skill 0.4 -> 0.8):",
        "",
        f"- all paths open: symptom change {ci(both)}; only the resolution path (unclear interventions switched "
        f"off in both arms): {ci(resolution_only)}; the resolution path carries **{causal_share:.0%}** of the "
        "skill effect in the model.",
        "",
        _mediation_reading(share, causal_share, med["direct"]),
        "",
        "![mediation](figures/d_mediation.png)",
    ]


def _mediation_figure(med: dict[str, tuple[float, float, float]]) -> None:
    apply_theme()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    keys = list(med)
    values = [med[k][0] for k in keys]
    err = [[med[k][0] - med[k][1] for k in keys], [med[k][2] - med[k][0] for k in keys]]
    ax.barh(keys, values, xerr=err, color=["C0", "C1", "C2"], capsize=4)
    ax.axvline(0, color="grey", lw=1)
    ax.invert_yaxis()
    ax.set(xlabel="effect of skill on symptom change (per unit; 95% CI)", title="Skill -> resolution depth -> outcome")
    save(fig, FIGURES / "d_mediation.png")


HEADLINES = {"a": headline_a, "b": headline_b, "c": headline_c, "d": headline_d, "e": headline_e}
MAIN = {
    "a": ["resolution_stage", "symptom_change", "dropout"],
    "b": ["resolution_stage", "alliance_final", "symptom_change", "recovery", "dropout"],
    "c": ["resolution_stage", "symptom_change", "reliable_change", "dropout"],
    "d": ["resolution_stage", "symptom_change", "dropout"],
    "e": ["resolution_rate", "alliance_final", "symptom_change", "dropout"],
}


def report(name: str) -> list[str]:
    """Run one experiment and write its report; return its headline lines."""
    effects, who, _ = run(name)
    text, key = TEXT[name], name[0]
    spec = load_compare_spec(HERE / f"{name}.toml")
    headline = HEADLINES[key](effects, who)
    lines = [
        f"# {text['title']}",
        "",
        f"**Hypothesis.** {text['hypothesis']}",
        "",
        f"**Design.** {spec.description} {spec.replications} replications of {spec.n_patients} patients x "
        f"{spec.n_sessions} sessions on common random numbers (root seed {spec.seed}); spec `{name}.toml`, "
        f"full tables in `results/hypotheses/{name}/summary.md`.",
        "",
        "**Result.**",
        "",
        *headline,
        "",
        *effects_table(effects, MAIN[key]),
        "",
        f"![effects](figures/{name}_effects.png)",
        "",
        f"![trajectories](figures/{name}_trajectories.png)",
        "",
        f"**What would change the conclusion.** {text['change']}",
        "",
        "Rerun: `.venv/bin/python experiments/hypotheses/run.py " + key + "`.",
        "",
    ]
    (HERE / f"{name}.md").write_text("\n".join(lines))
    return headline


def main(keys: list[str]) -> None:
    """Run the chosen experiments (all by default) and print their headlines."""
    for name in TEXT:
        if not keys or name[0] in keys:
            print(f"== {name}")
            print("\n".join(report(name)))


if __name__ == "__main__":
    main(sys.argv[1:])
