"""The targets T1-T14 (simulation.validation.targets)."""

from __future__ import annotations

from simulation.validation.checks import BAND, DIRECTION, POINT, RANGE
from simulation.validation.studies import STUDIES
from simulation.validation.targets import TARGETS


def test_every_target_is_declared_with_checks_that_name_a_study_statistic():
    assert [t.id for t in TARGETS] == [f"T{i}" for i in range(1, 15)]
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
