"""Slot layouts of the arrays the compiled rules read and write.

A patient's and a therapist's state live in small float arrays so that the
same compiled rules serve one Mesa agent and a cohort of thousands; the
session and event records are rows of float matrices. This module names
every slot once; ``tables`` turns the matrices into labelled pandas tables.
"""

from __future__ import annotations

# --- patient state (one float array per patient) -------------------------------------------
PATIENT_SLOTS = (
    "diagnosis", "pd_severity", "withdrawal_tendency", "confrontation_tendency", "insight",
    "symptom_true", "alliance", "strain", "pattern",
    "symptom_true_pre", "symptom_pre", "alliance_intake", "sessions_attended", "dropped_out",
)  # fmt: skip
(
    DIAGNOSIS, SEVERITY, WITHDRAWAL_TENDENCY, CONFRONTATION_TENDENCY, INSIGHT,
    SYMPTOM, ALLIANCE, STRAIN, PATTERN,
    SYMPTOM_TRUE_PRE, SYMPTOM_PRE, ALLIANCE_INTAKE, SESSIONS_ATTENDED, DROPPED,
) = range(len(PATIENT_SLOTS))  # fmt: skip

# --- therapist state (one float array per therapist) ---------------------------------------
THERAPIST_SLOTS = (
    "skill", "noticing", "reactivity", "exploratory_repertoire", "exploratory_preference", "aft_start_session",
)  # fmt: skip
SKILL, NOTICING, REACTIVITY, EXPLORATORY, EXPLORATORY_PREF, AFT_START = range(len(THERAPIST_SLOTS))

# --- one row per attended session ------------------------------------------------------------
SESSION_COLUMNS = (
    "patient_id", "therapist_id", "session", "aft_active",
    "n_withdrawal", "n_confrontation", "salience_withdrawal", "salience_confrontation", "rupture_observed",
    "n_noticed", "n_missed", "n_episodes", "resolution_stage", "n_resolved", "n_partly_resolved", "n_unresolved",
    "n_unrepaired", "resolved",
    "n_immediate", "n_exploratory", "n_other_strategy",
    "therapist_negative", "therapist_hostile", "therapist_unclear",
    "therapist_positive", "therapist_supportive", "therapist_expressive", "collaborative",
    "patient_rupture_reported", "patient_rupture_intensity", "patient_resolution", "therapist_rupture_reported",
    "alliance_start", "alliance", "wai_patient", "wai_therapist", "strain", "pattern", "corrective",
    "symptom_true", "symptom", "dropped_out",
)  # fmt: skip
(
    C_PATIENT, C_THERAPIST, C_SESSION, C_AFT,
    C_N_WITHDRAWAL, C_N_CONFRONTATION, C_SAL_WITHDRAWAL, C_SAL_CONFRONTATION, C_RUPTURE_OBSERVED,
    C_NOTICED, C_MISSED, C_EPISODES, C_STAGE, C_RESOLVED_EPISODES, C_PARTLY, C_UNRESOLVED,
    C_UNREPAIRED, C_RESOLVED,
    C_IMMEDIATE, C_EXPLORATORY, C_OTHER_STRATEGY,
    C_NEGATIVE, C_HOSTILE, C_UNCLEAR,
    C_POSITIVE, C_SUPPORTIVE, C_EXPRESSIVE, C_COLLABORATIVE,
    C_PATIENT_REPORTED, C_PATIENT_INTENSITY, C_PATIENT_RESOLUTION, C_THERAPIST_REPORTED,
    C_ALLIANCE_START, C_ALLIANCE, C_WAI_PATIENT, C_WAI_THERAPIST, C_STRAIN, C_PATTERN, C_CORRECTIVE,
    C_SYMPTOM_TRUE, C_SYMPTOM, C_DROPPED,
) = range(len(SESSION_COLUMNS))  # fmt: skip

# --- one row per event -------------------------------------------------------------------------
EVENT_COLUMNS = (
    "patient_id", "therapist_id", "session", "segment", "kind", "code", "rupture_type", "salience",
    "observed_salience", "stage", "detail",
)  # fmt: skip
(
    E_PATIENT, E_THERAPIST, E_SESSION, E_SEGMENT, E_KIND, E_CODE, E_TYPE, E_SALIENCE,
    E_OBSERVED, E_STAGE, E_DETAIL,
) = range(len(EVENT_COLUMNS))  # fmt: skip

#: How much a session records: course sums only (what sweeps need), also the session row's
#: own measures (WAI-SR, PSQ resolution), also the events. Draws that feed only outputs
#: nobody keeps are skipped; keyed random numbers make that change no other number.
DETAIL_SUMMARY, DETAIL_SESSIONS, DETAIL_EVENTS = 0, 1, 2

#: Upper bound on events one segment can emit (marker, response, stage step, episode end).
MAX_EVENTS_PER_SEGMENT = 4


def max_events_per_session(n_segments: int) -> int:
    """Capacity an events buffer needs for one session."""
    return MAX_EVENTS_PER_SEGMENT * n_segments + 1


# --- one row per course: running sums kept by the engine (the patients table and sweeps) ------
COURSE_COLUMNS = (
    "n_withdrawal", "n_confrontation", "n_sessions_rupture_observed", "n_sessions_patient_reported",
    "n_episodes", "n_resolved", "n_partly_resolved", "n_unresolved", "n_unrepaired",
    "stage_sum", "n_stage_sessions", "max_stage", "alliance_early_sum", "n_early_sessions", "symptom_post",
)  # fmt: skip
(
    K_N_WITHDRAWAL, K_N_CONFRONTATION, K_RUPTURE_OBSERVED, K_PATIENT_REPORTED,
    K_EPISODES, K_RESOLVED, K_PARTLY, K_UNRESOLVED, K_UNREPAIRED,
    K_STAGE_SUM, K_STAGE_SESSIONS, K_MAX_STAGE, K_ALLIANCE_EARLY_SUM, K_EARLY_SESSIONS, K_SYMPTOM_POST,
) = range(len(COURSE_COLUMNS))  # fmt: skip

#: Sessions whose alliance is averaged as the "early alliance" (T10).
EARLY_SESSIONS = 3

# --- one row per session number: sums over the cohort (trajectories without session rows) ---
TRAJECTORY_COLUMNS = ("n_attending", "alliance_sum", "symptom_sum", "rupture_observed_sum", "stage_sum", "dropped_sum")
T_ATTENDING, T_ALLIANCE, T_SYMPTOM, T_RUPTURE, T_STAGE, T_DROPPED = range(len(TRAJECTORY_COLUMNS))
