"""``python -m simulation.tools.bench``: the benchmark command."""

import sys

from simulation.tools.bench.command import bench_command

sys.exit(bench_command())
