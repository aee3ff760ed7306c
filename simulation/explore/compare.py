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

Optionally ``groups = "diagnosis"`` also summarises every run per diagnosis
(contrasts by diagnosis, on the same patients); ``[interactions.NAME]`` tables
declare contrasts of contrasts::

    [interactions.severity]
    contrast = ["imm_severe", "exp_severe"]        # [reference, alternative] or [reference, alternative, group]
    minus = ["imm_mild", "exp_mild"]

computed per replication on common random numbers (``i_r = (a_r - b_r) - (c_r - d_r)``:
every scenario of a replication shares seed and patients, so the two contrasts
are correlated and their difference is paired), with a t interval on R - 1
degrees of freedom and its saving over independent streams. ``hypothesis`` and
``[[claims]]`` tables write the verdict rule before the run
(``simulation.explore.verdict``); the summary ends with the verdict.

Statistics, per alternative and outcome, over the ``R`` replications of the
run-level outcome (``model_function.summarize``): the paired difference
``d_r = alt_r - base_r`` with a t-based 95% CI; the standardised effect
(Cohen's d: the difference over the pooled between-patient SD; for shares a
risk difference) with the CI of the difference scaled the same way; the SE
``sd(d)/sqrt(R)`` with common random numbers and the SE of ``alt'_r - base_r``
on independent streams, and their ratio; the between-arm correlation of
``alt_r`` and ``base_r``; a bootstrap over replications (pairs kept) gives the
saving a 95% interval. Every interval is Monte Carlo precision of the model's
expected effect (how well the replications pin down what the model does), not
the confidence interval of a study of that many patients. "Who changed"
compares each patient's course result (dropped out < no reliable change <
reliable change < recovered) under the alternative with the baseline's, by
diagnosis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.explore import spec as checks
from simulation.explore import verdict
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
from simulation.model.taxonomy import DIAGNOSES
from simulation.run.outcomes import CATALOG

KEYS = (
    *checks.COHORT_KEYS,
    "baseline",
    "outcomes",
    "contrasts",
    "scenarios",
    "groups",
    "interactions",
    "hypothesis",
    "claims",
)
#: What a run can be split by (``groups``), and the groups of each.
GROUP_LEVELS = {"diagnosis": DIAGNOSES}
GROUPINGS = tuple(GROUP_LEVELS)
#: Bootstrap resamples of the replications for the interval of an SE saving.
SAVING_BOOTSTRAP = 2000
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
    groups: str = ""
    interactions: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = field(default_factory=dict)
    hypothesis: str = ""
    claims: tuple[verdict.Claim, ...] = ()
    source: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (without the source text; optional parts only when given)."""
        out = asdict(self)
        del out["source"]
        out["scenarios"] = {k: {**asdict(v), "params": dict(v.params)} for k, v in self.scenarios.items()}
        out["outcomes"] = list(self.outcomes)
        out["contrasts"] = [list(c) for c in self.pairs]
        out["interactions"] = {k: [list(a), list(b)] for k, (a, b) in self.interactions.items()}
        out["claims"] = [asdict(c) for c in self.claims]
        for key in ("groups", "interactions", "hypothesis", "claims"):  # older folders keep their fingerprint
            if not out[key]:
                del out[key]
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
    groups = checks.choice("groups", data["groups"], GROUPINGS) if "groups" in data else ""
    levels = GROUP_LEVELS[groups] if groups else ()
    interactions = _interactions(data.get("interactions", {}), tuple(scenarios), levels)
    hypothesis = data.get("hypothesis", "")
    if not isinstance(hypothesis, str):
        raise checks.ExploreSpecError(f"hypothesis must be the hypothesis in words (got {checks.show(hypothesis)}).")
    spec = CompareSpec(
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
        groups=groups,
        interactions=interactions,
        hypothesis=hypothesis,
        claims=verdict.parse_claims(data.get("claims"), tuple(scenarios), tuple(interactions), levels),
    )
    _check_compared(spec)
    return spec


def _check_compared(spec: CompareSpec) -> None:
    """Interactions and contrast claims may only use pairs the spec compares (their alternatives get reruns)."""
    sides = [(f"[interactions.{k}]", side) for k, pair in spec.interactions.items() for side in pair]
    sides += [(f"the claim '{c.says}'", c.estimate[1:3]) for c in spec.claims if c.estimate[0] == "contrast"]
    for where, (reference, alt, *_) in sides:
        if (reference, alt) not in spec.pairs:
            pairs = ", ".join(f"[{a}, {b}]" for a, b in spec.pairs)
            raise checks.ExploreSpecError(
                f"{where} uses [{reference}, {alt}], which is not a compared pair; the pairs are {pairs} "
                "(add it to contrasts)."
            )
    for claim in spec.claims:
        if claim.estimate[0] != "analysis" and claim.outcome not in spec.outcomes:
            raise checks.ExploreSpecError(
                f"the claim '{claim.says}' is about {claim.outcome}, which is not among outcomes "
                f"({', '.join(spec.outcomes)})."
            )


def _interactions(value: Any, names: tuple[str, ...], levels: tuple[str, ...]) -> dict[str, Any]:
    """``[interactions.NAME]`` tables: ``contrast`` and ``minus``, each [reference, alternative(, group)]."""
    if not isinstance(value, dict):
        raise checks.ExploreSpecError(f"[interactions] must hold named tables (got {checks.show(value)}).")
    out = {}
    for label, table in value.items():
        where = f"[interactions.{label}]"
        if not isinstance(table, dict):
            raise checks.ExploreSpecError(
                f"{where} must be a table with contrast and minus (got {checks.show(table)})."
            )
        checks.check_keys(where, table, ("contrast", "minus"), checks.ExploreSpecError, required=True)
        out[str(label)] = (
            verdict.side(f"{where}.contrast", table["contrast"], names, levels),
            verdict.side(f"{where}.minus", table["minus"], names, levels),
        )
        if out[str(label)][0] == out[str(label)][1]:
            raise checks.ExploreSpecError(f"{where} subtracts a contrast from itself; name two different contrasts.")
    return out


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
    """The tables of one replication: runs (run-level outcomes, per group if asked), patients and trajectories."""
    runs, patients, trajectories = [], [], []
    for label, scenario in spec.scenarios.items():
        seed = replication_seed(spec, replication)
        courses, trajectory = simulate_scenario(scenario, spec.n_patients, spec.n_sessions, seed)
        runs += _run_rows(spec, courses, label, replication, "common")
        keep = ["patient_id", "therapist_id", "diagnosis", "course_result", *[o for o in OUTCOMES if o in courses]]
        patients.append(courses[keep].assign(scenario=label, replication=replication))
        trajectories.append(trajectory.assign(scenario=label, replication=replication))
        if label in spec.alternatives:
            other = independent_seed(spec, replication, label)
            alone, _ = simulate_scenario(scenario, spec.n_patients, spec.n_sessions, other)
            runs += _run_rows(spec, alone, label, replication, "independent")
    patients_df = pd.concat(patients, ignore_index=True)
    patients_df["diagnosis"] = patients_df["diagnosis"].astype(str)
    return {
        "runs": pd.DataFrame(runs),
        "patients": patients_df,
        "trajectories": pd.concat(trajectories, ignore_index=True),
    }


def _run_rows(spec: CompareSpec, courses: pd.DataFrame, label: str, replication: int, streams: str) -> list[dict]:
    """The run's outcomes over all its patients and, with ``groups``, over each group's patients."""
    key = {"scenario": label, "replication": replication, "streams": streams}
    if not spec.groups:
        return [{**key, **summarize(courses)}]
    column = courses[spec.groups].astype(str)
    rows = [{**key, "group": "all", **summarize(courses)}]
    for level in GROUP_LEVELS[spec.groups]:
        part = courses[column == level]
        rows.append({**key, "group": level, **(summarize(part) if len(part) else dict.fromkeys(OUTCOMES, np.nan))})
    return rows


def run_compare(spec: CompareSpec, folder: Path, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) a comparison into ``folder``, analyse it, write ``summary.md`` and figures."""
    manifest = run_tasks(
        folder, "compare", spec.to_dict(), spec.source, spec.replications, lambda r: compute_replication(spec, r), quiet
    )
    result = analyze(spec, load_table(folder, "runs"), load_table(folder, "patients"))
    result["effects"].to_csv(folder / "effects.csv", index=False)
    result["who_changed"].to_csv(folder / "who_changed.csv", index=False)
    if len(result["interactions"]):
        result["interactions"].to_csv(folder / "interactions.csv", index=False)
    from simulation.explore.figures import compare_figures

    overall = result["effects"][result["effects"]["group"] == "all"]
    compare_figures(overall, load_table(folder, "trajectories"), spec.pairs, folder)
    (folder / "summary.md").write_text(compare_summary(spec, result))
    finish(folder, manifest)
    return result


# --- analysis --------------------------------------------------------------------------------------------------


def paired_statistics(base: np.ndarray, alt: np.ndarray, alt_independent: np.ndarray) -> dict[str, float]:
    """Paired difference, its CI, the SE with and without common random numbers, their ratio (with a CI) and r.

    Args:
        base: Baseline outcome per replication.
        alt: Alternative outcome per replication, same seeds as ``base``.
        alt_independent: Alternative outcome per replication, on independent seeds.
    """
    diff, diff_ind = alt - base, alt_independent - base
    out = {"baseline": float(np.mean(base)), "alternative": float(np.mean(alt)), **paired_mean(diff, diff_ind)}
    both = np.std(base) > 0 and np.std(alt) > 0
    out["correlation"] = float(np.corrcoef(base, alt)[0, 1]) if both else float("nan")
    return out


def paired_mean(diff: np.ndarray, diff_independent: np.ndarray) -> dict[str, float]:
    """Mean of per-replication differences with a t CI on R - 1 df, and the SE saving over independent streams.

    Args:
        diff: The paired difference (or contrast of contrasts) of each replication, common random numbers.
        diff_independent: The same difference with the alternatives on independent streams.
    """
    n = len(diff)
    se = float(np.std(diff, ddof=1) / np.sqrt(n))
    se_ind = float(np.std(diff_independent, ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * se
    mean = float(np.mean(diff))
    low, high = saving_interval(diff, diff_independent)
    return {
        "difference": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "se_crn": se,
        "se_independent": se_ind,
        "se_ratio": se_ind / se if se > 0 else float("inf"),
        "se_ratio_low": low,
        "se_ratio_high": high,
        "replications": n,
    }


def saving_interval(diff: np.ndarray, diff_independent: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the SE saving ``sd(diff_independent) / sd(diff)``, bootstrapping replications.

    A replication's two differences share its baseline, so they are resampled together.
    """
    n = len(diff)
    rows = np.random.default_rng(seed).integers(0, n, (SAVING_BOOTSTRAP, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.std(diff_independent[rows], axis=1, ddof=1) / np.std(diff[rows], axis=1, ddof=1)
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return float("nan"), float("nan")
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def _arm(runs: pd.DataFrame, scenario: str, streams: str, group: str = "all") -> pd.DataFrame:
    """One scenario's runs on one kind of streams (and one group), in replication order."""
    keep = (runs["scenario"] == scenario) & (runs["streams"] == streams)
    if "group" in runs:
        keep &= runs["group"] == group
    return runs[keep].sort_values("replication")


def analyze(spec: CompareSpec, runs: pd.DataFrame, patients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Effects (per pair, outcome and group), interactions, the "who changed" table and the verdicts."""
    levels = GROUP_LEVELS[spec.groups] if spec.groups else ()
    groups = ("all", *[g for g in levels if (patients[spec.groups].astype(str) == g).any()])
    rows = []
    for group in groups:
        subset = patients if group == "all" else patients[patients[spec.groups] == group]
        for reference, alt in spec.pairs:
            arms = [_arm(runs, reference, "common", group), _arm(runs, alt, "common", group)]
            arms.append(_arm(runs, alt, "independent", group))
            for outcome in spec.outcomes:
                values = [frame[outcome].to_numpy(float) for frame in arms]
                row = {"scenario": alt, "reference": reference, "group": group, "outcome": outcome}
                row.update(paired_statistics(*values))
                rows.append({**row, **_standardised(row, outcome, subset, reference, alt)})
    result = {
        "effects": pd.DataFrame(rows),
        "who_changed": who_changed(spec, patients),
        "interactions": interaction_table(spec, runs),
    }
    result["verdicts"] = judge_claims(spec, result)
    return result


def contrast_by_replication(runs: pd.DataFrame, side: tuple[str, str, str], outcome: str, streams: str) -> np.ndarray:
    """``alternative_r - reference_r`` of one contrast per replication (the alternative on ``streams``)."""
    reference, alt, group = side
    base = _arm(runs, reference, "common", group)[outcome].to_numpy(float)
    return _arm(runs, alt, streams, group)[outcome].to_numpy(float) - base


def interaction_table(spec: CompareSpec, runs: pd.DataFrame) -> pd.DataFrame:
    """Per interaction and outcome: the paired contrast of contrasts and what treating it as unpaired would say.

    ``se_as_unpaired`` is the SE of the two contrasts combined as if independent
    (``sqrt(se_a^2 + se_b^2)``); it is wrong here, since both contrasts are computed
    on the same seeds and patients, and is kept to show by how much
    (``contrast_correlation`` is the correlation of the two contrasts over replications).
    """
    rows = []
    for name, (first, second) in spec.interactions.items():
        for outcome in spec.outcomes:
            a, b = (contrast_by_replication(runs, side, outcome, "common") for side in (first, second))
            a_ind, b_ind = (contrast_by_replication(runs, side, outcome, "independent") for side in (first, second))
            n = len(a)
            stats_ = paired_mean(a - b, a_ind - b_ind)
            unpaired = float(np.hypot(np.std(a, ddof=1), np.std(b, ddof=1)) / np.sqrt(n))
            corr = float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else float("nan")
            rows.append(
                {
                    "interaction": name,
                    "outcome": outcome,
                    "contrast": " - ".join(first[1::-1]) + ("" if first[2] == "all" else f" ({first[2]})"),
                    "minus": " - ".join(second[1::-1]) + ("" if second[2] == "all" else f" ({second[2]})"),
                    "contrast_difference": float(np.mean(a)),
                    "minus_difference": float(np.mean(b)),
                    **stats_,
                    "se_as_unpaired": unpaired,
                    "contrast_correlation": corr,
                }
            )
    return pd.DataFrame(rows)


def estimate_of(result: dict[str, pd.DataFrame], claim: verdict.Claim) -> tuple[float, float, float, str]:
    """(estimate, CI low, CI high, what it is) of a contrast or interaction claim."""
    if claim.estimate[0] == "interaction":
        table = result["interactions"]
        row = table[(table["interaction"] == claim.estimate[1]) & (table["outcome"] == claim.outcome)].iloc[0]
        what = f"interaction {claim.estimate[1]} ({row['contrast']}) - ({row['minus']}) on {claim.outcome}"
    else:
        _, reference, alt, group = claim.estimate
        e = result["effects"]
        keep = (e["scenario"] == alt) & (e["reference"] == reference) & (e["outcome"] == claim.outcome)
        matches = e[keep & (e["group"] == group)]
        if not len(matches):
            raise ValueError(f"claim '{claim.says}': {alt} vs {reference} is not among the compared pairs.")
        row = matches.iloc[0]
        what = f"{alt} - {reference}" + ("" if group == "all" else f" ({group})") + f" on {claim.outcome}"
    return float(row["difference"]), float(row["ci_low"]), float(row["ci_high"]), what


def judge_claims(spec: CompareSpec, result: dict[str, pd.DataFrame]) -> list[tuple[verdict.Judged, str]]:
    """The verdict of every contrast and interaction claim (analysis claims are left to their script)."""
    out = []
    for claim in spec.claims:
        if claim.estimate[0] != "analysis":
            estimate, low, high, what = estimate_of(result, claim)
            out.append((verdict.judge(claim, estimate, low, high), what))
    return out


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


def saving_text(ratio: float, low: float, high: float) -> str:
    """An SE saving with its bootstrap interval: ``4.2× [3.1, 5.6]``."""
    return f"{ratio_text(ratio)} [{low:.1f}, {high:.1f}]" if np.isfinite(low) else ratio_text(ratio)


def headline(spec: CompareSpec, effects: pd.DataFrame) -> list[str]:
    """One line per alternative: the CRN standard-error saving on the main outcomes (95% bootstrap interval)."""
    lines = []
    overall = effects[effects["group"] == "all"] if "group" in effects else effects
    for (alt, reference), group in overall.groupby(["scenario", "reference"], sort=False):
        main = group[group["outcome"].isin(MAIN_OUTCOMES)]
        parts = ", ".join(
            f"{r.outcome} {saving_text(r.se_ratio, r.se_ratio_low, r.se_ratio_high)}" for r in main.itertuples()
        )
        lines.append(f"{alt} vs {reference}: SE saving from common random numbers: {parts}")
    return lines


def warnings_for(effects: pd.DataFrame) -> list[str]:
    """Warnings for comparisons where common random numbers did not induce a positive correlation."""
    overall = effects[effects["group"] == "all"] if "group" in effects else effects
    bad = overall[~(overall["correlation"] > 0)]
    return [
        f"warning: {r.scenario} / {r.outcome}: between-arm correlation {r.correlation:.2f} ≤ 0, "
        "common random numbers do not help this comparison"
        for r in bad.itertuples()
    ]


def for_the_patient(outcome: str, low: float, high: float) -> str:
    """``better``/``worse`` when the CI excludes 0 (by the outcome's direction), else ``no clear change``."""
    if low <= 0 <= high:
        return "no clear change"
    higher = low > 0
    return "better" if higher == (CATALOG[outcome].better == "higher") else "worse"


def outcome_lines(outcomes: tuple[str, ...]) -> list[str]:
    """What each outcome is: label, unit, direction (from the catalog)."""
    return [f"- `{o}`: {CATALOG[o].label}; {CATALOG[o].describe()}." for o in outcomes]


def size_columns(r: Any, digits: int) -> tuple[str, str]:
    """An effects row's size with its CI in its own column: (Cohen's d, risk difference), the other empty."""
    size = f"{r.effect:+.{digits}f} [{r.effect_low:+.{digits}f}, {r.effect_high:+.{digits}f}]"
    return (size, "") if r.effect_kind == "d" else ("", size)


def effect_rows(effects: pd.DataFrame) -> list[str]:
    """Markdown rows of the effects table (differences on the outcome's scale, d and RD in their own columns)."""
    rows = []
    for r in effects.itertuples():
        cohen, risk = size_columns(r, 3)
        rows.append(
            f"| {r.scenario} | {r.reference} | {r.outcome} | {r.baseline:.3f} | {r.alternative:.3f} | "
            f"{r.difference:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}] | "
            f"{for_the_patient(r.outcome, r.ci_low, r.ci_high)} "
            f"| {cohen} | {risk} | {r.se_crn:.4f} | {r.se_independent:.4f} "
            f"| {saving_text(r.se_ratio, r.se_ratio_low, r.se_ratio_high)} | {r.correlation:.2f} |"
        )
    return rows


EFFECTS_HEAD = [
    "| scenario | vs | outcome | reference | alternative | difference [95% CI] | for the patient | Cohen's d [95% CI] "
    "| risk difference [95% CI] | SE CRN | SE independent | saving [95% CI] | r |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def interaction_lines(interactions: pd.DataFrame) -> list[str]:
    """The interactions section: paired contrast of contrasts with CI, the unpaired SE it replaces, the saving."""
    if not len(interactions):
        return []
    lines = [
        "## Interactions (contrasts of contrasts, paired per replication)",
        "",
        "Per replication r: (contrast)_r - (minus)_r on the same seed and patients; mean with a t interval on R - 1 "
        "df. `SE unpaired` is what combining the two contrasts as independent would give (wrong here: they share "
        "seeds and patients, `r` is their correlation); `saving` compares with every scenario on independent streams.",
        "",
        "| interaction | outcome | contrast | minus | difference of differences [95% CI] | SE paired "
        "| SE unpaired | r | saving [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in interactions.itertuples():
        lines.append(
            f"| {r.interaction} | {r.outcome} | {r.contrast}: {r.contrast_difference:+.4f} | {r.minus}: "
            f"{r.minus_difference:+.4f} | {r.difference:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}] | {r.se_crn:.4f} "
            f"| {r.se_as_unpaired:.4f} | {r.contrast_correlation:+.2f} | "
            f"{saving_text(r.se_ratio, r.se_ratio_low, r.se_ratio_high)} |"
        )
    return [*lines, ""]


def compare_summary(spec: CompareSpec, result: dict[str, Any]) -> str:
    """``summary.md`` of a comparison."""
    effects, who = result["effects"], result["who_changed"]
    overall = effects[effects["group"] == "all"]
    lines = [
        f"# Comparison `{spec.name}`",
        "",
        spec.description,
        "",
        f"{len(spec.scenarios)} scenarios, {len(spec.pairs)} paired comparisons; {spec.replications} replications of "
        f"{spec.n_patients} patients x {spec.n_sessions} sessions on common random numbers (root seed {spec.seed}); "
        "every alternative rerun on independent random numbers to measure the saving.",
        "",
        f"Every interval is a {verdict.PRECISION}: it says how well {spec.replications} replications pin down what "
        "the model does, and shrinks with more replications.",
        "",
        "Outcomes:",
        "",
        *outcome_lines(spec.outcomes),
        "",
        *[f"- {line}" for line in headline(spec, effects)],
        "",
        *EFFECTS_HEAD,
        *effect_rows(overall),
    ]
    warns = warnings_for(effects)
    lines += ["", *(f"- {w}" for w in warns)] if warns else []
    if spec.groups:
        lines += [
            "",
            f"## Effects by {spec.groups}",
            "",
            *EFFECTS_HEAD,
            *effect_rows(effects[effects["group"] != "all"]),
        ]
    lines += ["", *interaction_lines(result["interactions"])]
    if result.get("verdicts"):
        judged, whats = zip(*result["verdicts"], strict=True)
        lines += ["## Verdict", "", *verdict.verdict_lines(judged, whats, spec.hypothesis), ""]
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
        "Figures: `effects.png` (Cohen's d and risk differences in separate panels, 95% CIs), `trajectories.png` "
        "(paired trajectories).",
        "",
    ]
    return "\n".join(lines)
