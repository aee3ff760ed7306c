"""Timing helpers: interleaved repeats and throughput rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed_interleaved(work: dict[str, Callable[[], int]], repeats: int) -> dict[str, tuple[int, list[float]]]:
    """Time each piece of work ``repeats`` times, taking turns, so that a slow phase of a noisy machine hits all.

    Each callable returns the number of dyad-sessions it simulated, which must
    not change between repeats.

    Returns:
        For each key, (dyad-sessions, seconds of every repeat).
    """
    out: dict[str, tuple[int, list[float]]] = {key: (0, []) for key in work}
    for _ in range(repeats):
        for key, fn in work.items():
            start = time.perf_counter()
            n = fn()
            elapsed = time.perf_counter() - start
            count, seconds = out[key]
            if seconds and n != count:
                raise RuntimeError(f"the benchmarked work of {key} changed between repeats ({count} vs {n})")
            out[key] = (int(n), [*seconds, elapsed])
    return out


def throughput_row(dyad_sessions: int, seconds: list[float], workers: int = 1) -> dict[str, Any]:
    """A throughput row from repeated timings (``ratio_to_engine`` is filled in later)."""
    median = statistics.median(seconds)
    per_second = dyad_sessions / median
    return {
        "dyad_sessions": int(dyad_sessions),
        "seconds": median,
        "seconds_all": [round(s, 6) for s in seconds],
        "per_second": per_second,
        "workers": workers,
        "per_core": per_second / workers,
        "ratio_to_engine": None,
    }


def dyad_sessions_of(raw: Any) -> int:
    """Dyad-sessions a cohort's raw output simulated (the sessions attended)."""
    return int(raw.final["sessions_attended"].sum())
