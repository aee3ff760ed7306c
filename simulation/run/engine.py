"""The cohort engine: the rules of ``simulation.model.rules`` run over thousands of patients.

One compiled loop runs every patient's course, session by session, calling the
same ``run_session`` the Mesa agents call. Patients are processed in chunks so
that memory is bounded by the chunk, not the cohort; because every random draw
is keyed by (seed, patient, session, segment, stream), chunking never changes
a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from simulation.model.layout import (
    C_ALLIANCE,
    C_DROPPED,
    C_EPISODES,
    C_N_CONFRONTATION,
    C_N_WITHDRAWAL,
    C_PARTLY,
    C_PATIENT_REPORTED,
    C_RESOLVED_EPISODES,
    C_RUPTURE_OBSERVED,
    C_SESSION,
    C_STAGE,
    C_SYMPTOM,
    C_UNREPAIRED,
    C_UNRESOLVED,
    COURSE_COLUMNS,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    DETAIL_SUMMARY,
    DROPPED,
    EARLY_SESSIONS,
    EVENT_COLUMNS,
    K_ALLIANCE_EARLY_SUM,
    K_EARLY_SESSIONS,
    K_EPISODES,
    K_MAX_STAGE,
    K_N_CONFRONTATION,
    K_N_WITHDRAWAL,
    K_PARTLY,
    K_PATIENT_REPORTED,
    K_RESOLVED,
    K_RUPTURE_OBSERVED,
    K_STAGE_SESSIONS,
    K_STAGE_SUM,
    K_SYMPTOM_POST,
    K_UNREPAIRED,
    K_UNRESOLVED,
    PATIENT_SLOTS,
    SESSION_COLUMNS,
    T_ALLIANCE,
    T_ATTENDING,
    T_DROPPED,
    T_RUPTURE,
    T_STAGE,
    T_SYMPTOM,
    THERAPIST_SLOTS,
    TRAJECTORY_COLUMNS,
    max_events_per_session,
)
from simulation.model.parameters import Parameters
from simulation.model.rules import patient_intake, run_session, therapist_intake

#: Rows of the event buffer per compiled call (about 9 MB).
EVENT_BUFFER_ROWS = 100_000
#: Session rows held per compiled call when rows are kept (about 70 MB).
SESSION_BUFFER_ROWS = 200_000


@dataclass
class RawCohort:
    """The engine's output as arrays (``tables.build_tables`` labels them).

    Attributes:
        intake: Patient state at intake, one row per patient (``PATIENT_SLOTS``).
        final: Patient state after the course.
        patient_ids: Patient ids, aligned with ``intake``.
        therapist_ids: Therapist of each patient.
        therapists: Therapist state, row ``t`` for therapist id ``therapist_index[t]``.
        therapist_index: Therapist ids of the rows of ``therapists``.
        sessions: One row per attended session (``SESSION_COLUMNS``); empty unless kept.
        events: One row per event (``EVENT_COLUMNS``); empty unless recorded.
        courses: Course sums per patient (``COURSE_COLUMNS``), aligned with ``intake``.
        trajectory: Sums over the cohort per session number (``TRAJECTORY_COLUMNS``).
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
    """State of each therapist (rows in the order of ``therapist_ids``)."""
    return _intake_therapists(seed, np.asarray(therapist_ids, dtype=np.int64), params.model_params())


@njit(cache=True)
def _intake_therapists(seed, therapist_ids, p):
    out = np.zeros((therapist_ids.shape[0], len(THERAPIST_SLOTS)))
    for i in range(therapist_ids.shape[0]):
        therapist_intake(seed, therapist_ids[i], p, out[i])
    return out


def intake_patients(seed: int, patient_ids: np.ndarray, params: Parameters) -> np.ndarray:
    """State of each patient at intake (rows in the order of ``patient_ids``)."""
    return _intake_patients(seed, patient_ids, params.shares(), params.profiles(), params.model_params())


@njit(cache=True)
def _intake_patients(seed, patient_ids, shares, profiles, p):
    out = np.zeros((patient_ids.shape[0], len(PATIENT_SLOTS)))
    for i in range(patient_ids.shape[0]):
        patient_intake(seed, patient_ids[i], shares, profiles, p, out[i])
    return out


@njit(cache=True)
def accumulate_course(course: np.ndarray, row: np.ndarray) -> None:
    """Add one session record to a patient's course sums (``COURSE_COLUMNS``)."""
    course[K_N_WITHDRAWAL] += row[C_N_WITHDRAWAL]
    course[K_N_CONFRONTATION] += row[C_N_CONFRONTATION]
    course[K_RUPTURE_OBSERVED] += row[C_RUPTURE_OBSERVED]
    course[K_PATIENT_REPORTED] += row[C_PATIENT_REPORTED]
    course[K_EPISODES] += row[C_EPISODES]
    course[K_RESOLVED] += row[C_RESOLVED_EPISODES]
    course[K_PARTLY] += row[C_PARTLY]
    course[K_UNRESOLVED] += row[C_UNRESOLVED]
    course[K_UNREPAIRED] += row[C_UNREPAIRED]
    if row[C_STAGE] > 0:
        course[K_STAGE_SUM] += row[C_STAGE]
        course[K_STAGE_SESSIONS] += 1
        course[K_MAX_STAGE] = max(course[K_MAX_STAGE], row[C_STAGE])
    if row[C_SESSION] <= EARLY_SESSIONS:
        course[K_ALLIANCE_EARLY_SUM] += row[C_ALLIANCE]
        course[K_EARLY_SESSIONS] += 1
    course[K_SYMPTOM_POST] = row[C_SYMPTOM]


@njit(cache=True)
def accumulate_trajectory(trajectory: np.ndarray, row: np.ndarray) -> None:
    """Add one session record to the cohort's sums for its session number (``TRAJECTORY_COLUMNS``)."""
    s = int(row[C_SESSION]) - 1  # (indexed in 2-D: a row view would need an atomic reference count)
    trajectory[s, T_ATTENDING] += 1
    trajectory[s, T_ALLIANCE] += row[C_ALLIANCE]
    trajectory[s, T_SYMPTOM] += row[C_SYMPTOM]
    trajectory[s, T_RUPTURE] += row[C_RUPTURE_OBSERVED]
    trajectory[s, T_STAGE] += row[C_STAGE]
    trajectory[s, T_DROPPED] += row[C_DROPPED]


@njit(cache=True)
def run_courses(seed, patient_ids, therapist_ids, patients, therapists, therapist_rows, p, n_sessions, sessions,
                keep_sessions, events, detail, course_event_bound, courses, trajectory):  # fmt: skip
    """Run the courses of a block of patients; ``patients``, ``courses`` and ``trajectory`` are updated in place.

    Session records go to consecutive rows of ``sessions`` if ``keep_sessions``
    (summary mode: only course sums and the trajectory stay).
    Stops early, before a patient whose events might not fit in ``events``.

    Returns:
        (patients done, session rows written, event rows written).
    """
    # Array views are taken once per patient, not per session (each view needs an atomic
    # reference count); every session is recorded in one buffer row, copied out if kept.
    row = np.zeros(sessions.shape[1])  # the record of the session being run
    n_rows = 0
    n_events = 0
    for i in range(patient_ids.shape[0]):
        if detail >= DETAIL_EVENTS and n_events + course_event_bound > events.shape[0]:
            return i, n_rows, n_events
        therapist = therapists[therapist_rows[i]]
        patient = patients[i]
        course = courses[i]
        for session in range(1, n_sessions + 1):
            n_events = run_session(seed, patient_ids[i], therapist_ids[i], session, patient, therapist, p,
                                   n_sessions, row, events, n_events, detail)  # fmt: skip
            accumulate_course(course, row)
            accumulate_trajectory(trajectory, row)
            if keep_sessions:
                for column in range(row.shape[0]):
                    sessions[n_rows, column] = row[column]
                n_rows += 1
            if patient[DROPPED] > 0:
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
) -> RawCohort:
    """Simulate the courses of ``patient_ids`` with the compiled engine.

    Args:
        params: Model parameters.
        patient_ids: Ids of the patients (keys of their random numbers).
        n_sessions: Planned course length.
        seed: Root seed.
        record_events: Whether to keep the per-event table.
        therapists: Optional therapist states, one row per therapist id from 0
            to the largest id needed (to give therapists individual settings,
            e.g. staggered AFT). Drawn from ``params`` if omitted.
        chunk_size: Patients per compiled call (bounds memory, changes no number).
        keep_sessions: Whether to keep the per-session rows (course sums and
            the trajectory are always kept).

    Returns:
        The raw arrays of the cohort.
    """
    patient_ids = np.asarray(patient_ids, dtype=np.int64)
    therapist_ids = assign_therapists(patient_ids, int(params["caseload"]))
    therapist_index = np.unique(therapist_ids)
    if therapists is None:
        therapist_table = intake_therapists(seed, therapist_index, params)
    else:
        therapist_table = np.asarray(therapists, dtype=np.float64)[therapist_index]
    therapist_rows = np.searchsorted(therapist_index, therapist_ids)
    p = params.model_params()
    intake = intake_patients(seed, patient_ids, params)
    final = intake.copy()
    course_bound = n_sessions * max_events_per_session(int(params["n_segments"]))
    event_capacity = max(course_bound, EVENT_BUFFER_ROWS) if record_events else 1
    detail = DETAIL_EVENTS if record_events else DETAIL_SESSIONS if keep_sessions else DETAIL_SUMMARY
    courses = np.zeros((len(patient_ids), len(COURSE_COLUMNS)))
    trajectory = np.zeros((n_sessions, len(TRAJECTORY_COLUMNS)))
    if keep_sessions:  # bound the session buffer, also for very long courses
        chunk_size = max(1, min(chunk_size, SESSION_BUFFER_ROWS // n_sessions))
    session_blocks, event_blocks = [], []
    start = 0
    while start < len(patient_ids):
        block = slice(start, start + chunk_size)
        n = len(patient_ids[block])
        sessions = np.zeros((n * n_sessions if keep_sessions else 1, len(SESSION_COLUMNS)))
        events = np.zeros((event_capacity, len(EVENT_COLUMNS)))
        done, n_rows, n_events = run_courses(seed, patient_ids[block], therapist_ids[block], final[block],
                                             therapist_table, therapist_rows[block], p, n_sessions, sessions,
                                             keep_sessions, events, detail, course_bound, courses[block],
                                             trajectory)  # fmt: skip
        session_blocks.append(sessions[:n_rows].copy())
        event_blocks.append(events[:n_events].copy())
        start += done
    return RawCohort(
        intake=intake,
        final=final,
        patient_ids=patient_ids,
        therapist_ids=therapist_ids,
        therapists=therapist_table,
        therapist_index=therapist_index,
        sessions=_stack(session_blocks, len(SESSION_COLUMNS)),
        events=_stack(event_blocks, len(EVENT_COLUMNS)),
        courses=courses,
        trajectory=trajectory,
    )


def _stack(blocks: list[np.ndarray], n_columns: int) -> np.ndarray:
    return np.concatenate(blocks) if blocks else np.zeros((0, n_columns))
