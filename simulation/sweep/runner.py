"""Run a sweep: plan the chunks, resume what is finished, execute the rest, keep the manifest.

``run_sweep`` is what ``rupture-sim sweep`` calls. ``estimate`` answers a dry
run: how many runs, how long and how much disk.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simulation.sweep import backends
from simulation.sweep.chunks import Chunk, plan_chunks
from simulation.sweep.spec import SpecError, SweepSpec, design_points, dyad_sessions, n_runs
from simulation.sweep.store import (
    MANIFEST,
    new_manifest,
    open_folder,
    record_chunk,
    remove_leftovers,
    write_json_atomic,
)

#: Dyad-sessions per second per worker assumed by the dry run (measured with ``rupture-sim bench``).
THROUGHPUT = {"patients": 1_200_000, "sessions": 450_000, "events": 150_000}
#: Peak memory of a worker: the interpreter and libraries, plus per session row held by a chunk.
BASE_MEMORY = 250e6
#: Start-up of the workers (imports, kernel cache) in seconds.
STARTUP_SECONDS = 4.0
MEMORY_PER_SESSION_ROW = 1300.0
#: Approximate parquet bytes per row (zstd), measured on the example specs.
BYTES_PER_ROW = {"patients": 160, "trajectories": 40, "sessions": 45, "events": 8}
#: Events per dyad-session, on average, for the disk estimate.
EVENTS_PER_SESSION = 12


@dataclass
class Estimate:
    """What a sweep will cost.

    Attributes:
        points: Design points.
        runs: Runs (points x replications).
        chunks: Units of work.
        dyad_sessions: Upper bound on simulated sessions (no dropout).
        seconds: Estimated wall time.
        bytes: Estimated disk use.
        free_bytes: Free space where the output goes.
        peak_memory: Estimated peak memory per worker (bounded by the chunk, not the sweep).
    """

    points: int
    runs: int
    chunks: int
    dyad_sessions: int
    seconds: float
    bytes: int
    free_bytes: int
    peak_memory: float

    def describe(self) -> str:
        """A few lines for the dry run."""
        return (
            f"{self.points} design points x replications = {self.runs} runs in {self.chunks} chunks\n"
            f"up to {self.dyad_sessions:,} dyad-sessions\n"
            f"estimated time: {_duration(self.seconds)}\n"
            f"estimated disk: {_size(self.bytes)} (free: {_size(self.free_bytes)})\n"
            f"estimated peak memory per worker: {_size(self.peak_memory)}"
        )


def estimate(spec: SweepSpec, folder: Path, workers: int, chunk_replications: int | None = None) -> Estimate:
    """Size, time and disk of a sweep, without running it.

    Raises:
        SpecError: If the output would not fit on the disk.
    """
    points = len(design_points(spec))
    chunk_size = chunk_replications or spec.chunk_replications
    chunks = points * -(-spec.replications // chunk_size)
    sessions = dyad_sessions(spec)
    mode = "events" if "events" in spec.tables else "sessions" if "sessions" in spec.tables else "patients"
    seconds = STARTUP_SECONDS + sessions / (THROUGHPUT[mode] * max(1, workers) * 0.9) + 0.05 * chunks / max(1, workers)
    rows = {"patients": n_runs(spec) * spec.n_patients, "trajectories": n_runs(spec) * spec.n_sessions}
    if "sessions" in spec.tables:
        rows["sessions"] = sessions
    if "events" in spec.tables:
        rows["events"] = sessions * EVENTS_PER_SESSION
    size = sum(BYTES_PER_ROW[t] * n for t, n in rows.items())
    probe = folder if folder.exists() else next(p for p in folder.parents if p.exists())
    free = shutil.disk_usage(probe).free
    rows_per_chunk = chunk_size * spec.n_patients * spec.n_sessions if mode != "patients" else 0
    memory = BASE_MEMORY + MEMORY_PER_SESSION_ROW * rows_per_chunk
    result = Estimate(points, n_runs(spec), chunks, sessions, seconds, size, free, memory)
    if size > 0.9 * free:
        raise SpecError(
            f"the design needs about {_size(size)} of disk but only {_size(free)} is free at {probe}; "
            "reduce replications, n_patients or tables."
        )
    return result


def run_sweep(
    spec: SweepSpec,
    folder: Path,
    backend: str = "processes",
    workers: int = 2,
    scheduler: str | None = None,
    chunk_replications: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run (or resume) a sweep into ``folder`` and return its manifest.

    Args:
        spec: The experiment.
        folder: Output folder; a folder holding the same spec is resumed.
        backend: ``inprocess``, ``processes`` or ``dask``.
        workers: Worker processes (local pool or local Dask cluster).
        scheduler: Address of an existing Dask scheduler (dask backend only).
        chunk_replications: Replications per chunk (default: the spec's).
        quiet: No progress bar.

    Raises:
        SpecError: For a bad backend or worker count, or a design too large for the disk.
        StoreError: If the folder cannot be used.
    """
    if backend not in backends.BACKENDS:
        raise SpecError(f"backend must be one of {', '.join(backends.BACKENDS)} (got {backend!r}).")
    if workers < 1:
        raise SpecError(f"workers must be at least 1 (got {workers}).")
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler needs --backend dask.")
    chunk_size = chunk_replications or spec.chunk_replications
    estimate(spec, folder, workers, chunk_size)
    points = design_points(spec)
    chunks = plan_chunks(spec, points, chunk_size)
    manifest = open_folder(folder, spec, new_manifest(spec, len(points), len(chunks), chunk_size))
    if not (folder / "design.parquet").exists():
        points.reset_index().to_parquet(folder / "design.parquet", index=False)
    remove_leftovers(folder)
    pending = [c for c in chunks if str(c.chunk_id) not in manifest["chunks"]]
    _execute(spec, folder, manifest, pending, backend, workers, scheduler, quiet)
    return manifest


def _execute(
    spec: SweepSpec,
    folder: Path,
    manifest: dict[str, Any],
    pending: list[Chunk],
    backend: str,
    workers: int,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Run the pending chunks, recording each as it finishes, with a progress bar of runs."""
    total = n_runs(spec)
    done = total - sum(len(c.replications) for c in pending)
    start = time.perf_counter()
    bar = tqdm(total=total, initial=done, unit="run", desc=spec.name, disable=quiet, file=sys.stderr, smoothing=0.1)
    if backend == "dask":
        records = backends.run_dask(spec, pending, str(folder), workers, scheduler)
    else:
        runner = backends.run_inprocess if backend == "inprocess" else backends.run_processes
        records = runner(spec, pending, str(folder), workers)
    with bar:
        for record in records:
            record_chunk(folder, manifest, record)
            bar.update(len(record["replications"]))
    manifest["wall_seconds"] = round(manifest.get("wall_seconds", 0.0) + time.perf_counter() - start, 3)
    write_json_atomic(folder / MANIFEST, manifest)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.0f} PB"
