"""The search: an Optuna study of the free parameters, stored in a journal file and resumable.

Every trial runs the virtual studies with the same replication seeds (common
random numbers), so two candidates differ only by their parameters. A folder's
signature (free parameters and search ranges, checks, seeds, sizes, loss
version) must match to resume it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulation.extras import require
from simulation.model.parameters import PARAMETERS, SPECS, Fixed, Free, Held
from simulation.model.version import model_fingerprint
from simulation.outputs import MARKER, write_marker
from simulation.schema import read_text
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.loss import LOSS_VERSION, loss_terms
from simulation.validation.runner import QUICK_REPLICATIONS

if TYPE_CHECKING:
    import optuna

#: Default output folder.
DEFAULT_FOLDER = Path("results/calibration")
#: Default root seed of the calibration (replication seeds and sampler). It differs from the validation's
#: root seed, so the final quick validation of the best parameters is out of sample.
CALIBRATION_SEED = 1
#: Default replications per study and trial (the quick validation's number).
CALIBRATION_REPLICATIONS = QUICK_REPLICATIONS
#: Name of the Optuna study inside the journal, and of the journal file.
STUDY_NAME = "calibration"
JOURNAL = "journal.log"
#: The folder's kind in its marker (``outputs.MARKER``: what ``rupture-sim verify`` reads).
FOLDER_KIND = "calibrate"
#: Trials of random search before TPE models the loss (they also spread the trials for the correlations).
STARTUP_TRIALS = 16


class CalibrationError(ValueError):
    """A calibration folder that cannot be resumed with these settings."""


#: The fitted parameters and their search ranges, in declaration order (``Param.calibration``).
FREE_PARAMETERS: dict[str, Free] = {p.name: p.calibration for p in PARAMETERS if isinstance(p.calibration, Free)}
#: Every parameter with a search range: the free ones and those held at an earlier calibration's value
#: (``Held``); a history matching (``--params``) or a robustness run (``--only``) may vary any of them.
SEARCHABLE: dict[str, Free] = {
    **FREE_PARAMETERS,
    **{p.name: p.calibration.search for p in PARAMETERS if isinstance(p.calibration, Held)},
}


def not_searchable(option: str, names: list[str]) -> str | None:
    """The sentence for names of ``option`` that no search may vary (None if every name may be varied)."""
    unknown = [n for n in names if n not in SEARCHABLE]
    if not unknown:
        return None
    return (
        f"{option}: {', '.join(unknown)} is not a free parameter or one held at an earlier calibration; "
        f"allowed: {', '.join(SEARCHABLE)}."
    )


#: Every parameter that is not searched, and why (``Param.calibration``).
FIXED_BY_DESIGN_OR_LITERATURE: dict[str, str] = {
    p.name: p.calibration.reason for p in PARAMETERS if isinstance(p.calibration, Fixed)
}


def _json_float(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def fitted_targets(with_held_out: bool) -> tuple[str, ...]:
    """The targets a calibration runs and scores: T1-T14, or every target with ``with_held_out``."""
    return tuple(t.id for t in targets_module.TARGETS) if with_held_out else targets_module.CALIBRATED


def scored_checks(with_held_out: bool = False, left_out: Iterable[str] = ()) -> tuple[str, ...]:
    """The checks a calibration scores: those of its fitted targets (``fitted_targets``) but ``left_out``.

    Leaving a check out is for one the model cannot reach with any value of the free parameters (say so
    where the calibration is reported): scored, it would pull every other fit toward a compromise.

    Raises:
        CalibrationError: If ``left_out`` names a check that is not fitted.
    """
    fitted = set(fitted_targets(with_held_out))
    ids = [c for c in targets_module.CHECKS if targets_module.TARGET_OF[c].id in fitted]
    unknown = sorted(set(left_out) - set(ids))
    if unknown:
        raise CalibrationError(
            f"--leave-out: {', '.join(unknown)} is not a check of the fitted targets; allowed: {', '.join(ids)}."
        )
    return tuple(c for c in ids if c not in set(left_out))


def signature(seed: int, replications: int, size_factor: float, scored: Iterable[str] | None = None) -> dict[str, Any]:
    """What makes trials comparable: the free parameters and ranges, the checks and rules, seeds and sizes, loss."""
    wanted = set(scored if scored is not None else scored_checks())
    return {
        "free_parameters": {n: [p.low, p.high, p.log] for n, p in FREE_PARAMETERS.items()},
        "checks": {
            c.id: [c.study, c.statistic, c.rule, c.published, list(c.interval or ()), c.sign]
            for c in targets_module.CHECKS.values()
            if c.id in wanted
        },
        "seed": int(seed),
        "replications": int(replications),
        "size_factor": float(size_factor),
        "loss_version": LOSS_VERSION,
        "model": model_fingerprint(),
    }


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which part of the signature differs, in words."""
    if old.get("free_parameters") != new["free_parameters"]:
        a, b = set(old.get("free_parameters", {})), set(new["free_parameters"])
        if a != b:
            return f"other free parameters ({len(a)} there, {len(b)} now; differing: {', '.join(sorted(a ^ b))})"
        return "other search ranges of the free parameters"
    if old.get("checks") != new["checks"]:
        a, b = old.get("checks", {}), new["checks"]
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return f"other targets (checks {', '.join(diff)} differ)"
    if old.get("model") != new["model"]:
        return "another version of the model (its rules or parameter defaults changed since)"
    for key in ("seed", "replications", "size_factor", "loss_version"):
        if old.get(key) != new[key]:
            return f"{key} {old.get(key)} (now {new[key]})"
    return "other settings"


def open_study(
    folder: Path, seed: int, replications: int, size_factor: float, scored: Iterable[str] | None = None,
    start: dict[str, float] | None = None,
) -> optuna.Study:  # fmt: skip
    """Create or resume the study stored in ``folder`` (journal file storage).

    A new study's first trial is the current defaults; ``start`` (e.g. the best of an earlier
    calibration) is its second.

    Raises:
        CalibrationError: If the folder holds a calibration with another signature.
    """
    optuna = require("optuna", "Calibration")  # the 'calibrate' extra
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress is reported by ``calibrate``
    folder.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(folder / JOURNAL)))
    wanted = signature(seed, replications, size_factor, scored)
    existing = optuna.study.get_all_study_names(storage)
    if existing and STUDY_NAME not in existing:
        raise CalibrationError(f"{folder} holds Optuna studies {existing}, not a calibration; choose another --out.")
    if STUDY_NAME in existing:
        old = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        found = old.user_attrs.get("signature")
        if found is not None and found != wanted:
            raise CalibrationError(
                f"{folder} holds a calibration with {_difference(found, wanted)}; "
                "rerun with its settings or choose another --out."
            )
    if not (folder / MARKER).exists():
        write_marker(folder, FOLDER_KIND)
    # each trial draws from the seed and the complete trials before it, however many runs the study took
    sampler = _complete_seeded_tpe(seed, n_startup_trials=STARTUP_TRIALS, multivariate=True)
    study = optuna.create_study(
        storage=storage, sampler=sampler, study_name=STUDY_NAME, direction="minimize", load_if_exists=True
    )
    if "signature" not in study.user_attrs:
        study.set_user_attr("signature", wanted)
        study.set_user_attr("created", datetime.now(UTC).isoformat(timespec="seconds"))
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # left running by an interrupted run (the folder lock allows one calibration at a time): it failed,
        # and its candidate is evaluated again first, so the complete trials are those of an uninterrupted run
        study.tell(trial.number, state=TrialState.FAIL)
        if len(trial.params) == len(FREE_PARAMETERS):
            kept = {k: v for k, v in trial.user_attrs.items() if k in ("defaults", "start")}
            study.enqueue_trial(dict(trial.params), user_attrs=kept)
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(default_values(), user_attrs={"defaults": True})
        if start:
            study.enqueue_trial(start_values(start), user_attrs={"start": True})
    return study


def _complete_seeded_tpe(seed: int, **options: Any) -> optuna.samplers.TPESampler:
    """TPE whose random state before each trial is ``seed + number of complete trials``.

    A trial's candidate then depends only on the seed and the complete trials
    before it, not on how many runs the study took or which attempts a kill
    interrupted: a calibration resumed after kill -9 proposes what an
    uninterrupted one does. Built on call, since optuna is an optional extra.
    """
    import optuna
    from optuna.samplers._lazy_random_state import LazyRandomState  # what TPESampler reseeds (no public API)
    from optuna.trial import TrialState

    class CompleteSeededTPE(optuna.samplers.TPESampler):
        def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            reseed = seed + len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
            self._rng = LazyRandomState(reseed)
            self._random_sampler = optuna.samplers.RandomSampler(seed=reseed)
            super().before_trial(study, trial)

    return CompleteSeededTPE(seed=seed, **options)


def start_values(start: dict[str, float]) -> dict[str, float]:
    """A starting point for the free parameters: ``start`` where it names them, inside the search ranges."""
    defaults = default_values()
    return {n: min(max(float(start.get(n, defaults[n])), p.low), p.high) for n, p in FREE_PARAMETERS.items()}


def best_of(path: str | Path) -> dict[str, float]:
    """A starting point: a calibration folder's best parameters, or a JSON file of parameter values.

    A folder's ``best.json``; a file as ``rupture-sim simulate`` writes ``parameters.json`` (or a ``best.json``).

    Raises:
        CalibrationError: If ``path`` is neither.
    """
    path = Path(path)
    file = path / "best.json" if path.is_dir() else path
    try:
        data = json.loads(read_text(file, "start", CalibrationError))  # a regular file of bounded size only
        values = data.get("params", data)
        return {str(k): float(v) for k, v in values.items() if str(k) in FREE_PARAMETERS}
    except (OSError, ValueError, TypeError, AttributeError):
        raise CalibrationError(
            f"--start {path}: give a finished calibration folder (with best.json) or a JSON file of parameter values."
        ) from None


def default_values() -> dict[str, float]:
    """The current defaults of the free parameters."""
    return {name: float(SPECS[name].default) for name in FREE_PARAMETERS}


def suggest(trial: optuna.Trial) -> dict[str, float]:
    """The candidate values of the free parameters for one trial."""
    return {n: trial.suggest_float(n, p.low, p.high, log=p.log) for n, p in FREE_PARAMETERS.items()}


def record(trial: optuna.Trial, table: pd.DataFrame, seconds: float, scored: Iterable[str] | None = None) -> float:
    """Store the loss, every check's median, pass and loss term as user attributes of the trial; return the loss."""
    terms = loss_terms(table, None if scored is None else tuple(scored))
    trial.set_user_attr("medians", {r["check"]: _json_float(r["median"]) for _, r in table.iterrows()})
    trial.set_user_attr("passed", {r["check"]: bool(r["passed"]) for _, r in table.iterrows()})
    trial.set_user_attr("terms", {k: round(float(v), 6) for k, v in terms.items()})
    trial.set_user_attr("n_passed", int(table["passed"].sum()))
    trial.set_user_attr("n_checks", len(table))
    trial.set_user_attr("seconds", round(seconds, 2))
    value = float(terms.sum())
    trial.set_user_attr("loss", value)
    return value


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The complete trials in order."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
