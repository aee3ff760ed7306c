"""The Mesa agent view (simulation.view.model, simulation.view.agents) against the cohort engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from equivalence import setting_values

from simulation import simulate
from simulation.api import TABLES, resolve_parameters
from simulation.model.parameters import Parameters
from simulation.run.engine import RawCohort, intake_therapists, simulate_cohort
from simulation.view.agents import Patient, Therapist
from simulation.view.model import MODEL_REPORTERS, RuptureModel

RAW_FIELDS = ("intake", "final", "patient_ids", "therapist_ids", "therapists", "therapist_index", "sessions", "events")

# population, therapists, n_patients, n_sessions, seed, spread, shares, forced overrides, options
SETTINGS = [
    ("mixed", "experienced", 40, 30, 0, 0.2, False, {}, {}),
    ("adult_bpd", "novice", 30, 16, 1, 1.0, False, {}, {}),
    ("adolescent_bpd", "aft_trained", 25, 20, 2, 0.3, True, {}, {}),
    ("cluster_c", "immediate_only", 30, 12, 3, 1.0, True, {}, {}),
    ("depression", "experienced", 20, 24, 4, 0.5, False, {}, {}),
    ("pd_vs_non_pd", "novice", 36, 48, 5, 0.2, True, {}, {}),
    ("mixed", "experienced", 30, 24, 6, 0.1, False, {"aft_start_session": 5, "caseload": 4}, {}),
    ("adult_bpd", "experienced", 40, 30, 7, 0.1, False, {"dropout_base_logit": -4.0}, {}),
    ("mixed", "novice", 0, 20, 8, 0.3, True, {}, {"patient_ids": [57, 3, 12, 900, 4, 5, 31], "events": False}),
    ("pd_vs_non_pd", "aft_trained", 15, 1, 9, 1.0, True, {}, {}),
    ("mixed", "experienced", 12, 10, 2**40 + 3, 1.0, True, {"n_segments": 30}, {}),
]


def setting_overrides(index: int) -> dict[str, float]:
    """Setting ``index``'s values: the parameters whose turn it is (tests/equivalence.py), then the forced ones."""
    *_, spread, shares, forced, _options = SETTINGS[index]
    return {**setting_values(index, len(SETTINGS), spread, shares), **forced}


def run_both(index: int) -> tuple:
    population, therapists, n_patients, n_sessions, seed, *_, options = SETTINGS[index]
    kwargs = dict(n_patients=n_patients, n_sessions=n_sessions, seed=seed, params=setting_overrides(index), **options)
    cohort = simulate(population, therapists, engine="cohort", **kwargs)
    agents = simulate(population, therapists, engine="agents", **kwargs)
    return cohort, agents


def assert_same_tables(left, right) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), check_exact=True, obj=name)


@pytest.mark.parametrize("index", range(len(SETTINGS)))
def test_agents_and_cohort_give_identical_tables(index):
    cohort, agents = run_both(index)
    assert len(cohort.sessions) > 0
    assert_same_tables(cohort, agents)
    assert agents.meta["engine"] == "agents"


def test_settings_cover_aft_switch_and_dropouts():
    _, aft = run_both(6)
    assert set(aft.sessions["aft_active"]) == {False, True}
    assert not aft.sessions.loc[aft.sessions["session"] < 5, "aft_active"].any()
    assert aft.sessions.loc[aft.sessions["session"] >= 5, "aft_active"].all()
    _, dropouts = run_both(7)
    assert dropouts.patients["dropped_out"].any()
    assert len(dropouts.sessions) < 40 * 30


@pytest.mark.parametrize("index", [0, 7, 8])
def test_raw_arrays_are_identical(index):
    population, therapists, n_patients, n_sessions, seed, *_, options = SETTINGS[index]
    params = resolve_parameters(population, therapists, setting_overrides(index))
    ids = np.asarray(options.get("patient_ids", range(n_patients)), dtype=np.int64)
    record = options.get("events", True)
    engine_raw = simulate_cohort(params, ids, n_sessions, seed, record_events=record)
    model = RuptureModel(params, ids, n_sessions=n_sessions, seed=seed, record_events=record)
    model.run()
    assert_same_raw(engine_raw, model.raw())


def assert_same_raw(left: RawCohort, right: RawCohort) -> None:
    for name in RAW_FIELDS:
        a, b = getattr(left, name), getattr(right, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), name


def test_given_therapist_states_are_used_like_the_engine():
    params = Parameters({"caseload": 3})
    ids = np.arange(12)
    table = intake_therapists(11, np.arange(4), params)
    table["aft_start_session"] = [0, 1, 4, 8]  # staggered alliance-focused training
    engine_raw = simulate_cohort(params, ids, 12, 11, therapists=table)
    model = RuptureModel(params, ids, n_sessions=12, seed=11, therapists=table)
    model.run()
    assert_same_raw(engine_raw, model.raw())
    therapist = model.therapist(2)
    assert therapist.aft_start_session == 4
    assert [therapist.aft_active(s) for s in (1, 3, 4, 9)] == [False, False, True, True]
    assert not model.therapist(0).aft_active(12)


@pytest.mark.parametrize("engine", ["cohort", "agents"])
def test_patient_alone_equals_patient_in_cohort(engine):
    overrides = setting_overrides(7)  # a setting with dropouts
    kwargs = dict(population="adult_bpd", n_sessions=20, seed=13, params=overrides, engine=engine)
    cohort = simulate(n_patients=30, **kwargs)
    for pid in (0, 7, 22, 29):
        alone = simulate(patient_ids=[pid], **kwargs)
        for name in ("sessions", "patients", "events"):
            table = getattr(cohort, name)
            mine = table[table["patient_id"] == pid].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, getattr(alone, name), check_exact=True, obj=f"{name} of {pid}")
        therapists = cohort.therapists.drop(columns="n_patients")
        mine = therapists[therapists["therapist_id"] == alone.therapists.loc[0, "therapist_id"]]
        pd.testing.assert_frame_equal(
            mine.reset_index(drop=True), alone.therapists.drop(columns="n_patients"), check_exact=True
        )


def run_model(index: int = 7, n_patients: int = 40) -> tuple[RuptureModel, pd.DataFrame]:
    population, therapists, _, n_sessions, seed, *_ = SETTINGS[index]
    params = resolve_parameters(population, therapists, setting_overrides(index))
    model = RuptureModel(params, range(n_patients), n_sessions=n_sessions, seed=seed)
    model.run()
    sessions = simulate(population, therapists, n_patients, n_sessions, seed, setting_overrides(index)).sessions
    return model, sessions


def test_datacollector_reports_one_row_per_week_consistent_with_sessions():
    model, sessions = run_model()
    weekly = model.datacollector.get_model_vars_dataframe()
    n_weeks = int(sessions["session"].max())
    assert model.week == model.steps == n_weeks == len(weekly)
    assert list(weekly.columns) == list(MODEL_REPORTERS)
    assert weekly["week"].tolist() == list(range(1, n_weeks + 1))
    by_week = sessions.groupby("session")
    np.testing.assert_array_equal(weekly["active_patients"], by_week.size())
    np.testing.assert_allclose(weekly["mean_alliance"], by_week["alliance"].mean(), rtol=1e-12)
    np.testing.assert_allclose(weekly["rupture_share"], by_week["rupture_observed"].mean(), rtol=1e-12)
    np.testing.assert_array_equal(weekly["dropouts"], by_week["dropped_out"].sum().cumsum())
    assert weekly["dropouts"].iloc[-1] > 0


def test_patient_reporters_follow_each_course():
    model, sessions = run_model(n_patients=24)
    per_patient = model.datacollector.get_agenttype_vars_dataframe(Patient).reset_index()
    assert len(per_patient) == model.week * 24
    assert {"alliance", "symptom", "strain"} <= set(per_patient.columns)
    # Each week a patient reports its state after its last attended session so far.
    attended = per_patient.merge(sessions, left_on=["patient_id", "Step"], right_on=["patient_id", "session"])
    assert len(attended) == len(sessions)
    np.testing.assert_array_equal(attended["strain_x"], attended["strain_y"])
    # The alliance a patient carries is the session's, lifted by the session's symptom gain (T19, carry_over).
    assert (attended["alliance_x"] >= attended["alliance_y"]).all()
    assert (attended["alliance_x"] == attended["alliance_y"]).mean() > 0.3
    np.testing.assert_array_equal(attended["symptom_x"], attended["symptom_true"])


def test_model_stops_when_every_course_is_over():
    model = RuptureModel(Parameters(), [4], n_sessions=3, seed=0)
    steps = 0
    while model.running:
        model.step()
        steps += 1
        assert steps <= 3
    assert not model.running and model.steps == steps == model.week
    assert not model.patients[0].in_treatment
    model.step()  # no course left: a further step holds no session
    assert model.week == steps and model.patients[0].sessions_attended == steps
    assert len(model.datacollector.get_model_vars_dataframe()) == steps


def test_model_runs_to_the_end_of_the_longest_course():
    model, sessions = run_model()
    assert not model.running
    assert not any(patient.in_treatment for patient in model.patients)
    assert model.week == max(patient.sessions_attended for patient in model.patients)
    assert all(patient.dropped_out or patient.course_finished for patient in model.patients)
    assert model.run() is None and model.week == sessions["session"].max()


def test_agents_are_mesa_agents_with_therapy_names():
    model, _ = run_model(index=0, n_patients=13)
    result = simulate("mixed", "experienced", 13, 30, 0, setting_overrides(0))
    patients = result.patients.set_index("patient_id")
    assert len(model.agents) == 13 + len(result.therapists)
    assert len(model.agents_by_type[Patient]) == 13
    assert {agent.unique_id for agent in model.agents} == set(range(1, len(model.agents) + 1))
    for patient in model.patients:
        row = patients.loc[patient.patient_id]
        assert patient.diagnosis == row["diagnosis"]
        assert patient.pd_severity == row["pd_severity"]
        assert patient.alliance == row["alliance_final"]
        assert patient.sessions_attended == row["sessions_attended"]
        assert patient.dropped_out == row["dropped_out"]
        assert patient.therapist.therapist_id == row["therapist_id"]
        assert patient in patient.therapist.caseload
        assert model.patient(patient.patient_id) is patient
    therapists = result.therapists.set_index("therapist_id")
    for therapist in model.agents_by_type[Therapist]:
        assert therapist.skill == therapists.loc[therapist.therapist_id, "skill"]
        assert len(therapist.caseload) == therapists.loc[therapist.therapist_id, "n_patients"]


def test_last_week_records_can_narrate_the_week():
    population, therapists, _, n_sessions, seed, *_ = SETTINGS[0]
    overrides = setting_overrides(0)
    params = resolve_parameters(population, therapists, overrides)
    model = RuptureModel(params, range(12), n_sessions=n_sessions, seed=seed)
    for _ in range(3):
        model.step()
    result = simulate(population, therapists, 12, n_sessions, seed, overrides)
    expected_sessions = result.sessions[result.sessions["session"] == 3].reset_index(drop=True)
    expected_events = result.events[result.events["session"] == 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(model.last_week_sessions, expected_sessions, check_exact=True)
    pd.testing.assert_frame_equal(model.last_week_events, expected_events, check_exact=True)
    assert model.last_week_rows.shape == (len(expected_sessions),)
    assert model.last_week_event_rows.shape == (len(expected_events),)
    assert {"segment", "kind", "code", "label", "rupture_type", "stage"} <= set(model.last_week_events.columns)
    patient = model.patient(0)
    assert patient.last_session["session"] == 3
    assert patient.last_session["alliance"] == patient.alliance
    assert len(patient.last_events) == (expected_events["patient_id"] == 0).sum()
