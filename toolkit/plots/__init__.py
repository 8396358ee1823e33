"""One plotting style for notebooks and reports: theme, accessible palette,
French/English axis formatters, a source line, and the descriptive plots.

Every plot function returns a :class:`matplotlib.figure.Figure` with a title,
axis labels and a source line; none calls ``plt.show()``. Figures are sized
for an HTML report column (8 × 4.5 inches at 100 dpi on screen, saved at
150 dpi).

The palette is Okabe–Ito (Okabe & Ito, *Color Universal Design*, 2008),
readable with the common colour-vision deficiencies; no plot puts red against
green. Reference lines (national benchmark) are black and dashed so they do
not depend on colour at all.

The funnel plot lives in :mod:`toolkit.plots.funnel`, impact plots in
:mod:`toolkit.plots.impact`.
"""

from __future__ import annotations

import importlib

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from ..formatting import NBSP, check_lang, fmt_number

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "NEUTRAL",
    "HIGHLIGHT",
    "REFERENCE",
    "EXIT_COLOURS",
    "FIGSIZE",
    "set_theme",
    "percent_formatter",
    "number_formatter",
    "StepFormatter",
    "add_source",
    "literal",
    "new_figure",
    "plot_rates",
    "plot_exit_mix",
    "plot_trend",
    "plot_profile",
]

# Okabe-Ito, ordered so that the first colours have good contrast on white.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "vermillion": "#D55E00",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE: list[str] = [
    OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion", "yellow")
]
NEUTRAL = "#8C8C8C"  # other units, unknown values
HIGHLIGHT = OKABE_ITO["vermillion"]  # the unit a reader looks for
REFERENCE = OKABE_ITO["black"]  # national benchmark lines (dashed)
EXIT_COLOURS: dict[str, str] = {
    "job": OKABE_ITO["blue"],
    "work_study": OKABE_ITO["orange"],
    "training": OKABE_ITO["sky_blue"],
    "other": OKABE_ITO["reddish_purple"],
    "unknown": NEUTRAL,
}
FIGSIZE = (8.0, 4.5)

_SOURCE_PREFIX = {"fr": "Source\u00a0: ", "en": "Source: "}
_current_lang = "fr"
_theme_applied = False


def set_theme(lang: str = "fr") -> None:
    """Apply the toolkit's seaborn theme (white grid, sans-serif, readable sizes,
    Okabe–Ito palette) and remember ``lang`` as the default for axis formatters.

    Safe to call many times. Turns off matplotlib's own locale handling: the
    formatters below do the French formatting explicitly.
    """
    global _current_lang, _theme_applied
    _current_lang = check_lang(lang)
    _theme_applied = True
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE,
        font="sans-serif",
        font_scale=1.0,
        rc={
            "figure.figsize": FIGSIZE,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.formatter.use_locale": False,
            "font.sans-serif": ["DejaVu Sans", "Arial", "Liberation Sans", "sans-serif"],
        },
    )


def percent_formatter(lang: str | None = None, decimals: int = 0, xmax: float = 1.0) -> FuncFormatter:
    """Tick formatter for proportions (0–1 by default): "56 %" (fr) / "56%" (en)."""
    lang = check_lang(lang or _current_lang)

    def _fmt(value: float, _pos=None) -> str:
        number = fmt_number(value / xmax * 100, lang, decimals)
        return f"{number}{NBSP}%" if lang == "fr" else f"{number}%"

    return FuncFormatter(_fmt)


def number_formatter(lang: str | None = None, decimals: int = 0) -> FuncFormatter:
    """Tick formatter for counts and numbers: "1 234" (fr) / "1,234" (en)."""
    lang = check_lang(lang or _current_lang)
    return FuncFormatter(lambda value, _pos=None: fmt_number(value, lang, decimals))


class StepFormatter(Formatter):
    """Tick formatter with as many decimals as the ticks' spacing needs, and no fewer than ``decimals``:
    ticks 0.96, 0.98, 1.00 read "0,96", "0,98", "1,00", never "1,0" three times; "1 234" in French.
    ``percent``: proportions (0–1) shown as "58,5 %" (fr) / "58.5%" (en)."""

    def __init__(self, lang: str | None = None, decimals: int = 0, *, percent: bool = False):
        self.lang = check_lang(lang or _current_lang)
        self.minimum = decimals
        self.decimals = decimals
        self.scale = 100.0 if percent else 1.0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        self.decimals = _step_decimals([v * self.scale for v in locs], self.minimum)

    def __call__(self, value: float, pos=None) -> str:
        number = fmt_number(value * self.scale, self.lang, self.decimals)
        if self.scale == 1.0:
            return number
        return f"{number}{NBSP}%" if self.lang == "fr" else f"{number}%"


def _step_decimals(locs, minimum: int) -> int:
    """Decimals needed to tell apart ticks ``locs`` (evenly spaced), at least ``minimum``, at most 6."""
    values = sorted({round(float(v), 12) for v in locs})
    steps = [b - a for a, b in zip(values, values[1:]) if b - a > 1e-12]
    if not steps:
        return minimum
    decimals = minimum
    while decimals < 6 and len({round(v, decimals) for v in values}) < len(values):
        decimals += 1
    step = min(steps)
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:  # 0.25 needs 2 decimals, not 1
        decimals += 1
    return decimals


def literal(text: object) -> str:
    """Text shown as it is in a figure: matplotlib reads a pair of ``$`` as mathtext (a site
    named "$x$" would be typeset, or fail), so every ``$`` is escaped. Plot functions call
    this on every text from the data (titles, labels, legend entries, the source line)."""
    return str(text).replace("$", r"\$")


def add_source(fig: Figure, text: str, lang: str | None = None) -> None:
    """Write a source line at the bottom left of the figure ("Source : ..." in French).

    The figure's bottom margin is enlarged so the line never overlaps tick labels.
    """
    lang = check_lang(lang or _current_lang)
    prefix = _SOURCE_PREFIX[lang]
    line = text if text.lower().startswith("source") else prefix + text
    if lang == "fr":  # French typography: no-break space before ":" and ";"
        line = line.replace(" :", NBSP + ":").replace(" ;", NBSP + ";")
    fig.text(0.01, 0.01, literal(line), ha="left", va="bottom", fontsize=8.5, color="#404040", gid="source", wrap=True)
    # Make room for the line: about 0.35 inch below the existing bottom margin.
    height = fig.get_figheight()
    fig.subplots_adjust(bottom=min(fig.subplotpars.bottom + 0.35 / height, 0.5))


def _theme_lang() -> str:
    """The language :func:`set_theme` was last called with (the plots' default)."""
    return _current_lang


def _ensure_theme() -> None:
    """Apply the theme once if the caller has not (plot functions call this)."""
    if not _theme_applied:
        set_theme(_current_lang)
    _enable_notebook_display()


_display_ready = False


def _enable_notebook_display() -> None:
    """Load the backend module once, so that Jupyter's inline backend registers its
    PNG formatter for ``Figure``: our figures bypass pyplot, which would otherwise
    load it on the first ``plt.figure()``."""
    global _display_ready
    if _display_ready:
        return
    _display_ready = True
    backend = matplotlib.get_backend()
    if backend.startswith("module://"):
        try:
            importlib.import_module(backend.removeprefix("module://"))
        except ImportError:  # an exotic backend: figures still save and embed
            pass


def new_figure(
    figsize: tuple[float, float] | None = None, nrows: int = 1, ncols: int = 1, **subplot_kw
) -> tuple[Figure, object]:
    """A themed figure and its axes, *not* registered with pyplot.

    Not registering avoids pyplot's global figure list (no leak, no
    ``plt.close`` needed in batch reports, no double display in notebooks):
    in Jupyter, a figure returned as a cell's last expression, or passed to
    ``IPython.display.display(fig)``, is shown once as a PNG.
    ``plt.show()`` does not show it.
    Returns ``(fig, ax)``; ``ax`` is an array when ``nrows * ncols > 1``.
    """
    _ensure_theme()
    fig = Figure(figsize=figsize or FIGSIZE, dpi=plt.rcParams["figure.dpi"])
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


from .descriptive import plot_exit_mix, plot_rates, plot_trend  # noqa: E402
from .profile import plot_profile  # noqa: E402
