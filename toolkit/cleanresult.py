"""The outcome of cleaning an export: codes and labels of rejections and warnings, and :class:`CleanResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .definitions import Definition
from .i18n import N_, _, current_language, use_language
from .privacy import identifier_label
from .textcolumn import RowLayout

__all__ = ["REJECTION_REASONS", "WARNING_KINDS", "reason_label", "warning_label", "CleanResult"]


# --------------------------------------------------------------------------
# Codes and labels (the one place they are spelled out)
# --------------------------------------------------------------------------
REJECTION_REASONS: dict[str, str] = {
    "malformed_row": N_("Ligne illisible (plus de champs que l'en-tête)"),
    "empty_row": N_("Ligne vide"),
    "missing_id": N_("Identifiant du stagiaire manquant"),
    "unknown_region": N_("Région manquante ou inconnue"),
    "invalid_entry_date": N_("Date d'entrée manquante ou invalide"),
    "exit_before_entry": N_("Date de sortie antérieure à la date d'entrée"),
    "age_out_of_range": N_("Âge à l'entrée hors de 15 à 40 ans"),
    "duplicate": N_("Doublon exact d'une ligne précédente"),
}

WARNING_KINDS: dict[str, str] = {
    "identifier_column_dropped": N_("Colonne d'identification directe supprimée"),
    "column_ignored": N_("Colonne hors contrat ignorée"),
    "birth_date_reduced": N_("Date de naissance exacte réduite à l'année"),
    "identifier_value_masked": N_(
        "Identifiant masqué dans le texte (courriel, téléphone, NIR, numéro long, nom après une civilité) "
        "ou texte trop long"
    ),
    "missing_school": N_("École manquante"),
    "unknown_sex": N_("Sexe manquant ou non reconnu"),
    "invalid_birth_year": N_("Année de naissance manquante ou illisible (âge inconnu)"),
    "unknown_education_level": N_("Niveau de formation non reconnu"),
    "unknown_boolean": N_("Valeur oui/non non reconnue (inconnue)"),
    "unknown_nationality": N_("Nationalité non reconnue"),
    "unknown_referrer": N_("Prescripteur non reconnu"),
    "unknown_group": N_("Groupe (E2C ou comparaison) non reconnu"),
    "invalid_date": N_("Date illisible ou impossible (ignorée)"),
    "invalid_number": N_("Nombre illisible ou négatif (ignoré)"),
    "unknown_exit_reason": N_("Motif de sortie non reconnu (codé « inconnu »)"),
    "exit_without_reason": N_("Sortie sans motif (codé « inconnu »)"),
    "short_row": N_("Ligne plus courte que l'en-tête (champs manquants lus comme vides)"),
    "stray_quote": N_("Guillemet isolé lu comme un caractère ordinaire (la ligne est lue seule)"),
    "reason_without_exit_date": N_("Motif de sortie sans date de sortie (motif ignoré, stagiaire en parcours)"),
    "outcome_end_before_start": N_("Fin de la situation antérieure à son début"),
}

_SUMMARY_SECTIONS: dict[str, str] = {
    "rows": N_("Lignes"),
    "rejected": N_("Lignes rejetées, par motif"),
    "warnings": N_("Avertissements (lignes conservées)"),
    "columns": N_("Colonnes supprimées ou ignorées"),
}
_ROW_LABELS: dict[str, str] = {
    "received": N_("Lignes reçues"),
    "kept": N_("Lignes conservées"),
    "rejected": N_("Lignes rejetées"),
}


def reason_label(code: str, lang: str | None = None) -> str:
    """Label of a rejection reason code in the current language (or ``lang``)."""
    with use_language(lang or current_language()):
        return _(REJECTION_REASONS[code])


def warning_label(kind: str, lang: str | None = None) -> str:
    """Label of a warning kind in the current language (or ``lang``)."""
    with use_language(lang or current_language()):
        return _(WARNING_KINDS[kind])


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------
@dataclass
class CleanResult:
    """Outcome of :func:`clean_export`.

    Attributes
    ----------
    data : DataFrame
        Kept rows, one per parcours; columns exactly
        ``schema.CANONICAL_COLUMNS`` in order, with ``schema.CANONICAL_DTYPES``.
    rejected : DataFrame
        Rejected rows: ``source_row`` (int), ``source_line`` (line of the file
        where the row starts; sheet row for XLSX), ``reason_code`` (one of
        :data:`REJECTION_REASONS`), ``reason`` (French text naming the faulty
        value), then the contract columns as read (strings; the trainee id
        replaced by its pseudonym; identifier and out-of-contract columns left
        out; a full birth date reduced to the year).
    warnings : DataFrame
        Tidy: ``source_row`` (Int64; missing for a warning about a whole
        column), ``source_line`` (Int64, line of the file), ``column`` (contract column or header concerned), ``kind``
        (one of :data:`WARNING_KINDS`), ``message`` (French, with the value
        concerned). Only kept rows get row warnings.
    summary : dict
        ``source_name``, ``sha256``, ``file_format``, ``encoding``,
        ``separator``, ``definition`` (name), ``definition_label``,
        ``rows_received``, ``rows_kept``, ``rows_rejected``,
        ``rejected_by_reason`` {code: count, every code}, ``warnings_by_kind``
        {kind: count, kinds that occurred}, ``dropped_identifier_columns``
        {column: identifier kind}, ``ignored_columns`` [headers],
        ``column_map`` {header found: contract column}.
    definition : Definition
        The positive-exit definition used.
    source_name : str
    sha256 : str or None
        SHA-256 of the input file (None for a DataFrame).
    timings : dict
        ``{"wall": {step: seconds}, "cpu": {step: seconds}}`` for each
        cleaning step (CPU time counts every thread of the process).
    layout : RowLayout
        For each ``source_row`` (position + 1), the lines of the file it came
        from (``first_line``, ``last_line``; sheet rows for XLSX) and its
        layout status. With the header line, the rows cover every line of
        the file once: received = kept + rejected, line by line.
    """

    data: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    summary: dict
    definition: Definition
    source_name: str
    sha256: str | None = None
    raw_info: dict = field(default_factory=dict, repr=False)
    timings: dict = field(default_factory=dict, repr=False)
    layout: RowLayout | None = field(default=None, repr=False)
    # Unknown-outcome alerts ({"code", "message", ...}; toolkit.alerts) and the situations table's
    # accounting (toolkit.situations.SituationResult, None for a one-table export).
    alerts: list = field(default_factory=list)
    situations: object = field(default=None, repr=False)

    def summary_table(self, lang: str | None = None) -> pd.DataFrame:
        """The accounting summary as a tidy table for notebooks and reports.

        Returns
        -------
        DataFrame
            ``section`` (code: rows / rejected / warnings / columns),
            ``section_label``, ``code``, ``label`` (French or English),
            ``count`` (rows, or 1 per column for the columns section),
            ``share`` (count over rows received; missing for columns).
            ``attrs`` holds the source name and the definition label.
        """
        with use_language(lang or current_language()):
            return self._summary_table()

    def _summary_table(self) -> pd.DataFrame:
        lang = current_language()
        s = self.summary
        received = s["rows_received"]
        records = [("rows", code, _(_ROW_LABELS[code]), s[f"rows_{code}"]) for code in _ROW_LABELS]
        records += [("rejected", code, reason_label(code), n) for code, n in s["rejected_by_reason"].items()]
        records += [
            ("warnings", kind, warning_label(kind), n)
            for kind, n in s["warnings_by_kind"].items()
            if kind not in {"identifier_column_dropped", "column_ignored"}
        ]
        for column, kind in s["dropped_identifier_columns"].items():
            text = f"{warning_label('identifier_column_dropped')} : {column} ({identifier_label(kind)})"
            records.append(("columns", "identifier_column_dropped", text, 1))
        for column in s["ignored_columns"]:
            records.append(("columns", "column_ignored", f"{warning_label('column_ignored')} : {column}", 1))
        table = pd.DataFrame(records, columns=["section", "code", "label", "count"])
        table.insert(1, "section_label", table["section"].map(lambda c: _(_SUMMARY_SECTIONS[c])))
        table["count"] = table["count"].astype("int64")
        share = table["count"] / received if received else np.nan
        table["share"] = pd.Series(share, dtype="Float64").where(table["section"] != "columns")
        table.attrs["source_name"] = self.source_name
        table.attrs["definition"] = self.definition.label(lang)
        return table

    def summary_text(self, lang: str | None = None) -> str:
        """A short plain-text account (for the command line)."""
        with use_language(lang or current_language()) as chosen:
            s = self.summary
            lines = [_("ALERTE : {message}", message=a["message"]) for a in self.alerts]  # before anything else
            lines += [
                _("Fichier : {name}", name=s["source_name"]),
                _("Définition : {label}", label=self.definition.label(chosen)),
                *(f"{_(_ROW_LABELS[code])} : {s[f'rows_{code}']}" for code in _ROW_LABELS),
            ]
            lines += [f"  - {reason_label(c)} : {n}" for c, n in s["rejected_by_reason"].items() if n]
            if s["warnings_by_kind"]:
                lines.append(_(_SUMMARY_SECTIONS["warnings"]) + " :")
                lines += [f"  - {warning_label(k)} : {n}" for k, n in s["warnings_by_kind"].items()]
            if s["dropped_identifier_columns"]:
                names = ", ".join(s["dropped_identifier_columns"])
                lines.append(f"{warning_label('identifier_column_dropped')} : {names}")
            from .mapping_file import ignored_lines  # every ignored column named, with what it resembles
            from .situations import situations_text

            lines += ignored_lines(list(s["ignored_columns"]), warning_label("column_ignored"))
            lines += [f"  - {note}" for note in s.get("layout_notes", [])]
            lines += situations_text(s.get("situations"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """In JupyterLab: the rows received, kept and rejected, rejections by reason and warnings, as
        French (or English) tables formatted as in the reports (:func:`toolkit.display.cleaning_html`)."""
        from .display import cleaning_html

        return cleaning_html(self)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"CleanResult({s['source_name']!r}: {s['rows_received']} received, {s['rows_kept']} kept, "
            f"{s['rows_rejected']} rejected, definition={self.definition.name!r})"
        )
