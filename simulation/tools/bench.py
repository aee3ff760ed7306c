"""Benchmark of the simulation: how many dyad-sessions per second each way of running the model manages.

One call of ``run_benchmark`` measures, on the same model, parameters and seed:

* ``engine_summary``: the cohort engine in summary mode (``keep_sessions=False,
  record_events=False``), what sweeps use;
* ``engine_sessions``: the cohort engine keeping one row per session;
* ``mesa``: the Mesa agent view (``model.RuptureModel``) on a smaller cohort;
* ``floor``: a compiled loop that only draws the keyed random numbers the model
  consumes per dyad-session (the same ``session_key``, ``segment_key``,
  ``uniform``, ``normal`` and ``choice`` calls, summed so nothing is dropped);
  no rule is evaluated, so no implementation of the rules can be faster;
* ``sweep_1_worker`` and ``sweep_2_workers``: a sweep that keeps only the summary
  tables, on the ``processes`` backend, measured without process start-up;
* ``memory``: the peak resident memory of a sweep of 10 million dyad-sessions
  that writes the per-session table, run in a child process.

A dyad-session is one attended session of one patient with their therapist; the
counts are the actual sessions (``sessions_attended``), so dropout is accounted for.
The number of draws per dyad-session is counted afresh in every run: a small
cohort is simulated in a child process with ``NUMBA_DISABLE_JIT=1`` (the rules are
plain Python there) while the random-number functions the rules module calls are
wrapped with counters.

``rupture-sim bench`` calls ``run`` (arguments from ``add_arguments``);
``python -m simulation.tools.bench`` works too. ``benchmarks/README.md`` explains the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from simulation.model.keyed_random import choice, normal, segment_key, session_key, uniform

#: Version of the JSON layout written by ``--json``.
FORMAT = 1
#: Keys of the dict ``run_benchmark`` returns (always all present; skipped parts are ``None``).
RESULT_KEYS = ("format", "created", "machine", "config", "draws", "throughput", "ratios", "memory", "targets")
#: Rows of ``result["throughput"]``, in the order they are printed.
THROUGHPUT_ROWS = (
    "engine_summary", "engine_sessions", "mesa", "mesa_python", "floor", "sweep_1_worker", "sweep_2_workers",
)  # fmt: skip
#: Keys of every row of ``result["throughput"]`` (a skipped row is ``None``).
THROUGHPUT_KEYS = ("dyad_sessions", "seconds", "seconds_all", "per_second", "workers", "per_core", "ratio_to_engine")
#: The random-number functions ``simulation.model.rules`` imports and calls, counted by the draw count.
COUNTED_CALLS = ("session_key", "segment_key", "uniform", "normal", "choice")
#: Calls that are draws (hash of a segment key into a number); keys are counted but are not draws.
DRAW_CALLS = ("uniform", "normal", "choice")
#: Workers of the parallel sweep (the machine the targets were set for has 2 cores).
PARALLEL_WORKERS = 2
#: Targets: (key in ``result["ratios"]`` or ``"peak_rss_bytes"``, comparison, value, meaning); "->" is
#: a direction to approach, not a pass/fail line.
TARGETS = {
    "engine_per_core": (">=", 2_000_000.0, "engine (summary mode) dyad-sessions per second per core"),
    "engine_over_mesa": (">=", 100.0, "engine / Mesa agent view (compiled rules)"),
    "engine_over_mesa_python": (">=", 100.0, "engine / Mesa agent view with the rules run as Python"),
    "engine_over_floor": ("->", 1.0, "engine / keyed-draw floor (1 is the best possible)"),
    "sweep_speedup_2_workers": (">=", 1.7, "sweep with 2 workers / 1 worker"),
    "peak_rss_bytes": ("<", 1e9, "peak memory of a 10-million dyad-session sweep with session tables"),
}
#: Throughput of a sweep that writes session tables, for the memory run's time estimate (dyad-sessions/s).
SESSIONS_SWEEP_ESTIMATE = 340_000


# ----------------------------------------------------------------------------------------------
# The floor: keyed draws only
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Counting the draws (in a child process, rules as plain Python)
# ----------------------------------------------------------------------------------------------
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
    return _row(child["dyad_sessions"], [child["seconds"]])


def _interpreted_child(entry: str, job: dict[str, Any], what: str) -> dict[str, Any]:
    """Run ``simulation.bench.<entry>`` in a child with the rules as plain Python; return its JSON."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    code = f"from simulation.tools.bench import {entry}; {entry}()"
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(job)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# Timing helpers
# ----------------------------------------------------------------------------------------------
def _timed_interleaved(work: dict[str, Callable[[], int]], repeats: int) -> dict[str, tuple[int, list[float]]]:
    """Time each piece of work ``repeats`` times, taking turns, so that a slow phase of a noisy machine hits all.

    Each callable returns the number of dyad-sessions it simulated, which must
    not change between repeats.

    Returns:
        For each key, (dyad-sessions, seconds of every repeat).
    """
    out: dict[str, tuple[int, list[float]]] = {key: (0, []) for key in work}
    for _ in range(repeats):
        for key, fn in work.items():
            start = time.perf_counter()
            n = fn()
            elapsed = time.perf_counter() - start
            count, seconds = out[key]
            if seconds and n != count:
                raise RuntimeError(f"the benchmarked work of {key} changed between repeats ({count} vs {n})")
            out[key] = (int(n), [*seconds, elapsed])
    return out


def _row(dyad_sessions: int, seconds: list[float], workers: int = 1) -> dict[str, Any]:
    """A throughput row from repeated timings (``ratio_to_engine`` is filled in later)."""
    median = statistics.median(seconds)
    per_second = dyad_sessions / median
    return {
        "dyad_sessions": int(dyad_sessions),
        "seconds": median,
        "seconds_all": [round(s, 6) for s in seconds],
        "per_second": per_second,
        "workers": workers,
        "per_core": per_second / workers,
        "ratio_to_engine": None,
    }


def _attended(raw: Any) -> int:
    return int(raw.final["sessions_attended"].sum())


# ----------------------------------------------------------------------------------------------
# Sweeps
# ----------------------------------------------------------------------------------------------
def sweep_spec_text(
    name: str,
    n_patients: int,
    n_sessions: int,
    replications: int,
    chunk_replications: int,
    tables: Sequence[str],
    population: str,
    therapists: str,
    seed: int,
) -> str:
    """TOML text of a one-point sweep spec (for ``simulation.sweep.spec.parse_spec``)."""
    return (
        f'name = "{name}"\npopulation = "{population}"\ntherapists = "{therapists}"\n'
        f"n_patients = {n_patients}\nn_sessions = {n_sessions}\nreplications = {replications}\n"
        f"chunk_replications = {chunk_replications}\nseed = {seed}\ntables = {json.dumps(list(tables))}\n"
    )


def run_timed_sweep(spec_text: str, backend: str, workers: int) -> dict[str, float]:
    """Run a sweep into a temporary folder; return its wall seconds, dyad-sessions and chunk seconds (sum, fastest)."""
    from simulation.sweep.runner import run_sweep
    from simulation.sweep.spec import parse_spec

    spec = parse_spec(spec_text, origin="bench")
    with tempfile.TemporaryDirectory(prefix="rupture-bench-") as tmp:
        start = time.perf_counter()
        manifest = run_sweep(spec, Path(tmp) / "sweep", backend=backend, workers=workers, quiet=True)
        wall = time.perf_counter() - start
    records = manifest["chunks"].values()
    return {
        "wall_seconds": wall,
        "dyad_sessions": sum(record["dyad_sessions"] for record in records),
        "chunk_seconds": manifest["compute_seconds"],
        "fastest_chunk_seconds": min(record["seconds"] for record in records),
    }


def chunk_time(
    n_patients: int,
    n_sessions: int,
    chunk_replications: int,
    population: str = "mixed",
    therapists: str = "experienced",
    seed: int = 0,
) -> float:
    """Seconds one summary-table chunk takes once warm (the fastest of a three-chunk in-process sweep)."""
    text = sweep_spec_text(
        "bench_probe", n_patients, n_sessions, 3 * chunk_replications, chunk_replications, ["patients"],
        population, therapists, seed,
    )  # fmt: skip
    return run_timed_sweep(text, "inprocess", 1)["fastest_chunk_seconds"]


def measure_sweep(
    workers: int,
    chunks: int,
    n_patients: int,
    n_sessions: int,
    chunk_replications: int,
    repeats: int,
    backend: str = "processes",
    population: str = "mixed",
    therapists: str = "experienced",
    seed: int = 0,
) -> dict[str, Any]:
    """Dyad-sessions per second of a summary-table sweep, without process start-up.

    Runs a small sweep (one chunk per worker) and a big one (``chunks`` chunks);
    both pay the same start-up (spawning, imports, loading the compiled kernels,
    the first chunk of each worker), so the extra dyad-sessions of the big sweep
    over its extra wall time is the throughput of the running workers.

    Args:
        workers: Worker processes.
        chunks: Chunks of the big sweep (a multiple of ``workers`` balances the load).
        n_patients: Patients per run.
        n_sessions: Planned course length.
        chunk_replications: Runs per chunk.
        repeats: Pairs of sweeps to run; the median wall times are used.
        backend: Sweep backend.
        population: Population preset.
        therapists: Therapist preset.
        seed: Root seed of the sweep spec.

    Returns:
        A throughput row plus ``wall_seconds_small``, ``wall_seconds_big``,
        ``with_startup_per_second`` (big sweep, start-up included), ``chunks``,
        ``chunk_replications`` and ``n_patients``.
    """
    small_chunks = workers
    chunks = max(chunks, small_chunks + workers)
    texts = {}
    for size, n in (("small", small_chunks), ("big", chunks)):
        texts[size] = sweep_spec_text(
            f"bench_{size}", n_patients, n_sessions, n * chunk_replications, chunk_replications, ["patients"],
            population, therapists, seed,
        )  # fmt: skip
    small, big = [], []
    for _ in range(repeats):
        small.append(run_timed_sweep(texts["small"], backend, workers))
        big.append(run_timed_sweep(texts["big"], backend, workers))
    t_small = statistics.median(r["wall_seconds"] for r in small)
    t_big = statistics.median(r["wall_seconds"] for r in big)
    extra = big[0]["dyad_sessions"] - small[0]["dyad_sessions"]
    row = _row(extra, [b["wall_seconds"] - s["wall_seconds"] for b, s in zip(big, small, strict=True)], workers)
    row["seconds"] = t_big - t_small  # difference of the medians, not the median of the differences
    row["per_second"] = extra / max(row["seconds"], 1e-9)
    row["per_core"] = row["per_second"] / workers
    row.update(
        wall_seconds_small=t_small,
        wall_seconds_big=t_big,
        with_startup_per_second=big[0]["dyad_sessions"] / t_big,
        chunks=chunks,
        chunk_replications=chunk_replications,
        n_patients=n_patients,
        backend=backend,
    )
    return row


# ----------------------------------------------------------------------------------------------
# Memory (child process, in-process backend: one process holds everything)
# ----------------------------------------------------------------------------------------------
def _rss_peak_now() -> int:
    """Peak resident memory of this process so far, in bytes (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _memory_child() -> None:
    """Entry point of the memory child: warm up, run the sweep in-process, write a JSON report.

    Reads a JSON object (``spec``, ``folder``, ``report``) from ``sys.argv[1]``.
    """
    from simulation.run.api import resolve_parameters
    from simulation.run.engine import simulate_cohort
    from simulation.sweep.runner import run_sweep
    from simulation.sweep.spec import parse_spec

    job = json.loads(sys.argv[1])
    spec = parse_spec(job["spec"], origin="bench")
    simulate_cohort(resolve_parameters(), np.arange(2), 2, 0, record_events=False)  # load the kernels
    baseline = _rss_peak_now()
    start = time.perf_counter()
    manifest = run_sweep(spec, Path(job["folder"]), backend="inprocess", workers=1, quiet=True)
    report = {
        "seconds": time.perf_counter() - start,
        "dyad_sessions": sum(record["dyad_sessions"] for record in manifest["chunks"].values()),
        "session_rows": sum(record["tables"]["sessions"]["rows"] for record in manifest["chunks"].values()),
        "baseline_rss_bytes": baseline,
        "self_peak_rss_bytes": _rss_peak_now(),
    }
    Path(job["report"]).write_text(json.dumps(report))


def measure_memory(
    dyad_sessions: int,
    sessions_per_patient: float,
    n_patients: int,
    n_sessions: int,
    chunk_replications: int,
    population: str = "mixed",
    therapists: str = "experienced",
    seed: int = 0,
) -> dict[str, Any]:
    """Peak resident memory of a sweep writing the patients and sessions tables, in a child process.

    The child runs the sweep with the in-process backend, so its own peak is
    the whole sweep's; it is read with ``os.wait4`` for exactly that child.

    Args:
        dyad_sessions: About how many dyad-sessions to simulate.
        sessions_per_patient: Mean attended sessions per patient (sizes the replications).
        n_patients: Patients per run.
        n_sessions: Planned course length.
        chunk_replications: Runs per chunk (what one chunk holds in memory).
        population: Population preset.
        therapists: Therapist preset.
        seed: Root seed of the spec.

    Returns:
        ``peak_rss_bytes`` (the child's maximum resident set), ``baseline_rss_bytes``
        (after imports and loading the kernels), ``dyad_sessions``, ``session_rows``,
        ``seconds`` (the sweep), ``wall_seconds`` (the child), ``replications``,
        ``chunk_replications``, ``n_patients`` and ``per_second``.

    Raises:
        RuntimeError: If the child fails.
    """
    replications = max(1, math.ceil(dyad_sessions / max(sessions_per_patient * n_patients, 1e-9)))
    chunk_replications = min(chunk_replications, replications)
    text = sweep_spec_text(
        "bench_memory", n_patients, n_sessions, replications, chunk_replications, ["patients", "sessions"],
        population, therapists, seed,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rupture-bench-mem-") as tmp:
        job = {"spec": text, "folder": str(Path(tmp) / "sweep"), "report": str(Path(tmp) / "report.json")}
        code = "from simulation.tools.bench import _memory_child; _memory_child()"
        with open(Path(tmp) / "stderr.txt", "w+") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", code, json.dumps(job)], stdout=subprocess.DEVNULL, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            message = err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"the memory child failed: {message.strip()[-2000:]}")
        report = json.loads(Path(job["report"]).read_text())
    peak = int(usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024)
    return {
        "peak_rss_bytes": peak,
        "baseline_rss_bytes": report["baseline_rss_bytes"],
        "dyad_sessions": report["dyad_sessions"],
        "session_rows": report["session_rows"],
        "seconds": report["seconds"],
        "wall_seconds": wall,
        "per_second": report["dyad_sessions"] / report["seconds"],
        "replications": replications,
        "chunk_replications": chunk_replications,
        "n_patients": n_patients,
    }


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------
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
        progress: Called with a short message before each step (e.g. ``print``).

    Returns:
        A JSON-able dict with the keys ``RESULT_KEYS``: ``throughput`` has the rows
        ``THROUGHPUT_ROWS`` (each with ``THROUGHPUT_KEYS``; ``None`` if skipped),
        ``ratios`` the engine's ratios and the sweep speedup, ``draws`` the counted
        draws, ``memory`` the memory run (or ``None``), ``targets`` each target with
        its value and whether it is met.
    """
    from simulation.run.api import resolve_parameters
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
        return lambda: _attended(
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
    timed = _timed_interleaved(
        {"engine_summary": engine(False), "engine_sessions": engine(True), "mesa": agents, "floor": floor}, repeats
    )
    for key, (count, seconds) in timed.items():
        throughput[key] = _row(count, seconds)
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
        "sweep_speedup_2_workers": None,
    }
    if sweep:
        ratios["sweep_speedup_2_workers"] = (
            throughput["sweep_2_workers"]["per_second"] / throughput["sweep_1_worker"]["per_second"]
        )
    result["ratios"] = ratios

    result["memory"] = None
    if memory:
        estimate = memory_dyad_sessions / SESSIONS_SWEEP_ESTIMATE
        say(f"memory: sweep of {memory_dyad_sessions:,} dyad-sessions with session tables (about {estimate:.0f} s)")
        result["memory"] = measure_memory(
            memory_dyad_sessions, sessions_per_patient, memory_patients, n_sessions, memory_chunk_replications,
            population, therapists, seed,
        )  # fmt: skip

    values = dict(ratios)
    values["peak_rss_bytes"] = result["memory"]["peak_rss_bytes"] if result["memory"] else None
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
    if value is None or op == "->":
        return None
    return value >= bound if op == ">=" else value < bound


# ----------------------------------------------------------------------------------------------
# Report and command line
# ----------------------------------------------------------------------------------------------
_LABELS = {
    "engine_summary": "engine, summary mode",
    "engine_sessions": "engine, session rows kept",
    "mesa": "Mesa agent view",
    "mesa_python": "Mesa view, rules as Python",
    "floor": "floor (keyed draws only)",
    "sweep_1_worker": "sweep, 1 worker",
    "sweep_2_workers": "sweep, 2 workers",
}


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_report(result: dict[str, Any]) -> str:
    """The results as a small text table followed by the ratios, targets and memory."""
    lines = [f"{'':28}{'dyad-sessions/s':>16}{'per core':>14}{'ratio to engine':>17}{'dyad-sessions':>15}"]
    for key in THROUGHPUT_ROWS:
        row = result["throughput"].get(key)
        if row is None:
            lines.append(f"{_LABELS[key]:28}{'skipped':>16}")
            continue
        lines.append(
            f"{_LABELS[key]:28}{row['per_second']:>16,.0f}{row['per_core']:>14,.0f}"
            f"{row['ratio_to_engine']:>17.3f}{row['dyad_sessions']:>15,}"
        )
    draws = result["draws"]
    calls = ", ".join(f"{k} {v:.2f}" for k, v in draws["calls_per_dyad_session"].items())
    lines += ["", f"draws per dyad-session: {draws['per_dyad_session']:.2f} ({calls})"]
    lines.append("")
    for name, target in result["targets"].items():
        value = target["value"]
        if name == "peak_rss_bytes":
            shown = "skipped" if value is None else f"{value / 1e6:,.0f} MB"
            size = result["config"]["memory_dyad_sessions"]
            label = f"peak memory ({size:,} dyad-sessions, session tables)"
        else:
            shown = "skipped" if value is None else f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
            label = target["meaning"]
        met = {True: "met", False: "NOT met", None: ""}[target["met"]]
        lines.append(f"{label:62}{shown:>14}   target {target['target']:<12}{met}")
    mem = result["memory"]
    if mem is not None:
        lines.append(
            f"memory sweep: {mem['dyad_sessions']:,} dyad-sessions in {mem['seconds']:.1f} s "
            f"({mem['per_second']:,.0f}/s), baseline {mem['baseline_rss_bytes'] / 1e6:,.0f} MB, "
            f"{mem['replications']} runs of {mem['n_patients']} patients, {mem['chunk_replications']} per chunk"
        )
    return "\n".join(lines)


def _whole(low: int) -> Callable[[str], int]:
    """Argument type: a whole number of at least ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {low} (got {text!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {low} (got {value})")
        return value

    return parse


_positive = _whole(1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (got {text!r})") from None
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds (got {value:g})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``rupture-sim bench`` to ``parser``."""
    parser.add_argument("--patients", type=_positive, default=4000, help="engine cohort (default: 4000)")
    parser.add_argument("--sessions", type=_positive, default=30, help="planned sessions per course (default: 30)")
    parser.add_argument("--mesa-patients", type=_positive, default=300, help="Mesa cohort (default: 300)")
    parser.add_argument("--count-patients", type=_positive, default=100, help="cohort of the draw count (default: 100)")
    parser.add_argument("--repeats", type=_positive, default=5, help="timings per measurement (default: 5)")
    parser.add_argument("--seed", type=_whole(0), default=1, help="root seed (default: 1)")
    parser.add_argument("--population", default="mixed", help="population preset (default: mixed)")
    parser.add_argument("--therapists", default="experienced", help="therapist preset (default: experienced)")
    parser.add_argument(
        "--sweep", action=argparse.BooleanOptionalAction, default=True, help="measure sweep scaling (about 1 min)"
    )
    parser.add_argument(
        "--sweep-seconds", type=_seconds, default=10.0, help="length of the 1-worker sweep (default: 10)"
    )
    parser.add_argument("--sweep-repeats", type=_positive, default=3, help="sweep pairs per worker count (default: 3)")
    parser.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure peak memory of a 10M dyad-session sweep with session tables (about 1 min)",
    )
    parser.add_argument(
        "--memory-sessions", type=_positive, default=10_000_000, help="size of the memory sweep (default: 10000000)"
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed arguments, print the table, write the JSON; return 0."""

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    result = run_benchmark(
        n_patients=args.patients,
        n_sessions=args.sessions,
        mesa_patients=args.mesa_patients,
        count_patients=args.count_patients,
        repeats=args.repeats,
        seed=args.seed,
        population=args.population,
        therapists=args.therapists,
        sweep=args.sweep,
        sweep_seconds=args.sweep_seconds,
        sweep_repeats=args.sweep_repeats,
        memory=args.memory,
        memory_dyad_sessions=args.memory_sessions,
        progress=progress,
    )
    print(format_report(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        progress(f"wrote {path}")
    return 0


def bench_command(argv: Sequence[str] | None = None) -> int:
    """``main``-style entry: parse ``argv`` (default ``sys.argv[1:]``) and run the benchmark."""
    parser = argparse.ArgumentParser(prog="rupture-sim bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(bench_command())
