"""Each rule pushes in the direction the literature says (unit tests of rules.py)."""

import itertools

import numpy as np
import pytest

from simulation.model import keyed_random as kr
from simulation.model import rules
from simulation.model.parameters import Parameters
from simulation.model.records import PATIENT
from simulation.model.taxonomy import (
    CONFRONTATION,
    EXPLORATORY,
    IMMEDIATE,
    NONE,
    OTHER,
    PARTLY_RESOLVED,
    RESOLVED,
    UNRESOLVED,
    WITHDRAWAL,
)

P = Parameters().model_params()
#: The defaults with every dynamics mechanism switched off (strength 0), for tests of what "off" means.
OFF = Parameters(
    {
        name: 0.0
        for name in (
            "deference_voicing", "disengagement_strain", "working_through_gain", "gain_alliance_effect",
            "dropout_disengagement_effect", "demoralization_share", "characterological_share",
            "therapist_withdrawal_blindness", "felt_rupture_dent", "dropout_decline_effect", "good_enough_ending",
            "strategy_fit_strength", "therapist_repair_registration",
        )
    }
).model_params()  # fmt: skip


def key(seed, pid, session, segment):
    """Segment key as numba expects it back (uint64)."""
    return np.uint64(kr.segment_key(np.uint64(kr.session_key(seed, pid, session)), segment))


def patient(severity=0.5, withdrawal=1.0, confrontation=0.5, pattern=1.0):
    record = np.zeros(1, PATIENT)[0]
    record["pd_severity"] = severity
    record["withdrawal_tendency"] = withdrawal
    record["confrontation_tendency"] = confrontation
    record["pattern"] = pattern
    return record


def total_hazard(**kwargs):
    args = {"alliance": 0.6, "strain": 0.0, "provoked": 0.0} | kwargs
    state = patient(**{k: v for k, v in args.items() if k in ("severity", "pattern")})
    return sum(
        rules.rupture_hazard(
            patient=state, alliance=args["alliance"], strain=args["strain"], provoked=args["provoked"], p=P
        )
    )


def test_rupture_hazard_rises_with_severity_weak_alliance_strain_rigidity_and_provocation():
    base = total_hazard()
    assert total_hazard(severity=0.9) > base
    assert total_hazard(alliance=0.3) > base
    assert total_hazard(strain=0.3) > base
    assert total_hazard(provoked=0.5) > base
    assert total_hazard(pattern=0.5) < base


def test_rupture_hazard_splits_by_the_patients_tendencies():
    lam_w, lam_c = rules.rupture_hazard(
        patient=patient(withdrawal=1.0, confrontation=0.25), alliance=0.6, strain=0.0, provoked=0.0, p=OFF
    )
    assert lam_w == pytest.approx(4 * lam_c)  # without deference the tendencies come out as they are


def test_a_provocation_adds_to_the_unprovoked_hazard_in_proportion_to_the_tendencies():
    assert rules.provoked_hazard(calm_w=0.1, calm_c=0.05, w=1.0, c=0.5, provoked=0.0) == (
        0.1,
        0.05,
    )  # none: exactly the unprovoked hazard
    lam_w, lam_c = rules.provoked_hazard(calm_w=0.1, calm_c=0.05, w=1.0, c=0.5, provoked=0.3)
    assert lam_w == pytest.approx(0.3) and lam_c == pytest.approx(0.15)
    assert rules.provoked_hazard(calm_w=0.0, calm_c=0.0, w=0.0, c=0.0, provoked=0.3) == (0.0, 0.0)  # nobody to provoke
    state = patient(withdrawal=1.0, confrontation=0.5)
    calm_w, calm_c = rules.rupture_hazard(patient=state, alliance=0.6, strain=0.1, provoked=0.0, p=OFF)
    assert rules.rupture_hazard(patient=state, alliance=0.6, strain=0.1, provoked=0.3, p=OFF) == rules.provoked_hazard(
        calm_w=calm_w, calm_c=calm_c, w=1.0, c=0.5, provoked=0.3
    )
    w, c = rules.voiced_tendencies(
        withdrawal=1.0, confrontation=0.5, open_=rules.openness(trust=state["trust"], strain=0.1, p=P), p=P
    )  # with deference: as voiced
    calm_w, calm_c = rules.rupture_hazard(patient=state, alliance=0.6, strain=0.1, provoked=0.0, p=P)
    assert rules.rupture_hazard(patient=state, alliance=0.6, strain=0.1, provoked=0.3, p=P) == rules.provoked_hazard(
        calm_w=calm_w, calm_c=calm_c, w=w, c=c, provoked=0.3
    )


def _draws_around(prob, spacing):
    """Draws just below, at and above ``prob``: on a grid of the given spacing, and one ulp away."""
    k = int(prob / spacing)
    grid = [(k + step + 0.5) * spacing for step in range(-3, 4)]
    return [u for u in [*grid, np.nextafter(prob, 0.0), prob, np.nextafter(prob, 1.0)] if 0.0 < u < 1.0]


def test_marker_bounds_decide_exactly_what_the_marker_probability_decides():
    rng = np.random.default_rng(5)
    g = key(1, 2, 3, 4)
    for _ in range(1500):
        calm_w, calm_c = 10.0 ** rng.uniform(-8.0, 1.0, size=2)
        w, c = rng.uniform(0.0, 3.0, size=2)
        provoked = float(rng.choice([0.0, rng.uniform(0.0, 3.0)]))
        lam_w, lam_c = rules.provoked_hazard(calm_w=calm_w, calm_c=calm_c, w=w, c=c, provoked=provoked)
        prob = rules.marker_probability(lam_w=lam_w, lam_c=lam_c)
        for u in [*_draws_around(prob, 2.0**-21), *rng.random(3)]:
            ceiling = rules.marker_probability_ceiling(total_rate=calm_w + calm_c + provoked)
            shown = u < ceiling and rules.marker_type(g=g, u=u, lam_w=lam_w, lam_c=lam_c) != NONE
            assert shown == (u < prob)


def test_dropout_bound_decides_exactly_what_the_dropout_probability_decides():
    rng = np.random.default_rng(6)
    for base_logit in (-15.0, -6.1, -1.0, 0.0, 3.0):
        params = Parameters({"dropout_base_logit": base_logit}).model_params()
        for _ in range(150):
            alliance, strain, unresolved = rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0), bool(rng.integers(2))
            prob = rules.dropout_probability(alliance=alliance, strain=strain, unresolved=unresolved, p=params)
            for u in [*_draws_around(prob, 2.0**-53), *rng.random(3)]:
                assert rules.leaves_therapy(u=u, alliance=alliance, strain=strain, unresolved=unresolved, p=params) == (
                    u < prob
                )


def test_confrontation_markers_are_more_salient_and_severity_raises_salience():
    for z in (-1.0, 0.0, 1.0):
        assert rules.marker_salience(kind=CONFRONTATION, severity=0.5, z=z, p=P) >= rules.marker_salience(
            kind=WITHDRAWAL, severity=0.5, z=z, p=P
        )
    assert rules.marker_salience(kind=CONFRONTATION, severity=0.5, z=0.0, p=P) > rules.marker_salience(
        kind=WITHDRAWAL, severity=0.5, z=0.0, p=P
    )
    assert rules.marker_salience(kind=WITHDRAWAL, severity=1.0, z=0.0, p=P) > rules.marker_salience(
        kind=WITHDRAWAL, severity=0.0, z=0.0, p=P
    )
    assert (
        rules.marker_salience(kind=WITHDRAWAL, severity=0.0, z=-9.0, p=P) >= 1
        and rules.marker_salience(kind=CONFRONTATION, severity=1, z=9.0, p=P) <= 5
    )


def test_confrontation_dips_the_alliance_more_than_withdrawal():
    assert rules.rupture_dip(kind=CONFRONTATION, salience=3, p=P) > rules.rupture_dip(kind=WITHDRAWAL, salience=3, p=P)
    assert rules.rupture_dip(kind=WITHDRAWAL, salience=4, p=P) > rules.rupture_dip(kind=WITHDRAWAL, salience=2, p=P)


def test_salient_markers_are_noticed_more_often():
    assert rules.notice_probability(noticing=0.3, salience=4) > rules.notice_probability(noticing=0.3, salience=1) > 0
    assert rules.notice_probability(noticing=0.6, salience=2) > rules.notice_probability(noticing=0.3, salience=2)


def test_therapists_react_more_to_confrontation_and_to_severe_patients():
    conf = rules.negative_response_probability(reactivity=0.2, severity=0.5, kind=CONFRONTATION, p=P)
    assert conf > rules.negative_response_probability(reactivity=0.2, severity=0.5, kind=WITHDRAWAL, p=P)
    assert rules.negative_response_probability(reactivity=0.2, severity=0.9, kind=CONFRONTATION, p=P) > conf


def test_only_exploratory_strategies_open_the_deep_stages():
    assert rules.stage_cap(family=EXPLORATORY, p=P) == 5
    assert rules.stage_cap(family=IMMEDIATE, p=P) == P.immediate_stage_cap < 5
    assert rules.stage_cap(family=OTHER, p=P) < rules.stage_cap(family=IMMEDIATE, p=P)


def test_strategy_choice_follows_the_repertoire():
    def family(i, pref):
        return rules.strategy_family(
            code=rules.choose_strategy(g=key(1, i, 1, 0), u=(i + 0.5) / 300, stage=2, explore_preference=pref, p=P)
        )

    families = {pref: {family(i, pref) for i in range(300)} for pref in (0.0, 0.5)}
    assert EXPLORATORY not in families[0.0]
    assert families[0.5] == {IMMEDIATE, EXPLORATORY, OTHER}


def test_skill_helps_and_severity_hinders_the_resolution_process():
    adv = rules.stage_advance_probability
    assert adv(1, 0.9, 0.5, 0.5, P) > adv(1, 0.3, 0.5, 0.5, P)
    assert adv(1, 0.6, 0.9, 0.5, P) < adv(1, 0.6, 0.1, 0.5, P)


def test_insight_matters_for_the_deep_stages_only():
    adv = rules.stage_advance_probability
    assert adv(1, 0.6, 0.5, 0.1, P) == adv(1, 0.6, 0.5, 0.9, P)
    assert adv(3, 0.6, 0.5, 0.1, P) < adv(3, 0.6, 0.5, 0.9, P)


def test_resolution_steps_respect_the_cap_and_stage_one_cannot_regress():
    for i in range(200):
        g = key(3, i, 1, 0)
        assert rules.resolution_stage_step(g=g, stage=3, cap=3, skill=0.6, severity=0.5, insight=0.5, p=P) <= 0
        assert rules.resolution_stage_step(g=g, stage=1, cap=5, skill=0.6, severity=0.5, insight=0.5, p=P) >= 0


def test_episode_outcome_and_repair():
    assert rules.episode_outcome(final_stage=P.resolved_stage, p=P) == RESOLVED
    assert rules.episode_outcome(final_stage=2, p=P) == PARTLY_RESOLVED
    assert rules.episode_outcome(final_stage=1, p=P) == UNRESOLVED
    dip = 0.05
    shallow = rules.episode_repair(outcome=RESOLVED, dip=dip, deepest=3, p=P)
    deep = rules.episode_repair(outcome=RESOLVED, dip=dip, deepest=5, p=P)
    assert deep > shallow > dip  # the rupture-repair "V": repaired above the pre-rupture level
    assert 0 < rules.episode_repair(outcome=PARTLY_RESOLVED, dip=dip, deepest=2, p=P) < dip
    assert rules.episode_repair(outcome=UNRESOLVED, dip=dip, deepest=1, p=P) == 0


def test_only_resolved_ruptures_are_corrective_and_deeper_ones_more():
    assert rules.corrective_experience(outcome=RESOLVED, deepest=5, p=P) == 1.0
    assert rules.corrective_experience(outcome=RESOLVED, deepest=5, p=P) > rules.corrective_experience(
        outcome=RESOLVED, deepest=4, p=P
    )
    assert (
        rules.corrective_experience(outcome=RESOLVED, deepest=4, p=P)
        > rules.corrective_experience(outcome=RESOLVED, deepest=3, p=P)
        > 0
    )
    assert rules.corrective_experience(outcome=PARTLY_RESOLVED, deepest=2, p=P) == 0
    assert rules.corrective_experience(outcome=UNRESOLVED, deepest=4, p=P) == 0


def test_repaired_ruptures_loosen_the_pattern_and_unresolved_ones_confirm_it_again():
    assert rules.relational_pattern_update(pattern=1.0, corrective=1.0, unresolved=0.0, p=P) < 1.0
    assert rules.relational_pattern_update(pattern=1.0, corrective=0.0, unresolved=0.0, p=P) == 1.0
    assert (
        rules.relational_pattern_update(pattern=P.pattern_floor, corrective=5.0, unresolved=0.0, p=P) == P.pattern_floor
    )
    loosened = rules.relational_pattern_update(pattern=0.6, corrective=0.0, unresolved=0.0, p=P)
    assert loosened == 0.6
    once = rules.relational_pattern_update(pattern=0.6, corrective=0.0, unresolved=1.0, p=P)
    twice = rules.relational_pattern_update(pattern=0.6, corrective=0.0, unresolved=2.0, p=P)
    assert loosened < once < twice < 1.0
    # never more rigid than at intake
    assert rules.relational_pattern_update(pattern=1.0, corrective=0.0, unresolved=50.0, p=P) == 1.0
    assert rules.pattern_change(pattern=1.0, p=P) == 0.0
    assert rules.pattern_change(pattern=P.pattern_floor, p=P) == pytest.approx(1.0)


def test_alliance_falls_with_dips_and_rises_with_repairs():
    base = rules.alliance_update(alliance=0.5, severity=0.5, dips=0.0, repairs=0.0, collaborative=0, p=P)
    assert (
        rules.alliance_update(alliance=0.5, severity=0.5, dips=0.1, repairs=0.0, collaborative=0, p=P)
        < base
        < rules.alliance_update(alliance=0.5, severity=0.5, dips=0.0, repairs=0.1, collaborative=0, p=P)
    )
    assert rules.alliance_update(alliance=0.5, severity=0.5, dips=0.0, repairs=0.0, collaborative=3, p=P) > base
    assert rules.alliance_update(alliance=0.0, severity=1.0, dips=5.0, repairs=0.0, collaborative=0, p=P) == 0.0
    assert rules.alliance_update(alliance=1.0, severity=0.0, dips=0.0, repairs=5.0, collaborative=0, p=P) == 1.0


def test_symptoms_improve_with_alliance_corrective_experience_and_a_changed_pattern_and_worsen_with_strain():
    base = rules.symptom_update(symptom=2.0, alliance=0.5, corrective=0.0, pattern=1.0, strain=0.0, z=0.0, p=P)
    assert base < 2.0
    assert rules.symptom_update(symptom=2.0, alliance=0.9, corrective=0.0, pattern=1.0, strain=0.0, z=0.0, p=P) < base
    assert rules.symptom_update(symptom=2.0, alliance=0.5, corrective=1.0, pattern=1.0, strain=0.0, z=0.0, p=P) < base
    assert rules.symptom_update(symptom=2.0, alliance=0.5, corrective=0.0, pattern=0.6, strain=0.0, z=0.0, p=P) < base
    assert rules.symptom_update(symptom=2.0, alliance=0.5, corrective=0.0, pattern=1.0, strain=0.5, z=0.0, p=P) > base


def test_dropout_rises_with_weak_alliance_strain_and_unresolved_ruptures():
    base = rules.dropout_probability(alliance=0.6, strain=0.0, unresolved=False, p=P)
    assert rules.dropout_probability(alliance=0.3, strain=0.0, unresolved=False, p=P) > base
    assert rules.dropout_probability(alliance=0.6, strain=0.3, unresolved=False, p=P) > base
    assert rules.dropout_probability(alliance=0.6, strain=0.0, unresolved=True, p=P) > base


def test_patients_feel_their_own_withdrawal_less_and_severe_patients_feel_more():
    assert rules.felt_intensity(kind=WITHDRAWAL, salience=3, severity=0.5, p=P) < rules.felt_intensity(
        kind=CONFRONTATION, salience=3, severity=0.5, p=P
    )
    assert rules.felt_intensity(kind=CONFRONTATION, salience=3, severity=0.9, p=P) > rules.felt_intensity(
        kind=CONFRONTATION, salience=3, severity=0.1, p=P
    )


def test_wai_ratings_stay_on_the_scale_and_patients_rate_higher():
    assert rules.wai_rating(alliance=1.0, bias=0.5, z=3.0, p=P) == 60
    assert rules.wai_rating(alliance=0.0, bias=-0.5, z=-3.0, p=P) == 12
    assert rules.wai_rating(alliance=0.5, bias=P.wai_patient_bias, z=0.0, p=P) > rules.wai_rating(
        alliance=0.5, bias=P.wai_therapist_bias, z=0.0, p=P
    )


def test_symptom_readings_carry_error_of_the_scales_reliability():
    noisy = Parameters({"symptom_reliability": 0.5}).model_params()
    assert rules.observe_symptom(true_score=2.0, z=0.0, p=P) == 2.0
    assert abs(rules.observe_symptom(true_score=2.0, z=1.0, p=noisy) - 2.0) > abs(
        rules.observe_symptom(true_score=2.0, z=1.0, p=P) - 2.0
    )


def test_keyed_uniforms_are_deterministic_uniform_and_independent_across_keys():
    draws = np.array([kr.uniform(key(7, pid, 1, 0), 3) for pid in range(20000)])
    assert draws.min() >= 0 and draws.max() < 1
    assert abs(draws.mean() - 0.5) < 0.01
    assert np.histogram(draws, bins=10, range=(0, 1))[0].min() > 1800
    other_stream = np.array([kr.uniform(key(7, pid, 1, 0), 4) for pid in range(20000)])
    assert abs(np.corrcoef(draws, other_stream)[0, 1]) < 0.03
    assert kr.uniform(key(7, 5, 1, 0), 3) == draws[5]


def test_keyed_normals_have_mean_zero_and_unit_variance():
    z = np.array([kr.normal(key(11, pid, 2, 1), 0) for pid in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


def test_segment_uniforms_are_uniform_and_independent_of_the_segments_other_draws():
    keys = [key(13, pid, 3, 2) for pid in range(20000)]
    triples = np.array([kr.segment_uniforms(g) for g in keys])
    assert triples.min() > 0 and triples.max() < 1
    assert np.allclose(triples.mean(axis=0), 0.5, atol=0.01)
    others = np.array([kr.uniform(g, 5) for g in keys])
    corr = np.corrcoef(np.column_stack([triples, others]).T)
    assert np.abs(corr[np.triu_indices(4, 1)]).max() < 0.03


def test_low_trust_turns_confrontation_into_withdrawal_and_trust_lets_it_be_voiced():
    on = Parameters({"deference_voicing": 0.5}).model_params()
    assert rules.voiced_tendencies(withdrawal=1.0, confrontation=0.4, open_=0.0, p=OFF) == (1.0, 0.4)  # off
    w0, c0 = rules.voiced_tendencies(withdrawal=1.0, confrontation=0.4, open_=0.0, p=on)
    w1, c1 = rules.voiced_tendencies(withdrawal=1.0, confrontation=0.4, open_=1.0, p=on)
    assert c0 == pytest.approx(0.2) and w0 == pytest.approx(1.2)  # half the confrontation comes out as withdrawal
    assert (w1, c1) == (1.0, 0.4)  # full trust: discontent is voiced as it is
    assert w0 + c0 == pytest.approx(1.4)  # deference changes the form of a rupture, not how many


def test_a_compliant_patient_keeps_discontent_back_until_open_even_when_provoked():
    assert rules.shown_share(compliance=0.0, open_=0.0) == 1.0  # off: everything shows
    assert rules.shown_share(compliance=0.9, open_=0.0) == pytest.approx(0.1)
    assert rules.shown_share(compliance=0.9, open_=0.5) == pytest.approx(0.55)  # surfaces as openness grows
    assert rules.shown_share(compliance=0.9, open_=1.0) == 1.0
    state = patient()
    shown_all = rules.rupture_hazard(patient=state, alliance=0.6, strain=0.0, provoked=0.3, p=P)
    state["compliance"] = 0.9  # trust 0 in the record: not open yet
    kept = rules.rupture_hazard(patient=state, alliance=0.6, strain=0.0, provoked=0.3, p=P)
    assert kept == pytest.approx((0.1 * shown_all[0], 0.1 * shown_all[1]))  # provocation included
    state["trust"] = 1.0  # fully open: shows as much as a patient without compliance
    open_state = patient()
    open_state["trust"] = 1.0
    assert rules.rupture_hazard(patient=state, alliance=0.6, strain=0.0, provoked=0.3, p=P) == rules.rupture_hazard(
        patient=open_state, alliance=0.6, strain=0.0, provoked=0.3, p=P
    )


def test_the_therapists_view_grows_toward_the_ceiling_as_they_see_the_patient():
    args = {"severity": 0.5, "seen_dips": 0.05, "repairs": 0.02, "collaborative": 1, "p": P}
    same = rules.alliance_update(
        alliance=0.5, severity=args["severity"], dips=args["seen_dips"], repairs=args["repairs"], collaborative=1, p=P
    )
    assert (
        rules.therapist_view_update(view=0.5, impression=0.0, **args) == same
    )  # no impression: the alliance's own growth
    view = 0.5
    for _ in range(200):  # without ruptures the view settles at the ceiling shifted by the impression
        view = rules.therapist_view_update(
            view=view, impression=0.1, severity=0.5, seen_dips=0.0, repairs=0.0, collaborative=0, p=P
        )
    plain = 0.5
    for _ in range(200):
        plain = rules.alliance_update(alliance=plain, severity=0.5, dips=0.0, repairs=0.0, collaborative=0, p=P)
    assert view == pytest.approx(plain + 0.1)


def test_trust_grows_with_sessions_and_more_with_repaired_ruptures():
    after_plain = rules.trust_update(trust=0.2, corrective=0.0, p=P)
    after_repair = rules.trust_update(trust=0.2, corrective=1.0, p=P)
    assert 0.2 < after_plain < after_repair <= 1.0
    assert rules.trust_update(trust=1.0, corrective=3.0, p=P) == 1.0


def test_a_good_enough_ending_needs_reliable_improvement():
    on = Parameters({"good_enough_ending": 1.0}).model_params()
    key = np.uint64(99)
    assert not rules.ends_good_enough(key=key, symptom_reading=0.5, symptom_pre=2.5, p=P)  # off by default
    assert rules.ends_good_enough(key=key, symptom_reading=0.5, symptom_pre=2.5, p=on)
    assert not rules.ends_good_enough(key=key, symptom_reading=2.3, symptom_pre=2.5, p=on)  # not a reliable change
    assert rules.reliable_change_index(change=-1.0, scale_sd=0.6, reliability=0.82) == pytest.approx(
        -1.0 / (2**0.5 * 0.6 * 0.18**0.5)
    )


def test_strain_closes_the_patient_off_only_when_disengagement_is_on():
    on = Parameters({"disengagement_strain": 4.0}).model_params()
    assert rules.openness(trust=0.8, strain=0.3, p=OFF) == 0.8
    assert rules.openness(trust=0.8, strain=0.3, p=on) < rules.openness(trust=0.8, strain=0.0, p=on) == 0.8


def test_working_through_challenges_more_as_the_alliance_can_bear_it():
    on = Parameters({"working_through_gain": 1.5}).model_params()
    assert rules.working_through_challenge(alliance=0.8, p=OFF) == 1.0
    assert rules.working_through_challenge(alliance=0.8, p=on) > 1 > rules.working_through_challenge(alliance=0.3, p=on)
    assert rules.working_through_challenge(alliance=P.alliance_reference, p=on) == 1.0
    # The challenge scales the PD part of the hazard: more for severe PD, nothing without PD.
    severe, no_pd = patient(severity=0.8), patient(severity=0.0)
    gain = [
        rules.rupture_base(patient=x, alliance=0.6, strain=0.0, p=P, challenge=1.5)
        / rules.rupture_base(patient=x, alliance=0.6, strain=0.0, p=P)
        for x in (severe, no_pd)
    ]
    assert gain[0] > 2 and gain[1] == pytest.approx(1.0)
    state = patient()
    calm = sum(rules.rupture_hazard(patient=state, alliance=0.6, strain=0.0, provoked=0.0, p=P))
    assert sum(
        rules.rupture_hazard(
            patient=state, alliance=0.6, strain=0.0, provoked=0.0, p=P, challenge=1.0, reactivation=1.5
        )
    ) == pytest.approx(1.5 * calm)  # reactivation


def test_the_ending_phase_reactivates_only_in_the_last_planned_sessions():
    on = Parameters({"ending_phase_sessions": 3}).model_params()
    assert rules.ending_reactivation(session=28, course_length=30, severity=0.8, p=P) == 1.0  # off by default
    assert rules.ending_reactivation(session=27, course_length=30, severity=0.8, p=on) == 1.0
    assert rules.ending_reactivation(session=28, course_length=30, severity=0.8, p=on) > 1.0
    assert rules.ending_reactivation(session=28, course_length=30, severity=0.2, p=on) < rules.ending_reactivation(
        session=28, course_length=30, severity=0.8, p=on
    )


def test_remoralization_lifts_early_and_slows_down():
    deficit, lifted = 0.8, []
    for _ in range(5):
        step = rules.remoralization(morale_deficit=deficit, alliance=0.6, p=P)
        lifted.append(step)
        deficit -= step
    assert all(a > b > 0 for a, b in itertools.pairwise(lifted))  # negatively accelerated
    with_relief = rules.symptom_update(
        symptom=2.0, alliance=0.5, corrective=0.0, pattern=1.0, strain=0.0, z=0.0, p=P, remoralized=0.2
    )
    assert with_relief == pytest.approx(
        rules.symptom_update(symptom=2.0, alliance=0.5, corrective=0.0, pattern=1.0, strain=0.0, z=0.0, p=P) - 0.2
    )


def test_a_symptom_gain_lifts_the_alliance_only_when_switched_on():
    on = Parameters({"gain_alliance_effect": 0.2}).model_params()
    assert rules.alliance_after_gain(alliance=0.5, gain=0.4, p=OFF) == 0.5
    assert rules.alliance_after_gain(alliance=0.5, gain=0.4, p=on) == pytest.approx(0.58)
    assert rules.alliance_after_gain(alliance=0.5, gain=-0.4, p=on) == 0.5  # a setback does not lower it here


def test_therapists_are_blind_to_withdrawal_and_aft_helps():
    on = Parameters({"therapist_withdrawal_blindness": 2.0}).model_params()
    assert rules.therapist_perceived_salience(kind=WITHDRAWAL, salience=3, aft=False, p=OFF) == 3  # off
    assert rules.therapist_perceived_salience(kind=CONFRONTATION, salience=3, aft=False, p=on) == 3
    untrained = rules.therapist_perceived_salience(kind=WITHDRAWAL, salience=3, aft=False, p=on)
    trained = rules.therapist_perceived_salience(kind=WITHDRAWAL, salience=3, aft=True, p=on)
    assert untrained < trained < 3


def test_wai_items_sum_to_the_scale_with_a_ceiling_and_noise_that_averages_out():
    on = Parameters({"wai_item_sd": 0.17}).model_params()
    assert rules.wai_rating(alliance=0.6, bias=0.05, z=0.3, p=P) == round(12 + 48 * (0.6 + 0.05 + P.wai_noise_sd * 0.3))
    keys = [np.uint64(k * 7919 + 1) for k in range(400)]
    totals = np.array(
        [rules.wai_rating(alliance=0.6, bias=0.0, z=0.0, p=on, items_key=key, items_stream=26) for key in keys]
    )
    assert totals.min() >= 12 and totals.max() <= 60
    assert abs(totals.mean() - (12 + 48 * 0.6)) < 1.0  # item noise averages out over 12 items
    at_top = np.array(
        [rules.wai_rating(alliance=1.0, bias=0.1, z=0.0, p=on, items_key=key, items_stream=26) for key in keys]
    )
    assert at_top.max() == 60 and (at_top >= 55).mean() > 0.9  # the ceiling of the scale
    noisier = Parameters({"wai_item_sd": 0.4}).model_params()
    spread = np.std(
        [rules.wai_rating(alliance=0.6, bias=0.0, z=0.0, p=noisier, items_key=key, items_stream=26) for key in keys]
    )
    assert spread > totals.std()


def test_a_closed_off_patient_is_likelier_to_drop_out_when_disengagement_is_on():
    on = Parameters({"dropout_disengagement_effect": 2.0}).model_params()
    assert rules.dropout_probability(
        alliance=0.6, strain=0.0, unresolved=False, p=OFF, closed=0.9
    ) == rules.dropout_probability(alliance=0.6, strain=0.0, unresolved=False, p=OFF)
    assert rules.dropout_probability(
        alliance=0.6, strain=0.0, unresolved=False, p=on, closed=0.9
    ) > rules.dropout_probability(alliance=0.6, strain=0.0, unresolved=False, p=on, closed=0.1)
    for u in (0.001, 0.01, 0.05, 0.2):  # the bound in leaves_therapy still decides exactly
        prob = rules.dropout_probability(alliance=0.4, strain=0.2, unresolved=True, p=on, closed=0.8)
        assert rules.leaves_therapy(u=u, alliance=0.4, strain=0.2, unresolved=True, p=on, closed=0.8) == (u < prob)


# --- the alliance as the patient lives it, and what each strategy does (issue 18, S9) ---------------------------
def test_a_felt_rupture_dents_the_rating_by_its_felt_intensity_and_a_repair_gives_it_back():
    assert rules.felt_dent(1.0, P) == 0.0  # felt as none: the rating does not move
    assert rules.felt_dent(4.0, P) > rules.felt_dent(2.0, P) > 0.0
    assert rules.felt_dent(4.0, OFF) == 0.0
    dip, dent = 0.04, 0.09
    deep = rules.episode_repair(RESOLVED, dip, 5, P)
    assert rules.felt_repair(dent, deep, dip) > dent  # a deep resolution brings the rating back above (the V)
    resolved = rules.felt_repair(dent, rules.episode_repair(RESOLVED, dip, 3, P), dip)
    assert resolved == pytest.approx(dent * (1 + P.repair_overshoot * rules.depth_fraction(3)))
    assert 0 < rules.felt_repair(dent, rules.episode_repair(PARTLY_RESOLVED, dip, 2, P), dip) < dent
    assert rules.felt_repair(dent, rules.episode_repair(UNRESOLVED, dip, 1, P), dip) == 0.0
    assert rules.felt_alliance(0.6, 0.1) == pytest.approx(0.5) and rules.felt_alliance(0.6, -0.05) > 0.6


def test_dropout_follows_the_decline_of_the_felt_alliance_not_only_its_level():
    assert rules.alliance_decline(recent=0.6, felt=0.5) == pytest.approx(0.1)
    assert rules.alliance_decline(recent=0.5, felt=0.6) == 0.0  # a rise is no decline
    recent = rules.recent_course(0.6, 0.4, P)
    assert 0.4 < recent < 0.6  # the recent course follows the felt alliance, with memory
    sliding = rules.dropout_probability(0.5, 0.0, False, P, 0.0, decline=0.1)
    level = rules.dropout_probability(0.5, 0.0, False, P, 0.0, decline=0.0)
    assert sliding > level
    assert rules.dropout_probability(0.5, 0.0, False, OFF, 0.0, 0.1) == rules.dropout_probability(0.5, 0.0, False, OFF)


def test_the_therapist_registers_the_dents_and_repairs_they_take_part_in():
    assert rules.therapist_registered_dent(0.0, seen=0.06, repaired=0.0, p=P) == pytest.approx(0.06)
    assert rules.therapist_registered_dent(0.02, seen=0.06, repaired=0.06, p=P) == pytest.approx(0.02)
    assert rules.therapist_registered_dent(0.02, seen=0.06, repaired=0.0, p=OFF) == 0.02


def test_each_strategy_has_its_own_fit_and_each_family_keeps_its_average():
    fit = rules.STRATEGY_FIT
    invite, acknowledge, disclose, link_therapy, _link_outside, validate, redirect = range(4, 11)
    assert fit[invite, WITHDRAWAL, 1] > fit[acknowledge, WITHDRAWAL, 1]  # invite opens withdrawal
    assert fit[acknowledge, CONFRONTATION, 1] > fit[invite, CONFRONTATION, 1]  # acknowledging disarms
    assert fit[disclose, CONFRONTATION, 1] > 1 and fit[link_therapy, WITHDRAWAL, 3] > fit[invite, WITHDRAWAL, 3]
    assert fit[redirect, WITHDRAWAL, 1] == fit[redirect, CONFRONTATION, 1] == 0  # redirecting leaves it
    assert fit[validate, WITHDRAWAL, 1] > 1 and fit[1, WITHDRAWAL, 1] > fit[2, WITHDRAWAL, 1]
    assert fit[2, CONFRONTATION, 1] > fit[1, CONFRONTATION, 1]  # changing the task settles task complaints
    for path in (WITHDRAWAL, CONFRONTATION):  # averages under the therapist's own choice (choose_strategy)
        for stage in (1, 2):
            assert fit[1:4, path, stage].mean() == pytest.approx(1.0)
            assert fit[9:11, path, stage].mean() == pytest.approx(1.0)
        for stage in (1, 2, 3, 4):
            first = 4 + min(stage - 1, 3)
            assert fit[first : first + 2, path, stage].mean() == pytest.approx(1.0)
    distinct = {tuple(fit[code].ravel()) for code in range(1, 11)}
    assert len(distinct) == 10, "ten strategies, ten moves"
    alike = Parameters({"strategy_fit_strength": 0.0}).model_params()
    assert {rules.strategy_fit(code, WITHDRAWAL, 1, alike) for code in range(1, 11)} == {1.0}


def test_a_strategy_that_fits_moves_the_episode_deeper_more_often():
    keys = [key(5, pid, 2, 3) for pid in range(400)]
    steps = {f: [rules.resolution_stage_step(g, 1, 5, 0.6, 0.5, 0.5, P, f) for g in keys] for f in (0.0, 1.0, 1.4)}
    assert all(s <= 0 for s in steps[0.0])  # a strategy that does not fit (redirect) moves nothing on
    assert sum(s > 0 for s in steps[1.4]) > sum(s > 0 for s in steps[1.0]) > 0
