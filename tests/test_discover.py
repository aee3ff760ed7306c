"""rupture-sim discover: PRIM boxes on a dataset with a planted failure region, and on a real sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.tools.cli import main

#: The planted failure region: high severity and low noticing.
PLANTED = {"pd_severity": (0.7, 1.0), "noticing": (0.0, 0.3)}


def _fake_sweep(folder: Path, n: int = 3000, seed: int = 0) -> None:
    """A folder laid out like a finished sweep, whose failures sit in the planted box (plus 5% noise)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 4)), columns=["noticing", "skill_mean", "pd_severity", "insight"])
    planted = (x["pd_severity"] >= 0.7) & (x["noticing"] <= 0.3)
    failed = planted | (rng.random(n) < 0.05)
    patients = x.assign(dropped_out=failed & (rng.random(n) < 0.5), reliable_change=True)
    patients.loc[failed & ~patients["dropped_out"], "reliable_change"] = False
    _finished_sweep(folder, {"patients": patients})


def _finished_sweep(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Lay ``tables`` out as the one chunk of a finished sweep (discover analyses only finished, intact ones)."""
    from simulation.sweep.chunks import write_shard
    from simulation.sweep.spec import design_points, parse_spec
    from simulation.sweep.store import compact, new_manifest, spec_text

    spec = parse_spec('name = "planted"\n[vary]\nnoticing = [0.1]\nskill_mean = [0.5]\n')
    folder.mkdir(parents=True)
    (folder / "spec.toml").write_text(spec_text(spec))
    design_points(spec).reset_index().to_parquet(folder / "design.parquet", index=False)
    manifest = new_manifest(spec, 1, 1, 1)
    shards = {name: write_shard(table, folder / name / "part-0000000.parquet") for name, table in tables.items()}
    for name in manifest["tables"]:
        if name not in shards:
            shards[name] = write_shard(pd.DataFrame({"point": [0]}), folder / name / "part-0000000.parquet")
    manifest["chunks"]["0"] = {"chunk": 0, "point": 0, "replications": [0], "tables": shards, "seconds": 0.0}
    manifest["complete"] = True
    compact(folder, manifest)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("discover")
    _fake_sweep(root / "data")
    spec = root / "d.toml"
    spec.write_text(
        f'name = "planted"\ndata = "{root / "data"}"\nfailure = "dropout_or_no_reliable_change"\n'
        'inputs = ["noticing", "skill_mean", "pd_severity", "insight"]\n'
        "resamples = 10\nn_boxes = 1\nmin_density = 0.9\nseed = 3\n"
    )
    out = root / "out"
    assert main(["discover", str(spec), "--out", str(out), "--quiet"]) == 0
    data = pd.read_parquet(root / "data" / "patients")
    return {
        "out": out,
        "data": data,
        "boxes": pd.read_csv(out / "boxes.csv"),
        "scores": pd.read_csv(out / "feature_scores.csv"),
    }


def test_prim_finds_a_box_that_covers_the_planted_region(planted: dict) -> None:
    box = planted["boxes"].set_index("input")
    assert set(box.index[box["restricted"]]) == set(PLANTED)
    for name, (low, high) in PLANTED.items():
        assert box.loc[name, "low"] == pytest.approx(low, abs=0.06)
        assert box.loc[name, "high"] == pytest.approx(high, abs=0.06)
    data = planted["data"]
    region = np.ones(len(data), dtype=bool)
    found = np.ones(len(data), dtype=bool)
    for name in data.columns.drop(["dropped_out", "reliable_change"]):
        found &= data[name].between(box.loc[name, "low"], box.loc[name, "high"]).to_numpy()
    for name, (low, high) in PLANTED.items():
        region &= data[name].between(low, high).to_numpy()
    assert (found & region).sum() >= 0.9 * region.sum()  # the box covers the planted region ...
    assert (found & ~region).sum() <= 0.15 * found.sum()  # ... and little else
    # coverage is at most the planted share of all failures (the rest is 5% noise everywhere)
    failed = (data["dropped_out"] | ~data["reliable_change"]).to_numpy()
    assert box["coverage"].iloc[0] >= 0.9 * (failed & region).sum() / failed.sum()
    assert box["density"].iloc[0] > 0.9


def test_feature_scores_rank_the_planted_inputs_first(planted: dict) -> None:
    scores = planted["scores"]
    assert set(scores["input"].iloc[:2]) == set(PLANTED)
    top, rest = scores.iloc[1], scores.iloc[2]
    assert top["low"] > rest["high"]  # their intervals are clear of the others'


def test_the_box_is_reproducible_and_the_report_says_so(planted: dict) -> None:
    summary = (planted["out"] / "summary.md").read_text()
    assert "coverage" in summary and "Reproducibility of box 1 over 10 resamples" in summary
    median = float(summary.split("median ")[1].split(" ")[0])
    assert median > 0.8
    for name in ("tradeoff.png", "feature_scores.png"):
        assert (planted["out"] / name).read_bytes()[:4] == b"\x89PNG"


def test_a_real_sweep_yields_boxes_with_coverage_and_density(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'name = "s"\npopulation = "mixed"\nn_patients = 40\nn_sessions = 12\nreplications = 1\nseed = 2\n'
        '[design]\ntype = "lhs"\nsamples = 12\n[vary]\nskill_mean = { low = 0.2, high = 0.9 }\n'
        "noticing = { low = 0.05, high = 0.7 }\n"
    )
    data = tmp_path / "data"
    assert main(["sweep", str(sweep), "--out", str(data), "--quiet", "--backend", "inprocess", "--no-plots"]) == 0
    spec = tmp_path / "d.toml"
    spec.write_text(f'name = "real"\ndata = "{data}"\nresamples = 3\nmax_rows = 400\n')
    assert main(["discover", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "coverage" in capsys.readouterr().out
    boxes = pd.read_csv(tmp_path / "out" / "boxes.csv")
    assert boxes["coverage"].between(0, 1).all() and boxes["density"].between(0, 1).all()


def test_a_sensitivity_dataset_works_as_input(tmp_path: Path, capsys) -> None:
    sens = tmp_path / "sens.toml"
    sens.write_text(
        'name = "s"\nn_patients = 20\nn_sessions = 6\nreplications = 1\nseed = 2\noutcomes = ["symptom_change"]\n'
        "morris_trajectories = 2\nsobol_samples = 32\noat_steps = 2\n[factors]\n"
        "noticing = { low = 0.05, high = 0.8 }\nskill_mean = { low = 0.2, high = 0.9 }\n"
    )
    data = tmp_path / "data"
    assert main(["sensitivity", str(sens), "--out", str(data), "--quiet"]) == 0
    median = pd.read_parquet(data / "runs")["symptom_change"].median()
    spec = tmp_path / "d.toml"
    spec.write_text(f'name = "d"\ndata = "{data}"\nfailure = "symptom_change"\nabove = {median}\nresamples = 3\n')
    assert main(["discover", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert f"failure `symptom_change` > {median:g}" in summary and "base rate" in summary
    # too little improvement comes with low noticing: the first box restricts it
    boxes = pd.read_csv(tmp_path / "out" / "boxes.csv")
    first = boxes[boxes["box"] == 0].set_index("input")
    assert first.loc["noticing", "restricted"] and first.loc["noticing", "high"] < 0.8
