"""Matplotlib, headless and byte-stable: shared by report plots and listening-test plots.

Both the card's rate-quality curves and a listening test's MUSHRA plot are committed files, so a
re-render must give identical bytes (no 'Software' stamp) and must never need a display.
"""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (imported on first use: reports without plots skip it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Lay out, write and close a figure; no 'Software' metadata, so reruns give identical PNG bytes."""
    plt = pyplot()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
