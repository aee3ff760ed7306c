"""Sweep throughput: sweeps on 1 and 2 workers (summary tables, or with session rows), without process start-up."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulation.tools.bench.timing import throughput_row


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
    tables: Sequence[str] = ("patients",),
) -> dict[str, Any]:
    """Dyad-sessions per second of a sweep writing ``tables``, without process start-up.

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
        tables: Tables the sweep writes (``patients``: the summary tables; add ``sessions`` for session rows).

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
            f"bench_{size}", n_patients, n_sessions, n * chunk_replications, chunk_replications, list(tables),
            population, therapists, seed,
        )  # fmt: skip
    small, big = [], []
    for _ in range(repeats):
        small.append(run_timed_sweep(texts["small"], backend, workers))
        big.append(run_timed_sweep(texts["big"], backend, workers))
    t_small = statistics.median(r["wall_seconds"] for r in small)
    t_big = statistics.median(r["wall_seconds"] for r in big)
    extra = big[0]["dyad_sessions"] - small[0]["dyad_sessions"]
    row = throughput_row(
        extra, [b["wall_seconds"] - s["wall_seconds"] for b, s in zip(big, small, strict=True)], workers
    )
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
        tables=list(tables),
    )
    return row
