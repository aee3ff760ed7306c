"""``run_benchmark``: every measurement on the same model, parameters and seed, and the targets."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from simulation.tools.bench.coldstart import measure_cold_start
from simulation.tools.bench.floor import floor_kernel
from simulation.tools.bench.interpreted import COUNTED_CALLS, count_draws, measure_mesa_python
from simulation.tools.bench.memory import SESSIONS_SWEEP_ESTIMATE, measure_memory
from simulation.tools.bench.sweeps import chunk_time, measure_sweep
from simulation.tools.bench.timing import dyad_sessions_of, throughput_row, timed_interleaved

#: Version of the JSON layout written by ``--json``.
FORMAT = 1
#: Keys of the dict ``run_benchmark`` returns (always all present; skipped parts are ``None``).
RESULT_KEYS = (
    "format", "created", "machine", "config", "draws", "throughput", "ratios", "memory", "cold_start", "targets",
)  # fmt: skip
#: Rows of ``result["throughput"]``, in the order they are printed.
THROUGHPUT_ROWS = (
    "engine_summary", "engine_sessions", "mesa", "mesa_python", "floor", "sweep_1_worker", "sweep_2_workers",
    "sweep_sessions_2_workers",
)  # fmt: skip
#: Keys of every row of ``result["throughput"]`` (a skipped row is ``None``).
THROUGHPUT_KEYS = ("dyad_sessions", "seconds", "seconds_all", "per_second", "workers", "per_core", "ratio_to_engine")
#: Workers of the parallel sweep (the machine the targets were set for has 2 cores).
PARALLEL_WORKERS = 2
#: Targets: (key in ``result["ratios"]``, ``"peak_rss_bytes"`` or ``"cold_start_seconds"``, comparison,
#: value, meaning).
TARGETS = {
    "engine_per_core": (">=", 2_000_000.0, "engine (summary mode) dyad-sessions per second per core"),
    "engine_over_mesa": ("<=", 40.0, "engine / Mesa agent view (compiled rules)"),
    "engine_over_mesa_python": (">=", 100.0, "engine / Mesa agent view with the rules run as Python"),
    "engine_over_floor": (">=", 0.25, "engine / keyed-draw floor (1 is the best possible)"),
    "sweep_sessions_over_summary": (">=", 0.5, "sweep with session rows, 2 workers / engine summary mode"),
    "sweep_speedup_2_workers": (">=", 1.7, "sweep with 2 workers / 1 worker"),
    "peak_rss_bytes": ("<", 1e9, "peak memory of a 10-million dyad-session sweep with session tables"),
    "cold_start_seconds": ("<=", 15.0, "first simulate() in a new process, empty kernel cache"),
}


def _machine() -> dict[str, Any]:
    import mesa
    import numba

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
    }


def run_benchmark(
    n_patients: int = 4000,
    n_sessions: int = 30,
    mesa_patients: int = 300,
    count_patients: int = 100,
    repeats: int = 5,
    seed: int = 1,
    population: str = "mixed",
    therapists: str = "experienced",
    sweep: bool = True,
    sweep_seconds: float = 10.0,
    sweep_patients: int = 1000,
    sweep_chunk_replications: int = 10,
    sweep_repeats: int = 3,
    sweep_backend: str = "processes",
    memory: bool = True,
    memory_dyad_sessions: int = 10_000_000,
    memory_patients: int = 1000,
    memory_chunk_replications: int = 10,
    cold_start: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every way of running the model on the same work (see the module docstring).

    Args:
        n_patients: Cohort of the engine and floor measurements (ids 0..n-1).
        n_sessions: Planned course length of every measurement.
        mesa_patients: Cohort of the Mesa measurement (the first ids of the cohort).
        count_patients: Cohort of the draw count (pure Python: keep it small).
        repeats: Timings of each in-process measurement; the median is reported.
        seed: Root seed of the cohorts.
        population: Population preset.
        therapists: Therapist preset.
        sweep: Whether to measure sweep scaling (1 and 2 workers).
        sweep_seconds: About how long the big 1-worker sweep should run.
        sweep_patients: Patients per sweep run.
        sweep_chunk_replications: Runs per sweep chunk.
        sweep_repeats: Pairs of sweeps per worker count.
        sweep_backend: Backend of the scaling sweeps (``processes``; ``inprocess`` only for tests).
        memory: Whether to measure the peak memory of a sweep with session tables.
        memory_dyad_sessions: Size of that sweep in dyad-sessions.
        memory_patients: Patients per run of that sweep.
        memory_chunk_replications: Runs per chunk of that sweep.
        cold_start: Whether to time the first call in a new process with an empty kernel cache.
        progress: Called with a short message before each step (e.g. ``print``).

    Returns:
        A JSON-able dict with the keys ``RESULT_KEYS``: ``throughput`` has the rows
        ``THROUGHPUT_ROWS`` (each with ``THROUGHPUT_KEYS``; ``None`` if skipped),
        ``ratios`` the engine's ratios and the sweep speedup, ``draws`` the counted
        draws, ``memory`` the memory run (or ``None``), ``cold_start`` the first calls
        in a new process (``coldstart.measure_cold_start``, or ``None``), ``targets``
        each target with its value and whether it is met.
    """
    from simulation.api import resolve_parameters
    from simulation.run.engine import simulate_cohort
    from simulation.view.model import RuptureModel

    say = progress or (lambda message: None)
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be at least 1 (got {n_sessions})")
    params = resolve_parameters(population, therapists)
    ids = np.arange(n_patients, dtype=np.int64)
    mesa_ids = ids[: max(1, min(mesa_patients, n_patients))]
    config = {
        "n_patients": n_patients,
        "n_sessions": n_sessions,
        "mesa_patients": len(mesa_ids),
        "count_patients": count_patients,
        "repeats": repeats,
        "seed": seed,
        "population": population,
        "therapists": therapists,
        "sweep": sweep,
        "sweep_seconds": sweep_seconds,
        "sweep_patients": sweep_patients,
        "sweep_chunk_replications": sweep_chunk_replications,
        "sweep_repeats": sweep_repeats,
        "sweep_backend": sweep_backend,
        "memory": memory,
        "memory_dyad_sessions": memory_dyad_sessions,
        "memory_patients": memory_patients,
        "memory_chunk_replications": memory_chunk_replications,
        "cold_start": cold_start,
    }
    result: dict[str, Any] = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": _machine(),
        "config": config,
    }

    say("warming up the compiled kernels")
    simulate_cohort(params, ids[:4], 3, seed, record_events=False, keep_sessions=False)
    simulate_cohort(params, ids[:4], 3, seed, record_events=False, keep_sessions=True)
    RuptureModel(params, ids[:4], 3, seed, record_events=False).run()
    floor_kernel(seed, ids[:1], np.ones(1, dtype=np.int64), np.ones(len(COUNTED_CALLS)))

    say(f"counting draws per dyad-session ({count_patients} patients, rules as plain Python)")
    draws = count_draws(params, count_patients, n_sessions, seed)
    result["draws"] = draws

    throughput: dict[str, Any] = dict.fromkeys(THROUGHPUT_ROWS)
    summary_raw = simulate_cohort(params, ids, n_sessions, seed, record_events=False, keep_sessions=False)
    attended = summary_raw.final["sessions_attended"].astype(np.int64)
    rates = np.array([draws["calls_per_dyad_session"][name] for name in COUNTED_CALLS])

    def engine(keep: bool) -> Callable[[], int]:
        return lambda: dyad_sessions_of(
            simulate_cohort(params, ids, n_sessions, seed, record_events=False, keep_sessions=keep)
        )

    def agents() -> int:
        model = RuptureModel(params, mesa_ids, n_sessions, seed, record_events=False)
        model.run()
        return sum(patient.sessions_attended for patient in model.patients)

    def floor() -> int:
        floor_kernel(seed, ids, attended, rates)
        return int(attended.sum())

    say(
        f"timing engine (summary, session rows), Mesa ({len(mesa_ids)} patients) and floor "
        f"({n_patients} patients x {n_sessions} sessions), {repeats} interleaved repeats"
    )
    timed = timed_interleaved(
        {"engine_summary": engine(False), "engine_sessions": engine(True), "mesa": agents, "floor": floor}, repeats
    )
    for key, (count, seconds) in timed.items():
        throughput[key] = throughput_row(count, seconds)
    say(f"timing the Mesa view with the rules run as plain Python ({count_patients} patients)")
    throughput["mesa_python"] = measure_mesa_python(params, count_patients, n_sessions, seed)

    sessions_per_patient = attended.sum() / len(ids)
    if sweep:
        say("sweep: timing three chunks in this process to size the scaling sweeps")
        chunk_seconds = chunk_time(sweep_patients, n_sessions, sweep_chunk_replications, population, therapists, seed)
        chunks = max(2, math.ceil(sweep_seconds / max(chunk_seconds, 1e-6)) + 1)  # the 1-worker run lasts >= that
        chunks += chunks % PARALLEL_WORKERS
        for workers, key in ((1, "sweep_1_worker"), (PARALLEL_WORKERS, "sweep_2_workers")):
            say(f"sweep, summary tables, {workers} worker(s), {chunks} chunks ({sweep_backend} backend)")
            throughput[key] = measure_sweep(
                workers, chunks, sweep_patients, n_sessions, sweep_chunk_replications, sweep_repeats,
                sweep_backend, population, therapists, seed,
            )  # fmt: skip
        say(f"sweep, session rows kept, {PARALLEL_WORKERS} workers, {chunks} chunks ({sweep_backend} backend)")
        throughput["sweep_sessions_2_workers"] = measure_sweep(
            PARALLEL_WORKERS, chunks, sweep_patients, n_sessions, sweep_chunk_replications, sweep_repeats,
            sweep_backend, population, therapists, seed, tables=("patients", "sessions"),
        )  # fmt: skip

    engine_rate = throughput["engine_summary"]["per_second"]
    for row in throughput.values():
        if row is not None:
            row["ratio_to_engine"] = row["per_second"] / engine_rate
    result["throughput"] = throughput
    ratios = {
        "engine_per_core": throughput["engine_summary"]["per_core"],
        "engine_over_mesa": engine_rate / throughput["mesa"]["per_second"],
        "engine_over_mesa_python": engine_rate / throughput["mesa_python"]["per_second"],
        "engine_over_floor": engine_rate / throughput["floor"]["per_second"],
        "engine_sessions_over_summary": throughput["engine_sessions"]["per_second"] / engine_rate,
        "sweep_sessions_over_summary": None,
        "sweep_speedup_2_workers": None,
    }
    if sweep:
        ratios["sweep_speedup_2_workers"] = (
            throughput["sweep_2_workers"]["per_second"] / throughput["sweep_1_worker"]["per_second"]
        )
        ratios["sweep_sessions_over_summary"] = throughput["sweep_sessions_2_workers"]["per_second"] / engine_rate
    result["ratios"] = ratios

    result["memory"] = None
    if memory:
        estimate = memory_dyad_sessions / SESSIONS_SWEEP_ESTIMATE
        say(f"memory: sweep of {memory_dyad_sessions:,} dyad-sessions with session tables (about {estimate:.0f} s)")
        result["memory"] = measure_memory(
            memory_dyad_sessions, sessions_per_patient, memory_patients, n_sessions, memory_chunk_replications,
            population, therapists, seed,
        )  # fmt: skip

    result["cold_start"] = None
    if cold_start:
        say("cold start: the first simulate() and agent-view run in new processes with empty kernel caches")
        result["cold_start"] = measure_cold_start()

    values = dict(ratios)
    values["peak_rss_bytes"] = result["memory"]["peak_rss_bytes"] if result["memory"] else None
    values["cold_start_seconds"] = result["cold_start"]["cohort"]["cold"]["wall_seconds"] if cold_start else None
    result["targets"] = {
        name: {
            "target": f"{op} {bound:g}",
            "value": values[name],
            "met": _met(values[name], op, bound),
            "meaning": meaning,
        }
        for name, (op, bound, meaning) in TARGETS.items()
    }
    return result


def _met(value: float | None, op: str, bound: float) -> bool | None:
    """Whether ``value`` meets a target (None when skipped or only a direction)."""
    if value is None:
        return None
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
