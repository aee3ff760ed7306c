"""Virtual trials with power curves: ``rupture-sim trial SPEC.toml``.

A planned study is simulated end to end, many times per sample size, and
analysed as the real study would be: a correlation study (Pearson r between
a process measure and the outcome, as in the meta-analyses' typical study)
or a two-arm trial (a linear mixed model with patients nested in therapists,
``outcome ~ arm + (1 | therapist)``, via statsmodels). Over the sizes it
reports power (the share of trials with p < alpha), the expected estimate
with its spread, and the share of trials whose estimate has the wrong sign.

A spec::

    name = "resolution_outcome_r"
    kind = "correlation"                 # correlation (one arm) | two_arm (two arms: control, then treatment)
    population = "adult_bpd"             # default of every arm
    therapists = "experienced"
    n_sessions = 20
    caseload = 6                         # patients per therapist
    sizes = [20, 40, 80]                 # patients per trial (all arms together), increasing
    trials = 200                         # simulated trials per size
    seed = 2026
    alpha = 0.05
    analysis_set = "completers"          # completers | all (dropouts analysed with their last score)
    predictor = "patient_resolution"     # correlation: the process measure (see PREDICTORS)
    outcome = "symptom_change"           # the outcome measure (see TRIAL_OUTCOMES)
    coded_sessions = [3, 5, 7]           # sessions whose patient-rated resolution is averaged
    [arms.study]
    params = { noticing = 0.4 }

The model behind a trial is anything with ``patients(arm, ids, seed)``
returning one row per patient (``therapist_id``, the measures,
``dropped_out``): ``SimulatedStudy`` runs the simulation; a bivariate normal
stub checks the power against the analytic power of a Pearson correlation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from simulation.explore import spec as checks
from simulation.explore.model_function import Scenario, derived_seed, patient_outcomes
from simulation.explore.store import finish, load_table, run_tasks
from simulation.extras import require

KINDS = ("correlation", "two_arm")
ANALYSIS_SETS = ("completers", "all")
PREDICTORS = (
    "patient_resolution",
    "resolution_stage",
    "resolution_rate",
    "rupture_rate",
    "patient_rupture_rate",
    "therapist_rupture_rate",
    "alliance_final",
)
TRIAL_OUTCOMES = ("symptom_change", "alliance_final", "reliable_change", "recovery", "dropout")
KEYS = (
    "name",
    "description",
    "kind",
    "population",
    "therapists",
    "n_sessions",
    "caseload",
    "sizes",
    "trials",
    "seed",
    "alpha",
    "analysis_set",
    "predictor",
    "outcome",
    "coded_sessions",
    "arms",
)
#: Trials per task (a task is one block of trials of one size).
BLOCK = 50
#: A between-therapist variance below this share of the residual variance counts as tau^2 = 0 (a boundary fit).
BOUNDARY = 1e-6


@dataclass(frozen=True)
class TrialSpec:
    """A checked virtual-trial spec (see the module docstring)."""

    name: str
    kind: str
    arms: dict[str, Scenario]
    sizes: tuple[int, ...]
    n_sessions: int = 20
    caseload: int = 6
    trials: int = 200
    seed: int = 0
    alpha: float = 0.05
    analysis_set: str = "completers"
    predictor: str = "patient_resolution"
    outcome: str = "symptom_change"
    coded_sessions: tuple[int, ...] = ()
    description: str = ""
    source: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (without the source text)."""
        out = asdict(self)
        del out["source"]
        out["arms"] = {k: {**asdict(v), "params": dict(v.params)} for k, v in self.arms.items()}
        return out

    def tasks(self) -> list[tuple[int, int]]:
        """(size, first trial) of every task."""
        return [(size, first) for size in self.sizes for first in range(0, self.trials, BLOCK)]


def load_trial_spec(path: str | Path) -> TrialSpec:
    """Read and check a trial spec; raises ``ExploreSpecError`` (one sentence, starting with the path)."""
    data, text = checks.read_spec(path, KEYS)
    with checks.origin_of(str(path), checks.ExploreSpecError):
        return replace(parse_trial(data), source=text)


def parse_trial(data: dict[str, Any]) -> TrialSpec:
    """A ``TrialSpec`` from a TOML table (raises ``ExploreSpecError``)."""
    kind = checks.choice("kind", data.get("kind", "correlation"), KINDS)
    arms = checks.scenarios(data, "arms", at_least=1)
    wanted = 1 if kind == "correlation" else 2
    if len(arms) != wanted:
        raise checks.ExploreSpecError(
            f"a {kind} trial needs exactly {wanted} [arms] table{'s' if wanted > 1 else ''} (got {len(arms)})."
        )
    n_sessions = checks.integer("n_sessions", data.get("n_sessions", 20), 1, 1000)
    caseload = checks.integer("caseload", data.get("caseload", 6), 1, 100)
    spec = TrialSpec(
        name=checks.name(data["name"]),
        kind=kind,
        arms={k: replace(v, params={**v.params, "caseload": caseload}) for k, v in arms.items()},
        sizes=checks.integers("sizes", data.get("sizes"), 1, 100_000),
        n_sessions=n_sessions,
        caseload=caseload,
        trials=checks.integer("trials", data.get("trials", 200), 10, 100_000),
        seed=checks.integer("seed", data.get("seed", 0), 0, 2**63 - 1),
        alpha=checks.number("alpha", data.get("alpha", 0.05), 1e-6, 0.5),
        analysis_set=checks.choice("analysis_set", data.get("analysis_set", "completers"), ANALYSIS_SETS),
        predictor=checks.choice("predictor", data.get("predictor", "patient_resolution"), PREDICTORS),
        outcome=checks.choice("outcome", data.get("outcome", "symptom_change"), TRIAL_OUTCOMES),
        coded_sessions=checks.integers("coded_sessions", data.get("coded_sessions", [1]), 1, n_sessions),
        description=str(data.get("description", "")),
    )
    _check_sizes(spec)
    return spec


def _check_sizes(spec: TrialSpec) -> None:
    """Impossible designs: too few patients for a correlation, or for two therapists per arm."""
    smallest = 5 if spec.kind == "correlation" else 4 * spec.caseload
    if spec.sizes[0] < smallest:
        why = (
            "a correlation needs at least 5 patients"
            if spec.kind == "correlation"
            else (f"each arm needs at least 2 therapists of caseload {spec.caseload} for the mixed model")
        )
        raise checks.ExploreSpecError(
            f"sizes[0] = {spec.sizes[0]} is too small: {why}; use sizes of at least {smallest}."
        )


# --- the model behind a trial ----------------------------------------------------------------------------------


class StudyModel(Protocol):
    """What a trial needs of a model: one row per patient of an arm."""

    def patients(self, arm: str, ids: np.ndarray, seed: int) -> pd.DataFrame:
        """Columns ``therapist_id``, ``dropped_out`` and the predictor and outcome measures."""
        ...


@dataclass(frozen=True)
class SimulatedStudy:
    """The simulation behind a trial: each arm is a scenario; patients with other ids are other people."""

    spec: TrialSpec

    def patients(self, arm: str, ids: np.ndarray, seed: int) -> pd.DataFrame:
        """Simulate an arm's patients (ids ``ids``) with the trial's coded sessions."""
        spec = self.spec
        return patient_outcomes(spec.arms[arm], len(ids), spec.n_sessions, seed, spec.coded_sessions, ids)


@dataclass(frozen=True)
class BivariateNormal:
    """A stub with a known answer: predictor and outcome bivariate normal with correlation ``rho``."""

    rho: float
    caseload: int = 6
    predictor: str = "patient_resolution"
    outcome: str = "symptom_change"

    def patients(self, arm: str, ids: np.ndarray, seed: int) -> pd.DataFrame:
        """Independent patients, no dropout, no therapist effect."""
        rng = np.random.default_rng(seed)
        x, e = rng.standard_normal((2, len(ids)))
        y = self.rho * x + math.sqrt(1 - self.rho**2) * e
        return pd.DataFrame(
            {"therapist_id": ids // self.caseload, "dropped_out": False, self.predictor: x, self.outcome: y}
        )


def analytic_correlation_power(rho: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided test of a Pearson correlation (Fisher z with its bias term)."""
    mean = math.atanh(rho) + rho / (2 * (n - 1))
    se = 1 / math.sqrt(n - 3)
    crit = stats.norm.ppf(1 - alpha / 2) * se
    return float(stats.norm.sf((crit - mean) / se) + stats.norm.cdf((-crit - mean) / se))


# --- one trial -------------------------------------------------------------------------------------------------


def trial_seed(spec: TrialSpec, size: int, trial: int) -> int:
    """The seed of one simulated trial."""
    return derived_seed(spec.seed, "trial", size, trial)


def simulate_trial(spec: TrialSpec, model: StudyModel, size: int, trial: int) -> pd.DataFrame:
    """The analysed patients of one trial: an ``arm`` column (0 control, 1 treatment) and the measures."""
    seed = trial_seed(spec, size, trial)
    arms = list(spec.arms)
    if spec.kind == "correlation":
        frames = [model.patients(arms[0], np.arange(size), seed).assign(arm=0)]
    else:
        half = size // 2
        start = -(-half // spec.caseload) * spec.caseload  # the treatment arm starts with a therapist of its own
        frames = [
            model.patients(arms[0], np.arange(half), seed).assign(arm=0),
            model.patients(arms[1], np.arange(start, start + size - half), seed).assign(arm=1),
        ]
    patients = pd.concat(frames, ignore_index=True)
    if spec.analysis_set == "completers":
        patients = patients[~patients["dropped_out"].astype(bool)]
    return patients


def analyse(spec: TrialSpec, patients: pd.DataFrame) -> dict[str, float]:
    """The study's analysis: Pearson r, or the arm effect of a mixed model with therapist intercepts."""
    y = patients[spec.outcome].astype(float)
    if spec.kind == "correlation":
        x = patients[spec.predictor].astype(float)
        ok = x.notna() & y.notna()
        if ok.sum() < 4 or x[ok].std() == 0 or y[ok].std() == 0:
            return {"estimate": float("nan"), "p_value": float("nan"), "n_analysed": int(ok.sum()), "method": "none"}
        r, p = stats.pearsonr(x[ok], y[ok])
        return {"estimate": float(r), "p_value": float(p), "n_analysed": int(ok.sum()), "method": "pearson"}
    return _mixed_model(patients.assign(y=y).dropna(subset=["y"]))


def _mixed_model(data: pd.DataFrame) -> dict[str, Any]:
    """``y ~ arm + (1 | therapist)``; a standardised arm effect (d), its p-value and how it was fitted.

    Falls back to OLS with therapist-clustered standard errors when the mixed
    model cannot be fitted or gives no p-value (``method = "ols fallback"``);
    ``boundary`` marks fits whose between-therapist variance is estimated at 0
    (tau^2 = 0, the edge of the parameter space, where the mixed model's test is
    the OLS test). Both are counted per size in the power table.
    """
    import statsmodels.formula.api as smf

    sd = float(data["y"].std())
    n = len(data)
    if data["arm"].nunique() < 2 or sd == 0:
        return {"estimate": float("nan"), "p_value": float("nan"), "n_analysed": n, "method": "none", "boundary": False}
    method, boundary, p = "mixed", False, float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm("y ~ arm", data, groups=data["therapist_id"]).fit(reml=True)
            coef, p = float(fit.params["arm"]), float(fit.pvalues["arm"])
            boundary = bool(float(np.asarray(fit.cov_re)[0, 0]) <= BOUNDARY * float(fit.scale))
        except (np.linalg.LinAlgError, ValueError):
            pass
    if not math.isfinite(p):
        fit = smf.ols("y ~ arm", data).fit(cov_type="cluster", cov_kwds={"groups": data["therapist_id"]})
        coef, p, method, boundary = float(fit.params["arm"]), float(fit.pvalues["arm"]), "ols fallback", False
    return {"estimate": coef / sd, "p_value": p, "n_analysed": n, "method": method, "boundary": boundary}


# --- running and summarising -----------------------------------------------------------------------------------


def compute_block(spec: TrialSpec, model: StudyModel, task: int) -> dict[str, pd.DataFrame]:
    """The analysed trials of one task (one block of trials of one size)."""
    size, first = spec.tasks()[task]
    rows = []
    for trial in range(first, min(first + BLOCK, spec.trials)):
        result = analyse(spec, simulate_trial(spec, model, size, trial))
        rows.append({"size": size, "trial": trial, **result})
    return {"trials": pd.DataFrame(rows)}


def run_trial(spec: TrialSpec, folder: Path, model: StudyModel | None = None, quiet: bool = False) -> pd.DataFrame:
    """Run (or resume) a virtual trial into ``folder``; write ``power.csv``, ``summary.md`` and figures.

    Args:
        spec: The planned study.
        folder: Output folder.
        model: What simulates the patients (default: the simulation, ``SimulatedStudy``).
        quiet: No progress bar.

    Returns:
        The power table (one row per size).
    """
    if spec.kind != "correlation":
        require("statsmodels", "A two-arm trial's mixed model")  # the 'explore' extra
    model = model or SimulatedStudy(spec)
    stored = {**spec.to_dict(), "model": "simulation" if isinstance(model, SimulatedStudy) else repr(model)}
    manifest = run_tasks(
        folder, "trial", stored, spec.source, len(spec.tasks()), lambda t: compute_block(spec, model, t), quiet
    )
    trials = load_table(folder, "trials")
    power = power_table(spec, trials)
    power.to_csv(folder / "power.csv", index=False)
    from simulation.explore.figures import power_figure

    power_figure(spec, power, trials, folder / "power.png")
    (folder / "summary.md").write_text(trial_summary(spec, power))
    finish(folder, manifest)
    return power


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion."""
    if n == 0:
        return float("nan"), float("nan")
    z, p = 1.96, successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def power_table(spec: TrialSpec, trials: pd.DataFrame) -> pd.DataFrame:
    """Per size: power with its Monte Carlo SE and Wilson CI, the expected estimate and spread, wrong signs, fits.

    The reference sign is that of the mean estimate over all trials of all sizes; when that mean is
    indistinguishable from 0 (its 95% interval spans 0, as under the null) there is no right sign and the
    wrong-sign shares are NaN. ``ols_fallbacks`` and ``boundary_fits`` count the trials whose mixed model fell
    back to OLS or estimated the between-therapist variance at 0.
    """
    all_estimates = trials["estimate"].dropna()
    mean, se = all_estimates.mean(), all_estimates.std(ddof=1) / math.sqrt(max(len(all_estimates), 1))
    sign = np.sign(mean) if abs(mean) > 1.96 * se else 0.0
    rows = []
    for size, group in trials.groupby("size"):
        valid = group.dropna(subset=["estimate", "p_value"])
        n = len(valid)
        significant = valid["p_value"] < spec.alpha
        hits = int(significant.sum())
        low, high = wilson(hits, n)
        est = valid["estimate"]
        wrong = np.sign(est) == -sign
        method = group["method"] if "method" in group else pd.Series("", index=group.index)
        rows.append(
            {
                "size": int(size),
                "trials": n,
                "power": hits / n if n else float("nan"),
                "power_se": math.sqrt(hits / n * (1 - hits / n) / n) if n else float("nan"),
                "power_low": low,
                "power_high": high,
                "mean_estimate": float(est.mean()),
                "estimate_se": float(est.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
                "estimate_q025": float(est.quantile(0.025)),
                "estimate_q975": float(est.quantile(0.975)),
                "wrong_sign": float(wrong.mean()) if n and sign else float("nan"),
                "wrong_sign_significant": float((wrong & significant).sum() / hits) if hits and sign else float("nan"),
                "mean_analysed": float(valid["n_analysed"].mean()) if n else float("nan"),
                "ols_fallbacks": int((method == "ols fallback").sum()),
                "boundary_fits": int(group["boundary"].fillna(False).astype(bool).sum()) if "boundary" in group else 0,
            }
        )
    return pd.DataFrame(rows)


def share_text(value: float) -> str:
    """A share, or a dash with the reason when it is undefined (no true sign under the null)."""
    return f"{value:.1%}" if value == value else "— (effect ≈ 0)"


def trial_summary(spec: TrialSpec, power: pd.DataFrame) -> str:
    """``summary.md`` of a virtual trial."""
    what = (
        f"Pearson r between `{spec.predictor}` (coded sessions {', '.join(map(str, spec.coded_sessions))}) "
        f"and `{spec.outcome}`"
        if spec.kind == "correlation"
        else f"arm effect on `{spec.outcome}` (d) from a mixed model with therapist random intercepts"
    )
    enough = power[power["power"] >= 0.8]
    needed = f"{int(enough['size'].iloc[0])} patients" if len(enough) else f"more than {max(spec.sizes)} patients"
    lines = [
        f"# Virtual trial `{spec.name}`",
        "",
        spec.description,
        "",
        f"{spec.kind} study, {spec.trials} simulated trials per size, {spec.n_sessions} sessions, caseload "
        f"{spec.caseload}, analysis set: {spec.analysis_set}, alpha {spec.alpha:g}. Analysis: {what}.",
        "",
        f"Power of 0.80 or more first reached at: **{needed}**.",
        "",
        "| patients | analysed (mean) | power [95% CI] | expected estimate ± MC SE | central 95% of estimates "
        "| wrong sign (all) | wrong sign (significant) | OLS fallbacks | tau² = 0 fits |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r.size} | {r.mean_analysed:.1f} | {r.power:.2f} [{r.power_low:.2f}, {r.power_high:.2f}] | "
            f"{r.mean_estimate:+.3f} ± {r.estimate_se:.3f} | [{r.estimate_q025:+.3f}, {r.estimate_q975:+.3f}] | "
            f"{share_text(r.wrong_sign)} | {share_text(r.wrong_sign_significant)} | {r.ols_fallbacks} of {r.trials} | "
            f"{r.boundary_fits} of {r.trials} |"
            for r in power.itertuples()
        ],
        "",
        "Power and its interval are Monte Carlo precision over the simulated trials; the estimate's spread is what "
        "one study of that size would see. Wrong signs are shown only when the expected effect differs from 0. "
        "OLS fallbacks: trials whose mixed model could not be fitted (OLS with therapist-clustered SEs instead); "
        "tau² = 0 fits: the between-therapist variance estimated at 0 (boundary).",
        "",
        "Figure: `power.png` (power curve with 95% CI; estimates by size).",
        "",
    ]
    return "\n".join(lines)
