"""Invariants, consistency between tables, reproducibility and bad input of ``simulate``."""

import numpy as np
import pandas as pd
import pytest

from simulation import ParameterError, Parameters, simulate
from simulation.run.engine import simulate_cohort
from simulation.run.tables import build_tables, trajectory_table


@pytest.fixture(scope="module")
def res():
    return simulate("mixed", "experienced", n_patients=240, n_sessions=24, seed=5)


def test_scales_stay_in_range_and_nothing_is_missing(res):
    for table in res.tables().values():
        assert not table.isna().any().any()
    s = res.sessions
    assert s["alliance"].between(0, 1).all() and s["alliance_start"].between(0, 1).all()
    assert s["wai_patient"].between(12, 60).all() and s["wai_therapist"].between(12, 60).all()
    assert s["patient_rupture_intensity"].between(1, 5).all()
    assert s["patient_resolution"].between(0, 5).all()
    assert (s.loc[s["patient_rupture_reported"], "patient_resolution"] >= 1).all()
    assert s["resolution_stage"].between(0, 5).all()
    assert s["symptom"].between(0, 4).all() and s["symptom_true"].between(0, 4).all()
    assert (s["salience_withdrawal"].between(1, 5) | (s["n_withdrawal"] == 0)).all()
    assert (s["strain"] >= 0).all() and s["pattern"].between(0, 1).all()
    p = res.patients
    assert p["pd_severity"].between(0, 1).all() and p["insight"].between(0, 1).all()
    assert set(p["diagnosis"]) == {"no_pd", "bpd", "other_pd"}


def _event_counts(events, kind, by=None):
    sel = events[events["kind"] == kind]
    if by is not None:
        sel = sel[by(sel)]
    return sel.groupby(["patient_id", "session"]).size()


def _session_column(sessions, column):
    return sessions.set_index(["patient_id", "session"])[column]


@pytest.mark.parametrize(
    ("column", "kind", "by"),
    [
        ("n_withdrawal", "marker", lambda e: e["rupture_type"] == "withdrawal"),
        ("n_confrontation", "marker", lambda e: e["rupture_type"] == "confrontation"),
        ("n_missed", "missed", None),
        ("therapist_hostile", "negative", lambda e: e["code"] == "N1"),
        ("therapist_unclear", "negative", lambda e: e["code"] == "N2"),
        ("n_episodes", "stage", lambda e: (e["stage"] == 1) & (e["detail"] == 1)),
        ("n_exploratory", "strategy", lambda e: e["detail"] == 2),
        ("n_immediate", "strategy", lambda e: e["detail"] == 1),
        ("n_resolved", "episode_end", lambda e: e["label"] == "resolved"),
        ("n_partly_resolved", "episode_end", lambda e: e["label"] == "partly resolved"),
        ("n_unresolved", "episode_end", lambda e: e["label"] == "unresolved"),
    ],
)
def test_event_counts_match_session_counts(res, column, kind, by):
    counts = _event_counts(res.events, kind, by)
    expected = _session_column(res.sessions, column)
    got = counts.reindex(expected.index, fill_value=0)
    assert (got.to_numpy() == expected.to_numpy()).all()
    assert expected.sum() > 0


def test_resolution_stage_is_the_deepest_stage_of_the_sessions_episodes(res):
    ends = res.events[res.events["kind"] == "episode_end"].groupby(["patient_id", "session"])["stage"].max()
    stage = _session_column(res.sessions, "resolution_stage")
    assert (ends.reindex(stage.index, fill_value=0).to_numpy() == stage.to_numpy()).all()


def test_marker_events_carry_3rs_codes_and_saliences(res):
    markers = res.events[res.events["kind"] == "marker"]
    assert markers["code"].str.match(r"^[WC][1-7]$").all()
    assert markers["salience"].between(1, 5).all() and markers["observed_salience"].between(1, 5).all()
    assert (markers["code"].str[0] == markers["rupture_type"].astype(str).str[0].str.upper()).all()
    assert res.events["segment"].between(0, res.params["n_segments"] - 1).all()


def test_collaboration_fits_in_the_segments_and_stages_can_be_skipped(res):
    assert res.sessions["collaborative"].between(0, res.params["n_segments"]).all()
    skipped = res.events[(res.events["kind"] == "stage") & (res.events["detail"] == 2)]
    assert len(skipped) > 0, "stages can be skipped (S4)"


def test_courses_are_consistent(res):
    s, p = res.sessions, res.patients
    per_patient = s.groupby("patient_id").agg(
        n=("session", "size"), last=("session", "max"), drops=("dropped_out", "sum")
    )
    p = p.set_index("patient_id")
    assert (per_patient["n"] == p["sessions_attended"]).all()
    assert (per_patient["n"] == per_patient["last"]).all()
    assert (per_patient["drops"] == p["dropped_out"].astype(int)).all()
    # a course runs its planned length or ends early by one of the two exits (dropout, good enough)
    completed = p["sessions_attended"] == res.n_sessions
    expected = np.where(p["dropped_out"], "dropout", np.where(completed, "completed", "good_enough"))
    assert (p["exit_reason"].astype(str) == expected).all()
    assert (p["exit_reason"] == "good_enough").any(), "the good-enough exit is on by default (issue 18)"
    last = s.groupby("patient_id").tail(1).set_index("patient_id")
    assert np.allclose(last["symptom"], p["symptom_post"])
    assert not s.groupby("patient_id").head(-1)["dropped_out"].any()
    assert (res.therapists["n_patients"].sum() == len(p)) and (p["therapist_id"] == p.index // 6).all()


def test_recovery_follows_jacobson_truax(res):
    p, params = res.patients, res.params
    sem = params["symptom_scale_sd"] * np.sqrt(1 - params["symptom_reliability"])
    assert np.allclose(p["rci"], (p["symptom_post"] - p["symptom_pre"]) / (np.sqrt(2) * sem))
    assert (p["recovered"] <= p["reliable_change"]).all()
    assert (p.loc[p["recovered"], "symptom_post"] < params["recovery_cutoff"]).all()
    assert 0 < p["recovered"].mean() < p["reliable_change"].mean() < 1


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = simulate("adult_bpd", "novice", n_patients=30, n_sessions=10, seed=9)
    b = simulate("adult_bpd", "novice", n_patients=30, n_sessions=10, seed=9)
    c = simulate("adult_bpd", "novice", n_patients=30, n_sessions=10, seed=10)
    for name in ("sessions", "patients", "events", "therapists"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert not a.sessions["alliance"].equals(c.sessions["alliance"])


def test_chunking_and_event_recording_change_no_number():
    params = Parameters()
    ids = np.arange(50)
    whole = build_tables(simulate_cohort(params, ids, 12, seed=4), params)
    chunked = build_tables(simulate_cohort(params, ids, 12, seed=4, chunk_size=7), params)
    quiet = build_tables(simulate_cohort(params, ids, 12, seed=4, record_events=False), params)
    for name in ("sessions", "patients", "events"):
        pd.testing.assert_frame_equal(whole[name], chunked[name], check_exact=True)
    pd.testing.assert_frame_equal(whole["sessions"], quiet["sessions"], check_exact=True)
    assert len(quiet["events"]) == 0


def test_a_patient_does_not_depend_on_who_else_is_in_the_cohort():
    big = simulate("mixed", n_patients=40, n_sessions=10, seed=2)
    shifted = simulate("mixed", n_sessions=10, seed=2, patient_ids=list(range(17, 60)))
    alone = simulate("mixed", n_sessions=10, seed=2, patient_ids=[23])
    pick = big.sessions[big.sessions["patient_id"] == 23].reset_index(drop=True)
    pd.testing.assert_frame_equal(pick, alone.sessions, check_exact=True)
    in_shifted = shifted.sessions[shifted.sessions["patient_id"] == 23].reset_index(drop=True)
    pd.testing.assert_frame_equal(pick, in_shifted, check_exact=True)


def test_common_random_numbers_keep_unchanged_parts_identical():
    # A therapist setting that only matters once a marker is noticed leaves intake untouched.
    a = simulate("mixed", "experienced", n_patients=30, n_sessions=6, seed=3)
    b = simulate("mixed", "novice", n_patients=30, n_sessions=6, seed=3)
    intake = ["diagnosis", "pd_severity", "insight", "symptom_pre", "alliance_intake"]
    pd.testing.assert_frame_equal(a.patients[intake], b.patients[intake], check_exact=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": {"noticng": 0.3}}, "did you mean 'noticing'"),
        ({"params": {"noticing": 1.5}}, "'noticing' must be between 0 and 1"),
        ({"params": {"noticing": "high"}}, "'noticing' must be a number"),
        ({"params": {"caseload": 2.5}}, "'caseload' must be a whole number"),
        ({"params": {"share_bpd": 0.9}}, "must sum to 1"),
        ({"population": "teenagers"}, "Unknown population preset 'teenagers'"),
        ({"therapists": "wizard"}, "Unknown therapist preset 'wizard'"),
        ({"engine": "gpu"}, "engine must be one of cohort, agents"),
        ({"n_sessions": 0}, "n_sessions must be a whole number between 1 and 1000"),
        ({"n_patients": -3}, "n_patients must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"patient_ids": [1, 1]}, "patient_ids must be a non-empty list of distinct"),
    ],
)
def test_bad_input_is_rejected_with_one_clear_sentence(kwargs, message):
    with pytest.raises(ParameterError, match=message) as info:
        simulate(**{"n_patients": 5, "n_sessions": 3} | kwargs)
    assert "\n" not in str(info.value)


def test_parameters_replace_validates_again():
    params = Parameters({"noticing": 0.5})
    assert params.replace(skill_mean=0.8)["noticing"] == 0.5
    with pytest.raises(ParameterError):
        params.replace(skill_mean=2.0)


def test_summary_mode_keeps_patients_and_trajectory_without_session_rows():
    params = Parameters()
    ids = np.arange(60)
    full = simulate_cohort(params, ids, 12, seed=8)
    summary = simulate_cohort(params, ids, 12, seed=8, keep_sessions=False, record_events=False, chunk_size=16)
    assert len(summary.sessions) == 0 and len(summary.events) == 0
    full_tables, summary_tables = build_tables(full, params), build_tables(summary, params)
    pd.testing.assert_frame_equal(full_tables["patients"], summary_tables["patients"], check_exact=True)
    traj = trajectory_table(summary)
    by_session = full_tables["sessions"].groupby("session")
    assert (traj["n_attending"].to_numpy() == by_session.size().to_numpy()).all()
    assert np.allclose(traj["alliance"], by_session["alliance"].mean())
    assert np.allclose(traj["rupture_rate"], by_session["rupture_observed"].mean())
    assert traj["dropouts"].sum() == full_tables["patients"]["dropped_out"].sum()


def test_therapists_can_have_their_own_settings_on_both_engines():
    from simulation.model.records import as_matrix
    from simulation.run.engine import intake_therapists

    params = Parameters()
    states = intake_therapists(6, np.arange(5), params)
    states["aft_start_session"] = [8, 16, 8, 16, 0]  # a multiple-baseline switch to AFT
    kwargs = {"n_patients": 30, "n_sessions": 20, "seed": 6, "therapist_states": states}
    cohort = simulate(**kwargs)
    agents = simulate(engine="agents", **kwargs)
    pd.testing.assert_frame_equal(cohort.sessions, agents.sessions, check_exact=True)
    s = cohort.sessions
    first = s[s["therapist_id"] == 0]
    assert (
        not first.loc[first["session"] < 8, "aft_active"].any() and first.loc[first["session"] >= 8, "aft_active"].all()
    )
    assert not s.loc[s["therapist_id"] == 4, "aft_active"].any()
    as_float_matrix = simulate(**{**kwargs, "therapist_states": as_matrix(states).copy()})
    pd.testing.assert_frame_equal(cohort.sessions, as_float_matrix.sessions, check_exact=True)
    with pytest.raises(ParameterError, match="therapist_states must"):
        simulate(n_patients=30, n_sessions=3, therapist_states=states[:2])
    with pytest.raises(ParameterError, match="therapist_states must"):
        simulate(n_patients=30, n_sessions=3, therapist_states=as_matrix(states)[:, :4])
