"""The agent view for Mesa's own tools: a model built from plain keyword values.

Mesa's batch runner (and SolaraViz) build a model as ``Model(**keywords)``, each keyword a number or a name.
``CohortModel`` is ``RuptureModel`` built that way: a cohort size, a course length, a population and a
therapist preset, any parameter by name, and the root seed that fixes every random draw of a replicate.
``compat.batch_run`` runs it with Mesa's ``batch_run`` on any Mesa the view supports.
"""

from __future__ import annotations

import mesa

from simulation.model.parameters import Parameters
from simulation.model.presets import preset_values
from simulation.view.model import MODEL_REPORTERS, RuptureModel


class CohortModel(RuptureModel):
    """A cohort of ``n_patients`` courses as Mesa agents, from keyword values; one step is one week.

    Args:
        n_patients: Patients (ids 0 to ``n_patients`` - 1).
        n_sessions: Planned course length in sessions.
        population: Population preset (``simulation.POPULATIONS``).
        therapists: Therapist preset (``simulation.THERAPISTS``).
        seed: Root seed of the keyed random numbers: the same seed, the same replicate.
        record_events: Whether to keep the per-event records (off: a batch needs the weekly reporters only).
        **params: Further parameters by name (``rupture-sim params``); they win over both presets.

    Its DataCollector keeps the weekly model reporters only (``MODEL_REPORTERS``), one row per week in a batch.

    Raises:
        ParameterError: For an unknown preset or parameter, or a value out of range.
    """

    def __init__(
        self,
        n_patients: int = 60,
        n_sessions: int = 20,
        population: str = "mixed",
        therapists: str = "experienced",
        seed: int = 0,
        record_events: bool = False,
        **params: float,
    ) -> None:
        values = {**preset_values("population", population), **preset_values("therapist", therapists), **params}
        super().__init__(Parameters(values), range(int(n_patients)), n_sessions, seed, record_events)
        self.datacollector = mesa.DataCollector(model_reporters=dict(MODEL_REPORTERS))
