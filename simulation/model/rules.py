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
from numba import njit

from simulation.model.keyed_random import (
    END_OF_SESSION,
    INTAKE,
    THERAPIST_KEY_OFFSET,
    choice,
    normal,
    segment_key,
    segment_uniforms,
    session_key,
    uniform,
)
from simulation.model.layout import (
    AFT_START,
    ALLIANCE,
    ALLIANCE_INTAKE,
    C_AFT,
    C_ALLIANCE,
    C_ALLIANCE_START,
    C_COLLABORATIVE,
    C_CORRECTIVE,
    C_DROPPED,
    C_EPISODES,
    C_EXPRESSIVE,
    C_HOSTILE,
    C_IMMEDIATE,
    C_MISSED,
    C_N_CONFRONTATION,
    C_N_WITHDRAWAL,
    C_NEGATIVE,
    C_NOTICED,
    C_PATIENT,
    C_PATIENT_INTENSITY,
    C_PATIENT_REPORTED,
    C_PATIENT_RESOLUTION,
    C_PATTERN,
    C_POSITIVE,
    C_RESOLVED,
    C_RESOLVED_EPISODES,
    C_RUPTURE_OBSERVED,
    C_SAL_CONFRONTATION,
    C_SAL_WITHDRAWAL,
    C_SESSION,
    C_STAGE,
    C_STRAIN,
    C_SUPPORTIVE,
    C_SYMPTOM,
    C_SYMPTOM_TRUE,
    C_THERAPIST,
    C_THERAPIST_REPORTED,
    C_UNCLEAR,
    C_UNREPAIRED,
    C_UNRESOLVED,
    C_WAI_PATIENT,
    C_WAI_THERAPIST,
    CONFRONTATION_TENDENCY,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    DIAGNOSIS,
    DROPPED,
    EXPLORATORY,
    EXPLORATORY_PREF,
    INSIGHT,
    NOTICING,
    PATTERN,
    REACTIVITY,
    SESSIONS_ATTENDED,
    SEVERITY,
    SKILL,
    STRAIN,
    SYMPTOM,
    SYMPTOM_PRE,
    SYMPTOM_TRUE_PRE,
    WITHDRAWAL_TENDENCY,
)
from simulation.model.taxonomy import (
    CONFRONTATION,
    DEEPEST_STAGE,
    EV_EPISODE_END,
    EV_MARKER,
    EV_MISSED,
    EV_NEGATIVE,
    EV_STAGE,
    EV_STRATEGY,
    FIRST_EXPLORATORY,
    FIRST_OTHER,
    HOSTILE,
    N_MARKERS_PER_TYPE,
    NONE,
    PARTLY_RESOLVED,
    RESOLVED,
    UNCLEAR,
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

# Profile columns (see parameters.PROFILE_FIELDS).
PROF_SEVERITY, PROF_WITHDRAWAL, PROF_CONFRONTATION, PROF_SYMPTOM, PROF_INSIGHT = range(5)

# Random streams: one per decision, so adding a decision never shifts another. The three
# decisions every segment makes come from the segment key itself (keyed_random.segment_uniforms).
(
    R_DIAGNOSIS,
    R_SEVERITY,
    R_WITHDRAWAL,
    R_CONFRONTATION,
    R_INSIGHT,
    R_SYMPTOM_INTAKE,
    R_ALLIANCE_INTAKE,
    R_SYMPTOM_MEASURE,
    R_SKILL,
    R_MARKER_TYPE,
    R_MARKER_CODE,
    R_SALIENCE,
    R_OBSERVER,
    R_NOTICE,
    R_REACTION,
    R_STRATEGY_CODE,
    R_STAGE_STEP,
    R_SYMPTOM_CHANGE,
    R_PATIENT_INTENSITY,
    R_PATIENT_RESOLUTION,
    R_WAI_PATIENT,
    R_WAI_THERAPIST,
    R_DROPOUT,
    R_FLARE_UP,
    R_UPTAKE,
) = range(25)

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
def patient_intake(seed: int, pid: int, shares: np.ndarray, profiles: np.ndarray, p, state: np.ndarray) -> None:
    """Fill a patient's state at intake: diagnosis, severity, proneness, insight, symptoms, alliance."""
    g = segment_key(session_key(seed, pid, 0), INTAKE)
    diagnosis = draw_diagnosis(uniform(g, R_DIAGNOSIS), shares)
    prof = profiles[diagnosis]
    severity = clip(prof[PROF_SEVERITY] + p.severity_sd * normal(g, R_SEVERITY), 0.0, 1.0)
    # Log-normal individual proneness with mean equal to the diagnosis style.
    half_var = 0.5 * p.tendency_sd * p.tendency_sd
    state[DIAGNOSIS] = diagnosis
    state[SEVERITY] = severity
    state[WITHDRAWAL_TENDENCY] = prof[PROF_WITHDRAWAL] * math.exp(p.tendency_sd * normal(g, R_WITHDRAWAL) - half_var)
    state[CONFRONTATION_TENDENCY] = prof[PROF_CONFRONTATION] * math.exp(
        p.tendency_sd * normal(g, R_CONFRONTATION) - half_var
    )
    state[INSIGHT] = clip(prof[PROF_INSIGHT] + p.insight_sd * normal(g, R_INSIGHT), 0.0, 1.0)
    symptom = clip(prof[PROF_SYMPTOM] + p.symptom_sd * normal(g, R_SYMPTOM_INTAKE), 0.0, SCALE_MAX)
    state[SYMPTOM] = symptom
    state[SYMPTOM_TRUE_PRE] = symptom
    state[SYMPTOM_PRE] = observe_symptom(symptom, normal(g, R_SYMPTOM_MEASURE), p)
    alliance = p.alliance_initial - p.alliance_severity_penalty * severity
    alliance = clip(alliance + p.alliance_initial_sd * normal(g, R_ALLIANCE_INTAKE), 0.05, 0.95)
    state[ALLIANCE] = alliance
    state[ALLIANCE_INTAKE] = alliance
    state[STRAIN] = 0.0
    state[PATTERN] = 1.0
    state[SESSIONS_ATTENDED] = 0.0
    state[DROPPED] = 0.0


@njit(cache=True)
def therapist_intake(seed: int, tid: int, p, state: np.ndarray) -> None:
    """Fill a therapist's state: skill varies between therapists, the rest is the setting."""
    g = segment_key(session_key(seed, THERAPIST_KEY_OFFSET + tid, 0), INTAKE)
    state[SKILL] = clip(p.skill_mean + p.skill_sd * normal(g, R_SKILL), 0.0, 1.0)
    state[NOTICING] = p.noticing
    state[REACTIVITY] = p.reactivity
    state[EXPLORATORY] = p.exploratory_repertoire
    state[EXPLORATORY_PREF] = p.exploratory_preference
    state[AFT_START] = p.aft_start_session


# ----------------------------------------------------------------------------------------------
# Ruptures
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def rupture_hazard(patient: np.ndarray, alliance: float, strain: float, provoked: float, p) -> tuple[float, float]:
    """Expected withdrawal and confrontation markers in one segment.

    Proneness grows with PD severity, a weak alliance, unresolved strain and a
    rigid relational pattern; a provocation in the previous segment adds to it.
    """
    base = (
        p.rupture_base_rate
        * patient[PATTERN]
        * math.exp(
            p.severity_rupture_gain * patient[SEVERITY]
            + p.alliance_rupture_gain * (p.alliance_reference - alliance)
            + p.strain_rupture_gain * strain
        )
    )
    w = patient[WITHDRAWAL_TENDENCY]
    c = patient[CONFRONTATION_TENDENCY]
    return provoked_hazard(base * w, base * c, w, c, provoked)


@njit(cache=True)
def provoked_hazard(calm_w: float, calm_c: float, w: float, c: float, provoked: float) -> tuple[float, float]:
    """The unprovoked hazard plus a provocation, shared in proportion to the tendencies ``w`` and ``c``.

    ``run_session`` computes the unprovoked hazard once per session and adds only
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
def resolution_stage_step(g: np.uint64, stage: int, cap: int, skill: float, severity: float, insight: float, p) -> int:
    """+2 (a stage skipped), +1 (deeper), -1 (regress) or 0 (stall) for one segment of a resolution episode.

    Sequences are flexible (S4): a share ``stage_skip`` of the advances gets
    past the next stage in one move, where the repertoire reaches that far.
    """
    advance = stage_advance_probability(stage, skill, severity, insight, p) if stage < cap else 0.0
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
def alliance_update(alliance: float, severity: float, dips: float, repairs: float, collaborative: int, p) -> float:
    """Alliance after a session: growth toward a ceiling, minus dips, plus repairs.

    Collaborative segments speed the growth; the ceiling (lower with severe PD)
    bounds it, so only a repaired rupture lifts the alliance above it (the 'V').
    """
    ceiling = p.alliance_ceiling - p.alliance_severity_penalty * severity
    rate = p.alliance_growth + p.collaborative_alliance_gain * collaborative
    return clip(alliance + rate * (ceiling - alliance) - dips + repairs, 0.0, 1.0)


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
def pattern_change(pattern: float, p) -> float:
    """How far the relational pattern has changed: 0 at intake, 1 at ``pattern_floor``."""
    if p.pattern_floor >= 1.0:
        return 0.0
    return (1.0 - pattern) / (1.0 - p.pattern_floor)


@njit(cache=True)
def symptom_update(
    symptom: float, alliance: float, corrective: float, pattern: float, strain: float, z: float, p
) -> float:
    """Symptoms improve through the alliance, corrective experiences and a changed pattern; worsen with strain.

    A loosened relational pattern keeps giving relief between sessions: what
    was learned in repaired ruptures generalises to the patient's other
    relationships (S4: the corrective experience), so relief compounds for the
    patients who resolve often.
    """
    relief = symptom * (
        p.alliance_symptom_effect * alliance
        + p.corrective_symptom_effect * corrective
        + p.pattern_symptom_effect * pattern_change(pattern, p)
    )
    return clip(symptom - relief + p.strain_symptom_effect * strain + p.symptom_noise_sd * z, 0.0, SCALE_MAX)


@njit(cache=True)
def dropout_probability(alliance: float, strain: float, unresolved: bool, p) -> float:
    """Chance to leave therapy after a session: weak alliance and unresolved ruptures drive it."""
    return 1.0 / (1.0 + math.exp(-dropout_logit(alliance, strain, unresolved, p)))


@njit(cache=True)
def dropout_logit(alliance: float, strain: float, unresolved: bool, p) -> float:
    """Log-odds of leaving therapy after a session (``dropout_probability``)."""
    return (
        p.dropout_base_logit
        + p.dropout_alliance_effect * (p.alliance_reference - alliance)
        + p.dropout_strain_effect * strain
        + p.dropout_unresolved_effect * unresolved
    )


@njit(cache=True)
def leaves_therapy(u: float, alliance: float, strain: float, unresolved: bool, p) -> bool:
    """Whether the dropout draw ``u`` falls below ``dropout_probability``.

    At log-odds ``-a <= 0``, ``exp(a) >= 1 + a + a^2/2 + a^3/6`` (Taylor) bounds the
    probability by ``1 / (2 + a + a^2/2 + a^3/6)``: a draw above that (plus a margin for
    rounding) stays without the ``exp``, which is nearly every session at usual dropout rates.
    """
    a = -dropout_logit(alliance, strain, unresolved, p)
    if a >= 0.0 and u >= 1.0 / (2.0 + a + 0.5 * a * a + a * a * a / 6.0) + BOUND_MARGIN:
        return False
    return u < dropout_probability(alliance, strain, unresolved, p)


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
def wai_rating(alliance: float, bias: float, z: float, p) -> int:
    """WAI-SR total 12-60 from the latent alliance and the rater's bias."""
    return int(round(12.0 + 48.0 * clip(alliance + bias + p.wai_noise_sd * z, 0.0, 1.0)))


# ----------------------------------------------------------------------------------------------
# One session
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def emit(
    events: np.ndarray,
    n: int,
    record: bool,
    who: tuple,
    segment: int,
    kind: int,
    code: int,
    rtype: int,
    salience: int,
    observed: int,
    stage: int,
    detail: int,
) -> int:
    """Append one event row (if recording) and return the new event count."""
    if not record:
        return n
    row = events[n]
    row[0] = who[0]
    row[1] = who[1]
    row[2] = who[2]
    row[3] = segment
    row[4] = kind
    row[5] = code
    row[6] = rtype
    row[7] = salience
    row[8] = observed
    row[9] = stage
    row[10] = detail
    return n + 1


@njit(cache=True)
def therapist_in_aft(therapist: np.ndarray, session: int) -> bool:
    """Whether alliance-focused training applies from this session on (T9's switch)."""
    start = therapist[AFT_START]
    return start > 0 and session >= start


@njit(cache=True, inline="always")  # inlined into the engine loop: no per-call argument passing
def run_session(
    seed: int,
    pid: int,
    tid: int,
    session: int,
    patient: np.ndarray,
    therapist: np.ndarray,
    p,
    course_length: int,
    row: np.ndarray,
    events: np.ndarray,
    n_events: int,
    detail: int,
) -> int:
    """Simulate one session of a dyad, then its consequences; update ``patient`` in place.

    Order inside each segment: (1) the therapist works: inside an open
    resolution episode with a 3RS strategy, after which the episode moves a
    stage deeper, stalls or regresses (and closes when it is as deep as the
    repertoire goes or has stalled too long); otherwise with ordinary work
    (an unclear, expressive or supportive intervention); (2) the patient may
    show a marker, more likely after a provocation; (3) the therapist notices
    it or not and responds: a hostile response, a flare-up of the open
    episode, or a new episode at stage 1; (4) a segment without a marker may
    hold a collaborative process. After the last segment an open episode
    closes, then alliance, strain, relational pattern, symptoms, the measures
    and dropout are updated in that order.

    Args:
        seed: Root seed of the run.
        pid: Patient id (key of the patient's random numbers).
        tid: Therapist id.
        session: Session number, 1-based.
        patient: Patient state (``layout.PATIENT_SLOTS``), updated in place.
        therapist: Therapist state (``layout.THERAPIST_SLOTS``).
        p: ``ModelParams``.
        course_length: Planned number of sessions (no dropout after the last one).
        row: Output row (``layout.SESSION_COLUMNS``), overwritten.
        events: Event buffer with room for ``max_events_per_session`` rows.
        n_events: Rows of ``events`` already used.
        detail: ``layout.DETAIL_*``: course sums only, also the row's own measures, also events.

    Returns:
        The new number of used event rows.
    """
    record = detail >= DETAIL_EVENTS
    skey = session_key(seed, pid, session)
    who = (pid, tid, session)  # the columns every event row starts with
    severity = patient[SEVERITY]
    insight = patient[INSIGHT]
    alliance = patient[ALLIANCE]
    strain = patient[STRAIN]
    aft = therapist_in_aft(therapist, session)
    noticing = min(1.0, therapist[NOTICING] + aft * p.aft_noticing_gain)
    skill = min(1.0, therapist[SKILL] + aft * p.aft_skill_gain)
    reactivity = therapist[REACTIVITY] * (1.0 - aft * p.aft_reactivity_reduction)
    explore_preference = 0.0
    if therapist[EXPLORATORY] > 0:
        explore_preference = min(1.0, therapist[EXPLORATORY_PREF] + aft * p.aft_exploratory_gain)
    repertoire_cap = DEEPEST_STAGE if explore_preference > 0.0 else int(p.immediate_stage_cap)
    n_segments = int(p.n_segments)
    collaboration = p.collaborative_base * 0.5 * (alliance + insight)
    p_unclear, p_expressive, p_supportive = therapist_work_mix(skill, severity, aft, p)
    upto_expressive = p_unclear + p_expressive  # the work draw's thresholds, summed as the rule reads
    upto_supportive = p_unclear + p_expressive + p_supportive
    calm_w, calm_c = rupture_hazard(patient, alliance, strain, 0.0, p)  # hazard without provocation
    withdrawal_tendency = patient[WITHDRAWAL_TENDENCY]
    confrontation_tendency = patient[CONFRONTATION_TENDENCY]
    calm_rate = calm_w + calm_c
    g_end = segment_key(skey, END_OF_SESSION)

    row[:] = 0.0
    row[C_PATIENT] = pid
    row[C_THERAPIST] = tid
    row[C_SESSION] = session
    row[C_AFT] = aft
    row[C_ALLIANCE_START] = alliance

    provoked_next = 0.0  # provocation carried into the next segment
    ep_active = False
    ep_type = NONE
    ep_stage = 0
    ep_deepest = 0
    ep_dip = 0.0
    ep_stall = 0
    dips = 0.0  # alliance lost this session
    marker_dips = 0.0
    repairs = 0.0  # alliance given back by episodes
    repaired_dip = 0.0  # part of the marker dips repaired (without overshoot)
    unresolved_dip = 0.0  # dip that becomes carried-over strain
    corrective = 0.0
    felt_max = 1.0  # PSQ intensity 1 = none or very low
    therapist_saw = False
    sal_w_sum = 0.0
    sal_c_sum = 0.0

    g_next = segment_key(skey, 0) if n_segments > 0 else g_end
    for seg in range(n_segments + 1):
        closing = seg == n_segments
        # The next segment's key is hashed a segment ahead, so that a mispredicted branch
        # of this segment does not wait for (or throw away) the next hash.
        g = g_next
        g_next = segment_key(skey, seg + 1) if seg + 1 < n_segments else g_end
        # The three decisions of every segment: the therapist's work, a marker, collaboration.
        u_work, u_marker, u_collaboration = segment_uniforms(g)
        provoked = provoked_next
        provoked_next = 0.0
        engaged = False  # the patient took up an expressive intervention with insight
        rupture_work = ep_active  # this segment's work was on a rupture (its collaboration is counted there)
        consolidated = False
        if ep_active:
            # (1) working through the rupture: a strategy, then a step deeper, a stall or a regress
            if not closing:
                strategy = choose_strategy(g, u_work, ep_stage, explore_preference, p)
                family = strategy_family(strategy)
                row[C_IMMEDIATE + family - 1] += 1
                # Rupture work is therapist behaviour too (SASB codes of T5, T9).
                # (Counts take 0 or 1 without branches: family, stance and step are random tosses.)
                stance = strategy_stance(strategy)
                row[C_SUPPORTIVE] += stance == AFFIRMING
                row[C_EXPRESSIVE] += stance == INTERPRETIVE
                n_events = emit(
                    events, n_events, record, who, seg, EV_STRATEGY, strategy, ep_type, 0, 0, ep_stage, family
                )
                step = resolution_stage_step(g, ep_stage, stage_cap(family, p), skill, severity, insight, p)
                # The patient takes up the work (articulates, explores): a collaborative process (CIS-R).
                row[C_COLLABORATIVE] += step > 0
                ep_stage += step
                ep_deepest = max(ep_deepest, ep_stage)
                if record and step != 0:
                    n_events = emit(events, n_events, record, who, seg, EV_STAGE, 0, ep_type, 0, 0, ep_stage, step)
                ep_stall = 0 if step > 0 else ep_stall + 1
                # Once resolved, a segment without further progress ends the work: the dyad moves on.
                consolidated = ep_stage >= p.resolved_stage and step <= 0
            if closing or consolidated or ep_stage >= repertoire_cap or ep_stall >= p.max_stall_segments:
                # The episode closes: resolved and consolidated, as deep as the repertoire goes,
                # stalled too long, or the session ended.
                outcome = episode_outcome(ep_stage, p)
                repair = episode_repair(outcome, ep_dip, ep_deepest, p)
                repairs += repair
                repaired_dip += min(repair, ep_dip)
                corrective += corrective_experience(outcome, ep_deepest, p)
                if outcome != RESOLVED:
                    unresolved_dip += ep_dip - repair
                row[C_RESOLVED_EPISODES + outcome - 1] += 1
                row[C_STAGE] = max(row[C_STAGE], ep_deepest)
                last_seg = min(seg, n_segments - 1)
                n_events = emit(
                    events,
                    n_events,
                    record,
                    who,
                    last_seg,
                    EV_EPISODE_END,
                    outcome,
                    ep_type,
                    0,
                    0,
                    ep_deepest,
                    ep_stage,
                )
                ep_active = False
                ep_stage = 0
        elif not closing:
            # (1') ordinary therapeutic work: which intervention is a fresh toss every segment that
            # no branch predictor can guess, so the counts take 0 or 1 and the sums a value or
            # nothing, without branches. The uptake draw is made even when the work is not
            # expressive: a keyed draw changes no other number.
            unclear = u_work < p_unclear
            expressive = (u_work >= p_unclear) & (u_work < upto_expressive)
            supportive = (u_work >= upto_expressive) & (u_work < upto_supportive)
            # Expressive work: taken up with insight, a provocation without it (S5).
            engaged = expressive & (uniform(g, R_UPTAKE) < insight)
            row[C_NEGATIVE] += unclear
            row[C_UNCLEAR] += unclear
            row[C_EXPRESSIVE] += expressive
            row[C_SUPPORTIVE] += supportive
            dips = dips + p.negative_intervention_dip if unclear else dips
            provoked = provoked + p.provocation_rate if unclear else provoked
            provoked = provoked + p.expressive_provocation if expressive and not engaged else provoked
            if record and unclear:
                n_events = emit(events, n_events, record, who, seg, EV_NEGATIVE, UNCLEAR, 0, 0, 0, 0, 0)
        if closing:
            break

        # (2) the patient may show a marker, coded by the observer
        # (Most draws are above the marker probability for any split of the provocation: they
        # are settled before the provoked hazard is computed, without a branch on the provocation.)
        kind = NONE
        if u_marker < marker_probability_ceiling(calm_rate + provoked):
            lam_w, lam_c = provoked_hazard(calm_w, calm_c, withdrawal_tendency, confrontation_tendency, provoked)
            kind = marker_type(g, u_marker, lam_w, lam_c)
        if kind == NONE:
            # (4) no rupture: a collaborative process is likelier with a good alliance and insight
            row[C_COLLABORATIVE] += not rupture_work and (engaged or u_collaboration < collaboration)
            continue
        salience = marker_salience(kind, severity, normal(g, R_SALIENCE), p)
        code = 1 + choice(g, R_MARKER_CODE, N_MARKERS_PER_TYPE)
        if kind == CONFRONTATION:
            code += N_MARKERS_PER_TYPE
        observed = observer_salience(salience, normal(g, R_OBSERVER), p)
        dip = rupture_dip(kind, salience, p)
        dips += dip
        marker_dips += dip
        felt_max = max(felt_max, felt_intensity(kind, salience, severity, p))
        if kind == WITHDRAWAL:
            row[C_N_WITHDRAWAL] += 1
            sal_w_sum += observed
        else:
            row[C_N_CONFRONTATION] += 1
            sal_c_sum += observed
        if observed >= p.observer_salient_threshold:
            row[C_RUPTURE_OBSERVED] = 1
        n_events = emit(events, n_events, record, who, seg, EV_MARKER, code, kind, salience, observed, ep_stage, 0)

        # (3) the therapist's response; inside an episode the therapist is already attending
        if not ep_active and uniform(g, R_NOTICE) >= notice_probability(noticing, salience):
            row[C_MISSED] += 1
            row[C_UNREPAIRED] += 1
            unresolved_dip += dip
            n_events = emit(events, n_events, record, who, seg, EV_MISSED, code, kind, salience, observed, ep_stage, 0)
            continue
        row[C_NOTICED] += 1
        if salience >= p.therapist_report_threshold:
            therapist_saw = True
        if uniform(g, R_REACTION) < negative_response_probability(reactivity, severity, kind, p):
            row[C_NEGATIVE] += 1
            row[C_HOSTILE] += 1
            dips += p.negative_intervention_dip
            provoked_next += p.provocation_rate
            n_events = emit(
                events, n_events, record, who, seg, EV_NEGATIVE, HOSTILE, kind, salience, observed, ep_stage, 0
            )
            if not ep_active:
                row[C_UNREPAIRED] += 1
                unresolved_dip += dip
                continue
        if ep_active:
            # The rupture flares up again: the episode takes on the dip and may fall back a stage.
            ep_dip += dip
            if ep_stage > 1 and uniform(g, R_FLARE_UP) < p.flareup_regress:
                ep_stage -= 1
                n_events = emit(events, n_events, record, who, seg, EV_STAGE, 0, ep_type, 0, 0, ep_stage, -1)
            continue
        # A noticed marker met without hostility opens a resolution episode at stage 1.
        ep_active = True
        ep_type = kind
        ep_stage = 1
        ep_deepest = 1
        ep_dip = dip
        ep_stall = 0
        row[C_EPISODES] += 1
        n_events = emit(events, n_events, record, who, seg, EV_STAGE, 0, ep_type, 0, 0, 1, 1)

    n_markers = row[C_N_WITHDRAWAL] + row[C_N_CONFRONTATION]
    if row[C_N_WITHDRAWAL] > 0:
        row[C_SAL_WITHDRAWAL] = sal_w_sum / row[C_N_WITHDRAWAL]
    if row[C_N_CONFRONTATION] > 0:
        row[C_SAL_CONFRONTATION] = sal_c_sum / row[C_N_CONFRONTATION]
    row[C_RESOLVED] = n_markers > 0 and row[C_RESOLVED_EPISODES] > 0 and unresolved_dip == 0.0
    row[C_POSITIVE] = row[C_SUPPORTIVE] + row[C_EXPRESSIVE]

    # Consequences, in order: alliance, strain, relational pattern, symptoms.
    alliance = alliance_update(alliance, severity, dips, repairs, int(row[C_COLLABORATIVE]), p)
    strain = p.strain_decay * strain + unresolved_dip
    left_unresolved = row[C_UNRESOLVED] + row[C_UNREPAIRED]  # ruptures this session did not repair
    pattern = relational_pattern_update(patient[PATTERN], corrective, left_unresolved, p)
    symptom = symptom_update(
        patient[SYMPTOM], alliance, corrective, pattern, strain, normal(g_end, R_SYMPTOM_CHANGE), p
    )

    # Measures: patient and therapist post-session questionnaires, WAI-SR, symptom scale.
    intensity = 1  # PSQ 1 = none or very low: a session without a marker feels like none
    if marker_dips > 0.0:
        intensity = int(clip(round(felt_max + p.patient_intensity_sd * normal(g_end, R_PATIENT_INTENSITY)), 1.0, 5.0))
    row[C_PATIENT_INTENSITY] = intensity
    row[C_PATIENT_REPORTED] = intensity >= p.patient_report_threshold
    row[C_THERAPIST_REPORTED] = therapist_saw
    if detail >= DETAIL_SESSIONS:  # measures only the session row carries
        if row[C_PATIENT_REPORTED]:
            share = repaired_dip / marker_dips if marker_dips > 0.0 else 0.0
            resolution = 1.0 + 4.0 * share + 0.5 * normal(g_end, R_PATIENT_RESOLUTION)
            row[C_PATIENT_RESOLUTION] = clip(round(resolution), 1.0, 5.0)
        row[C_WAI_PATIENT] = wai_rating(alliance, p.wai_patient_bias, normal(g_end, R_WAI_PATIENT), p)
        row[C_WAI_THERAPIST] = wai_rating(alliance, p.wai_therapist_bias, normal(g_end, R_WAI_THERAPIST), p)
    row[C_SYMPTOM_TRUE] = symptom
    row[C_SYMPTOM] = observe_symptom(symptom, normal(g_end, R_SYMPTOM_MEASURE), p)
    row[C_ALLIANCE] = alliance
    row[C_STRAIN] = strain
    row[C_PATTERN] = pattern
    row[C_CORRECTIVE] = corrective

    # Dropout after the session, unless the course ends here anyway.
    unresolved = left_unresolved > 0
    dropped = session < course_length and leaves_therapy(uniform(g_end, R_DROPOUT), alliance, strain, unresolved, p)
    row[C_DROPPED] = dropped

    patient[ALLIANCE] = alliance
    patient[STRAIN] = strain
    patient[PATTERN] = pattern
    patient[SYMPTOM] = symptom
    patient[SESSIONS_ATTENDED] += 1
    patient[DROPPED] = dropped
    return n_events
