"""Chunks of a sweep: what one unit of work is, how it is computed and written.

A chunk is one design point times a block of consecutive replications. Its
result is one parquet shard per table, written under a hidden temporary name
and renamed into place, so a shard either exists complete or not at all. A
chunk's numbers depend only on the spec, the point and the replications, so
any backend, worker count or chunk size writes the same rows.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulation.engine import simulate_cohort
from simulation.sweep.spec import SweepSpec, point_parameters, run_seed
from simulation.tables import events_table, patients_table, sessions_table, trajectory_table

#: Tables every sweep keeps: per-course summaries and per-run trajectories.
ALWAYS = ("patients", "trajectories")


@dataclass(frozen=True)
class Chunk:
    """One unit of work.

    Attributes:
        chunk_id: Position in the plan (also the shard name).
        point: Design point index.
        replications: Replication indices of the block.
        values: The point's varied parameter values.
    """

    chunk_id: int
    point: int
    replications: tuple[int, ...]
    values: dict[str, float]


def plan_chunks(spec: SweepSpec, points: pd.DataFrame, chunk_replications: int) -> list[Chunk]:
    """All chunks of a sweep: for each point, blocks of ``chunk_replications`` replications."""
    chunks: list[Chunk] = []
    for point, row in points.iterrows():
        values = {name: row[name].item() for name in points.columns}
        for first in range(0, spec.replications, chunk_replications):
            reps = tuple(range(first, min(first + chunk_replications, spec.replications)))
            chunks.append(Chunk(len(chunks), int(point), reps, values))
    return chunks


def table_names(spec: SweepSpec) -> tuple[str, ...]:
    """Tables this sweep writes, in a fixed order."""
    return ALWAYS + tuple(t for t in ("sessions", "events") if t in spec.tables)


def compute_chunk(spec: SweepSpec, chunk: Chunk) -> dict[str, pd.DataFrame]:
    """Simulate every replication of a chunk and return its tables (with point and replication columns)."""
    params = point_parameters(spec, chunk.values)
    keep_sessions = "sessions" in spec.tables
    keep_events = "events" in spec.tables
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in table_names(spec)}
    ids = np.arange(spec.n_patients, dtype=np.int64)
    for rep in chunk.replications:
        raw = simulate_cohort(
            params, ids, spec.n_sessions, run_seed(spec, rep), record_events=keep_events, keep_sessions=keep_sessions
        )
        tables = {"patients": patients_table(raw, params), "trajectories": trajectory_table(raw)}
        if keep_sessions:
            tables["sessions"] = sessions_table(raw.sessions)
        if keep_events:
            tables["events"] = events_table(raw.events)
        for name, table in tables.items():
            parts[name].append(_label(table, chunk, rep))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def _label(table: pd.DataFrame, chunk: Chunk, replication: int) -> pd.DataFrame:
    """Prefix a run's table with its point, replication and varied values."""
    front = {"point": chunk.point, "replication": replication, **chunk.values}
    labels = pd.DataFrame({k: np.repeat(v, len(table)) for k, v in front.items()}, index=table.index)
    return pd.concat([labels, table], axis=1)


def shard_path(folder: Path, table: str, chunk_id: int) -> Path:
    """Where a chunk's shard of a table lives."""
    return folder / table / f"part-{chunk_id:07d}.parquet"


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_shard(table: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write a parquet shard atomically (hidden temporary name, fsync, rename); return its record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp, compression="zstd")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return {"file": f"{path.parent.name}/{path.name}", "rows": len(table), "sha256": file_sha256(path)}


def run_chunk(spec: SweepSpec, chunk: Chunk, folder: str) -> dict[str, Any]:
    """Compute a chunk and write its shards into ``folder``; return the record for the manifest.

    Runs in any worker (in-process, a process pool or a Dask worker): it
    needs only the spec, the chunk and a path both sides can see.
    """
    start = time.perf_counter()
    tables = compute_chunk(spec, chunk)
    paths = {name: shard_path(Path(folder), name, chunk.chunk_id) for name in tables}
    shards = {name: write_shard(table, paths[name]) for name, table in tables.items()}
    return {
        "chunk": chunk.chunk_id,
        "point": chunk.point,
        "replications": list(chunk.replications),
        "dyad_sessions": int(tables["patients"]["sessions_attended"].sum()),
        "seconds": round(time.perf_counter() - start, 4),
        "tables": shards,
    }
