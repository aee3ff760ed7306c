"""rupture-sim sensitivity: Morris and Sobol indices via SALib, on a function with known indices and on the model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.explore.sensitivity import parse_sensitivity, run_sensitivity, shown_index
from simulation.tools.cli import main

#: Analytic Sobol indices of the Ishigami function (a = 7, b = 0.1) on [-pi, pi]^3.
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


class Ishigami:
    """The Ishigami test function behind the model-as-function interface."""

    outcomes = ("y",)

    def evaluate(self, designs: pd.DataFrame) -> pd.DataFrame:
        x1, x2, x3 = (designs[c].to_numpy(float) for c in ("x1", "x2", "x3"))
        y = np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
        return pd.DataFrame({"y": y}, index=designs.index)

    def __repr__(self) -> str:
        return "Ishigami(a=7, b=0.1)"


@pytest.fixture(scope="module")
def ishigami(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data = {
        "name": "ishigami",
        "outcomes": ["y"],
        "replications": 1,
        "sobol_samples": 1024,
        "morris_trajectories": 20,
        "seed": 4,
        "factors": {f"x{i}": {"low": -math.pi, "high": math.pi} for i in (1, 2, 3)},
    }
    spec = parse_sensitivity(data, model_parameters=False)
    folder = tmp_path_factory.mktemp("ishigami")
    return {"result": run_sensitivity(spec, folder, model=Ishigami(), quiet=True), "folder": folder}


def test_sobol_indices_of_the_ishigami_function_are_within_their_cis(ishigami: dict) -> None:
    sobol = ishigami["result"]["sobol"].set_index("factor")
    for factor in ("x1", "x2", "x3"):
        row = sobol.loc[factor]
        assert row["S1_low"] <= ISHIGAMI_S1[factor] <= row["S1_high"], (factor, "S1", row["S1"])
        assert row["ST_low"] <= ISHIGAMI_ST[factor] <= row["ST_high"], (factor, "ST", row["ST"])
    # x3 acts only through its interaction with x1: S1 spans zero, ST does not
    assert sobol.loc["x3", "S1_spans_zero"] and not sobol.loc["x3", "ST_spans_zero"]


def test_morris_ranks_the_ishigami_factors_and_convergence_covers_every_power_of_two(ishigami: dict) -> None:
    morris = ishigami["result"]["morris"].set_index("factor")
    assert morris.loc["x3", "mu_star"] > 0 and morris.loc["x2", "mu_star"] > 0
    assert sorted(ishigami["result"]["convergence"]["n"].unique()) == [2**k for k in range(3, 11)]
    summary = (ishigami["folder"] / "summary.md").read_text()
    assert "≈0 (CI spans 0" in summary  # S1 of x3, never shown as a negative number


def test_an_index_whose_ci_spans_zero_is_never_shown_negative() -> None:
    assert shown_index(-0.03, -0.08, 0.02).startswith("≈0")
    assert "-" not in shown_index(-0.03, -0.08, 0.02)
    assert shown_index(0.4, 0.3, 0.5) == "0.40 [0.30, 0.50]"


SPEC = """
name = "tiny_sensitivity"
population = "mixed"
n_patients = 30
n_sessions = 8
replications = 2
seed = 1
outcomes = ["symptom_change", "resolution_stage"]
morris_trajectories = 3
sobol_samples = 16
oat_steps = 3
[factors]
noticing = { low = 0.1, high = 0.7 }
skill_mean = { low = 0.3, high = 0.9 }
aft_start_session = { low = 0, high = 6 }
"""


def test_cli_on_the_model_writes_indices_noise_share_and_figures(tmp_path: Path, capsys) -> None:
    spec, out = tmp_path / "s.toml", tmp_path / "out"
    spec.write_text(SPEC)
    assert main(["sensitivity", str(spec), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "replication noise" in printed and "variance of the row means" in printed
    for name in ("summary.md", "sobol.png", "convergence.png", "oat.png", "sobol.csv", "morris.csv"):
        assert (out / name).exists(), name
    runs = pd.read_parquet(out / "runs")
    assert len(runs) == (3 * 4 + 16 * 5 + 3 * 3) * 2
    assert runs["aft_start_session"].between(0, 6).all()
    line = next(t for t in printed.splitlines() if t.startswith("symptom_change ("))
    share = float(line.split("replication noise ")[1].split("%")[0]) / 100
    assert 0 <= share < 0.5
    assert "converged" in line  # the convergence sentence
    summary = (out / "summary.md").read_text()
    assert "variance of the row means" in summary and "Indices" in summary
    assert len(pd.read_csv(out / "sobol.csv")) == 2 * 3


def test_replications_needed_bring_the_noise_share_to_the_limit() -> None:
    from simulation.explore.sensitivity import NOISE_LIMIT, replications_needed

    assert replications_needed(0.05, 2) == 2  # below the limit: nothing to add
    needed = replications_needed(0.26, 2)
    # noise falls as 1/R: at the suggested R the share is at most the limit, one fewer is above it
    for r, below in ((needed, True), (needed - 1, False)):
        noise, signal = 0.26 * 2 / r, 1 - 0.26
        assert (noise / (noise + signal) <= NOISE_LIMIT) == below


def test_a_noisy_outcome_gets_a_warning_with_the_replications_needed() -> None:
    from simulation.explore.sensitivity import reading_lines

    spec = parse_sensitivity(
        {
            "name": "n",
            "outcomes": ["dropout"],
            "replications": 2,
            "factors": {"noticing": {"low": 0.1, "high": 0.7}, "skill_mean": {"low": 0.3, "high": 0.9}},
        }
    )
    convergence = pd.DataFrame(
        {"outcome": "dropout", "factor": ["noticing", "noticing"], "n": [128, 256], "S1": [0.2, 0.5], "ST": [0.3, 0.6]}
    )
    result = {
        "noise": {"dropout": 0.26},
        "variance": {"dropout": {"row_means": 1e-3, "runs": 2e-3}},
        "convergence": convergence,
    }
    (line,) = reading_lines(spec, result)
    assert "Warning" in line and "7 replications per design row (now 2)" in line
    assert "not yet converged" in line and "0.300" in line
