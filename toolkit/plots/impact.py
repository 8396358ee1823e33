"""Impact plots: love plot (balance), propensity-score overlap, effects by subgroup.

Each function returns a :class:`matplotlib.figure.Figure` with a title, axis
labels and a source line, drawn with the toolkit theme (Okabe–Ito colours,
French by default). They read aggregated tables only (balance, overlap
histogram, effects table), never trainee-level rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..errors import E2CError
from ..formatting import column_label, fmt_number
from ..i18n import N_, _, check_lang, current_language, use_language
from ..schema import label as code_label
from . import OKABE_ITO, REFERENCE, add_source, new_figure, number_formatter

__all__ = ["love_plot", "overlap_plot", "effects_plot", "covariate_label"]

BEFORE = OKABE_ITO["orange"]
AFTER = OKABE_ITO["blue"]
TREATED = OKABE_ITO["blue"]
CONTROL = OKABE_ITO["orange"]

_SOURCE = N_("estimations de l'outil E2C, données de l'évaluation")

_LEVEL = re.compile(r"^(?P<column>[^\[]+)\[(?P<level>.*)\]$")


def covariate_label(name: str, lang: str | None = None) -> str:
    """Label for people of a balance row: ``education_level[niveau_3]`` → "Niveau de formation : Niveau 3 (CAP/BEP)"
    (in ``lang``, default the current language)."""
    with use_language(lang or current_language()):
        match = _LEVEL.match(name)
        if match is None:
            return column_label(name)
        column, level = match["column"], match["level"]
        return _(
            "{column}\u00a0: {level}", column=column_label(column), level=code_label(column, level, current_language())
        )


def _balance_table(balance) -> pd.DataFrame:
    table = getattr(balance, "balance", balance)
    if not isinstance(table, pd.DataFrame) or not {"smd_before", "smd_after"} <= set(table.columns):
        raise E2CError(
            _("love_plot : un tableau d'équilibre (colonnes smd_before, smd_after) ou un ATTResult est attendu.")
        )
    return table


def love_plot(
    balance, threshold: float = 0.1, lang: str | None = None, source: str | None = None, title: str | None = None
) -> Figure:
    """Love plot: absolute SMD of each covariate before and after adjustment, with a guide line.

    Parameters
    ----------
    balance : ATTResult or DataFrame
        A result of :func:`toolkit.impact.estimate_att` or its ``.balance``.
    threshold : float
        Guide line (0.1: the usual bound of acceptable imbalance).
    lang : {"fr", "en"}, optional
        Default: the current language (:mod:`toolkit.i18n`).
    source, title : str, optional
        Source line and title (defaults in the language).
    """
    lang = check_lang(lang) if lang else current_language()
    with use_language(lang):
        table = _balance_table(balance)
        order = table["smd_before"].abs().sort_values().index
        before = table.loc[order, "smd_before"].abs().to_numpy()
        after = table.loc[order, "smd_after"].abs().to_numpy()
        labels = [covariate_label(str(name), lang) for name in order]
        ypos = np.arange(len(order))
        fig, ax = new_figure(figsize=(8.0, max(3.0, 0.32 * len(order) + 1.6)))
        ax.hlines(ypos, np.minimum(before, after), np.maximum(before, after), color="#BBBBBB", lw=1, zorder=1)
        ax.scatter(
            before,
            ypos,
            facecolors="white",
            edgecolors=BEFORE,
            marker="o",
            s=40,
            lw=1.5,
            zorder=2,
            label=_("Avant ajustement"),
        )
        ax.scatter(after, ypos, color=AFTER, marker="D", s=32, zorder=3, label=_("Après ajustement"))
        ax.axvline(
            threshold,
            color=REFERENCE,
            ls="--",
            lw=1,
            label=_("Seuil {threshold}", threshold=fmt_number(threshold, lang, 1)),
        )
        ax.set_yticks(ypos, labels)
        ax.set_xlim(left=0)
        ax.xaxis.set_major_formatter(number_formatter(lang, 2))
        ax.set_xlabel(_("Différence standardisée des moyennes (valeur absolue)"))
        ax.set_ylabel("")
        ax.set_title(title or _("Équilibre des caractéristiques avant et après ajustement"))
        ax.legend(loc="lower right")
        fig.tight_layout()
        add_source(fig, source or _(_SOURCE), lang)
        over = [labels[i] for i in range(len(order)) if after[i] > threshold]
        fig.alt_text = _(
            "Écarts standardisés de {k} caractéristiques entre stagiaires et groupe de comparaison : au plus "
            "{before} avant ajustement, {after} après (seuil {threshold}).",
            k=len(order),
            before=fmt_number(before.max() if len(before) else 0, lang, 2),
            after=fmt_number(after.max() if len(after) else 0, lang, 2),
            threshold=fmt_number(threshold, lang, 1),
        ) + (" " + _("Au-dessus du seuil après ajustement : {names}.", names=", ".join(over)) if over else "")
        return fig


def overlap_plot(result, lang: str | None = None, source: str | None = None, title: str | None = None) -> Figure:
    """Mirrored histograms of the propensity score: E2C above the axis, comparison group below.

    Reads ``result.overlap`` (an :class:`toolkit.impact.Overlap`) or an
    ``Overlap`` directly; the common support is shaded.
    """
    lang = check_lang(lang) if lang else current_language()
    with use_language(lang):
        overlap = getattr(result, "overlap", result)
        hist = getattr(overlap, "histogram", None)
        if hist is None:
            raise E2CError(_("overlap_plot : un ATTResult ou un objet Overlap est attendu."))
        width = (hist["bin_right"] - hist["bin_left"]).to_numpy()
        left = hist["bin_left"].to_numpy()
        fig, ax = new_figure()
        low, high = overlap.support
        ax.axvspan(low, high, color="#E3E3E3", zorder=0, label=_("Support commun"))
        ax.bar(
            left,
            hist["treated"].to_numpy() * 100,
            width=width,
            align="edge",
            color=TREATED,
            edgecolor="white",
            label=_("E2C"),
        )
        ax.bar(
            left,
            -hist["control"].to_numpy() * 100,
            width=width,
            align="edge",
            color=CONTROL,
            edgecolor="white",
            label=_("Groupe de comparaison"),
        )
        ax.axhline(0, color=REFERENCE, lw=0.8)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(number_formatter(lang, 1))
        top = float(max(hist["treated"].max(), hist["control"].max())) * 100
        ax.set_ylim(-top * 1.1, top * 1.35)  # room for the legend above the bars
        ticks = [v for v in ax.get_yticks() if -top * 1.1 <= v <= top * 1.35]
        ax.set_yticks(ticks, [fmt_number(abs(v), lang, 0) for v in ticks])
        ax.set_xlabel(_("Score de propension (probabilité estimée d'entrer en E2C)"))
        ax.set_ylabel(_("Part du groupe (%)"))
        ax.set_title(title or _("Recouvrement des scores de propension"))
        ax.legend(loc="upper center", ncols=3)
        fig.tight_layout()
        add_source(fig, source or _(_SOURCE), lang)
        fig.alt_text = _(
            "Histogrammes des scores de propension : stagiaires E2C au-dessus de l'axe, groupe de comparaison "
            "au-dessous ; plus les deux formes se ressemblent, meilleur est le recouvrement."
        )
        return fig


def effects_plot(
    effects: pd.DataFrame,
    label: str = "by",
    lang: str | None = None,
    percent: bool = True,
    reference: float = 0.0,
    overall=None,
    source: str | None = None,
    title: str | None = None,
    label_column: str | None = None,
) -> Figure:
    """Forest plot of effects with their confidence intervals, one row per subgroup or region.

    Parameters
    ----------
    effects : DataFrame
        Columns ``label`` (subgroup names), ``estimate``, ``ci_low``,
        ``ci_high``, and optionally ``status`` (rows not ``ok`` are listed as
        not estimated), e.g. :func:`toolkit.impact.estimate_att_by`.
    label : str
        Column holding the subgroup names (codes are shown with their labels
        when ``label_column`` names their canonical column, e.g. ``"region"``).
    percent : bool
        Effects on a proportion: shown in percentage points.
    reference : float
        Vertical line of no effect.
    overall : ATTResult, optional
        Adds the overall estimate as a first row.
    """
    lang = check_lang(lang) if lang else current_language()
    with use_language(lang):
        for col in (label, "estimate", "ci_low", "ci_high"):
            if col not in effects.columns:
                raise E2CError(_("effects_plot : colonne {col!r} absente du tableau des effets.", col=col))
        table = effects.copy()
        names = table[label].astype("object")
        if label_column:
            names = names.map(lambda c: code_label(label_column, c, lang))
        table["_name"] = names.astype(str)
        if "status" not in table.columns:
            table["status"] = "ok"
        if overall is not None:
            first = pd.DataFrame(
                [
                    {
                        "_name": _("Ensemble"),
                        "estimate": overall.estimate,
                        "ci_low": overall.ci_low,
                        "ci_high": overall.ci_high,
                        "status": "ok",
                    }
                ]
            )
            table = pd.concat([first, table], ignore_index=True)
        scale = 100.0 if percent else 1.0
        ypos = np.arange(len(table))[::-1]
        ok = (table["status"] == "ok").to_numpy() & table["estimate"].notna().to_numpy()
        fig, ax = new_figure(figsize=(8.0, max(3.0, 0.4 * len(table) + 1.6)))
        est = table["estimate"].to_numpy(dtype=float) * scale
        lo = table["ci_low"].to_numpy(dtype=float) * scale
        hi = table["ci_high"].to_numpy(dtype=float) * scale
        ax.hlines(ypos[ok], lo[ok], hi[ok], color=TREATED, lw=2)
        ax.scatter(est[ok], ypos[ok], color=TREATED, s=40, zorder=3)
        ax.axvline(reference * scale, color=REFERENCE, ls="--", lw=1)
        labels = []
        for name, good, status in zip(table["_name"], ok, table["status"]):
            if good:
                labels.append(name)
            else:
                labels.append(
                    _(
                        "{name} : {reason}",
                        name=name,
                        reason=_("non estimé (effectif insuffisant)") if status == "suppressed" else _("non estimé"),
                    )
                )
        ax.set_yticks(ypos, labels)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10]))
        ax.xaxis.set_major_formatter(number_formatter(lang, 0 if percent else 1))
        ax.set_xlabel(_("Effet sur le taux de sorties positives (points de %)") if percent else _("Effet estimé"))
        ax.set_title(title or _("Effet estimé sur les stagiaires, par sous-groupe"))
        handles = [
            Line2D(
                [0],
                [0],
                color=TREATED,
                marker="o",
                lw=2,
                label=_("Effet et IC à 95\u00a0%"),
            )
        ]
        ax.legend(handles=handles, loc="lower right")
        fig.tight_layout()
        add_source(fig, source or _(_SOURCE), lang)
        unit = _("points") if percent else ""
        parts = [
            " ".join(
                f"{name} {fmt_number(e, lang, 1)} [{fmt_number(a, lang, 1)} ; {fmt_number(b, lang, 1)}] {unit}".split()
            )
            for name, e, a, b, good in zip(table["_name"], est, lo, hi, ok)
            if good
        ]
        fig.alt_text = _("Effets estimés et intervalles à 95 % : {parts}.", parts=" ; ".join(parts))
        return fig
