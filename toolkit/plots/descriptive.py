"""The descriptive plots: positive-exit rates by group, exit mix, trend by year (and their shared helpers).

Re-exported by :mod:`toolkit.plots`; they use its theme, palette, formatters and source line.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import E2CError
from ..formatting import check_lang, column_label
from ..i18n import N_, translated
from . import (
    EXIT_COLOURS,
    FIGSIZE,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    REFERENCE,
    _theme_lang,
    add_source,
    literal,
    new_figure,
    percent_formatter,
)

# --------------------------------------------------------------------------
# Descriptive plots
# --------------------------------------------------------------------------
_STAT_COLUMNS = frozenset(
    {
        "n_exits",
        "n_known",
        "n_unknown",
        "n_positive",
        "n_interruptions",
        "rate",
        "ci_low",
        "ci_high",
        "definition",
        "national",
        "national_year",
        "national_timing",
        "national_source",
        "category",
        "n",
        "share",
        "share_of_exits",
        "variable",
        "code",
        "n_total",
        "share_of_total",
        "national_low",
        "national_high",
    }
)
_DEFAULT_SOURCE = {
    "fr": "exports des écoles E2C, calculs du toolkit E2C",
    "en": "E2C school exports, E2C toolkit calculations",
}
_NATIONAL_SOURCE = {"fr": "référence nationale : Réseau E2C France", "en": "national benchmark: Réseau E2C France"}
# French messages (translated by toolkit.i18n: English in locale/en/LC_MESSAGES/plots.po)
_TEXT = {
    "rate": N_("Taux de sorties positives"),
    "rate_by": N_("Taux de sorties positives par {}"),
    "rate_axis": N_("Taux de sorties positives (IC à 95 %)"),
    "national": N_("Référence nationale"),
    "national_year": N_("Référence nationale {}\xa0: {}"),
    "mix": N_("Situation à la sortie"),
    "mix_by": N_("Situation à la sortie par {}"),
    "mix_axis": N_("Part des sorties au type connu"),
    "mix_national": N_("Référence nationale 2024"),
    "trend": N_("Évolution du taux de sorties positives"),
    "profile": N_("Profil des stagiaires"),
    "profile_axis": N_("Part des stagiaires (IC à 95 %)"),
    "profile_national": N_("Fourchette nationale 2013–2023"),
    "cohort_year": N_("Année d'entrée"),
    "exit_year": N_("Année de sortie"),
    "hidden": N_("{} groupe(s) de moins de {} non affiché(s)"),
    "no_data": N_("{} groupe(s) sans sortie à l'issue connue non affiché(s)"),
    "unknown_mix": N_("sorties au type non renseigné, hors dénominateur : {} ({})"),
    "n": N_("n\xa0=\xa0{}"),
    "yes": N_("Oui"),
    "range": N_("de {} à {}"),
    "groups": N_("{} groupes"),
    "years": N_("{} années"),
}


def _words(lang: str) -> dict:
    """The plot's words in ``lang``."""
    return translated(_TEXT, lang)


def _lang(lang: str | None) -> str:
    return check_lang(lang or _theme_lang())


def _code_label(column: str, code: object, lang: str) -> str:
    from ..schema import label  # noqa: PLC0415

    return literal(label(column, code, lang))


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise E2CError(f"{what} : attendu un tableau (DataFrame), reçu {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise E2CError(f"{what} : colonnes absentes du tableau : {', '.join(missing)}.")


def _group_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in _STAT_COLUMNS]


def _lower_first(name: str) -> str:
    """Lower-case the first letter for use inside a sentence, keeping acronyms ("RQTH")."""
    if len(name) > 1 and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]


def _finish(
    fig: Figure,
    ax,
    title: str,
    xlabel: str,
    ylabel: str,
    source: str | None,
    notes: Sequence[str],
    lang: str,
    national: bool,
    legend_title: str | None = None,
) -> None:
    """Title, labels, a legend between the title and the axes (never over the data), source line."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=min(len(handles), 4),
            frameon=False,
            borderaxespad=0.2,
            handlelength=1.6,
            columnspacing=1.2,
            title=legend_title,
            alignment="left",
        )
    ax.set_title(literal(title), pad=(48 if legend_title else 30) if handles else 8)
    ax.set_xlabel(literal(xlabel))
    ax.set_ylabel(literal(ylabel))
    parts = [source or _DEFAULT_SOURCE[lang]]
    if national:
        parts.append(_NATIONAL_SOURCE[lang])
    parts.extend(notes)
    fig.tight_layout()
    add_source(fig, " ; ".join(parts) + "." if lang == "fr" else "; ".join(parts) + ".", lang)


def _height(n_rows: int) -> float:
    return max(3.0, min(0.38 * n_rows + 1.8, 14.0))


def _pct(value: float, lang: str, decimals: int = 0) -> str:
    from ..formatting import fmt_pct  # noqa: PLC0415

    return fmt_pct(value, lang, decimals)


def _int(value: float, lang: str) -> str:
    from ..formatting import fmt_int  # noqa: PLC0415

    return fmt_int(value, lang)


def plot_rates(
    table: pd.DataFrame,
    y: str | None = None,
    *,
    lang: str | None = None,
    title: str | None = None,
    national: float | bool | None = None,
    source: str | None = None,
    min_n: int | None = None,
    highlight: object | Sequence[object] | None = None,
    show_n: bool = True,
) -> Figure:
    """Positive-exit rates as points with their 95 % interval, one line per group.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`toolkit.indicators.positive_exit_rates` (columns
        ``rate``, ``ci_low``, ``ci_high``, ``n_known``) with one grouping column.
    y : str, optional
        The grouping column (default: the table's only grouping column).
    national : float, bool or None
        Reference line: a proportion; None takes the table's ``national``
        column when it holds a single value; False draws none.
    min_n : int, optional
        Groups with fewer exits of known outcome are not drawn (and counted
        in the source line), e.g. ``config.DEFAULT_MIN_CELL``.
    highlight : value or list, optional
        Group(s) to emphasise (marker colour and bold label).
    show_n : bool
        Append "(n = …)", the exits of known outcome, to each group label.

    Returns
    -------
    Figure
        One axes: rates on x (0 to 100 %), groups on y in table order, one
        error-bar container whose segments are (ci_low, ci_high). The figure
        has an ``alt_text`` attribute describing it for screen readers.
    """
    lang = _lang(lang)
    what = "plot_rates"
    _require_columns(table, ["rate", "ci_low", "ci_high", "n_known"], what)
    groups = _group_columns(table)
    if y is None:
        if len(groups) != 1:
            raise E2CError(f"{what} : précisez y parmi les colonnes de regroupement ({', '.join(groups) or 'aucune'}).")
        y = groups[0]
    _require_columns(table, [y], what)
    if table[y].duplicated().any():
        raise E2CError(f"{what} : plusieurs lignes pour une même valeur de {y!r} ; filtrez le tableau d'abord.")
    text = _words(lang)
    notes = []
    shown = table[table["rate"].notna()]
    if len(shown) < len(table):
        notes.append(text["no_data"].format(len(table) - len(shown)))
    if min_n is not None:
        kept = shown[shown["n_known"] >= min_n]
        if len(kept) < len(shown):
            notes.append(text["hidden"].format(len(shown) - len(kept), _int(min_n, lang)))
        shown = kept
    if national is None and "national" in table.columns:
        values = table["national"].dropna().unique()
        national = float(values[0]) if len(values) == 1 else None
    national = None if national is False else national

    fig, ax = new_figure((FIGSIZE[0], _height(len(shown))))
    positions = np.arange(len(shown))
    rate = shown["rate"].to_numpy(dtype=float)
    low = shown["ci_low"].to_numpy(dtype=float)
    high = shown["ci_high"].to_numpy(dtype=float)
    ax.errorbar(
        rate,
        positions,
        xerr=[rate - low, high - rate],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[0],
        elinewidth=1.6,
        capsize=3,
        markersize=6,
    )
    labels = [_code_label(y, code, lang) for code in shown[y]]
    if show_n:
        labels = [f"{name} ({text['n'].format(_int(n, lang))})" for name, n in zip(labels, shown["n_known"])]
    ax.set_yticks(positions, labels)
    targets = set(np.atleast_1d(np.asarray(highlight, dtype=object))) if highlight is not None else set()
    for pos, code, tick in zip(positions, shown[y], ax.get_yticklabels()):
        if code in targets:
            ax.plot(rate[pos], pos, "o", color=HIGHLIGHT, markersize=8, zorder=3)
            tick.set_fontweight("bold")
    if national is not None:
        year = ""
        if "national_year" in table.columns and table["national_year"].notna().any():
            year = str(int(table["national_year"].dropna().iloc[0]))
        ax.axvline(
            national,
            color=REFERENCE,
            linestyle="--",
            linewidth=1.2,
            label=text["national_year"].format(year, _pct(national, lang)).replace("  ", " "),
        )
    ax.set_ylim(len(shown) - 0.5, -0.5)  # first row at the top
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(percent_formatter(lang))
    name = column_label(y, lang)
    _finish(
        fig,
        ax,
        title or text["rate_by"].format(_lower_first(name)),
        text["rate_axis"],
        name,
        source,
        notes,
        lang,
        national is not None,
    )
    span = text["range"].format(_pct(np.nanmin(rate), lang), _pct(np.nanmax(rate), lang)) if len(rate) else ""
    fig.alt_text = (
        f"{title or text['rate_by'].format(_lower_first(name))} : {text['groups'].format(len(shown))}, {span}"
        + (f" ; {text['national'].lower()} {_pct(national, lang)}" if national is not None else "")
        + "."
    )
    return fig


def plot_exit_mix(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    lang: str | None = None,
    title: str | None = None,
    national: bool = True,
    source: str | None = None,
    min_n: int | None = None,
    reference: dict | pd.Series | None = None,
    reference_label: str | None = None,
) -> Figure:
    """The exit mix: where trainees went (job, work-study, training, other).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`toolkit.indicators.exit_mix`, with no grouping
        column (one bar per category, with CIs and the 2024 national shares
        as black diamonds) or one (``by``: 100 % stacked horizontal bars, one
        per group).
    min_n : int, optional
        Groups with fewer exits of known type are not drawn.
    reference : mapping or Series, optional
        National shares by category to draw as diamonds instead of the
        network's published 2024 shares (a report compares a region with the
        country in the same data), labelled ``reference_label``.

    Returns
    -------
    Figure
        One bar per (group, category) row of ``table`` other than ``unknown``
        (minus hidden groups). Unknown exits are outside the shares; their
        number is given in the source line. ``alt_text`` attribute set.
    """
    lang = _lang(lang)
    what = "plot_exit_mix"
    _require_columns(table, ["category", "n", "n_known", "n_exits", "share", "ci_low", "ci_high"], what)
    text = _words(lang)
    groups = _group_columns(table)
    if by is None and groups:
        if len(groups) > 1:
            raise E2CError(f"{what} : précisez by parmi {', '.join(groups)}.")
        by = groups[0]
    category = table["category"].astype("object")
    unknown = table[category == "unknown"]
    known = table[category != "unknown"]
    n_unknown = int(unknown["n"].sum())
    if len(unknown):
        n_exits = int(unknown["n_exits"].sum())
    elif groups:
        n_exits = int(known.drop_duplicates(groups)["n_exits"].sum())
    else:
        n_exits = int(known["n_exits"].iloc[0]) if len(known) else 0
    notes = []
    if n_unknown:
        notes.append(text["unknown_mix"].format(_int(n_unknown, lang), _pct(n_unknown / n_exits, lang, 1)))
    from ..schema import EXIT_CATEGORIES  # noqa: PLC0415

    if by is None:
        fig, ax = new_figure()
        positions = np.arange(len(known))
        share = known["share"].to_numpy(dtype=float)
        colours = [EXIT_COLOURS.get(c, NEUTRAL) for c in known["category"].astype("object")]
        ax.bar(positions, share, color=colours, width=0.6)
        ax.errorbar(
            positions,
            share,
            yerr=[share - known["ci_low"].to_numpy(dtype=float), known["ci_high"].to_numpy(dtype=float) - share],
            fmt="none",
            ecolor="#333333",
            capsize=4,
            elinewidth=1.2,
        )
        drew_national = False
        if national:
            from ..indicators import NATIONAL_BENCHMARKS  # noqa: PLC0415

            ref = NATIONAL_BENCHMARKS["exit_mix"].set_index("category")["share"] if reference is None else reference
            values = known["category"].astype("object").map(pd.Series(ref)).to_numpy(dtype=float)
            if np.isfinite(values).any():
                label = text["mix_national"] if reference is None else literal(reference_label or text["national"])
                ax.plot(positions, values, "D", color=REFERENCE, markersize=7, linestyle="none", label=label)
                drew_national = reference is None  # the network's figures: named in the source line
        ax.set_xticks(positions, [_code_label("exit_category", c, lang) for c in known["category"]])
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(percent_formatter(lang))
        _finish(
            fig,
            ax,
            title or text["mix"],
            column_label("category", lang),
            text["mix_axis"],
            source,
            notes,
            lang,
            drew_national,
        )
        parts = [f"{_code_label('exit_category', c, lang)} {_pct(s, lang)}" for c, s in zip(known["category"], share)]
        fig.alt_text = f"{title or text['mix']} : " + ", ".join(parts) + "."
        return fig

    _require_columns(table, [by], what)
    pivot = known.pivot_table(index=by, columns="category", values="share", observed=True, sort=False, dropna=False)
    sizes = known.drop_duplicates(by).set_index(by)["n_known"]
    order = [g for g in known[by].drop_duplicates()]
    if min_n is not None:
        kept = [g for g in order if sizes.loc[g] >= min_n]
        if len(kept) < len(order):
            notes.append(text["hidden"].format(len(order) - len(kept), _int(min_n, lang)))
        order = kept
    order = [g for g in order if sizes.loc[g] > 0]
    fig, ax = new_figure((FIGSIZE[0], _height(len(order))))
    positions = np.arange(len(order))
    left = np.zeros(len(order))
    categories = [c for c in EXIT_CATEGORIES if c in pivot.columns and c != "unknown"]
    for cat in categories:
        values = pivot.reindex(order)[cat].to_numpy(dtype=float) if order else np.zeros(0)
        ax.barh(
            positions,
            values,
            left=left,
            color=EXIT_COLOURS[cat],
            height=0.65,
            label=_code_label("exit_category", cat, lang),
        )
        left = left + np.nan_to_num(values)
    labels = [f"{_code_label(by, g, lang)} ({text['n'].format(_int(sizes.loc[g], lang))})" for g in order]
    ax.set_yticks(positions, labels)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(percent_formatter(lang))
    name = column_label(by, lang)
    _finish(
        fig, ax, title or text["mix_by"].format(_lower_first(name)), text["mix_axis"], name, source, notes, lang, False
    )
    fig.alt_text = f"{title or text['mix_by'].format(_lower_first(name))} : {text['groups'].format(len(order))}."
    return fig


def plot_trend(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    lang: str | None = None,
    title: str | None = None,
    national: bool = True,
    source: str | None = None,
    min_n: int | None = None,
    label: str | None = None,
    reference_label: str | None = None,
) -> Figure:
    """Positive-exit rate by year, with 95 % intervals and the national rate.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`toolkit.indicators.trend` (a ``cohort_year`` or
        ``exit_year`` column, optionally one more grouping column ``by``).
    national : bool
        Draw the published national rates (the table's ``national`` column)
        as a black dashed line with diamonds, for the years that have one.
    min_n : int, optional
        Points resting on fewer exits of known outcome are not drawn.
    label, reference_label : str, optional
        Legend entries of the single line (default "Taux de sorties
        positives") and of the ``national`` column when it is not the
        network's published rate but, for instance, the country in the same
        data (the source line then does not cite the network).

    Returns
    -------
    Figure
        One error-bar container per line (one line when ``by`` is None);
        x = years, y = rate (0 to 100 %). ``alt_text`` attribute set.
    """
    lang = _lang(lang)
    what = "plot_trend"
    _require_columns(table, ["rate", "ci_low", "ci_high", "n_known"], what)
    text = _words(lang)
    year = next((c for c in ("cohort_year", "exit_year") if c in table.columns), None)
    if year is None:
        raise E2CError(f"{what} : le tableau doit contenir 'cohort_year' ou 'exit_year' (voir indicators.trend).")
    others = [c for c in _group_columns(table) if c != year]
    if by is None and others:
        if len(others) > 1:
            raise E2CError(f"{what} : précisez by parmi {', '.join(others)}.")
        by = others[0]
    notes = []
    shown = table[table["rate"].notna()]
    if min_n is not None:
        kept = shown[shown["n_known"] >= min_n]
        if len(kept) < len(shown):
            notes.append(text["hidden"].format(len(shown) - len(kept), _int(min_n, lang)))
        shown = kept
    fig, ax = new_figure()
    series = [(None, shown)] if by is None else list(shown.groupby(by, sort=False, observed=True, dropna=False))
    step = 0.08 if len(series) > 1 else 0.0
    for i, (group, part) in enumerate(series):
        x = part[year].to_numpy(dtype=float) + (i - (len(series) - 1) / 2) * step
        r = part["rate"].to_numpy(dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        ax.errorbar(
            x,
            r,
            yerr=[r - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - r],
            fmt="-o",
            color=colour,
            capsize=3,
            markersize=5,
            label=literal(label or text["rate"]) if group is None else _code_label(by, group, lang),
        )
    drew_national = False
    if national and "national" in table.columns:
        ref = table[[year, "national"]].dropna().drop_duplicates(year).sort_values(year)
        if len(ref):
            ax.plot(
                ref[year].to_numpy(dtype=float),
                ref["national"].to_numpy(dtype=float),
                linestyle="--",
                marker="D",
                color=REFERENCE,
                markersize=5,
                linewidth=1.2,
                label=literal(reference_label or text["national"]),
            )
            drew_national = reference_label is None
    years = sorted(int(v) for v in table[year].dropna().unique())
    if years:
        ax.set_xticks(years, [str(v) for v in years])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(percent_formatter(lang))
    _finish(
        fig,
        ax,
        title or text["trend"],
        text[year],
        text["rate_axis"],
        source,
        notes,
        lang,
        drew_national,
        legend_title=None if by is None else column_label(by, lang),
    )
    fig.alt_text = f"{title or text['trend']} : {text['years'].format(len(years))}" + (
        f", {text['range'].format(years[0], years[-1])}." if years else "."
    )
    return fig
