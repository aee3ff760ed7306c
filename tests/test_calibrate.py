"""Calibration: the parameter split, the loss from the targets, and a tiny resumable Optuna study."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from simulation.model.parameters import PARAMETERS, SPECS, Free
from simulation.tools.cli import main
from simulation.validation import calibrate as cal
from simulation.validation.calibrate.loss import loss_terms
from simulation.validation.calibrate.search import signature
from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE
from simulation.validation.targets import CALIBRATED, CHECKS, HELD_OUT, TARGET_OF, TARGETS

TINY = {"replications": 2, "workers": 1, "size_factor": 0.25, "check_replications": 2, "seed": 3}

# --- the parameter split -------------------------------------------------------------------------------------


def test_free_and_fixed_parameters_partition_the_declared_parameters():
    free, fixed = set(cal.FREE_PARAMETERS), set(cal.FIXED_BY_DESIGN_OR_LITERATURE)
    assert 5 <= len(free) <= 24  # a search Optuna's TPE handles in a few dozen to a few hundred trials
    assert not free & fixed
    assert free | fixed == {p.name for p in PARAMETERS}
    assert all(why.strip() for why in cal.FIXED_BY_DESIGN_OR_LITERATURE.values())


def test_search_ranges_lie_inside_the_declared_ranges_and_contain_the_defaults():
    for name, p in cal.FREE_PARAMETERS.items():
        spec = SPECS[name]
        assert spec.low <= p.low < p.high <= spec.high, name
        assert p.low <= spec.default <= p.high, name
        assert not spec.integer, name
        assert not p.log or p.low > 0, name


# --- the loss ------------------------------------------------------------------------------------------------


def _on_target_row(check_id: str) -> dict[str, object]:
    """A result row whose median sits where the check wants it, with a simulated half-width of 1."""
    c = CHECKS[check_id]
    if c.rule == POINT:
        med = float(c.published)
    elif c.rule in (BAND, RANGE):
        med = sum(c.interval) / 2
    else:
        med = float(c.sign)
    return {"check": check_id, "median": med, "q05": med - 1, "q95": med + 1, "n_valid": 10, "replications": 10,
            "passed": True}  # fmt: skip


def _table(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_loss_is_zero_when_every_check_hits_its_target():
    table = _table([_on_target_row(c.id) for t in TARGETS for c in t.checks])
    assert cal.loss(table) == pytest.approx(0.0)


@pytest.mark.parametrize("rule", [POINT, BAND, RANGE, DIRECTION])
def test_loss_grows_when_one_check_misses_and_with_the_distance(rule: str):
    check = next(c for t in TARGETS for c in t.checks if c.rule == rule)
    rows = [_on_target_row(c.id) for t in TARGETS for c in t.checks]
    i = next(k for k, r in enumerate(rows) if r["check"] == check.id)
    losses = []
    for shift in (3.0, 6.0):  # the median moves away from the target (for direction: to the wrong side)
        row = dict(rows[i])
        width = check.interval[1] - check.interval[0] if check.interval else 0.0
        row["median"] = -check.sign * shift if rule == DIRECTION else float(row["median"]) + width + shift
        row["q05"], row["q95"] = row["median"] - 1, row["median"] + 1
        row["passed"] = False
        losses.append(cal.loss(_table([*rows[:i], row, *rows[i + 1 :]])))
    weight = cal.check_weight(check.id)
    assert losses[0] >= weight * cal.FAIL_PENALTY + weight  # a miss costs the fail penalty and the distance
    assert losses[1] > losses[0]


def test_distance_is_normalised_by_the_larger_of_published_and_simulated_uncertainty():
    t10 = next(c for t in TARGETS for c in t.checks if c.rule == POINT and c.interval is not None)
    half_pub = (t10.interval[1] - t10.interval[0]) / 2
    p = float(t10.published)
    # narrow simulated spread: the published CI sets the scale
    assert cal.normalised_distance(t10, p + half_pub, p, p) == pytest.approx(1.0)
    # wide simulated spread: it sets the scale
    wide = 10 * half_pub
    assert cal.normalised_distance(t10, p + half_pub, p - wide, p + wide) == pytest.approx(0.1)


def test_direction_hinge_is_scaled_by_the_simulated_spread_and_soft_targets_weigh_half():
    d = next(c for t in TARGETS for c in t.checks if c.rule == DIRECTION)
    assert cal.normalised_distance(d, d.sign * 1.0, -1.0, 1.0) == 0.0
    assert cal.normalised_distance(d, -d.sign * 1.0, -1.0, 1.0) == pytest.approx(1 + cal.DIRECTION_MARGIN)
    assert cal.normalised_distance(d, -d.sign * 1.0, -2.0, 2.0) == pytest.approx(0.5 + cal.DIRECTION_MARGIN)
    soft = next(t for t in TARGETS if t.confidence == "soft")
    firm = next(t for t in TARGETS if t.confidence == "firm")
    assert cal.check_weight(soft.checks[0].id) == cal.SOFT_WEIGHT
    assert cal.check_weight(firm.checks[0].id) == cal.FIRM_WEIGHT


def test_held_out_targets_add_nothing_to_the_loss_and_to_the_signature():
    assert HELD_OUT == ("T15", "T16", "T17", "T18", "T19", "T20") and not set(HELD_OUT) & set(CALIBRATED)
    rows = [_on_target_row(c.id) for t in TARGETS for c in t.checks]
    far = [  # every held-out check far off and failing: out of sample, so the loss does not move
        {**r, "median": -1e6, "q05": -1e6 - 1, "q95": -1e6 + 1, "passed": False}
        if TARGET_OF[r["check"]].held_out
        else r
        for r in rows
    ]
    assert cal.loss(_table(far)) == pytest.approx(0.0)
    assert set(cal.check_weight(c) for c in CHECKS)  # every check still has a weight (the report shows them)
    assert set(loss_terms(_table(far)).index) == {c for c in CHECKS if TARGET_OF[c].id in CALIBRATED}
    checks = signature(1, 2, 1.0)["checks"]
    assert set(checks) == {c for c in CHECKS if TARGET_OF[c].id in CALIBRATED}


def test_an_undefined_statistic_is_charged_as_far_off():
    row = {**_on_target_row(TARGETS[0].checks[0].id), "median": math.nan, "n_valid": 0, "passed": False}
    term = cal.check_term(CHECKS[row["check"]], row)
    assert term == pytest.approx(cal.check_weight(row["check"]) * (cal.huber(cal.UNDEFINED_DISTANCE) + 1))


# --- the study -----------------------------------------------------------------------------------------------


def test_tiny_calibration_writes_its_files_and_resumes(tmp_path: Path):
    out = tmp_path / "cal"
    first = cal.calibrate(out, n_trials=3, **TINY)
    for name in (cal.JOURNAL, "best.json", "trials.csv", "report.md", "constraints.png", "constraints.csv"):
        assert (out / name).is_file(), name
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3 and bool(trials["defaults"].iloc[0])
    calibrated = {c for c in CHECKS if TARGET_OF[c].id in CALIBRATED}
    assert {f"median_{c}" for c in calibrated} <= set(trials.columns)
    held_out = {c for c in CHECKS if TARGET_OF[c].id in HELD_OUT}
    assert held_out and not {f"median_{c}" for c in held_out} & set(trials.columns)  # neither run nor scored
    best = json.loads((out / "best.json").read_text())
    assert best["loss"] == pytest.approx(trials["loss"].min())
    assert set(best["params"]) == set(cal.FREE_PARAMETERS)
    assert best["n_passed"] == len(best["checks_passed"])
    assert first["validation"]["n_checks"] == len(calibrated)
    report = (out / "report.md").read_text()
    assert "Which targets constrain which parameters" in report and "constraints.png" in report

    again = cal.calibrate(out, n_trials=5, **TINY)
    trials2 = pd.read_csv(out / "trials.csv")
    assert len(trials2) == 5 and again["trials"] == 5
    pd.testing.assert_frame_equal(trials2.iloc[:3].reset_index(drop=True), trials.reset_index(drop=True))
    params = [n for n in cal.FREE_PARAMETERS]
    assert not trials2[params].iloc[3:].duplicated().any()  # the resumed run does not repeat earlier candidates
    assert len(trials2[params].drop_duplicates()) == 5


def test_a_folder_with_other_free_parameters_or_settings_is_refused(tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "cal"
    cal.calibrate(out, n_trials=1, **{**TINY, "check_replications": None})
    monkeypatch.setitem(cal.FREE_PARAMETERS, "noticing", Free(0.2, 0.5))
    with pytest.raises(cal.CalibrationError, match="other free parameters"):
        cal.calibrate(out, n_trials=2, **TINY)
    monkeypatch.undo()
    monkeypatch.setattr("simulation.validation.calibrate.search.model_fingerprint", lambda: "recalibrated")
    with pytest.raises(cal.CalibrationError, match="another version of the model"):
        cal.calibrate(out, n_trials=2, **TINY)
    monkeypatch.undo()
    with pytest.raises(cal.CalibrationError, match="replications"):
        cal.calibrate(out, n_trials=2, **{**TINY, "replications": 3})
    argv = ["calibrate", "--out", str(out), "--trials", "2", "--replications", "3", "--workers", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "holds a calibration with" in err and len(err.strip().splitlines()) == 1


def test_calibrate_command_prints_progress_and_summary(tmp_path: Path, capsys):
    out = tmp_path / "cal"
    argv = ["calibrate", "--out", str(out), "--trials", "2", "--replications", "2", "--workers", "1", "--seed", "4",
            "--size-factor", "0.25"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "trial 1 (2/2): loss" in text and "Best loss" in text and "Report:" in text
    assert (out / "report.md").is_file()


def test_the_second_calibration_fits_the_held_out_targets_and_starts_from_the_first(
    tmp_path: Path, capsys, monkeypatch
):
    # The command's closing quick validations of the best and the default parameters (QUICK_REPLICATIONS each,
    # which test_calibrate_command_prints_progress_and_summary runs) take 2 replications here: this test is about
    # the held-out targets and the warm start, and the 2 x 100 replications of every study were most of its time.
    full = cal.calibrate
    monkeypatch.setattr(cal, "calibrate", lambda *a, **k: full(*a, **{"check_replications": 2, **k}))
    first = tmp_path / "first"
    full(first, n_trials=2, **{**TINY, "check_replications": None})
    best = json.loads((first / "best.json").read_text())["params"]
    second = tmp_path / "second"
    argv = ["calibrate", "--out", str(second), "--trials", "2", "--replications", "2", "--workers", "1", "--seed", "3"]
    argv += ["--size-factor", "0.1", "--with-held-out", "--start", str(first)]
    assert main(argv) == 0
    trials = pd.read_csv(second / "trials.csv")
    held_out = {c for c in CHECKS if TARGET_OF[c].id in HELD_OUT}
    assert {f"median_{c}" for c in held_out} <= set(trials.columns)  # run and scored
    assert bool(trials["defaults"].iloc[0])
    started = trials.iloc[1]
    assert all(started[n] == pytest.approx(v) for n, v in best.items())  # the first calibration's best, tried second
    assert "every target (T1-T20)" in (second / "report.md").read_text()
    capsys.readouterr()
    assert main([*argv[:-3], "--start", str(first)]) == 2  # the same folder without --with-held-out: other targets
    assert "other targets" in capsys.readouterr().err
    assert main(["calibrate", "--out", str(tmp_path / "third"), "--start", str(tmp_path / "none")]) == 2
    assert "finished calibration folder" in capsys.readouterr().err
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"felt_dent_carry": 0.5, "noticing": 0.3}))  # a free parameter and a fixed one
    assert cal.best_of(start) == {"felt_dent_carry": 0.5}


# --- verify ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "cal"
    cal.calibrate(out, n_trials=3, **{**TINY, "size_factor": 0.1, "check_replications": None})
    return out


def _verify(folder: Path, capsys) -> tuple[int, list[str]]:
    code = main(["verify", str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.strip().splitlines()


def _drop_line(path: Path, index: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    del lines[index]
    path.write_text("".join(lines))


def _change_loss(folder: Path) -> None:
    rows = (folder / "trials.csv").read_text().splitlines(keepends=True)
    cells = rows[2].split(",")  # trial 1
    cells[1] = repr(float(cells[1]) + 1.0)
    rows[2] = ",".join(cells)
    (folder / "trials.csv").write_text("".join(rows))


def _edit_journal(folder: Path, edit) -> None:
    """Rewrite journal.log's operations through ``edit`` (one operation in, a list of operations out)."""
    ops = [json.loads(line) for line in (folder / cal.JOURNAL).read_text().splitlines()]
    kept = [new for op in ops for new in edit(op)]
    (folder / cal.JOURNAL).write_text("".join(json.dumps(op, separators=(",", ":")) + "\n" for op in kept))


def _lose_last_result(folder: Path) -> None:
    """The journal loses the operation that finished its last trial (op 6: state and values)."""
    ops = [json.loads(line) for line in (folder / cal.JOURNAL).read_text().splitlines()]
    last = max(i for i, op in enumerate(ops) if op["op_code"] == 6)
    _edit_journal(folder, lambda op: [] if op == ops[last] else [op])


def _param_off_range(folder: Path) -> None:
    """The journal's first value of felt_dent_carry (search range 0.1-0.9) set to 5 (op 5: a trial's parameter)."""
    done = []

    def edit(op: dict) -> list[dict]:
        if op["op_code"] == 5 and op["param_name"] == "felt_dent_carry" and not done:
            done.append(op)
            return [{**op, "param_value_internal": 5.0}]
        return [op]

    _edit_journal(folder, edit)


def _cut(path: Path, share: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


CALIBRATION_DAMAGE = {
    "a trial row removed from trials.csv": (
        lambda f: _drop_line(f / "trials.csv", 2),
        ["trials.csv has the wrong size", "trials.csv has 2 rows, the trials in journal.log give 3"],
    ),
    "a loss changed in trials.csv": (
        _change_loss,
        [
            "trials.csv does not match its checksum",
            "trials.csv does not agree with the trials in journal.log: the row of trial 1 differs in loss",
        ],
    ),
    "a trial's result lost from journal.log": (
        _lose_last_result,
        [
            "incomplete: trial attempt 2 in journal.log never finished",
            "best.json reports 3 complete trials, journal.log holds 2",
        ],
    ),
    "a parameter outside its search range in journal.log": (
        _param_off_range,
        [
            "journal.log: trial 0 sets felt_dent_carry to 5.0, outside its search range 0.1 to 0.9",
            "trials.csv does not agree with the trials in journal.log: the row of trial 0 differs in felt_dent_carry",
        ],
    ),
    "journal.log cut in the middle of a line": (
        lambda f: _cut(f / cal.JOURNAL, 0.6),
        ["in journal.log never finished", "best.json reports 3 complete trials, journal.log holds"],
    ),
    "report.md deleted": (lambda f: (f / "report.md").unlink(), ["report.md is missing"]),
    "constraints.png truncated": (lambda f: _cut(f / "constraints.png", 0.9), ["constraints.png has the wrong size"]),
    "best.json truncated": (lambda f: _cut(f / "best.json", 0.5), ["best.json cannot be read (JSONDecodeError)"]),
}


def test_verify_passes_a_whole_calibration_and_says_when_its_report_is_missing(whole_study, tmp_path, capsys):
    from simulation.tools.cli import folder_kind

    assert folder_kind(whole_study) == "calibrate"
    code, lines = _verify(whole_study, capsys)
    assert code == 0 and lines == [f"{whole_study}: every file matches its record; the calibrate folder is complete."]
    folder = tmp_path / "cal"
    shutil.copytree(whole_study, folder)
    (folder / "best.json").unlink()  # as a kill during the final report leaves it: best.json is written last
    code, lines = _verify(folder, capsys)
    assert code == 1 and lines == [
        "incomplete: best.json is missing (the run stopped before writing its report); rerun the same "
        "`rupture-sim calibrate` command to resume"
    ]
    cal.calibrate(folder, n_trials=3, **{**TINY, "size_factor": 0.1, "check_replications": None})  # the resume
    assert _verify(folder, capsys)[0] == 0


@pytest.mark.parametrize("damage", sorted(CALIBRATION_DAMAGE))
def test_verify_lists_damage_to_a_calibration_naming_the_file(whole_study, tmp_path, capsys, damage):
    folder = tmp_path / "cal"
    shutil.copytree(whole_study, folder)
    harm, expected = CALIBRATION_DAMAGE[damage]
    harm(folder)
    code, lines = _verify(folder, capsys)
    assert code == 1
    for needle in expected:
        assert any(needle in line for line in lines), (needle, lines)


def test_verify_says_when_a_calibration_was_made_by_another_model(whole_study, monkeypatch, capsys):
    monkeypatch.setattr("simulation.validation.calibrate.verify.model_fingerprint", lambda: "recalibrated")
    code, lines = _verify(whole_study, capsys)
    assert code == 1 and lines == [
        f"{whole_study} was made with another version of the model (its rules or "
        "parameter defaults changed since), and continuing would mix two models in one "
        "dataset; choose another --out folder or remove it."
    ]
