"""Parameter settings for the engine-equivalence tests, derived from the declarations.

The cohort engine and the Mesa view must give identical tables for any parameter values. The tests that
check it (``tests/test_model.py``, ``tests/test_dynamics.py``) take their values from here, and nothing here
lists parameters by hand: every declared parameter is switched on (given a value other than its default,
inside its declared range) in at least one setting, as soon as it is declared.

Each value is drawn from a random generator keyed by the parameter's name and the setting, so declaring a
new parameter changes no other parameter's value or inclusion, and a rename redraws only that parameter.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from simulation.model import parameters
from simulation.model.parameters import SHARE_NAMES, Param

#: Integer parameters drawn from a narrower range than declared, to keep runs small and varied.
NARROW = {"caseload": (1, 8), "n_segments": (3, 12), "aft_start_session": (0, 12)}
#: Chance that a parameter is switched on in a setting other than its home setting.
EXTRA_SHARE = 0.1


def keyed_generator(*parts: object) -> np.random.Generator:
    """A generator keyed by names and numbers (a hash of their text), independent of every other key."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def declared() -> tuple[Param, ...]:
    """The declared parameters, read at call time (so a test can declare one more)."""
    return parameters.PARAMETERS


def on_value(spec: Param, setting: object, spread: float) -> float:
    """A value of ``spec`` other than its default, within ``spread`` x its range of the default.

    Args:
        spec: The parameter's declaration.
        setting: The setting's key (its index, or a label); the same key gives the same value.
        spread: Half-width of the interval around the default, as a share of the declared range.
    """
    rng = keyed_generator(spec.name, setting)
    low, high = NARROW.get(spec.name, (spec.low, spec.high))
    width = spread * (high - low)
    low, high = max(low, spec.default - width), min(high, spec.default + width)
    if not spec.integer:
        value = float(rng.uniform(low, high))
        return value if value != spec.default else (low + high) / 2
    choices = [v for v in range(math.ceil(low), math.floor(high) + 1) if v != spec.default]
    if not choices:  # the interval holds only the default: step to a neighbour inside the declared range
        choices = [v for v in (spec.default - 1, spec.default + 1) if spec.low <= v <= spec.high]
    return int(choices[int(rng.integers(len(choices)))])


def home_setting(spec: Param, n_settings: int) -> int:
    """The setting in which ``spec`` is always switched on (a hash of its name)."""
    return int(keyed_generator(spec.name, "home").integers(n_settings))


def switched_on(spec: Param, setting: int, n_settings: int) -> bool:
    """Whether ``spec`` is off its default in ``setting``: in its home setting, and now and then elsewhere."""
    if spec.name in SHARE_NAMES:
        return False  # the diagnosis shares are drawn together (they sum to 1)
    extra = keyed_generator(spec.name, setting, "on").random() < EXTRA_SHARE
    return home_setting(spec, n_settings) == setting or extra


def setting_values(setting: int, n_settings: int, spread: float, shares: bool) -> dict[str, float]:
    """The values of one setting of ``n_settings``: the parameters switched on there, and maybe new shares."""
    out = {spec.name: on_value(spec, setting, spread) for spec in declared() if switched_on(spec, setting, n_settings)}
    if shares:
        weights = keyed_generator("shares", setting).dirichlet(np.ones(len(SHARE_NAMES)))
        out.update(zip(SHARE_NAMES, weights.tolist(), strict=True))
    return out


def every_parameter_on(spread: float, label: str = "every mechanism") -> dict[str, float]:
    """Every declared parameter off its default at once (the diagnosis shares aside), within ``spread``."""
    return {spec.name: on_value(spec, label, spread) for spec in declared() if spec.name not in SHARE_NAMES}
