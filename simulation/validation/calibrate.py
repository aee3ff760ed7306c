"""Calibration: fit the free parameters to the validation targets (T1-T14) with Optuna.

Each parameter's declaration (``simulation.model.parameters``) says whether
the calibration fits it: ``Free`` parameters (placeholders and the levers of
the targets, each with a search range inside its declared range) are fitted;
``Fixed`` ones keep their default, for the reason given there (set by the
study designs, fixed by the literature or a scale's definition, already
passing, or a secondary lever held to keep the search small).
``FREE_PARAMETERS`` and ``FIXED_BY_DESIGN_OR_LITERATURE`` read them.

The loss (``loss``) turns the validation table of one candidate into one number;
see ``check_term`` for the definition per pass rule. Every candidate is run with
the same replication seeds (one fixed root seed: common random numbers), so two
candidates differ only by their parameters, not by sampling noise.

``calibrate`` runs or resumes an Optuna study (seeded TPE sampler) stored in a
journal file in the output folder: rerunning the same command with the same
folder continues the same study; a folder made with other free parameters,
targets, seed, replications or loss is refused. It writes ``best.json``,
``trials.csv``, ``report.md`` and ``constraints.png`` (which targets constrain
which parameters: Spearman rank correlations across trials between each free
parameter and each check's simulated median).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
import seaborn as sns
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from simulation.model.parameters import PARAMETERS, SPECS, Fixed, Free
from simulation.validation import targets as targets_module
from simulation.validation.runner import DEFAULT_SEED, QUICK_REPLICATIONS, run_validation
from simulation.validation.targets import BAND, DIRECTION, POINT, RANGE, Check

#: Default output folder.
DEFAULT_FOLDER = Path("results/calibration")
#: Default root seed of the calibration (replication seeds and sampler). It differs from the validation's
#: root seed, so the final quick validation of the best parameters is out of sample.
CALIBRATION_SEED = 1
#: Default replications per study and trial (the quick validation's number).
CALIBRATION_REPLICATIONS = QUICK_REPLICATIONS
#: Name of the Optuna study inside the journal, and of the journal file.
STUDY_NAME = "calibration"
JOURNAL = "journal.log"
#: Version of the loss definition (part of the folder's signature: trials of another loss are not comparable).
LOSS_VERSION = 1
#: Weight of a check by the confidence of its target (``literature.md``): firm 1, soft 0.5.
FIRM_WEIGHT, SOFT_WEIGHT = 1.0, 0.5
#: Added to every failing check's term, so the loss also counts failures (before the distance).
FAIL_PENALTY = 1.0
#: Normalised distance charged for a check whose statistic is undefined in most replications.
UNDEFINED_DISTANCE = 5.0
#: A direction check is charged until its median is this many simulated half-widths on the right side
#: of 0 (a median just past 0 passes by chance with another set of seeds).
DIRECTION_MARGIN = 0.25
#: Smallest |Spearman rho| shown in the "which targets constrain which parameters" table.
RHO_SHOWN = 0.3
#: Most parameters (checks) listed per check (parameter) in that table.
TOP_SHOWN = 5
#: Trials of random search before TPE models the loss (they also spread the trials for the correlations).
STARTUP_TRIALS = 16


class CalibrationError(ValueError):
    """A calibration folder that cannot be resumed with these settings."""


#: The fitted parameters and their search ranges, in declaration order (``Param.calibration``).
FREE_PARAMETERS: dict[str, Free] = {p.name: p.calibration for p in PARAMETERS if isinstance(p.calibration, Free)}
#: Every parameter that is not searched, and why (``Param.calibration``).
FIXED_BY_DESIGN_OR_LITERATURE: dict[str, str] = {
    p.name: p.calibration.reason for p in PARAMETERS if isinstance(p.calibration, Fixed)
}


# --- the loss ------------------------------------------------------------------------------------------------


def check_weight(check_id: str) -> float:
    """Weight of a check: ``SOFT_WEIGHT`` if its target's confidence starts with "soft", else ``FIRM_WEIGHT``."""
    confidence = targets_module.TARGET_OF[check_id].confidence
    return SOFT_WEIGHT if confidence.strip().lower().startswith("soft") else FIRM_WEIGHT


def normalised_distance(check: Check, median: float, q05: float, q95: float) -> float:
    """How far the simulated median is from what the check asks for, in units of the larger uncertainty.

    ``h_sim = (q95 - q05) / 2`` is the half-width of the simulated central 90% interval.

    - point: ``|median - published| / max(h_pub, h_sim)``, ``h_pub`` the half-width of the published CI (0 if none);
    - band: distance of the median from the band (0 inside) / ``max(band half-width, h_sim)``;
    - range: distance of the median from the range (0 inside) / ``max(range half-width, h_sim)``;
    - direction: hinge ``max(0, DIRECTION_MARGIN - sign * median / h_sim)``: 0 once the median is a quarter of
      the simulated half-width on the right side of 0, growing with the wrong sign.

    Args:
        check: The check (its rule, published value, interval and sign).
        median: Simulated median.
        q05: Simulated 5th percentile.
        q95: Simulated 95th percentile.

    Returns:
        The distance (``UNDEFINED_DISTANCE`` if the median is not finite).
    """
    if not math.isfinite(median):
        return UNDEFINED_DISTANCE
    h_sim = (q95 - q05) / 2 if math.isfinite(q05) and math.isfinite(q95) else 0.0
    floor = 1e-9 * max(1.0, abs(median))
    if check.rule == DIRECTION:
        return max(0.0, DIRECTION_MARGIN - check.sign * median / max(h_sim, floor))
    if check.rule == POINT:
        h_pub = (check.interval[1] - check.interval[0]) / 2 if check.interval is not None else 0.0
        return abs(median - float(check.published)) / max(h_pub, h_sim, floor)
    if check.rule in (BAND, RANGE):
        lo, hi = check.interval
        gap = max(lo - median, median - hi, 0.0)
        return gap / max((hi - lo) / 2, h_sim, floor)
    raise ValueError(f"unknown rule {check.rule!r}")


def huber(z: float) -> float:
    """``z**2`` up to 1, then ``2 z - 1``: quadratic near the target, linear far away.

    Linear growth far away keeps one hopeless check from dominating the sum.
    """
    z = abs(z)
    return z * z if z <= 1 else 2 * z - 1


def check_term(check: Check, row: Mapping[str, Any]) -> float:
    """One check's contribution to the loss: ``weight * (huber(distance) + FAIL_PENALTY * failed)``.

    Args:
        check: The check.
        row: A row of ``run_validation`` (``median``, ``q05``, ``q95``, ``n_valid``, ``replications``, ``passed``).
    """
    undefined = 2 * int(row["n_valid"]) <= int(row["replications"])
    z = UNDEFINED_DISTANCE if undefined else normalised_distance(check, row["median"], row["q05"], row["q95"])
    failed = not bool(row["passed"])
    return check_weight(check.id) * (huber(z) + FAIL_PENALTY * failed)


def loss_terms(table: pd.DataFrame) -> pd.Series:
    """Every check's term of the loss, indexed by check id (checks read generically from ``targets.CHECKS``)."""
    checks = targets_module.CHECKS
    return pd.Series({r["check"]: check_term(checks[r["check"]], r) for _, r in table.iterrows()}, dtype=float)


def loss(table: pd.DataFrame) -> float:
    """The calibration loss of one validation table: the sum of ``loss_terms``.

    0 when every check passes with its median on the published value (inside the band or range, a quarter of
    the spread past 0 for directions); every failing check adds at least its weight (1 firm, 0.5 soft).
    """
    return float(loss_terms(table).sum())


# --- the study -------------------------------------------------------------------------------------------------


def _json_float(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def signature(seed: int, replications: int, size_factor: float) -> dict[str, Any]:
    """What makes trials comparable: the free parameters and ranges, the checks and rules, seeds and sizes, loss."""
    return {
        "free_parameters": {n: [p.low, p.high, p.log] for n, p in FREE_PARAMETERS.items()},
        "checks": {
            c.id: [c.study, c.statistic, c.rule, c.published, list(c.interval or ()), c.sign]
            for t in targets_module.TARGETS
            for c in t.checks
        },
        "seed": int(seed),
        "replications": int(replications),
        "size_factor": float(size_factor),
        "loss_version": LOSS_VERSION,
    }


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which part of the signature differs, in words."""
    if old.get("free_parameters") != new["free_parameters"]:
        a, b = set(old.get("free_parameters", {})), set(new["free_parameters"])
        if a != b:
            return f"other free parameters ({len(a)} there, {len(b)} now; differing: {', '.join(sorted(a ^ b))})"
        return "other search ranges of the free parameters"
    if old.get("checks") != new["checks"]:
        a, b = old.get("checks", {}), new["checks"]
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return f"other targets (checks {', '.join(diff)} differ)"
    for key in ("seed", "replications", "size_factor", "loss_version"):
        if old.get(key) != new[key]:
            return f"{key} {old.get(key)} (now {new[key]})"
    return "other settings"


def open_study(folder: Path, seed: int, replications: int, size_factor: float) -> optuna.Study:
    """Create or resume the study stored in ``folder`` (journal file storage).

    Raises:
        CalibrationError: If the folder holds a calibration with another signature.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress is reported by ``calibrate``
    folder.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(folder / JOURNAL)))
    wanted = signature(seed, replications, size_factor)
    existing = optuna.study.get_all_study_names(storage)
    if existing and STUDY_NAME not in existing:
        raise CalibrationError(f"{folder} holds Optuna studies {existing}, not a calibration; choose another --out.")
    n_done = 0
    if STUDY_NAME in existing:
        old = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        found = old.user_attrs.get("signature")
        if found is not None and found != wanted:
            raise CalibrationError(
                f"{folder} holds a calibration with {_difference(found, wanted)}; "
                "rerun with its settings or choose another --out."
            )
        n_done = len(old.get_trials(deepcopy=False))
    # Reseeding with the number of trials so far: a resumed run does not repeat the random start of the first.
    sampler = optuna.samplers.TPESampler(seed=seed + n_done, n_startup_trials=STARTUP_TRIALS, multivariate=True)
    study = optuna.create_study(
        storage=storage, sampler=sampler, study_name=STUDY_NAME, direction="minimize", load_if_exists=True
    )
    if "signature" not in study.user_attrs:
        study.set_user_attr("signature", wanted)
        study.set_user_attr("created", datetime.now(UTC).isoformat(timespec="seconds"))
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # left running by an interrupted run (one calibration per folder at a time)
        study.tell(trial.number, state=TrialState.FAIL)
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(default_values(), user_attrs={"defaults": True})
    return study


def default_values() -> dict[str, float]:
    """The current defaults of the free parameters."""
    return {name: float(SPECS[name].default) for name in FREE_PARAMETERS}


def suggest(trial: optuna.Trial) -> dict[str, float]:
    """The candidate values of the free parameters for one trial."""
    return {n: trial.suggest_float(n, p.low, p.high, log=p.log) for n, p in FREE_PARAMETERS.items()}


def record(trial: optuna.Trial, table: pd.DataFrame, seconds: float) -> float:
    """Store the loss, every check's median, pass and loss term as user attributes of the trial; return the loss."""
    terms = loss_terms(table)
    trial.set_user_attr("medians", {r["check"]: _json_float(r["median"]) for _, r in table.iterrows()})
    trial.set_user_attr("passed", {r["check"]: bool(r["passed"]) for _, r in table.iterrows()})
    trial.set_user_attr("terms", {k: round(float(v), 6) for k, v in terms.items()})
    trial.set_user_attr("n_passed", int(table["passed"].sum()))
    trial.set_user_attr("n_checks", len(table))
    trial.set_user_attr("seconds", round(seconds, 2))
    value = float(terms.sum())
    trial.set_user_attr("loss", value)
    return value


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The complete trials in order."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per complete trial: number, loss, checks passed, seconds, the parameters and every check's median."""
    rows = []
    for t in completed(study):
        row: dict[str, Any] = {
            "trial": t.number,
            "loss": t.value,
            "n_passed": t.user_attrs.get("n_passed"),
            "seconds": t.user_attrs.get("seconds"),
            "defaults": bool(t.user_attrs.get("defaults", False)),
        }
        row.update(t.params)
        row.update({f"median_{k}": (math.nan if v is None else v) for k, v in t.user_attrs.get("medians", {}).items()})
        row.update({f"passed_{k}": v for k, v in t.user_attrs.get("passed", {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def constraint_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlation across trials between each free parameter (columns) and each check's median (rows).

    NaN where a check's median does not vary across the trials.
    """
    params = [n for n in FREE_PARAMETERS if n in frame]
    checks = [c[len("median_") :] for c in frame.columns if c.startswith("median_")]
    out = pd.DataFrame(np.nan, index=checks, columns=params)
    if len(frame) < 3:
        return out
    ranks = frame[params + [f"median_{c}" for c in checks]].rank()
    corr = ranks.corr(method="pearson", min_periods=3)  # Pearson of ranks = Spearman
    for c in checks:
        out.loc[c] = corr.loc[f"median_{c}", params].to_numpy(dtype=float)
    return out


def plot_constraints(matrix: pd.DataFrame, path: Path, n_trials: int) -> Path:
    """Heatmap of the constraint matrix (checks x free parameters)."""
    height = max(4.0, 0.32 * len(matrix) + 2.5)
    width = max(6.0, 0.62 * len(matrix.columns) + 3.0)
    with sns.axes_style("white"), warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # seaborn's own use of Colormap.set_bad
        fig, ax = plt.subplots(figsize=(width, height))
        sns.heatmap(
            matrix.astype(float),
            ax=ax,
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            center=0,
            annot=True,
            fmt=".1f",
            annot_kws={"fontsize": 6.5},
            linewidths=0.4,
            linecolor="white",
            cbar_kws={"label": "Spearman rho (parameter, simulated median)", "shrink": 0.6},
        )
        ax.set_xlabel("free parameter")
        ax.set_ylabel("check")
        ax.set_title(f"Which targets constrain which parameters ({n_trials} trials)")
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
        ax.tick_params(axis="y", labelrotation=0, labelsize=8)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return path


# --- the report ------------------------------------------------------------------------------------------------


def _g(x: float | None) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    x = float(x)
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.1f}"


def recommended(value: float, spec_low: float, spec_high: float) -> float:
    """A calibrated value rounded to two significant digits, kept inside the declared range."""
    if value == 0:
        return 0.0
    digits = 1 - math.floor(math.log10(abs(value)))
    return float(min(max(round(value, digits), spec_low), spec_high))


def _strongest(values: pd.Series, top: int) -> str:
    strong = values[values.abs() >= RHO_SHOWN].sort_values(key=abs, ascending=False)
    return ", ".join(f"{n} ({v:+.2f})" for n, v in strong.iloc[:top].items())


def _constraint_lines(matrix: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    lines = [f"| check | moved by (strongest {TOP_SHOWN}, Spearman rho, abs >= {RHO_SHOWN}) |", "|---|---|"]
    for check, row in matrix.iterrows():
        lines.append(f"| {check} | {_strongest(row, TOP_SHOWN) or 'none'} |")
    lines += ["", f"| free parameter | constrained by (strongest {TOP_SHOWN} checks, abs rho >= {RHO_SHOWN}) |"]
    lines.append("|---|---|")
    for name in matrix.columns:
        lines.append(f"| {name} | {_strongest(matrix[name], TOP_SHOWN) or 'none (weakly identified here)'} |")
    params = [n for n in matrix.columns if n in frame]
    if len(frame) >= 3 and len(params) > 1:
        among = frame[params].rank().corr().abs().to_numpy(copy=True)
        np.fill_diagonal(among, 0.0)
        i, j = np.unravel_index(int(np.nanargmax(among)), among.shape)
        lines += [
            "",
            f"Collinearity of the design: the largest rank correlation between two free parameters across the "
            f"trials is {among[i, j]:.2f} ({params[i]}, {params[j]}); correlations of that size between a parameter "
            "and a median may be inherited from the other parameter.",
        ]
    return lines


def _validation_lines(defaults: pd.DataFrame | None, best: pd.DataFrame | None) -> list[str]:
    if best is None:
        return ["Not run.", ""]
    lines = []
    head = "| check | published | best: median [5%, 95%] | pass |"
    sep = "|---|---|---|---|"
    if defaults is not None:
        head = "| check | published | defaults: median [5%, 95%] | pass | best: median [5%, 95%] | pass |"
        sep = "|---|---|---|---|---|---|"
        d_by = defaults.set_index("check")
    lines += [head, sep]
    for _, r in best.iterrows():
        cells = [r["check"], r["published"]]
        if defaults is not None and r["check"] in d_by.index:
            d = d_by.loc[r["check"]]
            cells += [f"{_g(d['median'])} [{_g(d['q05'])}, {_g(d['q95'])}]", "pass" if d["passed"] else "**FAIL**"]
        elif defaults is not None:
            cells += ["n/a", "n/a"]
        cells += [f"{_g(r['median'])} [{_g(r['q05'])}, {_g(r['q95'])}]", "pass" if r["passed"] else "**FAIL**"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    return lines


def write_report(
    study: optuna.Study,
    folder: Path,
    validation_best: pd.DataFrame | None,
    validation_defaults: pd.DataFrame | None,
    wall_seconds: float,
) -> dict[str, Any]:
    """Write ``best.json``, ``trials.csv``, ``constraints.png`` and ``report.md``; return the summary (best.json)."""
    sig = study.user_attrs.get("signature", {})
    frame = trials_frame(study)
    frame.to_csv(folder / "trials.csv", index=False)
    best = study.best_trial
    defaults_trial = next((t for t in completed(study) if t.user_attrs.get("defaults")), None)
    matrix = constraint_matrix(frame)
    matrix.to_csv(folder / "constraints.csv", index_label="check")
    png = plot_constraints(matrix, folder / "constraints.png", len(frame))
    rec = {n: recommended(v, SPECS[n].low, SPECS[n].high) for n, v in best.params.items()}
    summary: dict[str, Any] = {
        "loss": best.value,
        "trial": best.number,
        "params": best.params,
        "recommended_defaults": rec,
        "checks_passed": sorted(k for k, v in best.user_attrs.get("passed", {}).items() if v),
        "checks_failed": sorted(k for k, v in best.user_attrs.get("passed", {}).items() if not v),
        "n_passed": best.user_attrs.get("n_passed"),
        "n_checks": best.user_attrs.get("n_checks"),
        "defaults_loss": defaults_trial.value if defaults_trial else None,
        "defaults_n_passed": defaults_trial.user_attrs.get("n_passed") if defaults_trial else None,
        "trials": len(frame),
        "settings": sig,
    }
    if validation_best is not None:
        meta = validation_best.attrs.get("meta", {})
        summary["validation"] = {
            "replications": meta.get("replications"),
            "seed": meta.get("seed"),
            "n_passed": int(validation_best["passed"].sum()),
            "n_checks": len(validation_best),
            "loss": loss(validation_best),
            "passed": {r["check"]: bool(r["passed"]) for _, r in validation_best.iterrows()},
        }
        if validation_defaults is not None:
            summary["validation"]["defaults_n_passed"] = int(validation_defaults["passed"].sum())
            summary["validation"]["defaults_loss"] = loss(validation_defaults)
    (folder / "best.json").write_text(json.dumps(summary, indent=2) + "\n")

    lines = [
        "# Calibration of the free parameters to the validation targets (T1-T14)",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `rupture-sim calibrate`: {len(frame)} complete trials "
        f"(Optuna TPE, journal `{JOURNAL}`), {sig.get('replications')} replications per study and trial, root seed "
        f"{sig.get('seed')} for every trial (common random numbers), size factor {sig.get('size_factor')}; "
        f"this run {wall_seconds / 60:.1f} min.",
        "",
        f"**Best loss {best.value:.2f} (trial {best.number}, {best.user_attrs.get('n_passed')} of "
        f"{best.user_attrs.get('n_checks')} checks pass in sample)**"
        + (
            f"; the defaults: loss {defaults_trial.value:.2f}, {defaults_trial.user_attrs.get('n_passed')} checks."
            if defaults_trial
            else "."
        ),
        "",
        "## Loss",
        "",
        "For each check of `targets.TARGETS`, a normalised distance z of the simulated median from what the check "
        "asks for, with h_sim the half-width of the simulated central 90% interval: **point** |median - published| "
        "/ max(published CI half-width, h_sim); **band** and **range** the distance of the median from the band or "
        "range (0 inside) / max(its half-width, h_sim); **direction** the hinge max(0, "
        f"{DIRECTION_MARGIN} - sign x median / h_sim). The term is weight x (huber(z) + {FAIL_PENALTY:g} if the check "
        f"fails its pass rule), huber(z) = z^2 up to 1 and 2z - 1 beyond; weight {FIRM_WEIGHT:g} for firm and "
        f"{SOFT_WEIGHT:g} for soft targets; an undefined statistic counts z = {UNDEFINED_DISTANCE:g}. "
        "The loss is the sum. Every trial uses the same replication seeds.",
        "",
        "## Best parameters vs current defaults",
        "",
        "| parameter | default | best | recommended | search range | declared range | fitted for |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, p in FREE_PARAMETERS.items():
        spec = SPECS[name]
        lines.append(
            f"| {name} | {spec.default:g} | {best.params[name]:.4g} | {rec[name]:g} | "
            f"{p.low:g}-{p.high:g}{' (log)' if p.log else ''} | {spec.low:g}-{spec.high:g} | {p.targets} |"
        )
    lines += [
        "",
        "As overrides: `" + " ".join(f"--set {n}={v:g}" for n, v in rec.items()) + "`",
        "",
        "## Quick validation with the best parameters",
        "",
    ]
    if validation_best is not None:
        v = summary["validation"]
        head = f"Out of sample (root seed {v['seed']}, {v['replications']} replications): **{v['n_passed']} of "
        head += f"{v['n_checks']} checks pass** with the best parameters"
        if "defaults_n_passed" in v:
            head += f", {v['defaults_n_passed']} with the defaults (loss {v['loss']:.2f} vs {v['defaults_loss']:.2f})"
        lines += [head + ".", ""]
    lines += _validation_lines(validation_defaults, validation_best)
    lines += [
        "## Which targets constrain which parameters",
        "",
        "Spearman rank correlation, across the complete trials, between each free parameter and each check's "
        "simulated median (`constraints.csv`, figure below). The trials are not a uniform design: the first "
        f"{STARTUP_TRIALS} are random, the later ones cluster where the loss is low, so a correlation shows "
        "where a parameter moves a statistic within the explored region, not a causal effect at the defaults.",
        "",
        *_constraint_lines(matrix, frame),
        "",
        f"![constraints]({png.name})",
        "",
        "## Parameters not searched",
        "",
        "| parameter | default | why not searched |",
        "|---|---|---|",
    ]
    for name, why in FIXED_BY_DESIGN_OR_LITERATURE.items():
        lines.append(f"| {name} | {SPECS[name].default:g} | {why} |")
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    return summary


# --- the command -----------------------------------------------------------------------------------------------


def calibrate(
    folder: str | Path = DEFAULT_FOLDER,
    n_trials: int = 100,
    seed: int = CALIBRATION_SEED,
    replications: int = CALIBRATION_REPLICATIONS,
    workers: int = 2,
    timeout: float | None = None,
    size_factor: float = 1.0,
    check_replications: int | None = QUICK_REPLICATIONS,
    check_seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run or resume the calibration stored in ``folder`` and write its report.

    Args:
        folder: Output folder (journal, ``best.json``, ``trials.csv``, ``report.md``, ``constraints.png``).
        n_trials: Total complete trials wanted in the study; a resumed study runs only the missing ones.
        seed: Root seed of the replication seeds (the same for every trial) and seed of the TPE sampler.
        replications: Replications per study and trial.
        workers: Worker processes per trial.
        timeout: Stop starting new trials after this many seconds (the running one finishes).
        size_factor: Scales every study's sample size (1 = the published designs; smaller for smoke tests).
        check_replications: Replications of the final quick validation of the best and the default parameters
            (root seed ``check_seed``); ``None`` skips it.
        check_seed: Root seed of the final quick validation (out of sample when it differs from ``seed``).
        progress: Called with one line per finished trial (e.g. ``print``).

    Returns:
        The summary written to ``best.json``.

    Raises:
        CalibrationError: If ``folder`` holds a calibration with other free parameters, targets or settings.
    """
    folder = Path(folder)
    start = time.perf_counter()
    study = open_study(folder, seed, replications, size_factor)
    done = len(completed(study))
    todo = max(0, n_trials - done)
    say = progress or (lambda _line: None)
    if todo:
        say(
            f"Calibration in {folder}: {done} trials done, running up to {todo} more ({len(FREE_PARAMETERS)} free "
            f"parameters, {replications} replications per study)."
        )

        def objective(trial: optuna.Trial) -> float:
            params = suggest(trial)
            t0 = time.perf_counter()
            table = run_validation(
                seed=seed, params=params, workers=workers, replications=replications, size_factor=size_factor
            )
            return record(trial, table, time.perf_counter() - t0)

        def report_trial(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.state != TrialState.COMPLETE:
                say(f"trial {trial.number}: {trial.state.name}")
                return
            n = len(completed(study_))
            say(
                f"trial {trial.number} ({n}/{n_trials}): loss {trial.value:.2f}, {trial.user_attrs['n_passed']}/"
                f"{trial.user_attrs['n_checks']} checks, {trial.user_attrs['seconds']:.1f} s; best "
                f"{study_.best_value:.2f} (trial {study_.best_trial.number}), {time.perf_counter() - start:.0f} s"
            )

        study.optimize(
            objective,
            n_trials=todo,
            timeout=timeout,
            callbacks=[report_trial],
            catch=(ArithmeticError, ValueError),
        )
    if not completed(study):
        raise CalibrationError(f"No trial of the calibration in {folder} completed.")
    validation_best = validation_defaults = None
    if check_replications:
        say(
            f"Quick validation of the best and default parameters ({check_replications} replications, "
            f"seed {check_seed}) ..."
        )
        kwargs = {"seed": check_seed, "workers": workers, "replications": check_replications}
        validation_best = run_validation(params=study.best_params, size_factor=size_factor, **kwargs)
        validation_defaults = run_validation(params=None, size_factor=size_factor, **kwargs)
    summary = write_report(study, folder, validation_best, validation_defaults, time.perf_counter() - start)
    return summary


def summary_text(summary: Mapping[str, Any], folder: str | Path) -> str:
    """The summary printed at the end of ``rupture-sim calibrate``."""
    lines = [
        f"Best loss {summary['loss']:.2f} (trial {summary['trial']} of {summary['trials']}; defaults "
        f"{_g(summary.get('defaults_loss'))}); {summary['n_passed']}/{summary['n_checks']} checks pass in sample.",
    ]
    v = summary.get("validation")
    if v:
        lines.append(
            f"Quick validation (seed {v['seed']}, {v['replications']} replications): {v['n_passed']}/{v['n_checks']} "
            f"checks pass with the best parameters, {v.get('defaults_n_passed', 'n/a')} with the defaults; failing: "
            + (", ".join(k for k, ok in v["passed"].items() if not ok) or "none")
            + "."
        )
    lines.append("Best parameters (recommended rounded defaults):")
    for name, value in summary["params"].items():
        lines.append(
            f"  {name:<34}{value:>10.4g}   ({summary['recommended_defaults'][name]:g}; default {SPECS[name].default:g})"
        )
    lines.append(f"Report: {Path(folder) / 'report.md'}")
    return "\n".join(lines)
