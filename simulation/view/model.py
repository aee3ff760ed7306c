"""The agent view: the model's rules run as Mesa agents, one week per step.

``RuptureModel`` builds the same patients and therapists as the cohort engine
(``engine.assign_therapists``, ``engine.intake_patients``,
``engine.intake_therapists``) as Mesa agents; one ``step`` is one week, in
which every therapist holds one session with each of their patients still in
treatment by calling the compiled ``session.run_session``. ``raw`` returns the
same arrays as ``engine.simulate_cohort``, so ``simulate(engine="agents")`` and
``simulate(engine="cohort")`` give identical tables. The agent view adds what a
teaching app needs: a ``mesa.DataCollector`` with weekly reporters and the
records and events of the most recent week.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mesa
import numpy as np
import pandas as pd

from simulation.model.parameters import ParameterError, Parameters
from simulation.model.records import (
    COURSE,
    EVENT,
    IN_SESSION,
    PATIENT,
    SESSION,
    THERAPIST,
    TRAJECTORY,
    as_records,
    kernel_params_buffer,
    new_records,
)
from simulation.run.engine import (
    RawCohort,
    as_override_table,
    assign_therapists,
    intake_patients,
    intake_therapists,
    no_overrides,
    no_policy,
    sum_trajectory,
)
from simulation.run.tables import events_table, sessions_table
from simulation.view.agents import Patient, Therapist

#: Weekly model-level reporters of the DataCollector (name -> model attribute).
MODEL_REPORTERS = {
    "week": "week",
    "active_patients": "active_patients",
    "mean_alliance": "mean_alliance",
    "rupture_share": "rupture_share",
    "dropouts": "dropouts",
}
#: Weekly reporters of every patient (name -> ``Patient`` attribute).
PATIENT_REPORTERS = {
    "patient_id": "patient_id",
    "alliance": "alliance",
    "symptom": "symptom",
    "strain": "strain",
    "dropped_out": "dropped_out",
}


class RuptureModel(mesa.Model):
    """Courses of therapy as Mesa agents: patients, their therapists, one session a week.

    Args:
        params: Model parameters.
        patient_ids: Ids of the patients (keys of their random numbers).
        n_sessions: Planned course length in sessions (= weeks).
        seed: Root seed of the keyed random numbers; Mesa's own generators are
            seeded with it too, although the model draws nothing from them.
        record_events: Whether to keep the per-event records.
        therapists: Optional therapist states, one row per therapist id from 0
            to the largest id needed (as in ``engine.simulate_cohort``); drawn
            from ``params`` if omitted.
        overrides: Responses imposed on the therapist (``engine.OVERRIDE_COLUMNS``), as in
            ``engine.simulate_cohort``; none if omitted.
        policy: A therapist policy (response by rupture type and salience), as in
            ``engine.simulate_cohort``; none if omitted.

    Attributes:
        params: The parameters.
        model_params: The parameters as the compiled rules read them (``records.kernel_params``).
        params_buffer: ``model_params`` as a one-record array (what the compiled session takes).
        n_sessions: Planned course length.
        seed: Root seed.
        record_events: Whether events are kept.
        patients: The ``Patient`` agents, in the order of ``patient_ids``.
        therapists: The ``Therapist`` agents, by increasing therapist id.
        week: Weeks simulated so far (the last session number held).
        active_patients: Patients who had a session in the last week.
        mean_alliance: Mean latent alliance after this week's sessions.
        rupture_share: Share of this week's sessions with an observer-coded rupture.
        dropouts: Patients who have dropped out so far.
        last_week_rows: Raw session records of the last week (``records.SESSION``).
        last_week_event_rows: Raw events of the last week (``records.EVENT``).
        datacollector: Weekly model reporters (``MODEL_REPORTERS``) and patient
            reporters (``PATIENT_REPORTERS``; ``get_agenttype_vars_dataframe(Patient)``).
        work: The session in progress (scratch of ``run_session``, with the session's event log).
        work_buffer: ``work`` as a one-record array (what the compiled session takes).
        overrides: The imposed responses (``engine.OVERRIDE_COLUMNS``).

    Examples:
        >>> from simulation.model.parameters import Parameters
        >>> model = RuptureModel(Parameters(), range(12), n_sessions=8, seed=1)
        >>> model.run()
        >>> model.week <= 8 and not model.running
        True
    """

    def __init__(
        self,
        params: Parameters,
        patient_ids: Sequence[int] | np.ndarray,
        n_sessions: int = 30,
        seed: int = 0,
        record_events: bool = True,
        therapists: np.ndarray | None = None,
        overrides: np.ndarray | None = None,
        policy: np.ndarray | None = None,
    ) -> None:
        super().__init__(rng=seed)  # Mesa 3.5 deprecates seed=; 3.3.1 takes rng= too (compat.py)
        if int(n_sessions) < 1:
            raise ParameterError(f"n_sessions must be at least 1 (got {n_sessions!r}).")
        self.params = params
        self.params_buffer = kernel_params_buffer(params.model_params())  # what the compiled session takes
        self.model_params = self.params_buffer[0]
        self.n_sessions = int(n_sessions)
        self.seed = int(seed)
        self.record_events = bool(record_events)
        self.overrides = no_overrides() if overrides is None else as_override_table(overrides)
        self.overrides = np.ascontiguousarray(self.overrides)
        self.session_kernel: Callable[..., int] | None = None  # engine.run_agent_session, compiled for this model
        self.work_buffer = new_records(1, IN_SESSION)  # the session in progress (scratch of run_session)
        self.work = self.work_buffer[0]
        self.work.policy[:, :] = no_policy() if policy is None else np.asarray(policy, np.int64)
        ids = np.asarray(patient_ids, dtype=np.int64).reshape(-1)
        self.therapists = self._create_therapists(ids, therapists)
        self.patients = self._create_patients(ids)
        self.week = 0
        self.active_patients = 0
        self.mean_alliance = float("nan")
        self.rupture_share = float("nan")
        self.dropouts = 0
        self.last_week_rows = np.zeros(0, SESSION)
        self.last_week_event_rows = np.zeros(0, EVENT)
        self._last_week_tables: dict[str, pd.DataFrame] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters=dict(MODEL_REPORTERS), agenttype_reporters={Patient: dict(PATIENT_REPORTERS)}
        )
        self.running = self._any_in_treatment()

    # --- building the cohort -----------------------------------------------------------------
    def _create_therapists(self, patient_ids: np.ndarray, therapists: np.ndarray | None) -> list[Therapist]:
        """Therapist agents for the therapist ids the patients need, with the engine's states."""
        therapist_ids = assign_therapists(patient_ids, int(self.params["caseload"]))
        index = np.unique(therapist_ids)
        if therapists is None:
            table = intake_therapists(self.seed, index, self.params)
        else:
            table = as_records(therapists, THERAPIST)[index]
        self._therapist_by_id = {int(tid): Therapist(self, int(tid), table[i]) for i, tid in enumerate(index)}
        self._therapist_ids = therapist_ids
        return list(self._therapist_by_id.values())

    def _create_patients(self, patient_ids: np.ndarray) -> list[Patient]:
        """Patient agents at intake, each taken on by its therapist."""
        self._intake = intake_patients(self.seed, patient_ids, self.params)
        patients = []
        for pid, tid, state in zip(patient_ids, self._therapist_ids, self._intake, strict=True):
            patient = Patient(self, int(pid), state)
            self._therapist_by_id[int(tid)].take_on(patient)
            patients.append(patient)
        self._patient_by_id = {patient.patient_id: patient for patient in patients}
        return patients

    def patient(self, patient_id: int) -> Patient:
        """The patient with our id ``patient_id`` (not Mesa's ``unique_id``)."""
        return self._patient_by_id[int(patient_id)]

    def therapist(self, therapist_id: int) -> Therapist:
        """The therapist with our id ``therapist_id`` (not Mesa's ``unique_id``)."""
        return self._therapist_by_id[int(therapist_id)]

    # --- running -------------------------------------------------------------------------------
    def _any_in_treatment(self) -> bool:
        return any(patient.in_treatment for patient in self.patients)

    def step(self) -> None:
        """One week: every therapist holds a session with each of their patients still in treatment.

        Agents act in a fixed order, but since every random draw is keyed by
        (seed, patient, session, segment, stream) no order could change a
        number. Once every course is over, a step does nothing.
        """
        attending = [patient for patient in self.patients if patient.in_treatment]
        if not attending:
            self.running = False
            return
        self.week += 1
        self.agents_by_type[Therapist].do("step")
        self._close_week(attending)
        self.datacollector.collect(self)
        self.running = self._any_in_treatment()

    def _close_week(self, attending: list[Patient]) -> None:
        """Keep the week's records and update the weekly reporters."""
        last = [patient.row_values(patient.sessions_attended - 1, patient.sessions_attended) for patient in attending]
        self.last_week_rows = _records(last, SESSION)
        self.last_week_event_rows = _stack([patient.event_rows[-1] for patient in attending], EVENT)
        self._last_week_tables = {}
        self.active_patients = len(attending)
        self.mean_alliance = float(self.last_week_rows["alliance"].mean())
        self.rupture_share = float(self.last_week_rows["rupture_observed"].mean())
        self.dropouts = sum(patient.dropped_out for patient in self.patients)

    def run(self) -> None:
        """Step week by week until every course is over (finished or dropped out)."""
        while self.running:
            self.step()

    def run_model(self) -> None:
        """Mesa's name for ``run``."""
        self.run()

    # --- output --------------------------------------------------------------------------------
    @property
    def last_week_sessions(self) -> pd.DataFrame:
        """The last week's sessions as a labelled table (columns of ``tables.sessions_table``)."""
        if "sessions" not in self._last_week_tables:
            self._last_week_tables["sessions"] = sessions_table(self.last_week_rows)
        return self._last_week_tables["sessions"]

    @property
    def last_week_events(self) -> pd.DataFrame:
        """The last week's events as a labelled table (``tables.events_table``), in the order they happened.

        Each row names the segment, the kind of event (marker, missed,
        strategy, negative, stage, episode_end), its 3RS code and label, the
        rupture type, salience and resolution stage: enough to narrate each
        session of the week.
        """
        if "events" not in self._last_week_tables:
            self._last_week_tables["events"] = events_table(self.last_week_event_rows)
        return self._last_week_tables["events"]

    def raw(self) -> RawCohort:
        """The run's arrays, as ``engine.simulate_cohort`` returns them (patients in input order)."""
        trajectory = new_records(self.n_sessions, TRAJECTORY)
        sessions = _records([patient.row_values(0, self.n_sessions) for patient in self.patients], SESSION)
        sum_trajectory(trajectory, sessions)  # the engine's summation order: patient by patient
        return RawCohort(
            intake=self._intake.copy(),
            final=_stack([patient._state for patient in self.patients], PATIENT),
            patient_ids=np.array([patient.patient_id for patient in self.patients], dtype=np.int64),
            therapist_ids=self._therapist_ids.copy(),
            therapists=_stack([therapist._state for therapist in self.therapists], THERAPIST),
            therapist_index=np.array([therapist.therapist_id for therapist in self.therapists], dtype=np.int64),
            sessions=sessions,
            events=_stack([ev for patient in self.patients for ev in patient.event_rows], EVENT),
            courses=_stack([patient._course for patient in self.patients], COURSE),
            trajectory=trajectory,
        )


def _records(matrices: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """Float matrices (one column per field of ``dtype``) stacked into one record array."""
    if not matrices:
        return np.zeros(0, dtype)
    return np.ascontiguousarray(np.concatenate(matrices)).view(dtype).reshape(-1)


def _stack(blocks: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """Concatenate record blocks; no rows gives an empty record array."""
    blocks = [block for block in blocks if len(block)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype)
