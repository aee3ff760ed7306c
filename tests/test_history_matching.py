"""History matching: the implausibility maths by hand, the emulators' diagnostics, a tiny run through the CLI,
resuming after kill -9 to byte-identical files, bad specs, and the ensemble loader."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor

from simulation.tools.cli import main
from simulation.validation import ensemble as ensemble_module
from simulation.validation.calibrate.emulator import (
    MD_FRACTION,
    Z95,
    diagnostics_row,
    discrepancy_variance,
    fit_emulator,
    implausibility,
    observation,
    second_largest,
)
from simulation.validation.targets import CHECKS

ROOT = Path(__file__).resolve().parents[1]
PARAMS = "felt_rupture_dent,good_enough_ending"
TINY = [
    "calibrate", "--method", "history-matching", "--params", PARAMS, "--targets", "T1,T2", "--points", "6",
    "--waves", "2", "--replications", "3", "--check-replications", "3", "--ensemble-size", "2", "--candidates", "400",
    "--size-factor", "0.2", "--workers", "1", "--seed", "3",
]  # fmt: skip
VOLATILE = {"timings.json"}  # seconds differ between runs; everything else must not


# --- implausibility by hand ----------------------------------------------------------------------------------


def test_point_check_implausibility_matches_the_hand_computation():
    obs = observation(CHECKS["T7"])  # point 0.29, CI [0.10, 0.47]
    assert obs.z == pytest.approx(0.29) and obs.per_study and not obs.one_sided
    v_obs = (0.185 / 1.959963984540054) ** 2
    assert obs.v_obs == pytest.approx(v_obs)
    v_md = discrepancy_variance(obs, rep_sd=99.0)  # the check has a scale of its own: max(|0.29|, 0.185)
    assert v_md == pytest.approx((0.1 * 0.29) ** 2)
    got = implausibility(obs, np.array([0.20]), np.array([0.01]), np.array([0.04]), v_md, r_check=100)
    assert got[0] == pytest.approx(0.09 / math.sqrt(v_obs + 0.04 + 0.01 + 0.029**2))


def test_range_check_reads_the_median_so_replication_variance_is_divided():
    obs = observation(CHECKS["T11"])  # range 22-30
    assert obs.z == 26 and not obs.per_study
    assert obs.v_obs == pytest.approx((4 / Z95) ** 2)
    got = implausibility(obs, np.array([36.0]), np.array([1.0]), np.array([50.0]), 0.0, r_check=100)
    assert got[0] == pytest.approx(10 / math.sqrt((4 / Z95) ** 2 + 0.5 + 1.0))


def test_direction_checks_are_one_sided_and_band_checks_read_the_band():
    obs = observation(CHECKS["T2a"])  # direction +
    assert obs.one_sided and obs.sign == 1 and obs.v_obs == 0
    assert discrepancy_variance(obs, rep_sd=2.0) == pytest.approx((MD_FRACTION * 2.0) ** 2)
    got = implausibility(obs, np.array([-0.5, 0.5]), np.array([0.0, 0.0]), np.array([4.0, 4.0]), 0.0, r_check=16)
    assert got[0] == pytest.approx(0.5 / math.sqrt(4.0 / 16)) and got[1] == 0.0
    band = observation(CHECKS["T1"])  # 72, band 62-82
    assert band.z == 72 and band.per_study and band.v_obs == pytest.approx((10 / Z95) ** 2)


def test_second_largest_implausibility_ignores_missing_checks():
    values = np.array([[1.0, 5.0, 3.0], [2.0, np.nan, 7.0], [4.0, np.nan, np.nan], [np.nan, np.nan, np.nan]])
    assert second_largest(values).tolist() == [3.0, 2.0, 4.0, 0.0]
    assert second_largest(np.array([[2.5], [4.0]])).tolist() == [2.5, 4.0]  # one check: the largest


# --- emulators -------------------------------------------------------------------------------------------------


def _noisy_design(n: int = 24, noise_sd: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.random((n, 2))
    truth = np.sin(3 * x[:, 0]) + 0.5 * x[:, 1] ** 2
    return x, truth + rng.normal(0, noise_sd, n), np.full(n, noise_sd**2)


def test_closed_form_leave_one_out_equals_refitting_without_the_point():
    x, y, var = _noisy_design()
    emulator = fit_emulator("T7", x, y, var * 10, np.full(len(y), 10.0), seed=1)  # noise of a mean of 10
    mean, sd = emulator.loo()
    model, centre, spread = emulator._mean
    standard = (y - centre) / spread
    for i in (0, 7, 19):
        keep = np.arange(len(y)) != i
        refit = GaussianProcessRegressor(model.kernel_, alpha=model.alpha[keep], optimizer=None).fit(
            x[keep], standard[keep]
        )
        m, s = refit.predict(x[i : i + 1], return_std=True)
        assert mean[i] == pytest.approx(centre + spread * m[0], rel=1e-6)
        assert sd[i] == pytest.approx(spread * math.sqrt(s[0] ** 2 + model.alpha[i]), rel=1e-6)


def test_emulator_diagnostics_cover_a_smooth_noisy_function():
    x, y, var = _noisy_design(40)
    emulator = fit_emulator("T7", x, y, var * 10, np.full(len(y), 10.0), seed=1)
    row = diagnostics_row(emulator)
    assert row["points"] == 40
    assert row["coverage_2sd"] >= 0.85 and row["coverage_3sd"] >= row["coverage_2sd"]
    assert row["q2"] > 0.9  # the emulator predicts left-out points well
    mu, v_em, v_rep = emulator.predict(np.array([[0.5, 0.5]]))
    assert mu[0] == pytest.approx(math.sin(1.5) + 0.125, abs=0.1)
    assert v_em[0] >= 0 and v_rep[0] == pytest.approx(var[0] * 10, rel=0.5)
    assert fit_emulator("T7", x[:3], y[:3], var[:3], np.full(3, 10.0), seed=1) is None  # too few points


# --- a tiny run through the command line --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hm") / "run"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def test_a_tiny_history_matching_writes_waves_region_analyses_and_ensemble(tiny_run: Path, capsys):
    for wave in ("wave-01", "wave-02"):
        assert len(list((tiny_run / wave / "points").glob("*.json"))) == (12 if wave == "wave-01" else 6)
        diagnostics = pd.read_csv(tiny_run / wave / "diagnostics.csv")
        assert set(diagnostics["check"]) <= {"T1", "T2a", "T2b"}
        assert {"coverage_2sd", "coverage_3sd", "mean_abs_std_error", "q2", "kernel"} <= set(diagnostics.columns)
        assert (tiny_run / wave / "wave.png").stat().st_size > 10_000
        summary = json.loads((tiny_run / wave / "summary.json").read_text())
        assert 0 < summary["volume"] <= 1 and summary["cutoff"] == 3
    design2 = pd.read_csv(tiny_run / "wave-02" / "design.csv")
    region1 = pd.read_csv(tiny_run / "wave-01" / "region.csv")
    assert set(map(tuple, design2[["u_felt_rupture_dent"]].to_numpy())) <= set(
        map(tuple, region1[["u_felt_rupture_dent"]].to_numpy())
    )  # wave 2 is drawn from the region wave 1 left
    ident = pd.read_csv(tiny_run / "identifiability.csv")
    assert list(ident["parameter"]) == PARAMS.split(",")
    assert set(ident["class"]) <= {"identified", "weakly identified", "free"}
    assert ((ident["share_of_range"] > 0) & (ident["share_of_range"] <= 1)).all()
    loto = pd.read_csv(tiny_run / "loto.csv")
    assert list(loto["target"]) == ["T1", "T2"]  # one row per target
    assert set(loto["verdict"]) <= {"pass", "fail", "no region"}
    assert {"region_share", "met_share", "predicted_median", "published"} <= set(loto.columns)
    conflicts = pd.read_csv(tiny_run / "conflicts.csv")
    assert len(conflicts) == 1 and {"intersect", "conflict"} <= set(conflicts.columns)
    checked = pd.read_csv(tiny_run / "ensemble_checked.csv")
    members = pd.read_csv(tiny_run / "ensemble.csv")
    assert list(members.columns) == ["member", *PARAMS.split(",")]
    assert 1 <= len(members) <= 2 and members["member"].tolist() == list(range(len(members)))
    assert checked["passed_all"].sum() >= len(members)
    report = (tiny_run / "report.md").read_text()
    for heading in ("## Waves", "Leave one target out", "Targets that pull against each other", "## Ensemble"):
        assert heading in report
    assert (tiny_run / "region.png").stat().st_size > 10_000


def test_the_shipped_loader_reads_a_runs_ensemble(tiny_run: Path):
    members = pd.read_csv(tiny_run / "ensemble.csv")
    loaded = ensemble_module.load_ensemble(1, tiny_run / "ensemble.csv")
    assert loaded == [{n: float(members[n].iloc[0]) for n in PARAMS.split(",")}]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in VOLATILE and not p.name.startswith(".")
    }


def test_killed_with_sigkill_and_rerun_the_run_is_byte_identical(tiny_run: Path, tmp_path: Path, capsys):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "simulation.tools.cli", *TINY, "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "wave-01/points/0002.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of wave 1: some design points stored, the rest not
    proc.wait()
    assert not (out / "wave-01/summary.json").exists()
    assert main(["verify", str(out)]) == 1
    assert capsys.readouterr().out.startswith("incomplete: wave 1 has ")
    assert main([*TINY, "--out", str(out)]) == 0
    assert _files(out) == _files(tiny_run)
    assert main(["verify", str(out)]) == 0


# --- verify -------------------------------------------------------------------------------------------------------


def _drop_line(path: Path, index: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    del lines[index]
    path.write_text("".join(lines))


def _cut(path: Path, share: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


def _move_point(folder: Path) -> None:
    """A design point's parameters changed inside the range (felt_rupture_dent: 0 to 0.1), unlike its design row."""
    path = folder / "wave-02/points/0001.json"
    record = json.loads(path.read_text())
    record["params"]["felt_rupture_dent"] = 0.05
    path.write_text(json.dumps(record))


HISTORY_DAMAGE = {
    "a design point deleted": (
        lambda f: (f / "wave-01/points/0003.json").unlink(),
        "wave-01/points/0003.json is missing",
    ),
    "a design point's parameters changed": (
        _move_point,
        "wave-02/points/0001.json holds other parameter values than its row of wave-02/design.csv",
    ),
    "a wave's summary deleted": (
        lambda f: (f / "wave-02/summary.json").unlink(),
        "incomplete: wave 2 has 6 of 6 design points and no summary.json",
    ),
    "a member removed from ensemble.csv": (lambda f: _drop_line(f / "ensemble.csv", 1), "ensemble.csv has "),
    "a region sample cut short": (lambda f: _cut(f / "wave-01/region.csv", 0.6), "wave-01/region.csv has "),
    "report.md cut short": (lambda f: _cut(f / "report.md", 0.6), "report.md has the wrong size"),
    "history.json deleted": (
        lambda f: (f / "history.json").unlink(),
        "incomplete: history.json is missing (the run stopped before writing its report)",
    ),
}


def test_verify_passes_a_whole_history_matching(tiny_run: Path, capsys):
    from simulation.tools.cli import folder_kind

    assert folder_kind(tiny_run) == "history-matching"
    assert main(["verify", str(tiny_run)]) == 0
    assert (
        capsys.readouterr().out
        == f"{tiny_run}: every file matches its record; the history-matching folder is complete.\n"
    )


@pytest.mark.parametrize("damage", sorted(HISTORY_DAMAGE))
def test_verify_lists_damage_to_a_history_matching_naming_the_file(tiny_run: Path, tmp_path: Path, capsys, damage):
    folder = tmp_path / "run"
    shutil.copytree(tiny_run, folder)
    harm, expected = HISTORY_DAMAGE[damage]
    harm(folder)
    assert main(["verify", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert any(line.startswith(expected) for line in out.splitlines()), out


# --- bad specs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--params", ""], "--params is empty"),
        (["--params", "noticing_typo"], "not a free parameter"),
        (["--targets", "T99"], "unknown target 'T99'"),
        (["--range", "dropout_base_logit=-20:-5"], "declared range"),
        (["--range", "dropout_base_logit=-5:-7"], "low < high"),
        (["--range", "dropout_base_logit"], "NAME=LOW:HIGH"),
        (["--params", PARAMS, "--range", "good_enough_ending=0:0.05"], "log scale needs low > 0"),
        (["--params", PARAMS, "--range", "strain_decay=0.5:0.6"], "not among the varied"),
        (["--trials", "5"], "belong to --method optuna"),
        (["--targets", "T1,T2", "--leave-out", "T19b"], "--leave-out: T19b is not a check of the matched targets"),
        (["--targets", "T1", "--leave-out", "T1"], "leaves no check to match"),
    ],
)
def test_bad_specs_get_one_sentence_and_exit_2_and_write_nothing(tmp_path: Path, capsys, extra, words):
    out = tmp_path / "never"
    assert main(["calibrate", "--method", "history-matching", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_history_matching_options_without_the_method_are_refused(tmp_path: Path, capsys):
    assert main(["calibrate", "--points", "10", "--out", str(tmp_path / "x")]) == 2
    assert "belong to --method history-matching" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_folder_of_other_settings_is_refused(tiny_run: Path, capsys):
    assert main([*TINY[:-2], "--seed", "4", "--out", str(tiny_run)]) == 2
    assert "other seed" in capsys.readouterr().err


# --- the ensemble on other commands -------------------------------------------------------------------------


def test_without_a_shipped_ensemble_the_commands_ask_for_a_file(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(ensemble_module, "SHIPPED", tmp_path / "none.csv")
    for argv in (
        ["validate", "--quick", "--ensemble", "3", "--out", str(tmp_path / "v")],
        [
            "compare",
            str(ROOT / "experiments/explore/compare_aft.toml"),
            "--ensemble",
            "3",
            "--out",
            str(tmp_path / "c"),
        ],
        [
            "trial",
            str(ROOT / "experiments/explore/trial_resolution_r.toml"),
            "--ensemble",
            "3",
            "--out",
            str(tmp_path / "t"),
        ],
        ["robustness", "--ensemble", "3", "--out", str(tmp_path / "r")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "no ensemble ships with this version" in err and "--ensemble-file" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_bad_ensemble_files_are_one_sentence(tmp_path: Path, capsys):
    good = tmp_path / "e.csv"
    pd.DataFrame({"member": [0, 1], "noticing": [0.4, 0.5]}).to_csv(good, index=False)
    assert ensemble_module.load_ensemble(2, good) == [{"noticing": 0.4}, {"noticing": 0.5}]
    cases = {
        "too_many": (good, 3, "has only 2 members"),
        "unknown": (tmp_path / "u.csv", 1, "unknown: bogus"),
        "range": (tmp_path / "r.csv", 1, "member 0"),
    }
    pd.DataFrame({"member": [0], "bogus": [1.0]}).to_csv(cases["unknown"][0], index=False)
    pd.DataFrame({"member": [0], "noticing": [7.0]}).to_csv(cases["range"][0], index=False)
    for path, n, words in cases.values():
        assert main(["validate", "--quick", "--ensemble", str(n), "--ensemble-file", str(path), "--out",
                     str(tmp_path / "v")]) == 2  # fmt: skip
        assert words in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


def test_validate_compare_and_trial_report_the_members_spread_and_verdict_share(tiny_run: Path, tmp_path: Path):
    file = tmp_path / "e.csv"
    pd.DataFrame({"member": [0, 1], "dropout_base_logit": [-6.5, -5.5]}).to_csv(file, index=False)
    out = tmp_path / "v"
    argv = ["validate", "--only", "T11", "--replications", "8", "--workers", "1", "--out", str(out)]
    assert main([*argv, "--ensemble", "2", "--ensemble-file", str(file)]) == 0
    summary = pd.read_csv(out / "ensemble.csv")
    per_member = pd.read_csv(out / "ensemble_members.csv")
    assert list(summary["check"]) == ["T11"] and summary["members"].iloc[0] == 2
    low, high = per_member.sort_values("member")["median"]
    assert high > low  # a higher baseline hazard of dropout: more dropout
    assert summary["pass_share"].iloc[0] == per_member["passed"].mean()
    assert "members passing" in (out / "ensemble.md").read_text()
    spec = tmp_path / "c.toml"
    spec.write_text(
        'name = "tiny"\nn_patients = 12\nn_sessions = 4\nreplications = 3\nseed = 1\nbaseline = "usual"\n'
        'outcomes = ["symptom_change"]\n[scenarios.usual]\n[scenarios.aft]\nparams = { aft_start_session = 1 }\n'
    )
    assert main(["compare", str(spec), "--quiet", "--out", str(tmp_path / "c"), "--ensemble", "2",
                 "--ensemble-file", str(file)]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "c" / "ensemble.csv")
    assert table["members"].tolist() == [2] and 0 <= table["holds_share"].iloc[0] <= 1
    assert (tmp_path / "c" / "ensemble" / "member-001" / "manifest.json").exists()


def test_robustness_headline_is_the_share_of_members_passing_each_check():
    from simulation.validation.robustness import MEMBER, _member_label, report_text, summarise

    members = [{"noticing": 0.4}, {"noticing": 0.5}, {"noticing": 0.6}]
    rows = [
        {"parameter": "(defaults)", "change": "none", "check": c, "median": 1.0, "passed": True} for c in ("T1", "T2a")
    ]
    rows += [
        {"parameter": "noticing", "change": "+10%", "check": c, "median": 1.0, "passed": True} for c in ("T1", "T2a")
    ]
    for i, member in enumerate(members):
        rows += [
            {
                "parameter": MEMBER.format(i),
                "change": _member_label(member),
                "check": "T1",
                "median": 1,
                "passed": True,
            },
            {
                "parameter": MEMBER.format(i),
                "change": _member_label(member),
                "check": "T2a",
                "median": 1,
                "passed": i == 0,
            },
        ]
    stale = {
        "parameter": MEMBER.format(0),
        "change": "ensemble 0000000000",
        "check": "T1",
        "median": 1,
        "passed": False,
    }
    runs = pd.DataFrame([*rows, stale])  # a run of another ensemble's member 0 is not counted
    labels = {MEMBER.format(i): _member_label(m) for i, m in enumerate(members)}
    table = summarise(runs, labels).set_index("check")
    assert table.loc["T1", "ensemble_pass_share"] == 1.0
    assert table.loc["T2a", "ensemble_pass_share"] == pytest.approx(1 / 3)
    text = report_text(table.reset_index(), 30, 2026, 0.1)
    assert "Across 3 members" in text and "the least-held is T2a (33%)" in text
    assert "ensemble_pass_share" not in summarise(runs[~runs["parameter"].str.startswith("(member")]).columns


# --- a check left out of the matching -------------------------------------------------------------------------


def _left_out_settings():
    from simulation.validation.calibrate.history import make_settings

    return make_settings(PARAMS.split(","), None, "T1,T2", ["T2b"])


def test_a_left_out_check_is_not_matched_but_stays_in_the_run():
    settings = _left_out_settings()
    assert settings.checks == ("T1", "T2a", "T2b") and settings.matched == ("T1", "T2a")
    from simulation.validation.calibrate.ensemble_check import accepted

    def record(**passed: bool) -> dict:
        return {"checks": {c: {"passed": passed.get(c, True)} for c in settings.checks}}

    assert accepted(settings, record(T2b=False))  # failing only the left-out check: still a member
    assert not accepted(settings, record(T2a=False))


def test_the_report_sets_a_left_out_check_against_the_targets_and_predicts_it():
    from simulation.validation.calibrate.history_report import (
        _target_implausibility,
        conflicts,
        leave_one_target_out,
        report_text,
    )

    settings = _left_out_settings()
    # Columns T1, T2a, T2b: T2b is implausible wherever T1 is met (they pull against each other), and met in
    # only one of the four sets the matched checks allow (the second-largest rule lets T1 miss).
    matrix = np.array([[1.0, 1.0, 5.0], [1.0, 1.0, 4.0], [5.0, 1.0, 5.0], [4.0, 1.0, 1.0]])
    per_target = _target_implausibility(settings, matrix)
    assert set(per_target) == {"T1", "T2", "T2b"}
    assert per_target["T2"].tolist() == [1.0, 1.0, 1.0, 1.0]  # T2 counts only its matched check, T2a
    pairs = conflicts(settings, per_target).set_index(["target_a", "target_b"])
    assert bool(pairs.loc[("T1", "T2b"), "conflict"]) and not bool(pairs.loc[("T1", "T2"), "conflict"])
    loto = leave_one_target_out(settings, {}, np.zeros((4, 2)), matrix, per_target)
    rows = loto.set_index("target")
    assert list(rows.index) == ["T1", "T2", "T2b"] and rows.loc["T2b", "check"] == "T2b"
    assert rows.loc["T2b", "verdict"] == "fail"  # predicted from the region of every matched check: never met
    summary = {"wave": 1, "design_points": 4, "passed_all": 2, "emulated": 3, "coverage_2sd": None, "volume": 0.5,
               "shrink": 0.0, "stop": "the wave limit (1)"}  # fmt: skip
    text = report_text(settings, [summary], pd.DataFrame(columns=["parameter", "class", "share_of_range",
                       "central_90_share"]), conflicts(settings, per_target), loto, {})  # fmt: skip
    assert "Left out of the matching" in text and "T2b" in text


def test_verify_rebuilds_settings_with_a_left_out_check():
    from simulation.validation.calibrate.history import _json
    from simulation.validation.calibrate.verify import _settings_of

    settings = _left_out_settings()
    assert _settings_of(json.loads(_json(settings.signature()))) == settings


def test_a_target_whose_every_check_is_left_out_is_reported_by_its_checks():
    from simulation.validation.calibrate.history import make_settings
    from simulation.validation.calibrate.history_report import _target_implausibility, leave_one_target_out

    settings = make_settings(PARAMS.split(","), None, "T1,T2", ["T2a", "T2b"])
    matrix = np.array([[1.0, 1.0, 5.0], [1.0, 4.0, 1.0]])
    per_target = _target_implausibility(settings, matrix)
    assert set(per_target) == {"T1", "T2a", "T2b"}
    loto = leave_one_target_out(settings, {}, np.zeros((2, 2)), matrix, per_target)
    assert list(loto["target"]) == ["T1", "T2a", "T2b"]


# --- the ensemble's walk --------------------------------------------------------------------------------------


def _walk_settings(size: int = 10):
    from simulation.validation.calibrate.history import make_settings

    return make_settings(PARAMS.split(","), targets="T1", ensemble_size=size, seed=5)


def _replay(settings, candidates: np.ndarray, passing) -> tuple:
    """Run the ensemble's plan with a stand-in for the simulation: a point passes where ``passing(u)`` says."""
    from simulation.validation.calibrate.ensemble_check import ensemble_plan

    store: dict[str, dict] = {}
    plan = ensemble_plan(settings, candidates, store.get)
    while plan.todo:
        for key, u in plan.todo:
            assert key not in store  # nothing is asked for twice
            store[key] = {"params": settings.params(u), "checks": {c: {"passed": bool(passing(u))}
                                                                   for c in settings.checks}}  # fmt: skip
        plan = ensemble_plan(settings, candidates, store.get)
    return plan, store


def test_the_ensemble_walks_from_the_defaults_when_the_region_rarely_passes():
    from simulation.validation.calibrate.ensemble_check import (
        CHAINS,
        SCOUTS,
        WALK_TRIES,
        accepted,
        defaults_unit,
        ensemble_files,
    )

    settings = _walk_settings()
    start = defaults_unit(settings)
    near = lambda u: bool(np.all(np.abs(u - start) < 0.2))  # noqa: E731  a thin passing set around the defaults
    candidates = np.random.default_rng(1).random((300, 2))
    plan, _ = _replay(settings, candidates, near)
    origins = [c.origin for c in plan.checked]
    draws = origins.count("region")
    assert draws == SCOUTS and origins[draws] == "defaults"  # few draws pass: the walk starts from the defaults
    members = [c for c in plan.checked if accepted(settings, c.record)]
    assert settings.ensemble_size <= len(members) < settings.ensemble_size + CHAINS  # it stops after a full round
    assert all(near(c.u) for c in members)
    # Each chain moves only to a passing proposal, and each proposal is one step from where its chain stood.
    where = {c: None for c in range(CHAINS)}
    for c in plan.checked:
        if c.origin != "walk":
            continue
        if where[c.chain] is not None:
            assert np.linalg.norm(c.u - where[c.chain]) < 6 * settings.walk_step * math.sqrt(2)
        if where[c.chain] is None or accepted(settings, c.record):
            where[c.chain] = c.u if accepted(settings, c.record) else where[c.chain]
    simulated = sum(c.record is not None for c in plan.checked)
    assert simulated <= WALK_TRIES * settings.ensemble_size + CHAINS
    again, _ = _replay(settings, candidates, near)  # the plan is a function of the stored results
    assert [c.key for c in again.checked] == [c.key for c in plan.checked]
    files, summary = ensemble_files(settings, plan.checked)
    assert summary["members"] == settings.ensemble_size and summary["walk"]["defaults_pass"]
    assert summary["walk"]["passed"] + summary["region_draws"]["passed"] + 1 >= settings.ensemble_size
    table = pd.read_csv(__import__("io").BytesIO(files["ensemble.csv"]))
    assert len(table) == settings.ensemble_size and table["member"].tolist() == list(range(10))


def test_the_ensemble_draws_when_the_region_passes_often_and_stops_without_a_passing_start():
    from simulation.validation.calibrate.ensemble_check import ENSEMBLE_TRIES, SCOUTS, accepted, ensemble_files

    settings = _walk_settings()
    candidates = np.random.default_rng(2).random((300, 2))
    plan, _ = _replay(settings, candidates, lambda u: u[0] < 0.6)  # most of the region passes: draws only
    assert {c.origin for c in plan.checked} == {"region"}
    assert sum(accepted(settings, c.record) for c in plan.checked) >= settings.ensemble_size  # whole batches
    assert ensemble_files(settings, plan.checked)[1]["members"] == settings.ensemble_size
    plan, store = _replay(settings, candidates, lambda u: False)  # nothing passes, the defaults neither
    assert [c.origin for c in plan.checked] == ["region"] * SCOUTS + ["defaults"] and len(store) == SCOUTS + 1
    assert len(plan.checked) <= ENSEMBLE_TRIES * settings.ensemble_size


def test_a_walked_ensemble_is_verified_and_resumes_to_the_same_files(tmp_path: Path, monkeypatch, capsys):
    from simulation.validation.calibrate import ensemble_check
    from simulation.validation.calibrate.history import make_settings
    from simulation.validation.calibrate.matching import history_match

    monkeypatch.setattr(ensemble_check, "SCOUTS", 1)  # after one draw, walk (the real rule: 20 draws, 20%)
    monkeypatch.setattr(ensemble_check, "WALK_BELOW", 1.01)
    settings = make_settings(PARAMS.split(","), targets="T1,T2", seed=3, replications=3, points=6, waves=1,
                             check_replications=3, ensemble_size=3, candidates=400, size_factor=0.2)  # fmt: skip
    out = tmp_path / "walked"
    history_match(settings, out, workers=1)
    summary = json.loads((out / "ensemble.json").read_text())
    assert summary["walk"]["steps"] > 0 and summary["members"] == 3
    checked = pd.read_csv(out / "ensemble_checked.csv")
    assert set(checked["origin"]) >= {"region", "walk"}
    members = pd.read_csv(out / "ensemble.csv")
    passing = checked[checked["passed_all"]]
    for row in members.itertuples():  # every member is a simulated candidate that passed every check
        assert ((passing["felt_rupture_dent"] == row.felt_rupture_dent)
                & (passing["good_enough_ending"] == row.good_enough_ending)).any()  # fmt: skip
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()
    before = _files(out)
    walk = sorted((out / "ensemble" / "walk").glob("c*.json"))
    walk[-1].unlink()  # as if killed before the last proposal was stored
    (out / "ensemble.csv").unlink()
    assert main(["verify", str(out)]) == 1
    assert "incomplete: the ensemble has checked" in capsys.readouterr().out
    history_match(settings, out, workers=1)
    assert _files(out) == before
    (out / "ensemble" / "walk" / "c0-0999.json").write_text(walk[0].read_text())
    assert main(["verify", str(out)]) == 1
    assert "result(s) the ensemble's rules do not reach (walk/c0-0999.json)" in capsys.readouterr().out
