"""The rules of the model, written once and compiled with numba.

Both the Mesa agent view (``simulation.view.model``) and the cohort engine
(``simulation.run.engine``) call ``run_session``; nothing here knows which one
runs it. Each rule is a small function named after what it means in therapy;
``docs/MODEL.md`` gives every rule as an equation and the order of operations
inside a session, which is the order of ``run_session`` below.

All randomness comes from ``keyed_random``: the stream constants ``R_*`` name
the decisions, so a draw is fixed by (seed, patient, session, segment, stream).
"""

from __future__ import annotations

import math

import numpy as np

from simulation.model.kernel_cache import njit
from simulation.model.keyed_random import (
    INTAKE,
    THERAPIST_KEY_OFFSET,
    choice,
    normal,
    segment_key,
    session_key,
    uniform,
)
from simulation.model.streams import (
    R_ALLIANCE_INTAKE,
    R_CONFRONTATION,
    R_DIAGNOSIS,
    R_GOOD_ENOUGH,
    R_INSIGHT,
    R_MARKER_TYPE,
    R_SEVERITY,
    R_SKILL,
    R_STAGE_STEP,
    R_STRATEGY_CODE,
    R_SYMPTOM_INTAKE,
    R_SYMPTOM_MEASURE,
    R_THERAPIST_IMPRESSION,
    R_WAI_LENIENCY,
    R_WITHDRAWAL,
)
from simulation.model.taxonomy import (
    CONFRONTATION,
    DEEPEST_STAGE,
    FIRST_EXPLORATORY,
    FIRST_OTHER,
    NONE,
    PARTLY_RESOLVED,
    RESOLVED,
    UNRESOLVED,
    WITHDRAWAL,
)
from simulation.model.taxonomy import (
    EXPLORATORY as FAMILY_EXPLORATORY,
)
from simulation.model.taxonomy import (
    IMMEDIATE as FAMILY_IMMEDIATE,
)
from simulation.model.taxonomy import (
    OTHER as FAMILY_OTHER,
)

#: Deepest stage reachable with 'other' strategies (validating, redirecting): they
#: de-escalate (the therapist disembeds) but explore nothing (S4).
OTHER_STAGE_CAP = 2
SCALE_MAX = 4.0  # top of the 0-4 symptom scale


@njit(cache=True)
def clip(x: float, low: float, high: float) -> float:
    """Clamp ``x`` to [low, high]."""
    return min(max(x, low), high)


# ----------------------------------------------------------------------------------------------
# Intake: who the patient and the therapist are
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def draw_diagnosis(u: float, shares: np.ndarray) -> int:
    """Diagnosis group from a uniform draw and the population's diagnosis shares."""
    cumulative = 0.0
    for d in range(shares.shape[0]):
        cumulative += shares[d]
        if u < cumulative:
            return d
    return shares.shape[0] - 1


@njit(cache=True)
def observe_symptom(true_score: float, z: float, p) -> float:
    """A symptom-scale reading: the true score plus error of the scale's reliability."""
    error_sd = p.symptom_scale_sd * math.sqrt(1.0 - p.symptom_reliability)
    return clip(true_score + error_sd * z, 0.0, SCALE_MAX)


@njit(cache=True)
def patient_intake(seed: int, pid: int, shares: np.ndarray, profiles: np.ndarray, p, patient) -> None:
    """Fill a patient record at intake: diagnosis, severity, proneness, insight, symptoms, alliance.

    ``profiles`` holds one ``records.PROFILE`` record per diagnosis.
    """
    g = segment_key(session_key(seed, pid, 0), INTAKE)
    diagnosis = draw_diagnosis(uniform(g, R_DIAGNOSIS), shares)
    profile = profiles[diagnosis]
    severity = clip(profile.severity_mean + p.severity_sd * normal(g, R_SEVERITY), 0.0, 1.0)
    # Log-normal individual proneness with mean equal to the diagnosis style.
    half_var = 0.5 * p.tendency_sd * p.tendency_sd
    patient.diagnosis = diagnosis
    patient.pd_severity = severity
    patient.withdrawal_tendency = profile.withdrawal_style * math.exp(
        p.tendency_sd * normal(g, R_WITHDRAWAL) - half_var
    )
    patient.confrontation_tendency = profile.confrontation_style * math.exp(
        p.tendency_sd * normal(g, R_CONFRONTATION) - half_var
    )
    patient.compliance = profile.compliance
    patient.insight = clip(profile.insight_mean + p.insight_sd * normal(g, R_INSIGHT), 0.0, 1.0)
    symptom = clip(profile.symptom_mean + p.symptom_sd * normal(g, R_SYMPTOM_INTAKE), 0.0, SCALE_MAX)
    patient.symptom_true = symptom
    patient.symptom_true_pre = symptom
    patient.symptom_pre = observe_symptom(symptom, normal(g, R_SYMPTOM_MEASURE), p)
    alliance = p.alliance_initial - p.alliance_severity_penalty * severity
    alliance = clip(alliance + p.alliance_initial_sd * normal(g, R_ALLIANCE_INTAKE), 0.05, 0.95)
    patient.alliance = alliance
    patient.alliance_intake = alliance
    patient.strain = 0.0
    patient.pattern = 1.0
    patient.sessions_attended = 0.0
    patient.dropped_out = 0.0
    patient.morale_deficit = p.demoralization_share * (1.0 - severity) * symptom
    # The therapist's own impression of this patient's alliance, which the patient's experience need not match.
    patient.therapist_impression = p.therapist_impression_sd * normal(g, R_THERAPIST_IMPRESSION)
    patient.alliance_therapist_view = clip(alliance + patient.therapist_impression, 0.0, 1.0)
    # How this patient uses the WAI-SR: a stable leniency of their own (a response style, not the alliance).
    patient.wai_leniency = p.wai_leniency_sd * normal(g, R_WAI_LENIENCY)
    # The alliance as the patient lives it: no rupture felt yet, its recent course where it starts.
    patient.felt_dent = 0.0
    patient.therapist_felt_dent = 0.0
    patient.alliance_felt_recent = alliance


@njit(cache=True)
def therapist_intake(seed: int, tid: int, p, therapist) -> None:
    """Fill a therapist record: skill varies between therapists, the rest is the setting."""
    g = segment_key(session_key(seed, THERAPIST_KEY_OFFSET + tid, 0), INTAKE)
    therapist.skill = clip(p.skill_mean + p.skill_sd * normal(g, R_SKILL), 0.0, 1.0)
    therapist.noticing = p.noticing
    therapist.reactivity = p.reactivity
    therapist.exploratory_repertoire = p.exploratory_repertoire
    therapist.exploratory_preference = p.exploratory_preference
    therapist.aft_start_session = p.aft_start_session


# ----------------------------------------------------------------------------------------------
# Ruptures
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def openness(trust: float, strain: float, p) -> float:
    """How openly the patient voices discontent: trust, closed off again by carried-over strain.

    A patient on the way out voices fewer ruptures while the alliance sinks
    (silent disengagement, S8): unrepaired strain, mostly from unnoticed
    withdrawal, closes them off.
    """
    return trust / (1.0 + p.disengagement_strain * strain)


@njit(cache=True)
def voiced_tendencies(withdrawal: float, confrontation: float, open_: float, p) -> tuple[float, float]:
    """Proneness to withdrawal and confrontation markers as they come out, given the patient's openness.

    While openness (``openness``: trust, less strain) is low the patient defers: a share
    ``deference_voicing * (1 - open_)`` of the discontent that would be confronted comes out
    as withdrawal instead (S8). As trust grows, discontent can be voiced: the withdrawal path
    ends in self-assertion (S4).
    """
    shifted = confrontation * p.deference_voicing * (1.0 - open_)
    return withdrawal + shifted, confrontation - shifted


@njit(cache=True)
def shown_share(compliance: float, open_: float) -> float:
    """Share of the patient's discontent that shows in the session at all; the rest is kept back.

    A compliant patient (cluster C: avoidant, dependent) avoids disagreement for
    fear of disapproval and hides negative reactions while not yet open with the
    therapist (S8: Rennie 1994; Blanchard & Farber 2016), even when provoked. As
    openness grows the discontent surfaces, so ruptures start low and rise over
    treatment (S7, T17). 1 for a patient with ``compliance`` 0.
    """
    return 1.0 - compliance * (1.0 - open_)


@njit(cache=True)
def rupture_base(
    patient, alliance: float, strain: float, p, challenge: float = 1.0, reactivation: float = 1.0
) -> float:
    """Expected markers in one segment of a patient with proneness 1, before provocation.

    Grows with PD severity, a weak alliance, unresolved strain and a rigid
    relational pattern. The PD part shows itself in the relationship as far as the
    therapist challenges core patterns (``challenge``, ``working_through_challenge``);
    ``reactivation`` is the ending phase's (``ending_reactivation``). Both 1 by default.
    """
    return (
        p.rupture_base_rate
        * patient.pattern
        * math.exp(
            p.severity_rupture_gain * patient.pd_severity * challenge
            + p.alliance_rupture_gain * (p.alliance_reference - alliance)
            + p.strain_rupture_gain * strain
        )
        * reactivation
    )


@njit(cache=True)
def rupture_hazard(
    patient, alliance: float, strain: float, provoked: float, p, challenge: float = 1.0, reactivation: float = 1.0
) -> tuple[float, float]:
    """Expected withdrawal and confrontation markers in one segment.

    The base rate (``rupture_base``) times the patient's proneness to each type as it
    comes out (``voiced_tendencies``: openness decides how much is confrontation); a
    provocation in the previous segment adds to it (``provoked_hazard``). Of all this, a
    compliant patient shows only a share (``shown_share``).
    """
    base = rupture_base(patient, alliance, strain, p, challenge, reactivation)
    open_ = openness(patient.trust, strain, p)
    w, c = voiced_tendencies(patient.withdrawal_tendency, patient.confrontation_tendency, open_, p)
    shown = shown_share(patient.compliance, open_)
    lam_w, lam_c = provoked_hazard(base * w, base * c, w, c, provoked)
    return shown * lam_w, shown * lam_c


@njit(cache=True)
def working_through_challenge(alliance: float, p) -> float:
    """How hard the therapist challenges core patterns: as much as the alliance can bear (S8, working through).

    A factor on the PD part of the rupture hazard (``rupture_base``): the patient's
    pattern shows itself in the relationship as far as it is challenged, more with
    a stronger alliance than ``alliance_reference``, less with a weaker one; 1
    without working through. The pattern (which repaired ruptures loosen) is the
    other factor, so a challenge opens ruptures only where it is still rigid.
    """
    return max(0.0, 1.0 + p.working_through_gain * (alliance - p.alliance_reference))


@njit(cache=True)
def ending_reactivation(session: int, course_length: int, severity: float, p) -> float:
    """In the last ``ending_phase_sessions`` planned sessions the approaching end reactivates abandonment themes.

    A relative factor on the rupture hazard (1 outside the ending phase), larger with PD severity
    (S8: Mann; small and switchable, since a fixed phase sequence has weak support).
    """
    if session <= course_length - p.ending_phase_sessions:
        return 1.0
    return 1.0 + p.ending_reactivation * severity


@njit(cache=True)
def provoked_hazard(calm_w: float, calm_c: float, w: float, c: float, provoked: float) -> tuple[float, float]:
    """The unprovoked hazard plus a provocation, shared in proportion to the tendencies ``w`` and ``c``.

    ``session.set_up_session`` computes the unprovoked hazard once per session and adds only
    the provocation of a provoked segment (no second ``exp``).
    """
    if w + c <= 0.0:  # nobody to provoke
        return calm_w, calm_c
    # Without a branch on the provocation: adding none changes no rate (rates are >= +0).
    return calm_w + provoked * w / (w + c), calm_c + provoked * c / (w + c)


@njit(cache=True)
def marker_probability(lam_w: float, lam_c: float) -> float:
    """Chance of a marker in a segment (Poisson rate, at most one marker per segment)."""
    return 1.0 - math.exp(-(lam_w + lam_c))


#: Margin of the bounds below: far above the rounding of the probabilities they bound (about
#: 1e-16), far below the spacing of the draws they are compared with (5e-7 for segment draws).
BOUND_MARGIN = 1e-12
#: 1/6 rounded up, so that a bound can multiply instead of divide (a division is slow).
SIXTH_ROUNDED_UP = 0.16666666666666669


@njit(cache=True)
def marker_probability_ceiling(total_rate: float) -> float:
    """An upper bound of ``marker_probability`` for total rates up to ``total_rate``.

    ``1 - exp(-x) <= x - x^2/2 + x^3/6`` (Taylor), plus a margin for rounding: a marker
    draw at or above it shows no marker whatever the exact hazard, so most segments
    need neither the provoked hazard nor an ``exp``.
    """
    x = total_rate
    return x * (1.0 - x * (0.5 - x * SIXTH_ROUNDED_UP)) + BOUND_MARGIN


@njit(cache=True)
def marker_type(g: np.uint64, u: float, lam_w: float, lam_c: float) -> int:
    """NONE, WITHDRAWAL or CONFRONTATION (u: the segment's marker draw), the type in proportion to the rates.

    A marker shows if ``u < marker_probability(lam_w, lam_c)``; ``u`` below the lower bound
    ``x - x^2/2`` (Taylor, less a margin for rounding) settles it without the ``exp``.
    """
    x = lam_w + lam_c
    if u >= x - 0.5 * x * x - BOUND_MARGIN and u >= marker_probability(lam_w, lam_c):
        return NONE
    return WITHDRAWAL if uniform(g, R_MARKER_TYPE) * (lam_w + lam_c) < lam_w else CONFRONTATION


@njit(cache=True)
def marker_salience(kind: int, severity: float, z: float, p) -> int:
    """3RS salience 1-5: confrontation markers are louder, and so are severe patients (T2)."""
    mean = p.withdrawal_salience_mean if kind == WITHDRAWAL else p.confrontation_salience_mean
    return int(clip(round(mean + p.severity_salience_gain * severity + p.salience_sd * z), 1.0, 5.0))


@njit(cache=True)
def rupture_dip(kind: int, salience: int, p) -> float:
    """Alliance lost by a marker: proportional to salience, larger for confrontation (T2)."""
    weight = p.withdrawal_dip_ratio if kind == WITHDRAWAL else 1.0
    return p.rupture_dip * weight * salience / 5.0


# ----------------------------------------------------------------------------------------------
# The therapist's response
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def notice_probability(noticing: float, salience: int) -> float:
    """Chance to notice a marker: each salience point is another chance to see it."""
    return 1.0 - (1.0 - noticing) ** salience


@njit(cache=True)
def negative_response_probability(reactivity: float, severity: float, kind: int, p) -> float:
    """Chance of a hostile, blaming or defensive response to a marker (T5)."""
    ratio = p.withdrawal_reactivity_ratio if kind == WITHDRAWAL else 1.0
    return clip(reactivity * (1.0 + p.reactivity_severity_gain * severity) * ratio, 0.0, 1.0)


@njit(cache=True)
def choose_strategy(g: np.uint64, u: float, stage: int, explore_preference: float, p) -> int:
    """A 3RS resolution strategy code (1-10) for the current stage.

    Exploratory strategies follow the stage: inviting and acknowledging early,
    linking to patterns late.
    """
    if u < explore_preference:
        first = min(stage - 1, 3)
        return FIRST_EXPLORATORY + first + choice(g, R_STRATEGY_CODE, 2)
    if u < explore_preference + (1.0 - explore_preference) * p.other_strategy_share:
        return FIRST_OTHER + choice(g, R_STRATEGY_CODE, 2)
    return 1 + choice(g, R_STRATEGY_CODE, 3)


@njit(cache=True)
def strategy_family(code: int) -> int:
    """IMMEDIATE, EXPLORATORY or OTHER for a strategy code."""
    if code >= FIRST_OTHER:
        return FAMILY_OTHER
    return FAMILY_EXPLORATORY if code >= FIRST_EXPLORATORY else FAMILY_IMMEDIATE


#: What a strategy does in SASB / CIS-R terms: task-focused, affirming, or interpretive.
INSTRUMENTAL, AFFIRMING, INTERPRETIVE = 0, 1, 2


@njit(cache=True)
def strategy_stance(code: int) -> int:
    """SASB stance of a 3RS strategy (T5, T9).

    Inviting the patient's view (S4), acknowledging one's own part (S5) and
    validating the defensive posture (S9) affirm the patient; disclosing one's
    experience (S6) and linking to patterns (S7, S8) interpret; clarifying,
    changing the task, giving a rationale (S1-S3) and redirecting (S10) are
    task-focused.
    """
    if code in (FIRST_EXPLORATORY, FIRST_EXPLORATORY + 1, FIRST_OTHER):
        return AFFIRMING
    if FIRST_EXPLORATORY + 2 <= code < FIRST_OTHER:
        return INTERPRETIVE
    return INSTRUMENTAL


def _fit_table() -> np.ndarray:
    """``STRATEGY_FIT[strategy, path, stage]``: how well a strategy moves an episode on from ``stage`` (S4, S9).

    A factor on the chance to move one stage deeper (``stage_advance_probability``); 1 = the
    family's average. Paths: WITHDRAWAL, CONFRONTATION; stages 1-4 (from 5 there is no deeper).
    Every value is an assumption (no study gives the sizes; MODEL.md 7.3 gives each cell's reason).
    Under the therapist's own choice (``choose_strategy``: one of the family's strategies, the
    exploratory ones by stage) each family's average at every path and stage is 1, so the
    families stay where the targets put them.
    """
    fit = np.ones((FIRST_OTHER + 2, 3, DEEPEST_STAGE))
    w, c = WITHDRAWAL, CONFRONTATION
    # Immediate: clarifying settles a misunderstanding, which withdrawal often is; changing the task
    # and giving a rationale settle complaints about the activities and parameters of therapy.
    for path, values in ((w, (1.3, 0.9, 0.8)), (c, (0.8, 1.2, 1.0))):
        fit[1:4, path, 1:] = np.array(values)[:, None]
    # Exploratory, by stage: inviting opens a qualified discontent (withdrawal 1-3) and the anger's
    # construals (confrontation 2-3); acknowledging and disclosing disarm a confrontation (1-2);
    # linking carries both paths into the deep stages (3-4).
    invite = FIRST_EXPLORATORY  # rows: invite, acknowledge, disclose, link to therapy, link outside
    fit[invite:FIRST_OTHER, w, 1:] = np.array(
        [[1.3, 1.3, 1.0, 1.0], [0.7, 0.9, 0.7, 0.8], [0.9, 1.1, 0.7, 0.8], [0.5, 0.6, 1.3, 1.1],
         [0.4, 0.5, 0.9, 0.9]]
    )  # fmt: skip
    fit[invite:FIRST_OTHER, c, 1:] = np.array(
        [[0.6, 1.3, 1.1, 1.0], [1.4, 0.9, 0.9, 0.9], [1.3, 1.1, 0.8, 1.0], [0.4, 0.6, 1.2, 1.1],
         [0.3, 0.4, 0.8, 0.9]]
    )  # fmt: skip
    # Other: validating protects the bond and lets the therapist disembed; redirecting leaves the rupture.
    fit[FIRST_OTHER, w:, 1:] = 2.0
    fit[FIRST_OTHER + 1, w:, 1:] = 0.0
    return fit


#: How well each strategy moves an episode on, by path and stage (``_fit_table``).
STRATEGY_FIT = _fit_table()


@njit(cache=True)
def strategy_fit(strategy: int, path: int, stage: int, p) -> float:
    """How well ``strategy`` moves an episode of ``path`` on from ``stage``: 1 + strength x (fit - 1) (S4, S9)."""
    return 1.0 + p.strategy_fit_strength * (STRATEGY_FIT[strategy, path, min(stage, DEEPEST_STAGE - 1)] - 1.0)


@njit(cache=True)
def stage_cap(family: int, p) -> int:
    """Deepest stage a strategy family can open (S4): only metacommunication goes past the surface."""
    if family == FAMILY_EXPLORATORY:
        return DEEPEST_STAGE
    if family == FAMILY_OTHER:
        return OTHER_STAGE_CAP
    return int(p.immediate_stage_cap)


@njit(cache=True)
def therapist_work_mix(skill: float, severity: float, aft: bool, p) -> tuple[float, float, float]:
    """Chances of an unclear, an expressive and a supportive intervention in a segment without rupture work.

    With PD patients therapists are less clear but also more expressive and
    supportive (T5); skill makes unclear interventions rarer, AFT adds affirmation (T9).
    """
    unclear = p.unclear_base * (1.0 - skill) * (1.0 + p.unclear_severity_gain * severity)
    expressive = p.expressive_base + p.expressive_severity_gain * severity
    supportive = p.supportive_base + p.supportive_severity_gain * severity + aft * p.aft_supportive_gain
    total = unclear + expressive + supportive
    if total > 1.0:  # a segment holds one intervention: keep the proportions
        return unclear / total, expressive / total, supportive / total
    return unclear, expressive, supportive


# ----------------------------------------------------------------------------------------------
# Resolution
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def stage_advance_probability(stage: int, skill: float, severity: float, insight: float, p) -> float:
    """Chance to move one stage deeper.

    Skill helps, severity weakens repair (S7), and the deep exploratory stages
    (4-5) need insight (S5).
    """
    prob = p.stage_advance_base * (0.5 + 0.5 * skill) * (1.0 - p.severity_repair_penalty * severity)
    if stage + 1 >= 4:
        prob *= 1.0 - p.insight_depth_weight * (1.0 - insight)
    return clip(prob, 0.0, 1.0)


@njit(cache=True)
def resolution_stage_step(
    g: np.uint64, stage: int, cap: int, skill: float, severity: float, insight: float, p, fit: float = 1.0
) -> int:
    """+2 (a stage skipped), +1 (deeper), -1 (regress) or 0 (stall) for one segment of a resolution episode.

    Sequences are flexible (S4): a share ``stage_skip`` of the advances gets
    past the next stage in one move, where the repertoire reaches that far.
    ``fit`` is how well the segment's strategy fits the path and stage (``strategy_fit``).
    """
    advance = 0.0
    if stage < cap:
        advance = clip(fit * stage_advance_probability(stage, skill, severity, insight, p), 0.0, 1.0)
    regress = p.regress_base * severity * (1.0 - skill) if stage > 1 else 0.0
    u = uniform(g, R_STAGE_STEP)
    if u < advance:
        return 2 if u < advance * p.stage_skip and stage + 2 <= cap else 1
    if u < advance + regress:
        return -1
    return 0


@njit(cache=True)
def episode_outcome(final_stage: int, p) -> int:
    """RESOLVED, PARTLY_RESOLVED or UNRESOLVED from the stage an episode ends on."""
    if final_stage >= p.resolved_stage:
        return RESOLVED
    if final_stage >= 2:
        return PARTLY_RESOLVED
    return UNRESOLVED


@njit(cache=True)
def depth_fraction(deepest: int) -> float:
    """Resolution complexity on 0-1: stage 1 -> 0, stage 5 -> 1."""
    return (deepest - 1) / (DEEPEST_STAGE - 1)


@njit(cache=True)
def episode_repair(outcome: int, dip: float, deepest: int, p) -> float:
    """Alliance given back by an episode; a deep resolution overshoots the dip (the 'V')."""
    if outcome == RESOLVED:
        return dip * (1.0 + p.repair_overshoot * depth_fraction(deepest))
    if outcome == PARTLY_RESOLVED:
        return dip * p.partial_repair
    return 0.0


@njit(cache=True)
def corrective_experience(outcome: int, deepest: int, p) -> float:
    """A resolved rupture is a corrective experience, the stronger the further past resolution it went.

    Surface resolution restores collaboration; the new relational experience
    lies in the exploratory stages (S4), so the value grows with each stage
    from ``resolved_stage`` (1 / n) to the deepest stage (1).
    """
    if outcome != RESOLVED:
        return 0.0
    return (deepest - p.resolved_stage + 1) / (DEEPEST_STAGE - p.resolved_stage + 1)


# ----------------------------------------------------------------------------------------------
# Between sessions: alliance, pattern, symptoms, dropout
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def alliance_after_gain(alliance: float, gain: float, p) -> float:
    """A symptom gain in the session lifts the alliance the patient brings to the next session.

    The patient feels better and more hopeful (S9; T19: Tang & DeRubeis 1999; lagged effects run
    both ways, Fluckiger et al. 2020).
    """
    return clip(alliance + p.gain_alliance_effect * max(gain, 0.0), 0.0, 1.0)


@njit(cache=True)
def alliance_update(alliance: float, severity: float, dips: float, repairs: float, collaborative: int, p) -> float:
    """Alliance after a session: growth toward a ceiling, minus dips, plus repairs.

    Collaborative segments speed the growth; the ceiling (lower with severe PD)
    bounds it, so only a repaired rupture lifts the alliance above it (the 'V').
    """
    ceiling = p.alliance_ceiling - p.alliance_severity_penalty * severity
    rate = p.alliance_growth + p.collaborative_alliance_gain * collaborative
    return clip(alliance + rate * (ceiling - alliance) - dips + repairs, 0.0, 1.0)


@njit(cache=True)
def therapist_view_update(
    view: float, impression: float, severity: float, seen_dips: float, repairs: float, collaborative: int, p
) -> float:
    """The therapist's own view of the alliance after a session (S8: their ratings are their own perception).

    It grows like the alliance (``alliance_update``), but toward the ceiling as this therapist
    sees this patient (shifted by their ``impression``), and loses only the dips of the
    ruptures the therapist saw: missed withdrawal and their own part stay unseen.
    """
    return clip(alliance_update(view - impression, severity, seen_dips, repairs, collaborative, p) + impression,
                0.0, 1.0)  # fmt: skip


@njit(cache=True)
def relational_pattern_update(pattern: float, corrective: float, unresolved: float, p) -> float:
    """Corrective experiences loosen the rigid relational pattern; unresolved ruptures confirm it again.

    A repaired rupture disconfirms what the patient expects of others; a
    rupture left unresolved (missed, met with hostility, or stalled) confirms it
    and undoes part of what was learned, back toward the rigidity at intake (S4).
    """
    loosened = pattern - p.corrective_learning * corrective * (pattern - p.pattern_floor)
    confirmed = loosened + (1.0 - (1.0 - p.pattern_confirmation) ** unresolved) * (1.0 - loosened)
    return clip(confirmed, p.pattern_floor, 1.0)


@njit(cache=True)
def trust_update(trust: float, corrective: float, p) -> float:
    """Trust grows with every session attended and more with every repaired rupture.

    Early in a course patients defer (S8); a rupture whose discontent was voiced
    and repaired shows that it can be voiced safely (S4).
    """
    return clip(trust + (p.trust_growth + p.trust_repair_gain * corrective) * (1.0 - trust), 0.0, 1.0)


@njit(cache=True)
def pattern_change(pattern: float, p) -> float:
    """How far the relational pattern has changed: 0 at intake, 1 at ``pattern_floor``."""
    if p.pattern_floor >= 1.0:
        return 0.0
    return (1.0 - pattern) / (1.0 - p.pattern_floor)


@njit(cache=True)
def remoralization(morale_deficit: float, alliance: float, p) -> float:
    """Symptom relief from hope: a share of the remaining demoralization lifts with a working alliance.

    Needs no rupture work (S8: the phase model, Howard et al. 1993); proportional
    to what is left, so it comes early and slows down (T15).
    """
    return morale_deficit * clip(p.remoralization_rate * alliance, 0.0, 1.0)


@njit(cache=True)
def characterological_floor(symptom_intake: float, severity: float, pattern: float, p) -> float:
    """The symptoms that belong to the personality: no relief reaches below them until the pattern changes.

    In the phase model (S8, Howard et al. 1993) characterological problems change
    last: a share ``characterological_share * severity`` of the intake symptoms is
    held up by the relational pattern and falls only as far as the pattern has
    changed (``pattern_change``), so PD patients recover much more slowly (T15).
    """
    return p.characterological_share * severity * symptom_intake * (1.0 - pattern_change(pattern, p))


@njit(cache=True)
def symptom_update(
    symptom: float, alliance: float, corrective: float, pattern: float, strain: float, z: float, p,
    remoralized: float = 0.0, floor: float = 0.0,
) -> float:  # fmt: skip
    """Symptoms improve through the alliance, corrective experiences, a changed pattern and remoralization.

    A loosened relational pattern keeps giving relief between sessions: what
    was learned in repaired ruptures generalises to the patient's other
    relationships (S4: the corrective experience), so relief compounds for the
    patients who resolve often. Relief acts on the symptoms above the
    characterological ``floor`` (``characterological_floor``). Unresolved strain
    worsens symptoms.
    """
    relief = max(symptom - floor, 0.0) * (
        p.alliance_symptom_effect * alliance
        + p.corrective_symptom_effect * corrective
        + p.pattern_symptom_effect * pattern_change(pattern, p)
    )
    worsening = p.strain_symptom_effect * strain
    return clip(symptom - relief - remoralized + worsening + p.symptom_noise_sd * z, 0.0, SCALE_MAX)


#: Reliable change index below which a patient has reliably improved (Jacobson & Truax 1991).
RCI_CRITICAL = -1.96


@njit(cache=True)
def reliable_change_index(change, scale_sd: float, reliability: float):
    """Jacobson-Truax reliable change index of a change on the symptom scale (negative = improvement).

    ``SEM = scale_sd * sqrt(1 - reliability)``, ``RCI = change / (sqrt(2) * SEM)``; for a
    number or an array of changes (the outcomes of ``run.outcomes`` call it too).
    """
    sem = scale_sd * math.sqrt(1.0 - reliability)
    return change / (math.sqrt(2.0) * sem)


@njit(cache=True)
def ends_good_enough(key: np.uint64, symptom_reading: float, symptom_pre: float, p) -> bool:
    """Whether the patient ends therapy as good enough after this session (S8: Barkham et al. 2006).

    Only a patient whose symptom reading shows reliable improvement over intake
    may stop; the chance ``good_enough_ending`` per session (0 = never).
    """
    if p.good_enough_ending <= 0.0:
        return False
    rci = reliable_change_index(symptom_reading - symptom_pre, p.symptom_scale_sd, p.symptom_reliability)
    return rci < RCI_CRITICAL and uniform(key, R_GOOD_ENOUGH) < p.good_enough_ending


@njit(cache=True)
def dropout_probability(
    alliance: float, strain: float, unresolved: bool, p, closed: float = 0.0, decline: float = 0.0
) -> float:
    """Chance to leave therapy after a session: weak or declining alliance, unresolved ruptures, disengagement."""
    return 1.0 / (1.0 + math.exp(-dropout_logit(alliance, strain, unresolved, p, closed, decline)))


@njit(cache=True)
def dropout_logit(
    alliance: float, strain: float, unresolved: bool, p, closed: float = 0.0, decline: float = 0.0
) -> float:
    """Log-odds of leaving therapy after a session (``dropout_probability``).

    ``alliance`` is the alliance as the patient lives it (``felt_alliance``); ``decline`` how far
    it has sunk below its recent course (``alliance_decline``): a patient who leaves has usually
    been sliding (S9, T18). ``closed`` is how closed off the patient is (``1 - openness``): a
    patient who does not yet trust the therapist, or whom strain has closed off again, is on the
    way out (S8).
    """
    return (
        p.dropout_base_logit
        + p.dropout_alliance_effect * (p.alliance_reference - alliance)
        + p.dropout_decline_effect * decline
        + p.dropout_strain_effect * strain
        + p.dropout_unresolved_effect * unresolved
        + p.dropout_disengagement_effect * closed
    )


@njit(cache=True)
def leaves_therapy(
    u: float, alliance: float, strain: float, unresolved: bool, p, closed: float = 0.0, decline: float = 0.0
) -> bool:
    """Whether the dropout draw ``u`` falls below ``dropout_probability``.

    At log-odds ``-a <= 0``, ``exp(a) >= 1 + a + a^2/2 + a^3/6`` (Taylor) bounds the
    probability by ``1 / (2 + a + a^2/2 + a^3/6)``: a draw above that (plus a margin for
    rounding) stays without the ``exp``, which is nearly every session at usual dropout rates.
    """
    a = -dropout_logit(alliance, strain, unresolved, p, closed, decline)
    if a >= 0.0 and u >= 1.0 / (2.0 + a + 0.5 * a * a + a * a * a / 6.0) + BOUND_MARGIN:
        return False
    return u < dropout_probability(alliance, strain, unresolved, p, closed, decline)


# ----------------------------------------------------------------------------------------------
# The alliance as the patient lives it, session by session (S9)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def felt_dent(felt: float, p) -> float:
    """How much a marker lowers the patient's own rating of the session's alliance: its felt intensity (S9).

    Per point of felt intensity above "none" (1 on the PSQ's 1-5): a rupture the patient does
    not register (own withdrawal, ``felt_intensity``) leaves the rating alone.
    """
    return p.felt_rupture_dent * (clip(felt, 1.0, 5.0) - 1.0)


@njit(cache=True)
def felt_repair(episode_felt: float, repair: float, dip: float) -> float:
    """The felt dent a closed episode gives back: in the proportion its repair gives back its dip.

    A deep resolution gives back more than the dip (``episode_repair``): the rating comes back
    above where it was, the V of rupture and repair (S9, Stiles et al. 2004).
    """
    return episode_felt * repair / dip if dip > 0.0 else 0.0


@njit(cache=True)
def felt_alliance(alliance: float, dent: float) -> float:
    """The alliance as the patient lives it after a session: the alliance less the dent they still feel."""
    return clip(alliance - dent, 0.0, 1.0)


@njit(cache=True)
def recent_course(recent: float, felt: float, p) -> float:
    """The recent course of the patient's felt alliance: an average that forgets at ``1 - decline_memory``."""
    return p.decline_memory * recent + (1.0 - p.decline_memory) * felt


@njit(cache=True)
def alliance_decline(recent: float, felt: float) -> float:
    """How far the felt alliance has sunk below its recent course (0 when it holds or rises)."""
    return max(recent - felt, 0.0)


@njit(cache=True)
def therapist_registered_dent(dent: float, seen: float, repaired: float, p) -> float:
    """The felt dent the therapist registers: of the ruptures they noticed, less the repairs they took part in (S9).

    ``dent`` is what they still registered from before; a therapist who notices more follows
    their patient's V more closely (S6, S8: responsive therapists rate closer to their patients).
    """
    return dent + p.therapist_repair_registration * (seen - repaired)


# ----------------------------------------------------------------------------------------------
# Measurement: who reports changes the numbers (T3, T13)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def observer_salience(salience: int, z: float, p) -> int:
    """3RS observer rating of a marker's salience (reliable but not perfect)."""
    return int(clip(round(salience + p.observer_salience_sd * z), 1.0, 5.0))


@njit(cache=True)
def felt_intensity(kind: int, salience: int, severity: float, p) -> float:
    """How intense a marker feels to the patient: own withdrawal is often not registered."""
    blind = p.patient_withdrawal_blindness if kind == WITHDRAWAL else 0.0
    return salience + p.patient_intensity_bias - blind + p.patient_intensity_severity_gain * severity


@njit(cache=True)
def therapist_alliance_rating_basis(alliance: float, therapist_view: float, p) -> float:
    """What the therapist's WAI-SR rests on: the latent alliance, or (``therapist_perception``) their own view."""
    return alliance + p.therapist_perception * (therapist_view - alliance)


@njit(cache=True)
def therapist_perceived_salience(kind: int, salience: int, aft: bool, p) -> float:
    """How salient a noticed marker is to the therapist's post-session report.

    Therapists miss withdrawal above all (S8: Eubanks-Carter et al. 2015); AFT
    trains awareness of it (``aft_awareness_gain`` of the blindness removed).
    """
    if kind != WITHDRAWAL:
        return salience
    return salience - p.therapist_withdrawal_blindness * (1.0 - aft * p.aft_awareness_gain)


#: Items of the WAI-SR, each rated 1-5 (S6).
WAI_ITEMS = 12


@njit(cache=True)
def wai_rating(alliance: float, bias: float, z: float, p, items_key: np.uint64 = 0, items_stream: int = 0) -> int:
    """WAI-SR total 12-60 from the alliance as the rater sees it, their bias and the session's noise ``z``.

    With ``wai_item_sd`` > 0 the total is the sum of 12 items rated 1-5, each with its own noise
    (draws under ``items_key``, one key per item): the scale's ceiling and internal consistency
    then come from the items. Otherwise one rating with noise, clipped to the scale.
    """
    level = alliance + bias + p.wai_noise_sd * z
    if p.wai_item_sd <= 0.0:
        return int(round(12.0 + 48.0 * clip(level, 0.0, 1.0)))
    total = 0
    for item in range(WAI_ITEMS):
        z_item = normal(segment_key(items_key, item), items_stream)
        total += int(clip(round(1.0 + 4.0 * (level + p.wai_item_sd * z_item)), 1.0, 5.0))
    return total
