"""Tests of the outcomes declared once (simulation.run.outcomes) on small hand-made inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simulation import simulate
from simulation.run import outcomes

# SEM = 0.6 * sqrt(1 - 0.9) = .18974; RCI = change / (sqrt 2 * SEM) = change / .26833
SCALE = {"symptom_scale_sd": 0.6, "symptom_reliability": 0.9, "recovery_cutoff": 1.2}


def test_reliable_change_index_and_its_critical_value():
    rci = outcomes.reliable_change_index(np.array([-0.6, -0.5, 0.6]), SCALE)
    assert rci == pytest.approx([-2.2361, -1.8634, 2.2361], abs=1e-4)
    assert list(outcomes.reliably_improved(rci)) == [True, False, False]


def test_recovery_needs_reliable_improvement_and_a_post_score_below_the_cutoff():
    rci = outcomes.reliable_change_index(np.array([-0.6, -0.6, -0.5]), SCALE)
    post = np.array([1.0, 1.3, 0.5])  # recovered; above the cut-off; not reliably improved
    assert list(outcomes.recovered(rci, post, SCALE)) == [True, False, False]


def test_mean_resolution_stage_is_zero_without_an_episode():
    stage = outcomes.mean_resolution_stage(np.array([7.0, 0.0, 3.0]), np.array([2.0, 0.0, 1.0]))
    assert list(stage) == [3.5, 0.0, 3.0]
    where = outcomes.stage_where_episode(stage, np.array([2, 0, 1]))
    assert where[0] == 3.5 and math.isnan(where[1])


def test_complexity_groups_by_mean_stage():
    groups = outcomes.complexity_group(np.array([0, 1, 1, 1, 1]), np.array([0.0, 2.4, 2.5, 2.99, 3.0]))
    assert list(groups) == ["none", "shallow (<2.5)", "middle (2.5-3)", "middle (2.5-3)", "deep (>=3)"]
    assert groups.ordered


def test_group_outcomes_are_ratios_of_sums_and_stage_is_patient_weighted():
    patients = pd.DataFrame(
        {
            "run": [0, 0, 1],
            "n_sessions_rupture_observed": [1, 3, 0],
            "sessions_attended": [4, 6, 5],
            "n_resolved": [1, 0, 0],
            "n_episodes": [2, 2, 0],
            "dropped_out": [False, True, False],
            "symptom_change": [-1.0, 0.5, 0.0],
            "recovered": [True, False, False],
            "mean_resolution_stage": [2.0, 4.0, 0.0],
        }
    )
    out = outcomes.group_outcomes(outcomes.group_sums(patients, ["run"]))
    assert list(out.columns) == list(outcomes.GROUP_OUTCOMES)
    first = out.loc[0]
    assert first["rupture_rate"] == 0.4  # 4 of 10 sessions, not the mean of 1/4 and 3/6
    assert first["resolution_rate"] == 0.25
    assert (first["dropout"], first["recovery"], first["symptom_change"]) == (0.5, 0.5, -0.25)
    assert first["resolution_stage"] == 3.0
    assert math.isnan(out.loc[1, "resolution_rate"]) and math.isnan(out.loc[1, "resolution_stage"])


def test_session_resolution_depth_leaves_out_sessions_without_an_episode():
    assert outcomes.session_resolution_depth(pd.Series([0, 2, 3, 0, 4])) == 3.0
    assert math.isnan(outcomes.session_resolution_depth(pd.Series([0, 0])))


def test_the_patients_table_agrees_with_the_outcomes():
    res = simulate("mixed", "experienced", n_patients=60, n_sessions=12, seed=3, events=False)
    p = res.patients
    rci = outcomes.reliable_change_index(p["symptom_change"], res.params)
    assert np.array_equal(rci, p["rci"])
    assert np.array_equal(outcomes.recovered(rci, p["symptom_post"], res.params), p["recovered"])
    groups = outcomes.complexity_group(p["n_episodes"].to_numpy(), p["mean_resolution_stage"].to_numpy())
    assert list(groups) == list(p["complexity_group"])
