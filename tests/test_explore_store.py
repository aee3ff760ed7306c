"""Explore folders under the discipline of sweep folders (issue 23, items 3-5).

Every kind of damage a sweep's resume repairs is repaired in an explore folder
too, to the bytes of an uninterrupted run; ``verify`` knows explore folders
(passes intact ones, lists damage, flags a manifest and spec.toml that
disagree); ``complete`` is written only after every derived file; ``discover``
refuses an incomplete dataset and one that changed since its folder was started.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from simulation.explore.store import read_explore_manifest
from simulation.tools.cli import folder_kind, verify_folder
from tests.test_adversarial import _flip, _swap, assert_one_sentence, inside, run_cli

COMPARE = """
name = "cmp"
n_patients = 4
n_sessions = 3
replications = 3
seed = 9
baseline = "usual"
outcomes = ["symptom_change", "dropout"]
[scenarios.usual]
[scenarios.aft]
params = { aft_start_session = 1 }
"""
TABLES = ("runs", "patients", "trajectories")


def files(folder: Path) -> dict[str, str]:
    """sha256 of every file a user reads: tables, derived files and spec (not the manifest, which records times)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.name != "manifest.json"
        and p.relative_to(folder).parts[0] != "unrecorded"
    }


def compare(folder: Path, spec: Path) -> tuple[int, str]:
    code, _, err = run_cli(["compare", str(spec), "--out", str(folder), "--quiet"])
    return code, err


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("explore")
    (root / "cmp.toml").write_text(COMPARE)
    code, err = compare(root / "ref", root / "cmp.toml")
    assert code == 0, err
    return root / "ref"


def _shards(folder: Path, table: str = "runs") -> list[Path]:
    return sorted((folder / table).glob("part-*.parquet"))


def _edit_manifest(folder: Path, edit: Callable[[dict], None]) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


#: The damage kinds of the sweep suite (tests/test_adversarial.py DAMAGE) that an explore folder can have.
DAMAGE: dict[str, Callable[[Path, int], None]] = {
    "truncated shard": lambda f, n: _shards(f)[n % 3].write_bytes(_shards(f)[n % 3].read_bytes()[: n % 300]),
    "empty shard": lambda f, n: _shards(f, TABLES[n % 3])[n % 3].write_bytes(b""),
    "byte-flipped shard": lambda f, n: _flip(_shards(f, TABLES[n % 3])[n % 3], n * 7919),
    "deleted shard": lambda f, n: _shards(f, TABLES[n % 3])[n % 3].unlink(),
    "swapped shards": lambda f, n: _swap(_shards(f)[n % 3], _shards(f)[(n + 1) % 3]),
    "shard copied over another": lambda f, n: shutil.copy(_shards(f)[n % 3], _shards(f)[(n + 2) % 3]),
    "stray part file": lambda f, n: shutil.copy(_shards(f)[0], f / "runs" / f"part-{9_000_000 + n}.parquet"),
    "stray notes.txt": lambda f, n: (f / TABLES[n % 3] / "notes.txt").write_text("mine"),
    "stray .bak": lambda f, n: shutil.copy(_shards(f)[0], f / "runs" / "part-0000000.parquet.bak"),
    "hidden tmp shard": lambda f, n: (f / "runs" / f".part-0000001.parquet.{n}.tmp").write_bytes(b"PAR1"),
    "deleted table folder": lambda f, n: shutil.rmtree(f / TABLES[n % 3]),
    "table folder replaced by a file": lambda f, n: (shutil.rmtree(f / "patients"), (f / "patients").write_text("x")),
    "record with missing fields": lambda f, n: _edit_manifest(f, lambda m: m["tasks"][str(n % 3)].pop("tables")),
    "record with a wrong checksum": lambda f, n: _edit_manifest(
        f, lambda m: m["tasks"][str(n % 3)]["tables"]["runs"].update(sha256="0" * 64)
    ),
    "record of an unplanned task": lambda f, n: _edit_manifest(f, lambda m: m["tasks"].update({"99": {"x": 1}})),
    "record with values of the wrong type": lambda f, n: _edit_manifest(
        f, lambda m: m["tasks"][str(n % 3)]["tables"]["runs"].update(file=[1], rows="x", bytes=None)
    ),
    "edited spec.toml": lambda f, n: (f / "spec.toml").write_text(["", "junk = [", COMPARE.replace("9", "10")][n % 3]),
    "malformed manifest": lambda f, n: (f / "manifest.json").write_text(["{}", "[]", "", "{", "null"][n % 5]),
    "deleted manifest": lambda f, n: (f / "manifest.json").unlink(),
    "damaged derived file": lambda f, n: (f / "effects.csv").write_text("scenario\n"),
    "deleted derived file": lambda f, n: (f / "summary.md").unlink(),
    "not marked complete": lambda f, n: _edit_manifest(f, lambda m: m.update(complete=False)),
}


def test_an_intact_explore_folder_passes_verify(ref):
    assert folder_kind(ref) == "compare"
    assert verify_folder(ref, "compare") == []
    code, out, err = run_cli(["verify", str(ref)])
    assert code == 0 and "complete" in out, err


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_every_kind_of_damage_is_listed_by_verify_and_repaired_byte_identically(ref, tmp_path, kind):
    folder = tmp_path / "out"
    shutil.copytree(ref, folder)
    DAMAGE[kind](folder, 1)
    code, out, err = run_cli(["verify", str(folder)])
    assert code == 1 and out.strip() and "Traceback" not in err, f"verify missed: {kind}"
    code, err = compare(folder, ref.parent / "cmp.toml")
    assert code == 0, err
    assert verify_folder(folder, "compare") == []
    assert files(folder) == files(ref)
    assert read_explore_manifest(folder)["complete"] is True


def test_a_manifest_and_spec_that_disagree_are_flagged(ref, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(ref, folder)
    _edit_manifest(folder, lambda m: m["spec"].update(seed=10))  # the mixed folder of the issue: seed 9 vs 10
    problems = verify_folder(folder, "compare")
    assert "the manifest's spec does not match its fingerprint" in problems
    shutil.copytree(ref, tmp_path / "two")
    (tmp_path / "two" / "spec.toml").write_text(COMPARE.replace("seed = 9", "seed = 10"))
    assert any(
        "spec.toml is not the spec the manifest records" in p for p in verify_folder(tmp_path / "two", "compare")
    )


def test_complete_is_written_only_after_every_derived_file(ref, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    shutil.copytree(ref, folder)
    _edit_manifest(folder, lambda m: m.update(complete=False))

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", "effects.png")

    monkeypatch.setattr("simulation.explore.figures.compare_figures", full)
    code, err = compare(folder, ref.parent / "cmp.toml")
    assert_one_sentence(code, err)
    assert read_explore_manifest(folder)["complete"] is False
    assert any(p.startswith("incomplete") for p in verify_folder(folder, "compare"))


def test_a_folder_of_another_spec_is_refused_naming_what_differs(ref, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(ref, folder)
    (tmp_path / "other.toml").write_text(COMPARE.replace("seed = 9", "seed = 10"))
    before = files(folder)
    code, err = compare(folder, tmp_path / "other.toml")
    assert_one_sentence(code, err)
    assert "seed differ" in err
    assert files(folder) == before


SWEEP = """
name = "data"
population = "mixed"
n_patients = 30
n_sessions = 4
replications = 1
seed = 3
tables = ["patients"]
chunk_replications = 1
[vary]
noticing = [0.1, 0.7]
"""
DISCOVER = """
name = "disc"
data = "data"
failure = "dropout_or_no_reliable_change"
inputs = ["noticing", "pd_severity"]
resamples = 2
max_rows = 1000
seed = 1
"""


def test_discover_refuses_an_incomplete_or_changed_dataset(tmp_path):
    (tmp_path / "sweep.toml").write_text(SWEEP)
    (tmp_path / "disc.toml").write_text(DISCOVER)
    with inside(tmp_path):
        sweep = ["sweep", "sweep.toml", "--out", "data", "--backend", "inprocess", "--quiet", "--no-plots"]
        assert run_cli(sweep)[0] == 0
        _edit_manifest(tmp_path / "data", lambda m: m["chunks"].pop("1"))  # as if interrupted
        for shard in (tmp_path / "data").glob("*/part-0000001.parquet"):
            shard.unlink()
        code, _, err = run_cli(["discover", "disc.toml", "--out", "d", "--quiet"])
        assert_one_sentence(code, err)
        assert "incomplete" in err and not (tmp_path / "d").exists()
        assert run_cli(sweep)[0] == 0  # resumed: complete again
        code, _, err = run_cli(["discover", "disc.toml", "--out", "d", "--quiet"])
        assert code == 0, err
        assert verify_folder(tmp_path / "d", "discover") == []
        # the dataset changes (another sweep into the same folder name), the discovery is rerun into its folder
        shutil.rmtree(tmp_path / "data")
        (tmp_path / "sweep.toml").write_text(SWEEP.replace("n_patients = 30", "n_patients = 31"))
        assert run_cli(sweep)[0] == 0
        code, _, err = run_cli(["discover", "disc.toml", "--out", "d", "--quiet"])
        assert_one_sentence(code, err)
        assert "dataset differ" in err
