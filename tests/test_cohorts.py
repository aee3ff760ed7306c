"""Virtual samples of the validation studies (simulation.validation.cohorts)."""

from __future__ import annotations

import math

import numpy as np

from simulation import simulate
from simulation.run import outcomes
from simulation.validation.cohorts import Sample, design_parameters, pd_shares


def test_cohort_arrays_agree_with_the_patients_table():
    params = design_parameters({}, population="mixed")
    c = Sample(11).cohort(params, 60, 12)
    table = simulate("mixed", "experienced", n_patients=60, n_sessions=12, seed=11, events=False).patients
    assert np.allclose(c.symptom_post, table["symptom_post"])
    assert np.array_equal(c.reliably_improved, table["reliable_change"])
    assert np.array_equal(c.recovered, table["recovered"])
    assert np.array_equal(c.dropped_out, table["dropped_out"])
    assert np.array_equal(c.mean_resolution_stage, table["mean_resolution_stage"])
    wai = c.per_patient_mean(c.s("wai_patient"))
    sessions = simulate("mixed", "experienced", n_patients=60, n_sessions=12, seed=11, events=False).sessions
    assert np.allclose(wai, sessions.groupby("patient_id")["wai_patient"].mean())


def test_sample_gives_disjoint_ids_aligned_to_the_caseload():
    sample = Sample(3)
    a, b = sample.ids(10, 6), sample.ids(5, 6)
    assert set(a).isdisjoint(b)
    assert b[0] % 6 == 0 and set(a // 6).isdisjoint(b // 6)


def test_patients_without_an_episode_have_stage_zero_and_are_left_out_of_stage_averages():
    c = Sample(4).cohort(design_parameters({}, population="mixed"), 40, 3)
    none = c.n_episodes == 0
    assert none.any() and (~none).any()
    assert (c.mean_resolution_stage[none] == 0).all() and (c.mean_resolution_stage[~none] >= 1).all()
    where = outcomes.stage_where_episode(c.mean_resolution_stage, c.n_episodes)
    assert np.isnan(where[none]).all() and not np.isnan(where[~none]).any()


def test_pd_shares_split_the_pd_patients():
    shares = pd_shares(0.6, bpd_part=0.25)
    assert math.isclose(sum(shares.values()), 1.0)
    assert math.isclose(shares["share_bpd"], 0.15) and math.isclose(shares["share_other_pd"], 0.45)
