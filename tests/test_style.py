"""The one figure style (simulation.style)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from simulation import style

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_save_writes_a_png_into_a_new_folder_and_closes_the_figure(tmp_path: Path):
    style.apply_theme()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = style.save(fig, tmp_path / "new" / "line.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert not plt.fignum_exists(fig.number)
