"""Optional libraries: imported only when a command needs them, named with the extra that installs them.

``pip install -e .`` installs what ``simulate`` and the main job need; the research tools are extras
(``pyproject.toml``): ``sweep`` (Dask), ``calibrate`` (Optuna), ``explore`` (SALib, statsmodels, the EMA
Workbench), ``app`` (solara). Code that needs one calls ``require`` at the point of use, so a missing
library ends in one sentence naming the extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

#: The extra that installs each optional library (import name -> extra).
EXTRA_OF = {
    "distributed": "sweep",
    "optuna": "calibrate",
    "SALib": "explore",
    "statsmodels": "explore",
    "ema_workbench": "explore",
    "sklearn": "explore",  # also in 'calibrate' (history matching): see ``require``'s ``extra``
    "threadpoolctl": "calibrate",
    "solara": "app",
    "altair": "app",
}


class MissingExtraError(ImportError):
    """An optional library is not installed; the message names the extra that installs it."""


def install_hint(module: str, extra: str | None = None) -> str:
    """The command that installs the extra providing ``module`` (or ``extra``)."""
    return f'pip install -e ".[{extra or EXTRA_OF[module]}]"'


def require(module: str, purpose: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` (a key of ``EXTRA_OF``) for ``purpose``, or raise ``MissingExtraError`` naming its extra.

    Args:
        module: Import name of the optional library, e.g. ``"optuna"``.
        purpose: What needs it, as the start of a sentence, e.g. ``"calibrate"``.
        extra: The extra to name when the library is in several (scikit-learn: explore and calibrate).

    Raises:
        MissingExtraError: If the library is not installed.
    """
    top = module.split(".")[0]
    if importlib.util.find_spec(top) is None:
        extra = extra or EXTRA_OF[top]
        raise MissingExtraError(
            f"{purpose} needs {top}, which the core install leaves out; install the "
            f"'{extra}' extra: {install_hint(top, extra)}"
        )
    return importlib.import_module(module)
