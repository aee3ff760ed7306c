"""``rupture-sim warm-up``: compile the model's kernels once, at install time, so no first run waits.

Numba compiles the rules the first time they run and caches the machine code
(``model.kernel_cache``). The cohort engine (``simulate``, sweeps, studies) and the
agent view (Mesa, the teaching app) are separate compiled entry points; the warm-up
compiles both, each in its own process so that two cores compile at once.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

#: What each entry point needs compiled: a tiny run of it.
ENTRY_POINTS = ("cohort", "agents")


def compile_entry(entry: str) -> float:
    """Run a tiny simulation through ``entry`` (``cohort`` or ``agents``); return its seconds."""
    from simulation.api import simulate

    start = time.perf_counter()
    simulate(n_patients=2, n_sessions=2, seed=0, engine=entry)
    return time.perf_counter() - start


def warm_up(parallel: bool = True) -> dict[str, float]:
    """Compile (or load from the cache) every entry point; return the seconds each took."""
    if not parallel:
        return {entry: compile_entry(entry) for entry in ENTRY_POINTS}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(ENTRY_POINTS), mp_context=context) as pool:
        return dict(zip(ENTRY_POINTS, pool.map(compile_entry, ENTRY_POINTS), strict=True))
