"""The core install: ``pip install -e .`` brings no research tool, and the package works without them.

The optional libraries are blocked in a fresh interpreter (``sys.modules[name] = None``: every import of them
fails and ``find_spec`` finds nothing, as in a venv without them); ``simulate`` still runs on both engines, the
command line starts, and each command that needs an extra ends in one sentence naming the extra to install.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from simulation.extras import EXTRA_OF

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: Distribution (as pyproject names it) of each optional import name.
DISTRIBUTION = {
    "distributed": "distributed",
    "optuna": "optuna",
    "SALib": "SALib",
    "statsmodels": "statsmodels",
    "ema_workbench": "ema-workbench",
    "sklearn": "scikit-learn",
    "solara": "solara",
    "altair": "altair",
}
#: Blocked in the core interpreter: every optional library, Dask itself, and the test tools.
BLOCKED = [*EXTRA_OF, "dask", "playwright", "hypothesis"]

CORE_RUN = """
import contextlib, io, json, sys
for name in {blocked}:
    sys.modules[name] = None
import simulation
from simulation.tools.cli import main

out = {{}}
cohort = simulation.simulate(n_patients=6, n_sessions=3, seed=4)
agents = simulation.simulate(n_patients=6, n_sessions=3, seed=4, engine="agents")
out["engines_agree"] = cohort.sessions.equals(agents.sessions) and len(cohort.sessions) > 0
for name, argv in {commands}.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    out[name] = [code, err.getvalue()]
print(json.dumps(out))
"""

LAZY_RUN = """
import json, sys
import simulation
from simulation.tools.cli import build_parser
simulation.simulate(n_patients=4, n_sessions=2, seed=1, engine="agents")
build_parser()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {blocked})))
"""
#: Loaded by a probe of another library, not by ours: seaborn tries ``import statsmodels`` (the bare package).
PROBED = {"statsmodels", "statsmodels._version"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_dependencies_hold_no_research_tool():
    core = _names(PYPROJECT["dependencies"])
    for module, distribution in DISTRIBUTION.items():
        assert distribution.lower() not in core, f"{distribution} is a core dependency"
        extra = PYPROJECT["optional-dependencies"][EXTRA_OF[module]]
        assert distribution.lower() in _names(extra), f"{distribution} is missing from the {EXTRA_OF[module]} extra"
    assert {"dask", "distributed", "playwright", "pytest"}.isdisjoint(core)


def test_all_names_every_extra():
    extras = PYPROJECT["optional-dependencies"]
    (everything,) = extras["all"]
    assert set(re.search(r"\[(.*)\]", everything).group(1).split(",")) == set(extras) - {"all"}


@pytest.fixture(scope="module")
def core_run(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("core")
    commands = {
        "help": ["--help"],
        "params": ["params"],
        "calibrate": ["calibrate", "--out", str(tmp / "calibration"), "--trials", "1"],
        "sweep_dask": ["sweep", "experiments/quick.toml", "--backend", "dask", "--out", str(tmp / "sweep")],
        "sensitivity": ["sensitivity", "experiments/explore/sensitivity_resolution.toml", "--out", str(tmp / "sens")],
        "trial": ["trial", "experiments/explore/trial_aft_two_arm.toml", "--out", str(tmp / "trial")],
        "app": ["app", "--port", "8799"],
    }
    script = CORE_RUN.format(blocked=BLOCKED, commands=commands)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"result": json.loads(done.stdout.splitlines()[-1]), "tmp": tmp}


def test_simulate_and_the_cli_run_on_the_core_alone(core_run):
    result = core_run["result"]
    assert result["engines_agree"]
    assert result["help"][0] == 0 and result["params"][0] == 0, result


@pytest.mark.parametrize(
    ("command", "extra", "library"),
    [
        ("calibrate", "calibrate", "optuna"),
        ("sweep_dask", "sweep", "distributed"),
        ("sensitivity", "explore", "SALib"),
        ("trial", "explore", "statsmodels"),
        ("app", "app", "solara"),
    ],
)
def test_a_command_without_its_extra_names_the_extra_in_one_sentence(core_run, command, extra, library):
    code, stderr = core_run["result"][command]
    assert code == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert library in stderr and f'pip install -e ".[{extra}]"' in stderr, stderr
    assert not any(core_run["tmp"].iterdir()), "nothing is written before the check"


def test_optional_libraries_are_imported_only_when_needed():
    done = subprocess.run(
        [sys.executable, "-c", LAZY_RUN.format(blocked=set(BLOCKED))], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(json.loads(done.stdout.splitlines()[-1])) <= PROBED
