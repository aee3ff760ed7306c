"""Paired scenario comparisons on common random numbers: ``rupture-sim compare SPEC.toml``.

Every scenario runs on the same patients and the same keyed random numbers
(replication ``r`` uses one seed for all scenarios), so differences between
scenarios are paired and their standard errors small. To measure what that
buys, every alternative scenario is also rerun on independent random numbers
(another seed per replication); the standard error of the same comparison
without common random numbers, divided by the one with them, is the saving.

A spec::

    name = "aft_example"
    population = "mixed"          # default of every scenario
    therapists = "experienced"
    n_patients = 200              # per run
    n_sessions = 30
    replications = 30             # runs per scenario
    seed = 2026
    baseline = "usual"            # the scenario every other one is compared with
    outcomes = ["symptom_change", "dropout"]   # optional; default all of model_function.OUTCOMES

    [scenarios.usual]
    [scenarios.aft_from_start]
    params = { aft_start_session = 1 }
    [scenarios.novices]
    therapists = "novice"         # a therapist policy is a therapist preset plus params

Optionally ``contrasts = [["a", "b"], ["c", "d"]]`` lists the pairs (reference,
alternative) to compare instead of every scenario against ``baseline`` — e.g.
the same change in two populations, for an interaction.

Statistics, per alternative and outcome, over the ``R`` replications of the
run-level outcome (``model_function.summarize``): the paired difference
``d_r = alt_r - base_r`` with a t-based 95% CI; the standardised effect
(Cohen's d: the difference over the pooled between-patient SD; for shares a
risk difference) with the CI of the difference scaled the same way; the SE
``sd(d)/sqrt(R)`` with common random numbers and the SE of ``alt'_r - base_r``
on independent streams, and their ratio; the between-arm correlation of
``alt_r`` and ``base_r``. "Who changed" compares each patient's course result
(dropped out < no reliable change < reliable change < recovered) under the
alternative with the baseline's, by diagnosis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.explore import spec as checks
from simulation.explore.model_function import (
    BINARY,
    COURSE_RESULTS,
    OUTCOMES,
    Scenario,
    derived_seed,
    simulate_scenario,
    summarize,
)
from simulation.explore.store import finish, load_table, run_tasks

KEYS = (
    *checks.COHORT_KEYS,
    "baseline",
    "outcomes",
    "contrasts",
    "scenarios",
)
#: Outcomes whose SE saving is printed as the headline.
MAIN_OUTCOMES = ("rupture_rate", "resolution_rate", "alliance_final", "symptom_change", "recovery")


@dataclass(frozen=True)
class CompareSpec:
    """A checked comparison spec (see the module docstring)."""

    name: str
    scenarios: dict[str, Scenario]
    baseline: str
    n_patients: int = 200
    n_sessions: int = 30
    replications: int = 30
    seed: int = 0
    outcomes: tuple[str, ...] = OUTCOMES
    description: str = ""
    contrasts: tuple[tuple[str, str], ...] = ()
    source: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (without the source text)."""
        out = asdict(self)
        del out["source"]
        out["scenarios"] = {k: {**asdict(v), "params": dict(v.params)} for k, v in self.scenarios.items()}
        out["outcomes"] = list(self.outcomes)
        out["contrasts"] = [list(c) for c in self.pairs]
        return out

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The (reference, alternative) pairs compared: ``contrasts``, or every scenario against the baseline."""
        return self.contrasts or tuple((self.baseline, s) for s in self.scenarios if s != self.baseline)

    @property
    def alternatives(self) -> list[str]:
        """The scenarios that are the alternative of some pair (each is also rerun on independent streams)."""
        return list(dict.fromkeys(alt for _, alt in self.pairs))


def load_compare_spec(path: str | Path) -> CompareSpec:
    """Read and check a comparison spec; raises ``ExploreSpecError`` (one sentence, starting with the path)."""
    data, text = checks.read_spec(path, KEYS)
    with checks.origin_of(str(path), checks.ExploreSpecError):
        return replace(parse_compare(data), source=text)


def parse_compare(data: dict[str, Any]) -> CompareSpec:
    """A ``CompareSpec`` from a TOML table (raises ``ExploreSpecError``)."""
    scenarios = checks.scenarios(data)
    baseline = checks.choice("baseline", data.get("baseline", next(iter(scenarios))), tuple(scenarios))
    return CompareSpec(
        name=checks.name(data["name"]),
        scenarios=scenarios,
        baseline=baseline,
        contrasts=_contrasts(data.get("contrasts", []), tuple(scenarios)),
        n_patients=checks.integer("n_patients", data.get("n_patients", 200), 2, 100_000),
        n_sessions=checks.integer("n_sessions", data.get("n_sessions", 30), 1, 1000),
        replications=checks.integer("replications", data.get("replications", 30), 3, 10_000),
        seed=checks.integer("seed", data.get("seed", 0), 0, 2**63 - 1),
        outcomes=checks.outcome_list("outcomes", data.get("outcomes", list(OUTCOMES))),
        description=str(data.get("description", "")),
    )


def _contrasts(value: Any, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``contrasts``: a list of [reference, alternative] pairs of distinct scenario names."""
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise checks.ExploreSpecError(
            f'contrasts must be a list of [reference, alternative] pairs such as [["usual", "aft"]] '
            f"(got {checks.show(value)})."
        )
    pairs = tuple(
        (checks.choice(f"contrasts[{i}][0]", a, names), checks.choice(f"contrasts[{i}][1]", b, names))
        for i, (a, b) in enumerate(value)
    )
    for i, (a, b) in enumerate(pairs):
        if a == b:
            raise checks.ExploreSpecError(f"contrasts[{i}] compares '{a}' with itself; name two scenarios.")
        if (a, b) in pairs[:i]:
            raise checks.ExploreSpecError(f"contrasts[{i}] repeats the pair ['{a}', '{b}']; give each pair once.")
    return pairs


# --- running ---------------------------------------------------------------------------------------------------


def replication_seed(spec: CompareSpec, replication: int) -> int:
    """The seed all scenarios share in a replication (common random numbers)."""
    return derived_seed(spec.seed, replication)


def independent_seed(spec: CompareSpec, replication: int, scenario: str) -> int:
    """A seed of its own for an alternative scenario's rerun without common random numbers."""
    return derived_seed(spec.seed, replication, "independent", scenario)


def compute_replication(spec: CompareSpec, replication: int) -> dict[str, pd.DataFrame]:
    """The tables of one replication: runs (run-level outcomes), patients and trajectories."""
    runs, patients, trajectories = [], [], []
    for label, scenario in spec.scenarios.items():
        seed = replication_seed(spec, replication)
        courses, trajectory = simulate_scenario(scenario, spec.n_patients, spec.n_sessions, seed)
        runs.append({"scenario": label, "replication": replication, "streams": "common", **summarize(courses)})
        keep = ["patient_id", "therapist_id", "diagnosis", "course_result", *[o for o in OUTCOMES if o in courses]]
        patients.append(courses[keep].assign(scenario=label, replication=replication))
        trajectories.append(trajectory.assign(scenario=label, replication=replication))
        if label in spec.alternatives:
            other = independent_seed(spec, replication, label)
            alone, _ = simulate_scenario(scenario, spec.n_patients, spec.n_sessions, other)
            runs.append({"scenario": label, "replication": replication, "streams": "independent", **summarize(alone)})
    patients_df = pd.concat(patients, ignore_index=True)
    patients_df["diagnosis"] = patients_df["diagnosis"].astype(str)
    return {
        "runs": pd.DataFrame(runs),
        "patients": patients_df,
        "trajectories": pd.concat(trajectories, ignore_index=True),
    }


def run_compare(spec: CompareSpec, folder: Path, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) a comparison into ``folder``, analyse it, write ``summary.md`` and figures."""
    manifest = run_tasks(
        folder, "compare", spec.to_dict(), spec.source, spec.replications, lambda r: compute_replication(spec, r), quiet
    )
    result = analyze(spec, load_table(folder, "runs"), load_table(folder, "patients"))
    result["effects"].to_csv(folder / "effects.csv", index=False)
    result["who_changed"].to_csv(folder / "who_changed.csv", index=False)
    from simulation.explore.figures import compare_figures

    compare_figures(result["effects"], load_table(folder, "trajectories"), spec.pairs, folder)
    (folder / "summary.md").write_text(compare_summary(spec, result))
    finish(folder, manifest)
    return result


# --- analysis --------------------------------------------------------------------------------------------------


def paired_statistics(base: np.ndarray, alt: np.ndarray, alt_independent: np.ndarray) -> dict[str, float]:
    """Paired difference, its CI, the SE with and without common random numbers, their ratio and r.

    Args:
        base: Baseline outcome per replication.
        alt: Alternative outcome per replication, same seeds as ``base``.
        alt_independent: Alternative outcome per replication, on independent seeds.
    """
    n = len(base)
    diff, diff_ind = alt - base, alt_independent - base
    se = float(np.std(diff, ddof=1) / np.sqrt(n))
    se_ind = float(np.std(diff_ind, ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * se
    mean = float(np.mean(diff))
    return {
        "baseline": float(np.mean(base)),
        "alternative": float(np.mean(alt)),
        "difference": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "se_crn": se,
        "se_independent": se_ind,
        "se_ratio": se_ind / se if se > 0 else float("inf"),
        "correlation": float(np.corrcoef(base, alt)[0, 1]) if np.std(base) > 0 and np.std(alt) > 0 else float("nan"),
        "replications": n,
    }


def analyze(spec: CompareSpec, runs: pd.DataFrame, patients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Effects (one row per alternative and outcome) and the "who changed" table."""
    runs = runs.sort_values(["scenario", "streams", "replication"])
    rows = []
    for reference, alt in spec.pairs:
        base = runs[(runs["scenario"] == reference) & (runs["streams"] == "common")]
        paired = runs[(runs["scenario"] == alt) & (runs["streams"] == "common")]
        alone = runs[(runs["scenario"] == alt) & (runs["streams"] == "independent")]
        for outcome in spec.outcomes:
            values = [frame[outcome].to_numpy(float) for frame in (base, paired, alone)]
            row = {"scenario": alt, "reference": reference, "outcome": outcome, **paired_statistics(*values)}
            rows.append({**row, **_standardised(row, outcome, patients, reference, alt)})
    return {"effects": pd.DataFrame(rows), "who_changed": who_changed(spec, patients)}


def _standardised(row: dict[str, Any], outcome: str, patients: pd.DataFrame, base: str, alt: str) -> dict[str, Any]:
    """Cohen's d (difference over the pooled between-patient SD) or, for shares, the risk difference."""
    if outcome in BINARY:
        return {
            "effect_kind": "risk difference",
            "effect": row["difference"],
            "effect_low": row["ci_low"],
            "effect_high": row["ci_high"],
        }
    sd_base = patients.loc[patients["scenario"] == base, outcome].std()
    sd_alt = patients.loc[patients["scenario"] == alt, outcome].std()
    sd = float(np.sqrt((sd_base**2 + sd_alt**2) / 2))
    scale = 1 / sd if sd > 0 else float("nan")
    return {
        "effect_kind": "d",
        "effect": row["difference"] * scale,
        "effect_low": row["ci_low"] * scale,
        "effect_high": row["ci_high"] * scale,
    }


def who_changed(spec: CompareSpec, patients: pd.DataFrame) -> pd.DataFrame:
    """Patients whose course result was better, worse or the same under each alternative, by diagnosis."""
    key = ["replication", "patient_id"]
    out = []
    for reference, alt in spec.pairs:
        base = patients[patients["scenario"] == reference].set_index(key)
        other = patients[patients["scenario"] == alt].set_index(key)
        change = np.sign(other["course_result"].astype(int) - base["course_result"].astype(int).reindex(other.index))
        frame = pd.DataFrame({"diagnosis": base["diagnosis"].reindex(other.index), "change": change})
        for diagnosis, group in [*frame.groupby("diagnosis"), ("all", frame)]:
            n = len(group)
            counts = {k: int((group["change"] == v).sum()) for k, v in (("better", 1), ("same", 0), ("worse", -1))}
            net = (counts["better"] - counts["worse"]) / n if n else float("nan")
            out.append(
                {
                    "scenario": alt,
                    "reference": reference,
                    "diagnosis": diagnosis,
                    "courses": n,
                    **counts,
                    "net_better_share": net,
                }
            )
    return pd.DataFrame(out)


# --- report ----------------------------------------------------------------------------------------------------


def ratio_text(ratio: float) -> str:
    """An SE ratio as ``4.2×``."""
    return f"{ratio:.1f}×" if np.isfinite(ratio) else "∞×"  # noqa: RUF001 (the multiplication sign is meant)


def headline(spec: CompareSpec, effects: pd.DataFrame) -> list[str]:
    """One line per alternative: the CRN standard-error saving on the main outcomes."""
    lines = []
    for (alt, reference), group in effects.groupby(["scenario", "reference"], sort=False):
        main = group[group["outcome"].isin(MAIN_OUTCOMES)]
        parts = ", ".join(f"{r.outcome} {ratio_text(r.se_ratio)}" for r in main.itertuples())
        lines.append(f"{alt} vs {reference}: SE saving from common random numbers: {parts}")
    return lines


def warnings_for(effects: pd.DataFrame) -> list[str]:
    """Warnings for comparisons where common random numbers did not induce a positive correlation."""
    bad = effects[~(effects["correlation"] > 0)]
    return [
        f"warning: {r.scenario} / {r.outcome}: between-arm correlation {r.correlation:.2f} ≤ 0, "
        "common random numbers do not help this comparison"
        for r in bad.itertuples()
    ]


def compare_summary(spec: CompareSpec, result: dict[str, pd.DataFrame]) -> str:
    """``summary.md`` of a comparison."""
    effects, who = result["effects"], result["who_changed"]
    lines = [
        f"# Comparison `{spec.name}`",
        "",
        spec.description,
        "",
        f"{len(spec.scenarios)} scenarios, {len(spec.pairs)} paired comparisons; {spec.replications} replications of "
        f"{spec.n_patients} patients x {spec.n_sessions} sessions on common random numbers (root seed {spec.seed}); "
        "every alternative rerun on independent random numbers to measure the saving.",
        "",
        *[f"- {line}" for line in headline(spec, effects)],
        "",
        "| scenario | vs | outcome | reference | alternative | difference [95% CI] | effect [95% CI] "
        "| SE CRN | SE independent | saving | r |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in effects.itertuples():
        kind = "RD" if r.effect_kind == "risk difference" else "d"
        lines.append(
            f"| {r.scenario} | {r.reference} | {r.outcome} | {r.baseline:.3f} | {r.alternative:.3f} | "
            f"{r.difference:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}] | "
            f"{kind} {r.effect:+.3f} [{r.effect_low:+.3f}, {r.effect_high:+.3f}] "
            f"| {r.se_crn:.4f} | {r.se_independent:.4f} | {ratio_text(r.se_ratio)} | {r.correlation:.2f} |"
        )
    warns = warnings_for(effects)
    lines += ["", *(f"- {w}" for w in warns)] if warns else []
    lines += [
        "",
        "## Who changed",
        "",
        "Course result under the alternative vs the baseline, per patient and replication "
        f"({' < '.join(COURSE_RESULTS)}).",
        "",
        "| scenario | vs | diagnosis | courses | better | same | worse | net better |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {r.scenario} | {r.reference} | {r.diagnosis} | {r.courses} | {r.better} | {r.same} | {r.worse} | "
            f"{r.net_better_share:+.1%} |"
            for r in who.itertuples()
        ],
        "",
        "Figures: `effects.png` (standardised effects with 95% CIs), `trajectories.png` (paired trajectories).",
        "",
    ]
    return "\n".join(lines)
