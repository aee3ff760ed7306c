"""The ensemble of a history matching: parameter sets of the final region, each checked by simulation.

A member is a parameter set that passes every matched check when simulated: every virtual study on
the validation's root seed (``check_seed``: out of sample for the matching) with
``check_replications`` replications, every pass rule applied as ``rupture-sim validate`` applies
it. Members come from two sources, in this order (``ensemble_plan`` decides, ``build_ensemble``
runs what it asks for):

1. **Draws from the region**: a seeded random order of the final region sample (uniform in the
   region), checked in batches of ``min(ensemble_size, SCOUTS)`` until the ensemble is full, the
   candidates run out, or the draws pass too rarely: fewer than ``WALK_BELOW`` of them after
   ``SCOUTS``. A passing set much thinner than the region (history matching run 1: 0 of 20) is
   not worth sampling blind.
2. **A walk** through the passing set (ABC-MCMC with an indicator kernel, Marjoram et al. 2003,
   PNAS 100:15324): ``CHAINS`` chains start from the passing draws, and from the defaults when
   fewer draws pass than there are chains (checked by simulation first). Each step proposes the
   chain's point plus a normal step of SD ``walk_step`` on every unit-cube axis; a proposal
   outside the prior box is refused unsimulated, one inside is simulated, and the chain moves there
   if it passes every matched check (it is then a member). With a uniform prior and a symmetric
   step, the chains' stationary distribution is the prior restricted to the passing set. The
   passing set lies inside the non-implausible region (a pass rule is narrower than the cut-off of
   3), so members are drawn from the final region without asking the emulators, which misplace a
   set this thin (run 1).

Everything stops at ``ensemble_size`` members, or at ``WALK_TRIES`` x that many simulated
candidates (draws, the defaults and the walk's proposals together). Every random choice is
seeded; each result is stored as it completes (``ensemble/points/NNNN.json`` for draws,
``ensemble/walk/*.json`` for the walk), and the plan is replayed from the stored results, so a
rerun resumes where it stopped and gives the same files.

Written: ``ensemble/candidates.csv``, the results, ``ensemble_checked.csv`` (every simulated
candidate: origin, chain, parameters, checks passed, each check's pass), ``ensemble.csv`` (the
members in a seeded random order: ``member`` then the varied parameters; what ``--ensemble-file``
reads) and ``ensemble.json`` (counts, the walk's acceptance, the central member: the one closest to
the members' per-parameter medians on the search scale).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.parameters import SPECS
from simulation.sweep.store import write_bytes_atomic
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.emulator import CUTOFF, Emulator, implausibility_matrix, observation
from simulation.validation.calibrate.history import (
    ENSEMBLE_TRIES,
    WALK_TRIES,
    Settings,
    Timings,
    _json,
    _rng,
    _write_csv,
    csv_bytes,
    run_points,
)

#: Draws from the region checked before deciding whether they pass often enough.
SCOUTS = 20
#: Below this share of passing draws (after ``SCOUTS``) the ensemble walks instead of drawing.
WALK_BELOW = 0.2
#: Chains of the walk (one proposal each per round: a round's proposals run together on the workers).
CHAINS = 2

ENSEMBLE_CSV, ENSEMBLE_JSON, CHECKED_CSV = "ensemble.csv", "ensemble.json", "ensemble_checked.csv"
ENSEMBLE_WHERE, DEFAULTS_KEY = "ensemble", "walk/defaults"


@dataclass(frozen=True)
class Checked:
    """One candidate of the ensemble: where it came from, its unit-cube point and its stored result.

    Attributes:
        origin: "region" (a draw), "defaults" (a walk's start) or "walk" (a proposal).
        key: Its result's file under ``ensemble/`` without ``.json`` (``points/0007``, ``walk/c1-0012``).
        u: Unit-cube coordinates.
        record: The stored ``history.point_record``; None for a proposal outside the prior box (not simulated).
        chain: The walk's chain (-1 for a draw and for the defaults).
    """

    origin: str
    key: str
    u: np.ndarray
    record: dict[str, Any] | None
    chain: int = -1


@dataclass
class Plan:
    """The ensemble so far, replayed from stored results, and what to simulate next (nothing: finished)."""

    checked: list[Checked] = field(default_factory=list)
    todo: list[tuple[str, np.ndarray]] = field(default_factory=list)


def defaults_unit(settings: Settings) -> np.ndarray | None:
    """The defaults on the unit cube of the matching, or None if one lies outside its range."""
    u = np.array([axis.unit(float(SPECS[axis.name].default)) for axis in settings.axes])
    return u if np.all((u >= 0) & (u <= 1)) else None


def ensemble_plan(settings: Settings, candidates: np.ndarray, load: Callable[[str], dict[str, Any] | None]) -> Plan:
    """Replay the ensemble's rules over the stored results (``load(key)``, None if not run); see the module doc."""
    plan = Plan()
    size, budget = settings.ensemble_size, WALK_TRIES * settings.ensemble_size
    if not _draws(settings, candidates, load, plan) or _members(settings, plan) >= size:
        return plan
    starts = [c.u for c in plan.checked if accepted(settings, c.record)]
    defaults = defaults_unit(settings)
    if len(starts) < CHAINS and defaults is not None:
        record = load(DEFAULTS_KEY)
        if record is None:
            plan.todo = [(DEFAULTS_KEY, defaults)]
            return plan
        plan.checked.append(Checked("defaults", DEFAULTS_KEY, defaults, record))
        if accepted(settings, record):
            starts.append(defaults)
    if starts:
        _walk(settings, [starts[c % len(starts)] for c in range(CHAINS)], load, plan, budget)
    return plan


def _draws(settings: Settings, candidates: np.ndarray, load: Callable[[str], Any], plan: Plan) -> bool:
    """Add the checked draws from the region to ``plan``; False if a batch is still to run (``plan.todo``)."""
    size, drawn = settings.ensemble_size, 0
    batch = max(1, min(size, SCOUTS))
    while drawn < len(candidates) and _members(settings, plan) < size:
        if drawn >= SCOUTS and _members(settings, plan) < WALK_BELOW * drawn:
            break
        keys = [f"points/{i:04d}" for i in range(drawn, min(drawn + batch, len(candidates)))]
        records = [load(k) for k in keys]
        for i, (key, record) in enumerate(zip(keys, records, strict=True)):
            if record is None:
                plan.todo.append((key, candidates[drawn + i]))
            else:
                plan.checked.append(Checked("region", key, candidates[drawn + i], record))
        if plan.todo:
            return False
        drawn += len(keys)
    return True


def _walk(settings: Settings, chains: list[np.ndarray], load: Callable[[str], Any], plan: Plan, budget: int) -> None:
    """Replay the walk's rounds from ``chains``' starts; leave the first round not yet run in ``plan.todo``."""
    simulated = sum(c.record is not None for c in plan.checked)
    step, d, sd = 0, len(settings.axes), settings.walk_step
    while _members(settings, plan) < settings.ensemble_size and simulated < budget:
        proposals = [here + _rng(settings, 98, c, step).normal(0.0, sd, d) for c, here in enumerate(chains)]
        keys = [f"walk/c{c}-{step:04d}" for c in range(len(chains))]
        inside = [bool(np.all((p >= 0) & (p <= 1))) for p in proposals]
        records = [load(k) if ok else None for k, ok in zip(keys, inside, strict=True)]
        plan.todo = [(k, p) for k, p, ok, r in zip(keys, proposals, inside, records, strict=True) if ok and r is None]
        if plan.todo:
            return
        for c, (key, p, record) in enumerate(zip(keys, proposals, records, strict=True)):
            plan.checked.append(Checked("walk", key, p, record, c))
            if accepted(settings, record):
                chains[c] = p
        simulated += sum(inside)
        step += 1


def _members(settings: Settings, plan: Plan) -> int:
    return sum(accepted(settings, c.record) for c in plan.checked)


def accepted(settings: Settings, record: dict[str, Any] | None) -> bool:
    """Whether a checked candidate passed every matched check: a member of the ensemble."""
    return record is not None and settings.passes(record)


def strictly_non_implausible(settings: Settings, waves: list[dict[str, Emulator]], x: np.ndarray) -> np.ndarray:
    """Whether every matched check's implausibility is at most the cut-off under every wave's emulators."""
    observations = {c: observation(targets_module.CHECKS[c]) for c in settings.matched}
    ok = np.ones(len(x), dtype=bool)
    for emulators in waves:
        values = implausibility_matrix(emulators, observations, x, settings.check_replications, settings.matched)
        ok &= np.all(np.nan_to_num(values, nan=0.0) <= CUTOFF, axis=1)
    return ok


def _candidates(settings: Settings, where: Path, region: np.ndarray, waves: list[dict[str, Emulator]]) -> np.ndarray:
    """The draws in the order they are tried (written once, then read back), on the unit cube.

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
    return read_candidates(settings, path)


def read_candidates(settings: Settings, path: Path) -> np.ndarray:
    """The stored draws' unit-cube points."""
    frame = pd.read_csv(path)
    return frame[[f"u_{n}" for n in settings.names]].to_numpy(float).reshape(-1, len(settings.axes))


def stored_loader(folder: Path) -> Callable[[str], dict[str, Any] | None]:
    """``load(key)`` for ``ensemble_plan``: a stored result under ``folder/ensemble``, or None.

    Each replay of the plan asks for every result so far, so a file is read once and kept; a missing one is
    looked for again (it may be written in between).
    """
    stored: dict[str, dict[str, Any]] = {}

    def load(key: str) -> dict[str, Any] | None:
        path = folder / ENSEMBLE_WHERE / f"{key}.json"
        if key not in stored and path.exists():
            stored[key] = json.loads(path.read_text())
        return stored.get(key)

    return load


def build_ensemble(
    settings: Settings,
    folder: Path,
    region: np.ndarray,
    waves: list[dict[str, Emulator]],
    workers: int,
    timings: Timings,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Run the ensemble's plan until it is finished; write its files and return its summary."""
    where = folder / ENSEMBLE_WHERE
    for sub in ("points", "walk"):
        (where / sub).mkdir(parents=True, exist_ok=True)
    candidates = _candidates(settings, where, region, waves)
    load = stored_loader(folder)
    plan = ensemble_plan(settings, candidates, load)
    while plan.todo:
        members = _members(settings, plan)
        say(
            f"ensemble: {members} of {settings.ensemble_size} members after {len(plan.checked)} candidates; "
            f"checking {len(plan.todo)} more by simulation ({plan.todo[0][0].split('/')[0]})"
        )

        def done(key: str, record: dict[str, Any], seconds: float) -> None:
            write_bytes_atomic(where / f"{key}.json", _json(record))
            timings.point(f"ensemble/{key}", seconds)
            say(f"ensemble {key}: {'passes every check' if accepted(settings, record) else 'fails a check'}")

        run_points(
            settings,
            [(key, settings.params(u)) for key, u in plan.todo],
            settings.check_seed,
            settings.check_replications,
            workers,
            done,
        )
        plan = ensemble_plan(settings, candidates, load)
    return write_ensemble(settings, folder, plan.checked)


def write_ensemble(settings: Settings, folder: Path, checked: list[Checked]) -> dict[str, Any]:
    """Write ``ensemble_checked.csv``, ``ensemble.csv`` and ``ensemble.json``; return the ensemble's summary."""
    files, summary = ensemble_files(settings, checked)
    for name, data in files.items():
        write_bytes_atomic(folder / name, data)
    return summary


def ensemble_files(settings: Settings, checked: list[Checked]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The bytes of ``ensemble_checked.csv``, ``ensemble.csv`` and ``ensemble.json`` from the checked candidates.

    Returns:
        The files by name, and the ensemble's summary (what ``ensemble.json`` holds).
    """
    simulated = [c for c in checked if c.record is not None]
    rows = []
    for i, c in enumerate(simulated):
        passes = {f"pass_{k}": bool(v["passed"]) for k, v in c.record["checks"].items()}
        rows.append({"candidate": i, "origin": c.origin, "chain": c.chain, "key": c.key,
                     **settings.params(c.u), "checks_passed": sum(passes.values()),
                     "passed_all": accepted(settings, c.record), **passes})  # fmt: skip
    columns = ["candidate", "origin", "chain", "key", *settings.names, "checks_passed", "passed_all"]
    table_checked = pd.DataFrame(rows, columns=columns + [f"pass_{k}" for k in settings.checks])
    members = [c for c in simulated if accepted(settings, c.record)][: settings.ensemble_size]
    order = _rng(settings, 97).permutation(len(members))  # the file's order is a random draw (first N = a subset)
    members = [members[i] for i in order]
    params = [settings.params(c.u) for c in members]
    table = pd.DataFrame({"member": range(len(members)), **{n: [p[n] for p in params] for n in settings.names}})
    central = None
    if members:
        unit = np.array([c.u for c in members])
        central = int(np.argmin(np.sum((unit - np.median(unit, axis=0)) ** 2, axis=1)))
    summary = {
        "wanted": settings.ensemble_size,
        "members": len(members),
        "candidates_checked": len(simulated),
        "acceptance": float(np.mean([accepted(settings, c.record) for c in simulated])) if simulated else None,
        "region_draws": _counts(settings, [c for c in simulated if c.origin == "region"]),
        "walk": _walk_summary(settings, checked),
        "check_replications": settings.check_replications,
        "check_seed": settings.check_seed,
        "central_member": central,
        "central_params": None if central is None else {n: float(table[n].iloc[central]) for n in settings.names},
        "left_out": list(settings.left_out),
        "spread": _spread(settings, members),
        "per_check_pass_share": {k: float(table_checked[f"pass_{k}"].mean()) for k in settings.checks if rows},
    }
    files = {CHECKED_CSV: csv_bytes(table_checked), ENSEMBLE_CSV: csv_bytes(table), ENSEMBLE_JSON: _json(summary)}
    return files, summary


def _spread(settings: Settings, members: list[Checked]) -> dict[str, dict[str, float]]:
    """Per parameter, the members' median and central 90%, and that interval's share of the prior range."""
    if not members:
        return {}
    unit = np.array([c.u for c in members])
    out = {}
    for i, axis in enumerate(settings.axes):
        q05, q50, q95 = np.quantile(unit[:, i], [0.05, 0.5, 0.95])
        values = axis.value(np.array([q05, q50, q95]))
        out[axis.name] = {"q05": float(values[0]), "median": float(values[1]), "q95": float(values[2]),
                          "share_of_range": float(q95 - q05)}  # fmt: skip
    return out


def _counts(settings: Settings, checked: list[Checked]) -> dict[str, Any]:
    passed = sum(accepted(settings, c.record) for c in checked)
    return {"checked": len(checked), "passed": passed, "acceptance": passed / len(checked) if checked else None}


def _walk_summary(settings: Settings, checked: list[Checked]) -> dict[str, Any]:
    """The walk's counts: steps, proposals refused outside the prior box, proposals simulated and accepted."""
    steps = [c for c in checked if c.origin == "walk"]
    defaults = [c for c in checked if c.origin == "defaults"]
    return {
        "step_sd": settings.walk_step,
        "chains": len({c.chain for c in steps}),
        "defaults_checked": bool(defaults),
        "defaults_pass": bool(defaults) and accepted(settings, defaults[0].record),
        "steps": len(steps),
        "outside_prior": sum(c.record is None for c in steps),
        **_counts(settings, [c for c in steps if c.record is not None]),
    }
