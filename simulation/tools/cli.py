"""The ``rupture-sim`` command line.

Subcommands:

- ``run``: the default study (the main job) into ``results/<name>/``.
- ``simulate``: one ``simulate()`` call written as parquet tables and parameters.json.
- ``params``: the parameter table.
- ``presets``: the population and therapist presets.
- ``docs``: regenerate the documentation (``simulation.report.docs.write_docs``).
- ``validate``: the virtual studies of the published findings and the fit report.
- ``calibrate``: fit the free parameters to the targets (resumable Optuna study).
- ``robustness``: which free parameters, changed by ±10% one at a time, move a target out of its band.
- ``compare``, ``trial``, ``sensitivity``, ``discover``: exploring hypotheses (``simulation.explore.cli``).

Bad input (including an unusable output path) ends with one sentence on stderr
and exit code 2, checked before any computation, never a traceback. SIGINT
ends a run with exit code 130, SIGTERM with 143, finished work kept.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from simulation import __version__
from simulation.explore.cli import add_commands as add_explore
from simulation.explore.cli import add_ensemble_options, ensemble_members
from simulation.extras import MissingExtraError, require
from simulation.model.parameters import ParameterError, parameter_table
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.outputs import OutputError, check_output, folder_lock, prepare_target
from simulation.teach.cli import add_teaching

#: Exit code for bad input.
USAGE_ERROR = 2
#: ``calibrate --method`` of the history matching, and the options only it takes.
HISTORY_MATCHING = "history-matching"
HISTORY_MATCHING_OPTIONS = ("--params", "--range", "--targets", "--points", "--waves", "--ensemble-size",
                            "--check-replications", "--candidates")  # fmt: skip
#: Exit codes after SIGINT and SIGTERM (128 + signal number).
INTERRUPTED, TERMINATED = 130, 143
PROG = "rupture-sim"


class CliError(Exception):
    """Bad command-line input, reported as one sentence on stderr."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT so that the same clean-up runs (pools shut down, finished work kept)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _interrupted(err: KeyboardInterrupt) -> int:
    return TERMINATED if isinstance(err, Terminated) else INTERRUPTED


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises ``CliError`` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message[0].upper()}{message[1:]} (see `{self.prog} --help`).")


def _unknown_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Options in ``argv`` that neither the program nor its subcommand knows (prefixes of known ones count)."""
    known = set(parser._option_string_actions)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = next((a for a in argv if a in sub.choices), None)
    if command is not None:
        known |= set(sub.choices[command]._option_string_actions)
    unknown = []
    for token in argv:
        if token == "--":
            break
        flag = token.split("=", 1)[0]
        is_option = flag.startswith("-") and len(flag) > 1 and not re.fullmatch(r"-[\d.].*", flag)
        if is_option and not any(k.startswith(flag) for k in known if flag.startswith("--") or k == flag):
            unknown.append(flag)
    return unknown


def _real(low: float, high: float) -> Callable[[str], float]:
    """Argument type: a finite number between ``low`` (exclusive) and ``high`` (inclusive)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low < value <= high:
            raise argparse.ArgumentTypeError(f"must be a number above {low:g} and at most {high:g} (got {text!r})")
        return value

    return parse


def _count(low: int, high: int) -> Callable[[str], int]:
    """Argument type: a whole number between ``low`` and ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number between {low} and {high} (got {text!r})"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number between {low} and {high} (got {value})")
        return value

    return parse


def _number(text: str) -> int | float:
    """A ``--set`` value: an int if it looks like one, else a float."""
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        if len(text.strip()) > 30:  # compared before conversion: int() refuses 4,300+ digits, float() overflows
            raise CliError(f"--set value {text[:20]}... has {len(text.strip())} digits, far out of any range.")
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise CliError(f"--set value {text!r} is not a number.") from None


def parse_settings(items: Sequence[str] | None) -> dict[str, int | float]:
    """``["name=value", ...]`` as a dict of numbers.

    Raises:
        CliError: For an item without ``=`` or a value that is not a number.
    """
    settings: dict[str, int | float] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--set expects name=value, e.g. --set noticing=0.5 (got {item!r}).")
        try:
            settings[name.strip()] = _number(value)
        except CliError:
            raise CliError(f"--set {name.strip()} must be a number in its range (got {value[:40]!r}).") from None
    return settings


# --- subcommands ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Run the default study."""
    from simulation.report.study import StudyConfig, run_study

    config = StudyConfig(name=args.name, seed=args.seed, n_patients=args.patients, n_sessions=args.sessions)
    folder = run_study(
        config,
        out=args.out,
        overwrite=args.overwrite,
        quiet=args.quiet,
        publish_figures=args.publish_figures,
        overwrite_any=args.overwrite_any,
    )
    print(
        f"Study written to {folder}" + (f"; figures copied to {args.publish_figures}" if args.publish_figures else "")
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """One ``simulate()`` call saved with ``Results.save``."""
    from simulation.api import resolve_parameters, simulate
    from simulation.outputs import staging_folder

    settings = parse_settings(args.set)
    resolve_parameters(args.population, args.therapists, settings)  # fail before anything is written
    out = prepare_target("--out", args.out, "simulate", args.overwrite, args.overwrite_any)
    # The folder's lock is taken before simulating: a second writer is refused at once, not after its run.
    with staging_folder(out, args.overwrite, "simulate", args.overwrite_any) as folder:
        res = simulate(
            args.population,
            args.therapists,
            n_patients=args.patients,
            n_sessions=args.sessions,
            seed=args.seed,
            params=settings,
            events=not args.no_events,
        )
        res.save(folder)
    counts = ", ".join(f"{name} {len(table):,}" for name, table in res.tables().items())
    print(f"Wrote {out} ({counts} rows).")
    return 0


def format_parameters() -> str:
    """The parameter table as aligned text, one parameter per line."""
    rows = [
        (
            p["name"],
            p["group"],
            f"{p['default']:g}",
            f"{p['low']:g}..{p['high']:g}",
            p["scale"],
            p["source"],
            p["meaning"],
        )
        for p in parameter_table()
    ]
    header = ("name", "group", "default", "range", "scale", "source", "meaning")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    print(format_parameters())
    return 0


def format_presets() -> str:
    """Population and therapist presets with their descriptions and overrides."""
    lines = []
    for title, table, option in (
        ("Population presets", POPULATIONS, "--population"),
        ("Therapist presets", THERAPISTS, "--therapists"),
    ):
        lines.append(f"{title} ({option}):")
        for name, preset in table.items():
            lines.append(f"  {name:<16}{preset.description}")
            if preset.values:
                lines.append(" " * 18 + ", ".join(f"{k}={v:g}" for k, v in preset.values.items()))
        lines.append("")
    return "\n".join(lines).rstrip()


def cmd_presets(args: argparse.Namespace) -> int:
    """Print the presets."""
    print(format_presets())
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """Regenerate the documentation with ``simulation.report.docs.write_docs``."""
    try:
        from simulation.report.docs import write_docs
    except ImportError as err:
        raise CliError(f"Documentation generator is not available ({err}).") from None
    for path in write_docs(check_output("--out", args.out)):
        print(path)
    return 0


# --- sweeps --------------------------------------------------------------------------------------


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run (or resume) a sweep spec; ``--dry-run`` only prints its size, time and disk."""
    from simulation.sweep.runner import estimate, run_sweep
    from simulation.sweep.spec import load_spec

    spec = load_spec(args.spec)
    folder = Path(args.out) if args.out is not None else Path("results") / spec.name
    if args.dry_run:
        print(estimate(spec, folder, args.workers, args.chunk_replications).describe())
        return 0
    try:
        manifest = run_sweep(
            spec,
            folder,
            backend=args.backend,
            workers=args.workers,
            scheduler=args.scheduler,
            chunk_replications=args.chunk_replications,
            quiet=args.quiet,
            plots=not args.no_plots,
        )
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; finished chunks are kept in {folder}, rerun to resume.", file=sys.stderr)
        return _interrupted(err)
    if not args.quiet:
        print(f"{spec.name}: {len(manifest['chunks'])} chunks in {folder} ({manifest.get('wall_seconds', 0):.1f} s)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a results folder (sweep, explore run, calibration) against its records; exit 1 if anything is wrong."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CliError(f"verify: {folder} is not a folder.")
    kind = folder_kind(folder)
    problems = verify_folder(folder, kind)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{args.folder}: every file matches its record; the {kind} folder is complete.")
    return 1 if problems else 0


def folder_kind(folder: Path) -> str:
    """What wrote a results folder: its marker says (``sweep``, ``compare`` ...), else its manifest or its record does.

    A calibrate folder written before calibrate wrote the marker is known by its record: the Optuna journal, or a
    history matching's ``settings.json``.
    """
    import json

    from simulation.outputs import MARKER
    from simulation.validation.calibrate import history, search

    for read in (lambda: json.loads((folder / MARKER).read_text())["kind"],
                 lambda: json.loads((folder / "manifest.json").read_text()).get("command") or "sweep"):  # fmt: skip
        try:
            kind = read()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if isinstance(kind, str):
            return kind
    records = {search.JOURNAL: search.FOLDER_KIND, history.SETTINGS: history.FOLDER_KIND}
    return next((kind for name, kind in records.items() if (folder / name).is_file()), "sweep")


def verify_folder(folder: Path, kind: str) -> list[str]:
    """Every problem of a results folder of ``kind``, one sentence each.

    Raises:
        StoreError: If the folder is no results folder this tool can verify.
    """
    import tomllib

    from simulation.explore import compare, sensitivity, trial
    from simulation.sweep.store import verify as verify_sweep
    from simulation.sweep.tasks import verify as verify_explore
    from simulation.validation.calibrate.verify import VERIFIERS

    readers: dict[str, Callable[[str], dict[str, Any]] | None] = {
        "compare": lambda text: compare.parse_compare(tomllib.loads(text)).to_dict(),
        "trial": lambda text: trial.parse_trial(tomllib.loads(text)).to_dict(),
        "sensitivity": lambda text: sensitivity.parse_sensitivity(tomllib.loads(text)).to_dict(),
        "discover": None,  # its dataset may have moved since; spec.toml is checked by its hash
        "robustness": None,  # spec.toml is written from the settings; checked by its hash
    }
    if kind in readers:
        return verify_explore(folder, readers[kind])
    if kind == "sweep":
        return verify_sweep(folder)
    if kind in VERIFIERS:
        return VERIFIERS[kind](folder)
    raise CliError(f"verify: {folder} is a {kind} folder; verify checks sweep, compare, trial, sensitivity, "
                   f"discover, robustness, {' and '.join(VERIFIERS)} folders.")  # fmt: skip


def cmd_plot(args: argparse.Namespace) -> int:
    """Figures and summary.md of a sweep folder."""
    from simulation.sweep.runner import write_derived
    from simulation.sweep.store import read_sweep_manifest, verify

    folder = Path(args.folder)
    manifest = read_sweep_manifest(folder)  # a clear message if this is not a sweep folder
    damage = [p for p in verify(folder) if not p.startswith(("incomplete", "derived file", "spec.toml"))]
    if damage:
        raise CliError(
            f"{folder} is damaged ({damage[0]}); `{PROG} verify` lists every problem "
            "and rerunning the sweep repairs it."
        )
    try:
        cells = [int(c) for c in args.cells.split(",")] if args.cells is not None else None
    except ValueError:
        raise CliError(f"--cells must be point numbers separated by commas, e.g. 0,3 (got {args.cells!r}).") from None
    try:
        figures = write_derived(folder, manifest, x=args.x, y=args.y, cells=cells)
    except ValueError as err:  # the plot module's messages are sentences already
        raise CliError(f"plot: {err}") from None
    for path in figures:
        print(path)
    return 0


def cmd_warm_up(args: argparse.Namespace) -> int:
    """Compile the model's kernels now (the cohort engine and the agent view), so that no first run waits."""
    from simulation.model.kernel_cache import CACHE_FOLDER
    from simulation.tools.warm import warm_up

    start = time.perf_counter()
    seconds = warm_up(parallel=not args.serial)
    if not seconds:
        print(f"kernels already compiled (cached in {CACHE_FOLDER})")
        return 0
    parts = ", ".join(f"{entry} {value:.0f} s" for entry, value in seconds.items())
    print(f"kernels ready in {time.perf_counter() - start:.0f} s ({parts}); cached in {CACHE_FOLDER}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Speed and memory benchmark (engine, Mesa view, random-number floor, workers)."""
    from simulation.tools import bench

    if args.json:
        check_output("--json", Path(args.json).parent, parent=True)
        if Path(args.json).is_dir():
            raise CliError(f"--json {args.json} is a folder; give a file name.")
    return bench.run(args)


def format_designs() -> str:
    """The virtual studies under a header, one a line: targets (held-out ones marked), study, channels, file."""
    from simulation.validation.studies import STUDIES
    from simulation.validation.targets import HELD_OUT

    header = ("targets", "study", "channels", "design file")
    rows = [
        (
            ", ".join(t + (" (held out)" if t in HELD_OUT else "") for t in s.targets),
            name,
            ", ".join(s.design.channels),
            s.design.path,
        )
        for name, s in STUDIES.items()
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in (header, *rows))


def cmd_validate(args: argparse.Namespace) -> int:
    """Virtual studies of the findings (T1-T14 calibrated, T15-T20 held out): print the table, write the report."""
    from simulation.validation.designs import load_design
    from simulation.validation.report import format_table, summary_line, targets_line, write_report
    from simulation.validation.runner import run_validation
    from simulation.validation.targets import TargetError, select_targets

    if args.list:
        print(format_designs())
        return 0
    settings = parse_settings(args.set)
    targets = None
    if args.only is not None:
        try:
            targets = select_targets(args.only)
        except TargetError as err:
            message = str(err)
            raise CliError(f"--only: {message[0].lower()}{message[1:]}") from None
    designs = [load_design(path) for path in args.design or ()]
    members = ensemble_members(args)
    out = check_output("--out", args.out)
    _say_settings_the_designs_override(settings, designs, targets)

    def run(params: dict[str, float]) -> Any:
        return run_validation(
            args.quick, args.seed, params, args.workers, args.replications, targets=targets, designs=designs
        )

    with folder_lock(out):  # the report is written in place: one validation per folder at a time
        table = run(settings)
        paths = write_report(table, out)
        print(format_table(table))
        print(targets_line(table))
        print(f"{summary_line(table)} Report: {paths[0]} ({table.attrs['meta']['seconds']:.1f} s)")
        if members:
            _validate_across(members, settings, run, table, out, args.ensemble_file)
    return 0


def _validate_across(
    members: list[dict[str, float]], settings: dict[str, float], run: Callable, table: Any, out: Path, source: Any
) -> None:
    """Validate each member (``--set`` wins over the member's values); write and print the ensemble summary."""
    from simulation.sweep.store import write_bytes_atomic
    from simulation.validation.ensemble import describe, ensemble_summary, ensemble_text, validate_ensemble

    per_member = validate_ensemble(members, settings, run, progress=lambda line: print(line, flush=True))
    summary = ensemble_summary(per_member, table)
    write_bytes_atomic(out / "ensemble_members.csv", per_member.to_csv(index=False).encode())
    write_bytes_atomic(out / "ensemble.csv", summary.to_csv(index=False).encode())
    write_bytes_atomic(out / "ensemble.md", ensemble_text(summary, describe(source)).encode())
    for r in summary.itertuples():
        print(
            f"{r.check}: passes in {r.pass_share:.0%} of {r.members} members; member medians "
            f"{r.member_median:.3g} [{r.member_q05:.3g}, {r.member_q95:.3g}] (defaults {r.defaults_median:.3g})"
        )
    print(f"Ensemble report: {out / 'ensemble.md'}")


def _say_settings_the_designs_override(settings: dict[str, float], designs: list, targets: Any) -> None:
    """A note on stderr for each ``--set`` that a study's preset overrides: the study runs without it."""
    from simulation.validation.designs import settings_overridden
    from simulation.validation.runner import chosen_targets, studies_for
    from simulation.validation.studies import STUDIES

    given = {d.name: d for d in designs}
    for name in studies_for(chosen_targets(targets, designs)):
        for what in settings_overridden(given.get(name, STUDIES[name].design), settings):
            print(
                f"note: --set {what} does not reach study {name}: a study's population and therapist presets "
                "describe the published sample and win over --set.",
                file=sys.stderr,
            )


def _add_validate(sub: Any) -> None:
    from simulation.validation.runner import DEFAULT_SEED

    val = sub.add_parser("validate", help="virtual studies of the findings (T1-T20, T15-T20 held out) and a fit report")
    val.add_argument("--quick", action="store_true", help="fewer replications (a first look)")
    val.add_argument(
        "--seed", type=_count(0, 2**63 - 1), default=DEFAULT_SEED, help=f"root seed (default: {DEFAULT_SEED})"
    )
    val.add_argument("--out", default="results/validation", help="report folder (default: results/validation)")
    val.add_argument("--workers", type=_count(1, 1024), default=2, help="worker processes (default: 2)")
    val.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter override (repeatable)")
    val.add_argument(
        "--only", metavar="IDS", default=None, help="run only the studies of these targets, e.g. --only T7,T12"
    )
    val.add_argument(
        "--design",
        action="append",
        metavar="FILE.toml",
        help="run a virtual study with this design file, an edited copy of a shipped one (repeatable; "
        "without --only, only its targets run)",
    )
    val.add_argument(
        "--list",
        action="store_true",
        help="list the virtual studies, the channels they read and their design files; run nothing",
    )
    add_ensemble_options(val)
    val.add_argument("--replications", type=_count(1, 10**6), default=None, help=argparse.SUPPRESS)
    val.set_defaults(handler=cmd_validate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the free parameters to the targets (resumable Optuna study in ``--out``); print progress and summary."""
    from simulation.validation.calibrate import CALIBRATION_REPLICATIONS, DEFAULT_FOLDER

    if args.method == HISTORY_MATCHING:
        return cmd_history_match(args)
    given = [o for o in HISTORY_MATCHING_OPTIONS if getattr(args, o.lstrip("-").replace("-", "_")) is not None]
    if given:
        raise CliError(f"{', '.join(given)} belong to --method history-matching; add it, or leave them out.")
    args.out = args.out or str(DEFAULT_FOLDER)
    args.replications = args.replications or CALIBRATION_REPLICATIONS
    out = check_output("--out", args.out)
    with folder_lock(out):
        return _calibrate_locked(args, out)


def _calibrate_locked(args: argparse.Namespace, out: Path) -> int:
    from simulation.validation.calibrate import CalibrationError, calibrate, summary_text

    if (out / "spec.toml").exists() or (out / "design.parquet").exists() or (out / "manifest.json").exists():
        raise CliError(f"--out {out} is another command's folder; give calibrate a folder of its own.")
    try:
        summary = calibrate(
            args.out,
            args.trials or 100,
            args.seed,
            args.replications,
            args.workers,
            args.timeout,
            args.size_factor,
            progress=lambda line: print(line, flush=True),
            with_held_out=args.with_held_out,
            start_from=args.start,
            left_out=_comma_list(args.leave_out),
        )
    except CalibrationError as err:
        raise CliError(str(err)) from None
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; finished trials are kept in {args.out}, rerun to resume.", file=sys.stderr)
        return _interrupted(err)
    print(summary_text(summary, args.out))
    return 0


def _ranges(items: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``--range NAME=LOW:HIGH`` options as a dict."""
    out = {}
    for item in items or ():
        name, _, bounds = item.partition("=")
        low, _, high = bounds.partition(":")
        try:
            out[name.strip()] = (float(low), float(high))
        except ValueError:
            raise CliError(f"--range expects NAME=LOW:HIGH, e.g. --range noticing=0.3:0.7 (got {item!r}).") from None
    return out


def cmd_history_match(args: argparse.Namespace) -> int:
    """History matching over the free parameters and every target (resumable); print progress and the summary."""
    from simulation.validation.calibrate.history import ENSEMBLE_SIZE, POINTS, REPLICATIONS, WAVES, make_settings
    from simulation.validation.calibrate.matching import history_match
    from simulation.validation.calibrate.search import CalibrationError
    from simulation.validation.runner import QUICK_REPLICATIONS

    if args.trials is not None or args.start or args.with_held_out or args.timeout is not None:
        raise CliError(
            "--trials, --timeout, --start and --with-held-out belong to --method optuna; history matching takes "
            "--params, --range, --targets, --leave-out, --points, --waves and --ensemble-size."
        )
    if args.replications == 1:
        raise CliError("--replications must be at least 2 for history matching (the replication variance).")
    for module in ("sklearn", "threadpoolctl"):  # before anything is written
        require(module, "History matching", extra="calibrate")
    try:
        settings = make_settings(
            None if args.params is None else _comma_list(args.params),
            _ranges(args.range),
            args.targets,
            _comma_list(args.leave_out),
            seed=args.seed,
            replications=args.replications or REPLICATIONS,
            points=args.points or POINTS,
            waves=args.waves or WAVES,
            size_factor=args.size_factor,
            check_replications=args.check_replications or QUICK_REPLICATIONS,
            ensemble_size=args.ensemble_size or ENSEMBLE_SIZE,
            **({"candidates": args.candidates} if args.candidates else {}),
        )
    except CalibrationError as err:
        raise CliError(str(err)) from None
    out = check_output("--out", args.out or "results/history_matching")
    try:
        with folder_lock(out):  # one writer per folder
            summary = history_match(settings, out, args.workers, progress=lambda line: print(line, flush=True))
    except CalibrationError as err:
        raise CliError(str(err)) from None
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; finished design points are kept in {out}, rerun to resume.", file=sys.stderr)
        return _interrupted(err)
    classes = summary["identifiability"]
    ensemble = summary["ensemble"]
    print(
        f"{summary['waves']} waves ({summary['stop']}); region {summary['volume']:.3g} of the prior space; "
        f"{sum(v == 'identified' for v in classes.values())} of {len(classes)} parameters identified, "
        f"{sum(v == 'free' for v in classes.values())} free; conflicting targets: "
        f"{', '.join(summary['conflicts']) or 'none'}; leave-one-target-out: "
        f"{sum(v == 'pass' for v in summary['loto'].values())} of {len(summary['loto'])} pass; ensemble "
        f"{ensemble['members']} of {ensemble['wanted']} members. Report: {out / 'report.md'}"
    )
    return 0


def _comma_list(text: str | None) -> list[str]:
    """The names of a comma-separated option (``--only a,b``), without blanks."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def cmd_robustness(args: argparse.Namespace) -> int:
    """Change each free parameter by ±10% one at a time; print and write which checks leave their band."""
    from simulation.validation.calibrate.search import not_searchable

    names = _comma_list(args.only) or None
    problem = not_searchable("--only", names or [])
    if problem:
        raise CliError(problem)
    members = ensemble_members(args)
    out = check_output("--out", args.out)
    with folder_lock(out):
        return _robustness_locked(args, out, names, members)


def _robustness_locked(
    args: argparse.Namespace, out: Path, names: list[str] | None, members: list[dict[str, float]]
) -> int:
    from simulation.validation.robustness import RobustnessError, robustness

    try:
        table = robustness(
            out, names, args.replications, args.seed, args.step, args.workers, args.size_factor,
            progress=lambda line: print(line, flush=True), members=members,
        )  # fmt: skip
    except RobustnessError as err:
        raise CliError(str(err)) from None
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; finished runs are kept in {out}, rerun to resume.", file=sys.stderr)
        return _interrupted(err)
    flagged = table[table["fragile"]]
    if members:
        for r in table.itertuples():
            print(f"{r.check}: passes in {r.ensemble_pass_share:.0%} of {len(members)} ensemble members")
    print(
        f"{int(table['passes'].sum())} of {len(table)} checks pass with the defaults; {len(flagged)} hang on one "
        f"parameter{': ' + ', '.join(flagged['check']) if len(flagged) else ''}. Report: {out / 'robustness.md'}"
    )
    return 0


def _add_robustness(sub: Any) -> None:
    from simulation.validation.robustness import ROBUSTNESS_REPLICATIONS, STEP
    from simulation.validation.runner import DEFAULT_SEED

    rob = sub.add_parser("robustness", help="which free parameters, changed by ±10%%, move a target out of its band")
    rob.add_argument("--out", default="results/robustness", help="folder (default: results/robustness); resumable")
    rob.add_argument(
        "--replications",
        type=_count(1, 10**6),
        default=ROBUSTNESS_REPLICATIONS,
        help=f"replications per study and run (default: {ROBUSTNESS_REPLICATIONS})",
    )
    rob.add_argument(
        "--seed", type=_count(0, 2**63 - 1), default=DEFAULT_SEED, help=f"root seed (default: {DEFAULT_SEED})"
    )
    rob.add_argument("--step", type=_real(0.001, 1), default=STEP, help=f"relative change (default: {STEP})")
    rob.add_argument("--workers", type=_count(1, 1024), default=2, help="worker processes (default: 2)")
    rob.add_argument(
        "--only",
        metavar="NAMES",
        default=None,
        help="change only these parameters, free or held by an earlier fit (comma-separated; default: the free ones)",
    )
    add_ensemble_options(rob)
    rob.add_argument("--size-factor", type=_real(0, 10), default=1.0, help=argparse.SUPPRESS)
    rob.set_defaults(handler=cmd_robustness)


def _add_calibrate(sub: Any) -> None:
    from simulation.validation.calibrate import CALIBRATION_REPLICATIONS, CALIBRATION_SEED, DEFAULT_FOLDER
    from simulation.validation.calibrate.history import ENSEMBLE_SIZE, POINTS, REPLICATIONS, WAVES
    from simulation.validation.runner import QUICK_REPLICATIONS

    cal = sub.add_parser(
        "calibrate", help="fit the free parameters to the targets (Optuna, or history matching; resumable)"
    )
    cal.add_argument(
        "--method",
        choices=("optuna", HISTORY_MATCHING),
        default="optuna",
        help="optuna: one best point (default); history-matching: the region every target allows, and an ensemble",
    )
    cal.add_argument(
        "--trials", type=_count(1, 10**6), default=None, help="optuna: total trials of the study (default: 100)"
    )
    cal.add_argument(
        "--out",
        default=None,
        help=f"study folder (default: {DEFAULT_FOLDER}, or results/history_matching); rerun to resume",
    )
    cal.add_argument(
        "--seed", type=_count(0, 2**31), default=CALIBRATION_SEED, help=f"root seed (default: {CALIBRATION_SEED})"
    )
    cal.add_argument(
        "--replications",
        type=_count(1, 10**6),
        default=None,
        help=f"replications per study and trial or design point (default: {CALIBRATION_REPLICATIONS}; history "
        f"matching {REPLICATIONS})",
    )
    cal.add_argument("--workers", type=_count(1, 1024), default=2, help="worker processes (default: 2)")
    cal.add_argument(
        "--timeout", type=_real(0, 10**7), default=None, metavar="SECONDS", help="start no trial after this"
    )
    cal.add_argument(
        "--with-held-out",
        action="store_true",
        help="fit every target, T15-T20 included (the second calibration, after the out-of-sample test)",
    )
    cal.add_argument(
        "--start",
        metavar="PATH",
        default=None,
        help="a new study's 2nd trial: an earlier calibration's best (its folder) or a JSON file of parameter values",
    )
    cal.add_argument(
        "--leave-out",
        metavar="CHECKS",
        default=None,
        help="checks run and reported but not scored (optuna) or not matched (history matching), e.g. T19b: "
        "only for one no parameter value reaches",
    )
    hm = cal.add_argument_group("history matching")
    hm.add_argument(
        "--params",
        metavar="NAMES",
        default=None,
        help="parameters to vary, free or held at an earlier calibration (default: the free ones)",
    )
    hm.add_argument(
        "--range", action="append", metavar="NAME=LOW:HIGH", help="another range, inside the declared one (repeatable)"
    )
    hm.add_argument("--targets", metavar="IDS", default=None, help="targets to match (default: every target)")
    hm.add_argument(
        "--points",
        type=_count(4, 10**5),
        default=None,
        help=f"design points per wave, twice that in wave 1 (default: {POINTS})",
    )
    hm.add_argument("--waves", type=_count(1, 100), default=None, help=f"most waves (default: {WAVES})")
    hm.add_argument(
        "--ensemble-size",
        type=_count(1, 10**5),
        default=None,
        help=f"members of the ensemble checked by simulation (default: {ENSEMBLE_SIZE})",
    )
    hm.add_argument(
        "--check-replications",
        type=_count(2, 10**5),
        default=None,
        help=f"replications of the ensemble's check, as validate --quick (default: {QUICK_REPLICATIONS})",
    )
    hm.add_argument("--candidates", type=_count(100, 10**7), default=None, help=argparse.SUPPRESS)
    cal.add_argument("--size-factor", type=_real(0, 10), default=1.0, help=argparse.SUPPRESS)
    cal.set_defaults(handler=cmd_calibrate)


def _add_sweep(sub: Any) -> None:
    from simulation.sweep.backends import BACKENDS

    sweep = sub.add_parser("sweep", help="run a parameter sweep from a TOML spec (resumable)")
    sweep.add_argument("spec", help="experiment spec (TOML), e.g. experiments/skill_x_severity.toml")
    sweep.add_argument("--out", default=None, help="output folder (default: results/<spec name>)")
    sweep.add_argument("--backend", choices=BACKENDS, default="processes", help="where chunks run (default: processes)")
    sweep.add_argument("--workers", type=_count(1, 1024), default=os.cpu_count() or 1, help="worker processes")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS", help="existing Dask scheduler (with dask)")
    sweep.add_argument("--chunk-replications", type=_count(1, 10**6), default=None, help="replications per chunk")
    sweep.add_argument("--resume", action="store_true", help="resume (also what rerunning into the folder does)")
    sweep.add_argument("--dry-run", action="store_true", help="print runs, estimated time and disk; run nothing")
    sweep.add_argument("--no-plots", action="store_true", help="skip figures and summary.md at the end")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=cmd_sweep)
    verify = sub.add_parser(
        "verify", help="check a results folder (sweep, explore, robustness, calibrate) against its records"
    )
    verify.add_argument("folder")
    verify.set_defaults(handler=cmd_verify)
    plot = sub.add_parser("plot", help="figures and summary.md of a sweep folder")
    plot.add_argument("folder")
    plot.add_argument("--x", default=None, help="varied parameter on the x axis of heatmaps")
    plot.add_argument("--y", default=None, help="varied parameter on the y axis of heatmaps")
    plot.add_argument("--cells", default=None, help="design points for trajectory plots, e.g. 0,3")
    plot.set_defaults(handler=cmd_plot)
    bench = sub.add_parser("bench", help="speed and memory benchmark")
    from simulation.tools import bench as bench_module

    bench_module.add_arguments(bench)
    _limit_bench(bench)
    bench.set_defaults(handler=cmd_bench)


#: Ranges of the benchmark's numeric options (its own types only set a lower bound).
BENCH_LIMITS = {
    "seed": (0, 2**63 - 1),
    "sessions": (1, 1000),
    "patients": (1, 10**8),
    "mesa_patients": (1, 10**6),
    "count_patients": (1, 10**8),
    "repeats": (1, 1000),
    "sweep_repeats": (1, 1000),
    "memory_sessions": (1, 10**10),
}


def _limit_bench(parser: argparse.ArgumentParser) -> None:
    """Give the benchmark's whole-number options upper bounds too (checked before anything runs)."""
    for action in parser._actions:
        if action.dest in BENCH_LIMITS:
            action.type = _count(*BENCH_LIMITS[action.dest])


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Agent-based simulation of alliance ruptures and their resolution "
        "in psychotherapy for personality disorders.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(sub)
    _add_simulate(sub)
    _add_sweep(sub)
    _add_validate(sub)
    _add_calibrate(sub)
    _add_robustness(sub)
    add_teaching(sub)  # demo, export-session, app
    add_explore(sub)  # compare, trial, sensitivity, discover
    warm = sub.add_parser("warm-up", help="compile the model once now (part of the set-up), so no first run waits")
    warm.add_argument("--serial", action="store_true", help="compile one entry point after the other (one core)")
    warm.set_defaults(handler=cmd_warm_up)
    sub.add_parser("params", help="print the parameter table").set_defaults(handler=cmd_params)
    sub.add_parser("presets", help="list population and therapist presets").set_defaults(handler=cmd_presets)
    docs = sub.add_parser("docs", help="regenerate the documentation")
    docs.add_argument("--out", default="docs", help="documentation folder (default: docs)")
    docs.set_defaults(handler=cmd_docs)
    return parser


def _add_sizes(p: argparse.ArgumentParser, patients: int, sessions: int, seed: int, per: str = "") -> None:
    p.add_argument(
        "--patients", type=_count(1, 1_000_000), default=patients, help=f"patients{per} (default: {patients})"
    )
    p.add_argument(
        "--sessions", type=_count(1, 1000), default=sessions, help=f"planned sessions per course (default: {sessions})"
    )
    p.add_argument("--seed", type=_count(0, 2**63 - 1), default=seed, help=f"root seed (default: {seed})")


def _add_run(sub: Any) -> None:
    from simulation.report.study import StudyConfig

    d = StudyConfig()
    run = sub.add_parser(
        "run",
        help="run the default study (the main job)",
        description="Mixed caseload x therapist skill (0.4/0.6/0.8) x repertoire (immediate only / "
        "with exploratory), common random numbers; writes tables, manifest, figures and summary.",
    )
    run.add_argument("--name", default=d.name, help=f"study name and folder name (default: {d.name})")
    _add_sizes(run, d.n_patients, d.n_sessions, d.seed, per=" per condition, the same ids in each")
    run.add_argument("--out", default="results", help="parent folder of the study folder (default: results)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing study folder written by this tool")
    run.add_argument("--overwrite-any", action="store_true", help="replace the study folder whoever wrote it")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--publish-figures",
        metavar="DIR",
        default=None,
        help="also copy the figures here (docs/figures regenerates the README figures)",
    )
    run.set_defaults(handler=cmd_run)


def _add_simulate(sub: Any) -> None:
    sim = sub.add_parser("simulate", help="one simulate() call saved as parquet + parameters.json")
    sim.add_argument("--population", default="mixed", help=f"one of: {', '.join(POPULATIONS)} (default: mixed)")
    sim.add_argument(
        "--therapists", default="experienced", help=f"one of: {', '.join(THERAPISTS)} (default: experienced)"
    )
    _add_sizes(sim, 120, 30, 0)
    sim.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter override (repeatable)")
    sim.add_argument("--no-events", action="store_true", help="do not keep the per-event table")
    sim.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    sim.add_argument("--overwrite", action="store_true", help="replace an output folder written by this tool")
    sim.add_argument("--overwrite-any", action="store_true", help="replace the output folder whoever wrote it")
    sim.set_defaults(handler=cmd_simulate)


def _silence_stdout() -> None:
    """Point stdout at devnull so that Python's exit-time flush does not fail on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 2 for bad input.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = _on_sigterm(_raise_terminated)
    try:
        return _run(argv)
    finally:
        _on_sigterm(previous)


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler (only the main thread may); return the previous one."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, TypeError):  # not the main thread, or no previous Python-level handler
        return None


def _run(argv: list[str]) -> int:
    """Parse and run, turning every foreseeable failure into one sentence and an exit code."""
    from simulation.sweep.spec import SpecError
    from simulation.sweep.store import StoreError
    from simulation.validation.designs import DesignError
    from simulation.validation.ensemble import EnsembleError

    parser = build_parser()
    try:
        if any("\x00" in arg for arg in argv):  # no real command line has one; no file name may hold one
            raise CliError("An argument contains a NUL byte, which no option or file name may hold.")
        try:
            args = parser.parse_args(argv)
        except CliError:
            unknown = _unknown_options(parser, argv)
            if unknown:
                raise CliError(f"Unknown option {', '.join(unknown)} (see `{PROG} --help`).") from None
            raise
        return args.handler(args)
    except (
        CliError, ParameterError, SpecError, StoreError, DesignError, OutputError, MissingExtraError, EnsembleError
    ) as err:  # fmt: skip
        return _fail(str(err))
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except BrokenPipeError:  # e.g. `rupture-sim params | head`
        _silence_stdout()
        return 1
    except OSError as err:  # e.g. the disk filled up while writing, a file name too long
        where = f" {str(err.filename)[:100]}" if err.filename else ""
        return _fail(f"cannot use{where}: {err.strerror or err.__class__.__name__}; nothing was marked complete.")
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; nothing was left in place.", file=sys.stderr)
        return _interrupted(err)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
