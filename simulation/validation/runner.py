"""Replicate every virtual study, apply the pass rules, and return one row per check.

``run_validation`` runs each study of ``studies.STUDIES`` for many replications
(seeds derived from one root seed, so the whole validation is reproducible and
uses common random numbers across candidate parameter sets), on a pool of
spawned worker processes, and evaluates every check of ``targets.TARGETS`` on
the simulated sampling distribution of its statistic.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import zlib
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from simulation.parameters import Parameters
from simulation.validation.studies import STUDIES
from simulation.validation.targets import TARGETS, evaluate

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
    "companions",
)


def replication_seed(root: int, study: str, replication: int) -> int:
    """Seed of one replication of one study: a hash of the root seed, the study's name and the replication."""
    state = np.random.SeedSequence([root, zlib.crc32(study.encode()), replication]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _run_chunk(
    study: str, seeds: list[int], size_factor: float, params: dict[str, float]
) -> tuple[str, list[dict[str, float]]]:
    """Run one study for a list of replication seeds (the unit of work of the pool)."""
    run = STUDIES[study].run
    return study, [run(seed, size_factor, params) for seed in seeds]


def simulate_studies(
    replications: int,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, float] | None = None,
    workers: int = 2,
    size_factor: float = 1.0,
    studies: tuple[str, ...] | None = None,
) -> dict[str, pd.DataFrame]:
    """The replication values of each study: one row per replication, one column per statistic.

    Args:
        replications: Replications per study.
        seed: Root seed.
        params: Candidate parameter overrides (validated first).
        workers: Worker processes (1 runs in this process).
        size_factor: Scales every study's sample size.
        studies: Study names (default: all).

    Returns:
        A DataFrame per study, rows in replication order (the same whatever ``workers``).
    """
    params = dict(params or {})
    Parameters(params)  # a bad name or value fails here, before any work
    names = studies or tuple(STUDIES)
    seeds = {name: [replication_seed(seed, name, r) for r in range(replications)] for name in names}
    chunk = max(1, math.ceil(replications / (4 * workers)))
    tasks = [(name, seeds[name][i : i + chunk]) for name in names for i in range(0, replications, chunk)]
    rows: dict[str, list[list[dict[str, float]]]] = {name: [] for name in names}
    if workers <= 1:
        for name, block in tasks:
            rows[name].append(_run_chunk(name, block, size_factor, params)[1])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_run_chunk, name, block, size_factor, params) for name, block in tasks]
            for future in futures:  # in submission order: replication order is kept
                name, result = future.result()
                rows[name].append(result)
    frames = {}
    for name in names:
        frame = pd.DataFrame([r for block in rows[name] for r in block])
        frame.index.name = "replication"
        frames[name] = frame
    return frames


def evaluate_checks(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per check: the simulated median and central 90% interval, and whether the rule holds."""
    records: list[dict[str, Any]] = []
    for target in TARGETS:
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
) -> pd.DataFrame:
    """Run every virtual study and evaluate every target.

    Args:
        quick: Fewer replications (``QUICK_REPLICATIONS`` instead of ``FULL_REPLICATIONS``).
        seed: Root seed of the replication seeds.
        params: Candidate parameter overrides (the defaults if omitted); study designs win over them.
        workers: Worker processes (spawned; 1 runs in this process).
        replications: Replications per study (overrides ``quick``; e.g. a tiny smoke run).
        size_factor: Scales every study's sample size (1 = the published designs).

    Returns:
        One row per check (columns ``COLUMNS``; ``values`` holds the replication values
        for the figures). ``attrs["meta"]`` records replications, seed, parameters,
        workers and wall time.

    Raises:
        ParameterError: For an unknown parameter or a value out of range.
    """
    n = replications or (QUICK_REPLICATIONS if quick else FULL_REPLICATIONS)
    start = time.perf_counter()
    frames = simulate_studies(n, seed=seed, params=params, workers=workers, size_factor=size_factor)
    table = evaluate_checks(frames)
    table.attrs["meta"] = {
        "replications": n,
        "quick": quick,
        "seed": seed,
        "params": dict(params or {}),
        "workers": workers,
        "size_factor": size_factor,
        "seconds": time.perf_counter() - start,
    }
    return table
