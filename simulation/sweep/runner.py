"""Run a sweep: plan the chunks, resume what is finished, execute the rest, keep the manifest.

``run_sweep`` is what ``rupture-sim sweep`` calls. ``estimate`` answers a dry
run: how many runs, how long and how much disk, and how many chunks are already
finished. ``write_derived`` writes ``runs.parquet``, ``summary.md`` and the
figures atomically and records them; the manifest is marked complete only then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simulation.extras import require
from simulation.outputs import check_output, folder_lock
from simulation.sweep import backends
from simulation.sweep.chunks import Chunk, plan_chunks
from simulation.sweep.spec import SpecError, SweepSpec, design_points, dyad_sessions, n_runs
from simulation.sweep.store import (
    DESIGN,
    MANIFEST,
    Journal,
    StoreError,
    compact,
    new_manifest,
    open_folder,
    read_sweep_manifest,
    record_chunk,
    record_derived,
    write_json_atomic,
)

#: Most chunks a sweep may have (each is a task, a journal line and a shard per table).
MAX_CHUNKS = 250_000
#: Seconds to wait for a Dask scheduler to accept a connection before refusing its address.
SCHEDULER_WAIT = 15.0

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
        finished: Chunks already finished in the output folder (a resume skips them).
    """

    points: int
    runs: int
    chunks: int
    dyad_sessions: int
    seconds: float
    bytes: int
    free_bytes: int
    peak_memory: float
    finished: int = 0

    def describe(self) -> str:
        """A few lines for the dry run."""
        return (
            f"{self.points} design points x replications = {self.runs} runs in {self.chunks} chunks"
            f"{f' ({self.finished} already finished, skipped on resume)' if self.finished else ''}\n"
            f"up to {self.dyad_sessions:,} dyad-sessions\n"
            f"estimated time: {_duration(self.seconds)}\n"
            f"estimated disk: {_size(self.bytes)} (free: {_size(self.free_bytes)})\n"
            f"estimated peak memory per worker: {_size(self.peak_memory)}"
        )


def estimate(spec: SweepSpec, folder: Path, workers: int, chunk_replications: int | None = None) -> Estimate:
    """Size, time and disk of a sweep, without running it.

    Raises:
        SpecError: If the output would not fit on the disk, or the design has too many chunks.
        OutputError: If ``folder`` cannot be used as an output folder.
    """
    check_output("--out", folder)
    points = len(design_points(spec))
    chunk_size = chunk_replications or spec.chunk_replications
    if not 1 <= chunk_size <= spec.replications:
        raise SpecError(
            f"--chunk-replications must be between 1 and replications = {spec.replications} (got {chunk_size})."
        )
    chunks = points * -(-spec.replications // chunk_size)
    if chunks > MAX_CHUNKS:
        raise SpecError(
            f"the design has {chunks:,} chunks (design points x replication blocks), more than the limit of "
            f"{MAX_CHUNKS:,}; use fewer design points or a larger chunk_replications."
        )
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
    result = Estimate(points, n_runs(spec), chunks, sessions, seconds, size, free, memory, _finished(folder, spec))
    if size > 0.9 * free:
        raise SpecError(
            f"the design needs about {_size(size)} of disk but only {_size(free)} is free at {probe}; "
            "reduce replications, n_patients or tables."
        )
    return result


def _finished(folder: Path, spec: SweepSpec) -> int:
    """Chunks recorded in ``folder`` for this spec (manifest and journal; 0 if none or another spec)."""
    try:
        manifest = read_sweep_manifest(folder)
    except StoreError:
        return 0
    return len(manifest["chunks"]) if manifest["fingerprint"] == spec.fingerprint() else 0


def run_sweep(
    spec: SweepSpec,
    folder: Path,
    backend: str = "processes",
    workers: int = 2,
    scheduler: str | None = None,
    chunk_replications: int | None = None,
    quiet: bool = False,
    plots: bool = False,
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
        plots: Also write ``runs.parquet``, ``summary.md`` and the figures when every chunk is done.

    Raises:
        SpecError: For a bad backend, worker count or scheduler, or a design too large for the disk.
        StoreError: If the folder cannot be used.
        OutputError: If ``folder`` is not a usable output path.
    """
    if backend not in backends.BACKENDS:
        raise SpecError(f"backend must be one of {', '.join(backends.BACKENDS)} (got {backend!r}).")
    if workers < 1:
        raise SpecError(f"workers must be at least 1 (got {workers}).")
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler needs --backend dask.")
    if backend == "dask":
        require("distributed", "The dask backend")  # the 'sweep' extra
    chunk_size = chunk_replications or spec.chunk_replications
    estimate(spec, folder, workers, chunk_size)
    if scheduler is not None:
        check_scheduler(scheduler)
    points = design_points(spec)
    chunks = plan_chunks(spec, points, chunk_size)
    fresh = new_manifest(spec, len(points), len(chunks), chunk_size)
    with folder_lock(folder):  # one writer, from opening the folder to marking it complete
        manifest = open_folder(folder, spec, fresh, points, chunks)
        pending = [c for c in chunks if str(c.chunk_id) not in manifest["chunks"]]
        _execute(spec, folder, manifest, pending, backend, workers, scheduler, quiet)
        if len(manifest["chunks"]) == manifest["n_chunks"]:
            if plots:
                write_derived(folder, manifest)
            else:
                record_derived(folder, manifest, list(manifest["derived"]), complete=True)
    return manifest


def check_scheduler(address: str) -> None:
    """Refuse a Dask scheduler address that is malformed or answers no connection, before any folder is made.

    Raises:
        SpecError: With the address and the reason.
    """
    host, sep, port = address.removeprefix("tcp://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpecError(f"--scheduler must look like tcp://HOST:PORT (got {address!r}).")
    deadline = time.monotonic() + SCHEDULER_WAIT
    while True:  # a scheduler started a moment ago may not listen yet
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
                return
        except (OSError, UnicodeError) as err:
            if time.monotonic() > deadline:
                raise SpecError(f"--scheduler {address} does not answer ({err.__class__.__name__}).") from None
        time.sleep(0.2)


def write_derived(
    folder: Path, manifest: dict[str, Any], x: str | None = None, y: str | None = None, cells: list[int] | None = None
) -> list[Path]:
    """Write ``runs.parquet``, ``summary.md`` and the figures atomically, record them, then mark completeness.

    The files are drawn in a hidden staging folder that sees the tables through
    symbolic links, then each is renamed into place; the manifest records them
    (and says complete, if every chunk is done) only after all are in place.

    Returns:
        The figures written.
    """
    with folder_lock(folder):  # `rupture-sim plot` writes here too
        return _write_derived(folder, manifest, x, y, cells)


def _write_derived(
    folder: Path, manifest: dict[str, Any], x: str | None, y: str | None, cells: list[int] | None
) -> list[Path]:
    from simulation.sweep.plots import plot_sweep

    complete = len(manifest["chunks"]) == manifest["n_chunks"]
    staging = Path(tempfile.mkdtemp(prefix=".derived-", dir=folder))
    try:
        for name in (DESIGN, *manifest["tables"]):
            (staging / name).symlink_to(Path("..") / name)
        write_json_atomic(staging / MANIFEST, {**manifest, "complete": complete})
        figures = [p.relative_to(staging).as_posix() for p in plot_sweep(staging, x=x, y=y, cells=cells)]
        names = ["runs.parquet", "summary.md", *figures]
        for name in names:
            (folder / name).parent.mkdir(exist_ok=True)
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record_derived(folder, manifest, names, complete)
    return [folder / name for name in figures]


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
    journal = Journal(folder)
    try:
        with bar, contextlib.closing(records):
            for record in records:
                record_chunk(journal, manifest, record)
                bar.update(len(record["replications"]))
    finally:
        journal.close()
        manifest["wall_seconds"] = round(manifest.get("wall_seconds", 0.0) + time.perf_counter() - start, 3)
        compact(folder, manifest)


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
