"""A proposed mapping for a school's export: ``e2c map`` and :func:`propose_mapping`.

The export is read as text whatever its headers (:func:`toolkit.io.read_export`
with ``require=False``), each column is profiled on its distinct values
(:mod:`toolkit.mapping_match`), each contract column gets the best header with
a confidence and a reason, and each label that the cleaning rules do not
already recognise is classified (:mod:`toolkit.mapping_labels`) or listed as
unclassified with its count. :meth:`MappingProposal.to_yaml` writes the
proposal in the mapping format of :mod:`toolkit.io` (plus ``ligne_entete``
and ``situations``, see :mod:`toolkit.mapping_file`), with a comment giving
each confidence; unmatched headers and unclassified labels are commented
lines for the evaluator to fill in.

Privacy: the values of an identifier column (names, e-mails, phones, NIR,
the trainee id) are never shown; the profile gives only its kind. Columns
whose header names a direct identifier are not even read.

Cost: one read of the export plus work on distinct values (at most
:data:`toolkit.mapping_match.SAMPLE` per column for content checks); see
``benchmarks/bench_mapping.py``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .definitions import get_definition
from .i18n import _
from .io import label_table, read_export
from .mapping_labels import CLASSIFIED_COLUMNS, classify_label
from .mapping_match import ColumnProfile, match_columns, profile_column, suggest
from .schema import RAW_COLUMNS, REQUIRED_RAW_COLUMNS, SITUATION_COLUMNS, normalise_key

__all__ = ["ColumnChoice", "LabelChoice", "MappingProposal", "propose_mapping"]

_CONTRACT = [c.name for c in RAW_COLUMNS]
_SITUATION = [c.name for c in SITUATION_COLUMNS]
_REQUIRED_SITUATION = [c.name for c in SITUATION_COLUMNS if c.required]
_NO_VALUES = {"id_stagiaire", "annee_naissance"}  # values never printed, even when matched


@dataclass
class ColumnChoice:
    """One contract column and the header proposed for it (None: not found)."""

    column: str
    header: str | None
    confidence: float
    reason: str
    table: str = "parcours"  # or "situations"

    @property
    def level(self) -> str:
        if self.header is None:
            return _("absente")
        if self.confidence >= 0.8:
            return _("haute")
        return _("moyenne") if self.confidence >= 0.6 else _("faible")


@dataclass
class LabelChoice:
    """One label of a coded column: its code (None: unclassified), why, and how many rows carry it."""

    column: str
    label: str
    code: str | None
    reason: str
    count: int


@dataclass
class MappingProposal:
    """What :func:`propose_mapping` found. ``ok`` is True when the export can be cleaned and judged."""

    source_name: str
    n_rows: int
    columns: list[ColumnChoice]
    labels: list[LabelChoice]
    unmatched: list[tuple[str, str | None]]  # (header, resembling contract column)
    profiles: list[ColumnProfile]
    problems: list[str] = field(default_factory=list)
    header_row: int | None = None
    layout_notes: list[str] = field(default_factory=list)
    situations: dict | None = None  # {"source": ..., "sheet": ..., "columns": [ColumnChoice], "unmatched": [...]}
    identifiers: dict[str, str] = field(default_factory=dict)  # header: kind (not read)
    definition: str = "projet"

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def column_map(self) -> dict[str, str]:
        """{header: contract column} of the parcours table."""
        return {c.header: c.column for c in self.columns if c.header is not None}

    @property
    def value_map(self) -> dict[str, dict[str, str]]:
        """{contract column: {label: code}} of the classified labels."""
        out: dict[str, dict[str, str]] = {}
        for item in self.labels:
            if item.code is not None:
                out.setdefault(item.column, {})[item.label] = item.code
        return out

    def to_yaml(self, out_dir=None) -> str:
        """The proposal as a mapping file, with comments; ``out_dir``: where it goes (relative file paths)."""
        from .mapping_write import proposal_yaml

        return proposal_yaml(self, out_dir)

    def table_text(self) -> str:
        """A readable table of the proposal (current language)."""
        from .mapping_write import proposal_text

        return proposal_text(self)


def _profiles(raw) -> list[ColumnProfile]:
    out = []
    for header in raw.headers:
        if header in raw.identifiers_not_read:
            out.append(ColumnProfile(header, "identifiant", 0, 0, identifier=raw.identifiers_not_read[header]))
            continue
        name = raw.column_map.get(header, header)
        col = raw.columns[name]
        counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.values))
        out.append(profile_column(header, col.values, counts, None))
    return out


def _identifier_values(profiles: list[ColumnProfile], chosen: dict[str, str]) -> None:
    """Hide the values of the trainee id, of birth data and of columns whose values look like identifiers."""
    from .privacy import identifier_kind_of_values

    for p in profiles:
        if p.identifier is not None:
            continue
        kind = identifier_kind_of_values(np.array([v for v, _n in p.values], dtype=object))
        if kind is not None:
            p.identifier, p.kind, p.values = kind, "identifiant", []
        elif chosen.get(p.header) in _NO_VALUES or p.kind == "identifiant interne":
            p.values = []


def _labels(raw, profiles: list[ColumnProfile], chosen: dict[str, str], mapping_values: dict) -> list[LabelChoice]:
    """Every distinct label of the matched coded columns that the cleaning rules would not recognise."""
    out = []
    for header, column in chosen.items():
        if column not in CLASSIFIED_COLUMNS:
            continue
        name = raw.column_map.get(header, header)
        col = raw.columns.get(name)
        if col is None:
            continue
        table = label_table(column)
        given = {normalise_key(k) for k in mapping_values.get(column, {})}
        counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.values))
        for value, count in zip(col.values, counts):
            key = normalise_key(value)
            if not key or key in table or key in given:
                continue
            code, reason = classify_label(column, value)
            out.append(LabelChoice(column, str(value).strip(), code, reason, int(count)))
    out.sort(key=lambda item: (item.column, item.code is not None, -item.count))
    return out


def _situation_labels(sit: dict, seen: set, mapping_values: dict) -> list[LabelChoice]:
    """Labels of the situation types, classified as exit reasons (those not already listed)."""
    header = next((c.header for c in sit["columns"] if c.column == "type_situation" and c.header), None)
    if header is None:
        return []
    table = label_table("motif_sortie")
    given = {normalise_key(k) for k in mapping_values.get("motif_sortie", {})}
    texts = sit["table"][header].astype(str).str.strip()
    out = []
    for value, count in texts[texts != ""].value_counts().items():
        key = normalise_key(value)
        if key in table or key in given or ("motif_sortie", key) in seen:
            continue
        code, reason = classify_label("motif_sortie", value)
        out.append(LabelChoice("motif_sortie", str(value), code, reason, int(count)))
    return out


def _definition_problems(present: set[str], definition) -> list[str]:
    d = get_definition(definition)
    problems = []
    if "date_sortie" not in present or ("motif_sortie" not in present and "type_situation" not in present):
        problems.append(_("ni date de sortie ni motif de sortie : aucune sortie ne peut être jugée"))
    if any(m > 0 for m in d.qualifying.values()):
        lacking = [c for c in ("date_debut_situation",) if c not in present]
        if "date_fin_situation" not in present and "date_suivi" not in present:
            lacking.append("date_fin_situation")
        if lacking:
            problems.append(
                _(
                    "la définition « {definition} » exige la durée des situations : colonne(s) {columns} absente(s)",
                    definition=d.name,
                    columns=", ".join(lacking),
                )
            )
    return problems


def _situations(source, sheet, header_row, given_columns) -> dict:
    from .export_layout import read_table

    table, name, notes = read_table(source, sheet=sheet, header_row=header_row)
    profiles = []
    for header in table.columns:
        values, counts = np.unique(table[header].astype(str).str.strip().to_numpy(dtype=object), return_counts=True)
        present = values != ""
        profiles.append(profile_column(str(header), values[present], counts[present], None))
    matched = match_columns(profiles, _SITUATION, given_columns)
    choices = [ColumnChoice(c, h, s, r, table="situations") for c, h, s, r in matched]
    taken = {c.header for c in choices if c.header}
    _identifier_values(profiles, {c.header: c.column for c in choices if c.header})
    return {
        "source": str(source) if not hasattr(source, "columns") else "<DataFrame>",
        "name": name,
        "sheet": sheet,
        "header_row": header_row,
        "notes": notes,
        "columns": choices,
        "profiles": profiles,
        "unmatched": [(p.header, None) for p in profiles if p.header not in taken],
        "table": table,
    }


def propose_mapping(source, situations=None, *, sheet=None, situations_sheet=None, definition=None, mapping=None):
    """Propose a mapping for an export (see the module docstring).

    Parameters
    ----------
    source : path or DataFrame
        The export (CSV, XLSX, Parquet).
    situations : path or DataFrame, optional
        The situations table of a two-table export (a file, or with
        ``situations_sheet`` a sheet of ``source``'s workbook).
    sheet : str, optional
        XLSX sheet of the parcours table.
    definition : str, optional
        Positive-exit definition whose needs are checked (default ``projet``).
    mapping : path or dict, optional
        A mapping to start from (its columns are kept).

    Returns
    -------
    MappingProposal
    """
    from .io import load_mapping

    base = load_mapping(mapping)
    if sheet is not None:
        base.sheet = sheet
    raw = read_export(source, base, require=False)
    profiles = _profiles(raw)
    readable = [p for p in profiles if p.identifier is None]
    given = {h: c for h, c in raw.column_map.items()}
    matched = match_columns(readable, _CONTRACT, given)
    choices = [ColumnChoice(c, h, s, r) for c, h, s, r in matched]
    chosen = {c.header: c.column for c in choices if c.header is not None}
    _identifier_values(profiles, chosen)
    labels = _labels(raw, profiles, chosen, base.values)
    unmatched = []
    for p in profiles:
        if p.header in chosen or p.identifier is not None:
            continue
        unmatched.append((p.header, suggest(p.header, _CONTRACT)[0]))
    present = set(chosen.values())
    sit = None
    if situations is not None or situations_sheet is not None:
        sit_source = situations if situations is not None else source
        sit = _situations(sit_source, situations_sheet, None, None)
        present |= {c.column for c in sit["columns"] if c.header is not None}
        labels += _situation_labels(sit, {(item.column, normalise_key(item.label)) for item in labels}, base.values)
    problems = [
        _("colonne obligatoire introuvable : {column}", column=c) for c in REQUIRED_RAW_COLUMNS if c not in present
    ]
    if sit is not None:
        problems += [
            _("colonne introuvable dans le tableau des situations : {column}", column=c.column)
            for c in sit["columns"]
            if c.header is None and c.column in _REQUIRED_SITUATION
        ]
    problems += _definition_problems(present, definition)
    return MappingProposal(
        source_name=raw.source_name,
        n_rows=raw.n_rows,
        columns=choices,
        labels=labels,
        unmatched=unmatched,
        profiles=profiles,
        problems=problems,
        header_row=base.header_row,
        layout_notes=list(raw.layout_notes),
        situations=sit,
        identifiers=dict(raw.identifiers_not_read),
        definition=get_definition(definition).name,
    )


def default_output(source) -> Path:
    """``<export>.mapping.yml`` beside the export (where the commands look for it)."""
    from .mapping_file import MAPPING_SUFFIX

    path = Path(os.fspath(source))
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + MAPPING_SUFFIX)


def _quote(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)
