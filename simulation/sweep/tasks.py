"""Folders of work split into tasks (explore commands, robustness): shards with a manifest, resumable.

A command splits its work into numbered *tasks* whose results depend only on
the spec and the task number. Each finished task writes one shard per table
(atomically, ``sweep.chunks.write_shard``) and is then recorded in
``manifest.json`` with each shard's size, sha256 and rows (rewritten
atomically, ``sweep.store.write_json_atomic``). Layout::

    spec.toml        the spec as read; the manifest records its sha256 and the spec's fingerprint
    manifest.json    command, spec, fingerprint, model, one record per finished task, derived files, complete
    TABLE/part-*.parquet   one shard per task and table
    *.csv, *.png, summary.md   derived files (recorded in the manifest when the run finishes)

The folder is under the same discipline as a sweep's (``sweep.store``): one
writer at a time (``outputs.folder_lock``, held from opening to ``finish``);
nothing in it is trusted on resume: every recorded shard is checked (size,
sha256, rows) before its task counts as done, tasks that fail are redone,
files no record names are moved aside into ``unrecorded/``, and a damaged
manifest is rebuilt when ``spec.toml`` shows the folder holds this spec (or
the folder is refused). Tables are read from the recorded shards only.
``complete`` is written by ``finish``, after every derived file. So a run
killed or damaged at any moment and rerun yields exactly the files of an
uninterrupted one. ``verify`` checks a folder without changing it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from simulation.model.version import model_fingerprint
from simulation.outputs import MARKER, folder_lock, write_marker
from simulation.sweep.chunks import file_sha256, shard_path, write_shard
from simulation.sweep.store import (
    ASIDE,
    MANIFEST,
    SPEC_FILE,
    StoreError,
    other_model,
    remove_leftovers,
    shard_problems,
    write_bytes_atomic,
    write_json_atomic,
)

#: A task: its number in, its tables out.
Compute = Callable[[int], dict[str, pd.DataFrame]]
#: Folders of a run that are not tables.
_NOT_TABLES = {"figures", ASIDE}
#: Keys a manifest must hold, with their types, to be used (else it is rebuilt or refused).
_MANIFEST_KEYS = {"command": str, "fingerprint": str, "tasks": dict, "n_tasks": int}


def fingerprint(spec: dict[str, Any]) -> str:
    """SHA-256 of a spec's canonical JSON (what decides whether a folder can be resumed)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_manifest(command: str, spec: dict[str, Any], source: str, n_tasks: int) -> dict[str, Any]:
    """The manifest of a run that has not finished any task; spec, fingerprint and spec.toml's hash from one spec."""
    return {
        "command": command,
        "name": spec.get("name"),
        "spec": spec,
        "fingerprint": fingerprint(spec),
        "spec_sha256": _sha256(source.encode()),
        "model": model_fingerprint(),
        "n_tasks": n_tasks,
        "tasks": {},
        "derived": {},
        "complete": False,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def read_explore_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an explore folder, checked to hold what one must.

    Raises:
        StoreError: If there is none, or it is not a usable explore manifest.
    """
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise StoreError(f"{folder} has no {MANIFEST}.") from None
    except (OSError, ValueError) as err:
        raise StoreError(f"{path} cannot be read ({err.__class__.__name__}).") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"{path} is damaged: it holds {type(manifest).__name__}, not an object.")
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise StoreError(f"{path} is damaged: '{key}' is missing or not of type {kind.__name__}.")
    return manifest


# --- opening and resuming ------------------------------------------------------------------------


def open_folder(folder: Path, command: str, spec: dict[str, Any], source: str, n_tasks: int) -> dict[str, Any]:
    """Start an output folder, or resume one that holds the same spec after checking everything in it.

    The caller holds ``folder_lock(folder)``.

    Returns:
        The manifest to continue from: only tasks whose shards passed the checks are in ``manifest["tasks"]``.

    Raises:
        StoreError: If the folder holds another spec or files that are not this command's, or
            cannot be shown to hold this spec.
    """
    fresh = new_manifest(command, spec, source, n_tasks)
    if not any(not p.name.startswith(".") for p in folder.iterdir()):
        write_marker(folder, command)
        manifest = fresh
    else:
        manifest = _trusted_manifest(folder, command, fresh)
    remove_leftovers(folder)
    if not (folder / SPEC_FILE).is_file() or (folder / SPEC_FILE).read_bytes() != source.encode():
        write_bytes_atomic(folder / SPEC_FILE, source.encode())
    if not (folder / MARKER).exists():
        write_marker(folder, command)
    manifest["tasks"] = _checked_tasks(folder, manifest)
    manifest["derived"] = {}
    manifest["complete"] = False
    _move_aside(folder, manifest)
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def _trusted_manifest(folder: Path, command: str, fresh: dict[str, Any]) -> dict[str, Any]:
    """The folder's manifest if it holds this spec; a fresh one if only ``spec.toml`` shows that; else refuse."""
    try:
        manifest = read_explore_manifest(folder)
    except StoreError as err:
        spec_file = folder / SPEC_FILE
        if spec_file.is_file() and _sha256(spec_file.read_bytes()) == fresh["spec_sha256"]:
            _warn(f"{folder}/{MANIFEST} was missing or damaged; rebuilt it (every task is redone).")
            return fresh
        if not (folder / MANIFEST).exists() and not spec_file.exists():
            raise StoreError(f"{folder} exists and is not a {command} folder; choose another --out folder.") from None
        raise StoreError(
            f"{err} Its {SPEC_FILE} does not show the same spec either, so its shards cannot be trusted; "
            "remove the folder or choose another --out folder."
        ) from None
    if manifest["fingerprint"] != fresh["fingerprint"] or manifest["command"] != command:
        old = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
        new = json.loads(json.dumps(fresh["spec"], default=str))  # as the manifest stores it (tuples as lists)
        differ = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        which = f": {', '.join(differ[:5])} differ" if differ and manifest["command"] == command else ""
        raise StoreError(
            f"{folder} holds results of a different spec ({manifest['command']} '{manifest.get('name')}'{which}); "
            "choose another --out folder or remove it."
        )
    if manifest.get("model") != fresh["model"]:
        raise StoreError(other_model(folder))
    return {**fresh, "started": manifest.get("started", fresh["started"]), "tasks": manifest["tasks"]}


def _checked_tasks(folder: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The task records whose shards are all present, intact and readable (the rest will be redone)."""
    good = {
        key: record
        for key, record in manifest["tasks"].items()
        if _task_number(key, manifest["n_tasks"]) is not None and not task_problems(folder, int(key), record)
    }
    redone = len(manifest["tasks"]) - len(good)
    if redone:
        _warn(f"{redone} recorded task(s) in {folder} failed the checks and will be redone.")
    return good


def task_problems(folder: Path, task: int, record: Any) -> list[str]:
    """What is wrong with one task record and its shards (empty if nothing)."""
    if not isinstance(record, dict) or not isinstance(record.get("tables"), dict) or not record["tables"]:
        return ["the record is malformed"]
    problems = []
    for table, shard in record["tables"].items():
        expected = f"{table}/{shard_path(folder, str(table), task).name}"
        if not isinstance(shard, dict) or shard.get("file") != expected:
            problems.append(f"{expected} has no valid record")
        else:
            problems.extend(shard_problems(folder, shard))
    return problems


def _task_number(key: Any, n_tasks: int) -> int | None:
    try:
        number = int(key)
    except (TypeError, ValueError):
        return None
    return number if str(number) == key and 0 <= number < n_tasks else None


def _recorded_files(manifest: dict[str, Any]) -> set[str]:
    return {
        s["file"]
        for r in manifest["tasks"].values()
        if isinstance(r, dict) and isinstance(r.get("tables"), dict)
        for s in r["tables"].values()
        if isinstance(s, dict) and isinstance(s.get("file"), str)
    }


def table_entries(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Entries of the folder's table folders that no task record names (a table that is a file: its name)."""
    recorded = _recorded_files(manifest)
    tables = {f.split("/", 1)[0] for f in recorded}
    tables |= {p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("part-*.parquet"))}
    found = []
    for table in sorted(tables - _NOT_TABLES):
        directory = folder / table
        if directory.is_dir():
            found += [f"{table}/{p.name}" for p in sorted(directory.iterdir()) if f"{table}/{p.name}" not in recorded]
        elif directory.exists():
            found.append(table)
    return found


def _move_aside(folder: Path, manifest: dict[str, Any]) -> None:
    """Move files no record names out of the table folders into ``unrecorded/`` (a pending task's shard: delete)."""
    moved = []
    for name in table_entries(folder, manifest):
        path = folder / name
        pending = path.name.startswith("part-") and str(_part_number(path.name)) not in manifest["tasks"]
        if pending and _part_number(path.name) is not None and path.is_file():
            path.unlink()
            continue
        _aside(folder, name)
        moved.append(name)
    if moved:
        _warn(f"moved {len(moved)} file(s) no task record names into {folder / ASIDE}: {', '.join(moved)}.")


def _part_number(name: str) -> int | None:
    stem = name.removeprefix("part-").removesuffix(".parquet")
    return int(stem) if stem.isdigit() and name == f"part-{stem}.parquet" else None


def _aside(folder: Path, name: str) -> None:
    aside = folder / ASIDE / name
    aside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(folder / name, aside)


def _warn(message: str) -> None:
    print(f"rupture-sim: {message}", file=sys.stderr)


# --- running -------------------------------------------------------------------------------------


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

    The caller writes its derived files and then calls ``finish``; hold
    ``folder_lock(folder)`` around both (the command line does) so that no other
    writer comes between them.

    Args:
        folder: Output folder.
        command: Command name (``compare``, ``trial`` ...), stored in the manifest.
        spec: The checked spec as a JSON-able dict (its fingerprint guards resuming).
        source: The spec's TOML text, copied to ``spec.toml`` (its hash is in the manifest).
        n_tasks: Number of tasks.
        compute: Computes the tables of one task.
        quiet: No progress bar.
    """
    with folder_lock(folder):
        manifest = open_folder(folder, command, spec, source, n_tasks)
        pending = [t for t in range(n_tasks) if str(t) not in manifest["tasks"]]
        name = str(spec.get("name", command))
        with tqdm(
            total=n_tasks, initial=n_tasks - len(pending), unit="task", desc=name, disable=quiet, file=sys.stderr
        ) as bar:
            for task in pending:
                start = time.perf_counter()
                tables = compute(task)
                shards = {t: write_shard(df, _table_folder(folder, t) / shard_path(folder, t, task).name)
                          for t, df in tables.items()}  # fmt: skip
                manifest["tasks"][str(task)] = {"seconds": round(time.perf_counter() - start, 4), "tables": shards}
                write_json_atomic(folder / MANIFEST, manifest)
                bar.update(1)
    return manifest


def _table_folder(folder: Path, table: str) -> Path:
    """The folder of a table's shards (a file in its place is moved aside first)."""
    directory = folder / table
    if directory.exists() and not directory.is_dir():
        _aside(folder, table)
    directory.mkdir(exist_ok=True)
    return directory


def finish(folder: Path, manifest: dict[str, Any]) -> None:
    """Record the derived files (every file beside the tables) and mark the run complete: a run's last write."""
    with folder_lock(folder):
        names = derived_files(folder)
        manifest["derived"] = {n: {"file": n, "bytes": (folder / n).stat().st_size, "sha256": file_sha256(folder / n)}
                               for n in names}  # fmt: skip
        manifest["complete"] = len(manifest["tasks"]) == manifest["n_tasks"]
        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json_atomic(folder / MANIFEST, manifest)


def derived_files(folder: Path) -> list[str]:
    """The derived files of a run: every visible file at its top level or in ``figures/`` but the spec and manifest."""
    top = [p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    figures = [f"figures/{p.name}" for p in (folder / "figures").glob("*") if p.is_file()]
    return sorted(n for n in [*top, *figures] if n not in (MANIFEST, SPEC_FILE))


def load_table(folder: Path, table: str) -> pd.DataFrame:
    """A table of a run: its recorded shards in task order, concatenated (files no record names are not read)."""
    try:
        manifest = read_explore_manifest(folder)
    except StoreError:
        manifest = None
    if manifest is None:
        raise StoreError(f"{folder} has no usable {MANIFEST}; run the command first.")
    parts = [
        folder / manifest["tasks"][key]["tables"][table]["file"]
        for key in sorted(manifest["tasks"], key=int)
        if table in manifest["tasks"][key].get("tables", {})
    ]
    if not parts:
        raise StoreError(f"{folder} has no '{table}' table; run the command first.")
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


# --- datasets ------------------------------------------------------------------------------------


def dataset_fingerprint(folder: Path) -> str:
    """SHA-256 of a finished sweep's or sensitivity run's recorded shards (what ``discover`` analyses).

    Raises:
        StoreError: If the folder is not a finished, intact sweep or sensitivity run.
    """
    from simulation.sweep.store import read_manifest
    from simulation.sweep.store import verify as verify_sweep

    manifest = read_manifest(folder)
    if manifest.get("command") == "sensitivity":
        problems, records = verify(folder), manifest.get("tasks", {})
    else:
        problems, records = verify_sweep(folder), manifest.get("chunks", {})
    if problems:
        raise StoreError(
            f"{folder} is not a finished, intact run ({problems[0]}); rerun the command that made it to "
            "finish or repair it first."
        )
    shards = sorted(s["sha256"] for r in records.values() for s in r["tables"].values())
    return _sha256(json.dumps([manifest.get("fingerprint"), shards]).encode())


# --- verification --------------------------------------------------------------------------------


def verify(folder: Path, spec_check: Callable[[str], dict[str, Any]] | None = None) -> list[str]:
    """Check an explore folder; return every problem, one sentence each (empty if none). Never raises.

    Checks the manifest, that its spec matches its fingerprint and ``spec.toml``
    (by hash, and by reading it again with ``spec_check`` when given: a function
    from the TOML text to the stored spec dict), each recorded shard (size,
    checksum, rows), that no file in a table folder lacks a record, the derived
    files, and that the run is complete.
    """
    try:
        manifest = read_explore_manifest(folder)
    except StoreError as err:
        return [str(err)]
    problems = _spec_problems(folder, manifest, spec_check)
    for key, record in sorted(manifest["tasks"].items(), key=lambda kv: _task_number(kv[0], 10**12) or -1):
        number = _task_number(key, manifest["n_tasks"])
        if number is None:
            problems.append(f"task {key}: not a task of this run")
            continue
        problems += [f"task {key}: {p}" for p in task_problems(folder, number, record)]
    problems += [f"{name} is not in the manifest" for name in table_entries(folder, manifest)]
    derived = manifest.get("derived") if isinstance(manifest.get("derived"), dict) else {}
    for shard in derived.values():
        if isinstance(shard, dict) and isinstance(shard.get("file"), str):
            problems += [f"derived file {p}" for p in shard_problems(folder, shard)]
    done, total = len(manifest["tasks"]), manifest["n_tasks"]
    if done != total:
        problems.append(f"incomplete: {done} of {total} tasks finished (rerun the command to resume)")
    elif manifest.get("complete") is not True:
        problems.append("incomplete: every task finished but the tables, summary.md and figures were not recorded")
    return problems


def _spec_problems(
    folder: Path, manifest: dict[str, Any], spec_check: Callable[[str], dict[str, Any]] | None
) -> list[str]:
    """Disagreements between the manifest's spec, its fingerprint and ``spec.toml``."""
    problems = []
    if fingerprint(manifest.get("spec")) != manifest["fingerprint"]:
        problems.append("the manifest's spec does not match its fingerprint")
    try:
        data = (folder / SPEC_FILE).read_bytes()
    except OSError:
        return [*problems, f"{SPEC_FILE} is missing"]
    if _sha256(data) != manifest.get("spec_sha256"):
        problems.append(f"{SPEC_FILE} is not the spec the manifest records (its checksum differs)")
    elif spec_check is not None:
        recorded = manifest["spec"] if isinstance(manifest.get("spec"), dict) else {}
        try:
            parsed = spec_check(data.decode("utf-8-sig"))
            # keys no spec file says (the model a run used, a dataset's fingerprint) are taken as recorded
            parsed = {**{k: v for k, v in recorded.items() if k not in parsed}, **parsed}
            same = fingerprint(parsed) == manifest["fingerprint"]
        except Exception as err:
            problems.append(f"{SPEC_FILE} no longer reads as a spec ({' '.join(str(err).split())[:200]})")
        else:
            if not same:
                problems.append(f"{SPEC_FILE} and the manifest hold different specs")
    return problems
