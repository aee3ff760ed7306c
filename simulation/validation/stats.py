"""The statistics the published studies report, computed the same way on simulated data.

Small, dependency-light helpers: the effect size r from a one-way ANOVA's F,
Pearson and point-biserial correlations that tolerate degenerate samples,
random-effects pooling of correlations (DerSimonian & Laird on Fisher's z),
Hedges' g and the within-group pre-post d; for the dynamics over a course
(T15-T17) the first session a patient reaches a state, a Kaplan-Meier
cumulative incidence among those still in therapy, discrete-time hazards by
part of a course, and per-patient least-squares slopes. The Jacobson & Truax
reliable change index is a patient outcome (``simulation.run.outcomes``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def one_way_anova_f(groups: Sequence[np.ndarray]) -> tuple[float, int, int]:
    """One-way ANOVA F statistic.

    Args:
        groups: One array of observations per group (at least two groups).

    Returns:
        ``(F, df_between, df_within)``; F is NaN if the within-group variance is 0
        or a group is empty.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    k = len(arrays)
    n = sum(len(a) for a in arrays)
    if k < 2 or any(len(a) == 0 for a in arrays) or n <= k:
        return math.nan, k - 1, n - k
    grand = np.concatenate(arrays).mean()
    ss_between = sum(len(a) * (a.mean() - grand) ** 2 for a in arrays)
    ss_within = sum(((a - a.mean()) ** 2).sum() for a in arrays)
    if ss_within <= 0:
        return math.nan, k - 1, n - k
    f = (ss_between / (k - 1)) / (ss_within / (n - k))
    return float(f), k - 1, n - k


def r_from_f(f: float, df_within: int) -> float:
    """Effect size r of a one-degree-of-freedom F test: ``sqrt(F / (F + df_within))``."""
    if not math.isfinite(f) or f < 0 or df_within <= 0:
        return math.nan
    return math.sqrt(f / (f + df_within))


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN for fewer than three pairs or a constant variable.

    With a 0/1 variable this is the point-biserial correlation.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = (dx * dx).sum(), (dy * dy).sum()
    if sxx <= 0 or syy <= 0:
        return math.nan
    return float((dx * dy).sum() / math.sqrt(sxx * syy))


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled correlation.

    Attributes:
        r: Pooled correlation (back-transformed from Fisher's z).
        ci_low: Lower bound of its 95% confidence interval.
        ci_high: Upper bound of its 95% confidence interval.
        tau2: Between-study variance of z (DerSimonian-Laird).
        q: Cochran's Q.
        k: Studies pooled.
        n: Total sample size.
    """

    r: float
    ci_low: float
    ci_high: float
    tau2: float
    q: float
    k: int
    n: int


def pool_correlations(rs: Sequence[float], ns: Sequence[int]) -> Pooled:
    """Pool correlations by random effects: DerSimonian & Laird on Fisher's z.

    Each study contributes ``z_i = atanh(r_i)`` with variance ``v_i = 1 / (n_i - 3)``;
    ``tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w))`` with fixed-effect
    weights ``w_i = 1 / v_i``; the pooled ``z`` weights each study by
    ``1 / (v_i + tau^2)``. Studies with an undefined r or n <= 3 are left out.

    Args:
        rs: Correlations of the studies.
        ns: Their sample sizes.

    Returns:
        The pooled estimate (all NaN if no study is usable).
    """
    r = np.asarray(rs, dtype=float)
    n = np.asarray(ns, dtype=float)
    ok = np.isfinite(r) & (n > 3) & (np.abs(r) < 1)
    r, n = r[ok], n[ok]
    k = len(r)
    if k == 0:
        return Pooled(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0)
    z = np.arctanh(r)
    v = 1.0 / (n - 3.0)
    w = 1.0 / v
    z_fixed = (w * z).sum() / w.sum()
    q = float((w * (z - z_fixed) ** 2).sum())
    c = w.sum() - (w * w).sum() / w.sum()
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    w_star = 1.0 / (v + tau2)
    z_pooled = (w_star * z).sum() / w_star.sum()
    se = math.sqrt(1.0 / w_star.sum())
    return Pooled(
        r=float(np.tanh(z_pooled)),
        ci_low=float(np.tanh(z_pooled - Z95 * se)),
        ci_high=float(np.tanh(z_pooled + Z95 * se)),
        tau2=float(tau2),
        q=q,
        k=k,
        n=int(n.sum()),
    )


def hedges_g(treated: np.ndarray, control: np.ndarray) -> float:
    """Hedges' g: standardised mean difference (treated - control), pooled SD, small-sample corrected.

    ``g = J * (mean_t - mean_c) / s_pooled`` with ``J = 1 - 3 / (4 (n_t + n_c) - 9)``.
    """
    a = np.asarray(treated, dtype=float)
    b = np.asarray(control, dtype=float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan
    pooled_var = ((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2)
    if pooled_var <= 0:
        return math.nan
    j = 1.0 - 3.0 / (4.0 * (na + nb) - 9.0)
    return float(j * (a.mean() - b.mean()) / math.sqrt(pooled_var))


def prepost_d(pre: np.ndarray, post: np.ndarray) -> float:
    """Within-group pre-post effect size: ``(mean pre - mean post) / SD pre`` (positive = improvement).

    Raises:
        ValueError: If ``pre`` and ``post`` are not the same patients (different lengths).
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    if len(pre) != len(post):
        raise ValueError(f"prepost_d needs pre and post of the same patients (got {len(pre)} and {len(post)} values).")
    if len(pre) < 2:
        return math.nan
    sd = pre.std(ddof=1)
    if sd <= 0:
        return math.nan
    return float((pre.mean() - post.mean()) / sd)


def residual_gain(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Residualised improvement: minus the residual of ``post`` regressed on ``pre`` (positive = better than expected).

    The outcome many alliance and resolution studies correlate with process
    measures: improvement independent of the starting level.
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    if len(pre) < 3 or pre.var() <= 0:
        return np.full(len(pre), np.nan)
    slope = ((pre - pre.mean()) * (post - post.mean())).sum() / ((pre - pre.mean()) ** 2).sum()
    return -(post - post.mean() - slope * (pre - pre.mean()))


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``mean(a) - mean(b)``; NaN if either is empty."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    return float(a.mean() - b.mean())


# --- courses over time (T15-T17) ----------------------------------------------------------------------------


def first_session(rows: np.ndarray, session: np.ndarray, reached: np.ndarray, n: int) -> np.ndarray:
    """The first session at which each patient reached a state (``inf`` if never).

    Args:
        rows: Row of the patient (0 to ``n - 1``) of each session record.
        session: Session number of each record.
        reached: Whether the state holds after each session.
        n: Patients.
    """
    first = np.full(n, np.inf)
    np.minimum.at(first, np.asarray(rows)[reached], np.asarray(session, dtype=float)[reached])
    return first


def cumulative_incidence(event_session: np.ndarray, last_session: np.ndarray, horizon: int) -> np.ndarray:
    """Kaplan-Meier cumulative incidence ``1 - S(s)`` of an event by session ``s = 1 .. horizon``.

    Those at risk at session ``s`` attended it (``last_session >= s``) and had no
    event before it; a patient who leaves without the event is censored after
    their last session, so the estimate is among those still in therapy, not
    among completers of courses of different lengths (Howard et al. 1986).

    Args:
        event_session: Session of each patient's first event (``inf`` if none).
        last_session: Last session each patient attended (sessions attended).
        horizon: Last session of the estimate.

    Returns:
        ``horizon`` values: the share with the event by session 1, 2, ... (NaN once nobody is at risk).
    """
    event = np.asarray(event_session, dtype=float)
    last = np.asarray(last_session, dtype=float)
    s = np.arange(1, horizon + 1, dtype=float)[:, None]
    at_risk = ((last[None, :] >= s) & (event[None, :] >= s)).sum(axis=1)
    events = (event[None, :] == s).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), np.nan)
    return 1.0 - np.cumprod(1.0 - hazard)


def part_hazards(left: np.ndarray, attended: np.ndarray, n_sessions: int, n_parts: int) -> np.ndarray:
    """Chance of leaving in each part of a course (e.g. quarter) among those at risk at its start.

    Leaving is decided after a session, never after the last planned one, so the
    sessions after which a patient could leave are ``1 .. n_sessions - 1``; part
    ``q`` holds the sessions ``edges[q] + 1 .. edges[q + 1]`` with ``edges`` the
    course split into ``n_parts`` equal parts. The per-session hazard of a part
    is the leavers of the part over the sessions its patients were at risk in it
    (a patient who leaves after session ``k`` was at risk after sessions ``1 .. k``;
    a patient who leaves for a reason not counted is censored after it). It is
    turned into the chance of leaving over a whole part, ``1 - (1 - h)^length``,
    so that parts of unequal exposure compare.

    Args:
        left: Whether each patient left early in the sense counted (e.g. dropout).
        attended: Sessions each patient attended (the session after which they left, if they did).
        n_sessions: Planned course length.
        n_parts: Parts of the course.

    Returns:
        ``n_parts`` chances (NaN for a part nobody was at risk in).
    """
    left = np.asarray(left, dtype=bool)
    attended = np.asarray(attended, dtype=float)
    edges = np.round(np.linspace(0, n_sessions, n_parts + 1)).astype(int)
    out = np.full(n_parts, np.nan)
    last_decision = np.minimum(attended, n_sessions - 1)
    for q in range(n_parts):
        lo, hi = edges[q] + 1, min(edges[q + 1], n_sessions - 1)
        if hi < lo:
            continue
        exposure = np.clip(last_decision - lo + 1, 0, hi - lo + 1).sum()
        events = (left & (attended >= lo) & (attended <= hi)).sum()
        if exposure > 0:
            out[q] = 1.0 - (1.0 - events / exposure) ** (edges[q + 1] - edges[q])
    return out


def patient_slopes(
    rows: np.ndarray, x: np.ndarray, y: np.ndarray, n: int, at: float = 1.0, min_points: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's least-squares line of ``y`` on ``x``: its slope and its value at ``x = at``.

    The two-stage stand-in for a multilevel growth model: averaging these lines
    over a group estimates the group's mean intercept and slope without a mixed
    model (unbiased, a little less efficient).

    Args:
        rows: Row of the patient (0 to ``n - 1``) of each observation.
        x: Time of each observation (session number).
        y: The rating.
        n: Patients.
        at: Where the intercept is read (the first session).
        min_points: Fewest observations for a line (NaN below, or if ``x`` does not vary).
    """
    rows = np.asarray(rows)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    count = np.bincount(rows, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x, mean_y = np.bincount(rows, x, n) / count, np.bincount(rows, y, n) / count
    # Centre on each patient's means before summing squares: sums of raw squares lose the slope to rounding
    # when x is far from 0 (a session number offset by a date, say).
    dx, dy = x - mean_x[rows], y - mean_y[rows]
    sxx, sxy = np.bincount(rows, dx * dx, n), np.bincount(rows, dx * dy, n)
    ok = (count >= min_points) & (sxx > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(ok, sxy / np.where(ok, sxx, 1), np.nan)
    return slope, np.where(ok, mean_y + slope * (at - mean_x), np.nan)
