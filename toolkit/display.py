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
    "cleaning_tables",
    "cleaning_html",
    "file_table",
    "rejected_rows_table",
    "warning_rows_table",
    "shown",
    "missing_values_table",
    "calibration_table",
    "performance_summary",
    "outcome_report_table",
    "overlap_table",
    "design_table",
    "glossary_table",
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


class TextTable:
    """A text table that shows itself as in the reports: no index column, numbers right-aligned, a caption
    and notes (``_repr_html_``); the DataFrame stays available as ``.table``."""

    def __init__(self, table: pd.DataFrame, caption: str = "", notes=()):
        self.table = table
        self.caption = caption
        self.notes = list(notes)

    def _repr_html_(self) -> str:
        return html_table(self.table, self.caption, self.notes)

    def __repr__(self) -> str:
        return (self.caption + "\n" if self.caption else "") + self.table.to_string(index=False)


def shown(table: pd.DataFrame, caption: str = "", notes=()) -> TextTable:
    """Show a text table (a ``display_table`` or ``format_table`` result) in a notebook as in the reports:
    ``shown(toolkit.display_table(rates), "Taux par région")``."""
    return TextTable(table, caption, notes)


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


# --------------------------------------------------------------------------
# The cleaning result (toolkit.cleanresult.CleanResult)
# --------------------------------------------------------------------------
def _share(n, received) -> str:
    return fmt_pct(n / received) if received else ""


def cleaning_tables(result) -> dict[str, pd.DataFrame]:
    """A :class:`~toolkit.cleanresult.CleanResult` as text tables in the current language: ``rows``
    (received, kept, rejected), ``rejected`` (rows rejected by reason, reasons that occurred),
    ``warnings`` (warnings on kept rows by kind) and ``columns`` (columns dropped or ignored)."""
    from .cleanresult import _ROW_LABELS, reason_label, warning_label  # circular: cleanresult shows itself here
    from .privacy import identifier_label

    s = result.summary
    received = s["rows_received"]
    count, share = _("Lignes"), _("Part des lignes reçues")
    rows = pd.DataFrame(
        {
            _("Étape"): [_(_ROW_LABELS[c]) for c in _ROW_LABELS],
            count: [fmt_int(s[f"rows_{c}"]) for c in _ROW_LABELS],
            share: [_share(s[f"rows_{c}"], received) for c in _ROW_LABELS],
        }
    )
    reasons = {c: n for c, n in s["rejected_by_reason"].items() if n}
    rejected = pd.DataFrame(
        {
            _("Motif de rejet"): [reason_label(c) for c in reasons],
            count: [fmt_int(n) for n in reasons.values()],
            share: [_share(n, received) for n in reasons.values()],
        }
    )
    kinds = {k: n for k, n in s["warnings_by_kind"].items() if k not in {"identifier_column_dropped", "column_ignored"}}
    warnings = pd.DataFrame(
        {
            _("Avertissement"): [warning_label(k) for k in kinds],
            count: [fmt_int(n) for n in kinds.values()],
            share: [_share(n, received) for n in kinds.values()],
        }
    )
    dropped = [
        (c, _("supprimée : {kind}", kind=identifier_label(k))) for c, k in s["dropped_identifier_columns"].items()
    ]
    ignored = [(c, _("ignorée (hors du contrat de données)")) for c in s["ignored_columns"]]
    columns = pd.DataFrame(dropped + ignored, columns=[_("Colonne"), _("Traitement")])
    return {"rows": rows, "rejected": rejected, "warnings": warnings, "columns": columns}


def cleaning_html(result) -> str:
    """What a :class:`~toolkit.cleanresult.CleanResult` shows in JupyterLab: alerts first, then the rows
    received, kept and rejected, the rejections by reason, the warnings and the columns set aside."""
    tables = cleaning_tables(result)
    s = result.summary
    alerts = "".join(
        f'<p role="alert"><strong>{html.escape(_("ALERTE : {message}", message=a["message"]))}</strong></p>'
        for a in result.alerts
    )
    intro = _(
        "Fichier {name} nettoyé avec la définition « {definition} » : chaque ligne reçue est gardée ou "
        "rejetée avec son motif.",
        name=s["source_name"],
        definition=result.definition.label(),
    )
    parts = [f'<div class="e2c-display">{alerts}<p>{html.escape(intro)}</p></div>']
    parts.append(html_table(tables["rows"], _("Bilan des lignes")))
    if len(tables["rejected"]):
        parts.append(html_table(tables["rejected"], _("Lignes rejetées, par motif")))
    else:
        parts.append(f'<div class="e2c-display"><p>{html.escape(_("Aucune ligne rejetée."))}</p></div>')
    if len(tables["warnings"]):
        notes = [_("Une valeur illisible est traitée comme inconnue, jamais comme « non ».")]
        parts.append(html_table(tables["warnings"], _("Avertissements (lignes conservées)"), notes))
    if len(tables["columns"]):
        parts.append(html_table(tables["columns"], _("Colonnes supprimées ou ignorées")))
    return "".join(parts)


def file_table(result) -> pd.DataFrame:
    """The file a :class:`~toolkit.cleanresult.CleanResult` read: name, SHA-256, format, encoding,
    separator and the positive-exit definition, as a two-column text table."""
    s = result.summary
    separators = {";": _("point-virgule"), ",": _("virgule"), "\t": _("tabulation"), "|": _("barre verticale")}
    rows = [
        (_("Fichier"), s.get("source_name") or "—"),
        (_("Empreinte SHA-256"), s.get("sha256") or _("sans objet (données en mémoire)")),
        (_("Format"), str(s.get("file_format") or "—").upper()),
        (_("Encodage"), s.get("encoding") or "—"),
        (_("Séparateur"), separators.get(s.get("separator"), s.get("separator") or "—")),
        (_("Définition de la sortie positive"), result.definition.label()),
    ]
    return pd.DataFrame(rows, columns=[_("Élément"), _("Valeur")])


def rejected_rows_table(result, n: int = 20, raw_names: bool = False) -> pd.DataFrame:
    """The first ``n`` rejected rows: line in the file, reason and what was wrong (the rejected data
    themselves are not shown)."""
    rejected = result.rejected.head(n)
    from .cleanresult import reason_label  # circular: cleanresult shows itself through this module

    table = pd.DataFrame(
        {
            _("Ligne du fichier"): fmt_int(rejected["source_line"]).to_numpy() if len(rejected) else [],
            _("Motif"): [reason_label(c) for c in rejected["reason_code"]],
            _("Détail"): rejected["reason"].astype(str).to_numpy(),
        }
    )
    if raw_names:
        table.insert(0, "reason_code", rejected["reason_code"].to_numpy())
    return table


def warning_rows_table(result, n: int = 20, raw_names: bool = False) -> pd.DataFrame:
    """The first ``n`` warnings about rows: line in the file, column (its label), kind and message (the
    columns dropped or ignored are listed by the cleaning result itself)."""
    from .cleanresult import warning_label  # circular: cleanresult shows itself through this module

    warnings = result.warnings
    warnings = warnings[warnings["source_line"].notna()].head(n)  # whole columns: in the cleaning result
    lines = warnings["source_line"]
    table = pd.DataFrame(
        {
            _("Ligne du fichier"): [fmt_int(v) for v in lines],
            _("Colonne"): [column_label(c) for c in warnings["column"].astype(str)],
            _("Avertissement"): [warning_label(k) for k in warnings["kind"]],
            _("Détail"): warnings["message"].astype(str).to_numpy(),
        }
    )
    if raw_names:
        table.insert(0, "kind", warnings["kind"].to_numpy())
    return table


# --------------------------------------------------------------------------
# Models and impact designs: the tables notebooks show beside the results
# --------------------------------------------------------------------------
def missing_values_table(model) -> pd.DataFrame:
    """Missing values by model variable (:meth:`~toolkit.models.PositiveExitModel.missing_table`), as text."""
    table = model.missing_table()
    counts, shares = table.iloc[:, 1], table.iloc[:, 2]
    return pd.DataFrame(
        {
            _("Variable"): table.iloc[:, 0].to_numpy(),
            _("Valeurs manquantes"): fmt_int(counts).to_numpy(),
            _("Part des sorties à l'issue connue"): fmt_pct(shares).to_numpy(),
        }
    )


def calibration_table(performance) -> pd.DataFrame:
    """Calibration by decile of predicted probability (a cross-validated performance), as text."""
    table = performance.calibration
    return pd.DataFrame(
        {
            _("Décile de probabilité prédite"): fmt_int(table["decile"]).to_numpy(),
            _("Sorties"): fmt_int(table["n"]).to_numpy(),
            _("Probabilité prédite moyenne"): fmt_pct(table["mean_predicted"]).to_numpy(),
            _("Taux observé"): fmt_pct(table["observed_rate"]).to_numpy(),
            _("IC 95 %"): _ci(table["ci_low"], table["ci_high"], fmt_pct),
        }
    )


def performance_summary(performance) -> str:
    """One sentence: out-of-sample AUC, calibration slope and intercept of a cross-validated model."""
    return _(
        "AUC hors échantillon : {auc} ; pente de calibration : {slope} ; constante : {intercept}.",
        auc=fmt_number(performance.auc, decimals=3),
        slope=fmt_number(performance.calibration_slope, decimals=2),
        intercept=fmt_number(performance.calibration_intercept, decimals=2),
    )


def _group_label(code: str) -> str:
    labels = {
        "e2c": N_("Stagiaires E2C"),
        "treated": N_("Stagiaires E2C"),
        "comparaison": N_("Groupe de comparaison"),
        "control": N_("Groupe de comparaison"),
    }
    return _(labels[code]) if code in labels else str(code)


def outcome_report_table(report: pd.DataFrame) -> pd.DataFrame:
    """An impact design's ``outcome_report`` (outcome known or not, follow-up, per group), as text."""
    return pd.DataFrame(
        {
            _("Groupe"): [_group_label(g) for g in report.index],
            _("Jeunes"): fmt_int(report["n"]).to_numpy(),
            _("Situation connue"): fmt_int(report["n_outcome_known"]).to_numpy(),
            _("Situation inconnue"): fmt_int(report["n_outcome_missing"]).to_numpy(),
            _("Part inconnue"): fmt_pct(report["share_outcome_missing"]).to_numpy(),
            _("Suivi médian (mois)"): fmt_number(report["median_follow_up_months"], decimals=1).to_numpy(),
        }
    )


def overlap_table(result) -> pd.DataFrame:
    """Units outside the common support of an :class:`~toolkit.impact.ATTResult`, per group, as text."""
    outside = result.overlap.outside
    return pd.DataFrame(
        {
            _("Groupe"): [_group_label(g) for g in outside.index],
            _("Analysés"): fmt_int(outside["n"]).to_numpy(),
            _("Hors support commun"): fmt_int(outside["n_outside"]).to_numpy(),
            _("Part hors support"): fmt_pct(outside["share_outside"]).to_numpy(),
        }
    )


def design_table(design) -> pd.DataFrame:
    """An impact design in words: rows rejected by the cleaning per file, the adjustment
    characteristics (labels) and those left out with the reason."""
    rows = [
        (
            _("Lignes rejetées au nettoyage : {file}", file=name if name != "<DataFrame>" else _("données en mémoire")),
            fmt_int(n),
        )
        for name, n in design.rejected.items()
    ]
    rows.append((_("Caractéristiques d'ajustement"), ", ".join(column_label(c) for c in design.covariates)))
    for name, reason in design.excluded_covariates.items():
        rows.append((_("Caractéristique écartée : {name}", name=column_label(name)), str(reason)))
    return pd.DataFrame(rows, columns=[_("Élément"), _("Valeur")])


def glossary_table(pairs) -> pd.DataFrame:
    """Technical words and their plain-language explanation (an impact section's ``glossary``)."""
    return pd.DataFrame(list(pairs), columns=[_("Terme"), _("En clair")])
