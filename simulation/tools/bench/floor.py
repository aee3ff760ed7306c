"""The floor: a compiled loop that draws only the keyed random numbers the model consumes.

No rule is evaluated, so no implementation of the rules can be faster than
this loop: the engine's ratio to it says how close the engine comes to the
cost of its random numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulation.model.keyed_random import choice, normal, segment_key, session_key, uniform


@njit(cache=True)
def _share(rate: float, t: int) -> int:
    """Calls for the t-th dyad-session so that the first T dyad-sessions make floor(T * rate) calls."""
    return int((t + 1) * rate) - int(t * rate)  # rate >= 0: truncation is floor


@njit(cache=True)
def floor_kernel(seed: int, patient_ids: np.ndarray, attended: np.ndarray, rates: np.ndarray) -> float:
    """Draw, for each attended session, as many keyed numbers as the model does, and sum them.

    Each dyad-session makes the counted number of ``session_key`` and
    ``segment_key`` calls and spreads its ``uniform``, ``normal`` and ``choice``
    draws evenly over its segment keys (fractional rates are spread over the
    dyad-sessions). The draws go into a few independent sums, so that the sums
    themselves do not become a chain of dependent additions slower than the draws.

    Args:
        seed: Root seed.
        patient_ids: Patient ids (int64).
        attended: Sessions attended by each patient (int64).
        rates: Calls per dyad-session in ``COUNTED_CALLS`` order (float64).

    Returns:
        The sum of all draws (returned so that the compiler keeps the work).
    """
    sum_u0, sum_u1, sum_n, sum_c = 0.0, 0.0, 0.0, 0
    t = 0
    for i in range(patient_ids.shape[0]):
        pid = patient_ids[i]
        for session in range(1, attended[i] + 1):
            n_session = _share(rates[0], t)
            n_segment = _share(rates[1], t)
            skey = session_key(seed, pid, session)
            for k in range(1, n_session):
                skey ^= session_key(seed, pid, session + (k << 20))
            groups = max(n_segment, 1)
            n_uniform, n_normal, n_choice = _share(rates[2], t), _share(rates[3], t), _share(rates[4], t)
            base_u, extra_u = n_uniform // groups, n_uniform % groups
            base_n, extra_n = n_normal // groups, n_normal % groups
            base_c, extra_c = n_choice // groups, n_choice % groups
            for j in range(groups):
                g = segment_key(skey, j) if n_segment > 0 else skey
                count = base_u + (j < extra_u)
                k = 0
                while k + 1 < count:
                    sum_u0 += uniform(g, k)
                    sum_u1 += uniform(g, k + 1)
                    k += 2
                if k < count:
                    sum_u0 += uniform(g, k)
                for k in range(base_n + (j < extra_n)):
                    sum_n += normal(g, 64 + k)
                for k in range(base_c + (j < extra_c)):
                    sum_c += choice(g, 128 + k, 3)
            t += 1
    return sum_u0 + sum_u1 + sum_n + sum_c
