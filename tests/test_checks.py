"""The pass rules of the validation (simulation.validation.checks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE, Check, evaluate


def test_pass_rules():
    values = np.linspace(0, 1, 101)  # 5% = 0.05, 95% = 0.95, median 0.5
    point = Check("X", "s", "x", "x", POINT, published=0.9)
    assert evaluate(point, values).passed and not evaluate(replace(point, published=0.99), values).passed
    band = Check("X", "s", "x", "x", BAND, published=1.1, interval=(0.97, 1.2))
    assert not evaluate(band, values).passed
    assert evaluate(Check("X", "s", "x", "x", BAND, published=1.0, interval=(0.9, 1.1)), values).passed
    assert evaluate(Check("X", "s", "x", "x", RANGE, interval=(0.4, 0.6)), values).passed
    assert not evaluate(Check("X", "s", "x", "x", RANGE, interval=(0.6, 0.9)), values).passed
    assert evaluate(Check("X", "s", "x", "x", DIRECTION, sign=1), values).passed
    assert not evaluate(Check("X", "s", "x", "x", DIRECTION, sign=-1), values).passed
    verdict = evaluate(Check("X", "s", "x", "x", DIRECTION, sign=1), np.r_[np.full(6, np.nan), np.ones(4)])
    assert not verdict.passed and verdict.n_valid == 4  # undefined in most replications
