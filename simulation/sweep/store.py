"""The output folder of a sweep: manifest, chunk journal, resume checks and verification.

Layout of a sweep folder::

    spec.toml           the spec as written
    design.parquet      the design points
    manifest.json       spec, fingerprint, seeds, version, one record per finished chunk, derived files
    chunks.jsonl        the chunk journal: one record per chunk finished since the manifest was written
    patients/part-*.parquet, trajectories/..., sessions/..., events/...   one dataset per table
    runs.parquet, summary.md, figures/   derived files (recorded in the manifest)

A finished chunk is appended to the journal (one JSON line, fsynced), so
recording a chunk costs the same at chunk 10 as at chunk 100,000; the journal
is folded into the manifest when a run starts and ends. Nothing in the folder
is trusted on resume: every recorded shard is checked (size, sha256, readable)
before its chunk counts as done, chunks that fail are redone, files no record
names are moved aside into ``unrecorded/``, and ``spec.toml``,
``design.parquet`` and a damaged manifest are rebuilt from the spec when the
folder can be shown to hold that spec, or the folder is refused. So a sweep
killed or damaged at any moment and resumed yields exactly the dataset of an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from simulation.model.version import model_fingerprint
from simulation.outputs import MARKER, write_marker
from simulation.sweep.chunks import Chunk, file_sha256, shard_path, table_names
from simulation.sweep.spec import SpecError, SweepSpec, parse_spec

MANIFEST = "manifest.json"
JOURNAL = "chunks.jsonl"
DESIGN = "design.parquet"
SPEC_FILE = "spec.toml"
ASIDE = "unrecorded"
FORMAT = 1
#: Keys a manifest must hold to be used (anything else missing: the manifest is rebuilt or refused).
_MANIFEST_KEYS = {"fingerprint": str, "chunks": dict, "tables": list, "n_chunks": int, "chunk_replications": int}


class StoreError(ValueError):
    """An output folder that cannot be used (one clear sentence)."""


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name, fsync, then rename over ``path``."""
    write_bytes_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes under a hidden temporary name, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a results folder (a sweep's with the journal's chunk records folded in).

    Raises:
        StoreError: If the folder holds no manifest, or one that is not a JSON object.
    """
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"{folder} is not a sweep folder (no {MANIFEST}).") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path} cannot be read ({exc.__class__.__name__}).") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"{path} is damaged: it holds {type(manifest).__name__}, not an object.")
    if isinstance(manifest.get("chunks"), dict):
        manifest["chunks"].update(read_journal(folder))
    return manifest


def read_sweep_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a sweep folder, checked to hold what a sweep's manifest must.

    Raises:
        StoreError: If the folder holds no manifest, or one that is not a usable sweep manifest.
    """
    manifest = read_manifest(folder)
    problem = manifest_problem(manifest)
    if problem:
        raise StoreError(f"{folder / MANIFEST} is damaged: {problem}.")
    return manifest


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What makes ``manifest`` unusable as a sweep's, or None."""
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            return f"'{key}' is missing or not of type {kind.__name__}"
    return None


def read_journal(folder: Path) -> dict[str, dict[str, Any]]:
    """Chunk records appended since the manifest was written (a torn or malformed line is skipped)."""
    records: dict[str, dict[str, Any]] = {}
    try:
        lines = (folder / JOURNAL).read_bytes().splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and isinstance(record.get("chunk"), int):
            records[str(record["chunk"])] = record
    return records


def other_model(folder: Path) -> str:
    """The sentence for a folder that another version of the model started (``model.version``)."""
    return (
        f"{folder} was made with another version of the model (its rules or parameter defaults changed since), "
        "and continuing would mix two models in one dataset; choose another --out folder or remove it."
    )


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
        "model": model_fingerprint(),
        "package_version": __version__,
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "numba": numba.__version__},
        "seeds": {"root": spec.seed, "rule": "replication r runs with sha256(f'{seed}:{r}')[:63 bits], all points"},
        "tables": list(table_names(spec)),
        "varied": list(spec.vary),  # in design order (the JSON keys are sorted)
        "n_points": n_points,
        "n_chunks": n_chunks,
        "chunk_replications": chunk_replications,
        "chunks": {},
        "derived": {},
        "complete": False,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "compute_seconds": 0.0,
    }


# --- opening and resuming ------------------------------------------------------------------------


def open_folder(
    folder: Path, spec: SweepSpec, fresh: dict[str, Any], points: pd.DataFrame, chunks: list[Chunk]
) -> dict[str, Any]:
    """Start a sweep folder, or resume one that holds the same spec after checking everything in it.

    Args:
        folder: The output folder.
        spec: The spec to run.
        fresh: The manifest to start with if the folder is new (or its manifest must be rebuilt).
        points: The design points (what ``design.parquet`` must hold).
        chunks: The plan (what each chunk record must match).

    Returns:
        The manifest to continue from: only chunks whose shards passed the checks are in ``manifest["chunks"]``.

    Raises:
        StoreError: If the folder holds another spec, another chunk size, or
            files that are not a sweep's, or cannot be shown to hold this spec.
    """
    if not folder.exists() or not any(not p.name.startswith(".") for p in folder.iterdir()):
        folder.mkdir(parents=True, exist_ok=True)
        write_marker(folder, "sweep")
        manifest = fresh
    else:
        manifest = _trusted_manifest(folder, spec, fresh)
    _repair_copies(folder, spec, points)
    remove_leftovers(folder)
    manifest["chunks"] = _checked_chunks(folder, manifest, chunks)
    manifest["derived"] = _intact_derived(folder, manifest.get("derived"))
    manifest["complete"] = False
    _move_aside(folder, manifest, chunks)
    compact(folder, manifest)
    return manifest


def _trusted_manifest(folder: Path, spec: SweepSpec, fresh: dict[str, Any]) -> dict[str, Any]:
    """The folder's manifest if it holds this spec; a fresh one if only ``spec.toml`` shows that; else refuse."""
    try:
        manifest = read_sweep_manifest(folder)
    except StoreError as err:
        if not _spec_file_matches(folder, spec):
            if not (folder / MANIFEST).exists() and not (folder / SPEC_FILE).exists():
                raise StoreError(f"{folder} exists and is not a sweep folder; choose another --out folder.") from None
            raise StoreError(
                f"{err} Its {SPEC_FILE} does not show the same spec either, so its shards cannot be trusted; "
                "remove the folder or choose another --out folder."
            ) from None
        _warn(f"{folder}/{MANIFEST} was missing or damaged; rebuilt it (every chunk is checked or redone).")
        manifest = fresh
        manifest["chunks"] = read_journal(folder)
        return manifest
    if manifest["fingerprint"] != spec.fingerprint():
        raise StoreError(
            f"{folder} holds results of a different spec ('{manifest.get('name')}'); "
            "choose another --out folder or remove it."
        )
    if manifest.get("model") != fresh["model"]:
        raise StoreError(other_model(folder))
    if manifest["chunk_replications"] != fresh["chunk_replications"]:
        raise StoreError(
            f"{folder} was started with chunk_replications = {manifest['chunk_replications']}; "
            "resume with the same chunk size."
        )
    kept = {k: manifest[k] for k in ("compute_seconds", "wall_seconds") if isinstance(manifest.get(k), (int, float))}
    kept.update({k: manifest[k] for k in ("started", "derived") if k in manifest})
    return {**fresh, **kept, "chunks": manifest["chunks"]}


def _spec_file_matches(folder: Path, spec: SweepSpec) -> bool:
    return not _spec_file_problems(folder, {"fingerprint": spec.fingerprint()})


def _repair_copies(folder: Path, spec: SweepSpec, points: pd.DataFrame) -> None:
    """Rewrite ``spec.toml`` and ``design.parquet`` if they do not hold what the spec says (both derive from it)."""
    spec_path = folder / SPEC_FILE
    text = spec_text(spec)
    if not spec_path.is_file() or spec_path.read_bytes() != text.encode():
        write_bytes_atomic(spec_path, text.encode())
    design = points.reset_index()
    try:
        ok = pd.read_parquet(folder / DESIGN).equals(design)
    except Exception:  # any unreadable file: pyarrow raises many kinds
        ok = False
    if not ok:
        tmp = folder / f".{DESIGN}.{os.getpid()}.tmp"
        design.to_parquet(tmp, index=False)
        os.replace(tmp, folder / DESIGN)
    if not (folder / MARKER).exists():
        write_marker(folder, "sweep")


def spec_text(spec: SweepSpec) -> str:
    """The spec as TOML: the text it was read from, or (if that says something else) the fields written out."""
    try:
        if parse_spec(spec.source).fingerprint() == spec.fingerprint():
            return spec.source
    except SpecError:
        pass
    fields = spec.to_dict()
    design, constants, vary = fields.pop("design"), fields.pop("constants"), fields.pop("vary")
    lines = [f"{key} = {json.dumps(value)}" for key, value in fields.items() if value is not None]
    lines += ["[design]", *(f"{key} = {json.dumps(value)}" for key, value in design.items())]
    lines += ["[constants]", *(f"{key} = {json.dumps(value)}" for key, value in constants.items())]
    lines += ["[vary]"]
    for name, entry in vary.items():
        lines.append(f"{name} = {{ {', '.join(f'{k} = {json.dumps(v)}' for k, v in entry.items())} }}")
    return "\n".join(lines) + "\n"


def _checked_chunks(folder: Path, manifest: dict[str, Any], chunks: list[Chunk]) -> dict[str, dict[str, Any]]:
    """The chunk records whose shards are all present, intact and readable (the rest will be redone)."""
    plan = {str(c.chunk_id): c for c in chunks}
    good: dict[str, dict[str, Any]] = {}
    for key, record in manifest["chunks"].items():
        chunk = plan.get(key)
        if chunk is not None and not record_problems(folder, chunk.chunk_id, record, manifest["tables"], chunk):
            good[key] = record
    redone = len(manifest["chunks"]) - len(good)
    if redone:
        _warn(f"{redone} recorded chunk(s) in {folder} failed the checks and will be redone.")
    return good


def _intact_derived(folder: Path, derived: Any) -> dict[str, Any]:
    """The derived-file records that still match their files."""
    if not isinstance(derived, dict):
        return {}
    return {
        name: shard
        for name, shard in derived.items()
        if isinstance(shard, dict) and shard.get("file") == name and not shard_problems(folder, shard)
    }


def record_problems(
    folder: Path, chunk_id: int, record: Any, tables: Iterable[str], chunk: Chunk | None = None
) -> list[str]:
    """What is wrong with one chunk record and its shards (empty if nothing)."""
    if not isinstance(record, dict) or not isinstance(record.get("tables"), dict):
        return ["the record is malformed"]
    if record.get("chunk") != chunk_id or not isinstance(record.get("point"), int):
        return ["the record lacks its chunk or point"]
    if not isinstance(record.get("replications"), list) or not record["replications"]:
        return ["the record lacks its replications"]
    planned = chunk is None or (record.get("point"), record.get("replications")) == (
        chunk.point,
        list(chunk.replications),
    )
    if not planned:
        return ["the record does not match the plan"]
    problems = []
    for table in tables:
        shard = record["tables"].get(table)
        expected = f"{table}/{shard_path(folder, table, chunk_id).name}"
        if not isinstance(shard, dict) or shard.get("file") != expected:
            problems.append(f"{expected} has no valid record")
        else:
            problems.extend(shard_problems(folder, shard))
    return problems


def shard_problems(folder: Path, shard: dict[str, Any]) -> list[str]:
    """Problems of one recorded file: missing, wrong size, wrong checksum, unreadable, wrong rows."""
    name = shard["file"]
    path = folder / name
    if not path.is_file():
        return [f"{name} is missing"]
    if "bytes" in shard and path.stat().st_size != shard["bytes"]:
        return [f"{name} has the wrong size ({path.stat().st_size} bytes, recorded {shard['bytes']})"]
    if file_sha256(path) != shard.get("sha256"):
        return [f"{name} does not match its checksum"]
    if "rows" not in shard:
        return []
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # pyarrow raises ArrowInvalid, OSError, ...
        return [f"{name} is not a readable parquet file"]
    return [] if rows == shard["rows"] else [f"{name} has {rows} rows, recorded {shard['rows']}"]


def _move_aside(folder: Path, manifest: dict[str, Any], chunks: list[Chunk]) -> None:
    """Remove shards of chunks about to be redone; move other files no record names into ``unrecorded/``."""
    recorded = {s["file"] for r in manifest["chunks"].values() for s in r["tables"].values()}
    pending = {
        f"{t}/{shard_path(folder, t, c.chunk_id).name}"
        for c in chunks
        if str(c.chunk_id) not in manifest["chunks"]
        for t in manifest["tables"]
    }
    moved = []
    for name in unrecorded_files(folder, manifest["tables"], recorded):
        path = folder / name
        if name in pending and path.is_file():
            path.unlink()
            continue
        aside = folder / ASIDE / name
        aside.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.move(path, aside)
        else:
            os.replace(path, aside)
        moved.append(name)
    if moved:
        _warn(f"moved {len(moved)} file(s) no chunk record names into {folder / ASIDE}: {', '.join(moved)}.")


def unrecorded_files(folder: Path, tables: Iterable[str], recorded: set[str]) -> list[str]:
    """Entries of the table folders that no chunk record names, as ``table/name`` (a table that is a file: its name)."""
    found = []
    for table in tables:
        directory = folder / table
        if directory.is_dir():
            names = (f"{table}/{p.name}" for p in sorted(directory.iterdir()))
            found.extend(name for name in names if name not in recorded)
        elif directory.exists():
            found.append(table)
    return found


def _warn(message: str) -> None:
    print(f"rupture-sim: {message}", file=sys.stderr)


# --- recording -----------------------------------------------------------------------------------


class Journal:
    """The append-only chunk journal: one fsynced JSON line per finished chunk."""

    def __init__(self, folder: Path) -> None:
        self._handle = (folder / JOURNAL).open("ab")

    def append(self, record: dict[str, Any]) -> None:
        """Persist one chunk record (O(1), whatever the number of chunks)."""
        self._handle.write(json.dumps(record, sort_keys=True).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def record_chunk(journal: Journal, manifest: dict[str, Any], record: dict[str, Any]) -> None:
    """Add a finished chunk to the manifest in memory and to the journal on disk."""
    journal.append(record)
    manifest["chunks"][str(record["chunk"])] = record
    manifest["compute_seconds"] = round(manifest.get("compute_seconds", 0.0) + record["seconds"], 4)


def compact(folder: Path, manifest: dict[str, Any]) -> None:
    """Fold the journal into the manifest: write the manifest atomically, then empty the journal."""
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json_atomic(folder / MANIFEST, manifest)
    (folder / JOURNAL).unlink(missing_ok=True)


def record_derived(folder: Path, manifest: dict[str, Any], names: Iterable[str], complete: bool) -> None:
    """Record derived files (runs.parquet, summary.md, figures) and mark the sweep complete if it is."""
    manifest["derived"] = {name: file_record(folder, name) for name in names}
    manifest["complete"] = complete
    compact(folder, manifest)


def file_record(folder: Path, name: str) -> dict[str, Any]:
    """The record of a written file (name, bytes, sha256) that ``shard_problems`` checks it against."""
    path = folder / name
    return {"file": name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def remove_leftovers(folder: Path) -> None:
    """Delete temporary files and derived-file staging folders a killed run left behind."""
    for staging in folder.glob(".derived-*"):
        shutil.rmtree(staging, ignore_errors=True)
    for tmp in folder.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)


# --- verification --------------------------------------------------------------------------------


def verify(folder: Path) -> list[str]:
    """Check a sweep folder; return every problem found, one sentence each (empty if none).

    Checks the manifest, that each recorded shard exists with its size, checksum
    and row count and is readable, that no file in a table folder lacks a record,
    that ``design.parquet`` and the recorded derived files are intact, and that
    the sweep is complete. Never raises for a damaged folder.

    Raises:
        StoreError: If ``folder`` is not a sweep folder at all (no manifest, spec or marker).
    """
    try:
        manifest = read_sweep_manifest(folder)
    except StoreError as err:
        if any((folder / name).exists() for name in (MANIFEST, SPEC_FILE, MARKER)):
            return [str(err)]
        raise
    problems = _spec_file_problems(folder, manifest) + _manifest_spec_problems(manifest)
    if manifest.get("model") != model_fingerprint():  # a resume would refuse it: say so here too
        problems.append(other_model(folder))
    recorded: set[str] = set()
    tables = [t for t in manifest["tables"] if isinstance(t, str)]
    for chunk_id, record in sorted(manifest["chunks"].items(), key=lambda kv: _int(kv[0])):
        for problem in record_problems(folder, _int(chunk_id), record, tables):
            problems.append(f"chunk {chunk_id}: {problem}")
        if isinstance(record, dict) and isinstance(record.get("tables"), dict):
            recorded |= {
                s["file"] for s in record["tables"].values() if isinstance(s, dict) and isinstance(s.get("file"), str)
            }
    for name in unrecorded_files(folder, tables, recorded):
        problems.append(f"{name} is not in the manifest (pd.read_parquet of its table would read or fail on it)")
    problems.extend(_design_problems(folder, manifest))
    derived = manifest.get("derived", {})
    if isinstance(derived, dict):
        for shard in derived.values():
            if isinstance(shard, dict) and isinstance(shard.get("file"), str):
                problems.extend(f"derived file {p}" for p in shard_problems(folder, shard))
    done, total = len(manifest["chunks"]), manifest["n_chunks"]
    if done != total:
        problems.append(f"incomplete: {done} of {total} chunks finished (rerun the sweep to resume)")
    elif not manifest.get("complete"):
        problems.append("incomplete: every chunk finished but runs.parquet, summary.md and figures were not recorded")
    return problems


def _spec_file_problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    try:
        same = parse_spec((folder / SPEC_FILE).read_text()).fingerprint() == manifest["fingerprint"]
    except (OSError, UnicodeDecodeError, SpecError, tomllib.TOMLDecodeError, TypeError, ValueError):
        same = False
    return [] if same else [f"{SPEC_FILE} is missing or does not hold the spec the manifest records"]


def _manifest_spec_problems(manifest: dict[str, Any]) -> list[str]:
    """Whether the manifest's own copy of the spec is the spec of its fingerprint (both are written from one)."""
    fields = manifest.get("spec")
    try:
        fields = dict(fields)
        vary = fields["vary"]  # the JSON keys are sorted: the design order is in "varied"
        fields["vary"] = (
            {name: vary[name] for name in manifest["varied"]} if len(manifest["varied"]) == len(vary) else {}
        )
        design = fields.pop("design")
        same = SweepSpec(**fields, design=design["type"], samples=design.get("samples")).fingerprint()
    except (SpecError, TypeError, ValueError, KeyError, AttributeError):
        same = None
    return [] if same == manifest["fingerprint"] else ["the manifest's spec does not match its fingerprint"]


def _design_problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    try:
        rows = len(pd.read_parquet(folder / DESIGN))
    except FileNotFoundError:
        return [f"{DESIGN} is missing"]
    except Exception:  # pyarrow raises many kinds for a damaged file
        return [f"{DESIGN} is not a readable parquet file"]
    n_points = manifest.get("n_points")
    return [] if rows == n_points else [f"{DESIGN} has {rows} points, the manifest {n_points}"]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1
