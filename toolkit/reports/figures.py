"""Figures of a report, drawn from their content by :mod:`toolkit.plots` when a page is rendered.

A figure plots only what the tables publish: a point whose ratio or count is
hidden is dropped before drawing, and the alt text describes the points drawn.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd

from ..i18n import _
from .content import FigureData
from .words import Words

__all__ = ["DrawnFigure", "draw_figure", "svg_data_uri"]


@dataclass
class DrawnFigure:
    """A figure ready for the page: SVG as a data URI, size, alt text, caption, and the data plotted."""

    src: str
    width: int
    height: int
    alt: str
    caption: str
    points: pd.DataFrame


def _shown(figure: FigureData, words: Words) -> pd.DataFrame:
    points = figure.points.reset_index(drop=True)
    if not figure.keys:
        return points
    keep = np.array([not words.hidden(k) for k in figure.keys], dtype=bool)
    return points[keep].reset_index(drop=True)


def draw_figure(figure: FigureData, words: Words) -> DrawnFigure:
    """Draw one figure of the content (``kind``: exit_mix, trend, funnel, regions) as SVG.

    Vector, so that it stays sharp when a phone zooms in and on paper; its text stays text (in
    the sans-serif the browser has, nothing fetched), so that a PDF of the page can be searched
    and read aloud, and the data URI stays small.
    """
    shown = _shown(figure, words)
    fig, alt, points = _DRAW[figure.kind](figure, shown, words)
    src, width, height = svg_data_uri(fig)
    return DrawnFigure(src, width, height, alt, words.text(figure.caption), points)


_SVG_SIZE = re.compile(rb'<svg[^>]*?\bwidth="([0-9.]+)pt"[^>]*?\bheight="([0-9.]+)pt"')


def svg_data_uri(fig) -> tuple[str, int, int]:
    """``fig`` as an SVG data URI, and its size in CSS pixels (SVG points × 4/3).

    Reproducible: no creation date in the metadata and fixed element ids, so the same figure
    gives the same bytes (a page's checksum changes only when its content does).
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "e2c", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", facecolor="white", metadata={"Date": None})
    data = buffer.getvalue()
    match = _SVG_SIZE.search(data)
    if match:
        width, height = (round(float(v) * 4 / 3) for v in match.groups())
    else:  # pragma: no cover - matplotlib always writes the size in points
        width, height = (int(v) for v in fig.get_size_inches() * 96)
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii"), width, height


def _exit_mix(figure: FigureData, shown: pd.DataFrame, words: Words):
    from ..plots import plot_exit_mix

    region, lang = figure.params["region"], words.lang
    table = shown.assign(n_exits=shown["n"].sum(), n_known=shown["n"].sum(), ci_low=np.nan, ci_high=np.nan)
    table = table.assign(ci_low=table["share"], ci_high=table["share"])
    fig = plot_exit_mix(
        table[["category", "n", "n_exits", "n_known", "share", "ci_low", "ci_high"]],
        lang=lang,
        title=_("Situation à la sortie : {region} et national", region=region),
        source=words.text(figure.params["source"]),
        reference=dict(zip(shown["category"], shown["national"])),
        reference_label=_("National"),
    )
    if len(shown):
        top = shown.loc[shown["share"].idxmax()]
        alt = _(
            "Diagramme en barres : la première situation à la sortie dans la région est « {label} » ({share} des "
            "sorties à la situation connue, {national} au niveau national).",
            label=words.code_label("exit_category", top["category"]),
            share=words.pct(top["share"]),
            national=words.pct(top["national"]),
        )
    else:
        alt = _("Diagramme vide : trop peu de sorties pour publier la répartition.")
    return fig, alt, shown[["category", "n"]]


def _trend(figure: FigureData, shown: pd.DataFrame, words: Words):
    from ..plots import plot_trend

    region, lang = figure.params["region"], words.lang
    years = figure.reference.rename(columns={"cohort_year": "year"})
    table = years.merge(shown, on="year", how="left").rename(columns={"year": "cohort_year", "n": "n_known"})
    fig = plot_trend(
        table[["cohort_year", "rate", "ci_low", "ci_high", "n_known", "national"]],
        lang=lang,
        title=_("Taux de sorties positives par année d’entrée : {region}", region=region),
        source=words.text(figure.params["source"]),
        label=region,
        reference_label=_("National"),
    )
    if len(shown):
        national = shown["year"].map(dict(zip(years["year"], years["national"])))
        gap = float(np.nanmean(shown["rate"] - national))
        where = _("proche du") if abs(gap) < 0.03 else _("au-dessus du") if gap > 0 else _("en dessous du")
        alt = _(
            "Courbe : de {first} à {last}, le taux de sorties positives de la région varie entre {low} et {high}, en "
            "moyenne {where} taux national.",
            first=int(shown["year"].min()),
            last=int(shown["year"].max()),
            low=words.pct(shown["rate"].min()),
            high=words.pct(shown["rate"].max()),
            where=where,
        )
    else:
        alt = _("Courbe vide : trop peu de sorties par année.")
    return fig, alt, shown[["year", "n"]]


def _funnel(figure: FigureData, shown: pd.DataFrame, words: Words):
    from ..plots.funnel import funnel_plot
    from .region_content import short_site

    params = figure.params
    drawn = shown.assign(site=shown["site"].map(short_site))
    drawn.attrs = dict(params["attrs"])
    fig = funnel_plot(
        drawn,
        highlight_region=params["region"],
        lang=words.lang,
        min_n=params["min_cell"],
        title=_("Sites de {region} sur l’entonnoir national", region=params["region"]),
        source=words.text(params["source"]),
    )
    outside = int((shown["flag95"] != "within").sum())
    k_small, k_secret = int(params["k_hidden"]), len(figure.points) - len(shown)
    hidden = (
        " " + _("{k} site(s) de moins de {m} sorties ne sont pas représentés.", k=k_small, m=params["min_cell"])
        if k_small
        else ""
    )
    if k_secret:  # their O/E is hidden in the table: a figure shows only what the tables publish
        hidden += " " + _("{k} site(s) dont le rapport O/A est masqué ne sont pas représentés.", k=k_secret)
    alt = _(
        "Graphique en entonnoir : {inside} des {n} sites de la région sont dans les limites à 95 % autour du niveau "
        "national, {outside} en dehors.{hidden}",
        inside=len(shown) - outside,
        n=len(shown),
        outside=outside,
        hidden=hidden,
    )
    return fig, alt, shown[["site", "n"]]


def _regions(figure: FigureData, shown: pd.DataFrame, words: Words):
    from ..plots.regions import plot_regions

    highlight = figure.params.get("highlight")
    fig = plot_regions(shown, highlight, source=words.text(figure.params["source"]))
    above = shown.loc[shown["flag95"] == "above", "region"].astype(str).tolist()
    below = shown.loc[shown["flag95"] == "below", "region"].astype(str).tolist()
    alt = _("Graphique des {n} régions : rapport observé / attendu et limites à 95 %.", n=len(shown)) + " "
    alt += (
        _("Au-dessus de l’attendu : {regions}.", regions=", ".join(above))
        if above
        else _("Aucune région au-dessus de l’attendu.")
    ) + " "
    alt += _("En dessous : {regions}.", regions=", ".join(below)) if below else _("Aucune en dessous.")
    row = shown[shown["region"] == highlight] if highlight else shown.iloc[0:0]
    if len(row):
        alt += " " + _("{region} : {ratio}.", region=highlight, ratio=words.decimal(row["oe_ratio"].iat[0], 2))
    return fig, alt, shown[["region", "n"]]


_DRAW = {"exit_mix": _exit_mix, "trend": _trend, "funnel": _funnel, "regions": _regions}
