"""Figure data of the main job (simulation.report.figures); the drawn PNGs are checked in test_cli.py."""

from __future__ import annotations

import math

import pandas as pd

from simulation.report.figures import patient_outcomes


def test_patient_outcomes_weigh_resolution_depth_by_the_sessions_with_an_episode():
    sessions = pd.DataFrame({"patient_id": [0, 0, 0, 1], "resolution_stage": [2, 0, 5, 0]})
    patients = pd.DataFrame(
        {
            "patient_id": [0, 1],
            "diagnosis": ["bpd", "no_pd"],
            "n_episodes": [3, 0],
            "n_resolved": [1, 0],
            "mean_resolution_stage": [3.5, 0.0],
            "recovered": [False, True],
            "dropped_out": [True, False],
        }
    )
    out = patient_outcomes(sessions, patients).set_index("patient_id")
    assert out.loc[0, "stage_mean"] == 3.5 and out.loc[0, "stage_sessions"] == 2
    assert math.isnan(out.loc[1, "stage_mean"]) and out.loc[1, "stage_sessions"] == 0
    assert math.isclose(out.loc[0, "resolved_share"], 100 / 3) and math.isnan(out.loc[1, "resolved_share"])
    assert list(out["recovered_pct"]) == [0.0, 100.0] and list(out["dropout_pct"]) == [100.0, 0.0]
