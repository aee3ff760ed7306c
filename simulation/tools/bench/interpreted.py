"""The rules run as plain Python, in a child process with ``NUMBA_DISABLE_JIT=1``.

Two measurements need the interpreted rules: the draw count (the random-number
functions the rules module calls are wrapped with counters while a small
cohort is simulated) and the Mesa agent view without its compiled kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from simulation.tools.bench.timing import throughput_row

#: The random-number functions ``simulation.model.rules`` imports and calls, counted by the draw count.
COUNTED_CALLS = ("session_key", "segment_key", "uniform", "normal", "choice")
#: Calls that are draws (hash of a segment key into a number); keys are counted but are not draws.
DRAW_CALLS = ("uniform", "normal", "choice")


def _count_child() -> None:
    """Entry point of the counting child: count the rules' random-number calls, print JSON.

    Reads a JSON object (``params``, ``n_patients``, ``n_sessions``, ``seed``) from
    ``sys.argv[1]``. Must run with ``NUMBA_DISABLE_JIT=1`` so that the compiled
    rules look their callees up in ``simulation.model.rules`` and ``simulation.model.session`` at call time.
    """
    warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the pure-Python hash
    from numba.core import config

    if not config.DISABLE_JIT:
        raise RuntimeError("the draw count needs NUMBA_DISABLE_JIT=1")
    import simulation.model.rules as rules
    import simulation.model.session as session
    from simulation.model.parameters import Parameters
    from simulation.run.engine import intake_patients, intake_therapists, simulate_cohort

    job = json.loads(sys.argv[1])
    params = Parameters(job["params"])
    ids = np.arange(job["n_patients"], dtype=np.int64)
    counts = dict.fromkeys(COUNTED_CALLS, 0)

    def counting(name: str) -> Callable[..., Any]:
        inner = getattr(rules, name)

        def wrapper(*args: Any) -> Any:
            counts[name] += 1
            return inner(*args)

        return wrapper

    for name in COUNTED_CALLS:  # the rules (intake, draws inside rules) and the session's steps
        wrapper = counting(name)
        for module in (rules, session):
            if hasattr(module, name):
                setattr(module, name, wrapper)
    start = time.perf_counter()
    raw = simulate_cohort(params, ids, job["n_sessions"], job["seed"], record_events=False, keep_sessions=False)
    total = dict(counts)
    for name in COUNTED_CALLS:
        counts[name] = 0
    intake_patients(job["seed"], ids, params)
    intake_therapists(job["seed"], np.unique(raw.therapist_ids), params)
    out = {
        "total": total,
        "intake": dict(counts),
        "dyad_sessions": int(raw.final["sessions_attended"].sum()),
        "patients": len(ids),
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(out))


def count_draws(params: Any, n_patients: int, n_sessions: int, seed: int) -> dict[str, Any]:
    """Count the random-number calls the model makes per dyad-session (fresh child process, no cache).

    Args:
        params: ``Parameters`` of the model.
        n_patients: Patients of the counted cohort (ids 0..n-1).
        n_sessions: Planned course length.
        seed: Root seed.

    Returns:
        ``per_dyad_session`` (draws: uniform + normal + choice), ``calls_per_dyad_session``
        (every counted call, intake included), ``session_calls_per_dyad_session`` (calls
        inside sessions only), ``intake_calls`` (intake of patients and therapists),
        ``dyad_sessions``, ``patients``, ``matches_compiled`` (whether the plain-Python
        run attended exactly the sessions the compiled engine does) and ``seconds``.

    Raises:
        RuntimeError: If the child fails.
    """
    from simulation.run.engine import simulate_cohort

    job = {"params": params.as_dict(), "n_patients": n_patients, "n_sessions": n_sessions, "seed": seed}
    child = _interpreted_child("_count_child", job, "the draw-count child")
    ds = child["dyad_sessions"]
    compiled = simulate_cohort(
        params, np.arange(n_patients), n_sessions, seed, record_events=False, keep_sessions=False
    )
    total, intake = child["total"], child["intake"]
    return {
        "per_dyad_session": sum(total[name] for name in DRAW_CALLS) / ds,
        "calls_per_dyad_session": {name: total[name] / ds for name in COUNTED_CALLS},
        "session_calls_per_dyad_session": {name: (total[name] - intake[name]) / ds for name in COUNTED_CALLS},
        "intake_calls": intake,
        "dyad_sessions": ds,
        "patients": child["patients"],
        "matches_compiled": int(compiled.final["sessions_attended"].sum()) == ds,
        "seconds": child["seconds"],
    }


def _mesa_python_child() -> None:
    """Entry point of a child that times the Mesa view with every rule run as plain Python.

    Reads a JSON object (``params``, ``n_patients``, ``n_sessions``, ``seed``) from
    ``sys.argv[1]``; must run with ``NUMBA_DISABLE_JIT=1``. Prints JSON with
    ``dyad_sessions`` and ``seconds``.
    """
    warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the pure-Python hash
    from simulation.model.parameters import Parameters
    from simulation.view.model import RuptureModel

    job = json.loads(sys.argv[1])
    model = RuptureModel(Parameters(job["params"]), range(job["n_patients"]), job["n_sessions"], job["seed"],
                         record_events=False)  # fmt: skip
    start = time.perf_counter()
    model.run()
    seconds = time.perf_counter() - start
    print(json.dumps({"dyad_sessions": sum(p.sessions_attended for p in model.patients), "seconds": seconds}))


def measure_mesa_python(params: Any, n_patients: int, n_sessions: int, seed: int) -> dict[str, Any]:
    """Dyad-sessions per second of the Mesa view with the rules interpreted (``NUMBA_DISABLE_JIT=1``).

    This is what "the same logic as Mesa agents in Python" costs: the agent view
    without the compiled kernel it normally calls.
    """
    job = {"params": params.as_dict(), "n_patients": n_patients, "n_sessions": n_sessions, "seed": seed}
    child = _interpreted_child("_mesa_python_child", job, "the interpreted Mesa child")
    return throughput_row(child["dyad_sessions"], [child["seconds"]])


def _interpreted_child(entry: str, job: dict[str, Any], what: str) -> dict[str, Any]:
    """Run ``<entry>`` of this module in a child with the rules as plain Python; return its JSON."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    code = f"from simulation.tools.bench.interpreted import {entry}; {entry}()"
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(job)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
