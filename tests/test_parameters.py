"""Tests of the parameter declarations (simulation.model.parameters): values and calibration status."""

from __future__ import annotations

import pytest

from simulation.model.parameters import PARAMETERS, SPECS, Fixed, Free, ParameterError, Parameters, passing
from simulation.validation import calibrate as cal


def test_every_parameter_declares_how_the_calibration_treats_it():
    for p in PARAMETERS:
        assert isinstance(p.calibration, (Free, Fixed)), p.name
        if isinstance(p.calibration, Free):
            assert p.calibration.targets.strip(), p.name
        else:
            assert p.calibration.reason.strip(), p.name


def test_the_calibration_reads_the_declarations():
    assert cal.FREE_PARAMETERS["good_enough_ending"] == Free(
        0.0005, 0.05, log=True, targets="T20a (share of early leavers who got what they needed), T11, T16"
    )
    assert cal.FREE_PARAMETERS["good_enough_ending"].log
    assert "bpd_severity_mean" not in cal.FREE_PARAMETERS  # held since the calibration of T1-T17
    assert "0.5-0.85" in SPECS["bpd_severity_mean"].calibration.reason
    assert cal.FIXED_BY_DESIGN_OR_LITERATURE["reactivity"] == passing("T5a, T9c").reason
    assert "T5a, T9c" in cal.FIXED_BY_DESIGN_OR_LITERATURE["reactivity"]
    assert list(cal.FREE_PARAMETERS) == [p.name for p in PARAMETERS if p.name in cal.FREE_PARAMETERS]


def test_out_of_range_values_and_unknown_names_are_rejected_in_one_sentence():
    with pytest.raises(ParameterError, match=r"^Parameter 'noticing' must be between 0 and 1 \(got 2\)\.$"):
        Parameters({"noticing": 2})
    with pytest.raises(ParameterError, match="did you mean 'noticing'"):
        Parameters({"notcing": 0.5})
    assert Parameters({"caseload": 4})["caseload"] == 4.0 and SPECS["caseload"].integer
