"""The report of a calibration: best parameters, trials, which targets constrain which parameters.

``write_report`` writes ``trials.csv``, ``constraints.csv``, ``constraints.png``
(Spearman rank correlations across trials between each free parameter and each
check's simulated median), ``report.md`` and, last and atomically, ``best.json``
with the size and checksum of each of the others: a folder whose ``best.json``
counts every complete trial of the journal holds a whole report
(``calibrate.verify`` checks it).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.model.parameters import SPECS
from simulation.sweep.store import file_record, write_bytes_atomic
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.loss import (
    DIRECTION_MARGIN,
    FAIL_PENALTY,
    FIRM_WEIGHT,
    SOFT_WEIGHT,
    UNDEFINED_DISTANCE,
    loss,
)
from simulation.validation.calibrate.search import (
    FIXED_BY_DESIGN_OR_LITERATURE,
    FREE_PARAMETERS,
    JOURNAL,
    STARTUP_TRIALS,
    completed,
    fitted_targets,
)
from simulation.validation.targets import HELD_OUT

if TYPE_CHECKING:
    import optuna

#: Smallest |Spearman rho| shown in the "which targets constrain which parameters" table.
RHO_SHOWN = 0.3
#: Most parameters (checks) listed per check (parameter) in that table.
TOP_SHOWN = 5
#: The summary, written last (the record of the report), and the report files it records.
BEST = "best.json"
REPORT_FILES = ("trials.csv", "constraints.csv", "constraints.png", "report.md")


def complete_number(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> int:
    """A trial's place among the complete trials (what the report calls its number)."""
    return [t.number for t in completed(study)].index(trial.number)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per complete trial: number, loss, checks passed, seconds, the parameters and every check's median."""
    rows = []
    for i, t in enumerate(completed(study)):
        row: dict[str, Any] = {
            "trial": i,  # the i-th complete trial (attempts a kill interrupted are not counted)
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


def trials_csv(frame: pd.DataFrame) -> str:
    """``trials.csv``: the trials table as text."""
    return frame.to_csv(index=False)


def constraints_csv(matrix: pd.DataFrame) -> str:
    """``constraints.csv``: the constraint matrix (``constraint_matrix``) as text."""
    return matrix.to_csv(index_label="check")


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
    import matplotlib  # here, not at the top: the command line imports this package to build its help

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

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
    """Write ``trials.csv``, ``constraints.csv``, ``constraints.png``, ``report.md`` and last ``best.json``.

    Returns:
        The summary written to ``best.json``.
    """
    sig = study.user_attrs.get("signature", {})
    scored = tuple(sig.get("checks", {}))
    with_held_out = any(targets_module.TARGET_OF[c].held_out for c in scored)
    fitted_ids = fitted_targets(with_held_out)
    left_out = [c for c in targets_module.CHECKS if targets_module.TARGET_OF[c].id in fitted_ids and c not in scored]
    frame = trials_frame(study)
    (folder / "trials.csv").write_text(trials_csv(frame))
    best = study.best_trial
    defaults_trial = next((t for t in completed(study) if t.user_attrs.get("defaults")), None)
    matrix = constraint_matrix(frame)
    (folder / "constraints.csv").write_text(constraints_csv(matrix))
    png = plot_constraints(matrix, folder / "constraints.png", len(frame))
    rec = {n: recommended(v, SPECS[n].low, SPECS[n].high) for n, v in best.params.items()}
    summary: dict[str, Any] = {
        "loss": best.value,
        "trial": complete_number(study, best),
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
            "loss": loss(validation_best, scored),
            "passed": {r["check"]: bool(r["passed"]) for _, r in validation_best.iterrows()},
        }
        if validation_defaults is not None:
            summary["validation"]["defaults_n_passed"] = int(validation_defaults["passed"].sum())
            summary["validation"]["defaults_loss"] = loss(validation_defaults, scored)

    span = f"{fitted_ids[0]}-{fitted_ids[-1]}"
    fitted = f"every target ({span})" if with_held_out else span
    held_out_line = (
        f"The targets held out of the first calibration ({', '.join(HELD_OUT)}) are fitted too: this is the second "
        "calibration, after the out-of-sample test."
        if with_held_out
        else f"Held-out targets ({', '.join(HELD_OUT)}) are out of sample: neither run nor scored here; "
        "`rupture-sim validate` reports them."
    )
    if left_out:
        held_out_line += (
            f" Left out of the loss (run and reported, not scored: no value of the free parameters reaches them): "
            f"{', '.join(left_out)}."
        )
    lines = [
        f"# Calibration of the free parameters to the validation targets ({fitted})",
        "",
        held_out_line,
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `rupture-sim calibrate`: {len(frame)} complete trials "
        f"(Optuna TPE, journal `{JOURNAL}`), {sig.get('replications')} replications per study and trial, root seed "
        f"{sig.get('seed')} for every trial (common random numbers), size factor {sig.get('size_factor')}; "
        f"this run {wall_seconds / 60:.1f} min.",
        "",
        f"**Best loss {best.value:.2f} (trial {complete_number(study, best)}, {best.user_attrs.get('n_passed')} of "
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
    summary["files"] = {name: file_record(folder, name) for name in REPORT_FILES}
    write_bytes_atomic(folder / BEST, (json.dumps(summary, indent=2) + "\n").encode())  # last: the report is whole
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
