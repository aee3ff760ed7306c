"""The calibration loss: one number for how far a candidate's validation table is from the targets.

Each check of a calibrated target (``targets.CALIBRATED``; held-out targets
are out of sample and contribute nothing) contributes a term: its weight (firm or soft
target) times the Huber function of a normalised distance of the simulated
median from what the check asks for, plus a penalty if the check fails its
pass rule (``check_term``). The loss is the sum of the terms.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import pandas as pd

from simulation.validation import targets as targets_module
from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE, Check

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


def loss_terms(table: pd.DataFrame, scored: Collection[str] | None = None) -> pd.Series:
    """Every scored check's term of the loss, indexed by check id (checks read from ``targets.CHECKS``).

    ``scored`` are the check ids the calibration fits (``search.scored_checks``); by default every check of
    a calibrated target: rows of held-out targets (``Target.held_out``) are skipped, as out of sample.
    """
    checks = targets_module.CHECKS
    if scored is None:
        scored = [c for c in checks if not targets_module.TARGET_OF[c].held_out]
    wanted = set(scored)
    terms = {r["check"]: check_term(checks[r["check"]], r) for _, r in table.iterrows() if r["check"] in wanted}
    return pd.Series(terms, dtype=float)


def loss(table: pd.DataFrame, scored: Collection[str] | None = None) -> float:
    """The calibration loss of one validation table: the sum of ``loss_terms``.

    0 when every check passes with its median on the published value (inside the band or range, a quarter of
    the spread past 0 for directions); every failing check adds at least its weight (1 firm, 0.5 soft).
    """
    return float(loss_terms(table, scored).sum())
