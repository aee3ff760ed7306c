"""The golden baseline: fingerprints of every number the model produces in a dozen fixed settings.

``tests/test_baseline.py`` compares them with ``tests/baseline.json``; only
``scripts/update_baseline.py`` rewrites that file, on purpose, in a commit
that says why the numbers moved. A fingerprint is the sha256 of a table's
column names and values (numbers as float64 bytes, labels as text), so any
change of any number, row order or label changes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulation import simulate
from simulation.api import resolve_parameters
from simulation.run.engine import intake_therapists, simulate_cohort
from simulation.run.tables import patients_table, trajectory_table

BASELINE_FILE = Path(__file__).with_name("baseline.json")


def fingerprint(table: pd.DataFrame) -> str:
    """sha256 of a table's column names and values, independent of how the values are stored."""
    digest = hashlib.sha256()
    for name in table.columns:
        digest.update(name.encode())
        column = table[name]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            digest.update(np.ascontiguousarray(column.to_numpy(dtype=np.float64)).tobytes())
        else:  # labels: categories, strings
            digest.update("\x1f".join(map(str, column.tolist())).encode())
    return digest.hexdigest()


def _tables(res) -> dict[str, pd.DataFrame]:
    return {name: getattr(res, name) for name in ("sessions", "patients", "events", "therapists")}


def _simulate(engine: str, **kwargs) -> dict[str, pd.DataFrame]:
    return _tables(simulate(engine=engine, **kwargs))


def _summary_mode(**kwargs) -> dict[str, pd.DataFrame]:
    """Course sums and trajectory only (what sweeps keep): the DETAIL_SUMMARY path."""
    params = resolve_parameters(kwargs["population"], kwargs["therapists"], kwargs.get("params"))
    ids = np.arange(kwargs["n_patients"], dtype=np.int64)
    raw = simulate_cohort(params, ids, kwargs["n_sessions"], kwargs["seed"], record_events=False, keep_sessions=False)
    return {"patients": patients_table(raw, params), "trajectory": trajectory_table(raw)}


def _staggered_aft(engine: str) -> dict[str, pd.DataFrame]:
    """A multiple-baseline design: three therapists start AFT at sessions 0 (never), 5 and 12."""
    params = resolve_parameters("adult_bpd", "experienced", {"caseload": 4})
    states = intake_therapists(7, np.arange(3), params)
    states["aft_start_session"] = (0, 5, 12)
    res = simulate("adult_bpd", "experienced", n_patients=12, n_sessions=20, seed=7, params={"caseload": 4},
                   engine=engine, therapist_states=states)  # fmt: skip
    return _tables(res)


#: name -> (engines, builder(engine) -> tables)
SETTINGS = {
    "mixed_experienced": lambda e: _simulate(e, population="mixed", therapists="experienced", n_patients=36,
                                             n_sessions=30, seed=1),
    "adult_bpd_novice": lambda e: _simulate(e, population="adult_bpd", therapists="novice", n_patients=24,
                                            n_sessions=48, seed=2),
    "adolescent_bpd_aft": lambda e: _simulate(e, population="adolescent_bpd", therapists="aft_trained",
                                              n_patients=24, n_sessions=16, seed=3),
    "cluster_c_immediate": lambda e: _simulate(e, population="cluster_c", therapists="immediate_only",
                                               n_patients=24, n_sessions=30, seed=4),
    "depression_experienced": lambda e: _simulate(e, population="depression", therapists="experienced",
                                                  n_patients=24, n_sessions=20, seed=5),
    "pd_vs_non_pd_one_segment": lambda e: _simulate(e, population="pd_vs_non_pd", therapists="novice",
                                                    n_patients=24, n_sessions=30, seed=6, params={"n_segments": 1}),
    "adult_bpd_thirty_segments": lambda e: _simulate(e, population="adult_bpd", therapists="experienced",
                                                     n_patients=12, n_sessions=20, seed=8, params={"n_segments": 30}),
    "mixed_sessions_detail": lambda e: _simulate(e, population="mixed", therapists="novice", n_patients=36,
                                                 n_sessions=30, seed=9, events=False),
    "staggered_aft": _staggered_aft,
}  # fmt: skip
#: Settings without an engine choice (the summary path exists only in the cohort engine).
COHORT_ONLY = {
    "mixed_summary_detail": lambda: _summary_mode(population="mixed", therapists="experienced", n_patients=60,
                                                  n_sessions=30, seed=10),
    "adult_bpd_summary_detail": lambda: _summary_mode(population="adult_bpd", therapists="aft_trained",
                                                      n_patients=40, n_sessions=48, seed=11),
}  # fmt: skip


def setting_fingerprints(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Fingerprint and row count of each table of one setting."""
    return {name: {"rows": len(t), "sha256": fingerprint(t)} for name, t in sorted(tables.items())}


def compute(engine: str = "cohort") -> dict[str, dict]:
    """Fingerprints of every setting on one engine (with the cohort-only settings on the cohort engine)."""
    out = {name: setting_fingerprints(build(engine)) for name, build in SETTINGS.items()}
    if engine == "cohort":
        out.update({name: setting_fingerprints(build()) for name, build in COHORT_ONLY.items()})
    return out


def load() -> dict[str, dict]:
    """The committed baseline."""
    return json.loads(BASELINE_FILE.read_text())
