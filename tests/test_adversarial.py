"""The adversarial suite: malformed input of every kind, damaged folders, and signals.

Property-based generators (hypothesis, derandomized so every CI run sees the same
cases) throw malformed command lines, API calls, sweep specs, design files and
folder damage at the tool; together more than 1,000 inputs per run. Each must
end with the documented exit code (2 and one sentence for bad input), no
traceback, and nothing left that looks complete; after damage, a resume must
give exactly the files of an uninterrupted run, or refuse in one sentence.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.api import simulate
from simulation.model.parameters import SPECS, ParameterError
from simulation.model.presets import POPULATIONS, THERAPISTS
from simulation.sweep.spec import TOP_LEVEL_KEYS
from simulation.sweep.store import JOURNAL, StoreError, read_manifest, verify
from simulation.tools.cli import main
from simulation.validation.designs import design_folder

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
TABLES = ("patients", "trajectories", "sessions", "events")
TINY = """
name = "tiny"
population = "mixed"
n_patients = 4
n_sessions = 3
replications = 2
seed = 5
tables = ["patients", "sessions", "events"]
chunk_replications = 1
[vary]
noticing = [0.2, 0.6]
"""
FUZZ = settings(
    deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``rupture-sim ARGV`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_one_sentence(code: int, err: str, expected: int = 2) -> None:
    assert code == expected, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rupture-sim: error: "), err


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file of every table of a sweep folder (the dataset, byte for byte)."""
    return {
        f"{t}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for t in TABLES
        for p in sorted((folder / t).glob("*"))
        if (folder / t).is_dir()
    }


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with a file, a finished tiny sweep (``ref``) and its spec."""
    root = tmp_path_factory.mktemp("arena")
    (root / "afile").write_text("not a folder\n")
    (root / "tiny.toml").write_text(TINY)
    shutil.copy(next(ROOT.glob("experiments/**/compare_*.toml")), root / "compare.toml")
    with inside(root):
        code, _, err = run_cli(
            ["sweep", "tiny.toml", "--out", "ref", "--backend", "inprocess", "--quiet", "--no-plots"]
        )
    assert code == 0, err
    assert verify(root / "ref") == []
    return root


def snapshot(folder: Path) -> dict[str, int | None]:
    """Every entry under ``folder``, with the modification time of files (folders: None)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns if p.is_file() else None for p in folder.rglob("*")}


# --- command lines -------------------------------------------------------------------------------

WHOLE_BAD = ["-1", "", "abc", "1.5", "1e3", "nan", "inf", "9" * 25, "1" + "0" * 400, "1" + "0" * 5000, "0x10", " "]
COUNT_BAD = ["0", *WHOLE_BAD]
SEED_BAD = [*WHOLE_BAD, str(2**63), str(2**64)]
PATH_BAD = ["afile", "afile/sub", ".", "", "..", "/", "/proc/nope/x", "x" * 300, "a\x00b"]
REAL_BAD = ["nan", "0", "-1", "inf", "-inf", "abc", "1e9", ""]
HUGE = "1" + "0" * 400
SET_BAD = [
    "noticing=2",
    "noticing",
    "=1",
    "nope=1",
    "noticing=nan",
    "noticing=inf",
    f"caseload={HUGE}",
    "noticing=1" + "0" * 5000,
    "caseload=0.5",
    "noticing=",
    "noticing==1",
    "noticng=0.5",
]
BASE = {
    "simulate": ["--patients", "3", "--sessions", "2", "--out", "sim_out"],
    "run": ["--patients", "3", "--sessions", "2", "--out", "run_out", "--quiet"],
    "sweep": ["tiny.toml", "--out", "sweep_out", "--quiet", "--no-plots", "--backend", "inprocess"],
    "verify": [],
    "plot": ["ref"],
    "validate": ["--quick", "--out", "val_out"],
    "calibrate": ["--trials", "1", "--out", "cal_out"],
    "bench": ["--no-sweep", "--no-memory", "--quiet"],
    "docs": [],
    "compare": ["compare.toml", "--out", "cmp_out", "--quiet"],
}
BAD_OPTIONS: dict[str, dict[str, list[str]]] = {
    "simulate": {
        "--patients": COUNT_BAD,
        "--sessions": [*COUNT_BAD, "1001"],
        "--seed": SEED_BAD,
        "--population": ["nope", "", "MIXED", "mixed "],
        "--therapists": ["guru", "", " "],
        "--set": SET_BAD,
        "--out": PATH_BAD,
    },
    "run": {
        "--name": ["", "../x", ".x", "a/b", "a" * 101, " "],
        "--patients": COUNT_BAD,
        "--sessions": COUNT_BAD,
        "--seed": SEED_BAD,
        "--out": ["afile", "afile/sub", "", "/proc/nope/x"],  # the parent of the study folder: "." is fine
        "--publish-figures": PATH_BAD,
    },
    "sweep": {
        "": ["nope.toml", "afile", "/proc/nope.toml"],
        "--workers": COUNT_BAD,
        "--chunk-replications": [*COUNT_BAD, "3"],
        "--backend": ["nope", "", "Dask"],
        "--scheduler": ["foo", "tcp://", "tcp://127.0.0.1:0", "::::", "tcp://127.0.0.1:99999"],
        "--out": PATH_BAD,
    },
    "verify": {"": ["nope", "afile", "", "/proc/nope"]},
    "plot": {
        "--x": ["nope", "", "seed"],
        "--y": ["nope", "noticing"],
        "--cells": ["a", "99", "-1", "", "1,,2", "0;1", "1.5"],
    },
    "validate": {
        "--only": ["T99", "", "x", ",", "T0"],
        "--workers": COUNT_BAD,
        "--seed": SEED_BAD,
        "--replications": COUNT_BAD,
        "--design": ["nope.toml", "afile", "tiny.toml"],
        "--out": PATH_BAD,
        "--set": SET_BAD,
    },
    "calibrate": {
        "--trials": COUNT_BAD,
        "--seed": [*WHOLE_BAD, str(2**31 + 1)],
        "--replications": COUNT_BAD,
        "--workers": COUNT_BAD,
        "--timeout": REAL_BAD,
        "--size-factor": REAL_BAD,
        "--out": [*PATH_BAD, "ref"],
    },
    "bench": {
        "--seed": SEED_BAD,
        "--sessions": [*COUNT_BAD, "100000"],
        "--patients": COUNT_BAD,
        "--repeats": COUNT_BAD,
        "--sweep-seconds": REAL_BAD,
        "--json": ["afile/x.json", "/proc/nope/x.json", "ref"],
    },
    "docs": {"--out": PATH_BAD},
    "compare": {"": ["nope.toml", "afile", "tiny.toml"], "--out": PATH_BAD},
}
UNKNOWN_FLAGS = ["--bogus", "--frob=3", "--outt", "--overwrite-everything"]


@st.composite
def bad_command_lines(draw: st.DrawFn) -> tuple[list[str], str | None]:
    """A command line with exactly one mistake (and the unknown flag, if that is the mistake)."""
    command = draw(st.sampled_from(sorted(BAD_OPTIONS)))
    argv = [command, *BASE[command]]
    if draw(st.integers(0, 9)) == 0:
        flag = draw(st.sampled_from(UNKNOWN_FLAGS))
        spot = draw(st.integers(1, len(argv)))
        return [*argv[:spot], flag, *argv[spot:]], flag.split("=")[0]
    option = draw(st.sampled_from(sorted(BAD_OPTIONS[command])))
    value = draw(st.sampled_from(BAD_OPTIONS[command][option]))
    if option == "":
        return [*argv, value] if command == "verify" else [command, value, *argv[2:]], None
    if option == "--y":
        argv += ["--x", "noticing"]
    joined = draw(st.booleans()) and not value.startswith("-")
    return [*argv, f"{option}={value}"] if joined else [*argv, option, value], None


@settings(FUZZ, max_examples=450)
@given(bad_command_lines())
def test_a_bad_command_line_is_one_sentence_with_exit_2_and_writes_nothing(arena, case):
    argv, unknown = case
    before = snapshot(arena)
    with inside(arena):
        code, _, err = run_cli(argv)
    assert_one_sentence(code, err)
    if unknown:
        assert unknown in err
    assert snapshot(arena) == before


def test_an_unknown_flag_is_named_even_when_a_required_argument_is_missing():
    code, _, err = run_cli(["simulate", "--frobnicate"])
    assert_one_sentence(code, err)
    assert "--frobnicate" in err


# --- API calls -----------------------------------------------------------------------------------

NOT_A_NAME = st.text(max_size=8).filter(lambda t: t not in SPECS)
JUNK = st.one_of(st.none(), st.booleans(), st.floats(), st.integers(-(10**400), 10**400), st.text(max_size=5))
BAD_VALUES = st.one_of(
    st.floats(min_value=1.0001, allow_infinity=True),
    st.floats(max_value=-0.0001, allow_infinity=True),
    st.just(float("nan")),
    st.integers(2, 10**400),
    st.integers(-(10**400), -1),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.floats(0, 1), max_size=2),
)
BAD_MAPPING = st.one_of(
    st.dictionaries(st.one_of(st.integers(), st.none(), st.floats(), NOT_A_NAME), JUNK, min_size=1, max_size=2),
    st.fixed_dictionaries({"noticing": BAD_VALUES}),
)
NOT_AN_ID = st.one_of(
    st.floats(allow_nan=True).filter(lambda f: f != int(f) if f == f and abs(f) != float("inf") else True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.integers(max_value=-1),
    st.integers(min_value=2**63, max_value=10**400),
)
BAD_CALLS = st.one_of(
    st.fixed_dictionaries({"population": st.one_of(JUNK.filter(lambda v: v not in POPULATIONS), BAD_MAPPING)}),
    st.fixed_dictionaries({"therapists": st.one_of(JUNK.filter(lambda v: v not in THERAPISTS), BAD_MAPPING)}),
    st.fixed_dictionaries({"params": st.one_of(BAD_MAPPING, st.text(), st.integers(), st.lists(st.integers()))}),
    st.fixed_dictionaries({"n_patients": st.one_of(st.integers(max_value=0), st.integers(10**8 + 1), JUNK)}),
    st.fixed_dictionaries({"n_sessions": st.one_of(st.integers(max_value=0), st.integers(1001), JUNK)}),
    st.fixed_dictionaries({"seed": st.one_of(st.integers(max_value=-1), st.integers(2**63), JUNK)}),
    st.fixed_dictionaries({"engine": JUNK.filter(lambda v: v not in ("cohort", "agents"))}),
    st.fixed_dictionaries({"events": st.one_of(st.none(), st.integers(), st.text(max_size=3), st.floats())}),
    st.fixed_dictionaries(
        {
            "patient_ids": st.one_of(
                st.lists(st.integers(0, 50), max_size=3).flatmap(
                    lambda ids: st.builds(lambda bad, at: [*ids[:at], bad, *ids[at:]], NOT_AN_ID, st.integers(0, 3))
                ),
                st.lists(st.integers(0, 5), min_size=2, max_size=4).filter(lambda ids: len(set(ids)) < len(ids)),
                st.just([]),
                st.text(max_size=3),
                st.integers(),
                st.dictionaries(st.integers(0, 3), st.integers(0, 3), max_size=2),
            )
        }
    ),
)


@settings(FUZZ, max_examples=300)
@given(BAD_CALLS)
def test_a_bad_api_call_raises_parameter_error_and_nothing_else(bad):
    with pytest.raises(ParameterError) as info:
        simulate(**{"n_patients": 3, "n_sessions": 2, **bad})
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"params": {1: 0.5}},
        {"params": "noticing=0.5"},
        {"population": None},
        {"patient_ids": ["a"]},
        {"patient_ids": [1.5, 2.5]},
        {"patient_ids": [True, False]},
        {"params": {"caseload": 10**400}},
    ],
)
def test_reproduction_6_wrong_types_and_huge_integers_are_parameter_errors(bad):
    with pytest.raises(ParameterError):
        simulate(**{"n_patients": 3, "n_sessions": 2, **bad})


@pytest.mark.parametrize("value", [HUGE, "1" + "0" * 5000])
def test_reproduction_6_huge_integers_on_the_command_line(tmp_path, value):
    code, _, err = run_cli(["simulate", "--set", f"caseload={value}", "--out", str(tmp_path / "x")])
    assert_one_sentence(code, err)
    assert "caseload" in err and not (tmp_path / "x").exists()


# --- sweep specs and design files ----------------------------------------------------------------


def _toml_text(draw: st.DrawFn, allowed: Callable[[str], bool]) -> str:
    """A TOML string that ``allowed`` refuses."""
    return json.dumps(draw(st.text(max_size=12).filter(lambda t: not allowed(t))))


def _big(low: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=low, max_value=10**400).map(str)


#: For each top-level key, TOML values no spec may give it.
BAD_SPEC_VALUES: dict[str, Callable[[st.DrawFn], str]] = {
    "name": lambda d: _toml_text(d, lambda t: re.fullmatch(r"[A-Za-z0-9_-]{1,100}", t) is not None),
    "population": lambda d: _toml_text(d, lambda t: t in POPULATIONS),
    "therapists": lambda d: _toml_text(d, lambda t: t in THERAPISTS),
    "n_patients": lambda d: d(st.one_of(st.integers(max_value=0).map(str), _big(10**8 + 1))),
    "n_sessions": lambda d: d(st.one_of(st.integers(max_value=0).map(str), _big(1001))),
    "replications": lambda d: d(st.one_of(st.integers(max_value=0).map(str), _big(10**6 + 1))),
    "seed": lambda d: d(st.one_of(st.integers(max_value=-1).map(str), _big(2**63))),
    "chunk_replications": lambda d: d(st.one_of(st.integers(max_value=0).map(str), _big(3))),
    "tables": lambda d: json.dumps(
        [d(st.text(max_size=8).filter(lambda t: t not in ("patients", "sessions", "events")))]
    ),
}
WRONG_KIND = ["{ a = 1 }", "true", "1.5", "nan", "inf", "[1, 2]", '"many"', "1979-05-27"]


@st.composite
def bad_specs(draw: st.DrawFn) -> str:
    """The tiny spec with one mistake that no spec may have."""
    kind = draw(st.sampled_from(["value", "kind", "unknown", "vary", "design"]))
    if kind in ("value", "kind"):
        key = draw(st.sampled_from(sorted(BAD_SPEC_VALUES)))
        wrong = [w for w in WRONG_KIND if (key, w) not in (("name", '"many"'), ("tables", "[1, 2]"))]
        value = BAD_SPEC_VALUES[key](draw) if kind == "value" else draw(st.sampled_from(wrong))
        lines = [line for line in TINY.splitlines() if not line.startswith(f"{key} =")]
        return "\n".join([f"{key} = {value}", *lines])
    if kind == "unknown":
        key = draw(st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(lambda k: k not in TOP_LEVEL_KEYS))
        return f"{key} = 1\n{TINY}"
    if kind == "design":
        table = draw(st.sampled_from(['type = "nope"', "samples = 4", 'type = "lhs"', "type = 3", "colour = 1"]))
        return TINY.replace("[vary]", f"[design]\n{table}\n[vary]")
    inside = st.floats(0, 1, allow_subnormal=False)
    outside = st.one_of(st.floats(min_value=1.001, max_value=1e300), st.floats(max_value=-0.001, min_value=-1e300))
    entry = draw(
        st.one_of(
            st.builds(lambda good, bad: f"noticing = {[*good, bad]}", st.lists(inside, max_size=3), outside),
            st.builds(
                lambda low, high: f"noticing = {{ low = {max(low, high)}, high = {min(low, high)}, steps = 2 }}",
                inside,
                inside,
            ),
            st.from_regex(r"notic[a-z]{1,4}", fullmatch=True)
            .filter(lambda n: n not in SPECS)
            .map(lambda n: f"{n} = [0.2, 0.6]"),
            st.sampled_from(
                [
                    "noticing = []",
                    "noticing = [0.2, 0.2]",
                    "noticing = { low = 0.2 }",
                    "noticing = 0.5",
                    'noticing = ["a"]',
                    "noticing = [true, false]",
                ]
            ),
        )
    )
    return TINY.replace("noticing = [0.2, 0.6]", entry)


@settings(FUZZ, max_examples=150)
@given(bad_specs())
def test_a_bad_spec_is_one_sentence_and_creates_no_folder(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("spec")
    (folder / "bad.toml").write_text(text)
    code, _, err = run_cli(["sweep", str(folder / "bad.toml"), "--out", str(folder / "out"), "--quiet"])
    assert_one_sentence(code, err)
    assert not (folder / "out").exists()


@settings(FUZZ, max_examples=60)
@given(st.integers(0, len(TINY)), st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=6))
def test_a_garbled_spec_runs_completely_or_is_refused_without_a_folder(tmp_path_factory, position, insert):
    folder = tmp_path_factory.mktemp("garbled")
    (folder / "g.toml").write_text(TINY[:position] + insert + TINY[position:])
    argv = ["sweep", str(folder / "g.toml"), "--out", str(folder / "out"), "--quiet", "--no-plots", "--backend"]
    code, _, err = run_cli([*argv, "inprocess"])
    if code == 0:
        assert verify(folder / "out") == []
    else:
        assert_one_sentence(code, err)
        assert not (folder / "out").exists()


DESIGNS = sorted(p.name for p in design_folder().iterdir() if p.name.endswith(".toml"))


BAD_LEAVES = ["{ bogus = 1 }", '"x!"', "true"]


@st.composite
def bad_design_files(draw: st.DrawFn) -> str:
    """A shipped design file with one mistake: a bad leaf value, an unknown key, a bad name, broken TOML."""
    text = design_folder().joinpath(draw(st.sampled_from(DESIGNS))).read_text()
    kind = draw(st.sampled_from(["leaf", "unknown", "name", "targets", "toml"]))
    if kind == "unknown":
        return f"colour = 1\n{text}"
    if kind == "name":
        return re.sub(r'(?m)^name = ".*"$', 'name = "nope"', text)
    if kind == "targets":
        return re.sub(r"(?m)^targets = .*$", 'targets = ["T99"]', text)
    if kind == "toml":
        return text + '\nbroken = "unterminated\n'
    lines = text.splitlines()
    start = lines.index("[design]")
    leaves = [i for i in range(start + 1, len(lines)) if re.match(r"\s*\w+\s*=", lines[i])]
    at = draw(st.sampled_from(leaves))
    key, current = (part.split("#")[0].strip() for part in lines[at].split("=", 1))
    # ``true`` is a mistake everywhere but in a flag (``count_good_enough``), where it is a valid value
    value = draw(st.sampled_from([v for v in BAD_LEAVES if not (v == "true" and current in ("true", "false"))]))
    lines[at] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=120)
@given(bad_design_files())
def test_a_bad_design_file_is_one_sentence_before_anything_runs(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("design")
    (folder / "d.toml").write_text(text)
    code, _, err = run_cli(["validate", "--quick", "--design", str(folder / "d.toml"), "--out", str(folder / "v")])
    assert_one_sentence(code, err)
    assert not (folder / "v").exists()


# --- folder damage -------------------------------------------------------------------------------


def _shards(folder: Path, table: str = "patients") -> list[Path]:
    return sorted((folder / table).glob("part-*.parquet"))


def _edit_manifest(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


BAD_MANIFESTS = ["{}", "[]", "", "{", "null", '{"chunks": 1}']
DAMAGE: dict[str, Callable[[Path, int], None]] = {
    "truncated shard": lambda f, n: _shards(f)[n % 4].write_bytes(_shards(f)[n % 4].read_bytes()[: n % 300]),
    "empty shard": lambda f, n: _shards(f, TABLES[n % 4])[n % 4].write_bytes(b""),
    "byte-flipped shard": lambda f, n: _flip(_shards(f, TABLES[n % 4])[n % 4], n * 7919),
    "deleted shard": lambda f, n: _shards(f, TABLES[n % 4])[n % 4].unlink(),
    "swapped shards": lambda f, n: _swap(_shards(f)[n % 4], _shards(f)[(n + 1) % 4]),
    "shard copied over another": lambda f, n: shutil.copy(_shards(f)[n % 4], _shards(f)[(n + 2) % 4]),
    "stray part file": lambda f, n: shutil.copy(_shards(f)[0], f / "patients" / f"part-{9_000_000 + n}.parquet"),
    "stray notes.txt": lambda f, n: (f / TABLES[n % 4] / "notes.txt").write_text("mine"),
    "stray .bak": lambda f, n: shutil.copy(_shards(f)[0], f / "patients" / "part-0000000.parquet.bak"),
    "hidden tmp shard": lambda f, n: (f / "events" / f".part-0000001.parquet.{n}.tmp").write_bytes(b"PAR1"),
    "deleted table folder": lambda f, n: shutil.rmtree(f / TABLES[n % 4]),
    "table folder replaced by a file": lambda f, n: (shutil.rmtree(f / "sessions"), (f / "sessions").write_text("x")),
    "record with missing fields": lambda f, n: _edit_manifest(
        f, lambda m: m["chunks"][str(n % 4)].pop(["tables", "point", "replications"][n % 3])
    ),
    "record with a wrong checksum": lambda f, n: _edit_manifest(
        f, lambda m: m["chunks"][str(n % 4)]["tables"]["patients"].update(sha256="0" * 64)
    ),
    "record of an unplanned chunk": lambda f, n: _edit_manifest(f, lambda m: m["chunks"].update({"99": {"x": 1}})),
    "record with values of the wrong type": lambda f, n: _edit_manifest(
        f, lambda m: m["chunks"][str(n % 4)]["tables"]["patients"].update(file=[1], rows="x", bytes=None)
    ),
    "edited spec.toml": lambda f, n: (f / "spec.toml").write_text(["", "junk = [", TINY.replace("4", "5")][n % 3]),
    "truncated design.parquet": lambda f, n: (f / "design.parquet").write_bytes(
        (f / "design.parquet").read_bytes()[: n % 200]
    ),
    "deleted design.parquet": lambda f, n: (f / "design.parquet").unlink(),
    "malformed manifest": lambda f, n: (f / "manifest.json").write_text(
        ["{}", "[]", "", "{", "null", '{"chunks": 1}'][n % 6]
    ),
    "deleted manifest": lambda f, n: (f / "manifest.json").unlink(),
    "garbage journal": lambda f, n: (f / JOURNAL).write_bytes(b'{"chunk": 1, "tables": 3}\n\x00\xff{"chunk"'),
    "stale derived staging": lambda f, n: (f / ".derived-abc").mkdir(),
}


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _resume(folder: Path, arena: Path) -> tuple[int, str]:
    code, _, err = run_cli(
        ["sweep", str(arena / "tiny.toml"), "--out", str(folder), "--backend", "inprocess", "--quiet", "--no-plots"]
    )
    return code, err


def _check_repaired_or_refused(folder: Path, arena: Path) -> None:
    """After damage: verify never crashes; a resume gives the uninterrupted files, or refuses in one sentence."""
    with contextlib.suppress(StoreError):
        assert isinstance(verify(folder), list)
    code, err = _resume(folder, arena)
    if code == 0:
        assert verify(folder) == []
        assert fingerprint(folder) == fingerprint(arena / "ref")
        assert "Traceback" not in err
    else:
        assert_one_sentence(code, err)
        with pytest.raises(StoreError):
            if verify(folder) != []:
                raise StoreError("not complete")


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_every_kind_of_damage_is_listed_by_verify_and_repaired_by_a_resume(arena, tmp_path, kind):
    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    DAMAGE[kind](folder, 1)
    if kind not in ("stale derived staging",):
        problems = _verify_lines(folder)
        assert problems, f"verify missed: {kind}"
    code, err = _resume(folder, arena)
    assert code == 0, err
    assert verify(folder) == []
    assert fingerprint(folder) == fingerprint(arena / "ref")
    assert not list(folder.glob(".derived-*"))


def _verify_lines(folder: Path) -> list[str]:
    code, out, err = run_cli(["verify", str(folder)])
    assert code in (1, 2) and "Traceback" not in err
    return (out + err).strip().splitlines()


@settings(FUZZ, max_examples=80)
@given(st.lists(st.tuples(st.sampled_from(sorted(DAMAGE)), st.integers(0, 10**6)), min_size=1, max_size=3))
def test_any_combination_of_damage_is_repaired_or_refused(arena, tmp_path_factory, damage):
    folder = tmp_path_factory.mktemp("damage") / "out"
    shutil.copytree(arena / "ref", folder)
    for kind, n in damage:
        with contextlib.suppress(IndexError, KeyError, ValueError, OSError, ZeroDivisionError):
            DAMAGE[kind](folder, n)
    _check_repaired_or_refused(folder, arena)


def _json_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from _json_paths(child, (*prefix, key))


JSON_JUNK = st.sampled_from([None, 1, -1, 1.5, "x", [], {}, [1], {"a": 1}, True, 10**30, "0" * 64, "../x"])


@settings(FUZZ, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 10**6), JSON_JUNK, st.booleans()), min_size=1, max_size=3))
def test_a_manifest_with_any_field_replaced_is_verified_and_repaired_or_refused(arena, tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("manifest") / "out"
    shutil.copytree(arena / "ref", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for at, junk, delete in edits:
        paths = [p for p in _json_paths(manifest) if p]
        *parents, last = paths[at % len(paths)]
        node = manifest
        for key in parents:
            node = node[key]
        if delete and isinstance(node, dict):
            del node[last]
        else:
            node[last] = junk
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _check_repaired_or_refused(folder, arena)


def test_both_manifest_and_spec_destroyed_is_a_refusal_not_a_guess(arena, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    (folder / "manifest.json").write_text("{}")
    (folder / "spec.toml").write_text("")
    code, err = _resume(folder, arena)
    assert_one_sentence(code, err)
    assert "cannot be trusted" in err
    assert _verify_lines(folder)


# --- the numbered reproductions of the issue -----------------------------------------------------


def test_reproduction_1_resume_redoes_a_shard_copied_over_another_and_redraws_from_good_data(arena, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    shutil.copy(_shards(folder)[1], _shards(folder)[3])
    code, _, err = run_cli(["sweep", str(arena / "tiny.toml"), "--out", str(folder), "--backend", "inprocess"])
    assert code == 0 and "will be redone" in err
    assert fingerprint(folder) == fingerprint(arena / "ref")
    manifest = read_manifest(folder)
    assert manifest["complete"] and {"runs.parquet", "summary.md"} <= set(manifest["derived"])
    assert verify(folder) == []


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("truncated shard", "wrong size"),
        ("empty shard", "wrong size"),
        ("stray notes.txt", "not in the manifest"),
        ("deleted design.parquet", "design.parquet is missing"),
        ("malformed manifest", "manifest.json"),
        ("hidden tmp shard", ".tmp is not in the manifest"),
    ],
)
def test_reproduction_2_verify_lists_what_it_exists_to_find(arena, tmp_path, kind, needle):
    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    DAMAGE[kind](folder, 0)
    code, out, err = run_cli(["verify", str(folder)])
    assert code == 1 and "Traceback" not in err
    assert needle in out


@pytest.mark.parametrize("command", ["simulate", "sweep", "sweep-dry", "run"])
@pytest.mark.parametrize("path", ["afile", "afile/below", "/proc/nope/out", ".", ""])
def test_reproduction_3_unusable_output_paths_are_one_sentence_before_any_work(arena, command, path):
    argv = {
        "simulate": ["simulate", "--patients", "2", "--sessions", "2", "--overwrite", "--out", path],
        "sweep": ["sweep", "tiny.toml", "--out", path, "--quiet"],
        "sweep-dry": ["sweep", "tiny.toml", "--out", path, "--dry-run"],
        "run": ["run", "--patients", "2", "--sessions", "2", "--overwrite", "--quiet", "--out", path],
    }[command]
    before = snapshot(arena)
    with inside(arena):
        code, _, err = run_cli(argv)
    if command == "run" and path in (".", ""):  # run writes <out>/<name>: "." is a fine parent ("" is not)
        assert code == 0 if path == "." else code == 2
        shutil.rmtree(arena / "default", ignore_errors=True)
        return
    assert_one_sentence(code, err)
    assert "--out" in err
    assert snapshot(arena) == before


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found |= {int(child), *_descendants(int(child))}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pids: set[int]) -> set[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if _alive(p)}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_reproduction_4_a_terminated_or_killed_sweep_leaves_no_orphaned_worker(tmp_path, sig):
    spec = TINY.replace("n_patients = 4", "n_patients = 1500").replace("replications = 2", "replications = 400")
    (tmp_path / "long.toml").write_text(spec.replace("n_sessions = 3", "n_sessions = 30"))
    folder = tmp_path / "out"
    argv = [str(BIN / "rupture-sim"), "sweep", str(tmp_path / "long.toml"), "--out", str(folder), "--workers", "2"]
    proc = subprocess.Popen([*argv, "--quiet", "--no-plots"], stderr=subprocess.PIPE, text=True)
    workers: set[int] = set()
    while proc.poll() is None and not (_recorded(folder) and len(workers) >= 2):
        workers |= _descendants(proc.pid)
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    workers |= _descendants(proc.pid)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (143 if sig == signal.SIGTERM else -signal.SIGKILL), err
    assert "Traceback" not in err
    assert _wait_gone(workers) == set()
    problems = verify(folder)
    assert any(p.startswith("incomplete") for p in problems)


def _recorded(folder: Path) -> int:
    try:
        return len(read_manifest(folder)["chunks"])
    except StoreError:
        return 0


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--x", "nope", "'nope' is not a varied parameter"),
        ("--y", "noticing", "different"),
        ("--cells", "99", "cells must be"),
        ("--cells", "a", "--cells"),
    ],
)
def test_reproduction_5_plot_mistakes_are_sentences(arena, option, value, needle):
    argv = ["plot", str(arena / "ref"), option, value]
    if option == "--y":
        argv += ["--x", "noticing"]
    code, _, err = run_cli(argv)
    assert_one_sentence(code, err)
    assert needle in err


def test_reproduction_7_a_chunk_costs_one_journal_line_not_a_manifest_rewrite(arena, tmp_path, monkeypatch):
    from simulation.sweep import runner, store

    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    next(iter(_shards(folder, "events"))).unlink()  # chunk 0 must be redone
    writes: list[Path] = []
    real = store.write_json_atomic
    monkeypatch.setattr(store, "write_json_atomic", lambda path, data: (writes.append(path), real(path, data)))
    code, err = _resume(folder, arena)
    assert code == 0, err
    assert len(writes) <= 3  # at the start, at the end, and when marked complete: not once per chunk
    assert fingerprint(folder) == fingerprint(arena / "ref")
    # the dry run counts the journal's chunks
    manifest = read_manifest(folder)
    line = json.dumps(manifest["chunks"]["0"])
    del manifest["chunks"]["0"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / JOURNAL).write_text(line + "\n")
    code, out, _ = run_cli(["sweep", str(arena / "tiny.toml"), "--out", str(folder), "--dry-run"])
    assert code == 0 and "(4 already finished" in out
    monkeypatch.setattr(runner, "MAX_CHUNKS", 3)
    code, _, err = run_cli(["sweep", str(arena / "tiny.toml"), "--out", str(tmp_path / "big"), "--dry-run"])
    assert_one_sentence(code, err)
    assert "more than the limit of 3" in err


def test_reproduction_8_stale_staging_folders_are_removed_or_restored(tmp_path):
    from simulation.outputs import clean_stale, exchange, staging_folder, write_marker

    target = tmp_path / "res"
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (tmp_path / f".res.partial-{dead}-abc").mkdir()
    old = tmp_path / f".res.old-{dead}-xyz"
    (old / "res").mkdir(parents=True)
    (old / "res" / "kept.txt").write_text("the old result")
    clean_stale(target)
    assert (target / "kept.txt").read_text() == "the old result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    write_marker(target, "simulate")
    with staging_folder(target, overwrite=True, kind="simulate") as stage:
        (stage / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [".rupture-sim", "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir(), (a / "x").write_text("a")
    if exchange(a, b):
        assert (b / "x").read_text() == "a" and not (a / "x").exists()


def test_reproduction_9_overwrite_replaces_only_folders_this_tool_wrote(tmp_path):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    argv = ["simulate", "--patients", "2", "--sessions", "2", "--out", str(thesis)]
    code, _, err = run_cli([*argv, "--overwrite"])
    assert_one_sentence(code, err)
    assert "--overwrite-any" in err and "1 files" in err
    assert (thesis / "chapter1.tex").exists()
    assert run_cli([*argv, "--overwrite-any"])[0] == 0
    assert not (thesis / "chapter1.tex").exists()
    assert run_cli([*argv, "--overwrite"])[0] == 0  # now it is ours


def test_reproduction_10_smaller_ones(arena, tmp_path, monkeypatch):
    from simulation.sweep import runner

    monkeypatch.setattr(runner, "SCHEDULER_WAIT", 0.0)
    out = tmp_path / "x"
    code, _, err = run_cli(
        ["sweep", str(arena / "tiny.toml"), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1", "--out", str(out)]
    )
    assert_one_sentence(code, err)
    assert "does not answer" in err and not out.exists()
    for argv in (
        ["calibrate", "--size-factor", "nan"],
        ["calibrate", "--size-factor", "0"],
        ["calibrate", "--size-factor", "1e9"],
        ["calibrate", "--timeout", "nan"],
        ["bench", "--seed", str(2**64)],
        ["bench", "--sessions", "100000"],
        ["calibrate", "--out", str(arena / "ref")],
    ):
        assert_one_sentence(*run_cli(argv)[::2])


def test_the_manifest_says_complete_only_after_the_derived_files(arena, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    shutil.copytree(arena / "ref", folder)
    _edit_manifest(folder, lambda m: m.update(complete=False))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device", "summary.md")

    monkeypatch.setattr("simulation.sweep.plots.plot_sweep", broken)
    argv = ["sweep", str(arena / "tiny.toml"), "--out", str(folder), "--backend", "inprocess", "--quiet"]
    code, _, err = run_cli(argv)
    assert_one_sentence(code, err)
    assert "No space left" in err
    assert not read_manifest(folder)["complete"]
    assert not (folder / "summary.md").exists() and not list(folder.glob(".derived-*"))
    assert any("runs.parquet, summary.md and figures were not recorded" in p for p in verify(folder))


def test_a_killed_run_leaves_no_partial_folder_and_the_next_run_cleans_older_ones(tmp_path):
    """A run killed mid-way leaves a hidden staging folder of a dead process; the next start removes it."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from simulation.outputs import staging_folder\n"
        "with staging_folder(Path(sys.argv[1]), overwrite=False, kind='simulate') as stage:\n"
        "    (stage / 'half.parquet').write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "res")], check=False)
    # the dead run left its staging folder and its (stale) lock file; the next run takes both over
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == [".res.lock", ".res.partial"]
    code, _, err = run_cli(["simulate", "--patients", "2", "--sessions", "2", "--out", str(tmp_path / "res")])
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


@pytest.mark.parametrize(
    ("file", "old", "new", "needle"),
    [
        ("T06b_bpd_recovered_vs_unrecovered.toml", "n_cases = 3", "n_cases = 4", "n_cases"),
        ("T08_training_meta.toml", "min_study_size = 4", "min_study_size = 1", "min_study_size"),
        ("T09_aft_multiple_baseline.toml", "min_therapists = 2", "min_therapists = 1", "min_therapists"),
        ("T04_cisr_pd_vs_non_pd.toml", "pd_share = 1.0", "pd_share = 0.0", "pd_share"),
    ],
)
def test_reproduction_10_degenerate_designs_are_refused(tmp_path, file, old, new, needle):
    from simulation.validation.designs import DesignError, load_design

    text = design_folder().joinpath(file).read_text()
    assert old in text
    (tmp_path / file).write_text(text.replace(old, new, 1))
    with pytest.raises(DesignError, match=needle):
        load_design(tmp_path / file)


def test_reproduction_10_a_range_whose_values_round_to_one_is_refused():
    from simulation.sweep.spec import SpecError, parse_spec

    with pytest.raises(SpecError, match="repeated values"):
        parse_spec(TINY.replace("noticing = [0.2, 0.6]", "noticing = { low = 0.1, high = 0.1000000000001, steps = 3 }"))


# --- issue 23: explore specs, spec files that never end, the app, signals, symlinks --------------------------------


@pytest.fixture(scope="module")
def explore_arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with the finished tiny sweep that the discover cases analyse (``data``)."""
    from tests.explore_mutations import DATASET

    root = tmp_path_factory.mktemp("explore_arena")
    (root / "data.toml").write_text(DATASET)
    with inside(root):
        code, _, err = run_cli(["sweep", "data.toml", "--out", "data", "--backend", "inprocess", "--quiet"])
    assert code == 0, err
    return root


def _explore_cases() -> list[Any]:
    from tests.explore_mutations import CASES

    return [pytest.param(*case[1:], id=case[0]) for case in CASES]


def test_explore_spec_mutations_are_all_different():
    # Two cases with one text would test one spec twice and share a folder in the arena.
    from tests.explore_mutations import CASES

    texts = [case[2] for case in CASES]
    assert len(set(texts)) == len(texts), [case[0] for case in CASES if texts.count(case[2]) > 1]


@pytest.mark.parametrize(("command", "text", "needle"), _explore_cases())
def test_explore_spec_mutations_run_or_are_one_sentence_never_a_traceback(explore_arena, command, text, needle):
    folder = explore_arena / f"case-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    folder.mkdir()
    (folder / "spec.toml").write_text(text)
    with inside(explore_arena):
        code, _, err = run_cli([command, str(folder / "spec.toml"), "--out", str(folder / "out"), "--quiet"])
    if needle is None:
        assert code == 0, err
        assert run_cli(["verify", str(folder / "out")])[0] == 0
    else:
        assert_one_sentence(code, err)
        assert needle in err
        assert not (folder / "out").exists()


def test_a_large_design_runs_with_allow_large_after_its_estimate(tmp_path, monkeypatch):
    from simulation.explore import spec as explore_spec
    from tests.explore_mutations import COMPARE

    monkeypatch.setattr(explore_spec, "LARGE_SECONDS", 0.0)  # every design is "large"
    monkeypatch.setattr(explore_spec, "ANNOUNCE_SECONDS", 0.0)
    (tmp_path / "c.toml").write_text(COMPARE)
    argv = ["compare", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"), "--quiet"]
    code, _, err = run_cli(argv)
    assert_one_sentence(code, err)
    assert "about" in err and "--allow-large" in err and not (tmp_path / "out").exists()
    code, _, err = run_cli([*argv, "--allow-large"])
    assert code == 0 and "compare: 9 runs, up to 108 dyad-sessions" in err


SPEC_COMMANDS = {
    "compare": lambda path: ["compare", path, "--out", "never"],
    "sweep --dry-run": lambda path: ["sweep", path, "--dry-run", "--out", "never"],
    "calibrate --start": lambda path: ["calibrate", "--start", path, "--trials", "1", "--out", "never"],
    "sensitivity": lambda path: ["sensitivity", path, "--out", "never"],
    "validate --design": lambda path: ["validate", "--design", path, "--out", "never"],
}


SPEC_KINDS = ("fifo", "/dev/zero", "folder", "huge")
#: Runs every (command, kind) case of the test below in one process, as the installed `rupture-sim` script does
#: (``sys.exit(main())``), each with its own working directory and its stderr (fd 2) in a file of its own; after
#: each case it records the exit code and stderr. A case still running after 120 s records a hang and ends the
#: process (``os._exit``: ``main`` turns an OSError such as TimeoutError into a sentence, which would hide it).
SPEC_DRIVER = """
import json, os, signal, sys
from pathlib import Path
from simulation.tools.cli import main
cases, results_file = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
results = {}
def record():
    results_file.write_text(json.dumps(results))
for key, (cwd, argv) in cases.items():
    def hang(signum, frame, key=key):
        results[key] = {"code": None, "stderr": "still running after 120 s (a hang)"}
        record()
        os._exit(3)
    signal.signal(signal.SIGALRM, hang)
    os.chdir(cwd)
    err_path = Path(cwd, ".stderr")
    with open(err_path, "w") as err_file, open(os.devnull, "w") as null:
        sys.stdout.flush(); sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(null.fileno(), 1); os.dup2(err_file.fileno(), 2)
        signal.alarm(120)
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        signal.alarm(0)
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
    results[key] = {"code": code, "stderr": err_path.read_text()}
    err_path.unlink()
    record()
"""


@pytest.fixture(scope="module")
def never_ending_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path]]:
    """The outcome and the working directory of every case of the test below, run by one child process
    (``SPEC_DRIVER``): one start of the package instead of 20 (each start costs seconds of imports)."""
    root = tmp_path_factory.mktemp("never_ending")
    cases, folders = {}, {}
    for command in sorted(SPEC_COMMANDS):
        for kind in SPEC_KINDS:
            key = f"{command}|{kind}"
            folder = root / f"case-{len(folders)}"
            folder.mkdir()
            path = {
                "fifo": folder / "spec.toml",
                "/dev/zero": Path("/dev/zero"),
                "folder": folder,
                "huge": folder / "h",
            }
            if kind == "fifo":
                os.mkfifo(path[kind])
            if kind == "huge":
                path[kind].write_text(TINY + "#" * (2 << 20))
            cases[key] = (str(folder), SPEC_COMMANDS[command](str(path[kind])))
            folders[key] = folder
    (root / "cases.json").write_text(json.dumps(cases))
    argv = [sys.executable, "-c", SPEC_DRIVER, str(root / "cases.json"), str(root / "results.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=20 * 130)
    results = json.loads((root / "results.json").read_text()) if (root / "results.json").exists() else {}
    why = f"the driver stopped (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return {key: (results.get(key, {"code": None, "stderr": why}), folders[key]) for key in cases}


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
@pytest.mark.parametrize("kind", SPEC_KINDS)
def test_a_spec_path_that_never_ends_is_one_sentence_without_a_hang(never_ending_specs, command, kind):
    result, folder = never_ending_specs[f"{command}|{kind}"]
    assert_one_sentence(result["code"], result["stderr"])
    assert not (folder / "never").exists()


def test_explore_commands_exit_143_on_sigterm_and_keep_finished_tasks(tmp_path):
    from tests.explore_mutations import COMPARE

    (tmp_path / "c.toml").write_text(COMPARE.replace("replications = 3", "replications = 400"))
    proc = subprocess.Popen(
        [str(BIN / "rupture-sim"), "compare", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    manifest = tmp_path / "out" / "manifest.json"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(manifest.read_text())["tasks"]:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "rerun the command to resume" in err
    assert not (tmp_path / "out" / ".rupture-sim.lock").exists()


def test_export_session_does_not_write_through_a_symlink_without_overwrite(tmp_path):
    (tmp_path / "link.html").symlink_to(tmp_path / "elsewhere.html")  # dangling
    argv = ["export-session", "--sessions", "1", "--out", str(tmp_path / "link.html")]
    code, _, err = run_cli(argv)
    assert_one_sentence(code, err)
    assert "symbolic link" in err and not (tmp_path / "elsewhere.html").exists()


def test_the_app_refuses_an_empty_host():
    code, _, err = run_cli(["app", "--host", "", "--port", "8799"])
    assert_one_sentence(code, err)
    assert "--host" in err


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_apps_server_dies_with_the_app(tmp_path):
    port = _free_port()
    app = subprocess.Popen(
        [str(BIN / "rupture-sim"), "app", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server: set[int] = set()
    deadline = time.monotonic() + 120
    while not server and time.monotonic() < deadline and app.poll() is None:
        server = _descendants(app.pid)
        time.sleep(0.1)
    assert server, "the app started no server"
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in server), "a solara server outlived the app by 10 s"


CALIBRATE = """
import sys
from simulation.validation import calibrate as cal
cal.calibrate(sys.argv[1], n_trials=int(sys.argv[2]), replications=2, workers=1, size_factor=0.25,
              check_replications=None, seed=3, progress=lambda line: print(line, flush=True))
"""


def test_calibrate_resumed_after_kill_9_proposes_what_an_uninterrupted_run_does(tmp_path):
    import pandas as pd

    def run(folder: Path, trials: int) -> subprocess.Popen:
        argv = [sys.executable, "-c", CALIBRATE, str(folder), str(trials)]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    from simulation.validation import calibrate as cal

    # the uninterrupted run in this process (what CALIBRATE runs; a process start costs seconds of imports)
    cal.calibrate(
        tmp_path / "whole", n_trials=3, replications=2, workers=1, size_factor=0.25, check_replications=None, seed=3
    )
    killed = run(tmp_path / "killed", 3)
    for line in killed.stdout:  # the first trial finished: kill the process during the second
        if line.startswith("trial 0"):
            time.sleep(1.0)
            killed.kill()
            break
    killed.wait()
    assert run(tmp_path / "killed", 3).wait() == 0
    whole, resumed = (
        pd.read_csv(f / "trials.csv").drop(columns="seconds") for f in (tmp_path / "whole", tmp_path / "killed")
    )
    pd.testing.assert_frame_equal(resumed, whole)
    best = [json.loads((f / "best.json").read_text()) for f in (tmp_path / "whole", tmp_path / "killed")]
    assert best[0]["params"] == best[1]["params"] and best[0]["trial"] == best[1]["trial"]
