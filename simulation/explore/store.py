"""Output folders of the explore commands: tasks streamed to parquet shards with a manifest, resumable.

A command splits its work into numbered *tasks* whose results depend only on
the spec and the task number. Each finished task writes one shard per table
(atomically, ``sweep.chunks.write_shard``) and is then recorded in
``manifest.json`` (rewritten atomically, ``sweep.store.write_json_atomic``).
Rerunning into the folder skips recorded tasks, so an interrupted run
resumed gives the dataset of an uninterrupted one. A folder made by a
different spec is refused.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from simulation.model.version import model_fingerprint
from simulation.sweep.chunks import shard_path, write_shard
from simulation.sweep.store import (
    MANIFEST,
    StoreError,
    other_model,
    read_manifest,
    remove_leftovers,
    write_json_atomic,
)

#: A task: its number in, its tables out.
Compute = Callable[[int], dict[str, pd.DataFrame]]


def fingerprint(spec: dict[str, Any]) -> str:
    """SHA-256 of a spec's canonical JSON (what decides whether a folder can be resumed)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def open_folder(folder: Path, command: str, spec: dict[str, Any], source: str, n_tasks: int) -> dict[str, Any]:
    """Start an output folder, or reopen one that holds the same spec.

    Raises:
        StoreError: If the folder holds another spec or files that are not an explore run's.
    """
    if (folder / MANIFEST).exists():
        manifest = read_manifest(folder)
        if manifest.get("fingerprint") != fingerprint(spec) or manifest.get("command") != command:
            raise StoreError(
                f"{folder} holds results of a different spec ('{manifest.get('name')}'); "
                "choose another --out folder or remove it."
            )
        if manifest.get("model") != model_fingerprint():
            raise StoreError(other_model(folder))
        return manifest
    if folder.exists() and any(not p.name.startswith(".") for p in folder.iterdir()):
        raise StoreError(f"{folder} exists and is not a {command} folder; choose another --out folder.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.toml").write_text(source)
    manifest = {
        "command": command,
        "name": spec.get("name"),
        "spec": spec,
        "fingerprint": fingerprint(spec),
        "model": model_fingerprint(),
        "n_tasks": n_tasks,
        "tasks": {},
        "complete": False,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def run_tasks(
    folder: Path,
    command: str,
    spec: dict[str, Any],
    source: str,
    n_tasks: int,
    compute: Compute,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the tasks of a command into ``folder``; return the manifest.

    Args:
        folder: Output folder.
        command: Command name (``compare``, ``trial`` ...), stored in the manifest.
        spec: The checked spec as a JSON-able dict (its fingerprint guards resuming).
        source: The spec's TOML text, copied to ``spec.toml``.
        n_tasks: Number of tasks.
        compute: Computes the tables of one task.
        quiet: No progress bar.
    """
    manifest = open_folder(folder, command, spec, source, n_tasks)
    remove_leftovers(folder)
    pending = [t for t in range(n_tasks) if str(t) not in manifest["tasks"]]
    name = str(spec.get("name", command))
    with tqdm(
        total=n_tasks, initial=n_tasks - len(pending), unit="task", desc=name, disable=quiet, file=sys.stderr
    ) as bar:
        for task in pending:
            start = time.perf_counter()
            tables = compute(task)
            shards = {t: write_shard(df, shard_path(folder, t, task)) for t, df in tables.items()}
            manifest["tasks"][str(task)] = {"seconds": round(time.perf_counter() - start, 4), "tables": shards}
            manifest["complete"] = len(manifest["tasks"]) == n_tasks
            write_json_atomic(folder / MANIFEST, manifest)
            bar.update(1)
    return manifest


def load_table(folder: Path, table: str) -> pd.DataFrame:
    """A table of a finished run: its shards in task order, concatenated."""
    parts = sorted((folder / table).glob("part-*.parquet"))
    if not parts:
        raise StoreError(f"{folder} has no '{table}' table; run the command first.")
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
