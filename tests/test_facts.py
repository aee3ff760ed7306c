"""The qualitative facts of the literature hold with the default parameters.

Fixed seeds and cohorts large enough that the directions are far beyond
sampling noise. Calibrated numbers are checked by the validation studies.
"""

import pandas as pd
import pytest
from scipy import stats

from simulation import simulate


@pytest.fixture(scope="module")
def mixed():
    res = simulate("mixed", "experienced", n_patients=2000, n_sessions=30, seed=20261126, events=False)
    sessions = res.sessions.merge(res.patients[["patient_id", "diagnosis"]], on="patient_id")
    return res, sessions


def test_pd_sessions_show_more_observed_ruptures_than_no_pd_sessions(mixed):
    _, s = mixed
    rate = s.groupby("diagnosis", observed=True)["rupture_observed"].mean()
    assert rate["bpd"] > rate["no_pd"] + 0.2
    assert rate["other_pd"] > rate["no_pd"] + 0.1


def test_in_bpd_withdrawal_markers_are_more_frequent_and_confrontation_more_salient(mixed):
    _, s = mixed
    bpd = s[s["diagnosis"] == "bpd"]
    assert bpd["n_withdrawal"].sum() > 1.3 * bpd["n_confrontation"].sum()  # T2
    w = bpd.loc[bpd["n_withdrawal"] > 0, "salience_withdrawal"].mean()
    c = bpd.loc[bpd["n_confrontation"] > 0, "salience_confrontation"].mean()
    assert c > w + 0.5


def test_resolved_ruptures_raise_the_alliance_and_unresolved_ones_lower_it(mixed):
    _, s = mixed
    change = s["alliance"] - s["alliance_start"]
    ruptured = s["n_withdrawal"] + s["n_confrontation"] > 0
    resolved = s["resolved"]
    unresolved = ruptured & (s["n_resolved"] == 0)
    assert change[resolved].mean() > 0.005
    assert change[unresolved].mean() < 0 and stats.ttest_1samp(change[unresolved], 0).pvalue < 1e-6
    assert stats.ttest_ind(change[resolved], change[unresolved]).pvalue < 1e-10


def test_deeper_resolution_goes_with_greater_symptom_improvement(mixed):
    res, _ = mixed
    p = res.patients[res.patients["n_episodes"] > 0]
    r, pvalue = stats.pearsonr(p["mean_resolution_stage"], p["symptom_change"])
    assert r < 0 and pvalue < 0.01  # T6: complexity correlates negatively with symptom change
    by_group = p.groupby("complexity_group", observed=True)["symptom_change"].mean()
    assert by_group["deep (>=3)"] < by_group["shallow (<2.5)"]


def test_resolution_complexity_matters_most_for_bpd(mixed):
    res, _ = mixed
    p = res.patients[res.patients["n_episodes"] > 0]
    r = {d: stats.pearsonr(g["mean_resolution_stage"], g["symptom_change"])[0] for d, g in p.groupby("diagnosis")}
    assert r["bpd"] < -0.1
    assert r["bpd"] < r["no_pd"]


def test_pd_patients_report_more_intense_ruptures(mixed):
    _, s = mixed
    per_patient = s.groupby(["patient_id", "diagnosis"], observed=True)["patient_rupture_intensity"].mean()
    per_patient = per_patient.reset_index()
    pd_group = per_patient["diagnosis"] != "no_pd"
    assert (
        per_patient.loc[pd_group, "patient_rupture_intensity"].mean()
        > per_patient.loc[~pd_group, "patient_rupture_intensity"].mean()
    )  # T3


def test_therapists_are_more_hostile_with_pd_patients(mixed):
    _, s = mixed
    hostile = s.groupby("diagnosis", observed=True)["therapist_hostile"].mean()
    assert hostile["bpd"] > hostile["no_pd"] and hostile["other_pd"] > hostile["no_pd"]  # T4, T5


def test_an_exploratory_repertoire_deepens_resolution():
    kwargs = {"population": "adult_bpd", "n_patients": 400, "n_sessions": 16, "seed": 7, "events": False}
    full = simulate(therapists="experienced", **kwargs).sessions
    immediate = simulate(therapists="immediate_only", **kwargs).sessions
    assert (
        full.loc[full["n_episodes"] > 0, "resolution_stage"].mean()
        > immediate.loc[immediate["n_episodes"] > 0, "resolution_stage"].mean()
    )
    assert immediate["resolution_stage"].max() <= 3
    assert pd.Series(full["resolution_stage"]).max() == 5
