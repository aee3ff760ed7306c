"""One folder, one writer (issue 23, item 1): an exclusive lock per output folder.

Two writers released at the same instant into one new folder: exactly one
wins, the other gets one sentence naming the folder and the winner's process
and exit 2, and the folder equals a single run of the winner's spec byte for
byte. A lock of a process that died is taken over; a run that ends leaves no
lock file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.outputs import LOCK, OutputError, folder_lock
from simulation.tools.cli import verify_folder
from simulation.validation.calibrate.search import FREE_PARAMETERS
from tests.test_adversarial import run_cli
from tests.test_explore_store import COMPARE, files

ROUNDS = 20
#: A writer: for each round, wait for the round's barrier file, then run the command; record exit code and stderr.
WRITER = """
import contextlib, io, json, os, sys, time
from pathlib import Path
from simulation.tools.cli import main
root, me, spec = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
(root / f".ready-{me}.tmp").write_text(str(os.getpid()))
(root / f".ready-{me}.tmp").rename(root / f"ready-{me}")  # whole when it appears: the parent reads it at once
for r in range(int(sys.argv[4])):
    barrier = root / f"go-{r}"
    while not barrier.exists():
        time.sleep(0.0005)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["compare", spec, "--out", str(root / f"race-{r}"), "--quiet"])
    tmp = root / f".result-{me}-{r}.tmp"
    tmp.write_text(json.dumps({"code": code, "err": err.getvalue()}))
    tmp.rename(root / f"result-{me}-{r}.json")
"""


def _wait_for(paths: list[Path], procs: list[subprocess.Popen], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert all(proc.poll() in (None, 0) for proc in procs), [proc.stderr.read() for proc in procs if proc.poll()]
        assert time.monotonic() < deadline, "writers did not answer"
        time.sleep(0.01)


def test_two_writers_released_together_exactly_one_wins_and_the_folder_is_one_run(tmp_path):
    specs = {"a": tmp_path / "a.toml", "b": tmp_path / "b.toml"}
    specs["a"].write_text(COMPARE)
    specs["b"].write_text(COMPARE.replace("seed = 9", "seed = 10"))  # the case: specs differing in seed
    for me, spec in specs.items():
        assert run_cli(["compare", str(spec), "--out", str(tmp_path / f"ref-{me}"), "--quiet"])[0] == 0
    refs = {me: files(tmp_path / f"ref-{me}") for me in specs}
    procs = {
        me: subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), me, str(spec), str(ROUNDS)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for me, spec in specs.items()
    }
    try:
        _wait_for([tmp_path / f"ready-{me}" for me in specs], list(procs.values()))
        pids = {me: int((tmp_path / f"ready-{me}").read_text()) for me in specs}
        wins, locked = 0, 0
        for r in range(ROUNDS):
            (tmp_path / f"go-{r}").touch()  # both writers are polling for this file: released at the same instant
            results = [tmp_path / f"result-{me}-{r}.json" for me in specs]
            _wait_for(results, list(procs.values()))
            outcome = {me: json.loads(path.read_text()) for me, path in zip(specs, results, strict=True)}
            winners = [me for me, o in outcome.items() if o["code"] == 0]
            assert len(winners) == 1, (r, outcome)
            winner, loser = winners[0], next(me for me in specs if me not in winners)
            err = outcome[loser]["err"]
            assert outcome[loser]["code"] == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
            folder = tmp_path / f"race-{r}"
            if "being written" in err:
                assert str(folder) in err and f"process {pids[winner]}" in err, err
                locked += 1
            else:  # the loser came after the winner had finished: refused as another spec's folder
                assert "different spec (compare" in err, err
            assert files(folder) == refs[winner]
            assert verify_folder(folder, "compare") == []
            assert not (folder / LOCK).exists()
            wins += 1
        assert wins == ROUNDS
        print(f"{wins} of {ROUNDS} races had exactly one winner; the lock decided {locked} of them")
        assert locked >= 1  # the lock itself decided at least one of the races
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


HOLDER = """
import os, signal, sys, time
from pathlib import Path
from simulation.outputs import folder_lock
with folder_lock(Path(sys.argv[1])):
    Path(sys.argv[2]).touch()
    if sys.argv[3] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(600)
"""


def _holder(tmp_path: Path, how: str) -> tuple[subprocess.Popen, Path]:
    folder, held = tmp_path / "out", tmp_path / "held"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(held), how], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not held.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc, folder


def test_a_second_writer_is_one_sentence_naming_the_holder_and_touches_nothing(tmp_path):
    proc, folder = _holder(tmp_path, "hold")
    try:
        (tmp_path / "c.toml").write_text(COMPARE)
        before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        for argv in (
            ["compare", str(tmp_path / "c.toml"), "--out", str(folder), "--quiet"],
            ["robustness", "--out", str(folder), "--only", next(iter(FREE_PARAMETERS))],  # a valid --only
            ["calibrate", "--out", str(folder), "--trials", "1"],
        ):
            code, _, err = run_cli(argv)
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert f"{folder} is being written by rupture-sim process {proc.pid}" in err
        assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
        with pytest.raises(OutputError, match=f"process {proc.pid}"), folder_lock(folder):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path):
    proc, folder = _holder(tmp_path, "die")
    assert proc.wait() == -signal.SIGKILL
    assert (folder / LOCK).read_text().strip() == str(proc.pid)  # the stale lock file of a dead process
    with folder_lock(folder):
        assert (folder / LOCK).read_text().strip() == str(os.getpid())
        with folder_lock(folder):  # re-entrant within a process
            pass
    assert not (folder / LOCK).exists()


SIBLING_HOLDER = """
import sys, time
from pathlib import Path
from simulation.outputs import folder_lock
with folder_lock(Path(sys.argv[1]), sibling=True):
    Path(sys.argv[2]).touch()
    time.sleep(600)
"""


def test_simulate_is_refused_before_it_simulates_while_another_writer_holds_its_folder(tmp_path, monkeypatch):
    import simulation.api

    target, held = tmp_path / "cohort", tmp_path / "held"
    proc = subprocess.Popen([sys.executable, "-c", SIBLING_HOLDER, str(target), str(held)], stderr=subprocess.PIPE)
    calls = []
    monkeypatch.setattr(simulation.api, "simulate", lambda *a, **k: calls.append(a))
    try:
        _wait_for([held], [proc])
        code, _, err = run_cli(["simulate", "--out", str(target), "--patients", "5", "--sessions", "2"])
        assert code == 2 and f"is being written by rupture-sim process {proc.pid}" in err, err
        assert calls == [] and not target.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
