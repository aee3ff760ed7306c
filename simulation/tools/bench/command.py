"""The ``rupture-sim bench`` command: options, the printed table and the JSON file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simulation.tools.bench.benchmark import THROUGHPUT_ROWS, run_benchmark

#: One-line description of the command.
DESCRIPTION = "Benchmark of the simulation: how many dyad-sessions per second each way of running the model manages."

_LABELS = {
    "engine_summary": "engine, summary mode",
    "engine_sessions": "engine, session rows kept",
    "mesa": "Mesa agent view",
    "mesa_python": "Mesa view, rules as Python",
    "floor": "floor (keyed draws only)",
    "sweep_1_worker": "sweep, 1 worker",
    "sweep_2_workers": "sweep, 2 workers",
    "sweep_sessions_2_workers": "sweep, session rows, 2 w.",
}


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_report(result: dict[str, Any]) -> str:
    """The results as a small text table followed by the ratios, targets and memory."""
    lines = [f"{'':28}{'dyad-sessions/s':>16}{'per core':>14}{'ratio to engine':>17}{'dyad-sessions':>15}"]
    for key in THROUGHPUT_ROWS:
        row = result["throughput"].get(key)
        if row is None:
            lines.append(f"{_LABELS[key]:28}{'skipped':>16}")
            continue
        lines.append(
            f"{_LABELS[key]:28}{row['per_second']:>16,.0f}{row['per_core']:>14,.0f}"
            f"{row['ratio_to_engine']:>17.3f}{row['dyad_sessions']:>15,}"
        )
    draws = result["draws"]
    calls = ", ".join(f"{k} {v:.2f}" for k, v in draws["calls_per_dyad_session"].items())
    lines += ["", f"draws per dyad-session: {draws['per_dyad_session']:.2f} ({calls})"]
    lines.append("")
    for name, target in result["targets"].items():
        value = target["value"]
        if name == "peak_rss_bytes":
            shown = "skipped" if value is None else f"{value / 1e6:,.0f} MB"
            size = result["config"]["memory_dyad_sessions"]
            label = f"peak memory ({size:,} dyad-sessions, session tables)"
        else:
            shown = "skipped" if value is None else f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
            label = target["meaning"]
        if name == "cold_start_seconds" and value is not None:
            shown = f"{value:.1f} s"
        met = {True: "met", False: "NOT met", None: ""}[target["met"]]
        lines.append(f"{label:62}{shown:>14}   target {target['target']:<12}{met}")
    mem = result["memory"]
    if mem is not None:
        lines.append(
            f"memory sweep: {mem['dyad_sessions']:,} dyad-sessions in {mem['seconds']:.1f} s "
            f"({mem['per_second']:,.0f}/s), baseline {mem['baseline_rss_bytes'] / 1e6:,.0f} MB, "
            f"{mem['replications']} runs of {mem['n_patients']} patients, {mem['chunk_replications']} per chunk"
        )
    for entry, times in (result.get("cold_start") or {}).items():
        cold, warm = times["cold"], times["warm"]
        lines.append(
            f"first {entry} run in a new process: {cold['wall_seconds']:.1f} s with an empty kernel cache "
            f"({cold['cpu_seconds']:.1f} s CPU), {warm['wall_seconds']:.1f} s once compiled"
        )
    return "\n".join(lines)


def _whole(low: int) -> Callable[[str], int]:
    """Argument type: a whole number of at least ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {low} (got {text!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {low} (got {value})")
        return value

    return parse


_positive = _whole(1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (got {text!r})") from None
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds (got {value:g})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``rupture-sim bench`` to ``parser``."""
    parser.add_argument("--patients", type=_positive, default=4000, help="engine cohort (default: 4000)")
    parser.add_argument("--sessions", type=_positive, default=30, help="planned sessions per course (default: 30)")
    parser.add_argument("--mesa-patients", type=_positive, default=300, help="Mesa cohort (default: 300)")
    parser.add_argument("--count-patients", type=_positive, default=100, help="cohort of the draw count (default: 100)")
    parser.add_argument("--repeats", type=_positive, default=5, help="timings per measurement (default: 5)")
    parser.add_argument("--seed", type=_whole(0), default=1, help="root seed (default: 1)")
    parser.add_argument("--population", default="mixed", help="population preset (default: mixed)")
    parser.add_argument("--therapists", default="experienced", help="therapist preset (default: experienced)")
    parser.add_argument(
        "--sweep", action=argparse.BooleanOptionalAction, default=True, help="measure sweep scaling (about 1 min)"
    )
    parser.add_argument(
        "--sweep-seconds", type=_seconds, default=10.0, help="length of the 1-worker sweep (default: 10)"
    )
    parser.add_argument("--sweep-repeats", type=_positive, default=3, help="sweep pairs per worker count (default: 3)")
    parser.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure peak memory of a 10M dyad-session sweep with session tables (about 1 min)",
    )
    parser.add_argument(
        "--memory-sessions", type=_positive, default=10_000_000, help="size of the memory sweep (default: 10000000)"
    )
    parser.add_argument(
        "--cold-start",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the first run in a new process with an empty kernel cache (about 2 min)",
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed arguments, print the table, write the JSON; return 0."""

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    result = run_benchmark(
        n_patients=args.patients,
        n_sessions=args.sessions,
        mesa_patients=args.mesa_patients,
        count_patients=args.count_patients,
        repeats=args.repeats,
        seed=args.seed,
        population=args.population,
        therapists=args.therapists,
        sweep=args.sweep,
        sweep_seconds=args.sweep_seconds,
        sweep_repeats=args.sweep_repeats,
        memory=args.memory,
        memory_dyad_sessions=args.memory_sessions,
        cold_start=args.cold_start,
        progress=progress,
    )
    print(format_report(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        progress(f"wrote {path}")
    return 0


def bench_command(argv: Sequence[str] | None = None) -> int:
    """``main``-style entry: parse ``argv`` (default ``sys.argv[1:]``) and run the benchmark."""
    parser = argparse.ArgumentParser(prog="rupture-sim bench", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
