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


# --- courses over time (T15-T17) ----------------------------------------------------------------------------


def test_first_session_finds_the_first_reached_session_of_each_patient():
    rows = np.array([0, 0, 0, 1, 1, 2])
    session = np.array([1, 2, 3, 1, 2, 1])
    reached = np.array([False, True, True, False, False, True])
    assert stats.first_session(rows, session, reached, 4).tolist() == [2, math.inf, 1, math.inf]


def test_cumulative_incidence_is_kaplan_meier_among_those_at_risk_not_completers():
    # Five patients: events after sessions 1, 2 and 4; one leaves after session 2 without it (censored),
    # one completes 4 sessions without it. At risk: s1 5, s2 4 (one event), s3 2 (one left), s4 2.
    event = np.array([1, 2, math.inf, 4, math.inf])
    last = np.array([4, 4, 2, 4, 4])
    curve = stats.cumulative_incidence(event, last, 4)
    survival = np.cumprod([1 - 1 / 5, 1 - 1 / 4, 1 - 0 / 2, 1 - 1 / 2])
    np.testing.assert_allclose(curve, 1 - survival)
    assert curve[3] == pytest.approx(0.7)  # 70% by session 4, where completers alone would give 3 of 4 or 3 of 5
    assert math.isnan(stats.cumulative_incidence(event, last, 6)[-1])  # nobody at risk at session 5


def test_part_hazards_count_leavers_over_sessions_at_risk_in_each_part():
    # An 8-session course in 2 halves (leaving possible after sessions 1-4 and 5-7).
    attended = np.array([1, 2, 6, 8, 8, 3])
    left = np.array([True, True, True, False, False, False])  # the last patient left for a reason not counted
    h = stats.part_hazards(left, attended, 8, 2)
    # first half: exposures 1 + 2 + 4 + 4 + 4 + 3 = 18, two leavers; second half: exposures 2 + 3 + 3 = 8, one leaver
    assert h[0] == pytest.approx(1 - (1 - 2 / 18) ** 4)
    assert h[1] == pytest.approx(1 - (1 - 1 / 8) ** 4)
    flat = stats.part_hazards(np.zeros(4, bool), np.full(4, 8), 8, 4)
    assert flat.tolist() == [0, 0, 0, 0]


def test_patient_slopes_recover_planted_lines_and_their_signs():
    session = np.tile(np.arange(1.0, 11.0), 3)
    rows = np.repeat([0, 1, 2], 10)
    y = np.concatenate([2.0 + 0.3 * (session[:10] - 1), 5.0 - 0.2 * (session[:10] - 1), np.full(10, 1.0)])
    slope, start = stats.patient_slopes(rows, session, y, 4)
    np.testing.assert_allclose(slope[:3], [0.3, -0.2, 0.0], atol=1e-12)
    np.testing.assert_allclose(start[:3], [2.0, 5.0, 1.0], atol=1e-12)
    assert math.isnan(slope[3]) and math.isnan(start[3])  # a patient without sessions has no line
    few = stats.patient_slopes(np.array([0, 0]), np.array([1.0, 2.0]), np.array([0.0, 1.0]), 1)
    assert math.isnan(few[0][0])  # fewer than three points


def test_prepost_d_refuses_pre_and_post_of_different_patients():
    with pytest.raises(ValueError, match="same patients"):
        stats.prepost_d(np.array([2.0, 3.0, 4.0]), np.array([1.0, 2.0]))


def test_patient_slopes_keep_their_precision_far_from_zero():
    # sessions offset by 1e8 (a date-like clock): raw sums of squares would lose the slope to rounding
    session = np.tile(np.arange(1.0, 11.0), 2)
    rows = np.repeat([0, 1], 10)
    y = np.concatenate([2.0 + 0.3 * (session[:10] - 1), 5.0 - 0.2 * (session[:10] - 1)])
    near, _ = stats.patient_slopes(rows, session, y, 2)
    far, start = stats.patient_slopes(rows, session + 1e8, y, 2, at=1e8 + 1)
    np.testing.assert_allclose(far, near, rtol=1e-9)
    np.testing.assert_allclose(start, [2.0, 5.0], atol=1e-6)
