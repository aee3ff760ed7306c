"""The targets T1-T20 (simulation.validation.targets)."""

from __future__ import annotations

from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE
from simulation.validation.studies import STUDIES
from simulation.validation.targets import CALIBRATED, HELD_OUT, TARGETS


def test_every_target_is_declared_with_checks_that_name_a_study_statistic():
    assert [t.id for t in TARGETS] == [f"T{i}" for i in range(1, 21)]
    for target in TARGETS:
        assert target.confidence.split()[0] in {"firm", "soft"}
        for check in target.checks:
            assert check.study in STUDIES and target.id in STUDIES[check.study].targets
            assert check.rule in {POINT, BAND, RANGE, DIRECTION}
            if check.rule == DIRECTION:
                assert check.sign in (-1, 1)
            if check.rule in (BAND, RANGE):
                assert check.interval is not None and check.interval[0] < check.interval[1]
            if check.rule in (POINT, BAND):
                assert check.published is not None
            assert check.rule_text()


def test_the_dynamics_targets_are_held_out_and_the_others_calibrated():
    assert HELD_OUT == ("T15", "T16", "T17", "T18", "T19", "T20")
    assert tuple(f"T{i}" for i in range(1, 15)) == CALIBRATED
    for target in TARGETS:
        assert target.held_out == (target.id in HELD_OUT)
