"""Which model made a result: a fingerprint of the rules and the parameter defaults.

Resumable runs (sweeps, explore commands, the calibration) store it and refuse to
continue a folder that another version of the model started, which would mix two
models' numbers in one dataset.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from simulation.model.parameters import Parameters

#: The modules whose text is the model: its rules, the session schedule, random numbers and records.
MODEL_SOURCES = ("rules.py", "session.py", "keyed_random.py", "streams.py", "records.py", "taxonomy.py")


@cache
def model_fingerprint() -> str:
    """SHA-256 (hex) of every parameter default and the text of the model's modules (``MODEL_SOURCES``)."""
    digest = hashlib.sha256(json.dumps(Parameters().as_dict(), sort_keys=True).encode())
    here = Path(__file__).parent
    for name in MODEL_SOURCES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()
