"""The session's therapy steps, called one at a time on records (unit tests of session.py)."""

import numpy as np
import pytest

from simulation.model import session as steps
from simulation.model.parameters import Parameters
from simulation.model.records import DETAIL_EVENTS, IN_SESSION, PATIENT, SESSION, THERAPIST
from simulation.model.taxonomy import CONFRONTATION, EV_MISSED, EV_STAGE, WITHDRAWAL

P = Parameters().model_params()


def record(dtype, **fields):
    rec = np.zeros(1, dtype)[0]
    for name, value in fields.items():
        rec[name] = value
    return rec


def blank_session():
    """A row and the session in progress (with its event log), as ``set_up_session`` leaves them."""
    row, work = record(SESSION), record(IN_SESSION)
    steps.start_session_work(work, detail=DETAIL_EVENTS)
    return row, work


def test_aft_applies_from_its_start_session():
    never = record(THERAPIST, aft_start_session=0)
    assert not steps.therapist_in_aft(never, 10)
    trained = record(THERAPIST, aft_start_session=8)
    assert not steps.therapist_in_aft(trained, 7)
    assert steps.therapist_in_aft(trained, 8)


def test_set_up_session_sharpens_the_therapist_with_aft():
    patient = record(PATIENT, pd_severity=0.8, alliance=0.5, insight=0.4, withdrawal_tendency=1, pattern=1)
    therapist = record(THERAPIST, skill=0.5, noticing=0.3, reactivity=0.2, exploratory_repertoire=1,
                       exploratory_preference=0.4, aft_start_session=1)  # fmt: skip
    row, work = blank_session()
    who = {"pid": 3, "tid": 1, "session": 2, "course_length": 30, "patient": patient, "therapist": therapist}
    with_aft = steps.set_up_session(**who, p=P, row=row, work=work, detail=DETAIL_EVENTS)
    therapist["aft_start_session"] = 0
    without = steps.set_up_session(**who, p=P, row=row, work=work, detail=DETAIL_EVENTS)
    assert with_aft.aft and not without.aft
    assert with_aft.noticing > without.noticing
    assert with_aft.reactivity < without.reactivity
    assert with_aft.explore_preference > without.explore_preference
    assert row["patient_id"] == 3 and row["session"] == 2 and row["alliance_start"] == 0.5


def test_a_missed_marker_stays_unrepaired_and_is_logged():
    row, work = blank_session()
    marker = steps.Marker(WITHDRAWAL, 2, 3, 3, 0.05, 0.02)
    steps.marker_missed(marker, 4, row, work)
    assert row["n_missed"] == 1 and row["n_unrepaired"] == 1
    assert work["unresolved_dip"] == pytest.approx(0.05)
    assert work["n_events"] == 1 and work["events"][0]["kind"] == EV_MISSED and work["events"][0]["segment"] == 4


def test_an_episode_opens_at_stage_one_and_a_flare_up_adds_its_dip():
    row, work = blank_session()
    steps.open_episode(steps.Marker(CONFRONTATION, 9, 4, 4, 0.08, 0.04), 1, row, work)
    assert work["episode_open"] and work["episode_stage"] == 1 and work["episode_type"] == CONFRONTATION
    assert row["n_episodes"] == 1 and work["events"][0]["kind"] == EV_STAGE
    g = np.uint64(12345)
    steps.episode_flares_up(g, steps.Marker(CONFRONTATION, 10, 2, 2, 0.03, 0.01), 2, row, work, P)
    assert work["episode_dip"] == pytest.approx(0.11)
    assert work["episode_stage"] == 1  # at stage 1 there is nothing to fall back from


def test_closing_an_unresolved_episode_leaves_its_dip_as_strain():
    row, work = blank_session()
    steps.open_episode(steps.Marker(WITHDRAWAL, 1, 3, 3, 0.06, 0.0), 0, row, work)
    steps.close_episode(0, row, work, P)
    assert row["n_unresolved"] == 1 and not work["episode_open"]
    assert work["unresolved_dip"] == pytest.approx(0.06) and work["repairs"] == 0.0


def test_after_the_session_the_patient_carries_the_rows_state():
    patient = record(PATIENT, alliance=0.5, strain=0.1, pattern=1.0, symptom_true=2.0, sessions_attended=3)
    row = record(SESSION, alliance=0.55, strain=0.05, pattern=0.9, symptom_true=1.8, dropped_out=1)
    steps.carry_over(patient, row, P)
    lifted = 0.55 + P.gain_alliance_effect * 0.2  # the symptom gain lifts the alliance of the next session (T19)
    assert (patient["alliance"], patient["strain"], patient["pattern"], patient["symptom_true"]) == pytest.approx(
        (lifted, 0.05, 0.9, 1.8)
    )
    assert patient["sessions_attended"] == 4 and patient["dropped_out"] == 1
