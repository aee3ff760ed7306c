"""Global sensitivity analysis: ``rupture-sim sensitivity SPEC.toml`` (Morris, then Sobol, through SALib).

Morris elementary effects screen the factors (mu*, sigma); Sobol indices
(first order S1 and total order ST, Saltelli/Jansen estimators of SALib) with
bootstrap 95% CIs apportion the output variance. Every design row is run
``replications`` times on common random numbers (replication ``r`` of every
row uses the same seed) and averaged; the share of the variance of the row
means that is replication noise (``noise_share``) says how much of what the
indices see is noise. The convergence figure recomputes the indices on the first ``n``
base samples for each power of two ``n`` up to ``N``; one-at-a-time profiles
(each factor across its range, the others at their midpoints) are the
sanity view. An index whose CI spans zero is reported as such, never as a
negative number.

A spec::

    name = "sensitivity_resolution"
    population = "mixed"
    therapists = "experienced"
    n_patients = 100              # per run
    n_sessions = 20
    replications = 2              # per design row, on common random numbers
    seed = 2026
    outcomes = ["symptom_change", "dropout"]
    morris_trajectories = 20      # Morris r (runs: r x (factors + 1))
    sobol_samples = 256           # Sobol N, a power of 2 (runs: N x (factors + 2))
    oat_steps = 7                 # points of each one-at-a-time profile
    [factors]                     # parameter = { low, high } (inside its declared range)
    noticing = { low = 0.1, high = 0.7 }
    exploratory_preference = { low = 0.1, high = 0.9 }
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.explore import spec as checks
from simulation.explore.model_function import OUTCOMES, Model, ModelFunction, Scenario
from simulation.explore.store import finish, load_table, run_tasks
from simulation.extras import require
from simulation.model.parameters import SPECS
from simulation.run.outcomes import CATALOG
from simulation.schema import list_of, power_of_two, show, text

KEYS = (
    *checks.COHORT_KEYS,
    "outcomes",
    "morris_trajectories",
    "sobol_samples",
    "oat_steps",
    "params",
    "factors",
)
#: Runs per task.
BLOCK = 64
MORRIS_LEVELS = 4
BOOTSTRAP = 200
#: Fewest Sobol base samples: the convergence figure starts at 8.
MIN_SOBOL = 8
#: Largest replication-noise share of an outcome's variance before the summary warns.
NOISE_LIMIT = 0.10
#: Largest change of an index between N/2 and N for the indices to count as converged.
CONVERGED = 0.05


@dataclass(frozen=True)
class SensitivitySpec:
    """A checked sensitivity spec (see the module docstring)."""

    name: str
    factors: dict[str, tuple[float, float]]
    base: Scenario = field(default_factory=lambda: Scenario("base"))
    outcomes: tuple[str, ...] = ("symptom_change",)
    n_patients: int = 100
    n_sessions: int = 20
    replications: int = 2
    seed: int = 0
    morris_trajectories: int = 20
    sobol_samples: int = 256
    oat_steps: int = 7
    description: str = ""
    source: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (without the source text)."""
        out = asdict(self)
        del out["source"]
        out["base"]["params"] = dict(self.base.params)
        return out

    def problem(self) -> dict[str, Any]:
        """The SALib problem."""
        names = list(self.factors)
        return {"num_vars": len(names), "names": names, "bounds": [list(self.factors[n]) for n in names]}


def load_sensitivity_spec(path: str | Path) -> SensitivitySpec:
    """Read and check a sensitivity spec; raises ``ExploreSpecError`` (one sentence, starting with the path)."""
    data, text = checks.read_spec(path, KEYS)
    with checks.origin_of(str(path), checks.ExploreSpecError):
        return replace(parse_sensitivity(data), source=text)


def parse_sensitivity(data: dict[str, Any], model_parameters: bool = True) -> SensitivitySpec:
    """A ``SensitivitySpec`` from a TOML table (raises ``ExploreSpecError``).

    Args:
        data: The table.
        model_parameters: Whether factors must be model parameters (False for test functions).
    """
    base = checks.scenario(
        "spec",
        "base",
        {k: data[k] for k in ("population", "therapists", "params") if k in data},
        {"population": "mixed", "therapists": "experienced"},
    )
    factors = _factors(data.get("factors"), model_parameters, base)
    # the convergence figure recomputes the indices from 8 base samples up
    samples = power_of_two("sobol_samples", data.get("sobol_samples", 256), MIN_SOBOL, 2**20, " for Sobol indices")
    allowed = OUTCOMES if model_parameters else None
    outcomes = data.get("outcomes", ["symptom_change"])
    if not allowed:
        outcomes = list_of("outcomes", outcomes, text, unique=True)
    return SensitivitySpec(
        name=checks.name(data["name"]),
        factors=factors,
        base=base,
        outcomes=checks.outcome_list("outcomes", outcomes, allowed) if allowed else tuple(outcomes),
        n_patients=checks.integer("n_patients", data.get("n_patients", 100), 2, 100_000),
        n_sessions=checks.integer("n_sessions", data.get("n_sessions", 20), 1, 1000),
        replications=checks.integer("replications", data.get("replications", 2), 1, 1000),
        seed=checks.integer("seed", data.get("seed", 0), 0, 2**63 - 1),
        morris_trajectories=checks.integer("morris_trajectories", data.get("morris_trajectories", 20), 2, 10_000),
        sobol_samples=samples,
        oat_steps=checks.integer("oat_steps", data.get("oat_steps", 7), 2, 101),
        description=str(data.get("description", "")),
    )


def _factors(value: Any, model_parameters: bool, base: Scenario) -> dict[str, tuple[float, float]]:
    """``[factors]``: name = { low, high }; model parameters must lie in their declared range."""
    if not isinstance(value, dict) or len(value) < 2:
        raise checks.ExploreSpecError(
            "[factors] must hold at least 2 lines like noticing = { low = 0.1, high = 0.7 } "
            f"(got {show(value, table=f'{len(value)} line(s)') if isinstance(value, dict) else show(value)})."
        )
    out = {}
    for name, entry in value.items():
        where = f"factors.{name}"
        if not isinstance(entry, dict):
            raise checks.ExploreSpecError(f"{where} must be a range {{ low = ..., high = ... }} (got {show(entry)}).")
        checks.check_keys(where, entry, ("low", "high"), checks.ExploreSpecError, required=True)
        low_limit, high_limit = -math.inf, math.inf
        if model_parameters:
            if name not in SPECS:
                raise checks.ExploreSpecError(f"{where}: unknown parameter {show(name)} (see `rupture-sim params`).")
            if name in base.params:
                raise checks.ExploreSpecError(f"Parameter '{name}' is both in params and in [factors]; keep one.")
            low_limit, high_limit = SPECS[name].low, SPECS[name].high
        low = checks.number(f"{where}.low", entry["low"], low_limit, high_limit)
        high = checks.number(f"{where}.high", entry["high"], low_limit, high_limit)
        if not low < high:
            raise checks.ExploreSpecError(f"{where} must have low < high (got low = {low:g}, high = {high:g}).")
        out[str(name)] = (low, high)
    return out


# --- designs ---------------------------------------------------------------------------------------------------


def designs(spec: SensitivitySpec) -> pd.DataFrame:
    """Every design row of the three stages (morris, sobol, oat), before replication.

    Columns: ``stage``, ``row`` (within the stage), ``factor`` (the varied factor of an OAT row) and one
    column per factor. Depends only on the spec (SALib samplers seeded with ``spec.seed``).
    """
    from SALib.sample import morris, sobol

    problem, names = spec.problem(), list(spec.factors)
    frames = []
    morris_x = morris.sample(problem, spec.morris_trajectories, num_levels=MORRIS_LEVELS, seed=spec.seed)
    sobol_x = sobol.sample(problem, spec.sobol_samples, calc_second_order=False, seed=spec.seed)
    for stage, x in (("morris", morris_x), ("sobol", sobol_x)):
        frames.append(pd.DataFrame(x, columns=names).assign(stage=stage, row=np.arange(len(x)), factor=""))
    mid = {n: (lo + hi) / 2 for n, (lo, hi) in spec.factors.items()}
    oat = [
        {**mid, n: v, "factor": n} for n, (lo, hi) in spec.factors.items() for v in np.linspace(lo, hi, spec.oat_steps)
    ]
    frames.append(pd.DataFrame(oat).assign(stage="oat", row=np.arange(len(oat))))
    table = pd.concat(frames, ignore_index=True)
    return table[["stage", "row", "factor", *names]]


def replicated(spec: SensitivitySpec) -> pd.DataFrame:
    """The designs table of all runs: every design row once per replication (a ``replication`` column)."""
    rows = designs(spec)
    return pd.concat([rows.assign(replication=r) for r in range(spec.replications)], ignore_index=True)


def default_model(spec: SensitivitySpec) -> ModelFunction:
    """The simulation as a function of the factors, with the spec's base scenario and sizes."""
    integer = {n for n in spec.factors if n in SPECS and SPECS[n].integer}
    return _RoundingModel(spec.base, spec.n_patients, spec.n_sessions, spec.seed, OUTCOMES, frozenset(integer))


@dataclass(frozen=True)
class _RoundingModel(ModelFunction):
    """``ModelFunction`` that rounds integer parameters of the continuous designs."""

    integer: frozenset[str] = frozenset()

    def run(self, row: dict[str, Any]) -> dict[str, float]:
        """Outcomes of one run, integer factors rounded to whole numbers."""
        return super().run({k: (round(v) if k in self.integer else v) for k, v in row.items()})


def compute_block(spec: SensitivitySpec, model: Model, runs: pd.DataFrame, task: int) -> dict[str, pd.DataFrame]:
    """Outcomes of one block of runs, with the runs' design columns."""
    block = runs.iloc[task * BLOCK : (task + 1) * BLOCK]
    inputs = block[[*spec.factors, "replication"]]
    outcomes = model.evaluate(inputs)[list(spec.outcomes)]
    return {"runs": pd.concat([block.reset_index(drop=True), outcomes.reset_index(drop=True)], axis=1)}


# --- analysis --------------------------------------------------------------------------------------------------


def row_means(spec: SensitivitySpec, runs: pd.DataFrame, stage: str) -> pd.DataFrame:
    """A stage's design rows with outcomes averaged over replications (in row order)."""
    sub = runs[runs["stage"] == stage]
    return sub.groupby("row", sort=True)[[*spec.factors, "factor", *spec.outcomes]].agg(
        {**{n: "first" for n in spec.factors}, "factor": "first", **{o: "mean" for o in spec.outcomes}}
    )


def noise_share(spec: SensitivitySpec, runs: pd.DataFrame) -> dict[str, float]:
    """Per outcome: the share of the variance of the Sobol row means that is replication noise.

    With common random numbers, ``y[i, r] = mu[i] + c[r] + e[i, r]``: the part
    ``c[r]`` common to all rows of a replication shifts every row alike and
    cancels from the indices, so the noise that matters is the row-specific
    ``e``. Its variance is the residual of the two-way (row x replication)
    decomposition; the share is ``var(e) / R`` over the variance of the row means.
    """
    sub = runs[runs["stage"] == "sobol"]
    out = {}
    for o in spec.outcomes:
        wide = sub.pivot(index="row", columns="replication", values=o).to_numpy(float)
        n, r = wide.shape
        if r < 2:
            out[o] = float("nan")
            continue
        resid = wide - wide.mean(axis=1, keepdims=True) - wide.mean(axis=0, keepdims=True) + wide.mean()
        noise = float((resid**2).sum() / ((n - 1) * (r - 1))) / r
        total = float(wide.mean(axis=1).var(ddof=1))
        out[o] = noise / total if total > 0 else float("nan")
    return out


def outcome_variance(spec: SensitivitySpec, runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per outcome: the variance of the Sobol row means (what the indices apportion) and of single runs."""
    sub = runs[runs["stage"] == "sobol"]
    rows = row_means(spec, runs, "sobol")
    return {o: {"row_means": float(rows[o].var(ddof=1)), "runs": float(sub[o].var(ddof=1))} for o in spec.outcomes}


def replications_needed(share: float, replications: int, limit: float = NOISE_LIMIT) -> int:
    """Replications per design row that bring the noise share to ``limit`` (noise variance falls as 1/R).

    With share ``p`` at ``R`` replications the noise is ``p V`` and the signal ``(1 - p) V``; at ``R'`` the noise is
    ``p V R / R'``, and ``p R / R' / (p R / R' + 1 - p) <= limit`` gives ``R' >= R p (1 - limit) / (limit (1 - p))``.
    """
    if not share > limit:
        return replications
    if share >= 1:
        return 10**6
    return math.ceil(replications * share * (1 - limit) / (limit * (1 - share)))


def convergence_change(convergence: pd.DataFrame, outcome: str) -> tuple[float, int, int]:
    """Largest change of S1 or ST of any factor between the last two sample sizes (and those sizes)."""
    sub = convergence[convergence["outcome"] == outcome]
    sizes = sorted(sub["n"].unique())
    if len(sizes) < 2:
        return float("nan"), sizes[-1] if sizes else 0, sizes[-1] if sizes else 0
    last, before = (sub[sub["n"] == n].set_index("factor")[["S1", "ST"]] for n in (sizes[-1], sizes[-2]))
    return float((last - before).abs().to_numpy().max()), int(sizes[-2]), int(sizes[-1])


def reading_lines(spec: SensitivitySpec, result: dict[str, Any]) -> list[str]:
    """Per outcome: its variance, the noise share with a warning and the replications needed, convergence."""
    lines = []
    for o in spec.outcomes:
        share, var = result["noise"][o], result["variance"][o]
        change, before, last = convergence_change(result["convergence"], o)
        text = (
            f"- `{o}` ({CATALOG[o].unit if o in CATALOG else 'outcome units'}): variance of the row means "
            f"{var['row_means']:.3g} (single runs {var['runs']:.3g}); replication noise {share:.1%} of it."
        )
        if share > NOISE_LIMIT:
            text += (
                f" **Warning: more than {NOISE_LIMIT:.0%} of what the indices apportion is replication noise**, so "
                "small indices and ST - S1 (interactions) can be noise; about "
                f"{replications_needed(share, spec.replications)} replications per design row (now "
                f"{spec.replications}) would bring it to {NOISE_LIMIT:.0%}."
            )
        if change == change:
            state = "converged" if change < CONVERGED else "not yet converged"
            text += (
                f" Indices {state}: the largest change of any S1 or ST from N = {before} to N = {last} is "
                f"{change:.3f} (limit {CONVERGED:g})."
            )
        lines.append(text)
    return lines


def morris_indices(spec: SensitivitySpec, runs: pd.DataFrame) -> pd.DataFrame:
    """mu*, its CI half-width and sigma per factor and outcome."""
    from SALib.analyze import morris

    rows = row_means(spec, runs, "morris")
    x = rows[list(spec.factors)].to_numpy(float)
    out = []
    for o in spec.outcomes:
        res = morris.analyze(spec.problem(), x, rows[o].to_numpy(float), num_levels=MORRIS_LEVELS, seed=spec.seed)
        for i, name in enumerate(spec.factors):
            out.append(
                {
                    "outcome": o,
                    "factor": name,
                    "mu_star": res["mu_star"][i],
                    "mu_star_conf": res["mu_star_conf"][i],
                    "sigma": res["sigma"][i],
                }
            )
    return pd.DataFrame(out)


def sobol_indices(spec: SensitivitySpec, y: np.ndarray, outcome: str, n: int | None = None) -> pd.DataFrame:
    """S1 and ST with bootstrap 95% CIs from the first ``n`` base samples (all if None)."""
    from SALib.analyze import sobol

    d = len(spec.factors)
    n = n or spec.sobol_samples
    res = sobol.analyze(
        spec.problem(), y[: n * (d + 2)], calc_second_order=False, num_resamples=BOOTSTRAP, seed=spec.seed
    )
    frame = pd.DataFrame(
        {
            "outcome": outcome,
            "factor": list(spec.factors),
            "n": n,
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )
    for k in ("S1", "ST"):
        frame[f"{k}_low"] = frame[k] - frame[f"{k}_conf"]
        frame[f"{k}_high"] = frame[k] + frame[f"{k}_conf"]
        frame[f"{k}_spans_zero"] = frame[f"{k}_low"] <= 0
    return frame


def analyze(spec: SensitivitySpec, runs: pd.DataFrame) -> dict[str, Any]:
    """Morris, Sobol (with convergence), OAT profiles and noise shares of a finished run."""
    sobol_rows = row_means(spec, runs, "sobol")
    indices, convergence = [], []
    for o in spec.outcomes:
        y = sobol_rows[o].to_numpy(float)
        indices.append(sobol_indices(spec, y, o))
        n = 8
        while n <= spec.sobol_samples:
            convergence.append(sobol_indices(spec, y, o, n))
            n *= 2
    return {
        "morris": morris_indices(spec, runs),
        "sobol": pd.concat(indices, ignore_index=True),
        "convergence": pd.concat(convergence, ignore_index=True),
        "oat": row_means(spec, runs, "oat"),
        "noise": noise_share(spec, runs),
        "variance": outcome_variance(spec, runs),
    }


def run_sensitivity(
    spec: SensitivitySpec, folder: Path, model: Model | None = None, quiet: bool = False
) -> dict[str, Any]:
    """Run (or resume) a sensitivity analysis into ``folder``; write tables, ``summary.md`` and figures.

    Args:
        spec: The analysis.
        folder: Output folder.
        model: The model as a function (default: the simulation, ``default_model``).
        quiet: No progress bar.
    """
    require("SALib", "Sensitivity analysis")  # the 'explore' extra
    model = model or default_model(spec)
    runs = replicated(spec)
    stored = {**spec.to_dict(), "model": "simulation" if isinstance(model, ModelFunction) else repr(model)}
    n_tasks = -(-len(runs) // BLOCK)
    manifest = run_tasks(
        folder, "sensitivity", stored, spec.source, n_tasks, lambda t: compute_block(spec, model, runs, t), quiet
    )
    result = analyze(spec, load_table(folder, "runs"))
    for key in ("morris", "sobol", "convergence"):
        result[key].to_csv(folder / f"{key}.csv", index=False)
    from simulation.explore.figures import sensitivity_figures

    sensitivity_figures(spec, result, folder)
    (folder / "summary.md").write_text(sensitivity_summary(spec, result))
    finish(folder, manifest)
    return result


def shown_index(value: float, low: float, high: float) -> str:
    """An index for a table: ``≈0`` with its CI when the CI spans zero, never a negative number."""
    if low <= 0:
        return f"≈0 (CI spans 0, upper {max(high, 0):.2f})"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def sensitivity_summary(spec: SensitivitySpec, result: dict[str, Any]) -> str:
    """``summary.md`` of a sensitivity analysis."""
    d = len(spec.factors)
    runs = (spec.morris_trajectories * (d + 1) + spec.sobol_samples * (d + 2) + d * spec.oat_steps) * spec.replications
    lines = [
        f"# Sensitivity analysis `{spec.name}`",
        "",
        spec.description,
        "",
        f"{d} factors, {runs} runs of {spec.n_patients} patients x {spec.n_sessions} sessions "
        f"({spec.replications} replications per design row on common random numbers, averaged). "
        f"Morris r = {spec.morris_trajectories}; Sobol N = {spec.sobol_samples} (Saltelli design, "
        f"{BOOTSTRAP} bootstrap resamples, 95% CIs).",
        "",
        "Per outcome: the variance the indices apportion (of the row means over replications), the share of it that "
        "is replication noise (row-specific noise; the part common to a replication cancels on common random "
        "numbers), and whether the indices have settled:",
        "",
        *reading_lines(spec, result),
        "",
        "## Sobol indices",
        "",
        "| outcome | factor | first order S1 [95% CI] | total order ST [95% CI] | Morris mu* | Morris sigma |",
        "|---|---|---|---|---|---|",
    ]
    morris = result["morris"].set_index(["outcome", "factor"])
    for r in result["sobol"].itertuples():
        m = morris.loc[(r.outcome, r.factor)]
        lines.append(
            f"| {r.outcome} | {r.factor} | {shown_index(r.S1, r.S1_low, r.S1_high)} | "
            f"{shown_index(r.ST, r.ST_low, r.ST_high)} | {m.mu_star:.3g} ± {m.mu_star_conf:.2g} | {m.sigma:.3g} |"
        )
    lines += ["", "Figures: `sobol.png` (indices), `convergence.png` (indices against N), `oat.png` (profiles).", ""]
    return "\n".join(lines)
