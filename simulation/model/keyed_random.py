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

from simulation.model.kernel_cache import njit  # (also sets the cache folder before any @njit)

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
#: Salt of continuation keys, so that a continuation number is never read as a session or segment.
_CONTINUATION = np.uint64(0xD1B54A32D192ED03)


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
def continuation_key(skey: np.uint64, continuation: int) -> np.uint64:
    """Key of a session in continuation ``continuation`` (> 0) of a fork: another future of the same past.

    ``session.session_keys`` uses it for the draws after the fork segment only,
    so every continuation shares the course up to the fork; continuation 0 is the
    original's own key (never passed here).
    """
    return mix(skey ^ mix(np.uint64(continuation) ^ _CONTINUATION))


@njit(cache=True)
def segment_key(skey: np.uint64, segment: int) -> np.uint64:
    """Key of one segment inside a session (or INTAKE / END_OF_SESSION)."""
    return mix(skey ^ np.uint64(segment + 1))


@njit(cache=True)
def uniform(gkey: np.uint64, stream: int) -> float:
    """Uniform draw in [0, 1) for one named decision (stream) of a segment."""
    h = mix(gkey ^ (np.uint64(stream) * _MUL2))
    return np.float64(h >> _S11) * _TO_UNIT


_MASK21 = np.uint64(0x1FFFFF)
_S21 = np.uint64(21)
_S42 = np.uint64(42)
_TO_UNIT21 = 1.0 / 2097152.0  # 2**-21


@njit(cache=True)
def segment_uniforms(gkey: np.uint64) -> tuple[float, float, float]:
    """Three uniforms in (0, 1), 21 bits each (resolution 5e-7), from the bits of a segment key.

    For the three decisions every segment makes (the therapist's work, the
    patient's marker, collaboration). A segment key is itself a full SplitMix64
    output, so its bits are used directly; every other draw of the segment
    hashes the key again with its stream, which makes it independent of these.
    """
    u1 = (np.float64(gkey & _MASK21) + 0.5) * _TO_UNIT21
    u2 = (np.float64((gkey >> _S21) & _MASK21) + 0.5) * _TO_UNIT21
    u3 = (np.float64((gkey >> _S42) & _MASK21) + 0.5) * _TO_UNIT21
    return u1, u2, u3


# Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425

# The normal draws are inlined into their callers: a call would cost more than the arithmetic, since
# every floating-point register the caller holds must be saved around it. LLVM inlines them
# (forceinline): compiled once, where numba's inline="always" compiled them again at each of their
# twenty call sites, a fifth of a first compile. The tails (5% of the draws) may stay a call.


@njit(cache=True)
def _normal_tail(u: float) -> float:
    q = math.sqrt(-2.0 * math.log(u))
    num = ((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]
    return num / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)


@njit(cache=True, forceinline=True)
def normal_quantile(u: float) -> float:
    """Standard normal quantile of u in (0, 1) (Acklam's algorithm): one draw per normal."""
    if u < _P_LOW:
        return _normal_tail(u)
    if u > 1.0 - _P_LOW:
        return -_normal_tail(1.0 - u)
    q = u - 0.5
    r = q * q
    num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
    return num / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)


@njit(cache=True, forceinline=True)
def normal(gkey: np.uint64, stream: int) -> float:
    """Standard normal draw for one named decision (inverse CDF of one keyed uniform)."""
    h = mix(gkey ^ (np.uint64(stream) * _MUL2))
    return normal_quantile((np.float64(h >> _S11) + 0.5) * _TO_UNIT)


@njit(cache=True)
def choice(gkey: np.uint64, stream: int, n: int) -> int:
    """Uniform integer in [0, n)."""
    return min(int(uniform(gkey, stream) * n), n - 1)
