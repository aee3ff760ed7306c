"""Cold start: seconds from a new process to the first result, with an empty kernel cache.

Each measurement is a child process (``python -c CODE``) whose ``RUPTURE_SIM_CACHE``
points at a fresh, empty folder, as on a new machine or after an edit of a compiled
module: it imports the package, compiles what the call needs and simulates a small
cohort. The wall time is what a user waits; the child's CPU time (``os.wait4``) is
less sensitive to other work on the machine. ``warm`` repeats the first call with the
cache the cold run left: the first result after the install-time warm-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

#: The first call of each measured entry point: the API's default engine, and the agent view
#: (what the teaching app and Mesa's ``batch_run`` run).
FIRST_CALLS = {
    "cohort": "from simulation.api import simulate; simulate(n_patients=20, n_sessions=5, seed=1)",
    "agents": "from simulation.api import simulate; simulate(n_patients=20, n_sessions=5, seed=1, engine='agents')",
}


def run_child(code: str, cache: str) -> dict[str, float]:
    """Run ``python -c code`` with the kernel cache in ``cache``; return its wall and CPU seconds."""
    env = {**os.environ, "RUPTURE_SIM_CACHE": cache}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the cold-start child failed: {stderr.strip()[-2000:]}")
    return {"wall_seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime, "said": stderr.strip()}


def measure_cold_start(calls: dict[str, str] | None = None) -> dict[str, Any]:
    """Cold and warm first calls of each entry point (``FIRST_CALLS``), each cold one in an empty cache.

    Returns:
        For each entry point: ``cold`` and ``warm`` (``wall_seconds``, ``cpu_seconds``, and ``said``,
        what the child printed on stderr: the compile notice when it compiled).
    """
    out: dict[str, Any] = {}
    for entry, code in (calls or FIRST_CALLS).items():
        with tempfile.TemporaryDirectory(prefix="rupture-cold-") as cache:
            cold = run_child(code, cache)
            warm = run_child(code, cache)
        out[entry] = {"cold": cold, "warm": warm}
    return out
