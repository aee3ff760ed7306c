"""The records the compiled rules read and write, each field named once.

A patient, a therapist, a session, an event, a course's running sums and the
cohort's sums per session number are numpy structured records. The rules read
and write them by name (``patient.alliance``, ``row.n_withdrawal += 1``); the
same compiled rules serve one Mesa agent and a cohort of thousands. Every
field is ``float64``, so a record array has the memory layout of a float
matrix and pandas reads it directly (``pd.DataFrame(records)``); ``tables``
gives the columns their dtypes and labels.
"""

from __future__ import annotations

import numpy as np
from numba.core import config as numba_config

from simulation.model.kernel_cache import njit  # (also sets the cache folder before any @njit)
from simulation.model.parameters import PROFILE_FIELDS, SPECS, ModelParams
from simulation.model.taxonomy import EXPLORATORY, IMMEDIATE, OTHER, PARTLY_RESOLVED, RESOLVED, UNRESOLVED


def record_dtype(fields: tuple[str, ...]) -> np.dtype:
    """A structured dtype of ``float64`` fields, in the given order."""
    return np.dtype([(name, np.float64) for name in fields])


def new_records(n: int, dtype: np.dtype) -> np.recarray:
    """``n`` cleared records of ``dtype``.

    A ``recarray``, so that a record's fields are attributes in plain Python
    too (``NUMBA_DISABLE_JIT=1``, where the rules run uncompiled), not only in
    compiled code.
    """
    return np.zeros(n, dtype).view(np.recarray)


def own_record(record: np.void, dtype: np.dtype) -> np.record:
    """A copy of one record in a buffer of its own (an agent's state)."""
    buffer = new_records(1, dtype)
    buffer[0] = record
    return buffer[0]


def as_records(values: np.ndarray, dtype: np.dtype) -> np.recarray:
    """A float matrix (one column per field) or a record array, as records of ``dtype``."""
    values = np.asarray(values)
    if values.dtype != dtype:
        matrix = np.ascontiguousarray(values, dtype=np.float64).reshape(-1, len(dtype.names))
        values = matrix.view(dtype).reshape(-1)
    return values.view(np.recarray)


def as_matrix(records: np.ndarray) -> np.ndarray:
    """A record array as a float matrix, one column per field (no copy)."""
    return records.view(np.float64).reshape(len(records), len(records.dtype.names))


# --- a patient: who they are (intake) and how the course is going --------------------------------
PATIENT_FIELDS = (
    "diagnosis", "pd_severity", "withdrawal_tendency", "confrontation_tendency", "insight",
    "symptom_true", "alliance", "strain", "pattern",
    "symptom_true_pre", "symptom_pre", "alliance_intake", "sessions_attended", "dropped_out",
    "trust", "ended_good_enough", "morale_deficit", "alliance_therapist_view", "compliance",
    "wai_leniency", "therapist_impression", "felt_dent", "therapist_felt_dent", "alliance_felt_recent",
)  # fmt: skip
PATIENT = record_dtype(PATIENT_FIELDS)

# --- the model's parameters, as the compiled kernels take them -----------------------------------
MODEL_PARAMS = record_dtype(ModelParams._fields)


def kernel_params(p: ModelParams) -> np.record | ModelParams:
    """``p`` as one record of ``MODEL_PARAMS``: what the compiled kernels take (the named tuple with the JIT off).

    A record reaches compiled code as one pointer. The named tuple of 134 floats was 134 arguments
    of every rule that reads a parameter, which tripled the compile time of each rule (a first
    compile took 39 s of CPU, 28 s with the record; the numbers are the same). Uncompiled, the
    rules read the named tuple: a numpy record's fields are slow to read in Python.
    """
    return kernel_params_buffer(p)[0]


def kernel_params_buffer(p: ModelParams) -> np.recarray | list[ModelParams]:
    """``kernel_params`` as a one-record array, for a compiled function called once per session.

    An array crosses from Python into compiled code at the cost of a pointer, where a record
    scalar costs numba a type look-up and a buffer request on every call. With the JIT off, the
    named tuple in a list (``[0]`` reads it as from the array).
    """
    if numba_config.DISABLE_JIT:
        return [p]
    buffer = new_records(1, MODEL_PARAMS)
    buffer[0] = tuple(p)
    return buffer


# --- the intake profile of a diagnosis group (``Parameters.profiles``, one row per diagnosis) -----
PROFILE = record_dtype(PROFILE_FIELDS)

# --- a therapist ---------------------------------------------------------------------------------
THERAPIST_FIELDS = (
    "skill", "noticing", "reactivity", "exploratory_repertoire", "exploratory_preference", "aft_start_session",
)  # fmt: skip
THERAPIST = record_dtype(THERAPIST_FIELDS)

# --- one attended session ------------------------------------------------------------------------
SESSION_FIELDS = (
    "patient_id", "therapist_id", "session", "aft_active",
    "n_withdrawal", "n_confrontation", "salience_withdrawal", "salience_confrontation", "rupture_observed",
    "n_noticed", "n_missed", "n_episodes", "resolution_stage", "n_resolved", "n_partly_resolved", "n_unresolved",
    "n_unrepaired", "resolved",
    "n_immediate", "n_exploratory", "n_other_strategy",
    "therapist_negative", "therapist_hostile", "therapist_unclear",
    "therapist_positive", "therapist_supportive", "therapist_expressive", "collaborative",
    "patient_rupture_reported", "patient_rupture_intensity", "patient_resolution", "therapist_rupture_reported",
    "alliance_start", "alliance", "wai_patient", "wai_therapist", "strain", "pattern", "corrective",
    "symptom_true", "symptom", "dropped_out", "trust", "ended_good_enough", "morale_deficit",
    "alliance_therapist_view", "alliance_felt", "felt_dent", "therapist_felt_dent", "alliance_felt_recent",
)  # fmt: skip
SESSION = record_dtype(SESSION_FIELDS)

# --- one event: a marker, a missed marker, a strategy, a negative intervention, a stage step ------
EVENT_FIELDS = (
    "patient_id", "therapist_id", "session", "segment", "kind", "code", "rupture_type", "salience",
    "observed_salience", "stage", "detail",
)  # fmt: skip
EVENT = record_dtype(EVENT_FIELDS)

# --- a course's running sums (the patients table and sweeps need no session rows) ----------------
COURSE_FIELDS = (
    "n_withdrawal", "n_confrontation", "n_sessions_rupture_observed", "n_sessions_patient_reported",
    "n_episodes", "n_resolved", "n_partly_resolved", "n_unresolved", "n_unrepaired",
    "stage_sum", "n_stage_sessions", "max_stage", "alliance_early_sum", "n_early_sessions", "symptom_post",
)  # fmt: skip
COURSE = record_dtype(COURSE_FIELDS)

#: Sessions whose alliance is averaged as the "early alliance" (T10).
EARLY_SESSIONS = 3

# --- the cohort's sums per session number (trajectories without session rows) --------------------
TRAJECTORY_FIELDS = ("n_attending", "alliance_sum", "symptom_sum", "rupture_observed_sum", "stage_sum", "dropped_sum")
TRAJECTORY = record_dtype(TRAJECTORY_FIELDS)

#: How much a session records: course sums only (what sweeps need), also the session row's
#: own measures (WAI-SR, PSQ resolution), also the events. Draws that feed only outputs
#: nobody keeps are skipped; keyed random numbers make that change no other number.
DETAIL_SUMMARY, DETAIL_SESSIONS, DETAIL_EVENTS = 0, 1, 2

#: Upper bound on events one segment can emit (marker, response, stage step, episode end).
MAX_EVENTS_PER_SEGMENT = 4


def max_events_per_session(n_segments: int) -> int:
    """Capacity an events buffer needs for one session."""
    return MAX_EVENTS_PER_SEGMENT * n_segments + 1


#: Room for the events of the longest session the parameters allow.
SESSION_EVENT_CAPACITY = max_events_per_session(int(SPECS["n_segments"].high))

# --- a session in progress: what the therapy steps pass on to each other ------------------------
IN_SESSION = np.dtype(
    [
        # the open resolution episode: rupture type, stage now and deepest, the dip it carries,
        # segments without progress, resolved and consolidated
        ("episode_open", np.bool_),
        ("episode_type", np.int64),
        ("episode_stage", np.int64),
        ("episode_deepest", np.int64),
        ("episode_dip", np.float64),
        ("episode_stall", np.int64),
        ("consolidated", np.bool_),
        # what the session adds up: alliance lost and given back, strain to carry, corrective value
        ("dips", np.float64),
        ("marker_dips", np.float64),
        ("seen_dips", np.float64),  # the part of the dips the therapist saw (their view of the alliance)
        ("repairs", np.float64),
        ("repaired_dip", np.float64),
        ("unresolved_dip", np.float64),
        ("corrective", np.float64),
        # the alliance as the patient lives it: the felt dents of the session's markers, of those the
        # therapist noticed, what the episodes gave back, and the dent the open episode carries
        ("felt_dents", np.float64),
        ("felt_seen", np.float64),
        ("felt_repairs", np.float64),
        ("episode_felt", np.float64),
        # what the informants will report
        ("felt_max", np.float64),
        ("therapist_saw", np.bool_),
        ("salience_withdrawal_sum", np.float64),
        ("salience_confrontation_sum", np.float64),
        # the session's event log (a record, not an array: the inlined steps then pass no array,
        # whose reference count would cost two atomic operations per step)
        ("record_events", np.bool_),
        ("n_events", np.int64),
        ("events", EVENT, (SESSION_EVENT_CAPACITY,)),
        # a response imposed on the therapist at one segment (taxonomy.RESPONSES; 0 = none),
        # set by the caller before the session: a teacher's or trainee's what-if fork
        ("override_segment", np.int64),
        ("override_response", np.int64),
        ("imposed_strategy", np.int64),  # a move chosen at the marker, for the episode's next segment (0 = none)
        # a continuation of a fork (0 = none, the original's draws): from the segment after
        # ``continuation_segment`` of session ``continuation_session`` on, every draw is keyed with
        # its number too (``session.session_keys``); set by the caller with the imposed response
        ("continuation", np.int64),
        ("continuation_session", np.int64),
        ("continuation_segment", np.int64),
        # a therapist policy: the response to a marker by what the therapist can observe, its type
        # (1 withdrawal, 2 confrontation) and salience (1-5); 0 = the rules decide (set once per run)
        ("policy", np.int64, (3, 6)),
    ]
)


@njit(cache=True, inline="always")
def new_session_record(row_buffer):
    """The one record of ``row_buffer``, cleared: every count and measure 0.

    Cleared through a float view (every field is ``float64``): a loop the
    compiler turns into one ``memset``.
    """
    row_buffer.view(np.float64)[:] = 0.0
    return row_buffer[0]


# --- counting by category: named helpers instead of arithmetic on field order ---------------------
@njit(cache=True, inline="always")
def count_strategy(row, family: int) -> None:
    """Count one strategy of ``family`` (IMMEDIATE, EXPLORATORY or OTHER) in the session row.

    Without branches (each count takes 0 or 1): the family is a fresh random toss.
    """
    row.n_immediate += family == IMMEDIATE
    row.n_exploratory += family == EXPLORATORY
    row.n_other_strategy += family == OTHER


@njit(cache=True, inline="always")
def count_episode_outcome(row, outcome: int) -> None:
    """Count one closed episode by its outcome (RESOLVED, PARTLY_RESOLVED or UNRESOLVED)."""
    row.n_resolved += outcome == RESOLVED
    row.n_partly_resolved += outcome == PARTLY_RESOLVED
    row.n_unresolved += outcome == UNRESOLVED
