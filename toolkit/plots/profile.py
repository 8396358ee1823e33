"""The trainee profile plot: shares of trainees by characteristic, with the national range.

Re-exported by :mod:`toolkit.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import E2CError
from ..formatting import NBSP, column_label
from . import FIGSIZE, PALETTE, REFERENCE, new_figure, percent_formatter
from .descriptive import _code_label, _finish, _group_columns, _height, _int, _lang, _pct, _require_columns, _words


def plot_profile(
    table: pd.DataFrame,
    variable: str | Sequence[str] | None = None,
    *,
    lang: str | None = None,
    title: str | None = None,
    national: bool = True,
    source: str | None = None,
    min_n: int | None = None,
) -> Figure:
    """The trainees' profile: share of each characteristic, with 95 % intervals.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`toolkit.indicators.profile` with no grouping column
        (filter a grouped profile to one group first).
    variable : str or list, optional
        The characteristic(s) to draw (default: all in the table). For yes/no
        characteristics (QPV, disability, rural) only the "yes" share is
        drawn; the "not stated" rows are never drawn (their shares are
        outside the denominator).
    national : bool
        Draw the published national range (black segment, or a diamond when
        a single value was published).
    min_n : int, optional
        Bars resting on fewer trainees are not drawn.

    Returns
    -------
    Figure
        One horizontal bar per drawn row, share on x (0 to 100 %), with one
        error-bar container of the CIs. ``alt_text`` attribute set.
    """
    lang = _lang(lang)
    what = "plot_profile"
    _require_columns(table, ["variable", "code", "n", "share", "ci_low", "ci_high"], what)
    if _group_columns(table):
        raise E2CError(
            f"{what} : le tableau est ventilé par {', '.join(_group_columns(table))} ; "
            "filtrez un seul groupe puis retirez la colonne."
        )
    text = _words(lang)
    rows = table[table["code"].notna()]
    if variable is not None:
        wanted = [variable] if isinstance(variable, str) else list(variable)
        rows = rows[rows["variable"].isin(wanted)]
    boolean = rows["code"].map(lambda c: isinstance(c, (bool, np.bool_)))
    rows = rows[~boolean | (rows["code"] == True)]  # noqa: E712 (object column of True/False)
    notes = []
    if min_n is not None:
        kept = rows[rows["n"] >= min_n]
        if len(kept) < len(rows):
            notes.append(text["hidden"].format(len(rows) - len(kept), _int(min_n, lang)))
        rows = kept
    rows = rows.reset_index(drop=True)
    fig, ax = new_figure((FIGSIZE[0], _height(len(rows))))
    positions = np.arange(len(rows))
    share = rows["share"].to_numpy(dtype=float)
    ax.barh(positions, share, color=PALETTE[0], height=0.6, alpha=0.85)
    ax.errorbar(
        share,
        positions,
        xerr=[share - rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float) - share],
        fmt="none",
        ecolor="#333333",
        capsize=3,
        elinewidth=1.1,
    )
    single = isinstance(variable, str)
    labels = []
    for var, code in zip(rows["variable"], rows["code"]):
        if isinstance(code, (bool, np.bool_)):
            labels.append(column_label(var, lang))
        elif single:
            labels.append(_code_label(var, code, lang))
        else:
            labels.append(f"{column_label(var, lang)}{NBSP if lang == 'fr' else ''}: {_code_label(var, code, lang)}")
    ax.set_yticks(positions, labels)
    drew_national = False
    if national and "national_low" in rows.columns and rows["national_low"].notna().any():
        lo = rows["national_low"].to_numpy(dtype=float)
        hi = rows["national_high"].to_numpy(dtype=float)
        has = np.isfinite(lo)
        ax.hlines(positions[has], lo[has], hi[has], colors=REFERENCE, linewidth=3.5, label=text["profile_national"])
        ax.plot((lo[has] + hi[has]) / 2, positions[has], "D", color=REFERENCE, markersize=5)
        drew_national = True
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(percent_formatter(lang))
    ylabel = column_label(variable, lang) if single else ""
    _finish(fig, ax, title or text["profile"], text["profile_axis"], ylabel, source, notes, lang, drew_national)
    fig.alt_text = (
        f"{title or text['profile']} : " + ", ".join(f"{name} {_pct(s, lang)}" for name, s in zip(labels, share)) + "."
    )
    return fig
