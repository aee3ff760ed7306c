"""The benchmark runs end to end on a tiny size and reports every number (no speed is asserted)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulation.tools import bench
from simulation.tools.bench import coldstart, floor

TINY = {
    "n_patients": 40,
    "n_sessions": 8,
    "mesa_patients": 10,
    "count_patients": 12,
    "repeats": 2,
    "sweep": True,
    "sweep_seconds": 0.2,
    "sweep_patients": 10,
    "sweep_chunk_replications": 1,
    "sweep_repeats": 1,
    "sweep_backend": "inprocess",  # the processes backend spawns interpreters: too slow for a unit test
    "memory": True,
    "memory_dyad_sessions": 2000,
    "memory_patients": 20,
    "memory_chunk_replications": 2,
    "cold_start": False,  # compiles everything in a fresh cache: measured by coldstart's own tests below
}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return bench.run_benchmark(**TINY)


def test_result_has_every_key(result: dict[str, Any]) -> None:
    assert set(result) == set(bench.RESULT_KEYS)
    assert set(result["throughput"]) == set(bench.THROUGHPUT_ROWS)
    for name, row in result["throughput"].items():
        assert row is not None, name
        assert set(bench.THROUGHPUT_KEYS) <= set(row), name
        assert row["dyad_sessions"] > 0 and row["per_second"] > 0, name
    assert result["throughput"]["engine_summary"]["ratio_to_engine"] == pytest.approx(1.0)
    assert set(result["targets"]) == set(bench.TARGETS)
    for name in ("engine_over_mesa", "engine_over_floor", "sweep_speedup_2_workers", "sweep_sessions_over_summary"):
        assert result["ratios"][name] > 0
    assert result["memory"]["peak_rss_bytes"] >= result["memory"]["baseline_rss_bytes"] > 0
    assert result["memory"]["dyad_sessions"] == result["memory"]["session_rows"] >= TINY["memory_dyad_sessions"] // 2
    json.dumps(result, allow_nan=False)  # JSON-able as it is


def test_draw_count_is_plausible(result: dict[str, Any]) -> None:
    draws = result["draws"]
    assert 10 < draws["per_dyad_session"] < 500
    assert draws["matches_compiled"]  # the plain-Python run did the compiled engine's work
    session = draws["session_calls_per_dyad_session"]
    assert session["session_key"] == pytest.approx(1.0)  # one session key per session
    assert session["segment_key"] >= 1.0


def test_engine_and_agents_do_the_same_work(result: dict[str, Any]) -> None:
    rows = result["throughput"]
    assert rows["engine_summary"]["dyad_sessions"] == rows["engine_sessions"]["dyad_sessions"]
    assert rows["floor"]["dyad_sessions"] == rows["engine_summary"]["dyad_sessions"]
    assert rows["mesa"]["dyad_sessions"] <= rows["engine_summary"]["dyad_sessions"]


def test_floor_makes_the_counted_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    # rates per dyad-session in COUNTED_CALLS order; 4 dyad-sessions (patients with 2, 0 and 2 sessions)
    rates = np.array([1.0, 2.0, 3.5, 1.0, 0.5])
    ids, attended = np.arange(3, dtype=np.int64), np.array([2, 0, 2], dtype=np.int64)
    compiled = bench.floor_kernel(5, ids, attended, rates)
    assert np.isfinite(compiled) and compiled == bench.floor_kernel(5, ids, attended, rates)
    calls = dict.fromkeys(bench.COUNTED_CALLS, 0)
    for name in bench.COUNTED_CALLS:
        inner = getattr(floor, name)

        def counting(*args: Any, _inner: Any = inner, _name: str = name) -> Any:
            calls[_name] += 1
            if _name != "session_key":  # compiled callees return keys as Python ints: pass them back as uint64
                args = (np.uint64(args[0]), *args[1:])
            return _inner(*args)

        monkeypatch.setattr(floor, name, counting)
    assert bench.floor_kernel.py_func(5, ids, attended, rates) == pytest.approx(compiled)
    assert calls == dict(zip(bench.COUNTED_CALLS, (4 * rates).astype(int).tolist(), strict=True))


def test_command_prints_the_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out" / "bench.json"
    argv = ["--patients", "20", "--sessions", "5", "--mesa-patients", "5", "--count-patients", "5"]
    argv += ["--repeats", "1", "--no-sweep", "--no-memory", "--no-cold-start", "--quiet", "--json", str(path)]
    assert bench.bench_command(argv) == 0
    printed = capsys.readouterr().out
    assert "engine, summary mode" in printed and "skipped" in printed
    written = json.loads(path.read_text())
    assert set(written) == set(bench.RESULT_KEYS)
    assert written["throughput"]["sweep_1_worker"] is None and written["memory"] is None
    assert written["cold_start"] is None and written["targets"]["cold_start_seconds"]["met"] is None


def test_add_arguments_rejects_bad_sizes() -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    assert parser.parse_args([]).patients == 4000
    with pytest.raises(SystemExit):
        parser.parse_args(["--patients", "0"])


def test_cold_start_runs_each_call_in_a_new_process_with_an_empty_cache() -> None:
    # The child reports the cache folder it was given and whether it was empty; run twice (cold, warm).
    code = (
        "import os, pathlib, sys; folder = pathlib.Path(os.environ['RUPTURE_SIM_CACHE']); "
        "print(folder, any(folder.iterdir()), file=sys.stderr); (folder / 'mark').write_text('x')"
    )
    measured = coldstart.measure_cold_start({"probe": code})
    cold, warm = measured["probe"]["cold"], measured["probe"]["warm"]
    cold_folder, cold_had_files = cold["said"].split()
    warm_folder, warm_had_files = warm["said"].split()
    assert cold_folder == warm_folder and not Path(cold_folder).exists()  # a fresh folder, removed afterwards
    assert (cold_had_files, warm_had_files) == ("False", "True")  # cold: empty; warm: what the cold run left
    assert cold["wall_seconds"] > 0 and cold["cpu_seconds"] >= 0


def test_cold_start_reports_a_failing_child() -> None:
    with pytest.raises(RuntimeError, match="cold-start child failed"):
        coldstart.measure_cold_start({"broken": "raise SystemExit('no kernel')"})


def test_a_compile_says_so_once_and_a_cached_kernel_says_nothing(tmp_path: Path) -> None:
    code = (
        "import numpy as np; from simulation.model.keyed_random import mix, segment_key; "
        "mix(np.uint64(3)); segment_key(np.uint64(5), 2)"
    )
    first = coldstart.run_child(code, str(tmp_path))["said"]
    assert first.count("rupture-sim: compiling the model") == 1 and "about" in first  # one line for two kernels
    assert coldstart.run_child(code, str(tmp_path))["said"] == ""  # loaded from the cache: silent
    assert json.loads((tmp_path / "compile-seconds.json").read_text())["seconds"] > 0


def test_warm_up_compiles_what_is_missing_and_then_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    from simulation.tools import warm
    from simulation.tools.cli import main

    assert main(["warm-up", "--serial"]) == 0  # compiles (or finds) both entry points
    assert warm.compiled_entries() == set(warm.ENTRY_POINTS)
    assert warm.warm_up() == {}  # nothing left to compile
    assert main(["warm-up"]) == 0
    assert "already compiled" in capsys.readouterr().out


def test_a_parallel_warm_up_says_once_what_it_compiles(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    from simulation.model import kernel_cache
    from simulation.tools import warm

    notice = kernel_cache.COMPILE_NOTICE
    monkeypatch.setattr(notice, "announced", False)
    monkeypatch.setattr(warm, "compiled_entries", lambda: set())

    class InlinePool:  # the worker pool, run in this process (the workers' compiles are not the point here)
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __enter__(self) -> InlinePool:
            return self

        def __exit__(self, *exc) -> bool:
            return False

        def map(self, function, items):
            return [function(item) for item in items]

    calls = []
    monkeypatch.setattr(warm, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(warm, "compile_entry", lambda entry: calls.append((entry, notice.announced)) or 1.0)
    assert warm.warm_up() == {"cohort": 1.0, "agents": 1.0}
    assert capsys.readouterr().err.count("rupture-sim: compiling the model") == 1  # the parent, once
    assert calls == [("cohort", True), ("agents", True)]  # each worker knows it was said: silent
