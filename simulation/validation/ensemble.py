"""Parameter ensembles: plausible parameter sets from a history matching, and answers that carry them.

An ensemble is a CSV with a ``member`` column and one column per varied
parameter (``ensemble.csv`` of ``rupture-sim calibrate --method
history-matching``); every other parameter keeps its default. ``load_ensemble``
reads the first ``n`` members (the file's order is a random draw from the
region, so the first ``n`` are a random subset) of a given file, or of the
ensemble shipped with the package (``SHIPPED``; none ships yet: the history
matching over T1-T20 makes it, docs/calibration/history-matching.md).

An answer with parameter uncertainty reports, beside its Monte Carlo CI at the
defaults, the spread of the member estimates (5th to 95th percentile across
members) and the share of members for which the verdict holds.
``validate_ensemble`` does it for the validation: per check, the members'
medians and the share of members that pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.model.parameters import SPECS, ParameterError, Parameters

#: The ensemble shipped with the package (absent until the history matching over T1-T20 has run).
SHIPPED = Path(__file__).with_name("ensemble.csv")
#: Columns of an ensemble file besides the parameters.
ID_COLUMN = "member"


class EnsembleError(ValueError):
    """An ensemble that cannot be used (one sentence)."""


def load_ensemble(n: int, path: str | Path | None = None) -> list[dict[str, float]]:
    """The first ``n`` members of an ensemble file (default: the shipped one), each checked as parameters.

    Raises:
        EnsembleError: No file given and none shipped; an unreadable file; unknown columns; fewer than ``n``
            members; a value out of its parameter's range.
    """
    if path is None:
        if not SHIPPED.exists():
            raise EnsembleError(
                "--ensemble: no ensemble ships with this version yet; give --ensemble-file F, the ensemble.csv of a "
                "`rupture-sim calibrate --method history-matching` run."
            )
        path = SHIPPED
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise EnsembleError(f"--ensemble-file {path}: cannot be read as a CSV ({type(err).__name__}).") from None
    unknown = [c for c in frame.columns if c != ID_COLUMN and c not in SPECS]
    names = [c for c in frame.columns if c in SPECS]
    if unknown or not names:
        raise EnsembleError(
            f"--ensemble-file {path}: columns must be '{ID_COLUMN}' and parameter names"
            + (f"; unknown: {', '.join(map(str, unknown[:5]))}." if unknown else "; it names no parameter.")
        )
    if n > len(frame):
        raise EnsembleError(f"--ensemble {n}: {path} has only {len(frame)} members; ask for at most {len(frame)}.")
    members = []
    for i, row in enumerate(frame[names].head(n).to_dict("records")):
        try:
            Parameters(row)
        except (ParameterError, TypeError, ValueError) as err:
            raise EnsembleError(f"--ensemble-file {path}, member {i}: {err}") from None
        members.append({k: float(v) for k, v in row.items()})
    return members


def spread(values: np.ndarray) -> tuple[float, float, float]:
    """Median and central 90% (5th, 95th percentile) of member estimates (NaN ignored)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return (np.nan, np.nan, np.nan)
    q = np.quantile(values, [0.5, 0.05, 0.95])
    return float(q[0]), float(q[1]), float(q[2])


def validate_ensemble(
    members: list[dict[str, float]],
    overrides: Mapping[str, float],
    run: Callable[[dict[str, float]], pd.DataFrame],
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run the validation once per member (``--set`` overrides win) and return one row per member and check."""
    rows = []
    for i, member in enumerate(members):
        table = run({**member, **overrides})
        rows += [
            {
                "member": i,
                "check": r["check"],
                "target": r["target"],
                "median": r["median"],
                "passed": bool(r["passed"]),
            }
            for _, r in table.iterrows()
        ]
        if progress:
            progress(f"ensemble member {i + 1}/{len(members)}: {int(table['passed'].sum())}/{len(table)} checks pass")
    return pd.DataFrame(rows)


def ensemble_summary(per_member: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per check: the defaults' median and 90% interval and verdict, the members' spread and pass share."""
    rows = []
    for _, r in table.iterrows():
        group = per_member[per_member["check"] == r["check"]]
        median, low, high = spread(group["median"].to_numpy())
        rows.append(
            {
                "check": r["check"],
                "defaults_median": r["median"],
                "defaults_q05": r["q05"],
                "defaults_q95": r["q95"],
                "defaults_pass": bool(r["passed"]),
                "members": len(group),
                "member_median": median,
                "member_q05": low,
                "member_q95": high,
                "pass_share": float(group["passed"].mean()) if len(group) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def ensemble_text(summary: pd.DataFrame, source: str) -> str:
    """``ensemble.md`` of a validation across an ensemble."""
    all_pass = summary["pass_share"].min() if len(summary) else np.nan
    lines = [
        "# Validation across the parameter ensemble",
        "",
        f"{int(summary['members'].max()) if len(summary) else 0} members of {source}. Per check: the simulated median "
        "and central 90% at the defaults (Monte Carlo spread of one virtual study), the spread of the members' "
        "medians (5th to 95th percentile across members: parameter uncertainty) and the share of members that "
        f"pass. The least-held check passes in {all_pass:.0%} of the members.",
        "",
        "| check | defaults: median [5%, 95%] | pass | members: median [5%, 95%] | members passing |",
        "|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.check} | {r.defaults_median:.3g} [{r.defaults_q05:.3g}, {r.defaults_q95:.3g}] | "
            f"{'pass' if r.defaults_pass else 'fail'} | {r.member_median:.3g} [{r.member_q05:.3g}, {r.member_q95:.3g}] "
            f"| {r.pass_share:.0%} |"
        )
    return "\n".join(lines) + "\n"


def describe(path: str | Path | None) -> str:
    """How a report names the ensemble."""
    return f"`{path}`" if path is not None else "the shipped ensemble"


__all__ = [
    "SHIPPED",
    "EnsembleError",
    "describe",
    "ensemble_summary",
    "ensemble_text",
    "load_ensemble",
    "spread",
    "validate_ensemble",
]
