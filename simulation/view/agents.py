"""The Mesa agents of the agent view: patients and their therapists.

A ``Patient`` and a ``Therapist`` are thin Mesa agents around the same records
the cohort engine uses (``records.PATIENT`` and ``records.THERAPIST``). They
keep each patient's session records, but they hold no rule of the model: a
therapist's session with a patient is one call of the compiled
``engine.run_agent_session``, which runs ``session.run_session``, the very
function the cohort engine calls. Because every random draw is keyed by
(seed, patient, session, segment, stream), the order in which agents act never
changes a number.

Speed: each agent keeps its records in one-record arrays that go to the compiled
session as they are (a record scalar would cost a type look-up per call), and
reads its fields through a float view of the same memory by position
(``PATIENT_INDEX``), not through numpy's record attribute machinery.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import mesa
import numpy as np

from simulation.model.kernel_cache import compiled_entry
from simulation.model.records import (
    COURSE,
    DETAIL_EVENTS,
    DETAIL_SESSIONS,
    EVENT,
    PATIENT,
    PATIENT_FIELDS,
    SESSION,
    SESSION_FIELDS,
    THERAPIST,
    THERAPIST_FIELDS,
    as_matrix,
    new_records,
)
from simulation.model.session import therapist_in_aft
from simulation.model.taxonomy import DIAGNOSES, DIAGNOSIS_LABELS
from simulation.run.engine import run_agent_session

#: Position of each patient field in a patient record (its float view).
PATIENT_INDEX = {name: i for i, name in enumerate(PATIENT_FIELDS)}
#: Position of each therapist field in a therapist record.
THERAPIST_INDEX = {name: i for i, name in enumerate(THERAPIST_FIELDS)}
_NO_EVENTS = new_records(0, EVENT)
_DROPPED_OUT, _ENDED_GOOD_ENOUGH, _SESSIONS_ATTENDED = (
    PATIENT_INDEX[name] for name in ("dropped_out", "ended_good_enough", "sessions_attended")
)


def _own_buffer(record: np.void, dtype: np.dtype) -> np.recarray:
    """A one-record array of ``dtype`` holding a copy of ``record`` (an agent's own state).

    A ``recarray`` like the engine's buffers, so that with ``NUMBA_DISABLE_JIT=1`` the rules,
    then plain Python, read its fields as attributes too.
    """
    buffer = new_records(1, dtype)
    buffer[0] = record
    return buffer


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
        therapist: The patient's ``Therapist`` (set when the therapist takes the patient on).
        event_rows: The events (``records.EVENT``) of each attended session (empty arrays
            unless the model records events).
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, patient_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.patient_id = int(patient_id)
        self._state = _own_buffer(state, PATIENT)  # what the compiled session updates
        self._values = np.asarray(self._state).view(np.float64)  # the same memory, read by position
        self.therapist: Therapist | None = None
        self._rows = new_records(model.n_sessions, SESSION)  # row k: session k + 1, once attended
        self._plain_rows = np.asarray(self._rows)  # the same rows, read without the recarray's Python layer
        self._row_matrix = as_matrix(self._plain_rows)  # and as floats, one column per field
        self._n_rows = 0
        self.event_rows: list[np.ndarray] = []
        self._course = new_records(1, COURSE)

    @cached_property
    def state(self) -> np.record:
        """The patient's record now (``records.PATIENT``); writing a field changes the patient."""
        return self._state[0]

    @cached_property
    def course(self) -> np.record:
        """Running course sums (``records.COURSE``), kept by the engine's own rule."""
        return self._course[0]

    def _field(self, name: str) -> float:
        return self._values.item(PATIENT_INDEX[name])

    def __repr__(self) -> str:
        return (
            f"Patient(id={self.patient_id}, {self.diagnosis}, severity={self.pd_severity:.2f}, "
            f"alliance={self.alliance:.2f}, sessions={self.sessions_attended}, dropped_out={self.dropped_out})"
        )

    # --- who the patient is (fixed at intake) --------------------------------------------------
    @property
    def diagnosis(self) -> str:
        """Diagnosis group: ``no_pd``, ``bpd`` or ``other_pd``."""
        return DIAGNOSES[int(self._field("diagnosis"))]

    @property
    def diagnosis_label(self) -> str:
        """Readable diagnosis, e.g. ``Borderline PD``."""
        return DIAGNOSIS_LABELS[self.diagnosis]

    @property
    def pd_severity(self) -> float:
        """PD severity at intake (0-1)."""
        return self._field("pd_severity")

    @property
    def withdrawal_tendency(self) -> float:
        """Individual proneness to withdrawal markers (relative rate)."""
        return self._field("withdrawal_tendency")

    @property
    def confrontation_tendency(self) -> float:
        """Individual proneness to confrontation markers (relative rate)."""
        return self._field("confrontation_tendency")

    @property
    def insight(self) -> float:
        """Insight / mentalizing (0-1)."""
        return self._field("insight")

    @property
    def alliance_intake(self) -> float:
        """Latent alliance at intake (0-1)."""
        return self._field("alliance_intake")

    @property
    def symptom_pre(self) -> float:
        """Symptom scale reading at intake (0-4)."""
        return self._field("symptom_pre")

    @property
    def symptom_true_pre(self) -> float:
        """Latent symptom severity at intake (0-4)."""
        return self._field("symptom_true_pre")

    # --- how the course is going ---------------------------------------------------------------
    @property
    def alliance(self) -> float:
        """Latent alliance (0-1) after the last attended session."""
        return self._field("alliance")

    @property
    def symptom(self) -> float:
        """Latent symptom severity (0-4) after the last attended session."""
        return self._field("symptom_true")

    @property
    def strain(self) -> float:
        """Unresolved strain carried into the next session (alliance units)."""
        return self._field("strain")

    @property
    def pattern(self) -> float:
        """Relational rigidity (1 at intake; corrective experiences lower it)."""
        return self._field("pattern")

    @property
    def sessions_attended(self) -> int:
        """Sessions attended so far."""
        return int(self._field("sessions_attended"))

    @property
    def next_session(self) -> int:
        """Number of the patient's next session (1-based)."""
        return self.sessions_attended + 1

    @property
    def dropped_out(self) -> bool:
        """Whether the patient has left therapy."""
        return self._field("dropped_out") > 0

    @property
    def ended_good_enough(self) -> bool:
        """Whether the patient ended therapy early as good enough (after reliable improvement)."""
        return self._field("ended_good_enough") > 0

    @property
    def trust(self) -> float:
        """Trust in the therapist (0-1): grows with sessions attended and repaired ruptures."""
        return self._field("trust")

    @property
    def course_finished(self) -> bool:
        """Whether all planned sessions have been held."""
        return self.sessions_attended >= self.model.n_sessions

    @property
    def in_treatment(self) -> bool:
        """Whether the patient will attend another session (not left early, course not finished)."""
        values = self._values  # read by position: asked for every patient several times a week
        return (
            values.item(_DROPPED_OUT) <= 0
            and values.item(_ENDED_GOOD_ENOUGH) <= 0
            and values.item(_SESSIONS_ATTENDED) < self.model.n_sessions
        )

    # --- records -------------------------------------------------------------------------------
    def record_session(self, events: np.ndarray) -> None:
        """Keep the events of a session just held (its row is already in place, its course sums added)."""
        self._n_rows += 1
        self.event_rows.append(events)

    @property
    def session_rows(self) -> np.recarray:
        """One ``records.SESSION`` per attended session, in order (a view: later sessions are not in it)."""
        return self._rows[: self._n_rows]

    def row_values(self, first: int, stop: int) -> np.ndarray:
        """Session records ``first`` to ``stop - 1`` (0-based, held ones only) as a float matrix, one column per field.

        Float rows stack without numpy's per-array check of structured dtypes (``records.as_matrix``).
        """
        return self._row_matrix[first : min(stop, self._n_rows)]

    @property
    def last_row(self) -> np.void:
        """The last session's record (``records.SESSION``); only once a session was held."""
        return self._plain_rows[self._n_rows - 1]

    @property
    def last_session(self) -> dict[str, float] | None:
        """The last session's record by field name (``records.SESSION``), or None."""
        if not self._n_rows:
            return None
        return dict(zip(SESSION_FIELDS, self.last_row.tolist(), strict=True))

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
        caseload: The therapist's patients, in the order they were taken on.
    """

    model: RuptureModel

    def __init__(self, model: RuptureModel, therapist_id: int, state: np.ndarray) -> None:
        super().__init__(model)
        self.therapist_id = int(therapist_id)
        self._state = _own_buffer(state, THERAPIST)
        self._values = np.asarray(self._state).view(np.float64)
        self.caseload: list[Patient] = []

    def _field(self, name: str) -> float:
        return self._values.item(THERAPIST_INDEX[name])

    @cached_property
    def state(self) -> np.record:
        """The therapist's record (``records.THERAPIST``)."""
        return self._state[0]

    def __repr__(self) -> str:
        return (
            f"Therapist(id={self.therapist_id}, skill={self.skill:.2f}, noticing={self.noticing:.2f}, "
            f"patients={len(self.caseload)})"
        )

    @property
    def skill(self) -> float:
        """General skill (0-1)."""
        return self._field("skill")

    @property
    def noticing(self) -> float:
        """Chance to notice a marker, per salience point."""
        return self._field("noticing")

    @property
    def reactivity(self) -> float:
        """Chance of a hostile response to a confrontation marker of a patient with severity 0."""
        return self._field("reactivity")

    @property
    def exploratory_repertoire(self) -> bool:
        """Whether the therapist can use exploratory (metacommunication) strategies."""
        return self._field("exploratory_repertoire") > 0

    @property
    def exploratory_preference(self) -> float:
        """Chance to choose an exploratory strategy."""
        return self._field("exploratory_preference")

    @property
    def aft_start_session(self) -> int:
        """Session from which the therapist works with alliance-focused training (0 = never)."""
        return int(self._field("aft_start_session"))

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

    def hold_session(self, patient: Patient) -> np.void:
        """Hold the patient's next session: one call of the compiled ``engine.run_agent_session``.

        The patient's state is updated in place and the session's record and
        events are kept on the patient (``Patient.last_session``, ``Patient.last_events``).

        Returns:
            The session's record (``records.SESSION``).
        """
        model = self.model
        args = (
            model.seed,
            patient.patient_id,
            self.therapist_id,
            patient.sessions_attended + 1,
            patient._state,
            self._state,
            model.params_buffer,
            model.n_sessions,
            patient._rows,
            model.work_buffer,
            DETAIL_EVENTS if model.record_events else DETAIL_SESSIONS,
            model.overrides,
            patient._course,
        )
        if model.session_kernel is None:  # the same argument types on every call of this model
            model.session_kernel = compiled_entry(run_agent_session, args)
        n_events = model.session_kernel(*args)
        events = model.work.events[:n_events].copy().view(np.recarray) if n_events else _NO_EVENTS
        patient.record_session(events)
        return patient.last_row
