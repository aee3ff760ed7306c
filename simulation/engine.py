"""The cohort engine: the rules of ``simulation.rules`` run over thousands of patients.

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

from simulation.layout import (
    DROPPED,
    EVENT_COLUMNS,
    PATIENT_SLOTS,
    SESSION_COLUMNS,
    THERAPIST_SLOTS,
    max_events_per_session,
)
from simulation.parameters import Parameters
from simulation.rules import patient_intake, run_session, therapist_intake

#: Rows of the event buffer per compiled call (about 9 MB).
EVENT_BUFFER_ROWS = 100_000


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
        sessions: One row per attended session (``SESSION_COLUMNS``).
        events: One row per event (``EVENT_COLUMNS``); empty unless recorded.
    """

    intake: np.ndarray
    final: np.ndarray
    patient_ids: np.ndarray
    therapist_ids: np.ndarray
    therapists: np.ndarray
    therapist_index: np.ndarray
    sessions: np.ndarray
    events: np.ndarray


def assign_therapists(patient_ids: np.ndarray, caseload: int) -> np.ndarray:
    """Therapist of each patient: consecutive ids share a therapist (caseload patients each).

    The assignment depends only on the patient's id, so a patient simulated
    alone meets the same therapist as inside a cohort.
    """
    return np.asarray(patient_ids, dtype=np.int64) // int(caseload)


def intake_therapists(seed: int, therapist_ids: np.ndarray, params: Parameters) -> np.ndarray:
    """State of each therapist (rows in the order of ``therapist_ids``)."""
    p = params.model_params()
    out = np.zeros((len(therapist_ids), len(THERAPIST_SLOTS)))
    for row, tid in enumerate(therapist_ids):
        therapist_intake(seed, int(tid), p, out[row])
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
def run_courses(
    seed,
    patient_ids,
    therapist_ids,
    patients,
    therapists,
    therapist_rows,
    p,
    n_sessions,
    sessions,
    events,
    record,
    course_event_bound,
):
    """Run the courses of a block of patients; ``patients`` is updated in place.

    Stops early, before a patient whose events might not fit in ``events``.

    Returns:
        (patients done, session rows written, event rows written).
    """
    n_rows = 0
    n_events = 0
    for i in range(patient_ids.shape[0]):
        if record and n_events + course_event_bound > events.shape[0]:
            return i, n_rows, n_events
        therapist = therapists[therapist_rows[i]]
        for session in range(1, n_sessions + 1):
            n_events = run_session(
                seed,
                patient_ids[i],
                therapist_ids[i],
                session,
                patients[i],
                therapist,
                p,
                sessions[n_rows],
                events,
                n_events,
                record,
            )
            n_rows += 1
            if patients[i, DROPPED] > 0:
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
    session_blocks, event_blocks = [], []
    start = 0
    while start < len(patient_ids):
        block = slice(start, start + chunk_size)
        n = len(patient_ids[block])
        sessions = np.zeros((n * n_sessions, len(SESSION_COLUMNS)))
        events = np.zeros((event_capacity, len(EVENT_COLUMNS)))
        done, n_rows, n_events = run_courses(
            seed,
            patient_ids[block],
            therapist_ids[block],
            final[block],
            therapist_table,
            therapist_rows[block],
            p,
            n_sessions,
            sessions,
            events,
            record_events,
            course_bound,
        )
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
    )


def _stack(blocks: list[np.ndarray], n_columns: int) -> np.ndarray:
    return np.concatenate(blocks) if blocks else np.zeros((0, n_columns))
