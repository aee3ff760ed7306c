"""Registration of the explore subcommands (``compare``, ``trial``, ``sensitivity``, ``discover``).

``simulation.tools.cli`` calls ``add_commands`` once; each handler reads and
checks its spec (a bad spec raises ``ExploreSpecError``, which the command
line answers with one sentence and exit code 2), runs into the output folder
(resuming a folder that holds the same spec) and prints the headline.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulation.explore.spec import Workload
from simulation.outputs import check_output, folder_lock


def _folder(args: argparse.Namespace, name: str) -> Path:
    """The output folder, checked before any work (a file, ``.``, ``''`` or a read-only place is a sentence)."""
    return check_output("--out", args.out if args.out is not None else Path("results") / name)


def ensemble_members(args: argparse.Namespace) -> list[dict[str, float]]:
    """The members asked for by ``--ensemble N [--ensemble-file F]`` (none without ``--ensemble``).

    Raises:
        EnsembleError: One sentence (exit code 2): no ensemble shipped and no file, a bad file, too few members.
    """
    from simulation.validation.ensemble import EnsembleError, load_ensemble

    if args.ensemble is None:
        if args.ensemble_file is not None:
            raise EnsembleError("--ensemble-file needs --ensemble N, the number of members to run.")
        return []
    return load_ensemble(args.ensemble, args.ensemble_file)


def _members(text: str) -> int:
    """``--ensemble N``: a whole number of members, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of members, at least 1 (got {text!r})")
    return int(text)


def add_ensemble_options(parser: argparse.ArgumentParser) -> None:
    """``--ensemble N`` and ``--ensemble-file F``: answers across plausible parameter sets."""
    parser.add_argument(
        "--ensemble",
        type=_members,
        default=None,
        metavar="N",
        help="also run the first N members of the parameter ensemble: their spread and the share of members for "
        "which the verdict holds",
    )
    parser.add_argument(
        "--ensemble-file",
        default=None,
        metavar="F",
        help="the ensemble (ensemble.csv of calibrate --method history-matching; default: the shipped one)",
    )


def _resumable(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """On Ctrl-C or SIGTERM, say that finished tasks are kept and a rerun resumes (exit code 130 or 143)."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except KeyboardInterrupt as err:
            print("rupture-sim: interrupted; finished tasks are kept, rerun the command to resume.", file=sys.stderr)
            return 143 if type(err).__name__ == "Terminated" else 130

    return run


def _run_locked(folder: Path, work: Callable[[], Any]) -> Any:
    """``work()`` holding the folder's lock, from opening it to marking it complete."""
    with folder_lock(folder):
        return work()


def cmd_compare(args: argparse.Namespace) -> int:
    """Paired scenario comparison on common random numbers."""
    from simulation.explore.compare import headline, load_compare_spec, run_compare, warnings_for

    spec = load_compare_spec(args.spec)
    members = ensemble_members(args)
    folder = _folder(args, spec.name)
    runs = spec.replications * (len(spec.scenarios) + len(spec.alternatives))
    Workload(runs, runs * spec.n_patients * spec.n_sessions).check("compare", args.allow_large)
    result = _run_locked(folder, lambda: run_compare(spec, folder, quiet=args.quiet))
    for line in [*headline(spec, result["effects"]), *warnings_for(result["effects"])]:
        print(line)
    if members:
        from simulation.explore.ensemble import compare_across, compare_lines

        for line in compare_lines(compare_across(spec, folder, members, result["effects"])):
            print(line)
    print(f"{spec.name}: summary.md and figures in {folder}")
    return 0


def cmd_trial(args: argparse.Namespace) -> int:
    """Virtual trial over sample sizes: power curves."""
    from simulation.explore.trial import load_trial_spec, run_trial, share_text

    spec = load_trial_spec(args.spec)
    members = ensemble_members(args)
    folder = _folder(args, spec.name)
    patients = sum(spec.sizes) * spec.trials
    fits = len(spec.sizes) * spec.trials if spec.kind == "two_arm" else 0
    Workload(len(spec.sizes) * spec.trials, patients * spec.n_sessions, fits=fits).check("trial", args.allow_large)
    power = _run_locked(folder, lambda: run_trial(spec, folder, quiet=args.quiet))
    for r in power.itertuples():
        print(
            f"{r.size} patients: power {r.power:.2f} [{r.power_low:.2f}, {r.power_high:.2f}], "
            f"estimate {r.mean_estimate:+.3f}, wrong sign {share_text(r.wrong_sign)}"
            + (f", OLS fallbacks {r.ols_fallbacks}, tau² = 0 fits {r.boundary_fits}" if spec.kind == "two_arm" else "")
        )
    if members:
        from simulation.explore.ensemble import trial_across, trial_lines

        for line in trial_lines(trial_across(spec, folder, members, power)):
            print(line)
    print(f"{spec.name}: summary.md and power.png in {folder}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Morris screening, Sobol indices with bootstrap CIs, convergence and one-at-a-time profiles."""
    from simulation.explore.sensitivity import load_sensitivity_spec, reading_lines, run_sensitivity

    spec = load_sensitivity_spec(args.spec)
    folder = _folder(args, spec.name)
    d = len(spec.factors)
    rows = spec.morris_trajectories * (d + 1) + spec.sobol_samples * (d + 2) + d * spec.oat_steps
    runs = rows * spec.replications
    Workload(runs, runs * spec.n_patients * spec.n_sessions).check("sensitivity", args.allow_large)
    result = _run_locked(folder, lambda: run_sensitivity(spec, folder, quiet=args.quiet))
    for r in result["sobol"].itertuples():
        print(f"{r.outcome} / {r.factor}: S1 {r.S1:.2f} ± {r.S1_conf:.2f}, ST {r.ST:.2f} ± {r.ST_conf:.2f}")
    for line in reading_lines(spec, result):
        print(line.removeprefix("- ").replace("**", "").replace("`", ""))
    print(f"{spec.name}: summary.md and figures in {folder}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """PRIM scenario discovery on failed courses of a sweep or sensitivity dataset."""
    from simulation.explore.discover import drives_sentence, load_discover_spec, restriction_text, run_discover

    spec = load_discover_spec(args.spec)
    folder = _folder(args, spec.name)
    tasks = 1 + spec.resamples  # PRIM and extra trees per task: a fit per thousand rows
    Workload(tasks, 0, fits=tasks * spec.max_rows // 1000).check("discover", args.allow_large)
    result = _run_locked(folder, lambda: run_discover(spec, folder, quiet=args.quiet))
    for number, group in result["boxes"].groupby("box"):
        limits = "; ".join(restriction_text(spec, r) for r in group[group["restricted"]].itertuples())
        print(
            f"box {number + 1}: coverage {group['coverage_all_rows'].iloc[0]:.1%}, density "
            f"{group['density_all_rows'].iloc[0]:.1%} on all rows (base rate {result['base_rate']:.1%}): {limits}"
        )
    print(drives_sentence(spec, result))
    if len(result["reproducibility"]):
        jaccard = result["reproducibility"]["jaccard"].median()
        print(f"box 1 reproducibility (median Jaccard overlap over resamples): {jaccard:.2f}")
    print(f"{spec.name}: summary.md and figures in {folder}")
    return 0


def _common(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("spec", help=f"spec (TOML), e.g. {example}")
    parser.add_argument("--out", default=None, help="output folder (default: results/<spec name>); rerun to resume")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--allow-large", action="store_true", help="run a design estimated beyond the size limit (see the estimate)"
    )


def add_commands(sub: Any) -> None:
    """Add the explore subcommands to the ``rupture-sim`` parser."""
    compare = sub.add_parser("compare", help="paired scenario comparison on common random numbers (resumable)")
    _common(compare, "experiments/explore/compare_aft.toml")
    add_ensemble_options(compare)
    compare.set_defaults(handler=_resumable(cmd_compare))
    trial = sub.add_parser("trial", help="virtual trials over sample sizes: power curves (resumable)")
    _common(trial, "experiments/explore/trial_resolution_r.toml")
    add_ensemble_options(trial)
    trial.set_defaults(handler=_resumable(cmd_trial))
    sensitivity = sub.add_parser("sensitivity", help="Morris and Sobol sensitivity analysis via SALib (resumable)")
    _common(sensitivity, "experiments/explore/sensitivity_resolution.toml")
    sensitivity.set_defaults(handler=_resumable(cmd_sensitivity))
    discover = sub.add_parser("discover", help="PRIM scenario discovery on failed courses of a sweep (resumable)")
    _common(discover, "experiments/explore/discover_failures.toml")
    discover.set_defaults(handler=_resumable(cmd_discover))
