"""The output folder of a sweep: manifest, resume and verification.

Layout of a sweep folder::

    spec.toml           the spec as written
    design.parquet      the design points
    manifest.json       spec, fingerprint, seeds, version, one record per finished chunk
    patients/part-*.parquet, trajectories/..., sessions/..., events/...   one dataset per table

The manifest is rewritten atomically after every finished chunk, after the
chunk's shards are in place; a chunk without a record is simply done again
(its shards are overwritten with identical bytes). So a sweep killed at any
moment and resumed yields exactly the dataset of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from simulation.sweep.chunks import file_sha256, table_names
from simulation.sweep.spec import SweepSpec

MANIFEST = "manifest.json"
FORMAT = 1


class StoreError(ValueError):
    """An output folder that cannot be used (one clear sentence)."""


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a sweep folder.

    Raises:
        StoreError: If the folder holds no readable manifest.
    """
    path = folder / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"{folder} is not a sweep folder (no {MANIFEST}).") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path} cannot be read ({exc.__class__.__name__}).") from None


def new_manifest(spec: SweepSpec, n_points: int, n_chunks: int, chunk_replications: int) -> dict[str, Any]:
    """The manifest of a sweep that has not finished any chunk yet."""
    import numba
    import numpy

    from simulation import __version__

    return {
        "format": FORMAT,
        "name": spec.name,
        "spec": spec.to_dict(),
        "fingerprint": spec.fingerprint(),
        "package_version": __version__,
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "numba": numba.__version__},
        "seeds": {"root": spec.seed, "rule": "replication r runs with sha256(f'{seed}:{r}')[:63 bits], all points"},
        "tables": list(table_names(spec)),
        "varied": list(spec.vary),  # in design order (the JSON keys are sorted)
        "n_points": n_points,
        "n_chunks": n_chunks,
        "chunk_replications": chunk_replications,
        "chunks": {},
        "complete": False,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "compute_seconds": 0.0,
    }


def open_folder(folder: Path, spec: SweepSpec, fresh: dict[str, Any]) -> dict[str, Any]:
    """Start a sweep folder or resume one that holds the same spec.

    Args:
        folder: The output folder.
        spec: The spec to run.
        fresh: The manifest to start with if the folder is new.

    Returns:
        The manifest to continue from (finished chunks are in ``manifest["chunks"]``).

    Raises:
        StoreError: If the folder holds another spec, another chunk size, or
            files that are not a sweep's.
    """
    if (folder / MANIFEST).exists():
        manifest = read_manifest(folder)
        if manifest.get("fingerprint") != spec.fingerprint():
            raise StoreError(
                f"{folder} holds results of a different spec ('{manifest.get('name')}'); "
                "choose another --out folder or remove it."
            )
        if manifest.get("chunk_replications") != fresh["chunk_replications"]:
            raise StoreError(
                f"{folder} was started with chunk_replications = {manifest.get('chunk_replications')}; "
                "resume with the same chunk size."
            )
        return manifest
    if folder.exists() and any(not p.name.startswith(".") for p in folder.iterdir()):
        raise StoreError(f"{folder} exists and is not a sweep folder; choose another --out folder.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.toml").write_text(spec.source or "")
    write_json_atomic(folder / MANIFEST, fresh)
    return fresh


def record_chunk(folder: Path, manifest: dict[str, Any], record: dict[str, Any]) -> None:
    """Add a finished chunk to the manifest and persist it."""
    manifest["chunks"][str(record["chunk"])] = record
    manifest["compute_seconds"] = round(manifest["compute_seconds"] + record["seconds"], 4)
    manifest["complete"] = len(manifest["chunks"]) == manifest["n_chunks"]
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json_atomic(folder / MANIFEST, manifest)


def remove_leftovers(folder: Path) -> None:
    """Delete temporary files a killed run left behind."""
    for tmp in folder.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def verify(folder: Path) -> list[str]:
    """Check every shard against the manifest; return the problems found (empty if none).

    Checks that each recorded shard exists with its row count and checksum,
    that no shard exists without a record, and that the sweep is complete.
    """
    manifest = read_manifest(folder)
    problems: list[str] = []
    recorded: set[str] = set()
    for chunk_id, record in sorted(manifest["chunks"].items(), key=lambda kv: int(kv[0])):
        for shard in record["tables"].values():
            recorded.add(shard["file"])
            path = folder / shard["file"]
            if not path.exists():
                problems.append(f"chunk {chunk_id}: {shard['file']} is missing")
            elif pq.ParquetFile(path).metadata.num_rows != shard["rows"]:
                problems.append(f"chunk {chunk_id}: {shard['file']} has the wrong number of rows")
            elif file_sha256(path) != shard["sha256"]:
                problems.append(f"chunk {chunk_id}: {shard['file']} does not match its checksum")
    for table in manifest["tables"]:
        for path in sorted((folder / table).glob("part-*.parquet")):
            if f"{table}/{path.name}" not in recorded:
                problems.append(f"{table}/{path.name} is not in the manifest")
    done, total = len(manifest["chunks"]), manifest["n_chunks"]
    if done != total:
        problems.append(f"incomplete: {done} of {total} chunks finished (rerun the sweep to resume)")
    return problems
