"""The explore spec mutations of issue 23 (item 2) and values at every declared bound, as data.

Each case is a command, the TOML of a tiny spec with one change, and what must
happen: ``None`` (it runs: exit 0) or words of the one sentence that refuses
it (exit 2). ``tests/test_adversarial.py`` runs them all through the command
line; the module imports nothing of the package, so the same cases can be run
against another checkout of the code (before/after counts).
"""

from __future__ import annotations

COMPARE = """name = "cmp"
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
SENSITIVITY = """name = "sens"
n_patients = 3
n_sessions = 2
replications = 2
seed = 1
outcomes = ["symptom_change"]
morris_trajectories = 2
sobol_samples = 8
oat_steps = 3
[factors]
noticing = { low = 0.1, high = 0.7 }
skill_mean = { low = 0.3, high = 0.9 }
"""
TRIAL = """name = "tri"
kind = "correlation"
n_sessions = 3
caseload = 4
sizes = [8, 12]
trials = 10
seed = 1
outcome = "symptom_change"
predictor = "resolution_rate"
coded_sessions = [1, 2]
[arms.study]
"""
#: ``data`` is the folder of a finished tiny sweep (``DATASET``), made by the runner in the working directory.
DISCOVER = """name = "disc"
data = "data"
failure = "dropout_or_no_reliable_change"
inputs = ["noticing", "pd_severity"]
resamples = 2
max_rows = 1000
seed = 1
"""
DATASET = """name = "data"
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
BASES = {"compare": COMPARE, "sensitivity": SENSITIVITY, "trial": TRIAL, "discover": DISCOVER}


def _set(base: str, key: str, value: str) -> str:
    """``base`` with the top-level line ``key = ...`` replaced (or added before the first table)."""
    lines = base.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{key} ="):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    at = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    return "\n".join([*lines[:at], f"{key} = {value}", *lines[at:]]) + "\n"


#: (case id, command, spec text, None if it must run, else words of the refusal)
CASES: list[tuple[str, str, str, str | None]] = [
    # the tracebacks of the issue
    ("compare duplicated outcome", "compare", _set(COMPARE, "outcomes", '["dropout", "dropout"]'), "more than once"),
    (
        "compare duplicated contrast",
        "compare",
        _set(COMPARE, "contrasts", '[["usual", "aft"], ["usual", "aft"]]'),
        "repeats the pair",
    ),
    (
        "sensitivity duplicated outcome",
        "sensitivity",
        _set(SENSITIVITY, "outcomes", '["dropout", "dropout"]'),
        "more than once",
    ),
    ("sensitivity sobol_samples 4", "sensitivity", _set(SENSITIVITY, "sobol_samples", "4"), "sobol_samples"),
    ("discover min_density 0", "discover", _set(DISCOVER, "min_density", "0"), "min_density"),
    ("discover min_density tiny", "discover", _set(DISCOVER, "min_density", "1e-300"), "min_density"),
    ("discover min_density 1", "discover", _set(DISCOVER, "min_density", "1"), "min_density"),
    (
        "discover input four times",
        "discover",
        _set(DISCOVER, "inputs", '["noticing", "noticing", "noticing", "noticing"]'),
        "more than once",
    ),
    # designs far beyond the machine: an estimate and a refusal without --allow-large
    ("sensitivity sobol_samples 2^20", "sensitivity", _set(SENSITIVITY, "sobol_samples", str(2**20)), "allow-large"),
    (
        "trial thousands of sizes",
        "trial",
        _set(_set(TRIAL, "sizes", "[" + ", ".join(str(s) for s in range(8, 4008)) + "]"), "trials", "1000"),
        "allow-large",
    ),
    (
        "compare huge cohort",
        "compare",
        _set(_set(_set(COMPARE, "n_patients", "100000"), "n_sessions", "1000"), "replications", "100"),
        "allow-large",
    ),
    # every declared bound of every number: runs, or one sentence
    ("compare replications 3", "compare", _set(COMPARE, "replications", "3"), None),
    ("compare n_patients 2", "compare", _set(COMPARE, "n_patients", "2"), None),
    ("compare n_sessions 1", "compare", _set(COMPARE, "n_sessions", "1"), None),
    ("compare seed max", "compare", _set(COMPARE, "seed", str(2**63 - 1)), None),
    ("compare one outcome", "compare", _set(COMPARE, "outcomes", '["recovery"]'), None),
    ("compare empty outcomes", "compare", _set(COMPARE, "outcomes", "[]"), "outcomes"),
    ("compare contrast self", "compare", _set(COMPARE, "contrasts", '[["aft", "aft"]]'), "itself"),
    ("sensitivity sobol 8", "sensitivity", _set(SENSITIVITY, "sobol_samples", "8"), None),
    ("sensitivity replications 1", "sensitivity", _set(SENSITIVITY, "replications", "1"), None),
    ("sensitivity oat 2", "sensitivity", _set(SENSITIVITY, "oat_steps", "2"), None),
    ("sensitivity n_sessions 1", "sensitivity", _set(SENSITIVITY, "n_sessions", "1"), None),
    (
        "sensitivity all outcomes twice",
        "sensitivity",
        _set(SENSITIVITY, "outcomes", '["recovery", "recovery"]'),
        "more",
    ),
    ("sensitivity morris 1", "sensitivity", _set(SENSITIVITY, "morris_trajectories", "1"), "morris_trajectories"),
    ("trial trials 10", "trial", _set(TRIAL, "trials", "10"), None),
    ("trial size 5", "trial", _set(TRIAL, "sizes", "[5]"), None),
    ("trial sizes repeated", "trial", _set(TRIAL, "sizes", "[8, 8]"), "increasing"),
    ("trial coded sessions repeated", "trial", _set(TRIAL, "coded_sessions", "[2, 2]"), "increasing"),
    ("trial alpha min", "trial", _set(TRIAL, "alpha", "1e-6"), None),
    ("trial alpha max", "trial", _set(TRIAL, "alpha", "0.5"), None),
    ("discover n_boxes 10", "discover", _set(DISCOVER, "n_boxes", "10"), None),
    ("discover peel 0.5", "discover", _set(DISCOVER, "peel_alpha", "0.5"), None),
    ("discover peel 0.01", "discover", _set(DISCOVER, "peel_alpha", "0.01"), None),
    ("discover max_rows 100", "discover", _set(DISCOVER, "max_rows", "100"), None),
    ("discover min_density 0.99", "discover", _set(DISCOVER, "min_density", "0.99"), None),
    ("discover one input", "discover", _set(DISCOVER, "inputs", '["noticing"]'), None),
]
