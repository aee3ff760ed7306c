"""Design files of the virtual studies: shipped files, checks of edited copies, --only and --design."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.tools.cli import main
from simulation.validation import designs as designs_module
from simulation.validation.designs import (
    SCHEMAS,
    Design,
    DesignError,
    design_changes,
    design_folder,
    design_from_dict,
    load_design,
    parse_design,
    shipped_designs,
    study_targets,
)
from simulation.validation.runner import run_validation, simulate_studies, studies_for
from simulation.validation.studies import STUDIES
from simulation.validation.targets import TARGETS, TargetError, select_targets

ROOT = Path(__file__).resolve().parents[1]
FOLDER = Path(str(design_folder()))
ENTRY_POINT = Path(sys.executable).parent / "rupture-sim"


def shipped_file(name: str) -> Path:
    return Path(shipped_designs()[name].path)


def edited_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of a shipped design file with the first line that starts with ``old`` changed to start with ``new``."""
    text = shipped_file(name).read_text()
    pattern = re.compile(rf"^{re.escape(old)}(?=\s|$)", flags=re.M)
    assert pattern.search(text), old
    path = tmp_path / f"{name}_edited.toml"
    path.write_text(pattern.sub(new, text, count=1))
    return path


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


# --- shipped files ------------------------------------------------------------------------------------


def test_every_target_is_served_by_a_shipped_design_file():
    designs = shipped_designs()
    served = {t for d in designs.values() for t in d.targets}
    assert served == {f"T{i}" for i in range(1, 21)} == {t.id for t in TARGETS}
    assert list(designs) == list(SCHEMAS) == list(STUDIES)  # one file per study, in target order
    for name, design in designs.items():
        assert design.targets == study_targets(name) == STUDIES[name].targets
        assert STUDIES[name].design is design
        assert design.source and design.description and design.values


def test_shipped_files_are_named_after_their_first_target_and_study():
    files = sorted(p.name for p in FOLDER.glob("*.toml"))
    assert len(files) == len(SCHEMAS) == 21
    for name, design in shipped_designs().items():
        number = int(design.targets[0][1:])
        assert re.fullmatch(rf"T{number:02d}[ab]?_{name}\.toml", Path(design.path).name), design.path


def test_shipped_files_are_package_data_and_documented_in_experiments():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["simulation.validation"]
    assert "designs/*.toml" in globs
    readme = (ROOT / "experiments" / "virtual_studies" / "README.md").read_text()
    for path in FOLDER.glob("*.toml"):
        assert path.name in readme


def test_shipped_designs_keep_the_published_numbers():
    d = {name: design.values for name, design in shipped_designs().items()}
    assert sum(d["resolution_outcome_meta"]["study_sizes"]) == 1314
    assert len(d["resolution_outcome_meta"]["study_sizes"]) == 11
    assert sum(d["training_meta"]["study_sizes"]) == 276 and len(d["training_meta"]["study_sizes"]) == 6
    assert d["aft_multiple_baseline"]["switch_sessions"] == (8, 16)
    assert d["bpd_recovered_vs_unrecovered"]["n_cases"] == 3
    assert d["psq_early_sessions"]["n_patients"] == 128
    assert d["bpd_rct"]["specialised"]["therapists"] == "aft_trained"
    assert d["bpd_rct"]["usual_care"]["therapists"] == "immediate_only"
    assert d["dose_response_non_pd"]["dose_sessions"] == (8, 26) and d["dose_response_non_pd"]["n_patients"] >= 2400
    assert d["pd_long_course"]["mean_years"] == 1.3 and d["pd_long_course"]["pd_group"]["pd_share"] == 1.0
    assert d["bpd_dropout_by_quarter"]["n_patients"] == 9100 and d["bpd_dropout_by_quarter"]["n_parts"] == 4
    assert d["bpd_dropout_by_quarter"]["count_good_enough"] is True  # the trials counted every premature end
    assert sum(g["n_patients"] for g in (d["cluster_profiles"][k] for k in ("no_pd", "cluster_b", "cluster_c"))) == 96
    for values in d.values():  # model parameters stay out of the designs (they are the defaults / --set)
        assert not {"noticing", "skill_mean", "dropout_base_logit", "alliance_symptom_effect"} & set(values)


# --- a design changes the study --------------------------------------------------------------------------


def test_a_changed_sample_size_changes_the_result(tmp_path: Path):
    shipped = STUDIES["adolescent_bpd_3rs"]
    small = load_design(edited_copy(tmp_path, "adolescent_bpd_3rs", "n_patients = 10", "n_patients = 3"))
    assert design_changes(small, shipped.design) == ["n_patients 10 -> 3"]
    default = shipped.run(5)
    assert same(shipped.run(5, design=shipped.design), default)  # the shipped file is the default
    edited = shipped.run(5, design=small)
    assert edited["sessions_coded"] <= 3 * 19 < default["sessions_coded"]


def test_a_changed_course_length_and_preset_change_the_result(tmp_path: Path):
    study = STUDIES["bpd_dropout"]
    short = load_design(edited_copy(tmp_path, "bpd_dropout", "n_sessions = 48", "n_sessions = 12"))
    assert study.run(3, design=short)["mean_sessions"] <= 12 < study.run(3)["mean_sessions"]
    rct = STUDIES["bpd_rct"]
    values = copy.deepcopy(rct.design.values)
    values["specialised"]["therapists"] = "immediate_only"  # both arms usual care: the arms differ by chance only
    same_arms = replace(rct.design, values=values)
    assert rct.run(4, design=same_arms)["smd"] != rct.run(4)["smd"]


def test_unedited_copies_of_every_file_give_exactly_the_shipped_numbers(tmp_path: Path):
    copies = []
    for path in FOLDER.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text())
        copies.append(load_design(tmp_path / path.name))
    shipped = run_validation(replications=2, workers=1, seed=8)
    copied = run_validation(replications=2, workers=1, seed=8, designs=copies)
    assert list(copied["check"]) == list(shipped["check"])
    for a, b in zip(shipped["values"], copied["values"], strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert not copied.attrs["meta"]["subset"]
    assert all(not s["shipped"] and not s["changes"] for s in copied.attrs["meta"]["studies"])


def test_a_design_of_another_study_is_refused():
    with pytest.raises(DesignError, match="for study bpd_rct, not bpd_dropout"):
        STUDIES["bpd_dropout"].run(1, design=shipped_designs()["bpd_rct"])


def test_an_edited_design_reaches_the_worker_processes(tmp_path: Path):
    big = load_design(edited_copy(tmp_path, "severe_bpd_case", "n_patients = 1", "n_patients = 4"))
    one = simulate_studies(3, seed=4, workers=1, studies=("severe_bpd_case",), designs={big.name: big})
    two = simulate_studies(3, seed=4, workers=2, studies=("severe_bpd_case",), designs={big.name: big})
    shipped = simulate_studies(3, seed=4, workers=1, studies=("severe_bpd_case",))
    pd.testing.assert_frame_equal(one["severe_bpd_case"], two["severe_bpd_case"])
    assert not one["severe_bpd_case"].equals(shipped["severe_bpd_case"])


# --- malformed files ---------------------------------------------------------------------------------------

#: (study, line in the shipped file, replacement, words the message must contain)
MALFORMED = [
    ("bpd_dropout", "n_patients = 100", "n_patient = 100", ["[design]", "'n_patient'", "allowed keys", "n_patients"]),
    ("bpd_dropout", "n_patients = 100", 'n_patients = "100"', ["design.n_patients", "whole number", "'100'"]),
    ("bpd_dropout", "n_patients = 100", "n_patients = 100.5", ["design.n_patients", "whole number", "100.5"]),
    ("bpd_dropout", "n_patients = 100", "n_patients = 0", ["design.n_patients", "between 1 and"]),
    ("bpd_dropout", "n_patients = 100", "", ["missing the key n_patients", "it needs"]),
    ("bpd_dropout", 'therapists = "experienced"', 'therapists = "expert"', ["design.therapists", "novice"]),
    ("bpd_dropout", 'population = "adult_bpd"', 'population = "adults"', ["design.population", "adult_bpd"]),
    ("bpd_dropout", 'targets = ["T11"]', 'targets = ["T12"]', ["targets must be", "T11", "bpd_dropout"]),
    ("bpd_dropout", 'name = "bpd_dropout"', 'name = "bpd_drop"', ["name must be", "bpd_dropout", "bpd_rct"]),
    ("bpd_dropout", "min_patients = 5", "min_patients = 500", ["design.min_patients", "design.n_patients"]),
    ("bpd_dropout", "source =", "sources =", ["unknown key 'sources'", "source"]),
    ("bpd_rct", "[design.usual_care]", "[design.usual]", ["'usual'", "usual_care"]),
    ("bpd_rct", "n_sessions = 48", "n_sessions = [48]", ["design.n_sessions", "whole number"]),
    ("cisr_pd_vs_non_pd", "coded_sessions = [3, 4]", "coded_sessions = [3, 5]", ["design.coded_sessions", "4"]),
    ("cisr_pd_vs_non_pd", "coded_sessions = [3, 4]", "coded_sessions = 3", ["design.coded_sessions", "list"]),
    ("intensity_pd_vs_non_pd", "pd_share = 1.0", "pd_share = 1.5", ["design.pd_group.pd_share", "0 to 1"]),
    ("severe_bpd_case", "bpd_severity_mean = 0.9", "bpd_severity_mean = 1.9", ["bpd_severity_mean", "0 to 1"]),
    ("aft_multiple_baseline", "switch_sessions = [8, 16]", "switch_sessions = [16, 8]", ["design.switch_sessions"]),
    ("aft_multiple_baseline", "caseload = 3", "caseload = 0", ["design.caseload", "parameter 'caseload'"]),
    (
        "resolution_outcome_meta",
        'resolution_index = ["patient", "observer"]',
        'resolution_index = ["patient", "observr"]',
        ["design.resolution_index[1]", "patient, observer", "did you mean 'observer'"],
    ),
    ("training_meta", "study_sizes = [24, 32, 40, 48, 60, 72]", "study_sizes = [24]", ["design.study_sizes"]),
    ("bpd_dropout", "[design]", "[design", ["invalid TOML"]),
    ("dose_response_non_pd", "dose_sessions = [8, 26]", "dose_sessions = [26, 8]", ["design.dose_sessions"]),
    ("dose_response_non_pd", "dose_sessions = [8, 26]", "dose_sessions = [8, 60]", ["n_sessions = 52"]),
    ("pd_long_course", "mean_years = 1.3", "mean_years = 3.0", ["design.mean_years", "135 sessions"]),
    ("pd_long_course", "sessions_per_year = 45", "sessions_per_year = 100", ["design.sessions_per_year"]),
    ("bpd_dropout_by_quarter", "count_good_enough = true", "count_good_enough = 1", ["true or false"]),
    ("bpd_dropout_by_quarter", "n_parts = 4", "n_parts = 48", ["design.n_parts", "at most n_sessions - 1 = 47"]),
    ("cluster_profiles", "[design.cluster_c]", "[design.cluster_a]", ["'cluster_a'", "cluster_c"]),
]


@pytest.mark.parametrize(("study", "old", "new", "words"), MALFORMED)
def test_malformed_design_files_raise_a_clear_design_error(tmp_path: Path, study, old, new, words):
    path = edited_copy(tmp_path, study, old, new)
    with pytest.raises(DesignError) as info:
        load_design(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, (word, message)


def test_a_missing_or_binary_file_is_a_design_error(tmp_path: Path):
    with pytest.raises(DesignError, match="cannot read the design file"):
        load_design(tmp_path / "nothing.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DesignError, match="not UTF-8"):
        load_design(tmp_path / "binary.toml")


def test_a_shipped_folder_without_a_study_or_with_two_files_of_one_is_refused(tmp_path: Path, monkeypatch):
    for path in FOLDER.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(designs_module, "design_folder", lambda: tmp_path)
    load = designs_module.shipped_designs.__wrapped__  # without the cache
    assert list(load()) == list(SCHEMAS)
    (tmp_path / "T11_copy.toml").write_text(shipped_file("bpd_dropout").read_text())
    with pytest.raises(DesignError, match="study bpd_dropout has two design files"):
        load()
    (tmp_path / "T11_copy.toml").unlink()
    (tmp_path / "T12_bpd_rct.toml").unlink()
    with pytest.raises(DesignError, match="no design file for the study bpd_rct"):
        load()


# --- fuzzing: a malformed design never ends in a traceback ------------------------------------------------

WORDS = ["n_patients", "n_sessions", "min_patients", "therapists", "population", "design", "pd_group", "T11", "x"]
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-5, 60),
    st.integers(min_value=10**7),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["adult_bpd", "novice", "patient", "observer", "T6"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)),
    max_leaves=6,
)
DOCUMENTS = [tomllib.loads(path.read_text()) for path in sorted(FOLDER.glob("*.toml"))]


def _paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_designs(draw):
    doc = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["drop", "set", "rename"]))
        if operation == "drop":
            del parent[path[-1]]
        elif operation == "set":
            parent[path[-1]] = draw(VALUES)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS))] = parent.pop(path[-1])
    return doc


@settings(max_examples=300, deadline=None)
@given(mutated_designs())
def test_mutated_designs_parse_or_raise_a_one_line_design_error(doc):
    try:
        design = design_from_dict(doc, origin="fuzz.toml")
    except DesignError as err:
        assert str(err).startswith("fuzz.toml: ") and len(str(err).splitlines()) == 1, str(err)
        return
    assert isinstance(design, Design) and design.targets == study_targets(design.name)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.text(max_size=12))
def test_shipped_text_with_random_insertions_parses_or_raises_a_design_error(position, insert):
    text = shipped_file("bpd_rct").read_text()
    position %= len(text) + 1
    try:
        parse_design(text[:position] + insert + text[position:], origin="fuzz.toml")
    except DesignError as err:
        assert str(err).startswith("fuzz.toml: ") and len(str(err).splitlines()) == 1


# --- selecting targets -----------------------------------------------------------------------------------


def test_select_targets_reads_ids_loosely_and_rejects_unknown_ones():
    assert select_targets("T12, t07,") == ("T7", "T12")
    assert select_targets(["T6", "T06"]) == ("T6",)
    with pytest.raises(TargetError, match=r"Unknown target 'T21'; the valid ids are T1, T2, .*, T20\."):
        select_targets("T7,T21")
    with pytest.raises(TargetError, match="No target given"):
        select_targets(" , ")


def test_studies_for_targets():
    assert studies_for(["T6"]) == ("youth_bpd_two_arms", "bpd_recovered_vs_unrecovered")
    assert studies_for(["T2", "T12"]) == ("adolescent_bpd_3rs", "bpd_rct")


def test_run_validation_of_a_subset_has_only_its_rows():
    table = run_validation(replications=2, workers=1, targets=["T1", "T14"])
    assert set(table["target"]) == {"T1", "T14"}  # not T2, although its study ran for T1
    meta = table.attrs["meta"]
    assert meta["targets"] == ["T1", "T14"] and meta["subset"]
    assert [s["name"] for s in meta["studies"]] == ["adolescent_bpd_3rs", "severe_bpd_case"]
    assert all(s["shipped"] and not s["changes"] for s in meta["studies"])


def test_run_validation_with_a_design_runs_its_targets_on_the_same_seeds(tmp_path: Path):
    edited = load_design(edited_copy(tmp_path, "severe_bpd_case", "n_sessions = 15", "n_sessions = 5"))
    table = run_validation(replications=3, workers=1, designs=[edited])
    assert list(table["target"].unique()) == ["T14"]
    (study,) = table.attrs["meta"]["studies"]
    assert study["file"] == str(edited.path) and study["changes"] == ["n_sessions 15 -> 5"]
    shipped = run_validation(replications=3, workers=1, targets=["T14"])
    assert not np.array_equal(table["values"].iloc[0], shipped["values"].iloc[0], equal_nan=True)
    with pytest.raises(DesignError, match="which the selected targets \\(T7\\) do not use"):
        run_validation(replications=1, workers=1, targets=["T7"], designs=[edited])
    with pytest.raises(DesignError, match="are both designs of study severe_bpd_case"):
        run_validation(replications=1, workers=1, designs=[edited, shipped_designs()["severe_bpd_case"]])


# --- command line ----------------------------------------------------------------------------------------


def test_validate_only_t11_quick_through_the_installed_command(tmp_path: Path):
    out = tmp_path / "t11"
    assert ENTRY_POINT.exists(), f"console script missing at {ENTRY_POINT}"
    done = subprocess.run(
        [str(ENTRY_POINT), "validate", "--only", "T11", "--quick", "--workers", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Targets run: T11 only" in done.stdout
    results = pd.read_csv(out / "results.csv")
    assert list(results["target"]) == ["T11"] and results["replications"].iloc[0] == 100
    report = (out / "report.md").read_text()
    rows = re.findall(r"^\| (T\d+) \|", report, flags=re.M)
    assert rows and set(rows) == {"T11"}
    assert "Targets run: T11 only" in report and "--only T11" in report
    assert "T11_bpd_dropout.toml` (shipped)" in report and "**bpd_rct**" not in report
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["T11.png"]


def test_validate_with_an_edited_design(tmp_path: Path, capsys):
    design = edited_copy(tmp_path, "bpd_rct", "n_patients = 60", "n_patients = 90")  # the specialised arm
    out = tmp_path / "rct"
    argv = ["validate", "--design", str(design), "--replications", "3", "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    assert "Targets run: T12 only" in capsys.readouterr().out
    results = pd.read_csv(out / "results.csv")
    assert set(results["target"]) == {"T12"}
    report = (out / "report.md").read_text()
    assert f"Design file `{design}` (`--design`), which differs from the shipped design in: " in report
    assert "specialised.n_patients 60 -> 90" in report and f"--design {design}" in report


def test_a_subset_report_replaces_the_figures_of_an_earlier_report(tmp_path: Path):
    out = tmp_path / "validation"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "T3.png").write_bytes(b"old")
    (out / "figures" / "notes.png").write_bytes(b"mine")
    assert main(["validate", "--only", "T14", "--replications", "2", "--workers", "1", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["T14.png", "notes.png"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--only", "T7,T99"], ["--only: unknown target 'T99'", "T1, T2", "T14"]),
        (["--only", ","], ["--only: no target given"]),
        (["--design", "MISSING"], ["cannot read the design file"]),
        (["--design", "BAD"], ["[design] has unknown key 'n_patient'", "n_patients"]),
        (["--design", "GOOD", "--only", "T7"], ["design of study bpd_dropout (T11)", "(T7) do not use"]),
    ],
)
def test_validate_rejects_bad_selections_with_one_sentence_and_writes_nothing(tmp_path: Path, capsys, argv, words):
    good = edited_copy(tmp_path, "bpd_dropout", "n_patients = 100", "n_patients = 50")
    bad = tmp_path / "bad.toml"
    bad.write_text(shipped_file("bpd_dropout").read_text().replace("n_patients = 100", "n_patient = 100"))
    names = {"MISSING": str(tmp_path / "missing.toml"), "BAD": str(bad), "GOOD": str(good)}
    out = tmp_path / "out"
    argv = ["validate", *(names.get(a, a) for a in argv), "--replications", "1", "--workers", "1", "--out", str(out)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("rupture-sim: error: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists() and not captured.out


def test_validate_list_shows_every_study_and_its_design_file(capsys):
    assert main(["validate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]  # under the header
    assert len(lines) == len(STUDIES)
    for line, (name, study) in zip(lines, STUDIES.items(), strict=True):
        assert name in line and line.endswith(study.design.path) and line.startswith(study.targets[0])
