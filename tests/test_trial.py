"""rupture-sim trial: virtual trials with power curves, through the CLI and the Python API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.explore.trial import BivariateNormal, analytic_correlation_power, parse_trial, run_trial
from simulation.tools.cli import main

CORRELATION = """
name = "tiny_r"
kind = "correlation"
population = "adult_bpd"
n_sessions = 8
caseload = 5
sizes = [10, 30]
trials = 10
seed = 3
predictor = "resolution_rate"
outcome = "symptom_change"
coded_sessions = [2, 4]
[arms.study]
"""
TWO_ARM = """
name = "tiny_two_arm"
kind = "two_arm"
population = "adult_bpd"
n_sessions = 10
caseload = 5
sizes = [20, 40]
trials = 10
seed = 3
analysis_set = "all"
[arms.control]
[arms.aft]
params = { aft_start_session = 1 }
"""


def test_power_matches_the_analytic_power_of_a_pearson_correlation(tmp_path: Path) -> None:
    spec = parse_trial({"name": "stub", "sizes": [20, 50, 80], "trials": 400, "seed": 11, "arms": {"study": {}}})
    power = run_trial(spec, tmp_path / "stub", model=BivariateNormal(0.29, caseload=spec.caseload), quiet=True)
    for row in power.itertuples():
        expected = analytic_correlation_power(0.29, row.size, 0.05)
        assert abs(row.power - expected) <= 3 * row.power_se + 0.01, (row.size, row.power, expected)
        assert row.mean_estimate == pytest.approx(0.29, abs=4 * row.estimate_se + 0.01)
    assert list(power["power"]) == sorted(power["power"])  # power grows with the sample
    # wrong signs happen in small studies and vanish in large ones
    assert power["wrong_sign"].iloc[0] > power["wrong_sign"].iloc[-1]


def test_analytic_power_reference_values() -> None:
    # textbook values: r = .3, n = 85 gives power .80; r = 0 gives alpha
    assert analytic_correlation_power(0.3, 85) == pytest.approx(0.80, abs=0.01)
    assert analytic_correlation_power(0.0, 50) == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize("text", [CORRELATION, TWO_ARM], ids=["correlation", "two_arm"])
def test_cli_runs_a_real_model_trial(text: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec, out = tmp_path / "spec.toml", tmp_path / "out"
    spec.write_text(text)
    assert main(["trial", str(spec), "--out", str(out), "--quiet"]) == 0
    assert "power" in capsys.readouterr().out
    power = pd.read_csv(out / "power.csv")
    assert list(power["size"]) == [int(s) for s in text.split("sizes = [")[1].split("]")[0].split(",")]
    assert (power["trials"] == 10).all() and power["power"].between(0, 1).all()
    assert (out / "power.png").read_bytes()[:4] == b"\x89PNG"
    assert "Power of 0.80" in (out / "summary.md").read_text()
    trials = pd.read_parquet(out / "trials")
    assert len(trials) == 20 and trials["estimate"].notna().all()
    # rerunning into the folder resumes (nothing left to do) and gives the same table
    assert main(["trial", str(spec), "--out", str(out), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "power.csv"), power)


def test_wrong_sign_is_not_reported_under_the_null(tmp_path: Path) -> None:
    spec = parse_trial({"name": "null", "sizes": [20, 60], "trials": 200, "seed": 4, "arms": {"study": {}}})
    power = run_trial(spec, tmp_path / "null", model=BivariateNormal(0.0, caseload=spec.caseload), quiet=True)
    assert power["wrong_sign"].isna().all() and power["wrong_sign_significant"].isna().all()
    assert "— (effect ≈ 0)" in (tmp_path / "null" / "summary.md").read_text()
    assert power["power"].between(0.0, 0.12).all()  # type I error near alpha


def test_mixed_model_fallbacks_and_boundary_fits_are_counted_per_size() -> None:
    from simulation.explore.trial import _mixed_model, power_table

    rng = np.random.default_rng(0)
    # no therapist effect at all: REML puts tau^2 at (or next to) 0 in many trials
    fits = []
    for trial in range(30):
        data = pd.DataFrame({"therapist_id": np.repeat(np.arange(8), 5), "arm": np.repeat([0, 1], 20)})
        data["y"] = rng.standard_normal(40) + 0.3 * data["arm"]
        fits.append({"size": 40, "trial": trial, **_mixed_model(data)})
    # a constant outcome within arms cannot be fitted by the mixed model: the OLS fallback
    flat = pd.DataFrame({"therapist_id": np.repeat(np.arange(8), 5), "arm": np.repeat([0, 1], 20)})
    flat["y"] = flat["arm"] * 1.0 + np.tile([0.0, 0.0, 0.0, 0.0, 1e-9], 8)
    fits.append({"size": 40, "trial": 30, **_mixed_model(flat)})
    trials = pd.DataFrame(fits)
    spec = parse_trial(
        {"name": "t", "kind": "two_arm", "sizes": [40], "trials": 31, "caseload": 5, "arms": {"a": {}, "b": {}}}
    )
    row = power_table(spec, trials).iloc[0]
    assert row["boundary_fits"] == int(trials["boundary"].sum()) and row["boundary_fits"] > 0
    assert row["ols_fallbacks"] == int((trials["method"] == "ols fallback").sum())
    assert set(trials["method"]) <= {"mixed", "ols fallback"}
