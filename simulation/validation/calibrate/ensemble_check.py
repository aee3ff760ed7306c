"""The ensemble of a history matching: parameter sets drawn from the final region, each checked by simulation.

Candidates are a seeded random order of the final region sample (uniform in the
region). They run in batches of ``ensemble_size``, every virtual study on the
validation's root seed (``check_seed``: out of sample for the matching) with
``check_replications`` replications, and every pass rule is applied as
``rupture-sim validate`` applies it. A candidate that passes every matched check
is a member; batches continue until ``ensemble_size`` members, or
``ENSEMBLE_TRIES`` x that many candidates, or the region sample, are used up.
Each candidate's result is stored as it completes (resumable).

Written: ``ensemble/candidates.csv``, ``ensemble/points/*.json``,
``ensemble_checked.csv`` (every candidate: parameters, checks passed, each check's
pass), ``ensemble.csv`` (the members: one row each, ``member`` then the varied
parameters; what ``--ensemble-file`` reads) and ``ensemble.json`` (counts, the
central member: the one closest to the members' per-parameter medians).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.sweep.store import write_bytes_atomic
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.emulator import CUTOFF, Emulator, implausibility_matrix, observation
from simulation.validation.calibrate.history import (
    ENSEMBLE_TRIES,
    Settings,
    Timings,
    _json,
    _rng,
    _write_csv,
    csv_bytes,
    run_points,
)


def strictly_non_implausible(settings: Settings, waves: list[dict[str, Emulator]], x: np.ndarray) -> np.ndarray:
    """Whether every matched check's implausibility is at most the cut-off under every wave's emulators."""
    observations = {c: observation(targets_module.CHECKS[c]) for c in settings.matched}
    ok = np.ones(len(x), dtype=bool)
    for emulators in waves:
        values = implausibility_matrix(emulators, observations, x, settings.check_replications, settings.matched)
        ok &= np.all(np.nan_to_num(values, nan=0.0) <= CUTOFF, axis=1)
    return ok


ENSEMBLE_CSV, ENSEMBLE_JSON, CHECKED_CSV = "ensemble.csv", "ensemble.json", "ensemble_checked.csv"


def _candidates(settings: Settings, where: Path, region: np.ndarray, waves: list[dict[str, Emulator]]) -> pd.DataFrame:
    """The candidates in the order they are tried (written once, then read back).

    The region sample's points whose *largest* implausibility is at most the cut-off under every wave (every
    check, not all but one) come first, in a seeded random order; the rest of the region follows.
    """
    path = where / "candidates.csv"
    if not path.exists():
        strict = strictly_non_implausible(settings, waves, region)
        rng = _rng(settings, 99)
        order = np.concatenate([rng.permutation(np.flatnonzero(strict)), rng.permutation(np.flatnonzero(~strict))])
        order = order[: ENSEMBLE_TRIES * settings.ensemble_size].astype(int)
        u = region[order].reshape(-1, len(settings.axes))
        frame = pd.DataFrame({f"u_{n}": u[:, i] for i, n in enumerate(settings.names)})
        for n in settings.names:
            frame[n] = [settings.params(row)[n] for row in u] if len(u) else []
        _write_csv(path, frame)
    return pd.read_csv(path)


def build_ensemble(
    settings: Settings,
    folder: Path,
    region: np.ndarray,
    waves: list[dict[str, Emulator]],
    workers: int,
    timings: Timings,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Check candidates from the final region by simulation until the ensemble is full; write its files."""
    where = folder / "ensemble"
    (where / "points").mkdir(parents=True, exist_ok=True)
    candidates = _candidates(settings, where, region, waves)
    u = candidates[[f"u_{n}" for n in settings.names]].to_numpy(float)
    size = settings.ensemble_size

    def stored(i: int) -> dict[str, Any] | None:
        path = where / "points" / f"{i:04d}.json"
        return json.loads(path.read_text()) if path.exists() else None

    start = 0
    while start < len(u):
        records = [stored(i) for i in range(start)]
        if sum(accepted(settings, r) for r in records) >= size:
            break
        batch = range(start, min(start + size, len(u)))
        todo = [(f"{i:04d}", settings.params(u[i])) for i in batch if stored(i) is None]
        if todo:
            say(f"ensemble: checking {len(todo)} candidates from the final region by simulation")

            def done(key: str, record: dict[str, Any], seconds: float) -> None:
                write_bytes_atomic(where / "points" / f"{key}.json", _json(record))
                timings.point(f"ensemble/{key}", seconds)
                say(f"ensemble candidate {int(key) + 1}: {'member' if accepted(settings, record) else 'fails a check'}")

            run_points(settings, todo, settings.check_seed, settings.check_replications, workers, done)
        start = batch.stop
    records = [r for r in (stored(i) for i in range(len(u))) if r is not None]
    return write_ensemble(settings, folder, candidates.iloc[: len(records)], records)


def accepted(settings: Settings, record: dict[str, Any]) -> bool:
    """Whether a checked candidate passed every matched check: a member of the ensemble."""
    return settings.passes(record)


def checked_by_rule(passed: list[bool], size: int, total: int) -> int | None:
    """How many of ``total`` candidates ``build_ensemble`` checks, given the verdicts of those checked so far.

    Its rule: batches of ``size`` until ``size`` members are found or the candidates run out. None if
    the rule asks for more candidates than ``passed`` holds (the ensemble is unfinished).
    """
    start = 0
    while start < total and sum(passed[:start]) < size:
        start = min(start + size, total)
        if start > len(passed):
            return None
    return start


def write_ensemble(
    settings: Settings, folder: Path, candidates: pd.DataFrame, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Write ``ensemble_checked.csv``, ``ensemble.csv`` and ``ensemble.json``; return the ensemble's summary."""
    files, summary = ensemble_files(settings, candidates, records)
    for name, data in files.items():
        write_bytes_atomic(folder / name, data)
    return summary


def ensemble_files(
    settings: Settings, candidates: pd.DataFrame, records: list[dict[str, Any]]
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The bytes of ``ensemble_checked.csv``, ``ensemble.csv`` and ``ensemble.json`` from the checked candidates.

    Returns:
        The files by name, and the ensemble's summary (what ``ensemble.json`` holds).
    """
    rows = []
    for i, record in enumerate(records):
        passes = {f"pass_{c}": bool(v["passed"]) for c, v in record["checks"].items()}
        rows.append(
            {
                "candidate": i,
                **{n: candidates[n].iloc[i] for n in settings.names},
                "checks_passed": sum(passes.values()),
                "passed_all": accepted(settings, record),
                **passes,
            }
        )
    checked = pd.DataFrame(rows, columns=["candidate", *settings.names, "checks_passed", "passed_all"] + [
        f"pass_{c}" for c in settings.checks])  # fmt: skip
    members = checked[checked["passed_all"].astype(bool)].head(settings.ensemble_size)
    table = pd.DataFrame({"member": range(len(members)), **{n: members[n].to_numpy() for n in settings.names}})
    central = None
    if len(members):
        unit = candidates[[f"u_{n}" for n in settings.names]].to_numpy(float)[members["candidate"].to_numpy()]
        distance = np.sum((unit - np.median(unit, axis=0)) ** 2, axis=1)
        central = int(np.argmin(distance))
    summary = {
        "wanted": settings.ensemble_size,
        "members": len(members),
        "candidates_checked": len(checked),
        "acceptance": float(checked["passed_all"].mean()) if len(checked) else None,
        "check_replications": settings.check_replications,
        "check_seed": settings.check_seed,
        "central_member": central,
        "central_params": None if central is None else {n: float(table[n].iloc[central]) for n in settings.names},
        "left_out": list(settings.left_out),
        "per_check_pass_share": {c: float(checked[f"pass_{c}"].mean()) for c in settings.checks if len(checked)},
    }
    return {CHECKED_CSV: csv_bytes(checked), ENSEMBLE_CSV: csv_bytes(table), ENSEMBLE_JSON: _json(summary)}, summary
