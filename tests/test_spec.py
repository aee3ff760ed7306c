"""Experiment specs of parameter sweeps: parsing, rejection of bad specs, design points, seeds, fingerprints."""

import copy
import dataclasses
import hashlib
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import qmc

from simulation.model.parameters import PARAMETERS, SPECS, Parameters
from simulation.model.presets import POPULATIONS
from simulation.sweep.spec import (
    MAX_RUNS,
    SpecError,
    SweepSpec,
    Vary,
    design_points,
    dyad_sessions,
    load_spec,
    n_points,
    n_runs,
    parse_spec,
    point_parameters,
    run_seed,
)

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def spec(body: str, name: str = "t") -> SweepSpec:
    """Parse a spec with a name line put in front of ``body``."""
    return parse_spec(f'name = "{name}"\n{body}')


def error(body: str, name: str = "t") -> str:
    with pytest.raises(SpecError) as info:
        spec(body, name)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    return message


# --- the example specs --------------------------------------------------------------------


#: Example specs of the other commands (compare, trial, sensitivity, discover) name their command in the
#: header comment ("# rupture-sim compare experiments/..."); their own tests load them.
OTHER_COMMAND = re.compile(r"^#.*rupture-sim (compare|trial|sensitivity|discover) ", re.MULTILINE)


def test_every_example_spec_parses():
    files = [f for f in sorted(EXPERIMENTS.glob("*.toml")) if not OTHER_COMMAND.search(f.read_text())]
    assert {f.stem for f in files} >= {"quick", "skill_x_severity", "aft_lhs", "discover_sweep"}
    for path in files:
        s = load_spec(path)
        assert s.name == path.stem
        assert s.source == path.read_text()
        assert len(design_points(s)) == n_points(s)


def test_skill_x_severity_example_is_the_documented_grid():
    s = load_spec(EXPERIMENTS / "skill_x_severity.toml")
    assert (s.population, s.therapists, s.design, s.samples) == ("adult_bpd", "experienced", "grid", None)
    assert (s.n_patients, s.n_sessions, s.replications, s.seed, s.chunk_replications) == (200, 30, 10, 2026, 5)
    assert s.tables == ("patients", "sessions")
    assert s.constants == {"noticing": 0.4}
    assert s.vary == {
        "skill_mean": Vary(values=(0.4, 0.6, 0.8)),
        "bpd_severity_mean": Vary(low=0.4, high=0.9, steps=3),
    }
    points = design_points(s)
    assert list(points.columns) == ["skill_mean", "bpd_severity_mean"]
    assert list(points["bpd_severity_mean"][:3]) == [0.4, 0.65, 0.9]  # interior value rounded, not 0.6500000000000001
    assert (n_points(s), n_runs(s), dyad_sessions(s)) == (9, 90, 90 * 200 * 30)


def test_quick_and_lhs_examples_have_the_intended_size():
    quick = load_spec(EXPERIMENTS / "quick.toml")
    assert (n_points(quick), quick.replications, quick.n_patients, quick.n_sessions) == (4, 3, 20, 8)
    assert quick.tables == ("patients", "sessions", "events")
    lhs = load_spec(EXPERIMENTS / "aft_lhs.toml")
    assert (lhs.design, lhs.samples) == ("lhs", 16)
    assert list(lhs.vary) == ["noticing", "reactivity", "exploratory_preference"]
    assert len(design_points(lhs)) == 16


def test_defaults_of_a_minimal_spec():
    s = spec("")
    assert (s.description, s.population, s.therapists) == ("", "mixed", "experienced")
    assert (s.design, s.samples) == ("grid", None)
    assert (s.n_patients, s.n_sessions, s.replications, s.seed, s.chunk_replications) == (120, 30, 1, 0, 1)
    assert s.tables == ("patients",) and s.constants == {} and s.vary == {}
    points = design_points(s)
    assert points.shape == (1, 0) and points.index.name == "point"
    assert point_parameters(s, points.iloc[0]) == Parameters()
    assert spec("replications = 25").chunk_replications == 10


def test_tables_always_hold_patients_in_a_fixed_order():
    assert spec('tables = ["events", "sessions"]').tables == ("patients", "sessions", "events")
    assert spec("tables = []").tables == ("patients",)
    assert spec('tables = ["sessions", "sessions"]').tables == ("patients", "sessions")


def test_numbers_are_normalised_so_equal_specs_compare_equal():
    a = spec("[constants]\nnoticing = 1\ncaseload = 4.0\n[vary]\nskill_mean = [1, 0.5]")
    b = spec(
        "# same spec, other formatting\n[constants]\ncaseload = 4\nnoticing = 1.0\n[vary]\nskill_mean = [1.0, 0.5]"
    )
    assert a.constants == {"noticing": 1.0, "caseload": 4}
    assert isinstance(a.constants["noticing"], float) and isinstance(a.constants["caseload"], int)
    assert a == b and hash(a) == hash(b) and a.fingerprint() == b.fingerprint()
    json.dumps(a.to_dict(), allow_nan=False)


# --- rejections ---------------------------------------------------------------------------

REJECTIONS = [
    # (body after the name line, fragments the message must contain)
    ("replications = \n", ["invalid TOML", "line 2"]),
    ("replicatons = 3", ["unknown key 'replicatons'", "did you mean 'replications'", "allowed keys are name,"]),
    ('[design]\ntype = "lhs"\nsample = 4', ["[design] has unknown key 'sample'", "allowed keys are type, samples"]),
    (
        "[vary]\nnoticing = { low = 0.1, high = 0.5, stpes = 3 }",
        ["vary.noticing has unknown key 'stpes'", "did you mean 'steps'", "values, low, high, steps"],
    ),
    ('replications = "ten"', ["replications must be a whole number between 1 and 1000000", "got 'ten'"]),
    ("replications = 10.0", ["replications must be a whole number", "without a decimal point"]),
    ("n_patients = true", ["n_patients must be a whole number between 1 and 100000000", "got true"]),
    ("n_sessions = 1001", ["n_sessions must be a whole number between 1 and 1000"]),
    ("seed = -1", ["seed must be a whole number between 0 and"]),
    ("replications = 4\nchunk_replications = 5", ["chunk_replications must be a whole number between 1 and 4"]),
    ("[constants]\nnoticing = true", ["constants.noticing must be a number from 0 to 1", "got true"]),
    ('[constants]\nnoticing = "0.4"', ["constants.noticing must be a number from 0 to 1"]),
    ("[constants]\nnoticing = nan", ["constants.noticing must be a number from 0 to 1", "got nan"]),
    ("[constants]\nnoticing = 1.5", ["constants.noticing: 1.5 is outside the allowed range", "'noticing' (0 to 1)"]),
    ("[constants]\nnoticing = 100000000000000000000000000000", ["outside the allowed range of parameter 'noticing'"]),
    ("[constants]\ncaseload = 2.5", ["constants.caseload must be a whole number for the integer parameter"]),
    ("[constants]\nnoticng = 0.3", ["In [constants]: unknown parameter 'noticng'", "did you mean 'noticing'?"]),
    ("[vary]\nskil_mean = [0.2, 0.4]", ["In [vary]: unknown parameter 'skil_mean'", "did you mean 'skill_mean'?"]),
    (
        "[constants]\nnoticing = 0.4\n[vary]\nnoticing = [0.2, 0.3]",
        ["'noticing' is both in [constants] and in [vary]"],
    ),
    ("[vary]\nnoticing = []", ["vary.noticing must be a non-empty list of numbers"]),
    ("[vary]\nnoticing = [0.2, 0.2]", ["vary.noticing lists the value 0.2 more than once"]),
    ("[vary]\nskill_mean = [0.5, 1.2]", ["vary.skill_mean: 1.2 is outside the allowed range", "(0 to 1)"]),
    ("[vary]\nskill_mean = [0.5, false]", ["vary.skill_mean must be a number from 0 to 1", "got false"]),
    ("[vary]\nnoticing = 0.4", ["vary.noticing must be a list of values or a range", "single value in [constants]"]),
    ("[vary]\nnoticing = { low = 0.5, high = 0.5, steps = 2 }", ["vary.noticing must have low < high"]),
    ("[vary]\nnoticing = { low = 0.6, high = 0.2, steps = 2 }", ["low < high (got low = 0.6, high = 0.2)"]),
    ("[vary]\nnoticing = { low = 0.2, high = 1.5, steps = 2 }", ["vary.noticing.high: 1.5 is outside", "(0 to 1)"]),
    ("[vary]\nnoticing = { low = 0.2, steps = 2 }", ["vary.noticing needs values = [...] or both low and high"]),
    ("[vary]\nnoticing = { low = 0.2, high = 0.4 }", ["vary.noticing.steps is required for a range in a grid"]),
    (
        "[vary]\nnoticing = { low = 0.2, high = 0.4, steps = 1 }",
        ["vary.noticing.steps must be a whole number of at least 2"],
    ),
    ("[vary]\nnoticing = { values = [0.2], low = 0.1 }", ["either values or a range"]),
    ("[vary]\ncaseload = { low = 2, high = 4, steps = 4 }", ["vary.caseload.steps may be at most 3"]),
    ("[vary]\ncaseload = { low = 2.5, high = 4, steps = 2 }", ["vary.caseload.low must be a whole number"]),
    ('population = "adults"', ["population must be one of mixed, adult_bpd,", "got 'adults'"]),
    ('therapists = "expert"', ["therapists must be one of experienced, novice,"]),
    ('tables = ["patients", "therapists"]', ["tables may only contain patients, sessions, events", "'therapists'"]),
    ('tables = "sessions"', ["tables must be a list"]),
    ('[design]\ntype = "random"', ["design.type must be one of grid, lhs, sobol", "got 'random'"]),
    ('design = "grid"', ["design must be a table"]),
    ("[design]\nsamples = 8", ["design.samples is only used by lhs and sobol designs"]),
    ('[design]\ntype = "lhs"\n[vary]\nnoticing = { low = 0.1, high = 0.5 }', ["design.samples is required for a lhs"]),
    ('[design]\ntype = "sobol"\nsamples = 12\n[vary]\nnoticing = { low = 0.1, high = 0.5 }', ["power of 2", "8 or 16"]),
    ('[design]\ntype = "lhs"\nsamples = 4', ["A lhs design needs at least one range in [vary]"]),
    (
        '[design]\ntype = "lhs"\nsamples = 4\n[vary]\nnoticing = [0.1, 0.5]',
        ["vary.noticing must be a range", "not from a list of values"],
    ),
    (
        '[design]\ntype = "sobol"\nsamples = 4\n[vary]\nnoticing = { low = 0.1, high = 0.5, steps = 3 }',
        ["vary.noticing.steps is only used by grid designs"],
    ),
    ("[constants]\nshare_bpd = 0.5", ["The constants give invalid parameters", "population 'mixed'", "sum to 1"]),
    (
        'population = "adult_bpd"\n[vary]\nnoticing = [0.3, 0.4]\nshare_bpd = [1.0, 0.5]',
        ["Design point 1 (noticing=0.3, share_bpd=0.5) gives invalid parameters", "population 'adult_bpd'", "sum to 1"],
    ),
    (
        "replications = 500001\n[vary]\nnoticing = [0.3, 0.4]",
        ["2 points and 500,001 replications, 1,000,002 runs in all", "limit of 1,000,000"],
    ),
    (
        "[vary]\nnoticing = { low = 0.1, high = 0.5, steps = 100000000000 }",
        ["100,000,000,000 runs in all, more than the limit"],
    ),
]


@pytest.mark.parametrize(("body", "fragments"), REJECTIONS, ids=[str(i) for i in range(len(REJECTIONS))])
def test_bad_specs_are_rejected_with_one_sentence_naming_the_field(body, fragments):
    message = error(body)
    assert message.startswith("spec: ")
    for fragment in fragments:
        assert fragment in message


def test_spec_without_a_name_or_with_a_bad_name_is_rejected():
    with pytest.raises(SpecError, match="name is required"):
        parse_spec("replications = 3")
    for bad in ["a b", "", "x/y", "é", "a" * 101]:
        assert "name must be 1 to 100 letters, digits, '_' or '-'" in error("", name=bad)
    assert spec("", name="Run-2_b").name == "Run-2_b"


def test_messages_start_with_the_origin_and_load_spec_reports_unreadable_files(tmp_path):
    with pytest.raises(SpecError, match=r"^my\.toml: invalid TOML: .*\(at line 1, column \d+\)\.$"):
        parse_spec("name = \nseed = 1", origin="my.toml")
    with pytest.raises(SpecError, match=r"missing\.toml: cannot read the spec file"):
        load_spec(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="cannot read the spec file"):
        load_spec(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'name = "x"\n\xff\xfe')
    with pytest.raises(SpecError, match=r"binary\.toml: the spec file is not UTF-8 text"):
        load_spec(binary)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbfname = "bom"\r\nseed = 3\r\n')
    assert load_spec(bom).seed == 3
    with pytest.raises(SpecError, match="could not be read"):
        parse_spec("x = " + "[" * 10_000)


def test_unknown_parameter_names_with_control_characters_give_one_line():
    message = error('[constants]\n"noti\\ncing" = 0.3')
    assert "unknown parameter 'noti\\ncing'" in message


def test_replace_checks_again():
    s = load_spec(EXPERIMENTS / "quick.toml")
    with pytest.raises(SpecError, match="replications must be"):
        dataclasses.replace(s, replications=0)
    with pytest.raises(SpecError, match="chunk_replications must be a whole number between 1 and 1"):
        dataclasses.replace(s, replications=1)
    assert dataclasses.replace(s, replications=1, chunk_replications=None).chunk_replications == 1


# --- design points ------------------------------------------------------------------------


def test_grid_is_the_full_factorial_in_file_order_with_the_last_parameter_fastest():
    s = spec("[vary]\nnoticing = [0.1, 0.2]\ncaseload = { low = 2, high = 6, steps = 3 }\nskill_mean = [0.5, 0.7]")
    points = design_points(s)
    assert list(points.columns) == ["noticing", "caseload", "skill_mean"]
    assert points.index.name == "point" and list(points.index) == list(range(12))
    expected = list(itertools.product([0.1, 0.2], [2, 4, 6], [0.5, 0.7]))
    assert list(points.itertuples(index=False, name=None)) == expected
    assert points["caseload"].dtype == np.int64 and points["noticing"].dtype == np.float64
    assert (n_points(s), n_runs(s)) == (12, 12)


def test_integer_grid_ranges_are_rounded():
    s = spec("[vary]\ncaseload = { low = 1, high = 8, steps = 4 }")
    assert list(design_points(s)["caseload"]) == [1, 3, 6, 8]


def lhs_text(design: str, samples: int) -> str:
    return (
        f'[design]\ntype = "{design}"\nsamples = {samples}\n'
        + "[vary]\nnoticing = { low = 0.2, high = 0.6 }\ncaseload = { low = 2, high = 5 }\n"
        + "reactivity = { low = 0.05, high = 0.1 }"
    )


@pytest.mark.parametrize(("design", "samples"), [("lhs", 40), ("sobol", 64)])
def test_lhs_and_sobol_points_lie_in_the_ranges_and_are_deterministic(design, samples):
    s = spec(f"seed = 5\n{lhs_text(design, samples)}")
    points = design_points(s)
    assert len(points) == samples == n_points(s) and points.index.name == "point"
    assert points["noticing"].between(0.2, 0.6).all() and points["reactivity"].between(0.05, 0.1).all()
    assert points["caseload"].dtype == np.int64 and set(points["caseload"]) == {2, 3, 4, 5}
    pd.testing.assert_frame_equal(points, design_points(spec(f"seed = 5\n{lhs_text(design, samples)}")))
    assert not points.equals(design_points(spec(f"seed = 6\n{lhs_text(design, samples)}")))


def test_lhs_points_are_the_documented_scipy_sample():
    s = spec(f"seed = 5\n{lhs_text('lhs', 10)}")
    unit = qmc.LatinHypercube(3, seed=5).random(10)
    points = design_points(s)
    np.testing.assert_allclose(points["noticing"], 0.2 + 0.4 * unit[:, 0])
    np.testing.assert_array_equal(points["caseload"], np.floor(2 + 4 * unit[:, 1]))
    # a Latin hypercube: one point in each tenth of every float range
    assert sorted(np.floor((points["noticing"] - 0.2) / 0.04).astype(int)) == list(range(10))


def test_sobol_points_are_the_documented_scipy_sample():
    s = spec(f"seed = 9\n{lhs_text('sobol', 16)}")
    unit = qmc.Sobol(3, scramble=True, seed=9).random_base2(4)
    np.testing.assert_allclose(design_points(s)["reactivity"], 0.05 + 0.05 * unit[:, 2])


def test_point_parameters_put_the_point_over_constants_and_presets():
    s = spec(
        'population = "adult_bpd"\ntherapists = "novice"\n[constants]\nskill_mean = 0.7\n[vary]\ncaseload = [3, 9]'
    )
    row = design_points(s).iloc[1]
    p = point_parameters(s, row)
    assert p["caseload"] == 9 and p["skill_mean"] == 0.7 and p["share_bpd"] == 1.0 and p["noticing"] == 0.25
    assert point_parameters(s, {"caseload": 3, "other": "ignored"})["caseload"] == 3
    with pytest.raises(SpecError, match="no value for the varied parameter 'caseload'"):
        point_parameters(s, {"noticing": 0.3})
    with pytest.raises(SpecError, match="whole number"):
        point_parameters(s, {"caseload": 2.5})


# --- seeds and fingerprints ---------------------------------------------------------------


def test_run_seed_depends_only_on_the_seed_and_the_replication():
    a = spec("seed = 42\nreplications = 5\n[vary]\nnoticing = [0.2, 0.4]")
    b = spec("seed = 42\nreplications = 9\nn_patients = 7\n[constants]\nskill_mean = 0.3", name="other")
    seeds = [run_seed(a, r) for r in range(5)]
    assert seeds == [run_seed(b, r) for r in range(5)]
    assert len(set(seeds)) == 5 and all(0 <= x < 2**63 for x in seeds)
    assert seeds[0] == int.from_bytes(hashlib.sha256(b"42:0").digest()[:8], "big") >> 1
    assert run_seed(spec("seed = 43\nreplications = 5"), 0) != seeds[0]
    for bad in [-1, 5, 1.0, True]:
        with pytest.raises(SpecError, match="replication must be a whole number between 0 and 4"):
            run_seed(a, bad)


def test_fingerprint_ignores_description_chunking_and_formatting_but_nothing_else():
    base = load_spec(EXPERIMENTS / "skill_x_severity.toml")
    same = [
        dataclasses.replace(base, description="other words"),
        dataclasses.replace(base, chunk_replications=1),
        parse_spec(base.source.replace("\n", "\n\n").replace("[0.4, 0.6, 0.8]", "[0.40, 0.6, 8e-1]")),
    ]
    for s in same:
        assert s.fingerprint() == base.fingerprint()
    vary_swapped = {k: base.vary[k] for k in reversed(base.vary)}
    lhs_vary = {"skill_mean": {"low": 0.4, "high": 0.8}}
    different = [
        dataclasses.replace(base, name="other"),
        dataclasses.replace(base, population="mixed"),
        dataclasses.replace(base, therapists="novice"),
        dataclasses.replace(base, n_patients=201),
        dataclasses.replace(base, n_sessions=31),
        dataclasses.replace(base, replications=11),
        dataclasses.replace(base, seed=2027),
        dataclasses.replace(base, tables=("patients",)),
        dataclasses.replace(base, constants={"noticing": 0.41}),
        dataclasses.replace(base, constants={}),
        dataclasses.replace(base, vary={**base.vary, "skill_mean": [0.4, 0.6, 0.9]}),
        dataclasses.replace(base, vary=vary_swapped),
        dataclasses.replace(base, design="lhs", samples=8, vary=lhs_vary),
        dataclasses.replace(base, design="lhs", samples=16, vary=lhs_vary),
        dataclasses.replace(base, design="sobol", samples=8, vary=lhs_vary),
    ]
    prints = {s.fingerprint() for s in different}
    assert len(prints) == len(different) and base.fingerprint() not in prints
    assert re.fullmatch(r"[0-9a-f]{64}", base.fingerprint())


def test_to_dict_mirrors_the_toml_layout():
    s = load_spec(EXPERIMENTS / "aft_lhs.toml")
    d = s.to_dict()
    assert d["design"] == {"type": "lhs", "samples": 16}
    assert d["vary"]["noticing"] == {"low": 0.15, "high": 0.6}
    assert parse_spec(to_toml(d)) == s
    quick = load_spec(EXPERIMENTS / "quick.toml")
    assert parse_spec(to_toml(json.loads(json.dumps(quick.to_dict())))) == quick


# --- property-based: malformed specs never crash the parser -------------------------------


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if value is None:  # not TOML: makes an invalid document, which must be rejected cleanly too
        return "None"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(doc: dict) -> str:
    """A TOML document: top-level values first, then each top-level table as a [section]."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_key(key)}]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


GRID = {
    "name": "g",
    "description": "valid start",
    "population": "adult_bpd",
    "therapists": "novice",
    "n_patients": 20,
    "n_sessions": 8,
    "replications": 3,
    "seed": 1,
    "tables": ["patients", "sessions"],
    "chunk_replications": 2,
    "design": {"type": "grid"},
    "constants": {"noticing": 0.4, "caseload": 5},
    "vary": {"skill_mean": [0.4, 0.8], "bpd_severity_mean": {"low": 0.4, "high": 0.9, "steps": 3}},
}
LHS = {
    "name": "l",
    "replications": 2,
    "design": {"type": "lhs", "samples": 8},
    "vary": {"noticing": {"low": 0.1, "high": 0.7}, "max_stall_segments": {"low": 1, "high": 6}},
}
SOBOL = {**LHS, "name": "s", "design": {"type": "sobol", "samples": 8}}
BASES = [GRID, LHS, SOBOL, {"name": "minimal"}]
assert all(isinstance(parse_spec(to_toml(doc)), SweepSpec) for doc in BASES)

WORDS = [
    *GRID,
    "type",
    "samples",
    "values",
    "low",
    "high",
    "steps",
    "grid",
    "lhs",
    "sobol",
    "events",
    "therapists",
    "noticng",
    "share_bpd",
    *POPULATIONS,
    *(p.name for p in PARAMETERS[:12]),
]
SMALL_INTS = st.integers(-10, 300)  # large designs are slow to check, so counts stay small ...
HUGE_INTS = st.one_of(st.integers(min_value=10**7), st.integers(max_value=-(10**7)))  # ... or far too large
SCALARS = st.one_of(
    st.booleans(),
    SMALL_INTS,
    HUGE_INTS,
    st.floats(),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, -0.5, 2.0**63, 1e300, 2.5]),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
KEYS = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=10), st.just(""))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)


def paths(node, prefix=()):
    """Paths to every container and value in a document."""
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from paths(child, (*prefix, key))


def at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated_documents(draw):
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(paths(doc))))
        operation = draw(st.sampled_from(["drop", "set", "add", "rename"]))
        parent = at(doc, path[:-1]) if path else None
        if operation == "drop" and path:
            del parent[path[-1]]
        elif operation == "set" and path:
            parent[path[-1]] = draw(VALUES)
        elif operation == "rename" and path and isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(path[-1])
        else:
            target = at(doc, path)
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(VALUES)
            elif isinstance(target, list):
                target.append(draw(VALUES))
    return doc


def check_parses_or_rejects_cleanly(text: str) -> None:
    try:
        result = parse_spec(text, origin="fuzz.toml")
    except SpecError as err:
        message = str(err)
        assert message.startswith("fuzz.toml: ") and len(message.splitlines()) == 1, message
        return
    assert isinstance(result, SweepSpec)
    assert len(design_points(result)) == n_points(result) and n_runs(result) <= MAX_RUNS
    assert all(SPECS[k].low <= v <= SPECS[k].high for k, v in result.constants.items())
    result.fingerprint()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_mutated_specs_parse_or_raise_a_one_line_spec_error(doc):
    check_parses_or_rejects_cleanly(to_toml(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_parses_or_raises_a_one_line_spec_error(text):
    check_parses_or_rejects_cleanly(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.text(max_size=20))
def test_valid_text_with_random_insertions_parses_or_raises_a_one_line_spec_error(position, insert):
    text = to_toml(GRID)
    position %= len(text) + 1
    check_parses_or_rejects_cleanly(text[:position] + insert + text[position:])
