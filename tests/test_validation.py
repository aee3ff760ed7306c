"""Virtual studies (validation): study outputs, the runner and the CLI report.

The statistics helpers, the virtual samples and the targets have their own
test files (test_stats.py, test_cohorts.py, test_targets.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.model.parameters import ParameterError
from simulation.tools.cli import main
from simulation.validation.cohorts import design_parameters
from simulation.validation.runner import evaluate_checks, replication_seed, run_validation, simulate_studies
from simulation.validation.studies import STUDIES
from simulation.validation.targets import CHECKS, HELD_OUT, TARGETS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --- studies ----------------------------------------------------------------------------------------------


def _statistics_of(study: str) -> set[str]:
    checks = [c for c in CHECKS.values() if c.study == study]
    return {c.statistic for c in checks} | {key for c in checks for key, _ in c.companions}


@pytest.mark.parametrize("name", list(STUDIES))
def test_each_study_returns_its_statistics_deterministically(name):
    run = STUDIES[name].run
    first, again, other = run(101, 1.0, None), run(101, 1.0, None), run(202, 1.0, None)
    assert _statistics_of(name) <= set(first)
    assert all(isinstance(v, float) for v in first.values())
    assert first.keys() == again.keys()
    assert all(np.array_equal(first[k], again[k], equal_nan=True) for k in first)  # same seed, same numbers
    assert any(not np.array_equal(first[k], other[k], equal_nan=True) for k in first)  # another replication


def test_studies_give_plausible_values():
    values = {name: study.run(7, 1.0, None) for name, study in STUDIES.items()}
    for name, result in values.items():
        for key, v in result.items():
            if key.startswith(("pct_", "report_gap")):
                assert -100 <= v <= 100, (name, key, v)
            if key.startswith(("r_", "pooled_r", "process_r", "ci_")):
                assert math.isnan(v) or -1 <= v <= 1, (name, key, v)
    t1 = values["adolescent_bpd_3rs"]
    assert 150 <= t1["sessions_coded"] <= 190  # about 187 coded sessions, fewer after dropout
    assert 0 <= t1["pct_sessions_rupture"] <= 100
    meta = values["resolution_outcome_meta"]
    assert meta["ci_low"] <= meta["pooled_r"] <= meta["ci_high"]
    assert 0 <= values["severe_bpd_case"]["markers_per_session"] <= 10  # at most one marker per segment


def test_a_study_is_a_deterministic_function_of_parameters_and_seed():
    run = STUDIES["bpd_dropout"].run
    low = [run(s, 1.0, {"dropout_base_logit": -6.2})["pct_dropout"] for s in range(5)]
    high = [run(s, 1.0, {"dropout_base_logit": -5.0})["pct_dropout"] for s in range(5)]
    # common random numbers: a higher hazard can only bring each patient's dropout forward
    assert all(h >= lo for h, lo in zip(high, low, strict=True)) and sum(high) > sum(low)


def test_size_factor_scales_the_design():
    small = STUDIES["adolescent_bpd_3rs"].run(5, 0.5, None)
    assert small["sessions_coded"] <= 5 * 19


def test_the_design_wins_over_candidate_parameters():
    params = design_parameters({"share_no_pd": 1.0, "share_bpd": 0.0, "share_other_pd": 0.0}, "adolescent_bpd")
    assert params["share_bpd"] == 1.0 and params["bpd_severity_mean"] == 0.55


# --- targets and pass rules -------------------------------------------------------------------------------


# --- runner and CLI ---------------------------------------------------------------------------------------


def test_replication_seeds_are_distinct_and_reproducible():
    seeds = [replication_seed(2026, name, r) for name in STUDIES for r in range(50)]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**63 for s in seeds)
    assert replication_seed(2026, "bpd_rct", 3) == replication_seed(2026, "bpd_rct", 3)
    assert replication_seed(2027, "bpd_rct", 3) != replication_seed(2026, "bpd_rct", 3)


def test_the_numbers_do_not_depend_on_the_number_of_workers():
    studies = ("adolescent_bpd_3rs", "severe_bpd_case")
    one = simulate_studies(3, seed=9, workers=1, studies=studies)
    two = simulate_studies(3, seed=9, workers=2, studies=studies)
    for name in studies:
        pd.testing.assert_frame_equal(one[name], two[name])


def test_run_validation_rejects_unknown_parameters():
    with pytest.raises(ParameterError):
        run_validation(replications=1, workers=1, params={"noticingg": 0.5})


def test_evaluate_checks_gives_one_row_per_check():
    frames = simulate_studies(2, seed=1, workers=1, studies=("bpd_dropout",))
    table = evaluate_checks(frames)
    assert list(table["check"]) == ["T11"] and table["replications"].iloc[0] == 2


def test_validate_command_writes_the_report_and_a_figure_per_target(tmp_path: Path, capsys):
    out = tmp_path / "validation"
    argv = ["validate", "--quick", "--replications", "4", "--workers", "1", "--seed", "5", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "checks pass" in printed and "T14b" in printed
    report = (out / "report.md").read_text()
    for target in TARGETS:
        assert f"| {target.id}{' (held out)' if target.held_out else ''} |" in report
        figure = out / "figures" / f"{target.id}.png"
        assert figure.read_bytes()[:8] == PNG_SIGNATURE
    results = pd.read_csv(out / "results.csv")
    assert list(results["check"]) == list(CHECKS)
    assert results["passed"].dtype == bool
    assert set(results.loc[results["held_out"], "target"]) == set(HELD_OUT)  # computed, marked held out
    assert "| T15 (held out) |" in report and "held out (T15, T16, T17, T18, T19, T20; out of sample" in printed
    replications = pd.read_csv(out / "replications.csv", index_col="replication")
    assert replications.shape == (4, len(CHECKS))


def test_validate_command_rejects_a_bad_setting(capsys):
    assert main(["validate", "--replications", "1", "--workers", "1", "--set", "noticing=7"]) == 2
    assert "noticing" in capsys.readouterr().err


def test_the_defaults_reproduce_every_published_target():
    """The acceptance test: with the defaults every check of T1-T20 passes on the quick setting but the one
    that docs/VALIDATION.md reports as not reproduced (T19b: the model's sudden gains carry too much of the change)."""
    results = run_validation(quick=True, workers=2)
    failing = tuple(results.loc[~results["passed"].astype(bool), "check"])
    assert failing == ("T19b",), f"checks that fail with the defaults: {failing}"
    assert set(results.loc[results["held_out"], "target"]) == set(HELD_OUT) and len(results) >= 46


# --- the held-out dynamics studies (T15-T17) ------------------------------------------------------------------


def test_the_dynamics_studies_run_small_and_give_their_statistics_in_range():
    """Each T15-T17 study on a quick-size sample: every checked statistic defined and in its natural range."""
    values = {name: STUDIES[name].run(11, 0.1, None) for name in _DYNAMICS}
    t15a = values["dose_response_non_pd"]
    assert 0 <= t15a["pct_improved_early"] <= t15a["pct_improved_late"] <= 100  # a cumulative curve
    assert math.isfinite(t15a["log_hazard_ratio"])
    t15b = values["pd_long_course"]
    assert 0 <= t15b["pct_recovered_per_year"] <= t15b["pct_recovered_mean_years"] <= 100
    assert t15b["improved_gap"] == pytest.approx(t15b["pct_improved_pd"] - t15b["pct_improved_non_pd"])
    t16 = values["bpd_dropout_by_quarter"]
    quarters = [t16[f"hazard_q{q}"] for q in range(1, 5)]
    assert all(0 <= h <= 100 for h in quarters)
    assert t16["hazard_first_minus_later"] == pytest.approx(quarters[0] - max(quarters[1:]))
    assert -50 <= t16["first_half_minus_half"] <= 50 and t16["pct_dissatisfied"] <= t16["pct_dropout"]
    t17 = values["cluster_profiles"]
    assert all(math.isfinite(v) for v in t17.values())
    for name in _DYNAMICS:
        assert _statistics_of(name) <= set(values[name])


def test_the_alliance_studies_give_their_statistics_in_range():
    """T18-T20 on small samples: shares are percentages, the RCI is positive, T20 compares two kinds of leavers."""
    t18 = STUDIES["alliance_before_dropout"].run(5, 0.5, None)
    for key in ("pct_decrease_dropouts", "pct_decrease_completers", "pct_transitions_decrease", "pct_dropout"):
        assert 0 <= t18[key] <= 100
    assert t18["rci_points"] > 0 and math.isfinite(t18["first_session_d"])
    assert t18["last_window_gap"] == pytest.approx(t18["pct_last_window_dropouts"] - t18["pct_last_window_completers"])
    t19 = STUDIES["sudden_gains"].run(5, 1.0, None)
    assert 0 < t19["pct_with_gain"] < 100 and math.isfinite(t19["alliance_lift_after_gain"])
    t20 = STUDIES["two_kinds_of_dropout"].run(5, 1.0, {"good_enough_ending": 0.2})
    assert 0 < t20["pct_good_enough"] < 100 and all(math.isfinite(v) for v in t20.values())
    for name in ("alliance_before_dropout", "sudden_gains", "two_kinds_of_dropout"):
        assert _statistics_of(name) <= set(STUDIES[name].run(6, 1.0, {"good_enough_ending": 0.2}))


def test_counting_good_enough_endings_as_dropout_is_the_designs_choice():
    study = STUDIES["bpd_dropout_by_quarter"]
    values = {**study.design.values, "count_good_enough": False}
    params = {"good_enough_ending": 0.3}  # switched on, so that good-enough endings happen
    counted = study.run(4, 0.05, params)
    dissatisfied = study.function(4, 0.05, params, values)
    assert counted["pct_dropout"] > dissatisfied["pct_dropout"] == dissatisfied["pct_dissatisfied"]


_DYNAMICS = ("dose_response_non_pd", "pd_long_course", "bpd_dropout_by_quarter", "cluster_profiles")


def test_validate_says_when_a_study_preset_overrides_a_setting(capsys, tmp_path):
    """A --set that a study's preset also sets does not reach that study: the command says so, and runs."""
    args = ["validate", "--replications", "1", "--workers", "1", "--only", "T17", "--out", str(tmp_path / "v")]
    settings = ["--set", "other_pd_compliance=0.5", "--set", "bpd_severity_mean=0.6"]
    assert main(args + settings) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: --set other_pd_compliance (group cluster_c, population preset cluster_c) does not reach study "
        "cluster_profiles: a study's population and therapist presets describe the published sample and win "
        "over --set."
    ]  # bpd_severity_mean reaches the cluster B group: the adult_bpd preset does not set it
    assert main([*args, "--set", "noticing=0.5"]) == 0 and "note:" not in capsys.readouterr().err
