"""Calibration: fit the free parameters to the validation targets with Optuna (held-out targets excluded).

Each parameter's declaration (``simulation.model.parameters``) says whether
the calibration fits it: ``Free`` parameters (assumptions and the levers of
the targets, each with a search range inside its declared range) are fitted;
``Fixed`` ones keep their default, for the reason given there.

The package has three parts: ``loss`` turns the validation table of one
candidate into one number; ``search`` runs or resumes the Optuna study (seeded
TPE sampler, journal file in the output folder, every candidate on the same
replication seeds); ``report`` writes ``trials.csv``, ``constraints.png``,
``report.md`` and last ``best.json``. ``calibrate`` (the command) ties them
together: rerunning it with the same folder continues the same study; a folder
made with other free parameters, targets, seed, replications or loss is refused.
``verify`` says whether a folder of either method is whole (``rupture-sim verify``).

Held-out targets (``Target.held_out``, ``targets.HELD_OUT``: T15-T20) are out of
sample: the calibration runs only the studies of the calibrated targets
(``targets.CALIBRATED``), in its trials and in its final quick validations, and
its loss has no term for them; ``rupture-sim validate`` reports how they fare.
``with_held_out`` makes the second calibration, which fits every target; ``start_from``
tries an earlier calibration's best as its second trial (a warm start); ``left_out`` checks
are run and reported but not scored (for one no value of the free parameters reaches).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.validation.calibrate.loss import (
    DIRECTION_MARGIN,
    FAIL_PENALTY,
    FIRM_WEIGHT,
    SOFT_WEIGHT,
    UNDEFINED_DISTANCE,
    check_term,
    check_weight,
    huber,
    loss,
    normalised_distance,
)
from simulation.validation.calibrate.report import summary_text, write_report
from simulation.validation.calibrate.search import (
    CALIBRATION_REPLICATIONS,
    CALIBRATION_SEED,
    DEFAULT_FOLDER,
    FIXED_BY_DESIGN_OR_LITERATURE,
    FREE_PARAMETERS,
    JOURNAL,
    CalibrationError,
    best_of,
    completed,
    fitted_targets,
    open_study,
    record,
    scored_checks,
    suggest,
)
from simulation.validation.runner import DEFAULT_SEED, QUICK_REPLICATIONS, run_validation

if TYPE_CHECKING:
    import optuna

__all__ = [
    "CALIBRATION_REPLICATIONS",
    "CALIBRATION_SEED",
    "DEFAULT_FOLDER",
    "DIRECTION_MARGIN",
    "FAIL_PENALTY",
    "FIRM_WEIGHT",
    "FIXED_BY_DESIGN_OR_LITERATURE",
    "FREE_PARAMETERS",
    "JOURNAL",
    "SOFT_WEIGHT",
    "UNDEFINED_DISTANCE",
    "CalibrationError",
    "calibrate",
    "check_term",
    "check_weight",
    "huber",
    "loss",
    "normalised_distance",
    "summary_text",
]


def calibrate(
    folder: str | Path = DEFAULT_FOLDER,
    n_trials: int = 100,
    seed: int = CALIBRATION_SEED,
    replications: int = CALIBRATION_REPLICATIONS,
    workers: int = 2,
    timeout: float | None = None,
    size_factor: float = 1.0,
    check_replications: int | None = QUICK_REPLICATIONS,
    check_seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
    with_held_out: bool = False,
    start_from: str | Path | None = None,
    left_out: Iterable[str] = (),
) -> dict[str, Any]:
    """Run or resume the calibration stored in ``folder`` and write its report.

    Args:
        folder: Output folder (journal, ``best.json``, ``trials.csv``, ``report.md``, ``constraints.png``).
        n_trials: Total complete trials wanted in the study; a resumed study runs only the missing ones.
        seed: Root seed of the replication seeds (the same for every trial) and seed of the TPE sampler.
        replications: Replications per study and trial.
        workers: Worker processes per trial.
        timeout: Stop starting new trials after this many seconds (the running one finishes).
        size_factor: Scales every study's sample size (1 = the published designs; smaller for smoke tests).
        check_replications: Replications of the final quick validation of the best and the default parameters
            (root seed ``check_seed``); ``None`` skips it.
        check_seed: Root seed of the final quick validation (out of sample when it differs from ``seed``).
        progress: Called with one line per finished trial (e.g. ``print``).
        with_held_out: Fit every target, T15-T20 included (the second calibration); by default the held-out
            targets are neither run nor scored.
        start_from: A new study's second trial (after the defaults): an earlier calibration's folder (its best
            parameters) or a JSON file of parameter values (``search.best_of``); ignored when the study is resumed.
        left_out: Checks of the fitted targets not scored (``search.scored_checks``: for a check no value of the
            free parameters reaches); they are still run and reported.

    Returns:
        The summary written to ``best.json``.

    Raises:
        CalibrationError: If ``folder`` holds a calibration with other free parameters, targets or settings.
    """
    folder = Path(folder)
    start = time.perf_counter()
    fitted = fitted_targets(with_held_out)
    scored = scored_checks(with_held_out, left_out)
    study = open_study(folder, seed, replications, size_factor, scored, best_of(start_from) if start_from else None)
    done = len(completed(study))
    todo = max(0, n_trials - done)
    say = progress or (lambda _line: None)
    if todo:
        say(
            f"Calibration in {folder}: {done} trials done, running up to {todo} more ({len(FREE_PARAMETERS)} free "
            f"parameters, {replications} replications per study)."
        )

        def objective(trial: optuna.Trial) -> float:
            params = suggest(trial)
            t0 = time.perf_counter()
            table = run_validation(
                seed=seed,
                params=params,
                workers=workers,
                replications=replications,
                size_factor=size_factor,
                targets=fitted,
            )
            return record(trial, table, time.perf_counter() - t0, scored)

        def report_trial(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.state.name != "COMPLETE":
                say(f"trial {trial.number}: {trial.state.name}")
                return
            n = len(completed(study_))
            say(
                f"trial {trial.number} ({n}/{n_trials}): loss {trial.value:.2f}, {trial.user_attrs['n_passed']}/"
                f"{trial.user_attrs['n_checks']} checks, {trial.user_attrs['seconds']:.1f} s; best "
                f"{study_.best_value:.2f} (trial {study_.best_trial.number}), {time.perf_counter() - start:.0f} s"
            )

        study.optimize(
            objective,
            n_trials=todo,
            timeout=timeout,
            callbacks=[report_trial],
            catch=(ArithmeticError, ValueError),
        )
    if not completed(study):
        raise CalibrationError(f"No trial of the calibration in {folder} completed.")
    validation_best = validation_defaults = None
    if check_replications:
        say(
            f"Quick validation of the best and default parameters ({check_replications} replications, "
            f"seed {check_seed}) ..."
        )
        kwargs = {"seed": check_seed, "workers": workers, "replications": check_replications, "targets": fitted}
        validation_best = run_validation(params=study.best_params, size_factor=size_factor, **kwargs)
        validation_defaults = run_validation(params=None, size_factor=size_factor, **kwargs)
    summary = write_report(study, folder, validation_best, validation_defaults, time.perf_counter() - start)
    return summary
