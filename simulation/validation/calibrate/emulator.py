"""Emulators and implausibility of the history matching: a Gaussian process per check, and how far a point is.

An *emulator* stands in for the simulator on one check: a Gaussian process
(scikit-learn's ``GaussianProcessRegressor``) of the statistic's mean over the
replications of a design point, with the Monte Carlo variance of that mean as a
known, per-point nugget, and a second Gaussian process of the log of the
statistic's replication SD (one virtual study's sampling spread varies with the
parameters). Inputs are the varied parameters on the unit cube (log scale where
the parameter is searched on one). Diagnostics are leave-one-out, in closed form
with the fitted kernel (Rasmussen & Williams 2006, eq. 5.12).

*Implausibility* (Andrianakis et al. 2015; Vernon et al. 2010) of a point x for
a check is the distance of what the check asks for from the emulator's mean,
in units of every uncertainty between them::

    I(x) = |z - mu(x)| / sqrt(V_obs + V_rep(x) + V_em(x) + V_md)

- ``point`` and ``band``: z is the published value; V_obs the variance of the
  published CI (point) or band (band), its half-width read as 1.96 SD (0 for a point
  without a CI); V_rep a single virtual study's replication variance, because the
  published value is one study's result and the pass rule asks it to lie inside
  the central 90% of single studies.
- ``range``: z is the range's centre, V_obs its half-width read as 1.96 SD; the
  pass rule reads the median of ``r_check`` studies, so V_rep is divided by
  ``r_check``.
- ``direction``: one-sided, ``I = max(0, -sign * mu) / sqrt(V_rep / r_check +
  V_em + V_md)``: the published direction is taken as certain and the pass rule
  asks the median of ``r_check`` studies to have the sign.

V_md, the model discrepancy, is ``(MD_FRACTION * scale)**2``: a tenth of the
larger of |z| and the observation's half-width, or (directions, and a point at 0
without a CI) a tenth of the median replication SD over the wave's design. A
point is non-implausible when the second-largest implausibility over the checks
is at most ``CUTOFF`` (the largest, with one check).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE, Check

#: Cut-off of the second-largest implausibility (Pukelsheim's three-sigma rule: any unimodal distribution
#: has at least 95% of its mass within 3 SD).
CUTOFF = 3.0
#: Model discrepancy SD as a share of the check's scale (an assumption, stated in the report).
MD_FRACTION = 0.1
#: A CI, band or range is read as +-1.96 SD of the observation.
Z95 = 1.959963984540054
#: Fewest design points with a defined statistic for a check to get an emulator.
MIN_POINTS = 4
#: Optimizer restarts of the kernel fit of the mean (seeded).
RESTARTS = 1


@dataclass(frozen=True)
class Observation:
    """What a check asks for, read for the implausibility.

    Attributes:
        z: The value to match (published value, range centre; 0 for a direction).
        v_obs: Observation variance.
        one_sided: A direction check.
        sign: Its sign (+1 / -1), 0 otherwise.
        per_study: Whether the rule reads single studies (point, band) rather than the median of ``r_check``.
        scale: The check's scale for the discrepancy (0: use the replication SD).
    """

    z: float
    v_obs: float
    one_sided: bool
    sign: int
    per_study: bool
    scale: float


def observation(check: Check) -> Observation:
    """How a check's pass rule is read as an observation (see the module docstring)."""
    if check.rule == DIRECTION:
        return Observation(0.0, 0.0, True, int(check.sign), False, 0.0)
    half = (check.interval[1] - check.interval[0]) / 2 if check.interval is not None else 0.0
    if check.rule == RANGE:
        z = (check.interval[0] + check.interval[1]) / 2
    elif check.rule in (POINT, BAND):
        z = float(check.published)
    else:
        raise ValueError(f"unknown rule {check.rule!r}")
    return Observation(z, (half / Z95) ** 2, False, 0, check.rule != RANGE, max(abs(z), half))


def discrepancy_variance(obs: Observation, rep_sd: float) -> float:
    """V_md: ``(MD_FRACTION * scale)**2``, the scale being the replication SD where the check has none."""
    scale = obs.scale if obs.scale > 0 else rep_sd
    return (MD_FRACTION * scale) ** 2


def implausibility(
    obs: Observation, mu: np.ndarray, v_em: np.ndarray, v_rep: np.ndarray, v_md: float, r_check: int
) -> np.ndarray:
    """The implausibility of points for one check (arrays of emulator mean, emulator and replication variance)."""
    mu, v_em, v_rep = (np.asarray(a, dtype=float) for a in (mu, v_em, v_rep))
    v_sim = v_rep if obs.per_study else v_rep / r_check
    total = np.sqrt(obs.v_obs + v_sim + v_em + v_md)
    gap = np.maximum(0.0, -obs.sign * mu) if obs.one_sided else np.abs(obs.z - mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > 0, gap / np.where(total > 0, total, 1.0), np.where(gap > 0, np.inf, 0.0))
    return out


def second_largest(values: np.ndarray) -> np.ndarray:
    """Per row, the second-largest implausibility over the checks (columns; NaN ignored; the largest with one)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] == 0:
        return np.zeros(values.shape[0] if values.ndim else 0)
    filled = np.where(np.isnan(values), -np.inf, values)
    ordered = np.sort(filled, axis=1)
    counts = np.sum(~np.isnan(values), axis=1)
    second = ordered[:, -2] if values.shape[1] > 1 else ordered[:, -1]
    out = np.where(counts >= 2, second, ordered[:, -1])
    return np.where(counts == 0, 0.0, out)


class _Constant:
    """A stand-in for a Gaussian process of a constant output (no spread across the design)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(x), self.value), np.zeros(len(x))


def _fit_gp(
    x: np.ndarray, y: np.ndarray, noise: np.ndarray, seed: int, ard: bool = True
) -> tuple[object, float, float]:
    """A Gaussian process of standardised ``y`` with per-point noise variance ``noise`` (original units).

    ``ard``: a length scale per input (the mean); one shared length scale and no restarts otherwise (the log SD,
    a smoother and less important surface).
    """
    from sklearn.exceptions import ConvergenceWarning  # the 'calibrate' extra, imported where it is used
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    centre, spread = float(np.mean(y)), float(np.std(y))
    if not spread > 0:
        return _Constant(centre), centre, 1.0
    scales = np.full(x.shape[1], 0.5) if ard else 0.5
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(scales, (0.05, 20.0)) + WhiteKernel(1e-2, (1e-6, 1.0))
    gp = GaussianProcessRegressor(
        kernel, alpha=noise / spread**2 + 1e-10, n_restarts_optimizer=RESTARTS if ard else 0, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, (y - centre) / spread)
    return gp, centre, spread


def _predict(model: object, centre: float, spread: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(model, _Constant):
        return model.predict(x)
    mean, sd = model.predict(x, return_std=True)
    return centre + spread * mean, (spread * sd) ** 2


@dataclass
class Emulator:
    """The emulator of one check: mean of the statistic, and log replication SD, over the unit cube.

    Attributes:
        check: Check id.
        x: Training inputs (unit cube), one row per design point.
        y: Replication mean of the statistic per point.
        noise: Monte Carlo variance of each mean (replication variance / defined replications).
        log_sd: Log of the replication SD per point.
        rep_sd_median: Median replication SD over the points (the discrepancy's scale where the check has none).
    """

    check: str
    x: np.ndarray
    y: np.ndarray
    noise: np.ndarray
    log_sd: np.ndarray
    rep_sd_median: float
    seed: int = 0

    def __post_init__(self) -> None:
        self._mean = _fit_gp(self.x, self.y, self.noise, self.seed)
        self._sd = _fit_gp(self.x, self.log_sd, np.full(len(self.y), 1e-4), self.seed + 1, ard=False)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Emulator mean, emulator variance and predicted replication variance at ``x`` (unit cube)."""
        if not len(x):
            return np.empty(0), np.empty(0), np.empty(0)
        mu, v_em = _predict(*self._mean, x)
        log_sd, _ = _predict(*self._sd, x)
        return mu, v_em, np.exp(2 * log_sd)

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out mean and SD of each training point's observed mean (kernel as fitted; closed form)."""
        model, centre, spread = self._mean
        if isinstance(model, _Constant):
            return np.full(len(self.y), centre), np.sqrt(self.noise)
        from scipy.linalg import cho_solve  # here: the command line imports this module to build its help

        k_inv = cho_solve((model.L_, True), np.eye(len(self.y)))
        diag = np.diag(k_inv)
        standard = (self.y - centre) / spread
        mean = standard - (k_inv @ standard) / diag
        return centre + spread * mean, spread / np.sqrt(diag)

    def kernel_text(self) -> str:
        """The fitted kernel of the mean, as text (for the diagnostics table)."""
        model = self._mean[0]
        return "constant" if isinstance(model, _Constant) else str(model.kernel_)


def fit_emulator(check: str, x: np.ndarray, mean: np.ndarray, var: np.ndarray, n_valid: np.ndarray, seed: int):
    """An ``Emulator`` from the design points where the check's statistic is defined, or ``None`` (too few).

    Args:
        check: Check id.
        x: Inputs (unit cube), one row per point.
        mean: Replication mean per point (NaN where undefined).
        var: Replication variance per point.
        n_valid: Replications with a defined statistic per point.
        seed: Seed of the kernel optimizer's restarts.
    """
    ok = np.isfinite(mean) & np.isfinite(var) & (n_valid >= 2)
    if ok.sum() < MIN_POINTS:
        return None
    var_ok = np.maximum(var[ok], 1e-12)
    sd = np.sqrt(var_ok)
    return Emulator(check, x[ok], mean[ok], var_ok / n_valid[ok], np.log(sd), float(np.median(sd)), seed)


def diagnostics_row(emulator: Emulator) -> dict[str, float | int | str]:
    """Leave-one-out diagnostics of one emulator: standardised errors, their coverage, and Q2."""
    mean, sd = emulator.loo()
    errors = (emulator.y - mean) / sd
    residual = float(np.sum((emulator.y - mean) ** 2))
    total = float(np.sum((emulator.y - np.mean(emulator.y)) ** 2))
    return {
        "check": emulator.check,
        "points": len(errors),
        "loo_rmse": math.sqrt(residual / len(errors)),
        "q2": 1 - residual / total if total > 0 else math.nan,
        "mean_abs_std_error": float(np.mean(np.abs(errors))),
        "max_abs_std_error": float(np.max(np.abs(errors))),
        "coverage_2sd": float(np.mean(np.abs(errors) <= 2)),
        "coverage_3sd": float(np.mean(np.abs(errors) <= 3)),
        "kernel": emulator.kernel_text(),
    }


def implausibility_matrix(
    emulators: dict[str, Emulator], observations: dict[str, Observation], x: np.ndarray, r_check: int,
    checks: Sequence[str] | None = None,
) -> np.ndarray:  # fmt: skip
    """Implausibility of points ``x`` (rows) for each check (columns, in ``checks`` order; NaN without emulator)."""
    names = list(checks if checks is not None else emulators)
    out = np.full((len(x), len(names)), np.nan)
    for j, name in enumerate(names):
        emulator = emulators.get(name)
        if emulator is None:
            continue
        mu, v_em, v_rep = emulator.predict(x)
        obs = observations[name]
        out[:, j] = implausibility(obs, mu, v_em, v_rep, discrepancy_variance(obs, emulator.rep_sd_median), r_check)
    return out
