"""Scenario discovery on failed courses: ``rupture-sim discover SPEC.toml`` (PRIM of EMA Workbench).

Over a finished sweep (one row per course: the varied parameters and the
patient's intake) or a sensitivity run (one row per design row, outcomes
averaged over replications), PRIM (the Patient Rule Induction Method,
``ema_workbench.analysis.prim``) peels boxes in the input space that hold
many failures (density) and much of all failures (coverage). Along each
peeling trajectory the chosen box is the one with the largest coverage among
those whose density reaches ``min_density`` (default: halfway from the base
rate to 1); boxes no denser than the base rate are dropped. Its reproducibility is checked by
resampling: PRIM is rerun on ``resamples`` bootstrap samples and each
resample's box is compared with the full-data box by the Jaccard overlap of
the rows inside them, and by which inputs it restricts. Feature scores are
extra-trees importances (scikit-learn): the mean over the bootstrap samples
with their 95% percentile interval.

A spec::

    name = "discover_failures"
    data = "results/discover_sweep"       # folder of a sweep or of a sensitivity run
    failure = "dropout_or_no_reliable_change"   # sweep: dropout | no_reliable_change | dropout_or_no_reliable_change
    # failure = "dropout"; above = 0.12   # sensitivity run: an outcome and a threshold (above or below)
    inputs = ["noticing", "skill_mean", "pd_severity", "insight"]   # default: varied parameters (+ intake)
    n_boxes = 2
    peel_alpha = 0.05
    min_density = 0.6                     # optional; default halfway from the base rate to 1
    resamples = 20
    max_rows = 20000                      # a seeded subsample of larger datasets
    seed = 1
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.explore import spec as checks
from simulation.explore.model_function import OUTCOMES
from simulation.explore.store import load_table, run_tasks
from simulation.extras import require
from simulation.schema import show
from simulation.sweep.store import StoreError, read_manifest

KEYS = (
    "name",
    "description",
    "data",
    "failure",
    "above",
    "below",
    "inputs",
    "n_boxes",
    "peel_alpha",
    "min_density",
    "resamples",
    "max_rows",
    "seed",
)
COURSE_FAILURES = ("dropout", "no_reliable_change", "dropout_or_no_reliable_change")
#: Share of the rows an input's limits must exclude for the box to count as restricting it.
RESTRICTED_SHARE = 0.1
#: Patient intake columns a course-level dataset offers as inputs.
INTAKE_INPUTS = (
    "pd_severity",
    "insight",
    "alliance_intake",
    "symptom_pre",
    "withdrawal_tendency",
    "confrontation_tendency",
)


@dataclass(frozen=True)
class DiscoverSpec:
    """A checked discovery spec (see the module docstring)."""

    name: str
    data: str
    failure: str
    inputs: tuple[str, ...]
    above: float | None = None
    below: float | None = None
    n_boxes: int = 2
    peel_alpha: float = 0.05
    min_density: float | None = None
    resamples: int = 20
    max_rows: int = 20_000
    seed: int = 0
    description: str = ""
    source: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (without the source text)."""
        out = asdict(self)
        del out["source"]
        return out


def load_discover_spec(path: str | Path) -> DiscoverSpec:
    """Read and check a discovery spec and its dataset; raises ``ExploreSpecError`` (one sentence)."""
    data, text = checks.read_spec(path, KEYS)
    with checks.origin_of(str(path), checks.ExploreSpecError):
        return replace(parse_discover(data, Path(path).parent), source=text)


def parse_discover(data: dict[str, Any], base: Path = Path(".")) -> DiscoverSpec:
    """A ``DiscoverSpec`` from a TOML table; the dataset folder is checked too (relative to cwd, then ``base``)."""
    folder = data.get("data")
    if not isinstance(folder, str) or not folder:
        raise checks.ExploreSpecError(f"data must be the folder of a sweep or sensitivity run (got {show(folder)}).")
    kind, columns = dataset_kind(Path(folder))
    if kind == "sweep":
        failure = checks.choice("failure", data.get("failure", COURSE_FAILURES[-1]), COURSE_FAILURES)
        if "above" in data or "below" in data:
            raise checks.ExploreSpecError("above and below are for sensitivity runs; a sweep's failures are courses.")
    else:
        failure = checks.choice("failure", data.get("failure"), [c for c in OUTCOMES if c in columns])
        if ("above" in data) == ("below" in data):
            raise checks.ExploreSpecError(
                "a sensitivity run needs exactly one of above or below (the failure threshold)."
            )
    inputs = _inputs(data.get("inputs"), columns)
    return DiscoverSpec(
        name=checks.name(data["name"]),
        data=folder,
        failure=failure,
        inputs=inputs,
        above=checks.number("above", data["above"], -1e9, 1e9) if "above" in data else None,
        below=checks.number("below", data["below"], -1e9, 1e9) if "below" in data else None,
        n_boxes=checks.integer("n_boxes", data.get("n_boxes", 2), 1, 10),
        peel_alpha=checks.number("peel_alpha", data.get("peel_alpha", 0.05), 0.01, 0.5),
        min_density=checks.number("min_density", data["min_density"], 0, 1) if "min_density" in data else None,
        resamples=checks.integer("resamples", data.get("resamples", 20), 2, 1000),
        max_rows=checks.integer("max_rows", data.get("max_rows", 20_000), 100, 10**7),
        seed=checks.integer("seed", data.get("seed", 0), 0, 2**63 - 1),
        description=str(data.get("description", "")),
    )


def dataset_kind(folder: Path) -> tuple[str, list[str]]:
    """``("sweep" | "sensitivity", candidate input columns)`` of a results folder."""
    try:
        manifest = read_manifest(folder)
    except StoreError as err:
        raise checks.ExploreSpecError(f"data: {err}") from None
    except ValueError:  # e.g. a NUL byte in the path
        raise checks.ExploreSpecError(f"data: {show(str(folder))} is not a usable folder name.") from None
    if manifest.get("command") == "sensitivity":
        factors = list(manifest["spec"]["factors"])
        return "sensitivity", [*factors, *manifest["spec"]["outcomes"]]
    if "varied" in manifest:
        return "sweep", [*manifest["varied"], *INTAKE_INPUTS]
    raise checks.ExploreSpecError(f"data: {folder} is neither a sweep nor a sensitivity folder.")


def _inputs(value: Any, columns: list[str]) -> tuple[str, ...]:
    allowed = [c for c in columns if c not in OUTCOMES]
    if value is None:
        return tuple(allowed)
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise checks.ExploreSpecError(f"inputs must be a non-empty list from {', '.join(allowed)} (got {show(value)}).")
    return tuple(checks.choice(f"inputs[{i}]", v, allowed) for i, v in enumerate(value))


# --- data ------------------------------------------------------------------------------------------------------


def load_dataset(spec: DiscoverSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Inputs and failure indicator of the dataset (a seeded subsample of at most ``max_rows`` rows)."""
    folder = Path(spec.data)
    kind, _ = dataset_kind(folder)
    if kind == "sweep":
        courses = pd.read_parquet(folder / "patients", columns=[*spec.inputs, "dropped_out", "reliable_change"])
        failed = {
            "dropout": courses["dropped_out"],
            "no_reliable_change": ~courses["reliable_change"],
            "dropout_or_no_reliable_change": courses["dropped_out"] | ~courses["reliable_change"],
        }[spec.failure].to_numpy(bool)
        x = courses[list(spec.inputs)]
    else:
        runs = load_table(folder, "runs")
        rows = runs[runs["stage"] != "oat"].groupby(["stage", "row"])[[*spec.inputs, spec.failure]].mean()
        y = rows[spec.failure].to_numpy(float)
        failed = y > spec.above if spec.above is not None else y < spec.below
        x = rows[list(spec.inputs)]
    x = x.reset_index(drop=True).astype(float)
    if len(x) > spec.max_rows:
        keep = np.sort(np.random.default_rng(spec.seed).choice(len(x), spec.max_rows, replace=False))
        x, failed = x.iloc[keep].reset_index(drop=True), failed[keep]
    return x, failed


# --- PRIM and feature scores -----------------------------------------------------------------------------------


def prim_boxes(
    x: pd.DataFrame, y: np.ndarray, n_boxes: int, peel_alpha: float, min_density: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up to ``n_boxes`` PRIM boxes: their limits (long table) and peeling trajectories.

    On each trajectory the chosen box has the largest coverage among those with
    density ``>= min_density`` (default: halfway from the base rate to 1), or
    the densest if none reaches it; a box no denser than the base rate ends the search.
    """
    base_rate = float(np.mean(y))
    target = min_density if min_density is not None else (1 + base_rate) / 2
    limits, trajectories = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional packages on import
        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.ERROR)
        finder = prim.Prim(x, y.astype(int), threshold=base_rate, peel_alpha=peel_alpha)
        for number in range(n_boxes):
            try:
                box = finder.find_box()
            except Exception:  # PRIM stops when nothing is left to peel
                break
            if box is None:
                break
            traj = box.peeling_trajectory.copy()
            dense = traj[traj["density"] >= target]
            chosen = int(dense["coverage"].idxmax()) if len(dense) else int(traj["density"].idxmax())
            if traj.loc[chosen, "density"] <= base_rate:
                break
            box.select(chosen)
            trajectories.append(traj.assign(box=number, chosen=traj.index == chosen))
            limits += _limits(x, box.box_lim, number, traj.loc[chosen])
    return pd.DataFrame(limits), pd.concat(trajectories, ignore_index=True) if trajectories else pd.DataFrame()


def _limits(x: pd.DataFrame, lims: pd.DataFrame, number: int, point: pd.Series) -> list[dict[str, Any]]:
    """One row per input: the box's limits, whether it restricts the input, its coverage and density.

    An input counts as restricted when its limits alone exclude at least ``RESTRICTED_SHARE`` of the rows
    (PRIM also trims a few rows off inputs that do not matter).
    """
    rows = []
    for column in x.columns:
        low, high = float(lims[column].iloc[0]), float(lims[column].iloc[1])
        restricted = float(1 - x[column].between(low, high).mean()) >= RESTRICTED_SHARE
        rows.append(
            {
                "box": number,
                "input": column,
                "low": low,
                "high": high,
                "restricted": restricted,
                "coverage": float(point["coverage"]),
                "density": float(point["density"]),
            }
        )
    return rows


def inside(x: pd.DataFrame, limits: pd.DataFrame, box: int = 0) -> np.ndarray:
    """Which rows of ``x`` lie inside a box."""
    mask = np.ones(len(x), dtype=bool)
    for r in limits[limits["box"] == box].itertuples():
        mask &= (x[r.input].to_numpy() >= r.low) & (x[r.input].to_numpy() <= r.high)
    return mask


def feature_scores(x: pd.DataFrame, y: np.ndarray, seed: int) -> pd.Series:
    """Extra-trees importances of the inputs for the failure indicator."""
    from sklearn.ensemble import ExtraTreesClassifier

    model = ExtraTreesClassifier(n_estimators=100, max_features=0.6, min_samples_leaf=20, random_state=seed % 2**32)
    return pd.Series(model.fit(x, y).feature_importances_, index=x.columns)


def compute_task(spec: DiscoverSpec, x: pd.DataFrame, y: np.ndarray, task: int) -> dict[str, pd.DataFrame]:
    """Task 0: PRIM on all rows; task k >= 1: PRIM and feature scores on bootstrap sample k."""
    if task == 0:
        rows, seed = np.arange(len(x)), spec.seed
    else:
        rng = np.random.default_rng([spec.seed, task])
        rows, seed = np.sort(rng.integers(0, len(x), len(x))), spec.seed + task
    xs, ys = x.iloc[rows].reset_index(drop=True), y[rows]
    limits, trajectory = prim_boxes(xs, ys, spec.n_boxes if task == 0 else 1, spec.peel_alpha, spec.min_density)
    scores = feature_scores(xs, ys, seed).rename("score").rename_axis("input").reset_index().assign(sample=task)
    tables = {"boxes": limits.assign(sample=task), "scores": scores}
    if task == 0:
        tables["trajectories"] = trajectory
    return tables


def reproducibility(x: pd.DataFrame, boxes: pd.DataFrame) -> pd.DataFrame:
    """Per resample: Jaccard overlap of its first box with the full-data first box, and its restricted inputs."""
    main = inside(x, boxes[boxes["sample"] == 0], 0)
    rows = []
    for sample, group in boxes[boxes["sample"] > 0].groupby("sample"):
        other = inside(x, group, 0)
        union = (main | other).sum()
        rows.append(
            {
                "sample": sample,
                "jaccard": float((main & other).sum() / union) if union else float("nan"),
                **{f"restricts_{r.input}": bool(r.restricted) for r in group[group["box"] == 0].itertuples()},
            }
        )
    return pd.DataFrame(rows)


def run_discover(spec: DiscoverSpec, folder: Path, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) scenario discovery into ``folder``; write tables, ``summary.md`` and figures."""
    for library in ("ema_workbench", "sklearn"):  # the 'explore' extra
        require(library, "Scenario discovery")
    x, y = load_dataset(spec)
    if y.all() or not y.any():
        raise checks.ExploreSpecError(
            f"failure '{spec.failure}' is {'true' if y.all() else 'false'} for every row of {spec.data}; "
            "choose another failure or threshold."
        )
    run_tasks(
        folder,
        "discover",
        spec.to_dict(),
        spec.source,
        1 + spec.resamples,
        lambda t: compute_task(spec, x, y, t),
        quiet,
    )
    boxes, scores = load_table(folder, "boxes"), load_table(folder, "scores")
    result = {
        "boxes": boxes[boxes["sample"] == 0],
        "trajectories": load_table(folder, "trajectories"),
        "reproducibility": reproducibility(x, boxes),
        "scores": score_table(scores),
        "base_rate": float(y.mean()),
        "rows": len(x),
    }
    result["scores"].to_csv(folder / "feature_scores.csv", index=False)
    result["boxes"].to_csv(folder / "boxes.csv", index=False)
    from simulation.explore.figures import discover_figures

    discover_figures(result, folder)
    (folder / "summary.md").write_text(discover_summary(spec, result))
    return result


def score_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Feature scores: bootstrap mean and 95% interval (and the score on all rows), highest first."""
    full = scores[scores["sample"] == 0].set_index("input")["score"]
    boot = scores[scores["sample"] > 0].groupby("input")["score"]
    table = pd.DataFrame(
        {"score": boot.mean(), "low": boot.quantile(0.025), "high": boot.quantile(0.975), "score_all_rows": full}
    )
    return table.sort_values("score", ascending=False).rename_axis("input").reset_index()


def discover_summary(spec: DiscoverSpec, result: dict[str, Any]) -> str:
    """``summary.md`` of a scenario discovery."""
    repro = result["reproducibility"]
    lines = [
        f"# Scenario discovery `{spec.name}`",
        "",
        spec.description,
        "",
        f"Dataset `{spec.data}`: {result['rows']} rows, failure `{spec.failure}`"
        + (
            f" {'>' if spec.above is not None else '<'} {spec.above if spec.above is not None else spec.below:g}"
            if spec.above is not None or spec.below is not None
            else ""
        )
        + f", base rate {result['base_rate']:.1%}. PRIM (EMA Workbench), peel alpha {spec.peel_alpha:g}; "
        f"{spec.resamples} bootstrap resamples.",
        "",
        "## Boxes",
        "",
    ]
    for number, group in result["boxes"].groupby("box"):
        first = group.iloc[0]
        limits = "; ".join(f"{r.input} in [{r.low:.3g}, {r.high:.3g}]" for r in group[group["restricted"]].itertuples())
        lines.append(
            f"- **box {number + 1}**: coverage {first['coverage']:.1%}, density {first['density']:.1%} "
            f"(base rate {result['base_rate']:.1%}): {limits or 'no restriction'}"
        )
    if len(repro):
        share = {c.removeprefix("restricts_"): repro[c].mean() for c in repro.columns if c.startswith("restricts_")}
        lines += [
            "",
            f"Reproducibility of box 1 over {len(repro)} resamples: Jaccard overlap with the full-data box "
            f"median {repro['jaccard'].median():.2f} "
            f"(range {repro['jaccard'].min():.2f}-{repro['jaccard'].max():.2f}); "
            "inputs restricted in resamples: " + ", ".join(f"{k} {v:.0%}" for k, v in share.items()) + ".",
        ]
    lines += [
        "",
        "## Feature scores (extra trees, bootstrap 95% interval)",
        "",
        "| input | score [95% interval] |",
        "|---|---|",
    ]
    lines += [f"| {r.input} | {r.score:.3f} [{r.low:.3f}, {r.high:.3f}] |" for r in result["scores"].itertuples()]
    lines += ["", "Figures: `tradeoff.png` (coverage vs density along the peeling), `feature_scores.png`.", ""]
    return "\n".join(lines)
