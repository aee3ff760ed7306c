"""The golden baseline: the model's numbers match the committed fingerprints on both engines.

A failure here means a change moved numbers. If that was the intent, run
``scripts/update_baseline.py`` and say why in the commit message.
"""

import baseline
import pytest


@pytest.fixture(scope="module")
def committed():
    return baseline.load()


@pytest.mark.parametrize("engine", ["cohort", "agents"])
def test_every_setting_matches_the_committed_baseline(engine, committed):
    now = baseline.compute(engine)
    expected = {name: prints for name, prints in committed.items() if name in now}
    assert set(now) == set(expected), "settings and baseline file disagree: run scripts/update_baseline.py"
    moved = {name: table for name in now for table in now[name] if now[name][table] != expected[name].get(table)}
    assert not moved, f"numbers moved in {moved}; if intended, run scripts/update_baseline.py and say why"


def test_fingerprint_sees_a_single_changed_number():
    import pandas as pd

    table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": pd.Categorical(["x", "y", "x"])})
    changed = table.copy()
    changed.loc[1, "a"] = 2.0 + 1e-15
    assert baseline.fingerprint(table) != baseline.fingerprint(changed)
    assert baseline.fingerprint(table) == baseline.fingerprint(table.copy())
