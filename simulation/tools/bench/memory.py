"""Peak memory of a large sweep that writes session tables, run in a child process.

The child runs the sweep with the in-process backend, so one process holds
everything and its peak resident memory is the sweep's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from simulation.tools.bench.sweeps import sweep_spec_text

#: Throughput of a sweep that writes session tables, for the memory run's time estimate (dyad-sessions/s).
SESSIONS_SWEEP_ESTIMATE = 340_000


def _rss_peak_now() -> int:
    """Peak resident memory of this process so far, in bytes (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _memory_child() -> None:
    """Entry point of the memory child: warm up, run the sweep in-process, write a JSON report.

    Reads a JSON object (``spec``, ``folder``, ``report``) from ``sys.argv[1]``.
    """
    from simulation.api import resolve_parameters
    from simulation.run.engine import simulate_cohort
    from simulation.sweep.runner import run_sweep
    from simulation.sweep.spec import parse_spec

    job = json.loads(sys.argv[1])
    spec = parse_spec(job["spec"], origin="bench")
    simulate_cohort(resolve_parameters(), np.arange(2), 2, 0, record_events=False)  # load the kernels
    baseline = _rss_peak_now()
    start = time.perf_counter()
    manifest = run_sweep(spec, Path(job["folder"]), backend="inprocess", workers=1, quiet=True)
    report = {
        "seconds": time.perf_counter() - start,
        "dyad_sessions": sum(record["dyad_sessions"] for record in manifest["chunks"].values()),
        "session_rows": sum(record["tables"]["sessions"]["rows"] for record in manifest["chunks"].values()),
        "baseline_rss_bytes": baseline,
        "self_peak_rss_bytes": _rss_peak_now(),
    }
    Path(job["report"]).write_text(json.dumps(report))


def measure_memory(
    dyad_sessions: int,
    sessions_per_patient: float,
    n_patients: int,
    n_sessions: int,
    chunk_replications: int,
    population: str = "mixed",
    therapists: str = "experienced",
    seed: int = 0,
) -> dict[str, Any]:
    """Peak resident memory of a sweep writing the patients and sessions tables, in a child process.

    The child runs the sweep with the in-process backend, so its own peak is
    the whole sweep's; it is read with ``os.wait4`` for exactly that child.

    Args:
        dyad_sessions: About how many dyad-sessions to simulate.
        sessions_per_patient: Mean attended sessions per patient (sizes the replications).
        n_patients: Patients per run.
        n_sessions: Planned course length.
        chunk_replications: Runs per chunk (what one chunk holds in memory).
        population: Population preset.
        therapists: Therapist preset.
        seed: Root seed of the spec.

    Returns:
        ``peak_rss_bytes`` (the child's maximum resident set), ``baseline_rss_bytes``
        (after imports and loading the kernels), ``dyad_sessions``, ``session_rows``,
        ``seconds`` (the sweep), ``wall_seconds`` (the child), ``replications``,
        ``chunk_replications``, ``n_patients`` and ``per_second``.

    Raises:
        RuntimeError: If the child fails.
    """
    replications = max(1, math.ceil(dyad_sessions / max(sessions_per_patient * n_patients, 1e-9)))
    chunk_replications = min(chunk_replications, replications)
    text = sweep_spec_text(
        "bench_memory", n_patients, n_sessions, replications, chunk_replications, ["patients", "sessions"],
        population, therapists, seed,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rupture-bench-mem-") as tmp:
        job = {"spec": text, "folder": str(Path(tmp) / "sweep"), "report": str(Path(tmp) / "report.json")}
        code = "from simulation.tools.bench.memory import _memory_child; _memory_child()"
        with open(Path(tmp) / "stderr.txt", "w+") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", code, json.dumps(job)], stdout=subprocess.DEVNULL, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            message = err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"the memory child failed: {message.strip()[-2000:]}")
        report = json.loads(Path(job["report"]).read_text())
    peak = int(usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024)
    return {
        "peak_rss_bytes": peak,
        "baseline_rss_bytes": report["baseline_rss_bytes"],
        "dyad_sessions": report["dyad_sessions"],
        "session_rows": report["session_rows"],
        "seconds": report["seconds"],
        "wall_seconds": wall,
        "per_second": report["dyad_sessions"] / report["seconds"],
        "replications": replications,
        "chunk_replications": chunk_replications,
        "n_patients": n_patients,
    }
