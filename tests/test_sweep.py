"""Sweeps: the same numbers on every backend, worker count, chunk size and resume history."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.sweep.runner import run_sweep
from simulation.sweep.spec import SpecError, parse_spec
from simulation.sweep.store import StoreError, read_manifest, verify

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = """
name = "crn"
population = "mixed"
n_patients = 16
n_sessions = 8
replications = 4
seed = 11
tables = ["patients", "sessions", "events"]
chunk_replications = 2
[vary]
noticing = [0.2, 0.6]
skill_mean = [0.4, 0.8]
"""
SORT = {
    "patients": ["point", "replication", "patient_id"],
    "trajectories": ["point", "replication", "session"],
    "sessions": ["point", "replication", "patient_id", "session"],
    "events": ["point", "replication", "patient_id", "session"],
}


def dataset(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table of a sweep folder, in a canonical row order."""
    tables = json.loads((folder / "manifest.json").read_text())["tables"]
    return {t: pd.read_parquet(folder / t).sort_values(SORT[t], kind="stable").reset_index(drop=True) for t in tables}


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


@pytest.fixture(scope="module")
def spec():
    return parse_spec(SPEC)


@pytest.fixture(scope="module")
def reference(spec, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref") / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    assert verify(folder) == []
    return dataset(folder)


def test_reference_has_every_run_once(reference, spec):
    patients = reference["patients"]
    assert len(patients) == 4 * spec.replications * spec.n_patients
    assert not patients.duplicated(["point", "replication", "patient_id"]).any()
    assert set(patients.columns[:4]) == {"point", "replication", "noticing", "skill_mean"}
    sessions = reference["sessions"]
    assert (sessions.groupby(["point", "replication", "patient_id"]).size().to_numpy() > 0).all()


def test_points_of_one_replication_share_random_numbers(reference):
    # Intake does not depend on therapist settings: with common random numbers it is identical across points.
    p = reference["patients"]
    intake = ["replication", "patient_id", "diagnosis", "pd_severity", "symptom_pre"]
    first = p[p["point"] == 0][intake].reset_index(drop=True)
    last = p[p["point"] == 3][intake].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, last)


@pytest.mark.parametrize(("backend", "workers", "chunk"), [("inprocess", 1, 1), ("processes", 2, 3), ("dask", 2, 4)])
def test_backends_workers_and_chunk_sizes_give_identical_datasets(spec, reference, tmp_path, backend, workers, chunk):
    folder = tmp_path / "out"
    run_sweep(spec, folder, backend=backend, workers=workers, chunk_replications=chunk, quiet=True)
    assert verify(folder) == []
    assert_same(dataset(folder), reference)


def test_rerun_skips_finished_chunks_and_changes_nothing(spec, tmp_path):
    folder = tmp_path / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("part-*.parquet")}
    manifest = run_sweep(spec, folder, backend="inprocess", quiet=True)
    assert manifest["complete"]
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("part-*.parquet")} == before


def test_a_folder_another_version_of_the_model_started_is_refused(spec, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    monkeypatch.setattr("simulation.sweep.store.model_fingerprint", lambda: "recalibrated")
    with pytest.raises(StoreError, match="another version of the model"):
        run_sweep(spec, folder, backend="inprocess", quiet=True)


def test_a_folder_with_another_spec_or_chunk_size_is_refused(spec, tmp_path):
    folder = tmp_path / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    other = parse_spec(SPEC.replace("seed = 11", "seed = 12"))
    with pytest.raises(StoreError, match="different spec"):
        run_sweep(other, folder, backend="inprocess", quiet=True)
    with pytest.raises(StoreError, match="same chunk size"):
        run_sweep(spec, folder, backend="inprocess", chunk_replications=1, quiet=True)
    (tmp_path / "stranger").mkdir()
    (tmp_path / "stranger" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a sweep folder"):
        run_sweep(spec, tmp_path / "stranger", backend="inprocess", quiet=True)


def test_verify_finds_damaged_missing_and_stray_shards(spec, tmp_path):
    folder = tmp_path / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    shards = sorted((folder / "patients").glob("part-*.parquet"))
    data = bytearray(shards[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    shards[0].write_bytes(bytes(data))
    shards[1].unlink()
    shutil.copy(shards[2], folder / "patients" / "part-9999999.parquet")
    problems = verify(folder)
    assert any("checksum" in p or "rows" in p for p in problems)
    assert any("missing" in p for p in problems)
    assert any("not in the manifest" in p for p in problems)


def test_a_design_too_large_for_the_disk_is_refused_before_running(tmp_path):
    huge = parse_spec('name = "huge"\nn_patients = 100000000\nreplications = 100000\ntables = ["patients", "sessions"]')
    with pytest.raises(SpecError, match="disk"):
        run_sweep(huge, tmp_path / "out", backend="inprocess", quiet=True)
    assert not (tmp_path / "out").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_dask_scheduler_and_workers_give_the_same_dataset(spec, reference, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = (tmp_path / "scheduler.log").open("w")
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=logs,
        stderr=logs,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard"],
            stdout=logs,
            stderr=logs,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    try:
        folder = tmp_path / "out"
        run_sweep(spec, folder, backend="dask", scheduler=address, quiet=True)
        assert verify(folder) == []
        assert_same(dataset(folder), reference)
    finally:
        for proc in [*workers, scheduler]:
            proc.send_signal(signal.SIGTERM)
        for proc in [*workers, scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _chunks_done(folder: Path) -> int:
    """Chunks recorded so far: the manifest's and the journal's (where a running sweep appends them)."""
    try:
        return len(read_manifest(folder)["chunks"])
    except StoreError:
        return 0


def test_a_sweep_killed_at_any_moment_and_resumed_equals_an_uninterrupted_run(tmp_path):
    text = SPEC.replace("n_patients = 16", "n_patients = 300").replace(
        "chunk_replications = 2", "chunk_replications = 1"
    )
    reference_folder = tmp_path / "reference"
    run_sweep(parse_spec(text), reference_folder, backend="inprocess", quiet=True)
    spec_file = tmp_path / "crn.toml"
    spec_file.write_text(text)
    folder = tmp_path / "out"
    command = [str(BIN / "rupture-sim"), "sweep", str(spec_file), "--out", str(folder), "--backend", "inprocess"]
    rng = random.Random(5)
    progress = []
    for _ in range(4):  # kill at a random moment after the next chunk is recorded
        target = _chunks_done(folder) + 1
        proc = subprocess.Popen(
            [*command, "--quiet", "--no-plots"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while proc.poll() is None and _chunks_done(folder) < target:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.append((proc.returncode, _chunks_done(folder)))
    finished = subprocess.run([*command, "--quiet", "--no-plots"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert sum(code == -signal.SIGKILL for code, _ in progress) >= 3, progress
    assert all(0 < done < 16 for _, done in progress), progress
    assert verify(folder) == []
    assert_same(dataset(folder), dataset(reference_folder))


def test_cli_dry_run_prints_size_time_and_disk_and_writes_nothing(tmp_path, capsys):
    from simulation.tools.cli import main

    spec_file = tmp_path / "crn.toml"
    spec_file.write_text(SPEC)
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 design points" in out and "16 runs" in out and "estimated time" in out and "estimated disk" in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SPEC.replace("seed = 11", "seed = 11\ncolour = 3"), "unknown key"),
        (SPEC.replace("noticing = [0.2, 0.6]", "noticng = [0.2, 0.6]"), "did you mean 'noticing'"),
        (SPEC.replace("replications = 4", "replications = 'four'"), "replications"),
        (SPEC.replace("noticing = [0.2, 0.6]", "noticing = []"), "noticing"),
        (SPEC.replace("noticing = [0.2, 0.6]", "noticing = [0.2, 1.6]"), "noticing"),
    ],
)
def test_cli_rejects_a_bad_spec_in_one_line_before_anything_runs(tmp_path, capsys, text, message):
    from simulation.tools.cli import main

    spec_file = tmp_path / "bad.toml"
    spec_file.write_text(text)
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_verify_reports_problems_with_a_nonzero_exit(spec, tmp_path, capsys):
    from simulation.tools.cli import main

    folder = tmp_path / "out"
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    assert main(["verify", str(folder)]) == 0
    next((folder / "sessions").glob("part-*.parquet")).unlink()
    assert main(["verify", str(folder)]) == 1
    assert "missing" in capsys.readouterr().out
    assert main(["verify", str(tmp_path)]) == 2
