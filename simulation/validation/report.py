"""The validation report: ``report.md``, one figure per target, and the numbers as CSV.

``write_report`` takes the table of ``runner.run_validation`` and writes into
one folder: ``report.md`` (one row per check with the published value, the
simulated median and 90% interval and pass/fail, then a paragraph per failing
check on why it fails and which parameters move it), ``results.csv`` (the
table), ``replications.csv`` (every replication's value of every checked
statistic) and ``figures/<target>.png`` (the simulated sampling distribution of
each statistic with the published value, interval, band or range marked, and 0
for direction checks). A report of a subset of the targets (``--only``) says
which targets were run; every report says which design file each study ran
with and, for an edited copy, how it differs from the shipped design, and
names the informant channels (``run/channels.py``) each target's studies read.
Held-out targets (``Target.held_out``: out of sample for a calibration on T1-T14)
are marked "held out" in every table and counted apart in the summary line.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from simulation.run.channels import CHANNELS
from simulation.validation.checks import DIRECTION, POINT, RANGE, Check
from simulation.validation.runner import study_summary
from simulation.validation.studies import STUDIES
from simulation.validation.targets import CHECKS, HELD_OUT, TARGETS

PASS_COLOR, FAIL_COLOR = "#1a7f37", "#cf222e"


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.1f}"


def simulated_text(row: pd.Series) -> str:
    """``median [q05, q95]`` of a result row."""
    return f"{_fmt(row['median'])} [{_fmt(row['q05'])}, {_fmt(row['q95'])}]"


def _held_out(row: pd.Series) -> bool:
    """Whether a result row belongs to a held-out target (also for tables without the column)."""
    return bool(row.get("held_out", row["target"] in HELD_OUT))


def _held_out_rows(table: pd.DataFrame) -> pd.Series:
    """Which rows of a result table belong to held-out targets."""
    if "held_out" in table:
        return table["held_out"].astype(bool)
    return table["target"].isin(HELD_OUT)


def format_table(table: pd.DataFrame) -> str:
    """The result table as aligned plain text (what ``rupture-sim validate`` prints)."""
    header = ("check", "published", "simulated median [5%, 95%]", "pass", "statistic")
    rows = [
        (
            r["check"],
            r["published"],
            simulated_text(r),
            ("PASS" if r["passed"] else "FAIL") + (" (held out)" if _held_out(r) else ""),
            r["statistic"],
        )
        for _, r in table.iterrows()
    ]
    widths = [max(len(str(x[i])) for x in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(x[:-1], widths, strict=True)) + "  " + x[-1] for x in [header, *rows]
    ]
    return "\n".join(lines)


def _counts(table: pd.DataFrame) -> str:
    targets = table.groupby("target", sort=False)["target_passed"].first()
    return (
        f"{int(table['passed'].sum())} of {len(table)} checks pass; "
        f"{int(targets.sum())} of {len(targets)} targets pass all their checks"
    )


def summary_line(table: pd.DataFrame) -> str:
    """How many checks and targets pass: the calibrated targets, then the held-out ones apart."""
    held = _held_out_rows(table)
    if not held.any():
        return _counts(table) + "."
    ids = ", ".join(dict.fromkeys(table.loc[held, "target"]))
    held_text = f"held out ({ids}; out of sample for a calibration on the others): {_counts(table[held])}."
    if held.all():
        return held_text[0].upper() + held_text[1:]
    return f"{_counts(table[~held])}; {held_text}"


def diagnosis(check: Check, row: pd.Series) -> str:
    """Why a check fails, in one paragraph: where the simulated values lie, and what moves them."""
    med, q05, q95 = row["median"], row["q05"], row["q95"]
    if row["n_valid"] * 2 <= row["replications"]:
        where = (
            f"the statistic is undefined in {row['replications'] - row['n_valid']} of "
            f"{row['replications']} replications (too few cases in the virtual sample)."
        )
    elif check.rule == DIRECTION:
        want = "positive" if check.sign > 0 else "negative"
        where = (
            f"the median {_fmt(med)} is not {want} (90% interval [{_fmt(q05)}, {_fmt(q95)}]); "
            "the model does not produce this direction with these parameters."
        )
    elif check.rule == RANGE:
        lo, hi = check.interval
        side = "below" if med < lo else "above"
        where = f"the median {_fmt(med)} lies {side} the published range {lo:g}-{hi:g}."
    else:
        lo, hi = (check.published, check.published) if check.rule == POINT else check.interval
        side = "too high" if q05 > hi else "too low"
        ref = f"{check.published:g}" if check.rule == POINT else f"the band {lo:g}-{hi:g}"
        where = (
            f"the simulated statistic is {side}: median {_fmt(med)}, 90% interval [{_fmt(q05)}, {_fmt(q95)}] "
            f"does not reach {ref}."
        )
    levers = f" Parameters that move it: {check.levers}." if check.levers else ""
    companions = f" Companion statistics (medians): {row['companions']}." if row.get("companions") else ""
    return f"**{check.id}** ({check.label}): {where}{companions}{levers}"


def _markdown_table(table: pd.DataFrame) -> list[str]:
    lines = [
        "| target | check | finding / statistic | published | rule | simulated median [5%, 95%] | pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        verdict = "**pass**" if r["passed"] else "**FAIL**"
        target = f"{r['target']} (held out)" if _held_out(r) else r["target"]
        lines.append(
            f"| {target} | {r['check']} | {r['statistic']} | {r['published']} | {r['rule']} | "
            f"{simulated_text(r)} | {verdict} |"
        )
    return lines


def target_channels(table: pd.DataFrame) -> dict[str, list[str]]:
    """The informant channels each target's studies read (from the designs they ran with), in channel order."""
    found: dict[str, set[str]] = {}
    for study in _studies_meta(table):
        for target in study["targets"]:
            found.setdefault(target, set()).update(study.get("channels", ()))
    return {target: [c for c in CHANNELS if c in names] for target, names in found.items()}


def _target_lines(table: pd.DataFrame) -> list[str]:
    lines = ["| target | finding | channels | confidence | checks passed | target |", "|---|---|---|---|---|---|"]
    channels = target_channels(table)
    for target in TARGETS:
        rows = table[table["target"] == target.id]
        if not len(rows):
            continue
        ok = bool(rows["passed"].all())
        name = f"{target.id} (held out)" if target.held_out else target.id
        lines.append(
            f"| {name} | {target.finding} ({target.published}; {target.source}) | "
            f"{', '.join(channels.get(target.id, []))} | {target.confidence} | "
            f"{int(rows['passed'].sum())}/{len(rows)} | {'pass' if ok else '**FAIL**'} |"
        )
    return lines


def targets_run(table: pd.DataFrame) -> tuple[list[str], bool]:
    """The targets a validation table covers, and whether they are a subset of all the targets."""
    meta = table.attrs.get("meta", {})
    targets = meta.get("targets") or list(dict.fromkeys(table["target"]))
    return list(targets), bool(meta.get("subset", len(targets) < len(TARGETS)))


def targets_line(table: pd.DataFrame) -> str:
    """Which targets were run, in one sentence (what the report and the command line say)."""
    targets, subset = targets_run(table)
    if not subset:
        return f"Targets run: all {len(TARGETS)} ({_all_ids()})."
    return (
        f"Targets run: {', '.join(targets)} only (a subset of {_all_ids()}); the other targets were not run "
        "and are not part of this report."
    )


def _all_ids() -> str:
    """``T1-T17``: the first and last target id."""
    return f"{TARGETS[0].id}-{TARGETS[-1].id}"


def _studies_meta(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The studies of the report with their design files (from the run's meta, else the shipped designs)."""
    meta = table.attrs.get("meta", {})
    if meta.get("studies"):
        return list(meta["studies"])
    targets = set(targets_run(table)[0])
    return [study_summary(name) for name, study in STUDIES.items() if targets & set(study.targets)]


def _design_text(study: Mapping[str, Any]) -> str:
    """Which design file a study ran with and, for another file, how it differs from the shipped one."""
    if study["shipped"]:
        return f"Design file `simulation/validation/designs/{Path(str(study['file'])).name}` (shipped)."
    changes = "; ".join(study["changes"])
    if not changes:
        return f"Design file `{study['file']}` (`--design`; the same design values as the shipped file)."
    return f"Design file `{study['file']}` (`--design`), which differs from the shipped design in: {changes}."


def _command(table: pd.DataFrame) -> str:
    """The ``rupture-sim validate`` options that select what this report covers."""
    meta = table.attrs.get("meta", {})
    targets, subset = targets_run(table)
    command = "rupture-sim validate" + (" --quick" if meta.get("quick") else "")
    if subset:
        command += f" --only {','.join(targets)}"
    for study in _studies_meta(table):
        if not study["shipped"]:
            command += f" --design {study['file']}"
    return command


def write_markdown(table: pd.DataFrame, path: Path, figures: dict[str, Path]) -> Path:
    """Write ``report.md``."""
    meta = table.attrs.get("meta", {})
    params = meta.get("params") or {}
    settings = ", ".join(f"{k}={v:g}" for k, v in params.items()) or "the defaults (no overrides)"
    targets, subset = targets_run(table)
    scope = f"{', '.join(targets)} of {_all_ids()}" if subset else _all_ids()
    lines = [
        f"# Validation: virtual studies of the published findings ({scope})",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{_command(table)}`: "
        f"{meta.get('replications', '?')} replications per study, "
        f"root seed {meta.get('seed', '?')}, parameters: {settings}, size factor {meta.get('size_factor', 1):g}, "
        f"{meta.get('workers', '?')} workers, {meta.get('seconds', math.nan):.1f} s.",
        "",
        f"**{targets_line(table)}**",
        "",
        f"**{summary_line(table)}**",
        "",
        "Each virtual study reproduces a published design (sample size, diagnosis mix, course length, coded "
        "sessions, who reports), declared in its experiment file (`simulation/validation/designs/`), and computes "
        "the statistic the paper reports, read through the informant channels the paper read (*channels*: "
        "observer coding, patient or therapist questionnaires, the symptom scale, the attendance record; "
        "`latent` is the model's truth, which no study could observe; MODEL.md section 7.6); replications differ "
        "only in their seed. Pass rules, fixed before "
        "running (`simulation/validation/targets.py`): **point** — the "
        "published value lies inside the central 90% of the simulated sampling distribution; **band** (soft "
        "numbers) — the stated band around the published value overlaps the central 90%; **range** — the "
        "simulated median lies inside the published range; **direction** — the median has the stated sign. "
        "A target passes when all its checks pass.",
        "",
        f"Targets marked **held out** ({', '.join(HELD_OUT)}) are counted apart: a calibration neither runs nor "
        "scores them unless it is asked to (`calibrate --with-held-out`; the defaults' first calibration left them "
        "out, the second fitted them). Their designs and pass rules were written down before they were first run "
        "(the one later change, T15d's, is said in its design file).",
        "",
        "## Targets",
        "",
        *_target_lines(table),
        "",
        "## Checks",
        "",
        *_markdown_table(table),
        "",
    ]
    failing = table[~table["passed"]]
    lines += ["## Why the failing checks fail", ""]
    if len(failing):
        for _, r in failing.iterrows():
            lines += [diagnosis(CHECKS[r["check"]], r), ""]
    else:
        lines += ["Every check passes.", ""]
    with_companions = table[table["companions"].astype(bool)] if "companions" in table else table.iloc[:0]
    if len(with_companions):
        lines += ["## Companion statistics (medians)", ""]
        lines += [f"- {r['check']}: {r['companions']}" for _, r in with_companions.iterrows()]
        lines += [""]
    lines += ["## Study designs", ""]
    for study in _studies_meta(table):
        lines.append(
            f"- **{study['name']}** ({', '.join(study['targets'])}; {study['source']}): {study['description']} "
            f"Channels: {', '.join(study.get('channels', ())) or 'not recorded'}. {_design_text(study)}"
        )
    lines += ["", "## Figures", ""]
    for target_id, fig in figures.items():
        lines.append(f"![{target_id}](figures/{fig.name})")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def _bins(values: np.ndarray) -> dict[str, object]:
    """Histogram settings: one bar per lattice step for statistics with few possible values, else a density curve."""
    uniq = np.unique(values)
    if len(uniq) > 1:
        step = float(np.min(np.diff(uniq)))
        if (uniq[-1] - uniq[0]) / step <= 40:
            return {"binwidth": step, "binrange": (uniq[0] - step / 2, uniq[-1] + step / 2)}
    return {"kde": len(uniq) > 1}


def _panel(ax: plt.Axes, check: Check, row: pd.Series) -> None:
    values = np.asarray(row["values"], dtype=float)
    values = values[np.isfinite(values)]
    color = PASS_COLOR if row["passed"] else FAIL_COLOR
    marks: list[float] = []
    if len(values):
        sns.histplot(values, ax=ax, stat="density", color="#4c72b0", alpha=0.45, edgecolor="white", **_bins(values))
        ax.axvspan(row["q05"], row["q95"], color="#4c72b0", alpha=0.12, label="simulated 5-95%")
        ax.axvline(row["median"], color="#4c72b0", lw=2, label=f"simulated median {_fmt(row['median'])}")
        marks += [row["q05"], row["q95"]]
    if check.rule == DIRECTION:
        ax.axvline(0.0, color="black", ls="--", lw=1.5, label=f"0 (expected sign {'+' if check.sign > 0 else '-'})")
        marks.append(0.0)
    elif check.rule == RANGE:
        lo, hi = check.interval
        ax.axvspan(lo, hi, color=FAIL_COLOR, alpha=0.15, label=f"published range {lo:g}-{hi:g}")
        marks += [lo, hi]
    else:
        ax.axvline(check.published, color=FAIL_COLOR, lw=2, label=f"published {check.published:.3g}")
        marks.append(check.published)
        if check.interval is not None:
            lo, hi = check.interval
            kind = "published 95% CI" if check.rule == POINT else "band (soft value)"
            ax.axvspan(lo, hi, color="#dd8452", alpha=0.2, label=f"{kind} {lo:g} to {hi:g}")
            marks += [lo, hi]
    finite = [m for m in marks if math.isfinite(m)]
    if finite:
        lo, hi = min(finite), max(finite)
        if len(values):
            lo, hi = min(lo, values.min()), max(hi, values.max())
        pad = 0.08 * (hi - lo) if hi > lo else 1.0
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_title(f"{check.id}: {'PASS' if row['passed'] else 'FAIL'} ({check.rule})", color=color, fontweight="bold")
    ax.set_xlabel("\n".join(textwrap.wrap(check.label, 42)), fontsize=9)
    ax.set_ylabel("density")
    ax.legend(fontsize=7, loc="best", framealpha=0.8)


def plot_target(table: pd.DataFrame, target_id: str, path: Path) -> Path:
    """One figure for a target: a panel per check with the simulated distribution and the published value."""
    rows = table[table["target"] == target_id]
    target = next(t for t in TARGETS if t.id == target_id)
    n = len(rows)
    width = max(6.0, 4.6 * n)
    fig, axes = plt.subplots(1, n, figsize=(width, 4.4), squeeze=False)
    for ax, (_, row) in zip(axes[0], rows.iterrows(), strict=True):
        _panel(ax, CHECKS[row["check"]], row)
    reps = int(rows["replications"].iloc[0])
    title = f"{target.id}: {target.finding} ({reps} replications)"
    fig.suptitle("\n".join(textwrap.wrap(title, int(11 * width))), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(table: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``report.md``, ``results.csv``, ``replications.csv`` and ``figures/<target>.png`` into ``out``.

    Target figures of an earlier report in the same folder (``figures/T<n>.png``) that this
    report does not have, e.g. after a run of a subset of the targets, are removed, so that
    the folder holds one consistent report.

    Returns:
        The paths written.
    """
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    with sns.axes_style("whitegrid"):
        figures = {
            tid: plot_target(table, tid, out / "figures" / f"{tid}.png") for tid in dict.fromkeys(table["target"])
        }
    for old in (out / "figures").glob("T*.png"):
        if re.fullmatch(r"T\d+\.png", old.name) and old not in figures.values():
            old.unlink()
    results = out / "results.csv"
    table.drop(columns="values").to_csv(results, index=False)
    replications = out / "replications.csv"
    frame = pd.DataFrame({r["check"]: np.asarray(r["values"], dtype=float) for _, r in table.iterrows()})
    frame.index.name = "replication"
    frame.to_csv(replications)
    report = write_markdown(table, out / "report.md", figures)
    return [report, results, replications, *figures.values()]
