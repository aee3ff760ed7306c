"""Replicate every virtual study, apply the pass rules, and return one row per check.

``run_validation`` runs each study of ``studies.STUDIES`` (held-out targets
included: they are computed and reported, column ``held_out``) for many replications
(seeds derived from one root seed, so the whole validation is reproducible and
uses common random numbers across candidate parameter sets), on a pool of
spawned worker processes, and evaluates every check of ``targets.TARGETS`` on
the simulated sampling distribution of its statistic. It can run a subset of
the targets (only the studies that serve them) and run a study with another
design than its shipped one (an edited copy of its design file); the seeds of a
study depend on its name only, so an edited design runs on the same seeds.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.parameters import Parameters
from simulation.validation.checks import evaluate
from simulation.validation.designs import Design, DesignError, design_changes
from simulation.validation.studies import STUDIES
from simulation.validation.targets import TARGETS, select_targets
from simulation.workers import pool_options, shut_down

#: Replications per study of a full run and of a quick run.
FULL_REPLICATIONS = 1000
QUICK_REPLICATIONS = 100
#: Default root seed.
DEFAULT_SEED = 2026
#: Columns of the result table (besides ``values``).
COLUMNS = (
    "target",
    "check",
    "finding",
    "statistic",
    "confidence",
    "published",
    "rule",
    "median",
    "q05",
    "q95",
    "n_valid",
    "replications",
    "passed",
    "target_passed",
    "held_out",
    "companions",
)


def replication_seed(root: int, study: str, replication: int) -> int:
    """Seed of one replication of one study: a hash of the root seed, the study's name and the replication."""
    state = np.random.SeedSequence([root, zlib.crc32(study.encode()), replication]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _run_chunk(
    study: str, seeds: list[int], size_factor: float, params: dict[str, float], design: Design | None = None
) -> tuple[str, list[dict[str, float]]]:
    """Run one study for a list of replication seeds (the unit of work of the pool)."""
    run = STUDIES[study].run
    return study, [run(seed, size_factor, params, design) for seed in seeds]


def studies_for(targets: Iterable[str]) -> tuple[str, ...]:
    """The studies that serve any of ``targets`` (checked target ids), in ``STUDIES`` order."""
    wanted = set(targets)
    return tuple(name for name, study in STUDIES.items() if wanted & set(study.targets))


def chosen_targets(targets: Iterable[str] | str | None, designs: Iterable[Design] = ()) -> tuple[str, ...]:
    """The targets a validation runs: ``targets``, else the targets of the given designs, else every target."""
    if targets is not None:
        return select_targets(targets)
    designs = list(designs)
    if designs:
        return select_targets(t for design in designs for t in design.targets)
    return tuple(t.id for t in TARGETS)


def _design_map(designs: Sequence[Design] | Mapping[str, Design] | None) -> dict[str, Design]:
    """Designs by study name; two designs of one study are an error."""
    if isinstance(designs, Mapping):
        return dict(designs)
    out: dict[str, Design] = {}
    for design in designs or ():
        if design.name in out:
            raise DesignError(
                f"{out[design.name].path} and {design.path} are both designs of study {design.name}; give one."
            )
        out[design.name] = design
    return out


def simulate_studies(
    replications: int,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, float] | None = None,
    workers: int = 2,
    size_factor: float = 1.0,
    studies: tuple[str, ...] | None = None,
    designs: Mapping[str, Design] | None = None,
) -> dict[str, pd.DataFrame]:
    """The replication values of each study: one row per replication, one column per statistic.

    Args:
        replications: Replications per study.
        seed: Root seed.
        params: Candidate parameter overrides (validated first).
        workers: Worker processes (1 runs in this process).
        size_factor: Scales every study's sample size.
        studies: Study names (default: all).
        designs: Designs that replace the shipped design of their study, by study name.

    Returns:
        A DataFrame per study, rows in replication order (the same whatever ``workers``).
    """
    params = dict(params or {})
    Parameters(params)  # a bad name or value fails here, before any work
    names = studies or tuple(STUDIES)
    designs = dict(designs or {})
    seeds = {name: [replication_seed(seed, name, r) for r in range(replications)] for name in names}
    chunk = max(1, math.ceil(replications / (4 * workers)))
    tasks = [(name, seeds[name][i : i + chunk]) for name in names for i in range(0, replications, chunk)]
    rows: dict[str, list[list[dict[str, float]]]] = {name: [] for name in names}
    if workers <= 1:
        for name, block in tasks:
            rows[name].append(_run_chunk(name, block, size_factor, params, designs.get(name))[1])
    else:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, **pool_options())
        finished = False
        try:
            futures = [
                pool.submit(_run_chunk, name, block, size_factor, params, designs.get(name)) for name, block in tasks
            ]
            for future in futures:  # in submission order: replication order is kept
                name, result = future.result()
                rows[name].append(result)
            finished = True
        finally:
            shut_down(pool, finished)
    frames = {}
    for name in names:
        frame = pd.DataFrame([r for block in rows[name] for r in block])
        frame.index.name = "replication"
        frames[name] = frame
    return frames


def evaluate_checks(frames: Mapping[str, pd.DataFrame], targets: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per check: the simulated median and central 90% interval, and whether the rule holds.

    Args:
        frames: Replication values by study (``simulate_studies``); checks of other studies are left out.
        targets: Only the checks of these targets (default: all).
    """
    wanted = None if targets is None else set(targets)
    records: list[dict[str, Any]] = []
    for target in TARGETS:
        if wanted is not None and target.id not in wanted:
            continue
        for check in target.checks:
            if check.study not in frames:
                continue
            frame = frames[check.study]
            values = frame[check.statistic].to_numpy(dtype=float)
            verdict = evaluate(check, values)
            companions = "; ".join(
                f"{label} {np.nanmedian(frame[key]):.3g}" for key, label in check.companions if frame[key].notna().any()
            )
            records.append(
                {
                    "target": target.id,
                    "check": check.id,
                    "finding": target.finding,
                    "statistic": check.label,
                    "confidence": target.confidence,
                    "published": check.published_text(),
                    "rule": check.rule_text(),
                    "median": verdict.median,
                    "q05": verdict.q05,
                    "q95": verdict.q95,
                    "n_valid": verdict.n_valid,
                    "replications": len(values),
                    "passed": verdict.passed,
                    "held_out": target.held_out,
                    "companions": companions,
                    "values": values,
                }
            )
    table = pd.DataFrame.from_records(records)
    if len(table):
        table["target_passed"] = table.groupby("target")["passed"].transform("all")
    return table[[*COLUMNS, "values"]] if len(table) else table


def run_validation(
    quick: bool = False,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, float] | None = None,
    workers: int = 2,
    replications: int | None = None,
    size_factor: float = 1.0,
    targets: Iterable[str] | None = None,
    designs: Sequence[Design] | Mapping[str, Design] | None = None,
) -> pd.DataFrame:
    """Run the virtual studies and evaluate the targets (all of them, or a subset).

    Args:
        quick: Fewer replications (``QUICK_REPLICATIONS`` instead of ``FULL_REPLICATIONS``).
        seed: Root seed of the replication seeds.
        params: Candidate parameter overrides (the defaults if omitted); study designs win over them.
        workers: Worker processes (spawned; 1 runs in this process).
        replications: Replications per study (overrides ``quick``; e.g. a tiny smoke run).
        size_factor: Scales every study's sample size (1 = the designs as declared).
        targets: Target ids to evaluate (e.g. ``["T7", "T12"]``; ``"t07"`` is read as ``T7``); only the
            studies that serve them run. Default: every target, or with ``designs`` the targets of
            the designs' studies.
        designs: Design files (``designs.load_design``) that replace the shipped design of their study.

    Returns:
        One row per check of the evaluated targets (columns ``COLUMNS``; ``values`` holds
        the replication values for the figures). ``attrs["meta"]`` records replications, seed,
        parameters, workers, wall time, the targets run (``targets``, ``subset``) and each
        study run with its design file and how that differs from the shipped one (``studies``).

    Raises:
        ParameterError: For an unknown parameter or a value out of range.
        TargetError: For an unknown target id.
        DesignError: For two designs of one study, or a design of a study that serves none of ``targets``.
    """
    by_study = _design_map(designs)
    chosen = chosen_targets(targets, by_study.values())
    names = studies_for(chosen)
    for name, design in by_study.items():
        if name not in names:
            raise DesignError(
                f"{design.path} is a design of study {name} ({', '.join(design.targets)}), which the selected "
                f"targets ({', '.join(chosen)}) do not use; select its targets too or leave the design out."
            )
    n = replications or (QUICK_REPLICATIONS if quick else FULL_REPLICATIONS)
    start = time.perf_counter()
    frames = simulate_studies(
        n, seed=seed, params=params, workers=workers, size_factor=size_factor, studies=names, designs=by_study
    )
    table = evaluate_checks(frames, chosen)
    table.attrs["meta"] = {
        "replications": n,
        "quick": quick,
        "seed": seed,
        "params": dict(params or {}),
        "workers": workers,
        "size_factor": size_factor,
        "seconds": time.perf_counter() - start,
        "targets": list(chosen),
        "subset": len(chosen) < len(TARGETS),
        "studies": [study_summary(name, by_study.get(name)) for name in names],
    }
    return table


def study_summary(name: str, design: Design | None = None) -> dict[str, Any]:
    """What the report says about a study that ran: its design file and how it differs from the shipped one.

    Args:
        name: The study.
        design: The design it ran with, if not the shipped one.
    """
    shipped = STUDIES[name].design
    used = design or shipped
    return {
        "name": name,
        "targets": list(used.targets),
        "channels": list(used.channels),
        "source": used.source,
        "description": used.description,
        "file": used.path,
        "shipped": design is None,
        "changes": design_changes(used, shipped),
    }
