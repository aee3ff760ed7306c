"""The engine-equivalence settings (tests/equivalence.py) switch every declared parameter on, a new one too."""

from __future__ import annotations

from dataclasses import replace

import equivalence
import pytest
from test_model import SETTINGS, setting_overrides

from simulation.model import parameters
from simulation.model.parameters import PARAMETERS, SHARE_NAMES, SPECS, Fixed


def _off_default(values: dict[str, float]) -> set[str]:
    return {name for name, value in values.items() if value != SPECS.get(name, DUMMY).default}


#: A newly declared parameter: a copy of noticing's declaration, renamed, with a default that is off.
DUMMY = replace(
    SPECS["noticing"],
    name="therapist_fatigue_gain",
    default=0.0,
    meaning="how much a therapist's noticing drops with each session already held that day (a dummy)",
    source="assumption",
    calibration=Fixed("off: a dummy declared by this test"),
)


def _all_settings() -> list[dict[str, float]]:
    return [setting_overrides(index) for index in range(len(SETTINGS))]


def test_every_declared_parameter_is_off_its_default_in_some_setting():
    covered = set().union(*(_off_default(values) for values in _all_settings()))
    assert {spec.name for spec in PARAMETERS} - covered == set()


@pytest.mark.parametrize("spread", [0.05, 0.3, 1.0])
def test_on_values_lie_inside_the_declared_range_and_off_the_default(spread):
    for spec in PARAMETERS:
        for setting in range(3):
            value = equivalence.on_value(spec, setting, spread)
            assert spec.low <= value <= spec.high and value != spec.default, spec.name
            assert float(value).is_integer() or not spec.integer, spec.name
    every = equivalence.every_parameter_on(spread)
    assert set(every) == {spec.name for spec in PARAMETERS} - set(SHARE_NAMES)
    assert parameters.Parameters(every)  # a valid parameter set


def test_a_newly_declared_parameter_is_switched_on_without_editing_a_list(monkeypatch):
    before_settings, before_every = _all_settings(), equivalence.every_parameter_on(0.05)
    monkeypatch.setattr(parameters, "PARAMETERS", (*PARAMETERS, DUMMY))
    after_settings, after_every = _all_settings(), equivalence.every_parameter_on(0.05)
    # the dummy is on in the every-mechanism run and in its home setting, inside its range
    assert 0.0 < after_every[DUMMY.name] <= 1.0
    home = equivalence.home_setting(DUMMY, len(SETTINGS))
    assert DUMMY.name in _off_default(after_settings[home])
    # and declaring it moved no other parameter's value, in any setting
    assert {k: v for k, v in after_every.items() if k != DUMMY.name} == before_every
    for before, after in zip(before_settings, after_settings, strict=True):
        assert {k: v for k, v in after.items() if k != DUMMY.name} == before
