"""The Mesa agents of the agent view: patients and their therapists.

A ``Patient`` and a ``Therapist`` are thin Mesa agents around the same state
arrays the cohort engine uses (slots of ``layout.PATIENT_SLOTS`` and
``layout.THERAPIST_SLOTS``). They name the slots in therapy terms and keep each
patient's session records, but they hold no rule of the model: a therapist's
session with a patient is one call of the compiled ``rules.run_session``, the
very function the cohort engine calls. Because every random draw is keyed by
(seed, patient, session, segment, stream), the order in which agents act never
changes a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from simulation.model import rules
from simulation.model.layout import (
    AFT_START,
    ALLIANCE,
    ALLIANCE_INTAKE,
    CONFRONTATION_TENDENCY,
    COURSE_COLUMNS,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    DIAGNOSIS,
    DROPPED,
    EVENT_COLUMNS,
    EXPLORATORY,
    EXPLORATORY_PREF,
    INSIGHT,
    NOTICING,
    PATTERN,
    REACTIVITY,
    SESSION_COLUMNS,
    SESSIONS_ATTENDED,
    SEVERITY,
    SKILL,
    STRAIN,
    SYMPTOM,
    SYMPTOM_PRE,
    SYMPTOM_TRUE_PRE,
    WITHDRAWAL_TENDENCY,
)
from simulation.model.taxonomy import DIAGNOSES, DIAGNOSIS_LABELS
from simulation.run.engine import accumulate_course

if TYPE_CHECKING:
    from simulation.view.model import RuptureModel


class Patient(mesa.Agent):
    """A patient in a course of therapy.

    Args:
        model: The ``RuptureModel`` the patient belongs to.
        patient_id: Our patient id (key of the patient's random numbers); Mesa's
            ``unique_id`` is separate.
        state: Patient state at intake (``layout.PATIENT_SLOTS``), from
            ``rules.patient_intake``; the agent keeps its own copy.

    Attributes:
        patient_id: Patient id.
        state: Current state (float64, ``layout.PATIENT_SLOTS``), updated by each session.
        therapist: The patient's ``Therapist`` (set when the therapist takes the patient on).
        session_rows: One row (``layout.SESSION_COLUMNS``) per attended session.
        event_rows: The events (``layout.EVENT_COLUMNS``) of each attended session.
        course: Running course sums (``layout.COURSE_COLUMNS``), kept by the engine's own rule.
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, patient_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.patient_id = int(patient_id)
        self.state = np.array(state, dtype=np.float64, copy=True)
        self.therapist: Therapist | None = None
        self.session_rows: list[np.ndarray] = []
        self.event_rows: list[np.ndarray] = []
        self.course = np.zeros(len(COURSE_COLUMNS))

    def __repr__(self) -> str:
        return (
            f"Patient(id={self.patient_id}, {self.diagnosis}, severity={self.pd_severity:.2f}, "
            f"alliance={self.alliance:.2f}, sessions={self.sessions_attended}, dropped_out={self.dropped_out})"
        )

    # --- who the patient is (fixed at intake) --------------------------------------------------
    @property
    def diagnosis(self) -> str:
        """Diagnosis group: ``no_pd``, ``bpd`` or ``other_pd``."""
        return DIAGNOSES[int(self.state[DIAGNOSIS])]

    @property
    def diagnosis_label(self) -> str:
        """Readable diagnosis, e.g. ``Borderline PD``."""
        return DIAGNOSIS_LABELS[self.diagnosis]

    @property
    def pd_severity(self) -> float:
        """PD severity at intake (0-1)."""
        return float(self.state[SEVERITY])

    @property
    def withdrawal_tendency(self) -> float:
        """Individual proneness to withdrawal markers (relative rate)."""
        return float(self.state[WITHDRAWAL_TENDENCY])

    @property
    def confrontation_tendency(self) -> float:
        """Individual proneness to confrontation markers (relative rate)."""
        return float(self.state[CONFRONTATION_TENDENCY])

    @property
    def insight(self) -> float:
        """Insight / mentalizing (0-1)."""
        return float(self.state[INSIGHT])

    @property
    def alliance_intake(self) -> float:
        """Latent alliance at intake (0-1)."""
        return float(self.state[ALLIANCE_INTAKE])

    @property
    def symptom_pre(self) -> float:
        """Symptom scale reading at intake (0-4)."""
        return float(self.state[SYMPTOM_PRE])

    @property
    def symptom_true_pre(self) -> float:
        """Latent symptom severity at intake (0-4)."""
        return float(self.state[SYMPTOM_TRUE_PRE])

    # --- how the course is going ---------------------------------------------------------------
    @property
    def alliance(self) -> float:
        """Latent alliance (0-1) after the last attended session."""
        return float(self.state[ALLIANCE])

    @property
    def symptom(self) -> float:
        """Latent symptom severity (0-4) after the last attended session."""
        return float(self.state[SYMPTOM])

    @property
    def strain(self) -> float:
        """Unresolved strain carried into the next session (alliance units)."""
        return float(self.state[STRAIN])

    @property
    def pattern(self) -> float:
        """Relational rigidity (1 at intake; corrective experiences lower it)."""
        return float(self.state[PATTERN])

    @property
    def sessions_attended(self) -> int:
        """Sessions attended so far."""
        return int(self.state[SESSIONS_ATTENDED])

    @property
    def next_session(self) -> int:
        """Number of the patient's next session (1-based)."""
        return self.sessions_attended + 1

    @property
    def dropped_out(self) -> bool:
        """Whether the patient has left therapy."""
        return bool(self.state[DROPPED] > 0)

    @property
    def course_finished(self) -> bool:
        """Whether all planned sessions have been held."""
        return self.sessions_attended >= self.model.n_sessions

    @property
    def in_treatment(self) -> bool:
        """Whether the patient will attend another session (not dropped out, course not finished)."""
        return not self.dropped_out and not self.course_finished

    # --- records -------------------------------------------------------------------------------
    def record_session(self, row: np.ndarray, events: np.ndarray) -> None:
        """Keep the record and the events of a session just held."""
        accumulate_course(self.course, row)
        self.session_rows.append(row)
        self.event_rows.append(events)

    @property
    def last_session(self) -> dict[str, float] | None:
        """The last session's record by column name (``layout.SESSION_COLUMNS``), or None."""
        if not self.session_rows:
            return None
        return dict(zip(SESSION_COLUMNS, self.session_rows[-1].tolist(), strict=True))

    @property
    def last_events(self) -> np.ndarray:
        """Raw event rows (``layout.EVENT_COLUMNS``) of the last session (empty if none)."""
        return self.event_rows[-1] if self.event_rows else np.zeros((0, len(EVENT_COLUMNS)))


class Therapist(mesa.Agent):
    """A therapist with a caseload of patients.

    Args:
        model: The ``RuptureModel`` the therapist belongs to.
        therapist_id: Our therapist id; Mesa's ``unique_id`` is separate.
        state: Therapist state (``layout.THERAPIST_SLOTS``), from
            ``rules.therapist_intake`` or given; the agent keeps its own copy.

    Attributes:
        therapist_id: Therapist id.
        state: Therapist state (float64, ``layout.THERAPIST_SLOTS``).
        caseload: The therapist's patients, in the order they were taken on.
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, therapist_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.therapist_id = int(therapist_id)
        self.state = np.array(state, dtype=np.float64, copy=True)
        self.caseload: list[Patient] = []

    def __repr__(self) -> str:
        return (
            f"Therapist(id={self.therapist_id}, skill={self.skill:.2f}, noticing={self.noticing:.2f}, "
            f"patients={len(self.caseload)})"
        )

    @property
    def skill(self) -> float:
        """General skill (0-1)."""
        return float(self.state[SKILL])

    @property
    def noticing(self) -> float:
        """Chance to notice a marker, per salience point."""
        return float(self.state[NOTICING])

    @property
    def reactivity(self) -> float:
        """Chance of a hostile response to a confrontation marker of a patient with severity 0."""
        return float(self.state[REACTIVITY])

    @property
    def exploratory_repertoire(self) -> bool:
        """Whether the therapist can use exploratory (metacommunication) strategies."""
        return bool(self.state[EXPLORATORY] > 0)

    @property
    def exploratory_preference(self) -> float:
        """Chance to choose an exploratory strategy."""
        return float(self.state[EXPLORATORY_PREF])

    @property
    def aft_start_session(self) -> int:
        """Session from which the therapist works with alliance-focused training (0 = never)."""
        return int(self.state[AFT_START])

    def aft_active(self, session: int) -> bool:
        """Whether the therapist works with alliance-focused training in ``session``."""
        return bool(rules.therapist_in_aft(self.state, int(session)))

    def take_on(self, patient: Patient) -> None:
        """Add ``patient`` to the caseload."""
        patient.therapist = self
        self.caseload.append(patient)

    @property
    def active_patients(self) -> list[Patient]:
        """Patients of the caseload still in treatment."""
        return [patient for patient in self.caseload if patient.in_treatment]

    def step(self) -> None:
        """One week: hold the next session with every patient still in treatment."""
        for patient in self.active_patients:
            self.hold_session(patient)

    def hold_session(self, patient: Patient) -> np.ndarray:
        """Hold the patient's next session with the compiled ``rules.run_session``.

        The patient's state is updated in place and the session's record and
        events are kept on the patient (``Patient.last_session``, ``Patient.last_events``).

        Returns:
            The session's record (``layout.SESSION_COLUMNS``).
        """
        model = self.model
        row = np.zeros(len(SESSION_COLUMNS))
        buffer = model.event_buffer
        n_events = rules.run_session(
            model.seed,
            patient.patient_id,
            self.therapist_id,
            patient.next_session,
            patient.state,
            self.state,
            model.model_params,
            model.n_sessions,
            row,
            buffer,
            0,
            DETAIL_EVENTS if model.record_events else DETAIL_SESSIONS,
        )
        patient.record_session(row, buffer[:n_events].copy())
        return row
