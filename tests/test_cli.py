"""The rupture-sim command line: the main job's outputs, bad input, and the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from simulation import __version__
from simulation.api import TABLES
from simulation.model.parameters import PARAMETERS
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.report.figures import FIGURES
from simulation.report.study import StudyConfig, default_conditions, run_study
from simulation.tools.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONDITIONS = [c.name for c in default_conditions()]
N_PATIENTS, N_SESSIONS, SEED = 30, 8, 7
ENTRY_POINT = Path(sys.executable).parent / "rupture-sim"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small main job, run in-process, with its figures also published."""
    root = tmp_path_factory.mktemp("study")
    out, published = root / "results", root / "docs" / "figures"
    argv = [
        "run",
        "--name",
        "small",
        "--patients",
        str(N_PATIENTS),
        "--sessions",
        str(N_SESSIONS),
        "--seed",
        str(SEED),
        "--out",
        str(out),
        "--quiet",
        "--publish-figures",
        str(published),
    ]
    assert main(argv) == 0
    return {"out": out, "folder": out / "small", "published": published}


def _leftovers(parent: Path) -> list[str]:
    """Hidden staging folders a run might have left behind."""
    return [p.name for p in parent.iterdir() if p.name.startswith(".")] if parent.exists() else []


def test_run_writes_every_output(study: dict[str, Path]) -> None:
    folder = study["folder"]
    expected = {f"{name}.parquet" for name in TABLES} | {"manifest.json", "summary.md"} | set(FIGURES)
    assert expected <= {p.name for p in folder.iterdir()}
    assert _leftovers(study["out"]) == []


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_are_real_pngs_and_published(study: dict[str, Path], name: str) -> None:
    for path in (study["folder"] / name, study["published"] / name):
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 10_000


def test_tables_have_conditions_and_common_random_numbers(study: dict[str, Path]) -> None:
    tables = {name: pd.read_parquet(study["folder"] / f"{name}.parquet") for name in TABLES}
    for name, table in tables.items():
        assert {"condition", "skill_mean", "repertoire"} <= set(table.columns), name
        if name != "events":
            assert sorted(table["condition"].unique()) == sorted(CONDITIONS), name
    assert len(tables["events"]) > 0
    patients = tables["patients"]
    assert len(patients) == N_PATIENTS * len(CONDITIONS)
    intake = patients.groupby("patient_id")[["diagnosis", "pd_severity", "symptom_pre", "alliance_intake"]].nunique()
    assert (intake == 1).all().all(), "conditions must share the same patients (common random numbers)"
    assert tables["sessions"]["session"].max() <= N_SESSIONS


def test_manifest(study: dict[str, Path]) -> None:
    info = json.loads((study["folder"] / "manifest.json").read_text())
    assert info["study"] == "small"
    assert (info["seed"], info["n_patients"], info["n_sessions"]) == (SEED, N_PATIENTS, N_SESSIONS)
    assert info["version"] == __version__
    for key in ("started", "finished", "python", "numpy", "numba", "population", "therapists"):
        assert info[key]
    assert [c["name"] for c in info["conditions"]] == CONDITIONS
    for condition in info["conditions"]:
        assert condition["parameters"]["skill_mean"] == condition["skill_mean"]
        assert len(condition["parameters"]) == len(PARAMETERS)
    for name in TABLES:
        assert info["row_counts"][name] == len(pd.read_parquet(study["folder"] / f"{name}.parquet"))


def test_summary(study: dict[str, Path]) -> None:
    text = (study["folder"] / "summary.md").read_text()
    for needle in (
        "Observed rupture %",
        "Patient-reported rupture %",
        "Resolution depth per session (stage 1-5)",
        "Dropout %",
        "Recovered %",
        "Symptom change",
        *CONDITIONS,
        *(f"]({name})" for name in FIGURES),
    ):
        assert needle in text


def test_existing_study_is_refused_then_overwritten(study: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    manifest = study["folder"] / "manifest.json"
    before = manifest.read_text()
    argv = ["run", "--name", "small", "--patients", "5", "--sessions", "3", "--out", str(study["out"]), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert manifest.read_text() == before
    other = study["out"] / "other"
    assert (
        main(["run", "--name", "other", "--patients", "5", "--sessions", "3", "--out", str(study["out"]), "--quiet"])
        == 0
    )
    assert (
        main(
            [
                "run",
                "--name",
                "other",
                "--patients",
                "6",
                "--sessions",
                "3",
                "--out",
                str(study["out"]),
                "--quiet",
                "--overwrite",
            ]
        )
        == 0
    )
    assert json.loads((other / "manifest.json").read_text())["n_patients"] == 6
    assert _leftovers(study["out"]) == []


BAD_INPUTS = {
    "unknown preset": (["simulate", "--population", "nope"], ["population preset 'nope'", "adult_bpd"]),
    "unknown therapist preset": (["simulate", "--therapists", "guru"], ["therapist preset 'guru'", "novice"]),
    "unknown parameter": (["simulate", "--set", "noticng=0.5"], ["noticng", "did you mean 'noticing'"]),
    "out of range": (["simulate", "--set", "noticing=1.5"], ["noticing", "between 0 and 1"]),
    "non-numeric value": (["simulate", "--set", "noticing=high"], ["noticing", "number"]),
    "non-numeric size": (["simulate", "--patients", "many"], ["--patients", "whole number"]),
    "bad run size": (["run", "--sessions", "0"], ["--sessions", "between 1 and 1000"]),
    "bad study name": (["run", "--name", "../up"], ["Study name"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args, needles = BAD_INPUTS[case]
    target = tmp_path / "out"
    extra = ["--out", str(target)] if args[0] == "simulate" else ["--out", str(tmp_path), "--quiet"]
    assert main([*args, *extra]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rupture-sim: error:")
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0]
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_simulate_refuses_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["simulate", "--patients", "6", "--sessions", "3", "--set", "noticing=0.5", "--out", str(tmp_path / "x")]
    assert main(argv) == 0
    params = json.loads((tmp_path / "x" / "parameters.json").read_text())
    assert params["noticing"] == 0.5
    assert {f"{name}.parquet" for name in TABLES} <= {p.name for p in (tmp_path / "x").iterdir()}
    capsys.readouterr()
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err


def test_interrupted_study_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("simulation.report.figures.make_figures", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_study(StudyConfig(name="cut", n_patients=5, n_sessions=3), out=tmp_path, quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_params_lists_every_parameter(capsys: pytest.CaptureFixture) -> None:
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split()[:6] == ["name", "group", "default", "range", "scale", "source"]
    assert [row.split()[0] for row in rows] == [p.name for p in PARAMETERS]


def test_presets_lists_every_preset(capsys: pytest.CaptureFixture) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for table in (POPULATIONS, THERAPISTS):
        for name, preset in table.items():
            assert f"{name}" in out and preset.description in out


def test_docs_calls_write_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    calls = []

    def write_docs(folder: Path) -> list[Path]:
        calls.append(folder)
        return [folder / "PARAMETERS.md"]

    monkeypatch.setitem(sys.modules, "simulation.report.docs", types.SimpleNamespace(write_docs=write_docs))
    assert main(["docs", "--out", str(tmp_path)]) == 0
    assert calls == [tmp_path]
    assert "PARAMETERS.md" in capsys.readouterr().out


def test_installed_entry_point(tmp_path: Path) -> None:
    assert ENTRY_POINT.exists(), f"console script missing at {ENTRY_POINT}"
    ok = subprocess.run(
        [str(ENTRY_POINT), "simulate", "--patients", "8", "--sessions", "4", "--out", str(tmp_path / "sim")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "sim" / "patients.parquet").exists()
    bad = subprocess.run(
        [str(ENTRY_POINT), "simulate", "--set", "noticing=9", "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rupture-sim: error:") and "'noticing'" in lines[0]
    assert not (tmp_path / "bad").exists()
