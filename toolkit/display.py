"""How result objects show themselves in JupyterLab: tidy tables in the current language, formatted as in
the reports ("56,3 %", marginal effects in points, p-values as "< 0,001"), through ``_repr_html_``.

Each display table is also available as a DataFrame of text (``display_table()`` of the model, the impact
result, :func:`comparison_table`), with the toolkit's English names only on request (``raw_names=True``).
"""

from __future__ import annotations

import html

import pandas as pd

from .formatting import column_label, fmt_int, fmt_number, fmt_pct, fmt_points, fmt_pvalue
from .i18n import N_, _

__all__ = [
    "html_table",
    "model_table",
    "comparison_table",
    "comparison_caption",
    "impact_table",
    "figure",
    "rosenbaum_table",
    "effects_by_table",
]

_STYLE = (
    "<style>.e2c-display table{border-collapse:collapse}.e2c-display td,.e2c-display th{padding:2px 8px;"
    "text-align:left}.e2c-display td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".e2c-display caption{text-align:left;font-weight:bold;padding-bottom:4px}</style>"
)


def html_table(table: pd.DataFrame, caption: str = "", notes: list[str] | tuple[str, ...] = ()) -> str:
    """A text table as escaped HTML with a caption and notes under it (what ``_repr_html_`` returns)."""
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in table.columns)
    rows = []
    for record in table.itertuples(index=False):
        cells = []
        for value in record:
            text = str(value)
            numeric = text[:1].isdigit() or text[:1] in "+-<" or text.startswith("\u2212")
            cells.append(f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>"
    body += "".join(rows) + "</tbody></table>"
    notes_html = "".join(f"<p>{html.escape(n)}</p>" for n in notes)
    return f'<div class="e2c-display">{_STYLE}{body}{notes_html}</div>'


def _ci(low, high, fmt) -> list[str]:
    return [f"[{fmt(lo)}\u00a0; {fmt(hi)}]" for lo, hi in zip(low, high)]


def model_table(model, raw_names: bool = False) -> pd.DataFrame:
    """Odds ratios and average marginal effects of a :class:`~toolkit.models.PositiveExitModel`, as text."""
    from .models.logistic import term_label

    odds = model.odds_ratios.drop(index="Intercept", errors="ignore")
    ame = model.marginal_effects.reindex(odds.index)
    table = pd.DataFrame(
        {
            _("Variable"): [term_label(t, model._design) for t in odds.index],
            _("Rapport de cotes"): fmt_number(odds["odds_ratio"], decimals=2).to_numpy(),
            _("IC 95 %"): _ci(odds["ci_low"], odds["ci_high"], lambda v: fmt_number(v, decimals=2)),
            _("Effet marginal moyen (points)"): fmt_points(ame["ame"]).to_numpy(),
            _("IC 95 % (points)"): _ci(ame["ci_low"], ame["ci_high"], fmt_points),
            _("p"): fmt_pvalue(odds["p_value"]).to_numpy(),
        }
    )
    if raw_names:
        table.insert(0, _("Nom du terme"), list(odds.index))
    return table


_FLAGS = {
    ("above", "above"): N_("Au-dessus de l'attendu (limite à 99,8 %)"),
    ("above", "within"): N_("Au-dessus de l'attendu (limite à 95 %)"),
    ("below", "below"): N_("En dessous de l'attendu (limite à 99,8 %)"),
    ("below", "within"): N_("En dessous de l'attendu (limite à 95 %)"),
}


def comparison_table(table: pd.DataFrame, raw_names: bool = False) -> pd.DataFrame:
    """A :func:`toolkit.compare.compare_units` table (or a selection of its rows), as text."""
    by = table.attrs.get("by") or next(c for c in ("site", "school", "region") if c in table.columns)
    out = {column_label(by): table[by].astype("object").to_numpy()}
    for column in ("school", "region"):
        if column != by and column in table.columns:
            out[column_label(column)] = table[column].astype("object").to_numpy()
    out[_("Sorties à l'issue connue")] = fmt_int(table["n"]).to_numpy()
    out[_("Sorties positives observées")] = fmt_int(table["observed"]).to_numpy()
    out[_("Attendues à public égal")] = fmt_number(table["expected"], decimals=1).to_numpy()
    out[_("Rapport O/A")] = fmt_number(table["oe_ratio"], decimals=2).to_numpy()
    out[_("Taux brut")] = fmt_pct(table["observed_rate"]).to_numpy()
    out[_("Taux ajusté")] = fmt_pct(table["adjusted_rate"]).to_numpy()
    out[_("Lecture")] = [
        _(_FLAGS.get((f95, f998), N_("Dans la norme"))) for f95, f998 in zip(table["flag95"], table["flag998"])
    ]
    frame = pd.DataFrame(out)
    if raw_names:
        frame.columns = [by, *[c for c in ("school", "region") if c != by and c in table.columns]] + [
            "n",
            "observed",
            "expected",
            "oe_ratio",
            "observed_rate",
            "adjusted_rate",
            "flag",
        ]
    return frame


def comparison_caption(attrs: dict) -> tuple[str, list[str]]:
    """Caption and notes of a comparison table, from its ``attrs``, in words."""
    by = attrs.get("by", "site")
    caption = _(
        "Comparaison à public égal par {unit} ({n} unités, ordre alphabétique : pas un classement)",
        unit=column_label(by).lower(),
        n=fmt_int(attrs.get("n_units", 0)),
    )
    notes = []
    if "national_rate" in attrs:
        notes.append(_("Taux national de référence : {rate}.", rate=fmt_pct(attrs["national_rate"])))
    method = attrs.get("method")
    if method == "additive":
        notes.append(
            _(
                "Limites élargies pour la variabilité entre unités que le hasard n'explique pas (variance "
                "entre unités τ² = {tau2} ; surdispersion φ = {phi}).",
                tau2=fmt_number(attrs.get("tau2", float("nan")), decimals=4),
                phi=fmt_number(attrs.get("phi", float("nan")), decimals=2),
            )
        )
    elif method == "multiplicative":
        notes.append(
            _("Limites multipliées par √φ (surdispersion φ = {phi}).", phi=fmt_number(attrs.get("phi"), decimals=2))
        )
    return caption, notes


def impact_table(res, raw_names: bool = False) -> pd.DataFrame:
    """The estimate of an :class:`~toolkit.impact.ATTResult` as a two-column text table."""
    binary = res.outcome_type == "binary"

    def effect(value: float) -> str:
        return fmt_points(value) if binary else fmt_number(value, decimals=2)

    rows = [
        ("estimate", _("Effet estimé (points)") if binary else _("Effet estimé"), effect(res.estimate)),
        (
            "ci",
            _("Intervalle de confiance à {level} %", level=fmt_int(res.level * 100)),
            _("{low} à {high}", low=effect(res.ci_low), high=effect(res.ci_high)),
        ),
        ("n_treated", _("Stagiaires E2C analysés"), fmt_int(res.n_treated)),
        ("n_control", _("Jeunes du groupe de comparaison analysés"), fmt_int(res.n_control)),
        ("ess_control", _("Taille effective du groupe de comparaison pondéré"), fmt_int(res.ess_control)),
        (
            "max_abs_smd_after",
            _("Écart standardisé maximal après ajustement"),
            fmt_number(res.balance["smd_after"].abs().max(), decimals=2),
        ),
    ]
    if binary:
        rows[2:2] = [
            ("mean_treated", _("Taux de sorties positives des stagiaires E2C"), fmt_pct(res.mean_treated)),
            (
                "mean_control_counterfactual",
                _("Taux estimé pour les mêmes jeunes sans E2C"),
                fmt_pct(res.mean_control_counterfactual),
            ),
        ]
    frame = pd.DataFrame([r[1:] for r in rows], columns=[_("Indicateur"), _("Valeur")])
    if raw_names:
        frame.insert(0, _("Nom"), [r[0] for r in rows])
    return frame


class FigureDisplay:
    """A figure with its alternative text, for notebooks: JupyterLab and nbconvert show an ``<img>`` with
    ``alt`` (the PNG is in the same output for other front ends)."""

    def __init__(self, fig, alt: str | None = None):
        self.figure = fig
        self.alt = alt or getattr(fig, "alt_text", None) or _figure_title(fig)

    def _png(self) -> str:
        import base64
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def _repr_mimebundle_(self, include=None, exclude=None):
        png = self._png()
        img = f'<img src="data:image/png;base64,{png}" alt="{html.escape(self.alt, quote=True)}">'
        return {"text/html": img, "image/png": png, "text/plain": self.alt}


def _figure_title(fig) -> str:
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    text = suptitle or (titles[0] if titles else "")
    return _("Graphique : {title}", title=text) if text else _("Graphique sans titre")


def figure(fig, alt: str | None = None) -> FigureDisplay:
    """Display a figure in a notebook with alternative text (``alt``, else the figure's ``alt_text``
    attribute, else its title): ``display(figure(plot_rates(table)))``."""
    return FigureDisplay(fig, alt)


def rosenbaum_table(bounds) -> pd.DataFrame:
    """Rosenbaum bounds (:class:`toolkit.impact.RosenbaumBounds` or its ``table``) as text."""
    table = getattr(bounds, "table", bounds)
    return pd.DataFrame(
        {
            "Γ": fmt_number(table["gamma"], decimals=2).to_numpy(),
            _("p maximale (unilatérale)"): fmt_pvalue(table["p_upper"]).to_numpy(),
            _("Significatif à 5 %"): [_("Oui") if s else _("Non") for s in table["significant"]],
        }
    )


def effects_by_table(by_table: pd.DataFrame, column: str | None = None, percent: bool = True) -> pd.DataFrame:
    """Effects by subgroup (:func:`toolkit.impact.estimate_att_by`) as text, in points for a proportion;
    ``column`` names the canonical column of the subgroups (their codes are then shown as labels)."""
    from .schema import label as code_label

    def effect(value):
        return fmt_points(value) if percent else fmt_number(value, decimals=2)

    names = [code_label(column, v) if column else str(v) for v in by_table["by"]]
    ok = (by_table["status"] == "ok").to_numpy()
    return pd.DataFrame(
        {
            _("Sous-groupe"): names,
            _("Stagiaires E2C analysés"): fmt_int(by_table["n_treated"]).to_numpy(),
            _("Jeunes du groupe de comparaison analysés"): fmt_int(by_table["n_control"]).to_numpy(),
            _("Effet estimé (points)") if percent else _("Effet estimé"): [
                effect(v) if good else _("non estimé") for v, good in zip(by_table["estimate"], ok)
            ],
            _("IC 95 %"): [
                f"[{effect(lo)}\u00a0; {effect(hi)}]" if good else ""
                for lo, hi, good in zip(by_table["ci_low"], by_table["ci_high"], ok)
            ],
        }
    )
