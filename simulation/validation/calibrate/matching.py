"""The work of ``calibrate --method history-matching``: the waves, then the ensemble and the report.

``history.py`` holds the waves (designs, runs, emulators, the region), ``ensemble_check.py`` the
ensemble checked by simulation, ``history_report.py`` the analyses and figures; this module runs
them in that order, with BLAS single-threaded (the workers own the cores, and threaded sums would
depend on timing: a resumed run must give the same numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from simulation.validation.calibrate.emulator import Emulator
from simulation.validation.calibrate.ensemble_check import build_ensemble
from simulation.validation.calibrate.history import Settings, Timings, open_run, run_wave
from simulation.validation.calibrate.history_report import wave_figure, write_history_report


def history_match(
    settings: Settings, folder: str | Path, workers: int = 2, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run or resume the waves, then the ensemble and the report; return the run's summary.

    Args:
        settings: What to match (``history.make_settings``).
        folder: Run folder (created; a folder of the same settings is resumed).
        workers: Worker processes.
        progress: Called with a line per finished design point and per step.
    """
    with threadpool_limits(limits=1):
        return _history_match(settings, Path(folder), workers, progress or (lambda _line: None))


def _history_match(settings: Settings, folder: Path, workers: int, say: Callable[[str], None]) -> dict[str, Any]:
    open_run(folder, settings)
    timings = Timings(folder)
    started = time.perf_counter()
    waves: list[dict[str, Emulator]] = []
    summaries: list[dict[str, Any]] = []
    region = np.empty((0, len(settings.axes)))
    for wave in range(1, settings.waves + 1):
        summary, emulators, region = run_wave(
            settings, folder, wave, waves, region, workers, timings, say, figure=wave_figure
        )
        waves.append(emulators)
        summaries.append(summary)
        say(
            f"wave {wave}: region {summary['volume']:.3g} of the prior space ({summary['region_points']} sampled); "
            f"emulators {summary['emulated']}/{len(settings.checks)} checks; {time.perf_counter() - started:.0f} s"
        )
        if summary["stop"]:
            say(f"stopping after wave {wave}: {summary['stop']}")
            break
    ensemble = build_ensemble(settings, folder, region, waves, workers, timings, say)
    return write_history_report(settings, folder, waves, summaries, region, ensemble)
