"""Comparisons and virtual trials across a parameter ensemble: ``compare --ensemble N``, ``trial --ensemble N``.

Each member (``simulation.validation.ensemble.load_ensemble``) reruns the spec
with its parameter values under every scenario or arm: a scenario's own
``params`` and the parameters its presets set win (they are the experiment),
the member fills the rest. Every member runs on the spec's seeds (common random
numbers across members too), into ``<out>/ensemble/member-NNN/`` (resumable).

Verdicts, written before the run:

- compare: the alternative differs from the reference in the direction of the
  estimate at the defaults, its paired 95% CI excluding 0;
- trial: power of at least 0.80 at that size.

Reported beside the defaults' Monte Carlo CI: the members' estimates (median and
5th to 95th percentile across members) and the share of members for which the
verdict holds, in ``ensemble.csv`` and ``ensemble.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.explore.compare import CompareSpec, analyze, compute_replication
from simulation.explore.model_function import Scenario
from simulation.explore.store import load_table, run_tasks
from simulation.explore.trial import SimulatedStudy, TrialSpec, compute_block, power_table
from simulation.model.presets import preset_values
from simulation.sweep.store import write_bytes_atomic
from simulation.validation.ensemble import spread

#: Power a trial needs for its verdict to hold.
POWER_WANTED = 0.8


def member_scenario(scenario: Scenario, member: dict[str, float]) -> Scenario:
    """A scenario under a member: the member's values where neither the scenario's params nor its presets set one."""
    fixed = set(scenario.params)
    for kind, choice in (("population", scenario.population), ("therapist", scenario.therapists)):
        fixed |= set(preset_values(kind, choice) if isinstance(choice, str) else choice)
    return replace(scenario, params={**{k: v for k, v in member.items() if k not in fixed}, **scenario.params})


def _folder(folder: Path, member: int) -> Path:
    return folder / "ensemble" / f"member-{member:03d}"


def compare_across(
    spec: CompareSpec, folder: Path, members: list[dict[str, float]], effects: pd.DataFrame
) -> pd.DataFrame:
    """Rerun a comparison per member; per comparison and outcome the members' spread and verdict share."""
    rows = []
    for i, member in enumerate(members):
        mine = replace(spec, scenarios={k: member_scenario(v, member) for k, v in spec.scenarios.items()})
        where = _folder(folder, i)
        run_tasks(where, "compare", mine.to_dict(), spec.source, spec.replications,
                  lambda r, s=mine: compute_replication(s, r), quiet=True)  # fmt: skip
        result = analyze(mine, load_table(where, "runs"), load_table(where, "patients"))["effects"]
        rows.append(result.assign(member=i))
    per_member = pd.concat(rows, ignore_index=True)
    out = []
    for r in effects.itertuples():
        group = per_member[
            (per_member["scenario"] == r.scenario)
            & (per_member["reference"] == r.reference)
            & (per_member["outcome"] == r.outcome)
        ]
        sign = np.sign(r.difference)
        holds = (group["ci_low"] > 0) if sign > 0 else (group["ci_high"] < 0)
        median, low, high = spread(group["difference"].to_numpy())
        out.append(
            {
                "scenario": r.scenario,
                "reference": r.reference,
                "outcome": r.outcome,
                "difference": r.difference,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "members": len(group),
                "member_median": median,
                "member_q05": low,
                "member_q95": high,
                "verdict": f"{'higher' if sign > 0 else 'lower'} than {r.reference}, CI excluding 0",
                "holds_share": float(holds.mean()) if sign != 0 and len(group) else 0.0,
            }
        )
    table = pd.DataFrame(out)
    _write(folder, table, per_member, compare_text(table, len(members)))
    return table


def trial_across(spec: TrialSpec, folder: Path, members: list[dict[str, float]], power: pd.DataFrame) -> pd.DataFrame:
    """Rerun a virtual trial per member; per size the members' power and the share with power >= 0.80."""
    rows = []
    for i, member in enumerate(members):
        mine = replace(spec, arms={k: member_scenario(v, member) for k, v in spec.arms.items()})
        model = SimulatedStudy(mine)
        where = _folder(folder, i)
        stored = {**mine.to_dict(), "model": "simulation"}
        run_tasks(where, "trial", stored, spec.source, len(mine.tasks()),
                  lambda t, s=mine, m=model: compute_block(s, m, t), quiet=True)  # fmt: skip
        rows.append(power_table(mine, load_table(where, "trials")).assign(member=i))
    per_member = pd.concat(rows, ignore_index=True)
    out = []
    for r in power.itertuples():
        group = per_member[per_member["size"] == r.size]
        median, low, high = spread(group["power"].to_numpy())
        est, est_low, est_high = spread(group["mean_estimate"].to_numpy())
        out.append(
            {
                "size": r.size,
                "power": r.power,
                "power_low": r.power_low,
                "power_high": r.power_high,
                "members": len(group),
                "member_power_median": median,
                "member_power_q05": low,
                "member_power_q95": high,
                "member_estimate_median": est,
                "member_estimate_q05": est_low,
                "member_estimate_q95": est_high,
                "holds_share": float((group["power"] >= POWER_WANTED).mean()) if len(group) else np.nan,
            }
        )
    table = pd.DataFrame(out)
    _write(folder, table, per_member, trial_text(table, len(members)))
    return table


def _write(folder: Path, table: pd.DataFrame, per_member: pd.DataFrame, text: str) -> None:
    write_bytes_atomic(folder / "ensemble_members.csv", per_member.to_csv(index=False).encode())
    write_bytes_atomic(folder / "ensemble.csv", table.to_csv(index=False).encode())
    write_bytes_atomic(folder / "ensemble.md", text.encode())


def compare_lines(table: pd.DataFrame) -> list[str]:
    """One line per comparison and outcome: the defaults' CI, the members' spread, the verdict's share."""
    return [
        f"{r.scenario} vs {r.reference}, {r.outcome}: {r.difference:+.4g} [{r.ci_low:+.4g}, {r.ci_high:+.4g}] at the "
        f"defaults; members {r.member_median:+.4g} [{r.member_q05:+.4g}, {r.member_q95:+.4g}]; {r.verdict} in "
        f"{r.holds_share:.0%} of {r.members} members"
        for r in table.itertuples()
    ]


def trial_lines(table: pd.DataFrame) -> list[str]:
    """One line per size: the defaults' power and CI, the members' power, the share with power >= 0.80."""
    return [
        f"{r.size} patients: power {r.power:.2f} [{r.power_low:.2f}, {r.power_high:.2f}] at the defaults; members "
        f"{r.member_power_median:.2f} [{r.member_power_q05:.2f}, {r.member_power_q95:.2f}]; power >= "
        f"{POWER_WANTED:.2f} in {r.holds_share:.0%} of {r.members} members"
        for r in table.itertuples()
    ]


def _header(kind: str, n: int) -> list[str]:
    return [
        f"# {kind} across the parameter ensemble",
        "",
        f"{n} members, each on the spec's seeds. The CI is the Monte Carlo CI at the defaults; the members' spread "
        "(median, 5th to 95th percentile across members) is parameter uncertainty; the share is of members for "
        "which the verdict (written before the run) holds.",
        "",
    ]


def compare_text(table: pd.DataFrame, n: int) -> str:
    """``ensemble.md`` of a comparison."""
    return "\n".join([*_header("Comparison", n), *(f"- {line}" for line in compare_lines(table))]) + "\n"


def trial_text(table: pd.DataFrame, n: int) -> str:
    """``ensemble.md`` of a virtual trial."""
    return "\n".join([*_header("Virtual trial", n), *(f"- {line}" for line in trial_lines(table))]) + "\n"
