"""The report of a history matching: what the targets say about the parameters, figures of each wave and region.

``write_history_report`` writes, into the run folder:

- ``identifiability.csv``: per parameter the share of its prior range the final
  region spans (min to max of the region sample, on the search scale) and the
  central 90% of it; *identified* if the span is at most ``IDENTIFIED`` of the
  range, *weakly identified* up to ``WEAK``, else *free*;
- ``conflicts.csv``: per pair of targets, the share of the prior space where
  each, and both, are non-implausible (every check of a target at most 3);
  a pair whose targets are each met somewhere but never together *conflicts*;
- ``loto.csv``: leave one target out: the region where all other checks match
  (second-largest implausibility at most 3), and whether the left-out target is met
  there (pass: in at least half of that region), with its predicted statistic;
- ``region.png`` (pairwise optical depth below the diagonal, minimum implausibility
  above it), ``waves.png`` and ``report.md``;
- last, ``history.json``: the run's summary with the size and checksum of each file
  above (the record that the run finished; ``calibrate.verify`` checks it).

These analyses use *global* emulators, fitted on every design point of every
wave, over a Latin hypercube of the whole prior space plus the final region sample.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from simulation.model.parameters import SPECS
from simulation.style import apply_theme
from simulation.sweep.store import file_record, write_bytes_atomic
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.emulator import (
    CUTOFF,
    MD_FRACTION,
    Emulator,
    implausibility_matrix,
    observation,
    second_largest,
)
from simulation.validation.calibrate.history import (
    FIRST_WAVE_FACTOR,
    STOP_SHARE,
    Settings,
    _json,
    _write_csv,
    fit_wave,
    latin_hypercube,
    non_implausible,
    read_points,
)

#: Identifiability classes by the share of the prior range the final region spans.
IDENTIFIED, WEAK = 0.5, 0.9
#: Most parameters in the pairwise figure (the most constrained first).
PAIR_PARAMETERS = 6
#: A left-out target passes when it is met in at least this share of the region matched by the others.
LOTO_PASS = 0.5
#: The run's summary, written last (the record that it finished), and the report files it records.
HISTORY = "history.json"
REPORT_FILES = ("identifiability.csv", "conflicts.csv", "loto.csv", "region.png", "waves.png", "report.md")


def _save(fig: plt.Figure, path: Path) -> None:
    """Save a PNG deterministically (no date in the metadata), atomically."""
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def wave_figure(
    settings: Settings,
    where: Path,
    wave: int,
    x: np.ndarray,
    records: list[dict[str, Any]],
    emulators: dict[str, Emulator],
    diagnostics: pd.DataFrame,
    waves: list[dict[str, Emulator]],
) -> None:
    """``wave.png``: the emulators' leave-one-out standardised errors, and the design points' implausibility."""
    apply_theme()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.8, 5.6), gridspec_kw={"width_ratios": [3, 2]})
    names = list(emulators)
    for j, name in enumerate(names):
        mean, sd = emulators[name].loo()
        errors = (emulators[name].y - mean) / sd
        left.scatter(np.full(len(errors), j), errors, s=10, alpha=0.6, color="#33658a")
    for level in (-2, 2):
        left.axhline(level, color="#c0392b", lw=1, ls="--")
    left.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    left.set_ylabel("leave-one-out standardised error")
    coverage = diagnostics["coverage_2sd"].mean() if len(diagnostics) else float("nan")
    left.set_title(f"Wave {wave}: emulator diagnostics (mean coverage within ±2 SD: {coverage:.0%})")
    _, worst = non_implausible(settings, waves, x)
    passed = np.array([all(c["passed"] for c in r["checks"].values()) for r in records])
    bins = np.linspace(0, max(6.0, float(np.nanmax(np.minimum(worst, 20))) if len(worst) else 6.0), 25)
    right.hist(np.minimum(worst[~passed], 20), bins=bins, color="#999999", label="fails a check (simulated)")
    right.hist(np.minimum(worst[passed], 20), bins=bins, color="#33658a", label="passes every check")
    right.axvline(CUTOFF, color="#c0392b", lw=1.5, ls="--", label=f"cut-off {CUTOFF:g}")
    right.set_xlabel("second-largest implausibility (worst over waves so far)")
    right.set_ylabel("design points")
    right.set_title(f"{len(x)} design points of wave {wave}")
    right.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, where / "wave.png")


def global_emulators(settings: Settings, folder: Path, n_waves: int) -> dict[str, Emulator]:
    """Emulators fitted on every design point of every wave (for the analyses over the whole space)."""
    xs, records = [], []
    for wave in range(1, n_waves + 1):
        x, recs = read_points(settings, folder, wave)
        keep = [i for i, r in enumerate(recs) if r is not None]
        xs.append(x[keep])
        records += [recs[i] for i in keep]
    return fit_wave(settings, np.concatenate(xs), records, 0)


def identifiability(settings: Settings, region: np.ndarray) -> pd.DataFrame:
    """Per parameter: the share of its prior range spanned by the final region, and the class."""
    rows = []
    for i, axis in enumerate(settings.axes):
        if len(region):
            span = float(region[:, i].max() - region[:, i].min())
            q05, q95 = np.quantile(region[:, i], [0.05, 0.95])
            low, high = float(axis.value(region[:, i].min())), float(axis.value(region[:, i].max()))
            kind = "identified" if span <= IDENTIFIED else "weakly identified" if span <= WEAK else "free"
        else:
            span, q05, q95, low, high, kind = np.nan, np.nan, np.nan, np.nan, np.nan, "no region"
        rows.append(
            {
                "parameter": axis.name,
                "prior_low": axis.low,
                "prior_high": axis.high,
                "log_scale": axis.log,
                "default": float(SPECS[axis.name].default),
                "region_low": low,
                "region_high": high,
                "share_of_range": span,
                "central_90_share": float(q95 - q05),
                "class": kind,
            }
        )
    return pd.DataFrame(rows)


def _check_groups(settings: Settings) -> dict[str, list[str]]:
    """Each target's matched checks, and each left-out check as a group of its own.

    A target whose every check is left out is reported by those checks alone.
    """
    groups = {t: [c for c in settings.matched if targets_module.TARGET_OF[c].id == t] for t in settings.targets}
    return {**{t: checks for t, checks in groups.items() if checks}, **{c: [c] for c in settings.left_out}}


def _target_implausibility(settings: Settings, matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per group of ``_check_groups``, the largest implausibility over its checks (0 where none is emulated).

    A left-out check stands as a target of its own, so the conflicts table says what it pulls against.
    """
    out = {}
    for name, checks in _check_groups(settings).items():
        block = matrix[:, [settings.checks.index(c) for c in checks]]
        out[name] = np.where(np.all(np.isnan(block), axis=1), 0.0, np.nanmax(np.where(np.isnan(block), -1, block), 1))
    return out


def conflicts(settings: Settings, per_target: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per pair of targets: where each, and both, are non-implausible; conflicting if never both."""
    rows = []
    names = list(per_target)
    for a_index, a in enumerate(names):
        for b in names[a_index + 1 :]:
            ok_a, ok_b = per_target[a] <= CUTOFF, per_target[b] <= CUTOFF
            both = ok_a & ok_b
            rows.append(
                {
                    "target_a": a,
                    "target_b": b,
                    "share_a": float(ok_a.mean()),
                    "share_b": float(ok_b.mean()),
                    "share_both": float(both.mean()),
                    "intersect": bool(both.any()),
                    "conflict": bool(ok_a.any() and ok_b.any() and not both.any()),
                }
            )
    return pd.DataFrame(
        rows, columns=["target_a", "target_b", "share_a", "share_b", "share_both", "intersect", "conflict"]
    )


def leave_one_target_out(
    settings: Settings, emulators: dict[str, Emulator], x: np.ndarray, matrix: np.ndarray,
    per_target: dict[str, np.ndarray],
) -> pd.DataFrame:  # fmt: skip
    """Match on every target but one, predict the left-out one from the emulators: pass or fail.

    A check left out of the matching (``Settings.left_out``) gets a row of its own, predicted from the region
    of every matched check.
    """
    rows = []
    for target, own in _check_groups(settings).items():
        others = [settings.checks.index(c) for c in settings.matched if c not in own]
        region = second_largest(matrix[:, others]) <= CUTOFF if others else np.ones(len(x), bool)
        first = own[0]
        check = targets_module.CHECKS[first]
        predicted = (np.nan, np.nan, np.nan)
        if first in emulators and region.any():
            mu, _, _ = emulators[first].predict(x[region])
            predicted = tuple(float(v) for v in np.quantile(mu, [0.5, 0.05, 0.95]))
        share = float(np.mean(per_target[target][region] <= CUTOFF)) if region.any() else np.nan
        verdict = "no region" if not region.any() else "pass" if share >= LOTO_PASS else "fail"
        rows.append(
            {
                "target": target,
                "region_share": float(region.mean()),
                "met_share": share,
                "check": first,
                "published": check.published_text(),
                "predicted_median": predicted[0],
                "predicted_q05": predicted[1],
                "predicted_q95": predicted[2],
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def region_figure(settings: Settings, x: np.ndarray, worst: np.ndarray, ident: pd.DataFrame, path: Path) -> None:
    """Pairwise optical depth (below the diagonal) and minimum implausibility (above) of the most constrained axes."""
    apply_theme()
    order = ident.sort_values("share_of_range", na_position="last").index[:PAIR_PARAMETERS].tolist()
    k = len(order)
    bins = int(max(5, min(20, np.sqrt(len(x) / 20))))
    fig, axes = plt.subplots(k, k, figsize=(12.8, 7.2) if k > 1 else (6.4, 5), squeeze=False)
    ok = worst <= CUTOFF
    edges = np.linspace(0, 1, bins + 1)
    depth_image = minimum_image = None
    for row, i in enumerate(order):
        for col, j in enumerate(order):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if row == col:
                ax.hist(x[ok, i], bins=edges, color="#33658a")
                ax.set_xlim(0, 1)
            else:
                ix = np.clip(np.digitize(x[:, j], edges) - 1, 0, bins - 1)
                iy = np.clip(np.digitize(x[:, i], edges) - 1, 0, bins - 1)
                count = np.zeros((bins, bins))
                hits = np.zeros((bins, bins))
                least = np.full((bins, bins), np.nan)
                np.add.at(count, (iy, ix), 1)
                np.add.at(hits, (iy, ix), ok)
                for a, b, v in zip(iy, ix, worst, strict=True):
                    least[a, b] = v if np.isnan(least[a, b]) else min(least[a, b], v)
                if row > col:
                    depth = np.divide(hits, count, out=np.zeros_like(hits), where=count > 0)
                    depth_image = ax.imshow(depth, origin="lower", extent=(0, 1, 0, 1), vmin=0, vmax=1,
                                            cmap="viridis", aspect="auto")  # fmt: skip
                else:
                    minimum_image = ax.imshow(np.minimum(least, 2 * CUTOFF), origin="lower", extent=(0, 1, 0, 1),
                                              vmin=0, vmax=2 * CUTOFF, cmap="magma_r", aspect="auto")  # fmt: skip
            if row == k - 1:
                ax.set_xlabel(settings.axes[j].name, fontsize=7)
            if col == 0:
                ax.set_ylabel(settings.axes[i].name, fontsize=7)
    fig.suptitle(
        "Non-implausible region: optical depth (share non-implausible, lower left), minimum implausibility "
        f"(upper right; cut-off {CUTOFF:g}); axes 0-1 of each search range",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 0.9, 0.95))
    if depth_image is not None:
        fig.colorbar(depth_image, cax=fig.add_axes((0.91, 0.52, 0.015, 0.38)), label="optical depth")
    if minimum_image is not None:
        fig.colorbar(minimum_image, cax=fig.add_axes((0.91, 0.08, 0.015, 0.38)), label="min. implausibility")
    _save(fig, path)


def waves_figure(summaries: list[dict[str, Any]], path: Path) -> None:
    """Region volume per wave (log scale) and the share of design points passing every check by simulation."""
    apply_theme()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.8, 4.8))
    numbers = [s["wave"] for s in summaries]
    volumes = [max(s["volume"], 1e-12) for s in summaries]
    left.semilogy(numbers, volumes, marker="o", color="#33658a")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _pos: f"{value:.3g}")
    left.yaxis.set_major_formatter(plain)
    left.yaxis.set_minor_formatter(plain)
    left.set_xticks(numbers)
    left.set_xlabel("wave")
    left.set_ylabel("share of the prior space non-implausible")
    left.set_title("The region by wave")
    right.bar(numbers, [s["passed_all"] / max(s["design_points"], 1) for s in summaries], color="#33658a")
    right.set_xticks(numbers)
    right.set_ylim(0, 1)
    right.set_xlabel("wave")
    right.set_ylabel("share of design points")
    right.set_title("Design points passing every check (simulated)")
    fig.tight_layout()
    _save(fig, path)


def write_history_report(
    settings: Settings,
    folder: Path,
    waves: list[dict[str, Emulator]],
    summaries: list[dict[str, Any]],
    region: np.ndarray,
    ensemble: dict[str, Any],
) -> dict[str, Any]:
    """The analyses, figures and ``report.md``; returns the run's summary (also ``history.json``)."""
    emulators = global_emulators(settings, folder, len(summaries))
    d = len(settings.axes)
    x = np.concatenate([latin_hypercube(settings, settings.candidates, np.zeros(d), np.ones(d), 0, 5), region])
    observations = {c: observation(targets_module.CHECKS[c]) for c in settings.checks}
    matrix = implausibility_matrix(emulators, observations, x, settings.check_replications, settings.checks)
    per_target = _target_implausibility(settings, matrix)
    ident = identifiability(settings, region)
    pairs = conflicts(settings, per_target)
    loto = leave_one_target_out(settings, emulators, x, matrix, per_target)
    _write_csv(folder / "identifiability.csv", ident)
    _write_csv(folder / "conflicts.csv", pairs)
    _write_csv(folder / "loto.csv", loto)
    full = x[: settings.candidates]
    _, worst = non_implausible(settings, waves, full)
    region_figure(settings, full, worst, ident, folder / "region.png")
    waves_figure(summaries, folder / "waves.png")
    summary = {
        "waves": len(summaries),
        "stop": summaries[-1]["stop"],
        "volume": summaries[-1]["volume"],
        "identifiability": dict(zip(ident["parameter"], ident["class"], strict=True)),
        "conflicts": [f"{r.target_a}-{r.target_b}" for r in pairs.itertuples() if r.conflict],
        "loto": dict(zip(loto["target"], loto["verdict"], strict=True)),
        "ensemble": ensemble,
    }
    write_bytes_atomic(folder / "report.md", report_text(settings, summaries, ident, pairs, loto, ensemble).encode())
    summary["files"] = {name: file_record(folder, name) for name in REPORT_FILES}
    write_bytes_atomic(folder / HISTORY, _json(summary))
    return summary


def _g(value: Any, fmt: str = ".3g") -> str:
    return "-" if value is None or (isinstance(value, float) and not np.isfinite(value)) else format(value, fmt)


def _left_out_text(settings: Settings) -> list[str]:
    """The sentence on checks left out of the matching (none without ``--leave-out``)."""
    if not settings.left_out:
        return []
    return [
        "",
        f"Left out of the matching (run, emulated and reported, not matched; `--leave-out`): "
        f"{', '.join(settings.left_out)}. The region and the ensemble's members ignore them; the conflicts table "
        "treats each as a target of its own and the leave-one-target-out table predicts it from the region of "
        "every matched check.",
    ]


def report_text(
    settings: Settings,
    summaries: list[dict[str, Any]],
    ident: pd.DataFrame,
    pairs: pd.DataFrame,
    loto: pd.DataFrame,
    ensemble: dict[str, Any],
) -> str:
    """``report.md`` of a history matching."""
    lines = [
        "# History matching",
        "",
        f"{len(settings.axes)} parameters, {len(settings.checks)} checks of {len(settings.targets)} targets "
        f"({', '.join(settings.targets)}); {settings.points} design points per wave (wave 1: "
        f"{FIRST_WAVE_FACTOR * settings.points}), "
        f"{settings.replications} "
        f"replications each on common random numbers (root seed {settings.seed}); at most {settings.waves} waves. "
        f"Stopped after wave {len(summaries)}: {summaries[-1]['stop'] or 'n/a'}.",
        *_left_out_text(settings),
        "",
        "## Method",
        "",
        "Implausibility of a parameter set for a check: |z - mu| / sqrt(V_obs + V_rep + V_em + V_md), with mu and "
        "V_em the emulator's mean and variance (a Gaussian process per check, scikit-learn), V_rep the replication "
        "variance of the statistic (emulated too; divided by the check's "
        f"{settings.check_replications} replications where the pass rule reads a median: range and direction), "
        "V_obs the published CI, band or range read as ±1.96 SD, and V_md the model discrepancy, "
        f"({MD_FRACTION:g} x the check's scale)^2 (an assumption). Direction checks are one-sided (only the wrong sign "
        f"counts). A parameter set is non-implausible when the second-largest implausibility is at most {CUTOFF:g} "
        "under every wave's emulators. Waves stop when the region keeps more than "
        f"{STOP_SHARE:.0%} of the previous wave's volume, is empty, or at the wave limit.",
        "",
        "## Waves",
        "",
        "| wave | design points | pass every matched check | emulated checks | LOO coverage (±2 SD) "
        "| region (share of prior) | kept from last |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['wave']} | {s['design_points']} | {s['passed_all']} | {s['emulated']} | "
            f"{_g(s['coverage_2sd'], '.0%')} "
            f"| {s['volume']:.3g} | {s['shrink']:.0%} |"
        )
    lines += [
        "",
        "Per wave: `wave-NN/diagnostics.csv` (leave-one-out standardised errors, coverage, Q2, kernel), "
        "`wave-NN/wave.png`. ![waves](waves.png)",
        "",
        "## What the targets say about the parameters",
        "",
        f"Share of each parameter's prior range the final region spans: identified <= {IDENTIFIED:g}, weakly "
        f"identified <= {WEAK:g}, else free.",
        "",
        "| parameter | prior range | default | region | share of range | central 90% | class |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ident.to_dict("records"):
        lines.append(
            f"| {r['parameter']} | {r['prior_low']:g}-{r['prior_high']:g}{' (log)' if r['log_scale'] else ''} | "
            f"{r['default']:g} | {_g(r['region_low'])}-{_g(r['region_high'])} | {_g(r['share_of_range'], '.0%')} | "
            f"{_g(r['central_90_share'], '.0%')} | {r['class']} |"
        )
    conflicting = pairs[pairs["conflict"]]
    lines += [
        "",
        "![region](region.png)",
        "",
        "### Targets that pull against each other",
        "",
        "Per pair of targets, whether some parameter set meets both (every check of each at most "
        f"{CUTOFF:g}; global emulators over the whole prior space; `conflicts.csv`). "
        + (
            "**Conflicting:** " + ", ".join(f"{r.target_a} and {r.target_b}" for r in conflicting.itertuples()) + "."
            if len(conflicting)
            else "No pair conflicts."
        ),
        "",
        "### Leave one target out",
        "",
        f"Match on every other target, predict the left-out one from the emulators: pass when it is met in at least "
        f"{LOTO_PASS:.0%} of the region the others leave.",
        "",
        "| target | region of the others | met there | check | published | predicted median [5%, 95%] | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in loto.itertuples():
        lines.append(
            f"| {r.target} | {_g(r.region_share)} | {_g(r.met_share, '.0%')} | {r.check} | {r.published} | "
            f"{_g(r.predicted_median)} [{_g(r.predicted_q05)}, {_g(r.predicted_q95)}] | {r.verdict} |"
        )
    lines += ["", "## Ensemble", "", *ensemble_text(ensemble)]
    return "\n".join(lines) + "\n"


def ensemble_text(ensemble: dict[str, Any]) -> list[str]:
    """The report's lines on the ensemble: where its members came from, and their spread per parameter."""
    if not ensemble:
        return ["No ensemble was built."]
    draws, walk = ensemble.get("region_draws") or {}, ensemble.get("walk") or {}
    lines = [
        f"Checked by simulation: {ensemble['check_replications']} replications per study, root seed "
        f"{ensemble['check_seed']} (the validation's, out of sample for the matching); a member passes every "
        "matched check.",
        "",
        f"- **Draws from the final region:** {draws.get('passed', 0)} of {draws.get('checked', 0)} passed.",
    ]
    if walk.get("steps") or walk.get("defaults_checked"):
        start = "the passing draws"
        if walk.get("defaults_checked"):
            verdict = "they pass" if walk["defaults_pass"] else "they fail: no walk from them"
            start += f" and the defaults ({verdict})"
        lines.append(
            f"- **The walk** ({walk['chains']} chains, steps of SD {walk['step_sd']:g} on the unit cube; started from "
            f"{start}): {walk['steps']} steps, {walk['outside_prior']} outside the prior "
            f"refused, {walk['passed']} of {walk['checked']} simulated proposals passed "
            f"({_g(walk['acceptance'], '.0%')})."
        )
    if not ensemble.get("members"):
        return [*lines, "", "No candidate passed every matched check by simulation; no ensemble "
                "(`ensemble_checked.csv`)."]  # fmt: skip
    lines += [
        "",
        f"**{ensemble['members']} of {ensemble['wanted']} members** wanted. Central member: "
        f"{ensemble['central_member']} (closest to the members' per-parameter medians). `ensemble.csv` holds the "
        "members in a random order, `ensemble_checked.csv` every simulated candidate, `ensemble.json` the counts.",
        "",
        "| parameter | members' median | central 90% | share of its prior range |",
        "|---|---|---|---|",
    ]
    for name, s in ensemble.get("spread", {}).items():
        share = _g(s["share_of_range"], ".0%")
        lines.append(f"| {name} | {_g(s['median'])} | [{_g(s['q05'])}, {_g(s['q95'])}] | {share} |")
    return lines


def read_summary(folder: str | Path) -> dict[str, Any]:
    """The summary of a finished history matching (``history.json``)."""
    return json.loads((Path(folder) / HISTORY).read_text())
