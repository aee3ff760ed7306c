"""Keyed random numbers (common random numbers) for the whole model.

Every random decision in the model is a pure function of
``(seed, patient, session, segment, stream)``: the key is hashed with the
SplitMix64 finaliser, so a draw does not depend on how many draws came before,
on who else is in the cohort, on how a cohort is split into chunks, or on
whether the agent view or the cohort engine runs the course. Two scenarios run
on the same seed therefore differ only where the scenario really differs.

The key is built in steps so that the hot loop hashes once per draw:
``session_key`` once per session, ``segment_key`` once per segment, then
``uniform(segment_key, stream)`` per decision.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulation import kernel_cache  # noqa: F401  (sets the cache folder before any @njit)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

#: Segment index used for draws made once per session, after the segments.
END_OF_SESSION = 1023
#: Segment index used for draws made once per course, before session 1.
INTAKE = 1022
#: Offset that keeps therapist keys apart from patient keys.
THERAPIST_KEY_OFFSET = 1 << 40


@njit(cache=True)
def mix(x: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective, well-avalanched 64-bit hash."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


@njit(cache=True)
def session_key(seed: int, unit: int, session: int) -> np.uint64:
    """Key of one session of one unit (a patient id, or an offset therapist id)."""
    h = mix(np.uint64(seed))
    h = mix(h ^ np.uint64(unit))
    return mix(h ^ np.uint64(session))


@njit(cache=True)
def segment_key(skey: np.uint64, segment: int) -> np.uint64:
    """Key of one segment inside a session (or INTAKE / END_OF_SESSION)."""
    return mix(skey ^ np.uint64(segment + 1))


@njit(cache=True)
def uniform(gkey: np.uint64, stream: int) -> float:
    """Uniform draw in [0, 1) for one named decision (stream) of a segment."""
    h = mix(gkey ^ (np.uint64(stream) * _MUL2))
    return np.float64(h >> _S11) * _TO_UNIT


@njit(cache=True)
def normal(gkey: np.uint64, stream: int) -> float:
    """Standard normal draw (Box-Muller on two sub-streams of one stream)."""
    u1 = uniform(gkey, 2 * stream + 1000)
    u2 = uniform(gkey, 2 * stream + 1001)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True)
def choice(gkey: np.uint64, stream: int, n: int) -> int:
    """Uniform integer in [0, n)."""
    return min(int(uniform(gkey, stream) * n), n - 1)
