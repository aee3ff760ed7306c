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

from simulation.run.engine import RawCohort, simulate_cohort
from simulation.run.tables import events_table, patients_table, sessions_arrow, trajectory_table
from simulation.sweep.spec import SweepSpec, point_parameters, run_seed

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


def compute_chunk(spec: SweepSpec, chunk: Chunk) -> dict[str, pd.DataFrame | pa.Table]:
    """Simulate every replication of a chunk and return its tables (with point and replication columns).

    The per-course table is built once for the whole chunk (its pandas cost is
    per call, not per row). The session rows, the big table, go from the engine's
    arrays to Arrow without pandas (``tables.sessions_arrow``).
    """
    params = point_parameters(spec, chunk.values)
    keep_sessions = "sessions" in spec.tables
    keep_events = "events" in spec.tables
    ids = np.arange(spec.n_patients, dtype=np.int64)
    raws = [
        simulate_cohort(
            params, ids, spec.n_sessions, run_seed(spec, rep), record_events=keep_events, keep_sessions=keep_sessions
        )
        for rep in chunk.replications
    ]
    reps = np.repeat(np.array(chunk.replications), spec.n_patients)
    tables = {
        "patients": _label(patients_table(_stack_courses(raws), params), chunk, reps),
        "trajectories": _concat(chunk, [trajectory_table(raw) for raw in raws]),
    }
    if keep_sessions:
        sessions = pa.concat_tables([sessions_arrow(raw.sessions) for raw in raws])
        reps = np.repeat(np.array(chunk.replications), [len(raw.sessions) for raw in raws])
        tables["sessions"] = _label_arrow(sessions, chunk, reps)
    if keep_events:
        tables["events"] = _concat(chunk, [events_table(raw.events) for raw in raws])
    return tables


def _stack_courses(raws: list[RawCohort]) -> RawCohort:
    """One cohort of the replications' courses, for building the per-course table in one go."""
    first = raws[0]
    return RawCohort(
        intake=np.concatenate([r.intake for r in raws]),
        final=np.concatenate([r.final for r in raws]),
        patient_ids=np.concatenate([r.patient_ids for r in raws]),
        therapist_ids=np.concatenate([r.therapist_ids for r in raws]),
        therapists=first.therapists,
        therapist_index=first.therapist_index,
        sessions=first.sessions[:0],
        events=first.events[:0],
        courses=np.concatenate([r.courses for r in raws]),
        trajectory=first.trajectory,
    )


def _concat(chunk: Chunk, tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Label each replication's table and stack them."""
    reps = np.concatenate([np.full(len(t), rep) for t, rep in zip(tables, chunk.replications, strict=True)])
    return _label(pd.concat(tables, ignore_index=True), chunk, reps)


def _label(table: pd.DataFrame, chunk: Chunk, replications: np.ndarray) -> pd.DataFrame:
    """Prefix a table with its point, replication and varied values."""
    return pd.concat([_front(chunk, replications, table.index), table], axis=1)


def _label_arrow(table: pa.Table, chunk: Chunk, replications: np.ndarray) -> pa.Table:
    """``_label`` for an Arrow table (the same columns, of the same types)."""
    front = pa.Table.from_pandas(_front(chunk, replications), preserve_index=False)
    return pa.Table.from_arrays([*front.columns, *table.columns], names=[*front.column_names, *table.column_names])


def _front(chunk: Chunk, replications: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame:
    """The point, replication and varied-value columns of a chunk's rows."""
    front = {"point": np.full(len(replications), chunk.point), "replication": replications}
    front.update({k: np.full(len(replications), v) for k, v in chunk.values.items()})
    return pd.DataFrame(front, index=index)


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


def write_shard(table: pd.DataFrame | pa.Table, path: Path) -> dict[str, Any]:
    """Write a parquet shard atomically (hidden temporary name, fsync, rename); return its record.

    Encodings (``parquet_options``): dictionaries only for the columns with few distinct
    values (ids, counts, flags, labels), byte-stream-split for the measured floats.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(table, tmp, **parquet_options(table.schema))
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return {
        "file": f"{path.parent.name}/{path.name}",
        "rows": len(table),
        "bytes": path.stat().st_size,
        "sha256": file_sha256(path),
    }


#: Rows per parquet row group: a session shard of 10 runs of 1000 patients (about 280,000 rows) is
#: one group; readers that filter by point read whole shards anyway.
ROW_GROUP_ROWS = 1 << 20


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How a shard is written (keyword arguments of ``pyarrow.parquet.write_table``).

    zstd; dictionaries for all but the float columns, whose distinct values nearly equal the
    rows (a dictionary there is built, found too big and dropped); float columns
    byte-stream-split (their exponent bytes together, which zstd then packs). On session rows
    this writes 8% smaller files in about 20% less time than the defaults (``benchmarks/README.md``).
    """
    floats = [field.name for field in schema if pa.types.is_floating(field.type)]
    others = [field.name for field in schema if field.name not in floats]
    return {
        "compression": "zstd",
        "use_dictionary": others,
        "use_byte_stream_split": floats or False,
        "row_group_size": ROW_GROUP_ROWS,
    }


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
        "dyad_sessions": int(tables["patients"]["sessions_attended"].sum()),  # patients: a DataFrame
        "seconds": round(time.perf_counter() - start, 4),
        "tables": shards,
    }
