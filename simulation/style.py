"""The one figure style of the package: theme, resolution and saving, shared by every figure module.

It sits below the layers (it imports nothing of the package), so the main
job's figures and the sweep figures can both use it. Importing it selects
matplotlib's non-interactive Agg backend, so figures render on machines
without a display.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import seaborn as sns

#: Resolution of the saved PNGs.
DPI = 120


def apply_theme() -> None:
    """The seaborn theme of every figure: white grid, notebook context."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.0)


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Write a figure as PNG (creating its folder) and close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path
