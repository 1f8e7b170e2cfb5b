"""Writing a figure: the one place that knows the formats and how they are saved.

matplotlib is imported inside the function: importing the core stays free of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def save_figure(fig: Figure, directory: str | Path, name: str, dpi: int = 110) -> list[Path]:
    """Writes `name`.png and `name`.svg into `directory`; returns their paths.

    The SVG keeps its text as text (smaller, searchable), has no embedded date, and takes
    its element ids from a hash salted with the figure's name instead of a random one, so
    redrawing unchanged results leaves the committed file unchanged.
    """
    import matplotlib

    directory = Path(directory)
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):  # for this save only
        for path in paths:
            fig.savefig(path, dpi=dpi, metadata={"Date": None} if path.suffix == ".svg" else None)
    return paths
