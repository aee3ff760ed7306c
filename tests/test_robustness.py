"""The robustness table: one-at-a-time changes of the free parameters, through the command users run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulation.model.parameters import SPECS
from simulation.tools.cli import main
from simulation.validation.calibrate import FREE_PARAMETERS
from simulation.validation.robustness import perturbations, summarise
from simulation.validation.targets import CHECKS


def test_each_free_parameter_moves_down_and_up_by_a_tenth_inside_its_range():
    changes = perturbations(FREE_PARAMETERS)
    for name, change, value in changes:
        spec = SPECS[name]
        assert spec.low <= value <= spec.high
        if spec.default:
            assert value == pytest.approx(
                min(max(spec.default * (1.1 if change == "+10%" else 0.9), spec.low), spec.high)
            )
        else:  # a parameter switched off moves up by a tenth of its search range
            free = FREE_PARAMETERS[name]
            assert change == "+10% of range" and value == pytest.approx(0.1 * (free.high - free.low))
    nonzero = sum(1 for n in FREE_PARAMETERS if SPECS[n].default)
    assert len(changes) == 2 * nonzero + (len(FREE_PARAMETERS) - nonzero)


def test_robustness_command_names_the_parameter_that_moves_a_check_and_resumes(tmp_path: Path, capsys):
    out = tmp_path / "rob"
    argv = ["robustness", "--out", str(out), "--only", "rupture_base_rate", "--step", "0.9", "--replications", "2"]
    argv += ["--workers", "1", "--size-factor", "0.1"]
    assert main(argv) == 0
    table = pd.read_csv(out / "robustness.csv").fillna("")
    assert list(table["check"]) == list(CHECKS)
    assert (table["fragile"] == (table["passes"] & (table["fails_when"] != ""))).all()
    assert "Robustness of the fit" in (out / "robustness.md").read_text()
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 3 * len(CHECKS)  # the defaults, down, up
    # Cutting the base rate of ruptures by 90% (or raising it by 90%) moves the share of sessions with a marker.
    t1 = runs[runs["check"] == "T1"].set_index("change")["median"]
    assert t1["-90%"] < t1["none"] < t1["+90%"]
    capsys.readouterr()
    assert main(argv) == 0  # a rerun resumes: nothing left to run
    assert "rupture_base_rate" not in capsys.readouterr().out.split("checks pass with the defaults")[0]
    assert len(pd.read_csv(out / "runs.csv")) == len(runs)
    assert main([*argv[:-2], "--size-factor", "0.2"]) == 2  # other settings: refused in one sentence
    err = capsys.readouterr().err
    assert "size_factor differ" in err and len(err.strip().splitlines()) == 1
    assert main(["robustness", "--out", str(tmp_path / "x"), "--only", "noticing"]) == 2
    assert "not a free parameter" in capsys.readouterr().err


def test_the_table_flags_a_pass_that_one_change_undoes():
    runs = pd.DataFrame(
        [
            {"parameter": "(defaults)", "change": "none", "check": "T1", "median": 70.0, "passed": True},
            {"parameter": "(defaults)", "change": "none", "check": "T7", "median": 0.2, "passed": False},
            {"parameter": "noticing", "change": "-10%", "check": "T1", "median": 90.0, "passed": False},
            {"parameter": "noticing", "change": "-10%", "check": "T7", "median": 0.3, "passed": True},
            {"parameter": "skill_mean", "change": "+10%", "check": "T1", "median": 71.0, "passed": True},
            {"parameter": "skill_mean", "change": "+10%", "check": "T7", "median": 0.2, "passed": False},
        ]
    )
    table = summarise(runs).set_index("check")
    assert table.loc["T1", "fragile"] and table.loc["T1", "fails_when"] == "noticing -10%"
    assert not table.loc["T7", "fragile"] and table.loc["T7", "passes_when"] == "noticing -10%"
