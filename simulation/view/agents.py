"""The Mesa agents of the agent view: patients and their therapists.

A ``Patient`` and a ``Therapist`` are thin Mesa agents around the same records
the cohort engine uses (``records.PATIENT`` and ``records.THERAPIST``). They
keep each patient's session records, but they hold no rule of the model: a
therapist's session with a patient is one call of the compiled
``session.run_session``, the
very function the cohort engine calls. Because every random draw is keyed by
(seed, patient, session, segment, stream), the order in which agents act never
changes a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from simulation.model.records import (
    COURSE,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    EVENT,
    PATIENT,
    SESSION,
    SESSION_FIELDS,
    THERAPIST,
    new_records,
    own_record,
)
from simulation.model.session import run_session, therapist_in_aft
from simulation.model.taxonomy import DIAGNOSES, DIAGNOSIS_LABELS
from simulation.run.engine import accumulate_course, impose_response

if TYPE_CHECKING:
    from simulation.view.model import RuptureModel


class Patient(mesa.Agent):
    """A patient in a course of therapy.

    Args:
        model: The ``RuptureModel`` the patient belongs to.
        patient_id: Our patient id (key of the patient's random numbers); Mesa's
            ``unique_id`` is separate.
        state: The patient's record at intake (``records.PATIENT``), from
            ``rules.patient_intake``; the agent keeps its own copy.

    Attributes:
        patient_id: Patient id.
        state: The patient's record now (``records.PATIENT``), updated by each session.
        therapist: The patient's ``Therapist`` (set when the therapist takes the patient on).
        session_rows: One ``records.SESSION`` per attended session.
        event_rows: The events (``records.EVENT``) of each attended session.
        course: Running course sums (``records.COURSE``), kept by the engine's own rule.
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, patient_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.patient_id = int(patient_id)
        self.state = own_record(state, PATIENT)
        self.therapist: Therapist | None = None
        self.session_rows: list[np.record] = []
        self.event_rows: list[np.ndarray] = []
        self.course = new_records(1, COURSE)[0]

    def __repr__(self) -> str:
        return (
            f"Patient(id={self.patient_id}, {self.diagnosis}, severity={self.pd_severity:.2f}, "
            f"alliance={self.alliance:.2f}, sessions={self.sessions_attended}, dropped_out={self.dropped_out})"
        )

    # --- who the patient is (fixed at intake) --------------------------------------------------
    @property
    def diagnosis(self) -> str:
        """Diagnosis group: ``no_pd``, ``bpd`` or ``other_pd``."""
        return DIAGNOSES[int(self.state["diagnosis"])]

    @property
    def diagnosis_label(self) -> str:
        """Readable diagnosis, e.g. ``Borderline PD``."""
        return DIAGNOSIS_LABELS[self.diagnosis]

    @property
    def pd_severity(self) -> float:
        """PD severity at intake (0-1)."""
        return float(self.state["pd_severity"])

    @property
    def withdrawal_tendency(self) -> float:
        """Individual proneness to withdrawal markers (relative rate)."""
        return float(self.state["withdrawal_tendency"])

    @property
    def confrontation_tendency(self) -> float:
        """Individual proneness to confrontation markers (relative rate)."""
        return float(self.state["confrontation_tendency"])

    @property
    def insight(self) -> float:
        """Insight / mentalizing (0-1)."""
        return float(self.state["insight"])

    @property
    def alliance_intake(self) -> float:
        """Latent alliance at intake (0-1)."""
        return float(self.state["alliance_intake"])

    @property
    def symptom_pre(self) -> float:
        """Symptom scale reading at intake (0-4)."""
        return float(self.state["symptom_pre"])

    @property
    def symptom_true_pre(self) -> float:
        """Latent symptom severity at intake (0-4)."""
        return float(self.state["symptom_true_pre"])

    # --- how the course is going ---------------------------------------------------------------
    @property
    def alliance(self) -> float:
        """Latent alliance (0-1) after the last attended session."""
        return float(self.state["alliance"])

    @property
    def symptom(self) -> float:
        """Latent symptom severity (0-4) after the last attended session."""
        return float(self.state["symptom_true"])

    @property
    def strain(self) -> float:
        """Unresolved strain carried into the next session (alliance units)."""
        return float(self.state["strain"])

    @property
    def pattern(self) -> float:
        """Relational rigidity (1 at intake; corrective experiences lower it)."""
        return float(self.state["pattern"])

    @property
    def sessions_attended(self) -> int:
        """Sessions attended so far."""
        return int(self.state["sessions_attended"])

    @property
    def next_session(self) -> int:
        """Number of the patient's next session (1-based)."""
        return self.sessions_attended + 1

    @property
    def dropped_out(self) -> bool:
        """Whether the patient has left therapy."""
        return bool(self.state["dropped_out"] > 0)

    @property
    def ended_good_enough(self) -> bool:
        """Whether the patient ended therapy early as good enough (after reliable improvement)."""
        return bool(self.state["ended_good_enough"] > 0)

    @property
    def trust(self) -> float:
        """Trust in the therapist (0-1): grows with sessions attended and repaired ruptures."""
        return float(self.state["trust"])

    @property
    def course_finished(self) -> bool:
        """Whether all planned sessions have been held."""
        return self.sessions_attended >= self.model.n_sessions

    @property
    def in_treatment(self) -> bool:
        """Whether the patient will attend another session (not left early, course not finished)."""
        return not self.dropped_out and not self.ended_good_enough and not self.course_finished

    # --- records -------------------------------------------------------------------------------
    def record_session(self, row: np.record, events: np.ndarray) -> None:
        """Keep the record and the events of a session just held."""
        accumulate_course(self.course, row)
        self.session_rows.append(row)
        self.event_rows.append(events)

    @property
    def last_session(self) -> dict[str, float] | None:
        """The last session's record by field name (``records.SESSION``), or None."""
        if not self.session_rows:
            return None
        return dict(zip(SESSION_FIELDS, self.session_rows[-1].tolist(), strict=True))

    @property
    def last_events(self) -> np.ndarray:
        """Event records (``records.EVENT``) of the last session (empty if none)."""
        return self.event_rows[-1] if self.event_rows else new_records(0, EVENT)


class Therapist(mesa.Agent):
    """A therapist with a caseload of patients.

    Args:
        model: The ``RuptureModel`` the therapist belongs to.
        therapist_id: Our therapist id; Mesa's ``unique_id`` is separate.
        state: The therapist's record (``records.THERAPIST``), from
            ``rules.therapist_intake`` or given; the agent keeps its own copy.

    Attributes:
        therapist_id: Therapist id.
        state: The therapist's record (``records.THERAPIST``).
        caseload: The therapist's patients, in the order they were taken on.
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, therapist_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.therapist_id = int(therapist_id)
        self.state = own_record(state, THERAPIST)
        self.caseload: list[Patient] = []

    def __repr__(self) -> str:
        return (
            f"Therapist(id={self.therapist_id}, skill={self.skill:.2f}, noticing={self.noticing:.2f}, "
            f"patients={len(self.caseload)})"
        )

    @property
    def skill(self) -> float:
        """General skill (0-1)."""
        return float(self.state["skill"])

    @property
    def noticing(self) -> float:
        """Chance to notice a marker, per salience point."""
        return float(self.state["noticing"])

    @property
    def reactivity(self) -> float:
        """Chance of a hostile response to a confrontation marker of a patient with severity 0."""
        return float(self.state["reactivity"])

    @property
    def exploratory_repertoire(self) -> bool:
        """Whether the therapist can use exploratory (metacommunication) strategies."""
        return bool(self.state["exploratory_repertoire"] > 0)

    @property
    def exploratory_preference(self) -> float:
        """Chance to choose an exploratory strategy."""
        return float(self.state["exploratory_preference"])

    @property
    def aft_start_session(self) -> int:
        """Session from which the therapist works with alliance-focused training (0 = never)."""
        return int(self.state["aft_start_session"])

    def aft_active(self, session: int) -> bool:
        """Whether the therapist works with alliance-focused training in ``session``."""
        return bool(therapist_in_aft(self.state, int(session)))

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
        """Hold the patient's next session with the compiled ``session.run_session``.

        The patient's state is updated in place and the session's record and
        events are kept on the patient (``Patient.last_session``, ``Patient.last_events``).

        Returns:
            The session's record (``records.SESSION``).
        """
        model = self.model
        row_buffer = new_records(1, SESSION)
        work = model.work
        impose_response(work, model.overrides, patient.patient_id, patient.next_session)
        n_events = run_session(
            model.seed,
            patient.patient_id,
            self.therapist_id,
            patient.next_session,
            patient.state,
            self.state,
            model.model_params,
            model.n_sessions,
            row_buffer,
            work,
            DETAIL_EVENTS if model.record_events else DETAIL_SESSIONS,
        )
        row = row_buffer[0]
        patient.record_session(row, work.events[:n_events].copy().view(np.recarray))
        return row
