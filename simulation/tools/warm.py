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
#: The compiled function of each entry point, whose cache index shows it was compiled.
ENTRY_KERNELS = {"cohort": "run_courses", "agents": "run_agent_session"}


def compiled_entries() -> set[str]:
    """Entry points whose kernels are in the cache already (their numba index files exist)."""
    from simulation.model.kernel_cache import CACHE_FOLDER

    if not CACHE_FOLDER.is_dir():
        return set()
    names = {path.name for path in CACHE_FOLDER.rglob("*.nbi")}
    return {entry for entry, kernel in ENTRY_KERNELS.items() if any(f".{kernel}-" in name for name in names)}


def compile_entry(entry: str) -> float:
    """Run a tiny simulation through ``entry`` (``cohort`` or ``agents``); return its seconds."""
    from simulation.api import simulate

    start = time.perf_counter()
    simulate(n_patients=2, n_sessions=2, seed=0, engine=entry)
    return time.perf_counter() - start


def _compile_in_worker(entry: str) -> float:
    """``compile_entry`` in a worker of ``warm_up``, whose parent has said what is compiling."""
    from simulation.model.kernel_cache import COMPILE_NOTICE

    COMPILE_NOTICE.announced = True
    return compile_entry(entry)


def warm_up(parallel: bool = True) -> dict[str, float]:
    """Compile every entry point not in the cache yet; return the seconds each took (none if all were)."""
    todo = [entry for entry in ENTRY_POINTS if entry not in compiled_entries()]
    if not parallel or len(todo) < 2:
        return {entry: compile_entry(entry) for entry in todo}
    from simulation.model.kernel_cache import COMPILE_NOTICE

    COMPILE_NOTICE.announce()  # once for both workers
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(todo), mp_context=context) as pool:
        return dict(zip(todo, pool.map(_compile_in_worker, todo), strict=True))
