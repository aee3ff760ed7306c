"""The pass rules of the validation: a check of a target, and how it is decided from simulated values.

A check names the statistic a virtual study computes (``studies.STUDIES``) and
the rule that decides, from the simulated sampling distribution of that
statistic over replications, whether the model reproduces the finding:

``point``
    The published value lies inside the central 90% of the simulated sampling
    distribution (5th to 95th percentile). Used for firm numbers.
``band``
    For soft numbers (quoted by a secondary source): the published value is
    widened to a band (stated per check); the check passes if the band overlaps
    the central 90% interval of the simulated distribution.
``range``
    For published ranges (e.g. dropout 22-30%): the simulated *median* lies
    inside the range. The range already spans the variation between studies, so
    the typical virtual study must fall in it; overlap alone would be too lenient.
``direction``
    The median simulated statistic has the stated sign (``+1``: above 0,
    ``-1``: below 0).

A target passes when all its checks pass. A check whose statistic is undefined
(NaN) in more than half of the replications fails.

A target can be *held out* (``Target.held_out``): it is computed and reported
by every validation like the others, and counted apart. A calibration neither
runs nor scores it unless asked to (``calibrate --with-held-out``), so a
calibration on the others tests the model on findings it was not fitted to
(issue 9: the dynamics targets T15-T17, first with defaults fitted on T1-T14,
then fitted on all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Rule kinds.
POINT, BAND, RANGE, DIRECTION = "point", "band", "range", "direction"
#: Central interval of the simulated distribution used by the rules.
LOWER_Q, UPPER_Q = 0.05, 0.95


@dataclass(frozen=True)
class Check:
    """One statistic of a target and its pass rule.

    Attributes:
        id: Check id, e.g. ``"T2b"``.
        study: Name of the virtual study in ``studies.STUDIES``.
        statistic: Key of the study's statistics dict.
        label: What the statistic is, in words.
        rule: One of ``point``, ``band``, ``range``, ``direction``.
        published: The published number (``None`` for a pure direction).
        interval: The published CI (point), the band (band) or the range (range).
        sign: Expected sign for a direction check (+1 or -1).
        levers: Parameters that move the statistic, with the direction of their effect,
            from one-at-a-time runs on common random numbers (for the calibration and
            the report's diagnosis), measured at the defaults of this version. ``(+)``: raising the
            parameter raises the statistic.
        companions: Other statistics of the same study shown next to it in the report
            (key, label), e.g. the same correlation with another outcome metric.
    """

    id: str
    study: str
    statistic: str
    label: str
    rule: str
    published: float | None = None
    interval: tuple[float, float] | None = None
    sign: int = 0
    levers: str = ""
    companions: tuple[tuple[str, str], ...] = ()

    def rule_text(self) -> str:
        """The pass rule in words."""
        if self.rule == POINT:
            return f"published {self.published:g} inside the central 90% of the simulated distribution"
        if self.rule == BAND:
            lo, hi = self.interval or (math.nan, math.nan)
            return f"band [{lo:g}, {hi:g}] around the soft value {self.published:g} overlaps the central 90%"
        if self.rule == RANGE:
            lo, hi = self.interval or (math.nan, math.nan)
            return f"median inside the published range [{lo:g}, {hi:g}]"
        return f"median {'> 0' if self.sign > 0 else '< 0'}"

    def published_text(self) -> str:
        """The published value as shown in the report."""
        if self.rule == DIRECTION:
            return "direction " + ("+" if self.sign > 0 else "-")
        if self.rule == RANGE:
            lo, hi = self.interval or (math.nan, math.nan)
            return f"{lo:g}-{hi:g}"
        text = f"{self.published:g}"
        if self.rule == POINT and self.interval is not None:
            text += f" [{self.interval[0]:g}, {self.interval[1]:g}]"
        if self.rule == BAND and self.interval is not None:
            text += f" (band {self.interval[0]:g}-{self.interval[1]:g})"
        return text


@dataclass(frozen=True)
class Target:
    """A published finding to reproduce.

    Attributes:
        id: Target id (T1-T17).
        finding: The finding, short.
        published: The published numbers, as text.
        confidence: ``firm`` or ``soft`` (see literature.md).
        source: Short reference.
        checks: The statistics that test it.
        held_out: Out of sample for a calibration that leaves it out (the default): reported
            apart by every validation, fitted only by ``calibrate --with-held-out``.
    """

    id: str
    finding: str
    published: str
    confidence: str
    source: str
    checks: tuple[Check, ...]
    held_out: bool = False


@dataclass(frozen=True)
class Verdict:
    """The result of applying a check's rule to the simulated values.

    Attributes:
        median: Median of the simulated statistic.
        q05: 5th percentile.
        q95: 95th percentile.
        n_valid: Replications with a defined statistic.
        passed: Whether the rule holds.
    """

    median: float
    q05: float
    q95: float
    n_valid: int
    passed: bool


def evaluate(check: Check, values: np.ndarray) -> Verdict:
    """Apply the check's pass rule to the simulated values (one per replication)."""
    values = np.asarray(values, dtype=float)
    valid = values[np.isfinite(values)]
    if len(valid) == 0:
        return Verdict(math.nan, math.nan, math.nan, 0, False)
    med = float(np.median(valid))
    q05, q95 = (float(q) for q in np.quantile(valid, [LOWER_Q, UPPER_Q]))
    if 2 * len(valid) <= len(values):
        return Verdict(med, q05, q95, len(valid), False)
    if check.rule == POINT:
        passed = q05 <= float(check.published) <= q95
    elif check.rule == BAND:
        lo, hi = check.interval
        passed = lo <= q95 and q05 <= hi
    elif check.rule == RANGE:
        lo, hi = check.interval
        passed = lo <= med <= hi
    elif check.rule == DIRECTION:
        passed = med * check.sign > 0
    else:
        raise ValueError(f"unknown rule {check.rule!r}")
    return Verdict(med, q05, q95, len(valid), bool(passed))
