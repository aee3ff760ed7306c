"""Summaries and figures of sweep folders (simulation.sweep.summary, simulation.sweep.plots)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.run.outcomes import GROUP_OUTCOMES
from simulation.sweep.plots import choose_cells, plot_sweep
from simulation.sweep.runner import run_sweep
from simulation.sweep.spec import load_spec, parse_spec
from simulation.sweep.summary import OUTCOMES, t_interval

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
RATES = ["rupture_rate", "resolution_rate", "dropout", "recovery"]
SMALL = "n_patients = 20\nn_sessions = 6\nseed = 3\n"


def _sweep(tmp_path: Path, text: str | None = None) -> Path:
    spec = load_spec(ROOT / "experiments" / "quick.toml") if text is None else parse_spec(text)
    folder = tmp_path / spec.name
    run_sweep(spec, folder, backend="inprocess", quiet=True)
    return folder


def _check_pngs(paths: list[Path], folder: Path) -> None:
    assert paths
    for path in paths:
        assert path.parent == folder / "figures"
        assert path.read_bytes()[:8] == PNG
        assert path.stat().st_size > 10_000, path


def _table_rows(summary: str) -> list[str]:
    return [line for line in summary.splitlines() if re.match(r"\| \d+ \|", line)]


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = _sweep(tmp_path_factory.mktemp("quick"))
    return folder, plot_sweep(folder)


def test_quick_runs_table(quick: tuple[Path, list[Path]]) -> None:
    folder, _ = quick
    runs = pd.read_parquet(folder / "runs.parquet")
    assert len(runs) == 4 * 3
    assert list(runs.columns[:4]) == ["point", "replication", "skill_mean", "noticing"]
    assert set(zip(runs["point"], runs["replication"], strict=True)) == {(p, r) for p in range(4) for r in range(3)}
    assert (runs["n_patients"] == 20).all()
    for rate in RATES:
        assert runs[rate].between(0, 1).all(), rate
    assert runs["resolution_stage"].between(1, 5).all()
    assert runs["symptom_change"].between(-4, 4).all()


def test_quick_runs_match_patients(quick: tuple[Path, list[Path]]) -> None:
    folder, _ = quick
    runs = pd.read_parquet(folder / "runs.parquet").set_index(["point", "replication"])
    patients = pd.read_parquet(folder / "patients")
    one = patients[(patients["point"] == 2) & (patients["replication"] == 1)]
    row = runs.loc[(2, 1)]
    observed, attended = one["n_sessions_rupture_observed"].sum(), one["sessions_attended"].sum()
    assert row["rupture_rate"] == pytest.approx(observed / attended)
    assert row["resolution_rate"] == pytest.approx(one["n_resolved"].sum() / one["n_episodes"].sum())
    assert row["dropout"] == pytest.approx(one["dropped_out"].mean())
    assert row["symptom_change"] == pytest.approx(one["symptom_change"].mean())
    assert row["recovery"] == pytest.approx(one["recovered"].mean())
    stage = one.loc[one["n_episodes"] > 0, "mean_resolution_stage"].mean()
    assert row["resolution_stage"] == pytest.approx(stage)


def test_quick_summary(quick: tuple[Path, list[Path]]) -> None:
    folder, figures = quick
    text = (folder / "summary.md").read_text()
    assert "# Sweep `quick`" in text
    assert "Tiny 2 x 2 grid for tests" in text
    assert "4 design points x 3 replications; 20 patients per run; 8 sessions" in text
    assert "skill_mean in {0.4, 0.8}; noticing from 0.2 to 0.6 (2 steps)" in text
    rows = _table_rows(text)
    assert len(rows) == 4
    for row in rows:
        assert row.count("[") == len(OUTCOMES)  # every outcome has an interval
    for mean, lo, hi in re.findall(r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]", text):
        assert float(lo) <= float(mean) <= float(hi)
    for path in figures:
        assert f"(figures/{path.name})" in text


def test_quick_figures(quick: tuple[Path, list[Path]]) -> None:
    folder, figures = quick
    names = [p.name for p in figures]
    assert names == [f"{name}.png" for name in OUTCOMES] + ["trajectories.png"]
    _check_pngs(figures, folder)


def test_one_parameter(tmp_path: Path) -> None:
    text = f'name = "one"\n{SMALL}replications = 2\n[vary]\nskill_mean = {{ low = 0.3, high = 0.9, steps = 3 }}\n'
    folder = _sweep(tmp_path, text)
    figures = plot_sweep(folder)
    assert [p.name for p in figures] == ["outcomes_by_skill_mean.png", "trajectories.png"]
    _check_pngs(figures, folder)
    assert len(pd.read_parquet(folder / "runs.parquet")) == 6
    rows = _table_rows((folder / "summary.md").read_text())
    assert [row.split("|")[2].strip() for row in rows] == ["0.3", "0.6", "0.9"]


def test_no_vary_one_replication(tmp_path: Path) -> None:
    folder = _sweep(tmp_path, f'name = "none"\n{SMALL}')
    figures = plot_sweep(folder)
    assert [p.name for p in figures] == ["outcomes.png", "trajectories.png"]
    _check_pngs(figures, folder)
    rows = _table_rows((folder / "summary.md").read_text())
    assert len(rows) == 1 and "[" not in rows[0]  # one replication: no interval
    runs = pd.read_parquet(folder / "runs.parquet")
    assert list(runs.columns[:3]) == ["point", "replication", "n_patients"]


def test_lhs(tmp_path: Path) -> None:
    text = (
        f'name = "lhs"\n{SMALL}replications = 2\n[design]\ntype = "lhs"\nsamples = 6\n'
        "[vary]\nnoticing = { low = 0.1, high = 0.7 }\nreactivity = { low = 0.05, high = 0.4 }\n"
        "exploratory_preference = { low = 0.2, high = 0.9 }\n"
    )
    folder = _sweep(tmp_path, text)
    figures = plot_sweep(folder, x="reactivity", cells=[0, 5])
    assert len(figures) == len(OUTCOMES) + 1
    _check_pngs(figures, folder)
    assert len(_table_rows((folder / "summary.md").read_text())) == 6
    assert "lhs, 6 samples" in (folder / "summary.md").read_text()


def test_bad_arguments(quick: tuple[Path, list[Path]]) -> None:
    folder, _ = quick
    with pytest.raises(ValueError, match="not a varied parameter"):
        plot_sweep(folder, x="reactivity")
    with pytest.raises(ValueError, match="different"):
        plot_sweep(folder, x="noticing", y="noticing")
    with pytest.raises(ValueError, match="cells"):
        plot_sweep(folder, cells=[4])
    with pytest.raises(ValueError, match="not a sweep folder"):
        plot_sweep(folder / "figures")


def test_t_interval() -> None:
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert mean - lo == pytest.approx(hi - mean)
    assert np.isnan(t_interval([1.0])[1])
    assert t_interval([0.0, 0.0, 0.1], bounds=(0.0, 1.0))[1] == 0.0


def test_choose_cells_corners() -> None:
    design = pd.DataFrame(
        {"a": np.repeat([0.1, 0.2, 0.3], 3), "b": np.tile([1.0, 2.0, 3.0], 3)},
        index=pd.RangeIndex(9, name="point"),
    )
    assert sorted(choose_cells(design, "a", "b")) == [0, 2, 6, 8]
    assert choose_cells(design, "a", None) == [0, 6]


def test_the_sweep_shows_every_group_outcome_in_order():
    assert tuple(OUTCOMES) == GROUP_OUTCOMES
