"""Whether a calibrate folder is whole: what ``rupture-sim verify`` checks for the two methods.

A calibration (``calibrate``, the Optuna study) is recorded in its journal: the
study's signature (free parameters and ranges, checks, seeds, sizes, loss, model)
and every trial. Its report is whole when ``best.json``, written last, counts
every complete trial of the journal, names its best, and records the size and
checksum of ``trials.csv``, ``constraints.csv``, ``constraints.png`` and
``report.md``; ``trials.csv`` and ``constraints.csv`` must also be what the
journal's trials give.

A history matching (``calibrate --method history-matching``) is recorded in
``settings.json`` and, per wave, its design and one file per design point; a wave
is finished when its ``summary.json`` is written (last). The run is whole when the
waves stopped, the ensemble checked every candidate its rule asks for (its three
files are what the checked candidates give), and ``history.json``, written last,
records the size and checksum of each report file.

Both say so for a folder another version of the model made (``store.other_model``),
and never change the folder: the journal is replayed from a copy. Each function
returns every problem, one sentence each, and never raises for a damaged folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.extras import require
from simulation.model.version import model_fingerprint
from simulation.sweep.store import other_model, shard_problems
from simulation.validation.calibrate import ensemble_check, history, history_report, report, search
from simulation.validation.calibrate.history import SETTINGS, Settings, _json, make_settings, wave_dir
from simulation.validation.calibrate.search import (
    FREE_PARAMETERS,
    JOURNAL,
    STUDY_NAME,
    CalibrationError,
    _difference,
    completed,
    signature,
)

if TYPE_CHECKING:
    import optuna

#: What each kind of folder tells its user to do when it is not finished.
RESUME_OPTUNA = "rerun the same `rupture-sim calibrate` command to resume"
RESUME_HISTORY = "rerun the same `rupture-sim calibrate --method history-matching` command to resume"
#: Slack of a range check (a value on a log-scale bound comes back from exp(log(x)) an ulp off).
_SLACK = 1e-9
#: The last chunk of every whole PNG file.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


# --- shared -------------------------------------------------------------------------------------------------------


def _read_bytes(folder: Path, name: str) -> tuple[bytes | None, list[str]]:
    """A file of the folder, or None and the sentence saying why not."""
    try:
        return (folder / name).read_bytes(), []
    except FileNotFoundError:
        return None, [f"{name} is missing"]
    except OSError as err:
        return None, [f"{name} cannot be read ({err.__class__.__name__})"]


def _read_json(folder: Path, name: str) -> tuple[Any, list[str]]:
    """A JSON file of the folder, or None and the sentence saying why not."""
    data, problems = _read_bytes(folder, name)
    if data is None:
        return None, problems
    try:
        return json.loads(data), []
    except ValueError as err:
        return None, [f"{name} cannot be read ({err.__class__.__name__})"]


def _read_csv(folder: Path, name: str) -> tuple[pd.DataFrame | None, list[str]]:
    """A table of the folder, read as the run reads it, or None and the sentence saying why not."""
    try:
        return pd.read_csv(folder / name), []
    except FileNotFoundError:
        return None, [f"{name} is missing"]
    except pd.errors.EmptyDataError:  # a table of no rows and no columns (a wave without emulators)
        return pd.DataFrame(), []
    except (OSError, ValueError) as err:  # pandas' ParserError is a ValueError
        return None, [f"{name} cannot be read as a table ({err.__class__.__name__})"]


def _recorded_files(folder: Path, record: str, files: Any, names: tuple[str, ...]) -> list[str]:
    """The report files a record (``best.json``, ``history.json``) lists: present, of their size and checksum."""
    if not isinstance(files, dict):
        return [f"{record} records no checksums of the report files (an older rupture-sim wrote it)"]
    problems = []
    for name in names:
        entry = files.get(name)
        if isinstance(entry, dict) and entry.get("file") == name:
            problems += shard_problems(folder, entry)
        else:
            problems.append(f"{record} has no valid record of {name}")
    return problems


def _same_table(name: str, found: str, expected: str, source: str) -> list[str]:
    """Where a table file differs from the table its record gives (both read by the same parser)."""
    if found == expected:
        return []
    try:
        a, b = pd.read_csv(StringIO(found)), pd.read_csv(StringIO(expected))
    except ValueError as err:
        return [f"{name} cannot be read as a table ({err.__class__.__name__})"]
    if list(a.columns) != list(b.columns):
        return [f"{name} does not have the columns {source} give"]
    if len(a) != len(b):
        return [f"{name} has {len(a)} rows, {source} give {len(b)}"]
    differ = (a != b) & ~(a.isna() & b.isna())
    rows = np.flatnonzero(differ.any(axis=1).to_numpy())
    if not len(rows):
        return [f"{name} is not written as {source} give it"]
    columns = ", ".join(differ.columns[differ.iloc[rows[0]]][:5])
    row = f"{b.columns[0]} {b.iloc[rows[0], 0]}"
    return [f"{name} does not agree with {source}: the row of {row} differs in {columns}"]


def _outside(value: Any, low: float, high: float) -> bool:
    """Whether a parameter's value is missing or outside its range."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return True
    slack = _SLACK * max(1.0, abs(low), abs(high))
    return not low - slack <= value <= high + slack


def _png(folder: Path, name: str) -> list[str]:
    """A figure of the folder: present and whole."""
    data, problems = _read_bytes(folder, name)
    if data is None:
        return problems
    return [] if data.startswith(b"\x89PNG") and data.endswith(_PNG_END) else [f"{name} is not a whole PNG file"]


# --- the Optuna calibration ---------------------------------------------------------------------------------------


def verify_calibration(folder: Path) -> list[str]:
    """Every problem of a ``calibrate`` folder (the Optuna study), one sentence each; empty if it is whole."""
    with _replayed(folder) as (study, problems):
        if study is None:
            return problems
        problems += _signature_problems(folder, study.user_attrs.get("signature"))
        problems += _trial_problems(study)
        return problems + _report_problems(folder, study)


@contextmanager
def _replayed(folder: Path) -> Iterator[tuple[optuna.Study | None, list[str]]]:
    """The study of the folder's journal, replayed from a copy (Optuna opens its file for appending)."""
    if not (folder / JOURNAL).is_file():
        yield None, [f"{JOURNAL} is missing: the folder holds no calibration study"]
        return
    optuna = require("optuna", "Calibration")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="rupture-sim-verify-") as tmp:
        copy = Path(tmp) / JOURNAL
        try:
            shutil.copyfile(folder / JOURNAL, copy)
            study = optuna.load_study(study_name=STUDY_NAME, storage=JournalStorage(JournalFileBackend(str(copy))))
            study.get_trials(deepcopy=False)
        except KeyError:
            yield None, [f"{JOURNAL} holds no study named '{STUDY_NAME}': rupture-sim calibrate did not write it"]
            return
        except Exception as err:  # a damaged journal: Optuna's replay raises many kinds
            yield None, [f"{JOURNAL} cannot be read as an Optuna journal ({err.__class__.__name__})"]
            return
        yield study, []


def _signature_problems(folder: Path, found: Any) -> list[str]:
    """A study of another model, or one this version cannot resume (other free parameters, ranges, rules, loss)."""
    if not isinstance(found, dict):
        return [f"{JOURNAL} holds no calibration signature (free parameters, checks, seeds)"]
    problems = [] if found.get("model") == model_fingerprint() else [other_model(folder)]
    try:
        wanted = signature(found["seed"], found["replications"], found["size_factor"], list(found["checks"]))
    except (KeyError, TypeError, ValueError):
        return [*problems, f"{JOURNAL} holds a damaged calibration signature"]
    if {**found, "model": wanted["model"]} != wanted:
        problems.append(
            f"{JOURNAL} holds a calibration with {_difference({**found, 'model': wanted['model']}, wanted)}, "
            "which this version cannot resume"
        )
    return problems


def _trial_problems(study: optuna.Study) -> list[str]:
    """Trials a kill left running, no complete trial, and parameter values outside their search ranges."""
    from optuna.trial import TrialState

    problems = [
        f"incomplete: trial attempt {t.number} in {JOURNAL} never finished (a run stopped during it); {RESUME_OPTUNA}"
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    ]
    done = completed(study)
    if not done:
        problems.append(f"incomplete: {JOURNAL} holds no complete trial; {RESUME_OPTUNA}")
    for number, trial in enumerate(done):
        problems += [
            f"{JOURNAL}: trial {number} sets {name} to {trial.params.get(name)!r}, outside its search range "
            f"{p.low:g} to {p.high:g}"
            for name, p in FREE_PARAMETERS.items()
            if _outside(trial.params.get(name), p.low, p.high)
        ]
    return problems


def _report_problems(folder: Path, study: optuna.Study) -> list[str]:
    """``best.json`` (written last) against the journal, and the report files it records."""
    best, problems = _record(folder, report.BEST, RESUME_OPTUNA)
    if best is None:
        return problems
    problems = _recorded_files(folder, report.BEST, best.get("files"), report.REPORT_FILES)
    n, reported = len(completed(study)), best.get("trials")
    if n == 0:
        return problems  # said by the trials' check
    if isinstance(reported, int) and reported < n:
        return [*problems, f"incomplete: {JOURNAL} holds {n} complete trials, {report.BEST} reports {reported} "
                f"(the run stopped before writing its report; {RESUME_OPTUNA})"]  # fmt: skip
    if reported != n:
        return [*problems, f"{report.BEST} reports {reported} complete trials, {JOURNAL} holds {n} (the journal "
                "lost trials: cut short or edited)"]  # fmt: skip
    return problems + _best_problems(best, study) + _table_problems(folder, study)


def _record(folder: Path, name: str, resume: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The record a run writes last (``best.json``, ``history.json``); its absence means the run did not finish."""
    if not (folder / name).exists():
        return None, [f"incomplete: {name} is missing (the run stopped before writing its report); {resume}"]
    record, problems = _read_json(folder, name)
    if not isinstance(record, dict):
        return None, problems or [f"{name} does not hold an object"]
    return record, []


def _best_problems(best: dict[str, Any], study: optuna.Study) -> list[str]:
    """Whether ``best.json`` names the journal's best trial."""
    trial = study.best_trial
    named = (best.get("loss"), best.get("params"), best.get("trial"))
    if named == (trial.value, trial.params, report.complete_number(study, trial)):
        return []
    return [f"{report.BEST} does not name the best trial of {JOURNAL} (trial "
            f"{report.complete_number(study, trial)}, loss {trial.value:.6g})"]  # fmt: skip


def _table_problems(folder: Path, study: optuna.Study) -> list[str]:
    """``trials.csv`` and ``constraints.csv`` against what the journal's trials give."""
    try:
        frame = report.trials_frame(study)
        matrix = report.constraint_matrix(frame)
    except (AttributeError, TypeError, ValueError) as err:  # user attributes of a hand-edited journal
        return [f"{JOURNAL} holds trials the report cannot be made from ({err.__class__.__name__})"]
    expected = {"trials.csv": report.trials_csv(frame), "constraints.csv": report.constraints_csv(matrix)}
    problems = []
    for name, text in expected.items():
        try:
            found = (folder / name).read_text()
        except (OSError, UnicodeDecodeError):
            continue  # missing or unreadable: said by the checksums
        problems += _same_table(name, found, text, f"the trials in {JOURNAL}")
    return problems


# --- the history matching -----------------------------------------------------------------------------------------


def verify_history_matching(folder: Path) -> list[str]:
    """Every problem of a ``calibrate --method history-matching`` folder, one sentence each; empty if it is whole."""
    settings, problems = _settings(folder)
    if settings is None:
        return problems
    waves, wave_problems = _waves(folder, settings)
    problems += wave_problems
    if waves is None:
        return problems
    ensemble, ensemble_problems = _ensemble(folder, settings)
    problems += ensemble_problems
    if ensemble is None:
        return problems
    return problems + _history_problems(folder, waves, ensemble)


def _settings(folder: Path) -> tuple[Settings | None, list[str]]:
    """The run's settings from ``settings.json``, and what is wrong with them."""
    if not (folder / SETTINGS).exists():
        return None, [f"{SETTINGS} is missing: the folder holds no history matching"]
    data, problems = _read_json(folder, SETTINGS)
    if not isinstance(data, dict):
        return None, problems or [f"{SETTINGS} is not an object"]
    if data.get("model") != model_fingerprint():
        problems.append(other_model(folder))
    try:
        settings = _settings_of(data)
    except CalibrationError as err:
        return None, [*problems, f"{SETTINGS} holds settings this version refuses: {str(err).rstrip('.')}"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, [*problems, f"{SETTINGS} is damaged: it does not hold a history matching's settings"]
    wanted = json.loads(_json(settings.signature()))
    differ = sorted(k for k in {*data, *wanted} - {"model"} if data.get(k) != wanted.get(k))
    if differ:
        problems.append(f"{SETTINGS} holds settings this version cannot resume ({', '.join(differ)} differ)")
    return settings, problems


def _settings_of(data: dict[str, Any]) -> Settings:
    """Settings rebuilt from their stored form, through the checks of the command line (``make_settings``).

    Raises:
        CalibrationError: For parameters, ranges or targets the command line refuses.
        ValueError: For sizes that are not numbers.
    """
    sizes = {}
    for f in fields(Settings):
        if f.name in data and f.name not in ("axes", "targets", "checks", "left_out", "method_version"):
            value = data[f.name]
            if isinstance(value, bool) or not isinstance(value, int if isinstance(f.default, int) else int | float):
                raise ValueError(f"{f.name} is not a number of its kind")
            sizes[f.name] = value
    axes = data["axes"]
    ranges = {a["name"]: (float(a["low"]), float(a["high"])) for a in axes}
    left_out = data.get("left_out", [])
    if not isinstance(left_out, list) or not all(isinstance(c, str) for c in left_out):
        raise ValueError("left_out is not a list of check ids")
    return make_settings([a["name"] for a in axes], ranges, list(data["targets"]), left_out, **sizes)


def _waves(folder: Path, settings: Settings) -> tuple[int | None, list[str]]:
    """The number of finished waves if the waves stopped (else None), and the problems of each finished wave."""
    problems: list[str] = []
    wave = 0
    for wave in range(1, settings.waves + 1):
        if not (wave_dir(folder, wave) / "summary.json").exists():
            return None, [*problems, _unfinished_wave(folder, wave)]
        stop, wave_problems = _finished_wave(folder, settings, wave)
        problems += wave_problems
        if stop:
            break
    later = sorted(p.name for p in folder.glob("wave-*") if p.name > wave_dir(folder, wave).name)
    problems += [f"{name} follows wave {wave}, the last one the matching ran" for name in later]
    return wave, problems


def _unfinished_wave(folder: Path, wave: int) -> str:
    """The sentence for a wave without its ``summary.json``."""
    where = wave_dir(folder, wave)
    try:
        rows = len(pd.read_csv(where / "design.csv"))
    except (OSError, ValueError):
        return f"incomplete: wave {wave} has not started; {RESUME_HISTORY}"
    stored = sum(1 for i in range(rows) if (where / "points" / f"{i:04d}.json").is_file())
    return f"incomplete: wave {wave} has {stored} of {rows} design points and no summary.json; {RESUME_HISTORY}"


def _finished_wave(folder: Path, settings: Settings, wave: int) -> tuple[bool, list[str]]:
    """Whether a finished wave stopped the matching, and what is wrong with its files."""
    where = wave_dir(folder, wave).name
    summary, problems = _read_json(folder, f"{where}/summary.json")
    summary = summary if isinstance(summary, dict) else {}
    problems += _design(folder, settings, where, summary.get("design_points"))
    for name, key, what in _WAVE_TABLES:
        table, table_problems = _read_csv(folder, f"{where}/{name}")
        problems += table_problems if table is None else _count(f"{where}/{name}", table, summary.get(key), what)
    return bool(summary.get("stop")), problems + _png(folder, f"{where}/wave.png")


#: A finished wave's tables besides its design, and the entry of its summary that counts their rows.
_WAVE_TABLES = (("region.csv", "region_points", "region points"), ("diagnostics.csv", "emulated", "emulated checks"))


def _design(folder: Path, settings: Settings, where: str, expected: Any) -> list[str]:
    """A finished wave's design and its design points."""
    name = f"{where}/design.csv"
    design, problems = _read_csv(folder, name)
    if design is None:
        return problems
    problems = _count(name, design, expected, "design points")
    u, unit_problems = _unit(settings, design, name)
    if u is None:
        return problems + unit_problems
    return problems + _points(folder, settings, f"{where}/points", u, f"row of {name}")


def _count(name: str, table: pd.DataFrame, expected: Any, what: str) -> list[str]:
    """A table's rows against the number its wave's summary records (if it could be read)."""
    if expected is None or len(table) == expected:
        return []
    return [f"{name} has {len(table)} rows, its wave's summary.json records {expected} {what}"]


def _unit(settings: Settings, design: pd.DataFrame, name: str) -> tuple[np.ndarray | None, list[str]]:
    """A design's unit-cube coordinates, as the run reads them, or None and the sentence saying why not."""
    columns = [f"u_{n}" for n in settings.names]
    missing = [c for c in columns if c not in design.columns]
    if missing:
        return None, [f"{name} lacks the column(s) {', '.join(missing)}"]
    return design[columns].to_numpy(dtype=float), []


def _points(folder: Path, settings: Settings, where: str, u: np.ndarray, source: str) -> list[str]:
    """Every design point's file: present, readable, holding every check and the parameters of its row."""
    problems = []
    for i, row in enumerate(u):
        name = f"{where}/{i:04d}.json"
        record, read_problems = _read_json(folder, name)
        problems += read_problems or _point_problems(name, record, settings, row, source)
    names = {f"{i:04d}.json" for i in range(len(u))}
    extra = sorted(p.name for p in (folder / where).glob("*") if not p.name.startswith(".") and p.name not in names)
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        problems.append(f"{where} holds {len(extra)} file(s) beyond its {len(u)} points ({shown})")
    return problems


def _point_problems(name: str, record: Any, settings: Settings, u: np.ndarray, source: str) -> list[str]:
    """One design point's record: every check's result, and the parameters of its row, inside their ranges."""
    checks = record.get("checks") if isinstance(record, dict) else None
    if not isinstance(checks, dict) or set(checks) != set(settings.checks):
        return [f"{name} does not hold the result of every check ({', '.join(settings.checks)})"]
    if not all(isinstance(c, dict) and isinstance(c.get("passed"), bool) for c in checks.values()):
        return [f"{name} holds a check result without its pass"]
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    outside = [a.name for a in settings.axes if _outside(params.get(a.name), a.low, a.high)]
    if outside:
        return [f"{name} sets {', '.join(outside)} outside the range of the matching"]
    if params != settings.params(u):
        return [f"{name} holds other parameter values than its {source}"]
    return []


class _DamagedResultError(Exception):
    """A stored result of the ensemble that cannot be read as one (the sentence saying why)."""


def _ensemble(folder: Path, settings: Settings) -> tuple[dict[str, Any] | None, list[str]]:
    """The ensemble's summary if it finished (else None), and what is wrong with its files.

    The ensemble's plan (``ensemble_check.ensemble_plan``) is replayed over the stored results: each must hold
    the parameters the plan gives it, the plan must be finished, and no other result may be stored.
    """
    if not (folder / "ensemble" / "candidates.csv").exists():
        return None, [f"incomplete: the ensemble has not started; {RESUME_HISTORY}"]
    candidates, problems = _read_csv(folder, "ensemble/candidates.csv")
    if candidates is None:
        return None, problems
    u, problems = _unit(settings, candidates, "ensemble/candidates.csv")
    if u is None:
        return None, problems

    def load(key: str) -> dict[str, Any] | None:
        name = f"ensemble/{key}.json"
        if not (folder / name).exists():
            return None
        record, read_problems = _read_json(folder, name)
        checks = record.get("checks") if isinstance(record, dict) else None
        if read_problems or not isinstance(checks, dict) or set(checks) != set(settings.checks):
            raise _DamagedResultError((read_problems or [f"{name} does not hold the result of every check"])[0])
        return record

    try:
        plan = ensemble_check.ensemble_plan(settings, u, load)
    except _DamagedResultError as err:
        return None, [str(err)]
    for c in plan.checked:
        if c.record is not None:
            source = "row of ensemble/candidates.csv" if c.origin == "region" else f"{c.origin} point"
            problems += _point_problems(f"ensemble/{c.key}.json", c.record, settings, c.u, source)
    if problems:
        return None, problems
    if plan.todo:
        return None, [
            f"incomplete: the ensemble has checked {len(plan.checked)} candidates and is not full; {RESUME_HISTORY}"
        ]
    used = {f"{c.key}.json" for c in plan.checked if c.record is not None}
    stored = {f"{p.parent.name}/{p.name}" for sub in ("points", "walk") for p in (folder / "ensemble" / sub).glob("*")
              if not p.name.startswith(".")}  # fmt: skip
    extra = sorted(stored - used)
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        return None, [f"ensemble holds {len(extra)} result(s) the ensemble's rules do not reach ({shown})"]
    files, summary = ensemble_check.ensemble_files(settings, plan.checked)
    return summary, [p for name, data in files.items() for p in _same_file(folder, name, data)]


def _same_file(folder: Path, name: str, data: bytes) -> list[str]:
    """A file the ensemble's checked candidates give: present and the same."""
    found, problems = _read_bytes(folder, name)
    if found is None or found == data:
        return problems
    if name.endswith(".csv"):
        return _same_table(name, found.decode("utf-8", "replace"), data.decode(), "the checked candidates")
    return [f"{name} does not agree with the checked candidates in ensemble/points"]


def _history_problems(folder: Path, waves: int, ensemble: dict[str, Any]) -> list[str]:
    """``history.json`` (written last) against the waves and the ensemble, and the report files it records."""
    summary, problems = _record(folder, history_report.HISTORY, RESUME_HISTORY)
    if summary is None:
        return problems
    problems = _recorded_files(folder, history_report.HISTORY, summary.get("files"), history_report.REPORT_FILES)
    if summary.get("waves") != waves:
        problems.append(f"{history_report.HISTORY} reports {summary.get('waves')} waves, the folder holds {waves}")
    if summary.get("ensemble") != json.loads(_json(ensemble)):
        problems.append(f"{history_report.HISTORY} does not report the ensemble that ensemble.json holds")
    return problems


#: The verifier of each calibrate kind (``outputs.MARKER``'s kind).
VERIFIERS: dict[str, Callable[[Path], list[str]]] = {
    search.FOLDER_KIND: verify_calibration,
    history.FOLDER_KIND: verify_history_matching,
}
