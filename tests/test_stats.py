"""The published statistics computed on simulated data (simulation.validation.stats)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from simulation.validation import stats


def test_r_from_f_reproduces_the_published_t3_conversion():
    # F = 16.6 with about 75 patients in two groups (df = 73) gives r = .43, as published.
    assert stats.r_from_f(16.6, 73) == pytest.approx(math.sqrt(16.6 / 89.6))
    assert round(stats.r_from_f(16.6, 73), 2) == 0.43
    assert math.isnan(stats.r_from_f(math.nan, 10))


def test_one_way_anova_matches_scipy_and_r_equals_the_point_biserial_correlation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 30), rng.normal(0.6, 1.2, 41)
    f, df_between, df_within = stats.one_way_anova_f([a, b])
    assert f == pytest.approx(sps.f_oneway(a, b).statistic)
    assert (df_between, df_within) == (1, 69)
    group = np.r_[np.zeros(30), np.ones(41)]
    assert stats.r_from_f(f, df_within) == pytest.approx(abs(stats.pearson_r(group, np.r_[a, b])))


def test_pearson_r_matches_scipy_and_is_nan_for_degenerate_samples():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert stats.pearson_r(x, y) == pytest.approx(sps.pearsonr(x, y)[0])
    assert math.isnan(stats.pearson_r(np.ones(10), y[:10]))
    assert math.isnan(stats.pearson_r(x[:2], y[:2]))


def test_random_effects_pooling_matches_a_hand_computed_example():
    # Hand computation (DerSimonian-Laird on Fisher z): r = .1, .3, .5 with n = 43, 53, 103
    # v = 1/40, 1/50, 1/100; w = 40, 50, 100; z = .100335, .309520, .549306; z_fixed = .391684
    # Q = 6.2174; C = 190 - 14100/190 = 115.7895; tau^2 = (6.2174 - 2) / 115.7895 = .036423
    # w* = 16.2806, 17.7232, 21.5410 (sum 55.5448); z = .341198, SE = .134177
    # r = tanh(.341198) = .3285, 95% CI tanh(.341198 -/+ 1.96 * .134177) = [.0781, .5400]
    pooled = stats.pool_correlations([0.1, 0.3, 0.5], [43, 53, 103])
    assert pooled.q == pytest.approx(6.2174, abs=1e-3)
    assert pooled.tau2 == pytest.approx(0.036423, abs=1e-5)
    assert pooled.r == pytest.approx(0.3285, abs=1e-3)
    assert pooled.ci_low == pytest.approx(0.0781, abs=1e-3)
    assert pooled.ci_high == pytest.approx(0.5400, abs=1e-3)
    assert (pooled.k, pooled.n) == (3, 199)


def test_pooling_without_heterogeneity_is_the_fixed_effect_estimate():
    pooled = stats.pool_correlations([0.29, 0.29, 0.29], [50, 100, 200])
    assert pooled.tau2 == 0.0
    assert pooled.r == pytest.approx(0.29)
    se = 1 / math.sqrt(47 + 97 + 197)
    assert pooled.ci_low == pytest.approx(math.tanh(math.atanh(0.29) - stats.Z95 * se))
    assert stats.pool_correlations([math.nan, 0.2], [30, 2]).k == 0


def test_hedges_g_matches_a_hand_computed_example():
    # means 2.5 and 4; variances 5/3 and 2.5; pooled SD sqrt(15/7); d = -1.0247; J = 1 - 3/27; g = -0.9108
    g = stats.hedges_g(np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5, 6]))
    assert g == pytest.approx(-0.91084, abs=1e-4)
    assert math.isnan(stats.hedges_g(np.array([1.0]), np.array([2.0, 3.0])))


def test_prepost_d_uses_the_pre_treatment_sd():
    pre, post = np.array([2.0, 3.0, 4.0]), np.array([1.0, 2.0, 2.0])
    assert stats.prepost_d(pre, post) == pytest.approx((3.0 - 5 / 3) / 1.0)
