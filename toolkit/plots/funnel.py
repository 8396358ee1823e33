"""Funnel plot of a fair comparison (:func:`toolkit.compare.compare_units`).

Each unit is a point: its observed / expected ratio (or its risk-adjusted
rate) against its expected number of positive exits. The 95 % and 99.8 %
control limits narrow as units grow, which draws the funnel. Points outside
the 99.8 % limits are marked by their shape (triangle up / down), not only by
colour; highlighted units are vermillion and labelled, the others grey
(Okabe–Ito colours, never red against green).

The curves are drawn for a unit of average intake (null variance of O/E =
k / E, with k = Σ V / Σ E over the units shown, times the overdispersion
adjustment); each unit's flag in the table uses its own variance, so a point
lying right on a curve may be flagged either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from ..errors import E2CError
from ..formatting import column_label, fmt_int, fmt_number
from ..i18n import LANGUAGES, N_, _, translated, use_language
from . import (
    FIGSIZE,
    HIGHLIGHT,
    NEUTRAL,
    OKABE_ITO,
    REFERENCE,
    StepFormatter,
    add_source,
    literal,
    new_figure,
)

__all__ = ["funnel_plot"]

LIMIT_COLOUR = OKABE_ITO["blue"]
_MARKERS = {"within": "o", "above": "^", "below": "v"}

# French messages (translated by toolkit.i18n: English in locale/en/LC_MESSAGES/plots.po)
_TEXT = {
    "title": N_("Sorties positives observées / attendues, par {}"),
    "title_rate": N_("Taux de sorties positives ajusté sur le profil, par {}"),
    "x": N_("Sorties positives attendues compte tenu du profil des stagiaires"),
    "y": N_("Rapport observé / attendu"),
    "y_rate": N_("Taux ajusté sur le profil"),
    "l95": N_("Limites à 95 %"),
    "l998": N_("Limites à 99,8 %"),
    "target": N_("Comme attendu au niveau national"),
    "others": N_("Autres unités"),
    "highlight": N_("Unité(s) mise(s) en évidence"),
    "region": N_("{} de la région {}"),
    "above": N_("Au-dessus de la limite à 99,8 %"),
    "below": N_("En dessous de la limite à 99,8 %"),
    "source": N_("exports des écoles E2C, calculs du toolkit E2C"),
    "method": {
        "additive": N_("limites élargies pour la dispersion entre unités (effet aléatoire additif, τ² = {})"),
        "multiplicative": N_("limites élargies pour la dispersion entre unités (facteur φ = {})"),
        None: N_("limites sans ajustement de surdispersion"),
    },
    "model": N_("attendu : modèle national du profil à l'entrée"),
    "hidden": N_("{} unité(s) de moins de {} sorties non affichée(s)"),
    "units": {
        "site": N_("site"),
        "school": N_("école"),
        "region": N_("région"),
    },
    "plural": {
        "site": N_("Sites"),
        "school": N_("Écoles"),
        "region": N_("Régions"),
    },
}


def _words(lang: str) -> dict:
    """The plot's words in ``lang``."""
    return translated(_TEXT, lang)


_REQUIRED = ["n", "observed", "expected", "oe_ratio", "adjusted_rate", "se", "flag998"]


def funnel_plot(
    comparison: pd.DataFrame,
    highlight: object | Sequence[object] | None = None,
    highlight_region: str | None = None,
    lang: str = "fr",
    min_n: int | None = None,
    *,
    scale: str = "ratio",
    title: str | None = None,
    source: str | None = None,
    label_max: int = 8,
) -> Figure:
    """Funnel plot of a :func:`~toolkit.compare.compare_units` table.

    Parameters
    ----------
    comparison : DataFrame returned by ``compare_units`` (its ``.attrs`` carry the
        overdispersion adjustment and the national rate).
    highlight : unit name(s) to mark and label.
    highlight_region : a region whose units (sites or schools) are all marked and labelled.
    lang : "fr" (default) or "en".
    min_n : units with fewer exits of known outcome are not drawn (counted in the source line),
        e.g. ``config.DEFAULT_MIN_CELL``.
    scale : "ratio" (O/E, default) or "rate" (risk-adjusted rate = O/E × national rate).
    label_max : when more units are highlighted, only those outside the 95 % limits are labelled.

    Returns
    -------
    Figure
        One axes: x = expected positive exits, y = O/E (or adjusted rate);
        two pairs of limit curves (95 % dashed, 99.8 % solid), a reference line
        at 1 (or the national rate), grey points for other units and vermillion
        points for highlighted ones (shape = 99.8 % flag). ``alt_text`` attribute set.
    """
    if lang not in LANGUAGES:
        raise E2CError(f"Langue inconnue : {lang!r}. Langues disponibles : 'fr', 'en'.")
    if scale not in ("ratio", "rate"):
        raise E2CError(f"funnel_plot : échelle inconnue {scale!r} (ratio ou rate).")
    if not isinstance(comparison, pd.DataFrame):
        raise E2CError("funnel_plot : attendu le tableau renvoyé par compare_units.")
    missing = [c for c in _REQUIRED if c not in comparison.columns]
    by = comparison.attrs.get("by") or comparison.columns[0]
    if missing or by not in comparison.columns:
        raise E2CError(
            f"funnel_plot : colonnes absentes du tableau : {', '.join(missing or [by])} "
            "(attendu : le résultat de compare_units)."
        )
    if highlight_region is not None and "region" not in comparison.columns:
        raise E2CError(
            "funnel_plot : highlight_region demande une colonne « region » (comparaison de sites ou d'écoles)."
        )
    text = _words(lang)
    attrs = comparison.attrs
    phi = float(attrs.get("phi_used", 1.0))
    tau2 = float(attrs.get("tau2_used", 0.0))
    national = float(attrs.get("national_rate", np.nan))
    factor = national if scale == "rate" else 1.0
    if scale == "rate" and not np.isfinite(national):
        raise E2CError("funnel_plot : le taux national est absent des attributs du tableau (attrs['national_rate']).")

    notes = []
    shown = comparison[comparison["expected"] > 0]
    if min_n is not None:
        kept = shown[shown["n"] >= min_n]
        if len(kept) < len(shown):
            notes.append(text["hidden"].format(len(shown) - len(kept), fmt_int(min_n, lang)))
        shown = kept
    targets = set()
    if highlight is not None:
        targets |= {str(v) for v in np.atleast_1d(np.asarray(highlight, dtype=object))}
    if highlight_region is not None:
        targets |= set(shown.loc[shown["region"].astype(str) == str(highlight_region), by].astype(str))
    unit_names = shown[by].astype(str)
    is_target = unit_names.isin(targets).to_numpy()

    fig, ax = new_figure(FIGSIZE)
    # Limit curves for a unit of average intake: var(O/E) = k / E.
    variance = (shown["se"] * shown["expected"]) ** 2
    k = float(variance.sum() / shown["expected"].sum()) if len(shown) else 1.0
    x_max = float(shown["expected"].max()) * 1.05 if len(shown) else 1.0
    x_min = max(float(shown["expected"].min()) * 0.25, 1.0) if len(shown) else 1.0
    grid = np.geomspace(x_min, max(x_max, x_min * 1.01), 300)
    for level, style, key in ((0.95, "--", "l95"), (0.998, "-", "l998")):
        z = stats.norm.ppf(0.5 + level / 2)
        half = z * np.sqrt(phi * k / grid + tau2)
        ax.plot(grid, (1 + half) * factor, style, color=LIMIT_COLOUR, linewidth=1.3, label=text[key])
        ax.plot(grid, np.maximum(1 - half, 0) * factor, style, color=LIMIT_COLOUR, linewidth=1.3)
    ax.axhline(factor, color=REFERENCE, linewidth=1.0, linestyle=":", label=text["target"])

    y_col = "adjusted_rate" if scale == "rate" else "oe_ratio"
    plot_frame = pd.DataFrame(
        {
            "expected": shown["expected"].to_numpy(dtype=float),
            "y": shown[y_col].to_numpy(dtype=float),
            "flag": shown["flag998"].astype(str).to_numpy(),
            "group": np.where(is_target, "target", "other"),
        }
    )
    for group, colour, size, alpha, z_order in (("other", NEUTRAL, 45, 0.75, 2), ("target", HIGHLIGHT, 80, 1.0, 3)):
        for flag, marker in _MARKERS.items():
            part = plot_frame[(plot_frame["group"] == group) & (plot_frame["flag"] == flag)]
            if len(part):  # triangles drawn larger: they carry the flag without colour
                sns.scatterplot(
                    data=part,
                    x="expected",
                    y="y",
                    marker=marker,
                    color=colour,
                    s=size * (1 if flag == "within" else 1.8),
                    alpha=alpha,
                    edgecolor="white",
                    linewidth=0.6,
                    ax=ax,
                    legend=False,
                    zorder=z_order,
                )
    if is_target.any():
        # Label every highlighted unit when few; otherwise only those outside the 95 % limits.
        labelled = is_target.copy()
        if is_target.sum() > label_max:
            labelled &= (shown["flag95"] != "within").to_numpy() if "flag95" in shown else labelled
        names = unit_names[labelled].to_numpy()
        xs, ys = plot_frame.loc[labelled, "expected"].to_numpy(), plot_frame.loc[labelled, "y"].to_numpy()
        for name, x, y in zip(names, xs, ys):
            ax.annotate(literal(name), (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8.5, color="#202020")
    if highlight_region is not None:
        target_label = text["region"].format(text["plural"].get(by, by), literal(highlight_region))
    else:
        target_label = text["highlight"]
    handles, _labels = ax.get_legend_handles_labels()
    # Legend entries only for what is drawn.
    drawn = [
        (bool((~is_target).any()), "o", NEUTRAL, text["others"]),
        (bool(is_target.any()), "o", HIGHLIGHT, target_label),
        (bool((plot_frame["flag"] == "above").any()), "^", "#404040", text["above"]),
        (bool((plot_frame["flag"] == "below").any()), "v", "#404040", text["below"]),
    ]
    handles += [Line2D([], [], marker=m, linestyle="", color=c, label=lab) for shown_, m, c, lab in drawn if shown_]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8.5)
    unit_word = text["units"].get(by, by)
    ax.set_title(
        literal(title) if title else (text["title_rate"] if scale == "rate" else text["title"]).format(unit_word)
    )
    ax.set_xlabel(text["x"])
    ax.set_ylabel(text["y_rate"] if scale == "rate" else text["y"])
    ax.set_xlim(0, x_max)
    # Keep the points and the funnel's neck in view without the curves' blow-up near 0.
    if len(plot_frame):
        z998 = stats.norm.ppf(0.999)
        neck = z998 * np.sqrt(phi * k / max(float(shown["expected"].min()) * 0.5, x_min) + tau2)
        low = min(np.nanmin(plot_frame["y"]) / factor, 1 - neck)
        high = max(np.nanmax(plot_frame["y"]) / factor, 1 + neck)
        pad = 0.05 * (high - low)
        ax.set_ylim(max(low - pad, 0) * factor, (high + pad) * factor)
    # Tick labels with the decimals their spacing needs: a narrow range (the regions' O/E,
    # 0,96 to 1,04) would otherwise repeat "1,0" down the axis.
    ax.xaxis.set_major_formatter(StepFormatter(lang))
    if scale == "rate":
        ax.yaxis.set_major_formatter(StepFormatter(lang, percent=True))
    else:
        ax.yaxis.set_major_formatter(StepFormatter(lang, 1))
    method = attrs.get("method")
    value = fmt_number(tau2 if method == "additive" else phi, lang, 4 if method == "additive" else 2)
    parts = [
        source or text["source"],
        text["model"],
        text["method"].get(method, text["method"][None]).format(value),
        *notes,
    ]
    fig.tight_layout()
    add_source(fig, (" ; " if lang == "fr" else "; ").join(parts) + ".", lang)
    above = int((plot_frame["flag"] == "above").sum())
    below = int((plot_frame["flag"] == "below").sum())
    with use_language(lang):
        highlighted = ", ".join(sorted(targets & set(unit_names))) if is_target.any() else ""
        fig.alt_text = _(
            "Graphique en entonnoir de {n} unités ({units}) : {above} au-dessus et {below} en dessous des limites "
            "à 99,8 %",
            n=len(plot_frame),
            units=column_label(by, lang).lower(),
            above=above,
            below=below,
        )
        fig.alt_text += (_(" ; unités mises en évidence : {names}", names=highlighted) if highlighted else "") + "."
    return fig
