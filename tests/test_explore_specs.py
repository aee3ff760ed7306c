"""Bad input to the explore commands: one sentence naming the field, exit code 2, nothing written.

A property-based test (hypothesis) mutates valid specs of every command and
checks that each mutant is either accepted or rejected with a one-line
``ExploreSpecError`` that starts with the file; never a traceback.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.explore.compare import load_compare_spec
from simulation.explore.discover import load_discover_spec
from simulation.explore.sensitivity import load_sensitivity_spec
from simulation.explore.spec import ExploreSpecError
from simulation.explore.trial import load_trial_spec
from simulation.tools.cli import main

COMPARE = {
    "name": "c",
    "n_patients": 20,
    "n_sessions": 4,
    "replications": 3,
    "seed": 1,
    "baseline": "usual",
    "outcomes": ["symptom_change", "dropout"],
    "scenarios": {"usual": {}, "aft": {"therapists": "novice", "params": {"aft_start_session": 2}}},
}
TRIAL = {
    "name": "t",
    "kind": "two_arm",
    "n_sessions": 10,
    "caseload": 4,
    "sizes": [16, 32],
    "trials": 10,
    "outcome": "symptom_change",
    "coded_sessions": [2, 4],
    "arms": {"control": {}, "aft": {"params": {"aft_start_session": 1}}},
}
SENSITIVITY = {
    "name": "s",
    "n_patients": 10,
    "n_sessions": 4,
    "replications": 2,
    "outcomes": ["symptom_change"],
    "morris_trajectories": 2,
    "sobol_samples": 8,
    "oat_steps": 3,
    "factors": {"noticing": {"low": 0.1, "high": 0.7}, "skill_mean": {"low": 0.3, "high": 0.9}},
}
#: command, its loader, a valid spec
COMMANDS = [
    ("compare", load_compare_spec, COMPARE),
    ("trial", load_trial_spec, TRIAL),
    ("sensitivity", load_sensitivity_spec, SENSITIVITY),
]
DISCOVER = {"name": "d", "data": "no/such/folder", "failure": "dropout"}
WORDS = [
    "name",
    "scenarios",
    "params",
    "baseline",
    "usual",
    "aft",
    "outcomes",
    "population",
    "therapists",
    "n_patients",
    "replications",
    "aft_start_session",
    "noticing",
    "novice",
    "dropout",
    "sizes",
    "trials",
]
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-10, 300),
    st.integers(min_value=10**7),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(WORDS),
)
KEYS = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=8))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(doc: dict) -> str:
    return "\n".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in doc.items()) + "\n"


def paths(node: object, prefix: tuple = ()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from paths(child, (*prefix, key))


@st.composite
def mutated(draw, base: dict) -> dict:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(doc))))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["drop", "set", "add"]))
        if operation == "drop" and path:
            del parent[path[-1]]
        elif operation == "set" and path:
            parent[path[-1]] = draw(VALUES)
        else:
            target = parent[path[-1]] if path else doc
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(VALUES)
    return doc


@pytest.mark.parametrize(("command", "loader", "base"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_the_valid_example_parses(command: str, loader, base: dict, tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(to_toml(base))
    assert loader(path).name == base["name"]


@pytest.mark.parametrize(("command", "loader", "base"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_mutated_specs_parse_or_raise_one_sentence(command: str, loader, base: dict, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.toml"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(base))
    def check(doc: dict) -> None:
        path.write_text(to_toml(doc))
        try:
            loader(path)
        except ExploreSpecError as err:
            message = str(err)
            assert message.startswith(f"{path}: ") and len(message.splitlines()) == 1, message

    check()


BAD = [
    ("compare", {**COMPARE, "baseline": "nobody"}, "baseline must be one of usual, aft"),
    ("compare", {**COMPARE, "scenarios": {"usual": {}}}, "[scenarios] must hold at least 2"),
    ("compare", {**COMPARE, "replications": 2}, "replications must be a whole number between 3"),
    ("compare", {**COMPARE, "scenarios": {"usual": {}, "x": {"params": {"noticng": 1}}}}, "noticing"),
    ("compare", {**COMPARE, "scenarios": {"usual": {}, "x": {"params": {"noticing": 3}}}}, "[scenarios.x]"),
    ("compare", {**COMPARE, "outcomes": ["happiness"]}, "outcomes[0] must be one of"),
    ("compare", {**COMPARE, "colour": 1}, "unknown key 'colour'"),
    ("compare", {**COMPARE, "contrasts": [["usual", "usual"]]}, "contrasts[0] compares 'usual' with itself"),
    ("compare", {**COMPARE, "contrasts": [["usual", "x"]]}, "contrasts[0][1] must be one of usual, aft"),
    ("compare", {**COMPARE, "contrasts": "usual"}, "contrasts must be a list of [reference, alternative] pairs"),
    ("trial", {**TRIAL, "sizes": [8, 32]}, "sizes[0] = 8 is too small"),
    ("trial", {**TRIAL, "sizes": [32, 16]}, "sizes must be in increasing order"),
    ("trial", {**TRIAL, "coded_sessions": [2, 40]}, "coded_sessions[1] must be a whole number between 1 and 10"),
    ("trial", {**TRIAL, "kind": "correlation"}, "a correlation trial needs exactly 1 [arms] table"),
    ("trial", {**TRIAL, "kind": "cohort"}, "kind must be one of correlation, two_arm"),
    ("trial", {**TRIAL, "outcome": "happiness"}, "outcome must be one of"),
    ("trial", {**TRIAL, "alpha": 0.9}, "alpha must be a number from"),
    ("discover", DISCOVER, "data: no/such/folder is not a sweep folder"),
    ("discover", {**DISCOVER, "data": 3}, "data must be the folder of a sweep or sensitivity run"),
    (
        "sensitivity",
        {**SENSITIVITY, "sobol_samples": 200},
        "sobol_samples must be a power of 2 for Sobol indices, e.g. 128 or 256",
    ),
    ("sensitivity", {**SENSITIVITY, "factors": {"noticing": {"low": 0.1, "high": 0.7}}}, "at least 2 lines"),
    (
        "sensitivity",
        {**SENSITIVITY, "factors": {"noticing": {"low": 0.5, "high": 0.2}, "skill_mean": {"low": 0, "high": 1}}},
        "factors.noticing must have low < high",
    ),
    (
        "sensitivity",
        {**SENSITIVITY, "factors": {"noticing": {"low": 0.1, "high": 7}, "skill_mean": {"low": 0, "high": 1}}},
        "factors.noticing.high must be a number from 0 to 1",
    ),
    (
        "sensitivity",
        {**SENSITIVITY, "factors": {"noticng": {"low": 0.1, "high": 0.7}, "skill_mean": {"low": 0, "high": 1}}},
        "unknown parameter 'noticng'",
    ),
]


@pytest.mark.parametrize(("command", "doc", "words"), BAD, ids=[f"{c}-{w[:20]}" for c, _, w in BAD])
def test_bad_specs_exit_2_with_one_sentence_and_write_nothing(command, doc, words, tmp_path: Path, capsys) -> None:
    spec, out = tmp_path / "bad.toml", tmp_path / "out"
    spec.write_text(to_toml(doc))
    assert main([command, str(spec), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err, err
    assert not out.exists()


def test_discover_checks_failure_and_inputs_against_the_dataset(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"varied": ["noticing"], "chunks": {}}))
    cases = [
        ({"failure": "happiness"}, "failure must be one of dropout, no_reliable_change"),
        ({"inputs": ["noticng"]}, "inputs[0] must be one of noticing, pd_severity"),
        ({"above": 0.2}, "above and below are for sensitivity runs"),
    ]
    for extra, words in cases:
        spec = tmp_path / "d.toml"
        spec.write_text(to_toml({"name": "d", "data": str(data), **extra}))
        assert main(["discover", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
        assert not (tmp_path / "out").exists()


EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SHIPPED = sorted(
    p for p in [*EXPERIMENTS.glob("explore/*.toml"), *EXPERIMENTS.glob("hypotheses/*.toml")] if "discover" not in p.name
)
LOADERS = {"compare": load_compare_spec, "trial": load_trial_spec, "sensitivity": load_sensitivity_spec}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_explore_spec_parses(path: Path) -> None:
    kind = "compare" if path.parent.name == "hypotheses" else path.stem.split("_")[0]
    assert LOADERS[kind](path).name == path.stem


def test_mutated_discover_specs_parse_or_raise_one_sentence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"varied": ["noticing", "skill_mean"], "chunks": {}}))
    base = {
        "name": "d",
        "data": str(data),
        "failure": "dropout",
        "inputs": ["noticing", "pd_severity"],
        "n_boxes": 2,
        "peel_alpha": 0.05,
        "resamples": 5,
        "max_rows": 1000,
        "seed": 1,
    }
    path = tmp_path / "fuzz.toml"
    path.write_text(to_toml(base))
    assert load_discover_spec(path).failure == "dropout"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(base))
    def check(doc: dict) -> None:
        path.write_text(to_toml(doc))
        try:
            load_discover_spec(path)
        except ExploreSpecError as err:
            message = str(err)
            assert message.startswith(f"{path}: ") and len(message.splitlines()) == 1, message

    check()
