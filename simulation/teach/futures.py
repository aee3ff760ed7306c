"""Futures of a fork: every response at one marker, each followed into the same K continuations.

At a marker (session, segment) of one patient's course, each response of a list
is imposed in turn, and the course is followed into continuations 0 .. K-1
(``forks.Fork.continuation``): the same past up to and including the fork
segment, K different futures after it (``session.session_keys`` keys every
later draw with the continuation's number). Future k is the same for every
response, so responses compare paired, future by future; future 0 is the
original's random numbers. The trainee mode shows the spread of consequences
over these futures (``teach/trainee.py``).

Runs on the cohort engine's compiled loop (``engine.run_courses``), one call
per response and future; the agent view gives the same numbers for any one of
them (``simulate(engine="agents", overrides=[Fork(..., continuation=k)])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.model.parameters import ParameterError, Parameters
from simulation.model.records import (
    COURSE,
    DETAIL_EVENTS,
    EVENT,
    IN_SESSION,
    PATIENT,
    SESSION,
    THERAPIST,
    TRAJECTORY,
    as_records,
    kernel_params,
    max_events_per_session,
    new_records,
)
from simulation.model.taxonomy import EV_EPISODE_END, EV_MARKER, EV_STAGE, RESOLVED
from simulation.run.engine import assign_therapists, intake_patients, intake_therapists, no_policy, run_courses
from simulation.run.forks import override_table

#: Outcome columns of ``outcomes``, one row per response and future.
OUTCOME_COLUMNS = ("response", "future", "alliance_change", "resolved", "dropped_out", "symptom_change")
#: Most futures one call may ask for (keeps a teaching call small).
MAX_FUTURES = 1000


@dataclass
class Futures:
    """Every response's course in every continuation.

    Attributes:
        sessions: Session records (``records.SESSION``) of all courses, course after course.
        events: Event records (``records.EVENT``) of all courses.
        course_of_session: The course (index into ``courses``) of each session record.
        course_of_event: The course of each event record.
        courses: One row per course: ``response`` (code, 0 = the rules' own) and ``future``.
        intake: The patient's record at intake.
        session: The fork's session.
        segment: The fork's segment.
        n_sessions: Planned course length.
    """

    sessions: np.ndarray
    events: np.ndarray
    course_of_session: np.ndarray
    course_of_event: np.ndarray
    courses: pd.DataFrame
    intake: np.ndarray
    session: int
    segment: int
    n_sessions: int


def simulate_futures(
    params: Parameters,
    patient_id: int,
    n_sessions: int,
    seed: int,
    session: int,
    segment: int,
    responses: Sequence[int],
    n_futures: int = 30,
    patient: np.ndarray | None = None,
    therapists: np.ndarray | None = None,
) -> Futures:
    """Impose each of ``responses`` at ``session``, ``segment`` and follow it into ``n_futures`` continuations.

    Args:
        params: Model parameters.
        patient_id: The patient (key of its random numbers; also picks its therapist).
        n_sessions: Planned course length.
        seed: Root seed.
        session: The fork's session (1-based).
        segment: The fork's segment (0-based).
        responses: Response codes (``taxonomy.RESPONSES``; 0 = the rules' own response).
        n_futures: K, the continuations 0 .. K-1 each response is followed into.
        patient: The patient's record at intake (``records.PATIENT``), e.g. with a teacher's
            settings; drawn from ``params`` if omitted.
        therapists: Therapist records by therapist id (as ``engine.simulate_cohort``); drawn if omitted.

    Raises:
        ParameterError: For a fork outside the course, an unknown response, or a bad number of futures.
    """
    if isinstance(n_futures, bool) or not isinstance(n_futures, (int, np.integer)) or not 1 <= n_futures <= MAX_FUTURES:
        raise ParameterError(f"n_futures must be a whole number from 1 to {MAX_FUTURES} (got {n_futures!r}).")
    for code in responses:  # checked as a fork of future 1 (where response 0, the rules' own, is allowed)
        override_table([(patient_id, session, segment, code, 1)], n_sessions, int(params["n_segments"]))
    forks = [(patient_id, session, segment, code, k) for code in responses for k in range(n_futures)]
    ids = np.array([patient_id], dtype=np.int64)
    tids = assign_therapists(ids, int(params["caseload"]))
    therapist = intake_therapists(seed, tids, params) if therapists is None else as_records(therapists, THERAPIST)[tids]
    intake = intake_patients(seed, ids, params) if patient is None else as_records(patient, PATIENT).reshape(1).copy()
    run_one = _course_runner(params, ids, tids, intake, therapist, n_sessions, seed)
    runs = [run_one(np.array([row], np.int64)) for row in forks]
    if not (runs and len(runs[0][0]) >= session):
        raise ParameterError(f"the patient left therapy before session {session}: there is no marker to fork there.")
    sessions = np.concatenate([run[0] for run in runs])
    events = np.concatenate([run[1] for run in runs])
    courses = pd.DataFrame(forks, columns=["patient_id", "session", "segment", "response", "future"])
    return Futures(
        sessions=sessions,
        events=events,
        course_of_session=np.repeat(np.arange(len(runs)), [len(run[0]) for run in runs]),
        course_of_event=np.repeat(np.arange(len(runs)), [len(run[1]) for run in runs]),
        courses=courses[["response", "future"]],
        intake=intake[0].copy(),
        session=int(session),
        segment=int(segment),
        n_sessions=int(n_sessions),
    )


def _course_runner(params, ids, tids, intake, therapist, n_sessions, seed):
    """A function running one course of the one patient with ``overrides`` (one row) on the compiled loop.

    The record buffers are made once and zeroed between courses (making them anew for each of the
    hundreds of courses of a trainee's feedback cost more than the courses themselves).
    """
    course_bound = n_sessions * max_events_per_session(int(params["n_segments"]))
    model_params = kernel_params(params.model_params())
    buffers = (new_records(n_sessions, SESSION), new_records(course_bound, EVENT), new_records(1, IN_SESSION),
               new_records(1, COURSE), new_records(n_sessions, TRAJECTORY), new_records(1, SESSION))  # fmt: skip

    def run(overrides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for buffer in buffers:
            buffer.view(np.uint8)[...] = 0
        sessions, events, work, course, trajectory, row_buffer = buffers
        _, n_rows, n_events = run_courses(seed, ids, tids, intake.copy(), therapist, np.zeros(1, np.int64),
                                          model_params, n_sessions, sessions, True, events, DETAIL_EVENTS,
                                          course_bound, course, trajectory, row_buffer, work[0], overrides,
                                          no_policy())  # fmt: skip
        return sessions[:n_rows].copy(), events[:n_events].copy()

    return run


def fork_episode_outcome(events: np.ndarray, session: int, segment: int) -> int:
    """How the episode the fork's marker is worked on in ended (``taxonomy.OUTCOMES`` code).

    0 if the fork segment has no marker, or the marker was missed or met with hostility outside an
    episode. Reads one course's events in order: before the marker, an episode opens with a stage
    event while none is open and closes with an episode end; a stage event right after the marker
    opens one (or is a flare-up of the open one); the next episode end is then the marker's. (An
    episode open at the session's end closes with the last segment's number, after its events.)
    """
    is_open, marker_seen = False, False
    for event in events[events["session"] == session]:
        kind, where = int(event["kind"]), int(event["segment"])
        if not marker_seen:
            is_open = (is_open or kind == EV_STAGE) and kind != EV_EPISODE_END
            marker_seen = kind == EV_MARKER and where == segment
        elif kind == EV_STAGE and where == segment:
            is_open = True
        elif kind == EV_EPISODE_END:
            return int(event["code"]) if is_open else 0
        elif not is_open:
            return 0
    return 0


def outcomes(futures: Futures, horizon: int = 3) -> pd.DataFrame:
    """The consequences of each response in each future (``OUTCOME_COLUMNS``).

    Args:
        futures: The courses (``simulate_futures``).
        horizon: Sessions after the fork's session over which the alliance change is taken.

    Returns:
        One row per course: ``alliance_change`` from the fork session's start to the end of session
        fork + ``horizon`` (or the last attended before it), ``resolved`` (the episode open after
        the fork ended resolved), ``dropped_out`` (before the planned end), ``symptom_change``
        (symptom scale at the course's last session minus before the fork's session).
    """
    rows = []
    n_courses = len(futures.courses)  # each course's records are contiguous: slice them, do not mask
    session_bounds = np.searchsorted(futures.course_of_session, np.arange(n_courses + 1))
    event_bounds = np.searchsorted(futures.course_of_event, np.arange(n_courses + 1))
    for course, (response, future) in enumerate(futures.courses.itertuples(index=False, name=None)):
        sessions = futures.sessions[session_bounds[course] : session_bounds[course + 1]]
        events = futures.events[event_bounds[course] : event_bounds[course + 1]]
        fork_row = sessions[sessions["session"] == futures.session][0]
        upto = sessions[sessions["session"] <= futures.session + horizon][-1]
        before = sessions[sessions["session"] == futures.session - 1]
        symptom_before = before[0]["symptom"] if len(before) else futures.intake["symptom_pre"]
        rows.append((int(response), int(future), float(upto["alliance"] - fork_row["alliance_start"]),
                     fork_episode_outcome(events, futures.session, futures.segment) == RESOLVED,
                     bool(sessions[-1]["dropped_out"]), float(sessions[-1]["symptom"] - symptom_before)))  # fmt: skip
    return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
