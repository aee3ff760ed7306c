"""Benchmark of the simulation: how many dyad-sessions per second each way of running the model manages.

One call of ``run_benchmark`` measures, on the same model, parameters and seed:

* ``engine_summary``: the cohort engine in summary mode (``keep_sessions=False,
  record_events=False``), what sweeps use;
* ``engine_sessions``: the cohort engine keeping one row per session;
* ``mesa``: the Mesa agent view (``model.RuptureModel``) on a smaller cohort;
* ``floor``: a compiled loop that only draws the keyed random numbers the model
  consumes per dyad-session (the same ``session_key``, ``segment_key``,
  ``uniform``, ``normal`` and ``choice`` calls, summed so nothing is dropped);
  no rule is evaluated, so no implementation of the rules can be faster;
* ``sweep_1_worker`` and ``sweep_2_workers``: a sweep that keeps only the summary
  tables, on the ``processes`` backend, measured without process start-up;
* ``memory``: the peak resident memory of a sweep of 10 million dyad-sessions
  that writes the per-session table, run in a child process.

A dyad-session is one attended session of one patient with their therapist; the
counts are the actual sessions (``sessions_attended``), so dropout is accounted for.
The number of draws per dyad-session is counted afresh in every run: a small
cohort is simulated in a child process with ``NUMBA_DISABLE_JIT=1`` (the rules are
plain Python there) while the random-number functions the rules module calls are
wrapped with counters.

The package is split by concern: ``floor`` (the compiled draw-only loop),
``interpreted`` (draw count and Mesa view with the rules as plain Python, in a
child process), ``timing``, ``sweeps``, ``memory``, ``benchmark``
(``run_benchmark`` and the targets) and ``command`` (``rupture-sim bench``
calls ``run`` with the arguments from ``add_arguments``; ``python -m
simulation.tools.bench`` works too). ``benchmarks/README.md`` explains the numbers.
"""

from simulation.tools.bench.benchmark import (
    FORMAT,
    PARALLEL_WORKERS,
    RESULT_KEYS,
    TARGETS,
    THROUGHPUT_KEYS,
    THROUGHPUT_ROWS,
    run_benchmark,
)
from simulation.tools.bench.command import DESCRIPTION, add_arguments, bench_command, format_report, run
from simulation.tools.bench.floor import floor_kernel
from simulation.tools.bench.interpreted import COUNTED_CALLS, DRAW_CALLS, count_draws, measure_mesa_python
from simulation.tools.bench.memory import measure_memory
from simulation.tools.bench.sweeps import measure_sweep

__all__ = [
    "COUNTED_CALLS",
    "DESCRIPTION",
    "DRAW_CALLS",
    "FORMAT",
    "PARALLEL_WORKERS",
    "RESULT_KEYS",
    "TARGETS",
    "THROUGHPUT_KEYS",
    "THROUGHPUT_ROWS",
    "add_arguments",
    "bench_command",
    "count_draws",
    "floor_kernel",
    "format_report",
    "measure_memory",
    "measure_mesa_python",
    "measure_sweep",
    "run",
    "run_benchmark",
]
