"""The regions compared at equal intake: each region's observed / expected ratio with its 95 % limits.

Regions are drawn in the official order (not a ranking), flags by marker
shape, not by colour alone. The caller passes only the regions it publishes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..i18n import _, current_language
from . import HIGHLIGHT, NEUTRAL, REFERENCE, add_source, literal, new_figure, number_formatter

__all__ = ["plot_regions"]

_MARKERS = {"above": "^", "below": "v"}


def plot_regions(points: pd.DataFrame, highlight: str | None = None, *, source: str = "") -> Figure:
    """One row per region of ``points`` (columns ``region``, ``oe_ratio``, ``lower95``, ``upper95``, ``flag95``).

    ``highlight``: a region drawn in the highlight colour, its name in bold.
    Words follow the current language (:mod:`toolkit.i18n`).
    """
    frame = points.reset_index(drop=True)
    fig, ax = new_figure(figsize=(8, 0.42 * len(frame) + 1.6))
    y = np.arange(len(frame))[::-1]
    colours = np.asarray(
        [HIGHLIGHT if r == highlight else (NEUTRAL if highlight else "#0072B2") for r in frame["region"]], dtype=object
    )
    ax.hlines(y, frame["lower95"], frame["upper95"], color="#B0B0B0", linewidth=6, alpha=0.6)
    for flag in ("within", "above", "below"):
        sel = (frame["flag95"] == flag).to_numpy()
        if sel.any():
            ax.scatter(
                frame["oe_ratio"][sel],
                y[sel],
                color=colours[sel],
                marker=_MARKERS.get(flag, "o"),
                s=60 if flag != "within" else 50,
                zorder=3,
            )
    ax.axvline(1, color=REFERENCE, linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(number_formatter(current_language(), 2))
    ax.set_yticks(y, [literal(r) for r in frame["region"].astype(str)])
    if highlight:
        for label, name in zip(ax.get_yticklabels(), frame["region"].astype(str)):
            if name == highlight:
                label.set_fontweight("bold")
    ax.set_xlabel(_("Rapport observé / attendu (1 = comme le pays à public égal)"))
    ax.set_title(_("Les régions comparées à public égal"))
    add_source(fig, source, current_language())
    return fig
