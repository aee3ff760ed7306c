"""Tidy output tables and their data dictionary.

``build_tables`` turns the arrays of either path (cohort engine or Mesa agent
view) into the four tables users see: ``sessions``, ``patients``, ``events``
and ``therapists``. Both paths go through this one function, so equal arrays
give equal tables. ``DATA_DICTIONARY`` defines every column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from simulation.model import taxonomy as tx
from simulation.model.parameters import Parameters
from simulation.model.records import EARLY_SESSIONS, EVENT_FIELDS, SESSION_FIELDS, as_matrix
from simulation.model.taxonomy import EXIT_REASONS
from simulation.run import outcomes
from simulation.run.engine import RawCohort
from simulation.run.outcomes import RCI_CRITICAL

SESSION_FLOAT = {
    "salience_withdrawal",
    "salience_confrontation",
    "alliance_start",
    "alliance",
    "strain",
    "pattern",
    "corrective",
    "symptom_true",
    "symptom",
    "trust",
    "morale_deficit",
    "alliance_therapist_view",
    "alliance_felt",
    "felt_dent",
    "therapist_felt_dent",
    "alliance_felt_recent",
}
SESSION_BOOL = {
    "aft_active",
    "rupture_observed",
    "resolved",
    "patient_rupture_reported",
    "therapist_rupture_reported",
    "dropped_out",
    "ended_good_enough",
}

DATA_DICTIONARY: dict[str, dict[str, str]] = {
    "sessions": {
        "patient_id": "Patient id (stable key of the patient's random numbers).",
        "therapist_id": "Therapist id (patient_id // caseload).",
        "session": "Session number of the course, 1-based.",
        "aft_active": "Therapist worked with alliance-focused training in this session (T9).",
        "n_withdrawal": "Observer-coded 3RS withdrawal markers in the session.",
        "n_confrontation": "Observer-coded 3RS confrontation markers in the session.",
        "salience_withdrawal": "Mean observer-rated salience (1-5) of withdrawal markers; 0 if none.",
        "salience_confrontation": "Mean observer-rated salience (1-5) of confrontation markers; 0 if none.",
        "rupture_observed": "Observer: some marker rated at or above observer_salient_threshold (T1).",
        "n_noticed": "Markers the therapist noticed (every marker inside an open episode counts as noticed).",
        "n_missed": "Markers the therapist did not notice (left unaddressed).",
        "n_episodes": "Resolution episodes opened in the session.",
        "resolution_stage": "Resolution complexity: deepest Safran & Muran stage (1-5) any episode reached; 0 if none.",
        "n_resolved": "Episodes that ended resolved (final stage >= resolved_stage).",
        "n_partly_resolved": "Episodes that ended partly resolved (final stage 2 below resolved_stage).",
        "n_unresolved": "Episodes that ended unresolved (final stage 1).",
        "n_unrepaired": "Markers never taken into an episode (missed, or met with a hostile response).",
        "resolved": "Session had markers and every one of them was resolved.",
        "n_immediate": "Immediate 3RS strategies used (clarify, change task, give rationale).",
        "n_exploratory": "Exploratory 3RS strategies used (metacommunication).",
        "n_other_strategy": "Other 3RS strategies used (validate defensive posture, redirect).",
        "therapist_negative": "CIS-R therapist negative interventions (hostile + unclear).",
        "therapist_hostile": "Hostile, blaming or defensive responses to a marker (SASB hostile; T5).",
        "therapist_unclear": "Unclear or premature interventions (SASB unclear; T5).",
        "therapist_positive": "CIS-R therapist positive interventions (therapist_supportive + therapist_expressive).",
        "therapist_supportive": "Supportive, affirming interventions, incl. affirming strategies S4, S5, S9 (T5, T9).",
        "therapist_expressive": "Expressive interventions (interpretation, here-and-now), incl. strategies S6-S8 (T5).",
        "collaborative": "CIS-R patient collaborative processes (segments; incl. steps deeper in an episode).",
        "patient_rupture_reported": "Patient post-session questionnaire: a rupture happened.",
        "patient_rupture_intensity": "Patient PSQ: intensity of the session's strongest rupture, 1 (none) to 5.",
        "patient_resolution": "Patient PSQ: how far the rupture was resolved, 1-5; 0 if no rupture was reported.",
        "therapist_rupture_reported": "Therapist post-session questionnaire: a rupture happened.",
        "alliance_start": "Latent alliance (0-1) at the start of the session.",
        "alliance": "Latent alliance (0-1) after the session.",
        "wai_patient": "Patient WAI-SR total, 12-60.",
        "wai_therapist": "Therapist WAI-SR total, 12-60.",
        "strain": "Unresolved strain carried to the next session (alliance units).",
        "pattern": "Relational rigidity (1 at intake; corrective experiences lower it).",
        "corrective": "Corrective experience: sum over resolved episodes of their depth past resolution (0-1 each).",
        "symptom_true": "Latent symptom severity after the session (0-4).",
        "symptom": "Symptom scale reading after the session (true score plus measurement error, 0-4).",
        "dropped_out": "Patient left therapy after this session (dropout).",
        "trust": "Patient's trust in the therapist after the session (0-1; grows with sessions and repaired ruptures).",
        "ended_good_enough": "Patient ended therapy after this session as good enough (after reliable improvement).",
        "alliance_therapist_view": "The therapist's own view of the alliance after the session (0-1): from their "
        "impression of the patient, its growth, less only the ruptures the therapist noticed.",
        "morale_deficit": "Demoralization left after the session (symptom points; 0 unless demoralization_share > 0).",
        "alliance_felt": "The alliance as the patient lives it after the session (0-1): the alliance less the felt "
        "dent of ruptures not yet repaired; what the patient's WAI-SR and dropout read.",
        "felt_dent": "The felt dent of ruptures not yet repaired in the patient's rating of this session (alliance "
        "units; below 0 after a repair that went deep: the rating above where it was).",
        "therapist_felt_dent": "The felt dent the therapist registers (of the ruptures they noticed, less the repairs "
        "they took part in), which lowers their own rating.",
        "alliance_felt_recent": "The recent course of the patient's felt alliance (an average that forgets at "
        "1 - decline_memory per session): a decline below it raises dropout.",
    },
    "patients": {
        "patient_id": "Patient id.",
        "therapist_id": "Therapist id.",
        "diagnosis": "Diagnosis group: no_pd, bpd or other_pd.",
        "pd_severity": "PD severity at intake (0-1).",
        "withdrawal_tendency": "Individual proneness to withdrawal markers (relative rate).",
        "confrontation_tendency": "Individual proneness to confrontation markers (relative rate).",
        "insight": "Insight / mentalizing (0-1).",
        "alliance_intake": "Latent alliance at intake (0-1).",
        "alliance_early": f"Mean latent alliance after sessions 1-{EARLY_SESSIONS} (T10).",
        "alliance_final": "Latent alliance after the last attended session.",
        "symptom_true_pre": "Latent symptom severity at intake (0-4).",
        "symptom_pre": "Symptom scale reading at intake (0-4).",
        "symptom_post": "Symptom scale reading after the last attended session (0-4).",
        "symptom_change": "symptom_post - symptom_pre (negative = improvement).",
        "rci": "Jacobson-Truax reliable change index of the symptom change.",
        "reliable_change": f"Reliable improvement: rci < {RCI_CRITICAL}.",
        "recovered": "Reliable improvement and symptom_post below recovery_cutoff.",
        "sessions_attended": "Sessions attended.",
        "dropped_out": "Left therapy before the planned end, dissatisfied (no dropout after the last planned session).",
        "exit_reason": "How the course ended: completed (all planned sessions), dropout, or good_enough (ended early "
        "after reliable improvement).",
        "n_markers": "Observer-coded markers over the course.",
        "n_sessions_rupture_observed": "Sessions with an observer-coded salient rupture.",
        "n_episodes": "Resolution episodes over the course.",
        "n_resolved": "Episodes that ended resolved.",
        "mean_resolution_stage": "Resolution complexity: mean deepest stage over sessions with an episode; 0 if none.",
        "max_resolution_stage": "Deepest stage reached in any session (0-5).",
        "complexity_group": "Complexity by mean_resolution_stage: none, shallow (<2.5), middle (2.5-3), deep (>=3).",
        "pattern_final": "Relational rigidity after the course.",
    },
    "events": {
        "patient_id": "Patient id.",
        "therapist_id": "Therapist id.",
        "session": "Session number.",
        "segment": "Segment of the session (0-based, about five minutes each).",
        "kind": "marker, missed (therapist did not notice), strategy, negative, stage (step), episode_end.",
        "code": "3RS code: W1-W7 / C1-C7 markers, S1-S10 strategies, N1-N2 negative interventions; '' otherwise.",
        "label": "Label of the code, or of the stage for stage events, or the episode outcome.",
        "rupture_type": "withdrawal, confrontation, or none.",
        "salience": "Latent salience of a marker (1-5); 0 for other events.",
        "observed_salience": "Observer-rated salience of a marker (1-5); 0 for other events.",
        "stage": "Resolution stage (0-5): current stage; for episode_end the deepest stage reached.",
        "detail": "stage: +1 deeper / -1 regress; strategy: family (1 immediate, 2 exploratory, 3 other); "
        "episode_end: final stage.",
    },
    "therapists": {
        "therapist_id": "Therapist id.",
        "skill": "General skill (0-1).",
        "noticing": "Chance to notice a marker per salience point.",
        "reactivity": "Chance of a hostile response to a confrontation marker of a patient with severity 0.",
        "exploratory_repertoire": "Can use exploratory (metacommunication) strategies.",
        "exploratory_preference": "Chance to choose an exploratory strategy.",
        "aft_start_session": "Session from which the therapist works with AFT (0 = never).",
        "n_patients": "Patients in this run's caseload.",
    },
}


def session_columns(raw_sessions: np.ndarray) -> dict[str, np.ndarray]:
    """The session rows as typed columns (int, bool or float), sorted by patient and session.

    Each column is read once from the record array (a strided copy), so building a
    table costs one pass over the rows, without a DataFrame in between.
    """
    matrix = as_matrix(raw_sessions)
    order = _patient_session_order(matrix)
    columns = {}
    for j, name in enumerate(SESSION_FIELDS):
        values = matrix[:, j] if order is None else matrix[order, j]
        if name in SESSION_BOOL:
            columns[name] = values != 0
        elif name in SESSION_FLOAT:
            columns[name] = np.ascontiguousarray(values)
        else:
            columns[name] = values.astype(np.int64)
    return columns


def _patient_session_order(matrix: np.ndarray) -> np.ndarray | None:
    """The stable order by patient and session, or None if the rows are in it already (the engine's order)."""
    patient, session = matrix[:, SESSION_FIELDS.index("patient_id")], matrix[:, SESSION_FIELDS.index("session")]
    if len(patient) < 2:
        return None
    step_patient, step_session = np.diff(patient), np.diff(session)
    if np.all((step_patient > 0) | ((step_patient == 0) & (step_session >= 0))):
        return None
    return np.lexsort((session, patient))


def sessions_table(raw_sessions: np.ndarray) -> pd.DataFrame:
    """Label the session rows, sorted by patient and session."""
    return pd.DataFrame(session_columns(raw_sessions))


def sessions_arrow(raw_sessions: np.ndarray) -> pa.Table:
    """``sessions_table`` as an Arrow table, built from the engine's arrays without pandas (what sweeps write)."""
    columns = session_columns(raw_sessions)
    return pa.Table.from_arrays([pa.array(values) for values in columns.values()], names=list(columns))


def _event_code(kind: int, code: int) -> str:
    if kind in (tx.EV_MARKER, tx.EV_MISSED):
        return tx.marker_code(code)
    if kind == tx.EV_STRATEGY:
        return f"S{code}"
    if kind == tx.EV_NEGATIVE:
        return f"N{code}"
    return ""


def _event_label(kind: int, code: int, rtype: int, stage: int) -> str:
    if kind in (tx.EV_MARKER, tx.EV_MISSED):
        return tx.marker_label(code)
    if kind == tx.EV_STRATEGY:
        return tx.STRATEGIES[code - 1]
    if kind == tx.EV_NEGATIVE:
        return tx.NEGATIVE_INTERVENTIONS[code - 1]
    if kind == tx.EV_STAGE:
        return tx.stage_label(rtype, stage)
    return tx.OUTCOMES[code]


def events_table(raw_events: np.ndarray) -> pd.DataFrame:
    """Label the event rows, in the order they happened within each patient's course."""
    ints = as_matrix(raw_events).astype(np.int64)
    df = pd.DataFrame(ints, columns=list(EVENT_FIELDS))
    kinds, codes, types, stages = (df[c].to_numpy() for c in ("kind", "code", "rupture_type", "stage"))
    df["kind"] = pd.Categorical.from_codes(kinds - 1 if len(df) else kinds, tx.EVENT_KINDS[1:])
    df["label"] = [_event_label(k, c, t, s) for k, c, t, s in zip(kinds, codes, types, stages, strict=True)]
    df["code"] = [_event_code(k, c) for k, c in zip(kinds, codes, strict=True)]
    df["rupture_type"] = pd.Categorical.from_codes(types, tx.RUPTURE_TYPES)
    df = df[list(DATA_DICTIONARY["events"])]
    return df.sort_values(["patient_id", "session"], kind="stable").reset_index(drop=True)


def patients_table(raw: RawCohort, params: Parameters) -> pd.DataFrame:
    """One row per course: intake attributes, outcome, recovery and resolution complexity.

    Built from the course sums the engine keeps (``RawCohort.courses``), so it
    needs no session rows.
    """
    intake, final, course = raw.intake, raw.final, raw.courses
    attended = final["sessions_attended"]
    df = pd.DataFrame(
        {
            "patient_id": raw.patient_ids,
            "therapist_id": raw.therapist_ids,
            "diagnosis": pd.Categorical.from_codes(intake["diagnosis"].astype(int), tx.DIAGNOSES),
            "pd_severity": intake["pd_severity"],
            "withdrawal_tendency": intake["withdrawal_tendency"],
            "confrontation_tendency": intake["confrontation_tendency"],
            "insight": intake["insight"],
            "alliance_intake": intake["alliance_intake"],
            "alliance_early": _ratio(course["alliance_early_sum"], course["n_early_sessions"]),
            "alliance_final": final["alliance"],
            "symptom_true_pre": intake["symptom_true_pre"],
            "symptom_pre": intake["symptom_pre"],
            "symptom_post": np.where(attended > 0, course["symptom_post"], intake["symptom_pre"]),
            "sessions_attended": attended.astype(np.int64),
            "dropped_out": final["dropped_out"] > 0,
            "exit_reason": exit_reason(final),
            "n_markers": (course["n_withdrawal"] + course["n_confrontation"]).astype(np.int64),
            "n_sessions_rupture_observed": course["n_sessions_rupture_observed"].astype(np.int64),
            "n_episodes": course["n_episodes"].astype(np.int64),
            "n_resolved": course["n_resolved"].astype(np.int64),
            "mean_resolution_stage": outcomes.mean_resolution_stage(course["stage_sum"], course["n_stage_sessions"]),
            "max_resolution_stage": course["max_stage"].astype(np.int64),
            "pattern_final": final["pattern"],
        }
    )
    df["symptom_change"] = df["symptom_post"] - df["symptom_pre"]
    df["rci"] = outcomes.reliable_change_index(df["symptom_change"], params)
    df["reliable_change"] = outcomes.reliably_improved(df["rci"])
    df["recovered"] = outcomes.recovered(df["rci"], df["symptom_post"], params)
    df["complexity_group"] = outcomes.complexity_group(
        df["n_episodes"].to_numpy(), df["mean_resolution_stage"].to_numpy()
    )
    return df[list(DATA_DICTIONARY["patients"])]  # in the order of the cohort's patient ids


def exit_reason(final: np.ndarray) -> pd.Categorical:
    """completed, dropout or good_enough, from the patients' records after the course."""
    codes = np.select([final["dropped_out"] > 0, final["ended_good_enough"] > 0], [1, 2], 0)
    return pd.Categorical.from_codes(codes, EXIT_REASONS)


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Total / count, 0 where count is 0."""
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def trajectory_table(raw: RawCohort) -> pd.DataFrame:
    """Cohort means per session number: attending patients, alliance, symptom, rupture rate, stage, dropouts."""
    t = raw.trajectory
    n = t["n_attending"]
    return pd.DataFrame(
        {
            "session": np.arange(1, len(t) + 1),
            "n_attending": n.astype(np.int64),
            "alliance": _ratio(t["alliance_sum"], n),
            "symptom": _ratio(t["symptom_sum"], n),
            "rupture_rate": _ratio(t["rupture_observed_sum"], n),
            "resolution_stage": _ratio(t["stage_sum"], n),
            "dropouts": t["dropped_sum"].astype(np.int64),
        }
    )


def therapists_table(raw: RawCohort) -> pd.DataFrame:
    """One row per therapist in the run."""
    df = pd.DataFrame(raw.therapists)
    df.insert(0, "therapist_id", raw.therapist_index.astype(np.int64))
    df["exploratory_repertoire"] = df["exploratory_repertoire"] > 0
    df["aft_start_session"] = df["aft_start_session"].astype(np.int64)
    counts = pd.Series(raw.therapist_ids).value_counts()
    df["n_patients"] = df["therapist_id"].map(counts).astype(np.int64)
    return df


def build_tables(raw: RawCohort, params: Parameters) -> dict[str, pd.DataFrame]:
    """The four output tables of a run."""
    return {
        "sessions": sessions_table(raw.sessions),
        "patients": patients_table(raw, params),
        "events": events_table(raw.events),
        "therapists": therapists_table(raw),
    }
