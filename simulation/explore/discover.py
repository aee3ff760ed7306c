"""Scenario discovery on failed courses: ``rupture-sim discover SPEC.toml`` (PRIM of EMA Workbench).

Over a finished sweep (one row per course: the varied parameters and the
patient's intake) or a sensitivity run (one row per design row, outcomes
averaged over replications), PRIM (the Patient Rule Induction Method,
``ema_workbench.analysis.prim``) peels boxes in the input space that hold
many failures (density) and much of all failures (coverage).

Which box is reported (the rule, stated in every summary): every step of the
peeling trajectory is first cut back to the restrictions that EMA's quasi-p
values support (a one-sided binomial test of each restriction, Bryant &
Lempert 2010): while a restriction has qp >= ``QP_ALPHA`` the least supported
one is dropped (``PrimBox.drop_restriction``) and the values recomputed. Among
the cut-back steps denser than the base rate, the box is the one with the
largest coverage among those whose density reaches ``min_density`` (default:
halfway from the base rate to 1); if none reaches it, the summary says so and
the box is the step with the most failures in excess of the base rate,
``(density - base rate) x coverage``, which never favours an over-peeled step
holding a handful of courses. Box 2 is sought on the rows outside box 1
(PRIM's covering); its figures are given on those rows and on all rows.
Its reproducibility is checked by resampling the *design points* (a sweep's
runs, a sensitivity run's design rows; courses of one point share their
settings, so resampling courses would overstate the evidence): PRIM is rerun on
``resamples`` bootstrap samples and each resample's box is compared with the
full-data box by the Jaccard overlap of the rows inside them, and by which
inputs it restricts. Inputs varied by the sweep are run-level settings (the
same for every course of a run: ``skill_mean`` is the mean skill of the run's
therapists, not the treating therapist's skill) and are labelled as such. Feature scores are
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
import pyarrow.dataset as pads

from simulation.explore import spec as checks
from simulation.explore.model_function import OUTCOMES
from simulation.explore.store import dataset_fingerprint, finish, load_table, run_tasks
from simulation.extras import require
from simulation.schema import show, unique_names
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
#: Largest quasi-p value a restriction may have to stay in a box.
QP_ALPHA = 0.05
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
        min_density=checks.number("min_density", data["min_density"], 0, 1, open_ends=True)
        if "min_density" in data
        else None,
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
    return unique_names("inputs", value, allowed)


# --- data ------------------------------------------------------------------------------------------------------


def load_dataset(spec: DiscoverSpec) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Inputs, failure indicator and design point of each row (a seeded subsample of at most ``max_rows`` rows)."""
    folder = Path(spec.data)
    kind, _ = dataset_kind(folder)
    if kind == "sweep":
        schema = pads.dataset(folder / "patients").schema.names
        extra = ["point", "replication"] if "point" in schema else []
        courses = pd.read_parquet(folder / "patients", columns=[*spec.inputs, "dropped_out", "reliable_change", *extra])
        failed = {
            "dropout": courses["dropped_out"],
            "no_reliable_change": ~courses["reliable_change"],
            "dropout_or_no_reliable_change": courses["dropped_out"] | ~courses["reliable_change"],
        }[spec.failure].to_numpy(bool)
        points = courses["point"].to_numpy() if extra else np.arange(len(courses))
        x = courses[list(spec.inputs)]
    else:
        runs = load_table(folder, "runs")
        rows = runs[runs["stage"] != "oat"].groupby(["stage", "row"])[[*spec.inputs, spec.failure]].mean()
        y = rows[spec.failure].to_numpy(float)
        failed = y > spec.above if spec.above is not None else y < spec.below
        x = rows[list(spec.inputs)]
        points = np.arange(len(x))
    x = x.reset_index(drop=True).astype(float)
    if len(x) > spec.max_rows:
        keep = np.sort(np.random.default_rng(spec.seed).choice(len(x), spec.max_rows, replace=False))
        x, failed, points = x.iloc[keep].reset_index(drop=True), failed[keep], points[keep]
    return x, failed, points


def input_kind(spec: DiscoverSpec, name: str) -> str:
    """``patient intake`` or ``run-level setting`` (a parameter the sweep or sensitivity run varied)."""
    return "patient intake" if name in INTAKE_INPUTS else "run-level setting"


# --- PRIM and feature scores -----------------------------------------------------------------------------------


def quasi_p(box: Any, step: int) -> dict[str, float]:
    """EMA's quasi-p value of each restriction of a step (the larger of its two sides' when both are restricted)."""
    return {dim: float(max(q for q in sides if q >= 0)) for dim, sides in box.qp[step].items() if max(sides) >= 0}


def supported_step(box: Any, step: int) -> int:
    """The step cut back to supported restrictions: drop the least supported (qp >= ``QP_ALPHA``) until none is."""
    while True:
        qp = quasi_p(box, step)
        weak = {dim: q for dim, q in qp.items() if q >= QP_ALPHA}
        if not weak:
            return step
        box.drop_restriction(max(weak, key=weak.get), step)
        step = len(box.peeling_trajectory) - 1


def choose_step(candidates: pd.DataFrame, base_rate: float, target: float) -> tuple[int | None, str]:
    """The reported step and the part of the rule that chose it (None if no step is denser than the base rate)."""
    useful = candidates[(candidates["density"] > base_rate) & (candidates["res_dim"] > 0)]
    if not len(useful):
        return None, "no step cut back to supported restrictions is denser than the base rate"
    dense = useful[useful["density"] >= target]
    if len(dense):
        best = dense.sort_values(["coverage", "res_dim"], ascending=[False, True]).index[0]
        return int(best), f"the largest coverage among steps with density >= {target:.0%}"
    excess = (useful["density"] - base_rate) * useful["coverage"]
    return int(excess.idxmax()), (
        f"no step reaches the target density {target:.0%}: the step with the most failures in excess of the base "
        "rate, (density - base rate) x coverage"
    )


def prim_boxes(
    x: pd.DataFrame, y: np.ndarray, n_boxes: int, peel_alpha: float, min_density: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up to ``n_boxes`` PRIM boxes chosen by the module's rule: their limits with qp values, and trajectories."""
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
            peeled = len(box.peeling_trajectory)
            origin = {}
            for step in range(1, peeled):
                origin.setdefault(supported_step(box, step), step)
            traj = box.peeling_trajectory.copy()
            traj["peeling_step"] = [origin.get(i, i if i < peeled else -1) for i in range(len(traj))]
            traj["supported"] = traj.index.isin(list(origin))
            chosen, why = choose_step(traj[traj["supported"]], base_rate, target)
            if chosen is None:
                break
            box.select(chosen)
            last = origin[chosen] == peeled - 1
            trajectories.append(traj.assign(box=number, chosen=traj.index == chosen, peeled=traj.index < peeled))
            limits += _limits(x, y, box, chosen, number, why, last)
    table = pd.DataFrame(limits, columns=LIMIT_COLUMNS)
    return table, pd.concat(trajectories, ignore_index=True) if trajectories else pd.DataFrame()


LIMIT_COLUMNS = [
    "box",
    "input",
    "low",
    "high",
    "restricted",
    "qp",
    "coverage",
    "density",
    "courses",
    "coverage_all_rows",
    "density_all_rows",
    "rule",
    "last_peeling_step",
]


def _limits(x: pd.DataFrame, y: np.ndarray, box: Any, step: int, number: int, why: str, last: bool) -> list[dict]:
    """One row per input: the box's limits, whether it restricts the input and its qp value, the box's figures."""
    lims, qp, point = box.box_lims[step], quasi_p(box, step), box.peeling_trajectory.loc[step]
    mask = np.ones(len(x), dtype=bool)
    for column in x.columns:
        mask &= x[column].between(float(lims[column].iloc[0]), float(lims[column].iloc[1])).to_numpy()
    return [
        {
            "box": number,
            "input": column,
            "low": float(lims[column].iloc[0]),
            "high": float(lims[column].iloc[1]),
            "restricted": column in qp,
            "qp": qp.get(column, float("nan")),
            "coverage": float(point["coverage"]),
            "density": float(point["density"]),
            "courses": int(point["n"]),
            "coverage_all_rows": float(y[mask].sum() / y.sum()),
            "density_all_rows": float(y[mask].mean()) if mask.any() else float("nan"),
            "rule": why,
            "last_peeling_step": last,
        }
        for column in x.columns
    ]


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


def compute_task(
    spec: DiscoverSpec, x: pd.DataFrame, y: np.ndarray, points: np.ndarray, task: int
) -> dict[str, pd.DataFrame]:
    """Task 0: PRIM on all rows; task k >= 1: PRIM and feature scores on bootstrap sample k of the design points."""
    if task == 0:
        rows, seed = np.arange(len(x)), spec.seed
    else:
        rng = np.random.default_rng([spec.seed, task])
        ids, where = np.unique(points, return_inverse=True)
        members = [np.flatnonzero(where == k) for k in range(len(ids))]
        rows = np.sort(np.concatenate([members[k] for k in rng.integers(0, len(ids), len(ids))]))
        seed = spec.seed + task
    xs, ys = x.iloc[rows].reset_index(drop=True), y[rows]
    limits, trajectory = prim_boxes(xs, ys, spec.n_boxes if task == 0 else 1, spec.peel_alpha, spec.min_density)
    scores = feature_scores(xs, ys, seed).rename("score").rename_axis("input").reset_index().assign(sample=task)
    tables = {"boxes": limits.assign(sample=task), "scores": scores}
    if task == 0:
        tables["trajectories"] = trajectory
    return tables


def reproducibility(x: pd.DataFrame, boxes: pd.DataFrame) -> pd.DataFrame:
    """Per resample: Jaccard overlap of its first box with the full-data first box, and its restricted inputs."""
    if not (boxes["sample"] == 0).any():
        return pd.DataFrame()
    main = inside(x, boxes[boxes["sample"] == 0], 0)
    rows = []
    for sample, group in boxes[boxes["sample"] > 0].groupby("sample"):
        other = inside(x, group, 0) if (group["box"] == 0).any() else np.zeros(len(x), dtype=bool)
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
    try:
        dataset = dataset_fingerprint(Path(spec.data))
    except StoreError as err:
        raise checks.ExploreSpecError(f"data: {err}") from None
    x, y, points = load_dataset(spec)
    if y.all() or not y.any():
        raise checks.ExploreSpecError(
            f"failure '{spec.failure}' is {'true' if y.all() else 'false'} for every row of {spec.data}; "
            "choose another failure or threshold."
        )
    if spec.min_density is not None and spec.min_density <= y.mean():
        raise checks.ExploreSpecError(
            f"min_density ({spec.min_density:g}) must be above the base rate of failure '{spec.failure}' in "
            f"{spec.data} ({y.mean():.1%}): a box is a region denser in failures than the data as a whole."
        )
    manifest = run_tasks(
        folder,
        "discover",
        {**spec.to_dict(), "dataset": dataset},
        spec.source,
        1 + spec.resamples,
        lambda t: compute_task(spec, x, y, points, t),
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
        "points": len(np.unique(points)),
    }
    result["scores"].to_csv(folder / "feature_scores.csv", index=False)
    result["boxes"].to_csv(folder / "boxes.csv", index=False)
    from simulation.explore.figures import discover_figures

    discover_figures(result, folder)
    (folder / "summary.md").write_text(discover_summary(spec, result))
    finish(folder, manifest)
    return result


def score_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Feature scores: bootstrap mean and 95% interval (and the score on all rows), highest first."""
    full = scores[scores["sample"] == 0].set_index("input")["score"]
    boot = scores[scores["sample"] > 0].groupby("input")["score"]
    table = pd.DataFrame(
        {"score": boot.mean(), "low": boot.quantile(0.025), "high": boot.quantile(0.975), "score_all_rows": full}
    )
    return table.sort_values("score", ascending=False).rename_axis("input").reset_index()


def restriction_text(spec: DiscoverSpec, r: Any) -> str:
    """``noticing (run-level setting) <= 0.3 (qp 2e-05)``: the side(s) a box restricts, with its qp value."""
    return f"{r.input} ({input_kind(spec, r.input)}) in [{r.low:.3g}, {r.high:.3g}] (qp {r.qp:.2g})"


def drives_sentence(spec: DiscoverSpec, result: dict[str, Any]) -> str:
    """What drives the failure, in one plain sentence (from box 1)."""
    boxes, base = result["boxes"], result["base_rate"]
    what = spec.failure.replace("_", " ")
    if not len(boxes):
        return (
            f"No region of the inputs holds {what} clearly more often than the {base:.1%} base rate with every "
            "restriction supported (qp < 0.05): in this dataset it is diffuse."
        )
    first = boxes[boxes["box"] == 0]
    row = first.iloc[0]
    parts = [f"{r.input} {_range(r)}" for r in first[first["restricted"]].itertuples()]
    kinds = {input_kind(spec, r.input) for r in first[first["restricted"]].itertuples()}
    note = (
        " Run-level settings describe whole runs (every course of a run shares them), not the treating therapist."
        if "run-level setting" in kinds
        else ""
    )
    return (
        f"{what.capitalize()} is {row.density_all_rows / base:.1f} times as common as overall "
        f"({row.density_all_rows:.0%} vs {base:.0%}) where {' and '.join(parts)}; that region holds "
        f"{row.coverage_all_rows:.0%} of all {what} cases.{note}"
    )


def _range(r: Any) -> str:
    """``between 0.2 and 0.5``."""
    return f"between {r.low:.2g} and {r.high:.2g}"


def discover_summary(spec: DiscoverSpec, result: dict[str, Any]) -> str:
    """``summary.md`` of a scenario discovery."""
    repro = result["reproducibility"]
    target = spec.min_density if spec.min_density is not None else (1 + result["base_rate"]) / 2
    lines = [
        f"# Scenario discovery `{spec.name}`",
        "",
        spec.description,
        "",
        f"Dataset `{spec.data}`: {result['rows']} rows from {result['points']} design points, failure "
        f"`{spec.failure}`"
        + (
            f" {'>' if spec.above is not None else '<'} {spec.above if spec.above is not None else spec.below:g}"
            if spec.above is not None or spec.below is not None
            else ""
        )
        + f", base rate {result['base_rate']:.1%}. PRIM (EMA Workbench), peel alpha {spec.peel_alpha:g}; "
        f"{spec.resamples} bootstrap resamples of the design points.",
        "",
        f"**What drives it.** {drives_sentence(spec, result)}",
        "",
        "## Boxes",
        "",
        f"Rule: each peeling step is cut back to the restrictions EMA's quasi-p values support (qp < {QP_ALPHA:g}, "
        "least supported dropped first); the box is the cut-back step with the largest coverage among those with "
        f"density >= {target:.0%} (the target), or, if none reaches it, the one with the most failures in excess of "
        "the base rate, (density - base rate) x coverage.",
        "",
    ]
    for number, group in result["boxes"].groupby("box"):
        first = group.iloc[0]
        limits = "; ".join(restriction_text(spec, r) for r in group[group["restricted"]].itertuples())
        where = (
            f" (on the rows outside box 1: coverage {first['coverage']:.1%}, density {first['density']:.1%})"
            if number > 0
            else ""
        )
        lines.append(
            f"- **box {number + 1}**: coverage {first['coverage_all_rows']:.1%}, "
            f"density {first['density_all_rows']:.1%} on all rows{where}, base rate {result['base_rate']:.1%}; "
            f"chosen by the rule: {first['rule']}"
            + (" — **the last peeling step**: the box may be over-peeled" if first["last_peeling_step"] else "")
            + f": {limits or 'no restriction'}"
        )
    found = result["boxes"]["box"].nunique() if len(result["boxes"]) else 0
    if found < spec.n_boxes:
        lines.append(
            f"- no {'further ' if found else ''}box passes the rule (a step denser than the base rate with every "
            f"restriction at qp < {QP_ALPHA:g}); boxes reported: {found} of the {spec.n_boxes} asked for."
        )
    if len(repro):
        share = {c.removeprefix("restricts_"): repro[c].mean() for c in repro.columns if c.startswith("restricts_")}
        lines += [
            "",
            f"Reproducibility of box 1 over {len(repro)} resamples of the design points: Jaccard overlap with the "
            f"full-data box median {repro['jaccard'].median():.2f} "
            f"(range {repro['jaccard'].min():.2f}-{repro['jaccard'].max():.2f}); "
            "inputs restricted in resamples: " + ", ".join(f"{k} {v:.0%}" for k, v in share.items()) + ".",
        ]
    lines += [
        "",
        "## Feature scores (extra trees, bootstrap 95% interval)",
        "",
        "| input | kind | score [95% interval] |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r.input} | {input_kind(spec, r.input)} | {r.score:.3f} [{r.low:.3f}, {r.high:.3f}] |"
        for r in result["scores"].itertuples()
    ]
    lines += [
        "",
        "Figures: `tradeoff.png` (coverage vs density along the peeling, cut-back steps marked), `feature_scores.png`.",
        "",
    ]
    return "\n".join(lines)
