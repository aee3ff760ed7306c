"""rupture-sim: alliance ruptures and their resolution in psychotherapy for personality disorders.

Start with ``simulate`` (the Python API) or the ``rupture-sim`` command. The
rules of the model live in ``simulation.model.rules``; ``docs/MODEL.md`` describes
them in the ODD protocol.
"""

from simulation.api import Results, resolve_parameters, simulate
from simulation.model.parameters import PARAMETERS, ParameterError, Parameters
from simulation.model.presets import POPULATIONS, THERAPISTS

__version__ = "0.1.0"

__all__ = [
    "PARAMETERS",
    "POPULATIONS",
    "THERAPISTS",
    "ParameterError",
    "Parameters",
    "Results",
    "__version__",
    "resolve_parameters",
    "simulate",
]
