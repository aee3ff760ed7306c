"""Virtual samples for the validation studies: cohorts run on the compiled engine, read as arrays.

The studies run thousands of small cohorts, so they skip the labelled pandas
tables of ``simulate`` and read the engine's raw arrays directly (by the column
names of ``simulation.model.records``). A ``Sample`` hands out disjoint blocks of
patient ids within one replication, so that the groups and arms of a study are
different patients with different therapists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from simulation.model.parameters import Parameters
from simulation.model.presets import preset_values
from simulation.run import outcomes
from simulation.run.engine import RawCohort, intake_therapists, simulate_cohort


def design_parameters(
    base: Mapping[str, float],
    population: str | None = None,
    therapists: str | None = None,
    **design: float,
) -> Parameters:
    """Parameters of one arm of a study: the candidate set, then the design on top.

    The design (diagnosis mix, population preset, therapist preset, explicit
    design values) wins over the candidate parameters, because it describes the
    study being reproduced, not the model.

    Args:
        base: Candidate parameter values (e.g. the defaults with ``--set`` overrides).
        population: Population preset name (``simulation.model.presets.POPULATIONS``).
        therapists: Therapist preset name (``simulation.model.presets.THERAPISTS``).
        **design: Further design values by parameter name.
    """
    values: dict[str, Any] = dict(base)
    if population is not None:
        values.update(preset_values("population", population))
    if therapists is not None:
        values.update(preset_values("therapist", therapists))
    values.update(design)
    return Parameters(values)


def pd_shares(pd_share: float, bpd_part: float = 0.5) -> dict[str, float]:
    """Diagnosis shares for a sample with ``pd_share`` PD patients, ``bpd_part`` of them BPD."""
    bpd = pd_share * bpd_part
    return {"share_no_pd": 1.0 - pd_share, "share_bpd": bpd, "share_other_pd": pd_share - bpd}


#: Diagnosis shares of a group with no PD, and of a PD group half BPD, half other PD.
NO_PD = pd_shares(0.0)
PD = pd_shares(1.0)


#: The output column each data accessor of ``Cohort`` stands for, as ``(table, column)`` of
#: ``tables.DATA_DICTIONARY``: the studies read the engine's arrays, not the tables, so this says which
#: informant channel (``run/channels.py``) a study reads when it uses an accessor. ``Cohort.s(name)`` is
#: ``("sessions", name)``; ``raw`` and ``course`` are not for studies (the tests hold them to that).
ACCESSOR_COLUMNS: dict[str, tuple[str, str]] = {
    "n": ("patients", "patient_id"),
    "session_patient": ("sessions", "patient_id"),
    "therapist_id": ("patients", "therapist_id"),
    "diagnosis": ("patients", "diagnosis"),
    "severity": ("patients", "pd_severity"),
    "attended": ("patients", "sessions_attended"),
    "dropped_out": ("patients", "dropped_out"),
    "ended_good_enough": ("patients", "exit_reason"),
    "symptom_pre": ("patients", "symptom_pre"),
    "symptom_post": ("patients", "symptom_post"),
    "improvement": ("patients", "symptom_change"),
    "symptom_change": ("patients", "symptom_change"),
    "rci": ("patients", "rci"),
    "reliably_improved": ("patients", "reliable_change"),
    "recovered": ("patients", "recovered"),
    "n_withdrawal": ("sessions", "n_withdrawal"),  # the course sum of the session column
    "n_markers": ("patients", "n_markers"),
    "n_episodes": ("patients", "n_episodes"),
    "n_resolved": ("patients", "n_resolved"),
    "mean_resolution_stage": ("patients", "mean_resolution_stage"),
    "max_resolution_stage": ("patients", "max_resolution_stage"),
}


@dataclass
class Cohort:
    """One simulated cohort read as arrays.

    Attributes:
        raw: The engine's raw output.
        params: Parameters of the run.
    """

    raw: RawCohort
    params: Parameters

    def s(self, name: str) -> np.ndarray:
        """A session column (one value per attended session, patients in id order)."""
        return self.raw.sessions[name]

    @cached_property
    def session_patient(self) -> np.ndarray:
        """Row of the patient (in ``raw.patient_ids``) of each session row."""
        return np.searchsorted(self.raw.patient_ids, self.s("patient_id").astype(np.int64))

    def per_patient_mean(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Mean of a per-session quantity for each patient (NaN for a patient without sessions in ``mask``)."""
        rows = self.session_patient
        if mask is not None:
            rows, values = rows[mask], values[mask]
        n = len(self.raw.patient_ids)
        total = np.bincount(rows, weights=values, minlength=n)
        count = np.bincount(rows, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    @property
    def n(self) -> int:
        """Patients in the cohort."""
        return len(self.raw.patient_ids)

    @property
    def diagnosis(self) -> np.ndarray:
        """Diagnosis code of each patient (0 no PD, 1 BPD, 2 other PD)."""
        return self.raw.intake["diagnosis"].astype(np.int64)

    @property
    def severity(self) -> np.ndarray:
        """PD severity at intake."""
        return self.raw.intake["pd_severity"]

    @property
    def attended(self) -> np.ndarray:
        """Sessions attended."""
        return self.raw.final["sessions_attended"]

    @property
    def dropped_out(self) -> np.ndarray:
        """Left before the planned end (bool)."""
        return self.raw.final["dropped_out"] > 0

    @property
    def ended_good_enough(self) -> np.ndarray:
        """Left before the planned end after reliable improvement (exit_reason good_enough; bool)."""
        return self.raw.final["ended_good_enough"] > 0

    @property
    def symptom_pre(self) -> np.ndarray:
        """Symptom-scale reading at intake."""
        return self.raw.intake["symptom_pre"]

    @property
    def symptom_post(self) -> np.ndarray:
        """Symptom-scale reading after the last attended session (last observation carried forward)."""
        return np.where(self.attended > 0, self.raw.courses["symptom_post"], self.symptom_pre)

    @property
    def improvement(self) -> np.ndarray:
        """``symptom_pre - symptom_post`` (positive = better)."""
        return self.symptom_pre - self.symptom_post

    @property
    def symptom_change(self) -> np.ndarray:
        """``symptom_post - symptom_pre`` (negative = better), as in the patients table."""
        return self.symptom_post - self.symptom_pre

    @property
    def rci(self) -> np.ndarray:
        """Jacobson-Truax reliable change index of each patient (``outcomes.reliable_change_index``)."""
        return outcomes.reliable_change_index(self.symptom_change, self.params)

    @property
    def reliably_improved(self) -> np.ndarray:
        """Jacobson-Truax reliable improvement of each patient."""
        return outcomes.reliably_improved(self.rci)

    @property
    def recovered(self) -> np.ndarray:
        """Reliable improvement and a post score below the clinical cut-off."""
        return outcomes.recovered(self.rci, self.symptom_post, self.params)

    def course(self, name: str) -> np.ndarray:
        """A course sum (a field of ``records.COURSE``) of each patient."""
        return self.raw.courses[name]

    @property
    def n_withdrawal(self) -> np.ndarray:
        """Observer-coded withdrawal markers over the course."""
        return self.course("n_withdrawal")

    @property
    def n_markers(self) -> np.ndarray:
        """Observer-coded markers over the course."""
        return self.course("n_withdrawal") + self.course("n_confrontation")

    @property
    def n_episodes(self) -> np.ndarray:
        """Resolution episodes over the course."""
        return self.course("n_episodes")

    @property
    def n_resolved(self) -> np.ndarray:
        """Episodes that ended resolved over the course."""
        return self.course("n_resolved")

    @property
    def mean_resolution_stage(self) -> np.ndarray:
        """Resolution complexity: mean deepest stage over sessions with an episode (0 if none)."""
        return outcomes.mean_resolution_stage(self.course("stage_sum"), self.course("n_stage_sessions"))

    @property
    def max_resolution_stage(self) -> np.ndarray:
        """Deepest stage reached in any session."""
        return self.course("max_stage")

    @property
    def therapist_id(self) -> np.ndarray:
        """Therapist of each patient."""
        return self.raw.therapist_ids


@dataclass
class Sample:
    """The patients of one replication of one study: disjoint id blocks, one seed.

    Every cohort drawn from a ``Sample`` gets new patient ids (aligned to the
    caseload, so that no therapist is shared between blocks); all cohorts of a
    replication run on the replication's seed, so a study is a deterministic
    function of its parameters and seed (common random numbers across
    candidate parameter sets).

    Attributes:
        seed: The replication's seed.
        next_id: First free patient id.
    """

    seed: int
    next_id: int = 0

    def ids(self, n: int, caseload: int) -> np.ndarray:
        """``n`` new patient ids, starting at a multiple of ``caseload``."""
        start = math.ceil(self.next_id / caseload) * caseload
        self.next_id = start + n
        return np.arange(start, start + n, dtype=np.int64)

    def cohort(
        self,
        params: Parameters,
        n: int,
        n_sessions: int,
        aft_start: np.ndarray | None = None,
        keep_sessions: bool = True,
    ) -> Cohort:
        """Simulate ``n`` new patients for ``n_sessions`` planned sessions.

        Args:
            params: Parameters of this arm or group.
            n: Patients.
            n_sessions: Planned course length.
            aft_start: Optional AFT start session of each therapist of the block, in
                therapist order (0 = never); the other therapist settings come from
                ``params``.
            keep_sessions: Whether to keep session rows.
        """
        caseload = int(params["caseload"])
        ids = self.ids(n, caseload)
        therapists = None
        if aft_start is not None:
            tids = np.arange(ids[-1] // caseload + 1, dtype=np.int64)
            therapists = intake_therapists(self.seed, tids, params)
            first = ids[0] // caseload
            therapists["aft_start_session"][first : first + len(aft_start)] = aft_start
        raw = simulate_cohort(
            params, ids, n_sessions, self.seed, record_events=False, therapists=therapists, keep_sessions=keep_sessions
        )
        return Cohort(raw, params)


def scaled(n: int, size_factor: float, minimum: int = 1) -> int:
    """A design's sample size scaled by ``size_factor`` (at least ``minimum``)."""
    return max(minimum, round(n * size_factor))
