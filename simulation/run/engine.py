"""The cohort engine: the rules of ``simulation.model.rules`` run over thousands of patients.

One compiled loop runs every patient's course, session by session, calling the
same ``session.run_session`` the Mesa agents call. Patients are processed in chunks so
that memory is bounded by the chunk, not the cohort; because every random draw
is keyed by (seed, patient, session, segment, stream), chunking never changes
a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.model.kernel_cache import njit
from simulation.model.parameters import Parameters
from simulation.model.records import (
    COURSE,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    DETAIL_SUMMARY,
    EARLY_SESSIONS,
    EVENT,
    IN_SESSION,
    PATIENT,
    PROFILE,
    SESSION,
    THERAPIST,
    TRAJECTORY,
    as_records,
    kernel_params,
    max_events_per_session,
    new_records,
)
from simulation.model.rules import patient_intake, therapist_intake
from simulation.model.session import left_therapy, run_session

#: Rows of the event buffer per compiled call (about 9 MB).
EVENT_BUFFER_ROWS = 100_000
#: Session rows held per compiled call when rows are kept (about 70 MB).
SESSION_BUFFER_ROWS = 200_000


@dataclass
class RawCohort:
    """The engine's output as arrays (``tables.build_tables`` labels them).

    Attributes:
        intake: Patient records at intake (``records.PATIENT``), one per patient.
        final: Patient records after the course.
        patient_ids: Patient ids, aligned with ``intake``.
        therapist_ids: Therapist of each patient.
        therapists: Therapist records (``records.THERAPIST``), row ``t`` for therapist id ``therapist_index[t]``.
        therapist_index: Therapist ids of the rows of ``therapists``.
        sessions: One ``records.SESSION`` per attended session; empty unless kept.
        events: One ``records.EVENT`` per event; empty unless recorded.
        courses: Course sums per patient (``records.COURSE``), aligned with ``intake``.
        trajectory: Sums over the cohort per session number (``records.TRAJECTORY``).
    """

    intake: np.ndarray
    final: np.ndarray
    patient_ids: np.ndarray
    therapist_ids: np.ndarray
    therapists: np.ndarray
    therapist_index: np.ndarray
    sessions: np.ndarray
    events: np.ndarray
    courses: np.ndarray
    trajectory: np.ndarray


def assign_therapists(patient_ids: np.ndarray, caseload: int) -> np.ndarray:
    """Therapist of each patient: consecutive ids share a therapist (caseload patients each).

    The assignment depends only on the patient's id, so a patient simulated
    alone meets the same therapist as inside a cohort.
    """
    return np.asarray(patient_ids, dtype=np.int64) // int(caseload)


def intake_therapists(seed: int, therapist_ids: np.ndarray, params: Parameters) -> np.ndarray:
    """The record of each therapist (in the order of ``therapist_ids``)."""
    therapist_ids = np.asarray(therapist_ids, dtype=np.int64)
    out = new_records(len(therapist_ids), THERAPIST)
    _intake_therapists(seed, therapist_ids, kernel_params(params.model_params()), out)
    return out


@njit(cache=True)
def _intake_therapists(seed, therapist_ids, p, out):
    for i in range(therapist_ids.shape[0]):
        therapist_intake(seed, therapist_ids[i], p, out[i])


def intake_patients(seed: int, patient_ids: np.ndarray, params: Parameters) -> np.ndarray:
    """The record of each patient at intake (in the order of ``patient_ids``)."""
    profiles = as_records(params.profiles(), PROFILE)
    out = new_records(len(patient_ids), PATIENT)
    _intake_patients(seed, patient_ids, params.shares(), profiles, kernel_params(params.model_params()), out)
    return out


@njit(cache=True)
def _intake_patients(seed, patient_ids, shares, profiles, p, out):
    for i in range(patient_ids.shape[0]):
        patient_intake(seed, patient_ids[i], shares, profiles, p, out[i])


@njit(cache=True)
def accumulate_course(course, row) -> None:
    """Add one session record to a patient's course sums (``records.COURSE``)."""
    course.n_withdrawal += row.n_withdrawal
    course.n_confrontation += row.n_confrontation
    course.n_sessions_rupture_observed += row.rupture_observed
    course.n_sessions_patient_reported += row.patient_rupture_reported
    course.n_episodes += row.n_episodes
    course.n_resolved += row.n_resolved
    course.n_partly_resolved += row.n_partly_resolved
    course.n_unresolved += row.n_unresolved
    course.n_unrepaired += row.n_unrepaired
    if row.resolution_stage > 0:
        course.stage_sum += row.resolution_stage
        course.n_stage_sessions += 1
        course.max_stage = max(course.max_stage, row.resolution_stage)
    if row.session <= EARLY_SESSIONS:
        course.alliance_early_sum += row.alliance
        course.n_early_sessions += 1
    course.symptom_post = row.symptom


@njit(cache=True)
def accumulate_trajectory(trajectory, row) -> None:
    """Add one session record to the cohort's sums for its session number (``records.TRAJECTORY``)."""
    sums = trajectory[int(row.session) - 1]
    sums.n_attending += 1
    sums.alliance_sum += row.alliance
    sums.symptom_sum += row.symptom
    sums.rupture_observed_sum += row.rupture_observed
    sums.stage_sum += row.resolution_stage
    sums.dropped_sum += row.dropped_out


@njit(cache=True)
def keep_events(work, events, n_events: int) -> int:
    """Copy the session's logged events (``work.events``) after the ``n_events`` rows used; return the new count."""
    for k in range(work.n_events):
        events[n_events + k] = work.events[k]
    return n_events + work.n_events


@njit(cache=True)
def sum_trajectory(trajectory, sessions) -> None:
    """Add session records to the cohort's sums per session number, in their order (``accumulate_trajectory``)."""
    for k in range(sessions.shape[0]):
        accumulate_trajectory(trajectory, sessions[k])


@njit(cache=True)
def run_agent_session(seed, pid, tid, session, patient_buffer, therapist_buffer, params_buffer, course_length, rows,
                      work_buffer, detail, overrides, course_buffer):  # fmt: skip
    """One session of one dyad for the agent view: the imposed response, ``run_session``, the course sums.

    The agent view's one compiled call per session. Records come as one-record arrays (and the
    patient's session rows as an array with one row per planned session; this session writes
    row ``session - 1``): arrays cross from Python to compiled code at the cost of a pointer,
    where a record scalar costs a type look-up on every call.

    Returns:
        The number of events the session logged (``work_buffer[0].events``).
    """
    work = work_buffer[0]
    p = params_buffer[0]
    impose_response(work, overrides, pid, session)
    row_buffer = rows[session - 1 : session]
    n_events = run_session(seed, pid, tid, session, patient_buffer[0], therapist_buffer[0], p, course_length,
                           row_buffer, work, detail)  # fmt: skip
    accumulate_course(course_buffer[0], row_buffer[0])
    return n_events


#: Columns of an overrides table: patient id, session, segment, imposed response (``taxonomy.RESPONSES``;
#: 0 = the rules' own), and the continuation from that segment on (0 = the original's draws;
#: ``session.session_keys``).
OVERRIDE_COLUMNS = ("patient_id", "session", "segment", "response", "continuation")


def no_overrides() -> np.ndarray:
    """An empty overrides table (``OVERRIDE_COLUMNS``): the therapist responds as the rules say."""
    return np.zeros((0, len(OVERRIDE_COLUMNS)), dtype=np.int64)


def as_override_table(overrides: np.ndarray) -> np.ndarray:
    """An overrides table as int64 rows of ``OVERRIDE_COLUMNS``; rows without a continuation get 0 (the original)."""
    table = np.asarray(overrides, dtype=np.int64)
    table = table.reshape(-1, table.shape[-1] if table.size else len(OVERRIDE_COLUMNS))
    if table.shape[1] == len(OVERRIDE_COLUMNS) - 1:
        table = np.column_stack([table, np.zeros(len(table), np.int64)])
    return table


def no_policy() -> np.ndarray:
    """An empty therapist policy (``records.IN_SESSION.policy``): the rules decide every response."""
    return np.zeros(records_policy_shape(), dtype=np.int64)


def records_policy_shape() -> tuple[int, ...]:
    """Shape of a therapist policy: rupture type (0 unused, 1 withdrawal, 2 confrontation) by salience (0-5)."""
    return IN_SESSION.fields["policy"][0].shape


@njit(cache=True)
def impose_response(work, overrides, patient_id, session) -> None:
    """Set the session's imposed response and the continuation in force (``records.IN_SESSION``), or none.

    A row's continuation holds from its segment to the end of the course (``forks.override_table``
    allows one per patient).
    """
    work.override_segment = -1
    work.override_response = 0
    work.continuation = 0
    for k in range(overrides.shape[0]):
        if overrides[k, 0] != patient_id:
            continue
        if overrides[k, 1] == session:
            work.override_segment = overrides[k, 2]
            work.override_response = overrides[k, 3]
        if overrides[k, 4] != 0 and overrides[k, 1] <= session:
            work.continuation = overrides[k, 4]
            work.continuation_session = overrides[k, 1]
            work.continuation_segment = overrides[k, 2]


@njit(cache=True)
def set_policy(work, policy) -> None:
    """Copy a therapist policy into the session in progress (``records.IN_SESSION.policy``).

    Element by element: a slice assignment (``work.policy[:, :] = policy``) compiles numba's
    shape check with its error message, 4 s of a 48 s first compile.
    """
    for rupture_type in range(policy.shape[0]):
        for salience in range(policy.shape[1]):
            work.policy[rupture_type, salience] = policy[rupture_type, salience]


@njit(cache=True)
def run_courses(seed, patient_ids, therapist_ids, patients, therapists, therapist_rows, p, n_sessions, sessions,
                keep_sessions, events, detail, course_event_bound, courses, trajectory, row_buffer, work,
                overrides, policy):  # fmt: skip
    """Run the courses of a block of patients; ``patients``, ``courses`` and ``trajectory`` are updated in place.

    Session records go to consecutive rows of ``sessions`` if ``keep_sessions``
    (summary mode: only course sums and the trajectory stay).
    Stops early, before a patient whose events might not fit in ``events``.

    Returns:
        (patients done, session rows written, event rows written).
    """
    # Records are taken once per patient, not per session; every session is recorded in one
    # buffer record (``row_buffer``), copied out if kept; ``work`` is the session in progress.
    n_rows = 0
    n_events = 0
    impose_response(work, overrides, -1, 0)  # none yet
    set_policy(work, policy)
    imposing = overrides.shape[0] > 0
    for i in range(patient_ids.shape[0]):
        if detail >= DETAIL_EVENTS and n_events + course_event_bound > events.shape[0]:
            return i, n_rows, n_events
        therapist = therapists[therapist_rows[i]]
        patient = patients[i]
        course = courses[i]
        for session in range(1, n_sessions + 1):
            if imposing:  # a teacher's fork; research runs skip the look-up
                impose_response(work, overrides, patient_ids[i], session)
            run_session(seed, patient_ids[i], therapist_ids[i], session, patient, therapist, p, n_sessions,
                        row_buffer, work, detail)  # fmt: skip
            n_events = keep_events(work, events, n_events)
            row = row_buffer[0]
            accumulate_course(course, row)
            accumulate_trajectory(trajectory, row)
            if keep_sessions:
                sessions[n_rows] = row
                n_rows += 1
            if left_therapy(patient):
                break
    return patient_ids.shape[0], n_rows, n_events


def simulate_cohort(
    params: Parameters,
    patient_ids: np.ndarray,
    n_sessions: int,
    seed: int,
    record_events: bool = True,
    therapists: np.ndarray | None = None,
    chunk_size: int = 4096,
    keep_sessions: bool = True,
    overrides: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> RawCohort:
    """Simulate the courses of ``patient_ids`` with the compiled engine.

    Args:
        params: Model parameters.
        patient_ids: Ids of the patients (keys of their random numbers).
        n_sessions: Planned course length.
        seed: Root seed.
        record_events: Whether to keep the per-event table.
        therapists: Optional therapist records (``records.THERAPIST``, or a float
            matrix with its fields as columns), one per therapist id from 0 to
            the largest id needed (to give therapists individual settings, e.g.
            staggered AFT). Drawn from ``params`` if omitted.
        chunk_size: Patients per compiled call (bounds memory, changes no number).
        keep_sessions: Whether to keep the per-session rows (course sums and
            the trajectory are always kept).
        overrides: Responses imposed on the therapist, one row per (patient id,
            session, segment, response code, continuation; ``OVERRIDE_COLUMNS``); none if omitted.
        policy: A therapist policy (``no_policy`` shape: the response code by rupture type and
            salience, 0 = the rules decide); none if omitted.

    Returns:
        The raw arrays of the cohort.
    """
    patient_ids = np.asarray(patient_ids, dtype=np.int64)
    overrides = no_overrides() if overrides is None else as_override_table(overrides)
    policy = no_policy() if policy is None else np.asarray(policy, dtype=np.int64)
    therapist_ids = assign_therapists(patient_ids, int(params["caseload"]))
    therapist_index = np.unique(therapist_ids)
    if therapists is None:
        therapist_table = intake_therapists(seed, therapist_index, params)
    else:
        therapist_table = as_records(therapists, THERAPIST)[therapist_index]
    therapist_rows = np.searchsorted(therapist_index, therapist_ids)
    p = kernel_params(params.model_params())
    intake = intake_patients(seed, patient_ids, params)
    final = intake.copy()
    course_bound = n_sessions * max_events_per_session(int(params["n_segments"]))
    event_capacity = max(course_bound, EVENT_BUFFER_ROWS) if record_events else 1
    detail = DETAIL_EVENTS if record_events else DETAIL_SESSIONS if keep_sessions else DETAIL_SUMMARY
    courses = new_records(len(patient_ids), COURSE)
    trajectory = new_records(n_sessions, TRAJECTORY)
    if keep_sessions:  # bound the session buffer, also for very long courses
        chunk_size = max(1, min(chunk_size, SESSION_BUFFER_ROWS // n_sessions))
    row_buffer = new_records(1, SESSION)  # the record of the session being run
    work = new_records(1, IN_SESSION)[0]  # the session in progress
    session_blocks, event_blocks = [], []
    start = 0
    while start < len(patient_ids):
        block = slice(start, start + chunk_size)
        n = len(patient_ids[block])
        sessions = new_records(n * n_sessions if keep_sessions else 1, SESSION)
        events = new_records(event_capacity, EVENT)
        done, n_rows, n_events = run_courses(seed, patient_ids[block], therapist_ids[block], final[block],
                                             therapist_table, therapist_rows[block], p, n_sessions, sessions,
                                             keep_sessions, events, detail, course_bound, courses[block],
                                             trajectory, row_buffer, work, overrides, policy)  # fmt: skip
        session_blocks.append(sessions[:n_rows])  # a view: one block needs no copy, several one concatenation
        event_blocks.append(events[:n_events].copy())  # a copy: the buffer is sized for the worst case
        start += done
    return RawCohort(
        intake=intake,
        final=final,
        patient_ids=patient_ids,
        therapist_ids=therapist_ids,
        therapists=therapist_table,
        therapist_index=therapist_index,
        sessions=_stack(session_blocks, SESSION),
        events=_stack(event_blocks, EVENT),
        courses=courses,
        trajectory=trajectory,
    )


def _stack(blocks: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """The blocks as one record array: a single block as it is, several concatenated."""
    if len(blocks) == 1:
        return blocks[0].view(np.recarray)
    return (np.concatenate(blocks) if blocks else np.zeros(0, dtype)).view(np.recarray)
