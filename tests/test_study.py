"""The main job's outcome table (simulation.report.study.summary_table) on a tiny hand-made study."""

from __future__ import annotations

import math

import pandas as pd

from simulation.report.study import SUMMARY_HEADERS, summary_table


def _tiny_study() -> tuple[pd.DataFrame, pd.DataFrame]:
    condition = pd.Categorical(["a", "a", "a", "a"], categories=["a"])
    sessions = pd.DataFrame(
        {
            "condition": condition,
            "patient_id": [0, 0, 0, 1],
            "rupture_observed": [True, False, True, False],
            "patient_rupture_reported": [False, False, True, False],
            "resolution_stage": [2, 0, 5, 0],  # patient 0: sessions with an episode at stages 2 and 5
            "n_resolved": [0, 0, 1, 0],
            "n_episodes": [1, 0, 2, 0],
        }
    )
    patients = pd.DataFrame(
        {
            "condition": pd.Categorical(["a", "a"], categories=["a"]),
            "patient_id": [0, 1],
            "diagnosis": ["bpd", "no_pd"],
            "dropped_out": [True, False],
            "recovered": [False, True],
            "symptom_change": [-0.5, -1.5],
        }
    )
    return sessions, patients


def test_summary_pools_sessions_and_episodes_over_the_condition():
    row = summary_table(*_tiny_study()).set_index("diagnosis").loc["all"]
    assert list(summary_table(*_tiny_study()).columns) == list(SUMMARY_HEADERS)
    assert row["patients"] == 2
    assert row["observed_rupture_pct"] == 50.0  # 2 of 4 sessions
    assert row["patient_reported_rupture_pct"] == 25.0
    assert row["session_resolution_depth"] == 3.5  # session-weighted over the 2 sessions with an episode
    assert math.isclose(row["resolution_rate_pct"], 100 / 3)  # 1 of 3 episodes
    assert (row["dropout_pct"], row["recovered_pct"], row["symptom_change"]) == (50.0, 50.0, -1.0)


def test_a_diagnosis_without_episodes_has_no_resolution_depth():
    row = summary_table(*_tiny_study()).set_index("diagnosis").loc["no_pd"]
    assert math.isnan(row["session_resolution_depth"]) and row["observed_rupture_pct"] == 0.0
