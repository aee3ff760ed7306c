"""One session as a schedule of therapy steps, compiled with numba.

``run_session`` is the schedule (``docs/MODEL.md`` §3 in code): set-up, then
for each segment ordinary work or work on an open resolution episode, a marker
the patient may show, its coding, and the therapist's response; after the last
segment the consequences (alliance, strain, relational pattern, symptoms), the
measures and dropout. Each step is a function named for what it means in
therapy and built from the rules of ``rules``; the steps are inlined
(``inline="always"``), so the schedule costs nothing over one long function.

The steps pass on what the session has produced so far in ``work`` (an
``records.IN_SESSION`` record) and write the session's record into ``row``
(``records.SESSION``); ``setting`` holds what is fixed for the session. Both
the cohort engine and the Mesa agents call ``run_session``.
"""

from __future__ import annotations

from collections import namedtuple

from simulation.model.kernel_cache import njit
from simulation.model.keyed_random import (
    END_OF_SESSION,
    choice,
    continuation_key,
    normal,
    segment_key,
    segment_uniforms,
    session_key,
    uniform,
)
from simulation.model.records import (
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    count_episode_outcome,
    count_strategy,
    new_session_record,
)
from simulation.model.rules import (
    AFFIRMING,
    INTERPRETIVE,
    alliance_after_gain,
    alliance_decline,
    alliance_update,
    characterological_floor,
    choose_strategy,
    clip,
    corrective_experience,
    ending_reactivation,
    ends_good_enough,
    episode_outcome,
    episode_repair,
    felt_alliance,
    felt_dent,
    felt_intensity,
    felt_repair,
    leaves_therapy,
    marker_probability_ceiling,
    marker_salience,
    marker_type,
    negative_response_probability,
    notice_probability,
    observe_symptom,
    observer_salience,
    openness,
    provoked_hazard,
    recent_course,
    relational_pattern_update,
    remoralization,
    resolution_stage_step,
    rupture_base,
    rupture_dip,
    shown_share,
    stage_cap,
    strategy_family,
    strategy_fit,
    strategy_stance,
    symptom_update,
    therapist_alliance_rating_basis,
    therapist_perceived_salience,
    therapist_registered_dent,
    therapist_view_update,
    therapist_work_mix,
    trust_update,
    voiced_tendencies,
    wai_rating,
    working_through_challenge,
)
from simulation.model.streams import (
    R_DROPOUT,
    R_FLARE_UP,
    R_MARKER_CODE,
    R_NOTICE,
    R_OBSERVER,
    R_PATIENT_INTENSITY,
    R_PATIENT_RESOLUTION,
    R_REACTION,
    R_SALIENCE,
    R_SYMPTOM_CHANGE,
    R_SYMPTOM_MEASURE,
    R_UPTAKE,
    R_WAI_PATIENT,
    R_WAI_PATIENT_ITEMS,
    R_WAI_THERAPIST,
    R_WAI_THERAPIST_ITEMS,
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
    HOSTILE,
    LET_PASS,
    N_MARKERS_PER_TYPE,
    NONE,
    NOTICE_CALMLY,
    REACT_WITH_HOSTILITY,
    RESOLVED,
    STRATEGIES,
    UNCLEAR,
    WITHDRAWAL,
)

#: What is fixed for one session: the therapist as they work today (with AFT if it applies),
#: the chances of ordinary interventions, and the patient's rupture hazard without provocation.
Setting = namedtuple(
    "Setting",
    "aft noticing skill reactivity explore_preference repertoire_cap n_segments collaboration "
    "upto_unclear upto_expressive upto_supportive calm_withdrawal calm_confrontation "
    "voiced_withdrawal voiced_confrontation openness shown wai_leniency",
)
#: Number of 3RS strategies: imposed responses up to it are strategies (``taxonomy.RESPONSES``).
N_STRATEGIES = len(STRATEGIES)
#: A marker as it happened: type, 3RS code, salience (true and as the observer codes it), alliance lost,
#: and the dent it makes in the patient's own rating of the session's alliance.
Marker = namedtuple("Marker", "kind code salience observed dip felt")


# ------------------------------------------------------------------------------------------------
# The schedule
# ------------------------------------------------------------------------------------------------
@njit(cache=True, forceinline=True)  # compiled once for both entry points; LLVM inlines it into their loops
def run_session(seed, pid, tid, session, patient, therapist, p, course_length, row_buffer, work, detail):
    """Hold one session of a dyad and update ``patient`` with its consequences; return the number of events.

    Args:
        seed: Root seed of the run.
        pid: Patient id (key of the patient's random numbers).
        tid: Therapist id.
        session: Session number, 1-based.
        patient: The patient's record (``records.PATIENT``), updated in place.
        therapist: The therapist's record (``records.THERAPIST``).
        p: The parameters (``records.kernel_params``).
        course_length: Planned number of sessions (no dropout after the last one).
        row_buffer: One ``records.SESSION`` record: the session's record, overwritten.
        work: The session in progress (``records.IN_SESSION``); its event log holds the
            session's events (``work.events[:work.n_events]``) afterwards.
        detail: ``records.DETAIL_*``: course sums only, also the row's own measures, also events.
    """
    skey, later, switch = session_keys(seed, pid, session, work)  # later: after segment switch
    end = segment_key(later, END_OF_SESSION)  # the key of the draws after the last segment
    row = new_session_record(row_buffer)
    setting = set_up_session(pid, tid, session, course_length, patient, therapist, p, row, work, detail)
    g_next = segment_key_ahead(skey, later, switch, 0, setting.n_segments, end)
    provoked_next = 0.0  # a provocation carried into the next segment
    for segment in range(setting.n_segments + 1):
        g, g_next = g_next, segment_key_ahead(skey, later, switch, segment + 1, setting.n_segments, end)
        u_work, u_marker, u_collaboration = segment_uniforms(g)  # the three decisions of every segment
        last = segment == setting.n_segments
        provoked, provoked_next, engaged = provoked_next, 0.0, False
        rupture_work = work.episode_open  # a segment of rupture work counts its collaboration there
        if work.episode_open:
            if not last:
                work_through_episode(g, u_work, segment, patient, setting, row, work, p)
            if last or episode_ends(setting, work, p):
                close_episode(min(segment, setting.n_segments - 1), row, work, p)
        elif not last:
            provoked, engaged = ordinary_work(g, u_work, segment, provoked, patient, setting, row, work, p)
        if last:
            break
        kind = patient_shows_marker(g, u_marker, provoked, patient, setting)
        if kind == NONE:
            collaborative_process(u_collaboration, rupture_work, engaged, setting, row)
            continue
        marker = code_marker(g, kind, segment, patient, row, work, p)
        provoked_next = therapist_responds(g, marker, segment, patient, setting, row, work, p)

    sum_up_session(row, work)
    between_sessions(end, patient, row, work, p)
    take_measures(end, setting, row, work, detail, p)
    decide_ending(end, session, course_length, patient, row, p)
    carry_over(patient, row, p)
    return work.n_events


# ------------------------------------------------------------------------------------------------
# Set-up
# ------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def therapist_in_aft(therapist, session: int) -> bool:
    """Whether alliance-focused training applies from this session on (T9's switch)."""
    start = therapist.aft_start_session
    return start > 0 and session >= start


@njit(cache=True, inline="always")
def set_up_session(pid, tid, session, course_length, patient, therapist, p, row, work, detail):
    """The session's setting; the row starts with who meets and the alliance they start from; nothing is open.

    AFT sharpens noticing, adds skill, calms reactivity and adds exploratory
    work (T8, T9); only a therapist with the exploratory repertoire can
    metacommunicate, and only metacommunication reaches the deep stages (S4).
    The therapist challenges core patterns as the alliance can bear it, and the
    approaching end of a time-limited course may reactivate abandonment themes.
    """
    aft = therapist_in_aft(therapist, session)
    skill = min(1.0, therapist.skill + aft * p.aft_skill_gain)
    explore_preference = 0.0
    if therapist.exploratory_repertoire > 0:
        explore_preference = min(1.0, therapist.exploratory_preference + aft * p.aft_exploratory_gain)
    p_unclear, p_expressive, p_supportive = therapist_work_mix(skill, patient.pd_severity, aft, p)
    challenge = working_through_challenge(patient.alliance, p)
    reactivation = ending_reactivation(session, course_length, patient.pd_severity, p)
    # The unprovoked hazard of every segment (rules.rupture_hazard with no provocation), its parts kept.
    base = rupture_base(patient, patient.alliance, patient.strain, p, challenge, reactivation)
    open_ = openness(patient.trust, patient.strain, p)
    voiced_w, voiced_c = voiced_tendencies(patient.withdrawal_tendency, patient.confrontation_tendency, open_, p)
    shown = shown_share(patient.compliance, open_)
    setting = Setting(
        aft,
        min(1.0, therapist.noticing + aft * p.aft_noticing_gain),
        skill,
        therapist.reactivity * (1.0 - aft * p.aft_reactivity_reduction),
        explore_preference,
        DEEPEST_STAGE if explore_preference > 0.0 else int(p.immediate_stage_cap),
        int(p.n_segments),
        p.collaborative_base * 0.5 * (patient.alliance + patient.insight),
        p_unclear,
        p_unclear + p_expressive,  # the work draw's thresholds, summed as the rule reads
        p_unclear + p_expressive + p_supportive,
        shown * base * voiced_w,
        shown * base * voiced_c,
        voiced_w,
        voiced_c,
        open_,
        shown,
        patient.wai_leniency,
    )
    start_session_record(pid, tid, session, aft, patient.alliance, row)
    start_session_work(work, detail)
    return setting


@njit(cache=True, inline="always")
def start_session_record(pid, tid, session, aft, alliance, row) -> None:
    """The session record starts with who meets, in which session, with AFT or not, from which alliance."""
    row.patient_id = pid
    row.therapist_id = tid
    row.session = session
    row.aft_active = aft
    row.alliance_start = alliance


@njit(cache=True, inline="always")
def start_session_work(work, detail) -> None:
    """No episode open, nothing lost or repaired yet, no marker felt (PSQ 1 = none), no event logged."""
    work.episode_open = False
    work.episode_stage = 0
    work.imposed_strategy = 0
    work.dips = 0.0
    work.marker_dips = 0.0
    work.seen_dips = 0.0
    work.repairs = 0.0
    work.repaired_dip = 0.0
    work.unresolved_dip = 0.0
    work.corrective = 0.0
    work.felt_dents = 0.0
    work.felt_seen = 0.0
    work.felt_repairs = 0.0
    work.felt_max = 1.0
    work.therapist_saw = False
    work.salience_withdrawal_sum = 0.0
    work.salience_confrontation_sum = 0.0
    work.n_events = 0
    work.record_events = detail >= DETAIL_EVENTS


@njit(cache=True, inline="always")
def session_keys(seed, pid, session, work):
    """The session's key, the key of its segments after segment ``switch`` (and of its end), and ``switch``.

    In a continuation of a fork (``work.continuation`` > 0; ``records.IN_SESSION``)
    every draw after the fork segment is keyed with the continuation's number too:
    the fork session's later segments, its end-of-session draws (symptom change,
    measures, dropout) and every later session. The draws up to and including the
    fork segment stay the original's, so all continuations share the past and
    differ from the next segment on. Without a continuation both keys are the
    session's own: every number is the original's.
    """
    skey = session_key(seed, pid, session)
    if work.continuation == 0 or session < work.continuation_session:
        return skey, skey, -1
    later = continuation_key(skey, work.continuation)
    if session > work.continuation_session:
        return later, later, -1
    return skey, later, work.continuation_segment


@njit(cache=True, inline="always")
def segment_key_ahead(skey, later, switch, segment, n_segments, end):
    """The key of ``segment``: from ``skey`` up to segment ``switch``, from ``later`` after it (``end`` after the last).

    Hashed a segment ahead, so that a mispredicted branch of this segment does
    not wait for (or throw away) the next hash. Outside a fork session of a
    continuation the two keys are equal and the choice changes nothing.
    """
    return segment_key(skey if segment <= switch else later, segment) if segment < n_segments else end


# ------------------------------------------------------------------------------------------------
# The therapist works
# ------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def ordinary_work(g, u_work, segment, provoked, patient, setting, row, work, p) -> tuple[float, bool]:
    """An unclear, an expressive or a supportive intervention, or none; returns the provocation and the uptake.

    Unclear work is a negative process that costs alliance and provokes;
    expressive work is taken up with insight and provokes without it (S5).
    Which intervention is a fresh toss every segment that no branch predictor
    can guess, so the counts take 0 or 1 and the sums a value or nothing,
    without branches; the uptake draw is made even when the work is not
    expressive (a keyed draw changes no other number).
    """
    unclear = u_work < setting.upto_unclear
    expressive = (u_work >= setting.upto_unclear) & (u_work < setting.upto_expressive)
    supportive = (u_work >= setting.upto_expressive) & (u_work < setting.upto_supportive)
    engaged = expressive & (uniform(g, R_UPTAKE) < patient.insight)
    row.therapist_negative += unclear
    row.therapist_unclear += unclear
    row.therapist_expressive += expressive
    row.therapist_supportive += supportive
    work.dips = work.dips + p.negative_intervention_dip if unclear else work.dips
    provoked = provoked + p.provocation_rate if unclear else provoked
    provoked = provoked + p.expressive_provocation if expressive and not engaged else provoked
    if work.record_events and unclear:  # the flag first: fixed for a run, so this branch is predicted
        log_event(work, row, segment, EV_NEGATIVE, UNCLEAR)
    return provoked, engaged


@njit(cache=True, inline="always")
def work_through_episode(g, u_work, segment, patient, setting, row, work, p) -> None:
    """A 3RS strategy for the open rupture, then the episode moves a stage deeper, stalls or regresses.

    Rupture work is therapist behaviour too (SASB codes of T5, T9); a step
    deeper means the patient took up the work (a collaborative process, CIS-R).
    """
    stage = work.episode_stage
    strategy = choose_strategy(g, u_work, stage, setting.explore_preference, p)
    if told_at(work, segment) and work.override_response <= N_STRATEGIES:
        strategy = work.override_response  # a teacher's or trainee's move at this segment
    elif work.imposed_strategy != 0:
        strategy = work.imposed_strategy  # the move chosen at the marker that opened the episode
    work.imposed_strategy = 0  # a strategy is a move: what the patient does next, the therapist answers their way
    family = strategy_family(strategy)
    count_strategy(row, family)
    stance = strategy_stance(strategy)
    row.therapist_supportive += stance == AFFIRMING
    row.therapist_expressive += stance == INTERPRETIVE
    log_event(work, row, segment, EV_STRATEGY, strategy, work.episode_type, stage=stage, detail=family)
    fit = strategy_fit(strategy, work.episode_type, stage, p)
    step = resolution_stage_step(g, stage, stage_cap(family, p), setting.skill, patient.pd_severity, patient.insight,
                                 p, fit)  # fmt: skip
    row.collaborative += step > 0
    stage += step
    work.episode_stage = stage
    work.episode_deepest = max(work.episode_deepest, stage)
    if work.record_events and step != 0:  # the flag first: fixed for a run, so this branch is predicted
        log_event(work, row, segment, EV_STAGE, 0, work.episode_type, stage=stage, detail=step)
    work.episode_stall = 0 if step > 0 else work.episode_stall + 1
    # Once resolved, a segment without further progress ends the work: the dyad moves on.
    work.consolidated = stage >= p.resolved_stage and step <= 0


@njit(cache=True, inline="always")
def episode_ends(setting, work, p) -> bool:
    """The episode closes when resolved and consolidated, as deep as the repertoire goes, or stalled too long."""
    return (
        work.consolidated or work.episode_stage >= setting.repertoire_cap or work.episode_stall >= p.max_stall_segments
    )


@njit(cache=True, inline="always")
def close_episode(segment, row, work, p) -> None:
    """The episode's outcome from the stage it ends on; what it repairs, and what stays unresolved as strain."""
    dip = work.episode_dip
    deepest = work.episode_deepest
    outcome = episode_outcome(work.episode_stage, p)
    repair = episode_repair(outcome, dip, deepest, p)
    work.repairs += repair
    work.repaired_dip += min(repair, dip)
    work.corrective += corrective_experience(outcome, deepest, p)
    work.felt_repairs += felt_repair(work.episode_felt, repair, dip)
    if outcome != RESOLVED:
        work.unresolved_dip += dip - repair
    count_episode_outcome(row, outcome)
    row.resolution_stage = max(row.resolution_stage, deepest)
    log_event(work, row, segment, EV_EPISODE_END, outcome, work.episode_type, stage=deepest,
              detail=work.episode_stage)  # fmt: skip
    work.episode_open = False
    work.episode_stage = 0
    work.imposed_strategy = 0  # an imposed strategy ends with its episode


# ------------------------------------------------------------------------------------------------
# The patient shows a marker, the observer codes it
# ------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def patient_shows_marker(g, u_marker, provoked, patient, setting) -> int:
    """NONE, WITHDRAWAL or CONFRONTATION: the rupture hazard, raised by a provocation (at most one marker).

    Most draws are above the marker probability for any split of the
    provocation: they are settled before the provoked hazard is computed.
    """
    provoked = setting.shown * provoked  # a compliant patient keeps part of even a provoked reaction back
    calm_rate = setting.calm_withdrawal + setting.calm_confrontation
    if u_marker >= marker_probability_ceiling(calm_rate + provoked):
        return NONE
    lam_w, lam_c = provoked_hazard(
        setting.calm_withdrawal,
        setting.calm_confrontation,
        setting.voiced_withdrawal,
        setting.voiced_confrontation,
        provoked,
    )
    return marker_type(g, u_marker, lam_w, lam_c)


@njit(cache=True, inline="always")
def collaborative_process(u_collaboration, rupture_work, engaged, setting, row) -> None:
    """No rupture: a collaborative process is likelier with a good alliance and insight, or expressive uptake.

    A segment of rupture work counts its collaboration there (a step deeper).
    """
    row.collaborative += not rupture_work and (engaged or u_collaboration < setting.collaboration)


@njit(cache=True, inline="always")
def code_marker(g, kind, segment, patient, row, work, p):
    """The marker's 3RS code and salience, as it happens and as the observer codes it; the alliance it costs.

    The patient feels it (PSQ intensity, T3); the observer counts a session
    as ruptured from a salient marker on (T1, T13).
    """
    severity = patient.pd_severity
    salience = marker_salience(kind, severity, normal(g, R_SALIENCE), p)
    code = 1 + choice(g, R_MARKER_CODE, N_MARKERS_PER_TYPE)
    if kind == CONFRONTATION:
        code += N_MARKERS_PER_TYPE
    observed = observer_salience(salience, normal(g, R_OBSERVER), p)
    dip = rupture_dip(kind, salience, p)
    work.dips += dip
    work.marker_dips += dip
    felt = felt_intensity(kind, salience, severity, p)
    work.felt_max = max(work.felt_max, felt)
    dent = felt_dent(felt, p)  # the patient's own rating of the session sinks with what they felt
    work.felt_dents += dent
    if kind == WITHDRAWAL:
        row.n_withdrawal += 1
        work.salience_withdrawal_sum += observed
    else:
        row.n_confrontation += 1
        work.salience_confrontation_sum += observed
    if observed >= p.observer_salient_threshold:
        row.rupture_observed = 1
    log_event(work, row, segment, EV_MARKER, code, kind, salience, observed, work.episode_stage)
    return Marker(kind, code, salience, observed, dip, dent)


# ------------------------------------------------------------------------------------------------
# The therapist responds
# ------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def therapist_responds(g, marker, segment, patient, setting, row, work, p) -> float:
    """The therapist misses the marker, or notices it and may react with hostility; then the rupture is worked on.

    Inside an open episode the therapist is already attending: the rupture
    flares up again. A marker noticed and met without hostility opens a new
    resolution episode; one missed or met with hostility stays unrepaired.
    Returns the provocation the response carries into the next segment.
    """
    # A response imposed for this segment (a fork) replaces both draws: whether the therapist notices
    # the marker and whether they react with hostility. A policy answers only what the therapist
    # notices, and replaces only the choice of response: the noticing and hostility draws stay the
    # rules' (unless the policy's response is itself to let pass, to stay calm or to be hostile).
    told = told_at(work, segment)
    response = work.override_response if told else work.policy[marker.kind, marker.salience]
    decided = response != 0
    if not work.episode_open and (
        (response == LET_PASS and decided)
        or (not told and uniform(g, R_NOTICE) >= notice_probability(setting.noticing, marker.salience))
    ):
        marker_missed(marker, segment, row, work)
        return 0.0
    row.n_noticed += 1
    work.seen_dips += marker.dip
    work.felt_seen += marker.felt
    if therapist_perceived_salience(marker.kind, marker.salience, setting.aft, p) >= p.therapist_report_threshold:
        work.therapist_saw = True
    hostile = (
        response == REACT_WITH_HOSTILITY
        if told or response in (NOTICE_CALMLY, REACT_WITH_HOSTILITY)
        else uniform(g, R_REACTION) < negative_response_probability(setting.reactivity, patient.pd_severity,
                                                                     marker.kind, p)
    )  # fmt: skip
    if hostile:
        hostile_response(marker, segment, row, work, p)
    if work.episode_open:
        episode_flares_up(g, marker, segment, row, work, p)
    elif hostile:
        left_unrepaired(marker, row, work)
    else:
        open_episode(marker, segment, row, work)
        if decided and response <= N_STRATEGIES:
            work.imposed_strategy = response  # an imposed or policy strategy is the new episode's
    return p.provocation_rate if hostile else 0.0


@njit(cache=True, inline="always")
def told_at(work, segment) -> bool:
    """Whether a teacher or trainee imposed the therapist's response for this segment (``records.IN_SESSION``)."""
    return work.override_response != 0 and work.override_segment == segment


@njit(cache=True, inline="always")
def marker_missed(marker, segment, row, work) -> None:
    """The therapist does not see the marker: the rupture stays unrepaired."""
    row.n_missed += 1
    left_unrepaired(marker, row, work)
    log_event(work, row, segment, EV_MISSED, marker.code, marker.kind, marker.salience, marker.observed,
              work.episode_stage)  # fmt: skip


@njit(cache=True, inline="always")
def left_unrepaired(marker, row, work) -> None:
    """A rupture nobody works on: its dip becomes strain carried into the next session."""
    row.n_unrepaired += 1
    work.unresolved_dip += marker.dip


@njit(cache=True, inline="always")
def hostile_response(marker, segment, row, work, p) -> None:
    """A hostile, blaming or defensive response (T5): it costs alliance (and provokes the next segment)."""
    row.therapist_negative += 1
    row.therapist_hostile += 1
    work.dips += p.negative_intervention_dip
    log_event(work, row, segment, EV_NEGATIVE, HOSTILE, marker.kind, marker.salience, marker.observed,
              work.episode_stage)  # fmt: skip


@njit(cache=True, inline="always")
def episode_flares_up(g, marker, segment, row, work, p) -> None:
    """The open episode takes on the new dip and may fall back a stage."""
    work.episode_dip += marker.dip
    work.episode_felt += marker.felt
    if work.episode_stage > 1 and uniform(g, R_FLARE_UP) < p.flareup_regress:
        work.episode_stage -= 1
        log_event(work, row, segment, EV_STAGE, 0, work.episode_type, stage=work.episode_stage, detail=-1)


@njit(cache=True, inline="always")
def open_episode(marker, segment, row, work) -> None:
    """A resolution episode opens at stage 1 of the marker's Safran-Muran path."""
    work.episode_open = True
    work.episode_type = marker.kind
    work.episode_stage = 1
    work.episode_deepest = 1
    work.episode_dip = marker.dip
    work.episode_felt = marker.felt
    work.episode_stall = 0
    row.n_episodes += 1
    log_event(work, row, segment, EV_STAGE, 0, marker.kind, stage=1, detail=1)


# ------------------------------------------------------------------------------------------------
# After the session
# ------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def sum_up_session(row, work) -> None:
    """Mean observed salience by type, whether every rupture was resolved, positive therapist work."""
    n_markers = row.n_withdrawal + row.n_confrontation
    if row.n_withdrawal > 0:
        row.salience_withdrawal = work.salience_withdrawal_sum / row.n_withdrawal
    if row.n_confrontation > 0:
        row.salience_confrontation = work.salience_confrontation_sum / row.n_confrontation
    row.resolved = n_markers > 0 and row.n_resolved > 0 and work.unresolved_dip == 0.0
    row.therapist_positive = row.therapist_supportive + row.therapist_expressive


@njit(cache=True, inline="always")
def between_sessions(end, patient, row, work, p) -> None:
    """The consequences, in order: alliance, strain, relational pattern, symptoms, trust (into the session row).

    Symptoms also lift with remoralization, but not below what the pattern still holds up (the
    characterological floor). The alliance as the patient lives it is the alliance less the felt
    dent of ruptures not yet repaired (S9); the therapist registers the dents and repairs they took part in.
    """
    row.alliance = alliance_update(patient.alliance, patient.pd_severity, work.dips, work.repairs,
                                   int(row.collaborative), p)  # fmt: skip
    row.strain = p.strain_decay * patient.strain + work.unresolved_dip
    row.pattern = relational_pattern_update(patient.pattern, work.corrective, ruptures_left_unresolved(row), p)
    remoralized = remoralization(patient.morale_deficit, row.alliance, p)
    row.morale_deficit = patient.morale_deficit - remoralized
    floor = characterological_floor(patient.symptom_true_pre, patient.pd_severity, row.pattern, p)
    row.symptom_true = symptom_update(patient.symptom_true, row.alliance, work.corrective, row.pattern, row.strain,
                                      normal(end, R_SYMPTOM_CHANGE), p, remoralized, floor)  # fmt: skip
    row.corrective = work.corrective
    row.trust = trust_update(patient.trust, work.corrective, p)
    # The therapist's own view: growth toward the ceiling as they see this patient, less only the ruptures they saw.
    row.alliance_therapist_view = therapist_view_update(patient.alliance_therapist_view, patient.therapist_impression,
                                                        patient.pd_severity, work.seen_dips, work.repairs,
                                                        int(row.collaborative), p)  # fmt: skip
    row.felt_dent = patient.felt_dent + work.felt_dents - work.felt_repairs
    row.alliance_felt = felt_alliance(row.alliance, row.felt_dent)
    row.alliance_felt_recent = recent_course(patient.alliance_felt_recent, row.alliance_felt, p)
    row.therapist_felt_dent = therapist_registered_dent(patient.therapist_felt_dent, work.felt_seen,
                                                        work.felt_repairs, p)  # fmt: skip


@njit(cache=True, inline="always")
def ruptures_left_unresolved(row) -> float:
    """Ruptures this session did not repair: episodes closed unresolved, markers missed or met with hostility."""
    return row.n_unresolved + row.n_unrepaired


@njit(cache=True, inline="always")
def take_measures(end, setting, row, work, detail, p) -> None:
    """What each informant reports: the patient's PSQ, the therapist's PSQ, WAI-SR of both, the symptom scale.

    A patient who is not open (low trust, or closed off by strain) rates a rupture lower and
    the alliance higher (deference, S8).
    """
    deference = 1.0 - setting.openness  # the patient is as open as at the session's start
    intensity = 1  # PSQ 1 = none or very low: a session without a marker feels like none
    if work.marker_dips > 0.0:
        voiced = work.felt_max - p.deference_unvoiced * deference
        felt = voiced + p.patient_intensity_sd * normal(end, R_PATIENT_INTENSITY)
        intensity = int(clip(round(felt), 1.0, 5.0))
    row.patient_rupture_intensity = intensity
    row.patient_rupture_reported = intensity >= p.patient_report_threshold
    row.therapist_rupture_reported = work.therapist_saw
    if detail >= DETAIL_SESSIONS:  # measures only the session row carries
        if row.patient_rupture_reported:
            share = work.repaired_dip / work.marker_dips if work.marker_dips > 0.0 else 0.0
            resolution = 1.0 + 4.0 * share + 0.5 * normal(end, R_PATIENT_RESOLUTION)
            row.patient_resolution = clip(round(resolution), 1.0, 5.0)
        lenient = p.wai_patient_bias + setting.wai_leniency + p.deference_leniency * deference
        z = normal(end, R_WAI_PATIENT)
        row.wai_patient = wai_rating(row.alliance_felt, lenient, z, p, end, R_WAI_PATIENT_ITEMS)  # as lived
        basis = therapist_alliance_rating_basis(row.alliance, row.alliance_therapist_view, p) - row.therapist_felt_dent
        z = normal(end, R_WAI_THERAPIST)
        row.wai_therapist = wai_rating(basis, p.wai_therapist_bias, z, p, end, R_WAI_THERAPIST_ITEMS)
    row.symptom = observe_symptom(row.symptom_true, normal(end, R_SYMPTOM_MEASURE), p)


@njit(cache=True, inline="always")
def decide_ending(end, session, course_length, patient, row, p) -> None:
    """Two ways to leave before the planned end (S8): dropout (T11), or a good-enough ending.

    Dropout follows the alliance as the patient lives it, its level and its decline below its
    recent course (S9, T18); a patient closed off (low trust, or strain) is likelier to drop out:
    silent disengagement. A good-enough ending needs reliable improvement; neither happens after
    the last planned session.
    """
    if session >= course_length:  # the course ends here anyway
        return
    unresolved = ruptures_left_unresolved(row) > 0
    closed = 1.0 - openness(row.trust, row.strain, p)
    decline = alliance_decline(patient.alliance_felt_recent, row.alliance_felt)
    row.dropped_out = leaves_therapy(uniform(end, R_DROPOUT), row.alliance_felt, row.strain, unresolved, p, closed,
                                     decline)  # fmt: skip
    row.ended_good_enough = not row.dropped_out and ends_good_enough(end, row.symptom, patient.symptom_pre, p)


@njit(cache=True, inline="always")
def left_therapy(patient) -> bool:
    """Whether the patient has left before the planned end (dropout or a good-enough ending)."""
    return patient.dropped_out > 0 or patient.ended_good_enough > 0


@njit(cache=True, inline="always")
def carry_over(patient, row, p) -> None:
    """The patient leaves the session with its alliance, strain, pattern, symptoms and trust.

    A symptom gain in the session lifts the alliance they bring to the next one (S9, T19); part of
    the felt dent not yet repaired stays with them, and with the therapist who registered it.
    """
    patient.alliance = alliance_after_gain(row.alliance, patient.symptom_true - row.symptom_true, p)
    patient.felt_dent = p.felt_dent_carry * row.felt_dent
    patient.therapist_felt_dent = p.felt_dent_carry * row.therapist_felt_dent
    patient.alliance_felt_recent = row.alliance_felt_recent
    patient.strain = row.strain
    patient.pattern = row.pattern
    patient.symptom_true = row.symptom_true
    patient.sessions_attended += 1
    patient.dropped_out = row.dropped_out
    patient.trust = row.trust
    patient.morale_deficit = row.morale_deficit
    patient.alliance_therapist_view = row.alliance_therapist_view
    patient.ended_good_enough = row.ended_good_enough


# A call, not inlined like the steps: only runs that record events log any, and inlining it at its nine
# call sites cost about a quarter more compile time for no speed.
@njit(cache=True)
def log_event(work, row, segment, kind, code, rupture_type=0, salience=0, observed=0, stage=0, detail=0):
    """Append one event to the session's log (if events are recorded): who, when, what, and the episode's stage."""
    if not work.record_events:
        return
    event = work.events[work.n_events]
    event.patient_id = row.patient_id
    event.therapist_id = row.therapist_id
    event.session = row.session
    event.segment = segment
    event.kind = kind
    event.code = code
    event.rupture_type = rupture_type
    event.salience = salience
    event.observed_salience = observed
    event.stage = stage
    event.detail = detail
    work.n_events += 1
