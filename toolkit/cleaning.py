"""Cleaning a raw export into the canonical frame, with full row accounting.

``clean_export(source)`` reads an export (:mod:`toolkit.io`), drops direct
identifiers and pseudonymises trainee ids (:mod:`toolkit.privacy`), recognises
every label through the alias tables of :mod:`toolkit.schema`, applies the
rejection rules and returns a :class:`CleanResult`. Every input row lands in
exactly one of ``.data`` (kept) or ``.rejected``; nothing is dropped silently.

Rejection rules, in this order (a row gets the reason of the first rule it
fails, so each rejected row has exactly one reason):

1. ``missing_id``: the trainee id is missing (empty or blank);
2. ``unknown_region``: the region is missing or not recognised;
3. ``invalid_entry_date``: the entry date is missing or is not a real date;
4. ``exit_before_entry``: the exit date is before the entry date;
5. ``age_out_of_range``: the age at entry (entry year minus birth year) is
   outside 15 to 40;
6. ``duplicate``: the row exactly duplicates an earlier row (the first copy is
   kept). Rows are compared on their raw values, after direct-identifier
   columns are dropped.

Everything else is kept, and its problems are counted as warnings (see
:data:`WARNING_KINDS`): an unrecognised label becomes missing (an unknown exit
label becomes ``exit_reason = 'inconnu'`` with ``positive_exit`` unknown), an
unreadable optional date or number becomes missing, an exit label without an
exit date is ignored (the trainee is still in the programme), a missing birth
year leaves the age unknown, and so on.

Value rules
-----------
* Labels (region, sex, education level, booleans, nationality, referrer, exit
  reason, group) are matched ignoring case, accents, spaces and punctuation,
  through the alias tables of :mod:`toolkit.schema` plus the school's mapping
  file; a canonical code (``niveau_3``, ``cdi``...) is accepted as its own label.
* Dates: ``dd/mm/yyyy`` (also ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``dd/mm/yy``),
  ``yyyy-mm-dd`` (with or without a time), and Excel serial numbers
  (days since 1899-12-30). A date must exist in the calendar (no 31/02) and
  fall between 1990 and 2099 (birth dates: 1900 to 2099).
* Numbers accept a decimal comma and spaces as thousands separators; negative
  counts are refused (missing, with a warning).
* An empty cell means unknown (never false, never zero).
* ``site`` defaults to the school; ``group`` defaults to ``'e2c'`` when the
  export has no ``groupe`` column; ``cohort_year`` is the entry year;
  ``positive_exit`` follows the chosen definition
  (:func:`toolkit.definitions.positive_exit`).

Performance: every rule works on the distinct values of a column (dates,
labels) and on integer codes; the only per-value Python work is on distinct
values, never on rows.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .definitions import Definition, get_definition, positive_exit
from .io import ExportMapping, RawExport, TextColumn, label_table, read_export, text_column
from .privacy import find_identifier_columns, identifier_label, identifier_like, load_key, pseudonymise_unique
from .schema import CANONICAL_DTYPES, EXIT_CATEGORY_OF, EXIT_REASON_CODES, RAW_BY_NAME, RAW_COLUMNS, normalise_key

__all__ = [
    "REJECTION_REASONS",
    "WARNING_KINDS",
    "reason_label",
    "warning_label",
    "CleanResult",
    "clean_export",
    "parse_dates",
    "parse_years",
    "parse_numbers",
]

# --------------------------------------------------------------------------
# Codes and labels (the one place they are spelled out)
# --------------------------------------------------------------------------
REJECTION_REASONS: dict[str, tuple[str, str]] = {
    "missing_id": ("Identifiant du stagiaire manquant", "Missing trainee id"),
    "unknown_region": ("Région manquante ou inconnue", "Missing or unknown region"),
    "invalid_entry_date": ("Date d'entrée manquante ou invalide", "Missing or invalid entry date"),
    "exit_before_entry": ("Date de sortie antérieure à la date d'entrée", "Exit date before entry date"),
    "age_out_of_range": ("Âge à l'entrée hors de 15 à 40 ans", "Age at entry outside 15 to 40"),
    "duplicate": ("Doublon exact d'une ligne précédente", "Exact duplicate of an earlier row"),
}

WARNING_KINDS: dict[str, tuple[str, str]] = {
    "identifier_column_dropped": ("Colonne d'identification directe supprimée", "Direct-identifier column dropped"),
    "column_ignored": ("Colonne hors contrat ignorée", "Column outside the contract ignored"),
    "birth_date_reduced": ("Date de naissance exacte réduite à l'année", "Exact birth date reduced to the year"),
    "identifier_value_masked": (
        "Valeur ressemblant à un identifiant (courriel, téléphone, NIR) masquée",
        "Value that looks like an identifier (e-mail, phone, NIR) masked",
    ),
    "missing_school": ("École manquante", "Missing school"),
    "unknown_sex": ("Sexe manquant ou non reconnu", "Missing or unrecognised sex"),
    "invalid_birth_year": (
        "Année de naissance manquante ou illisible (âge inconnu)",
        "Missing or unreadable birth year (age unknown)",
    ),
    "unknown_education_level": ("Niveau de formation non reconnu", "Unrecognised education level"),
    "unknown_boolean": ("Valeur oui/non non reconnue (inconnue)", "Unrecognised yes/no value (unknown)"),
    "unknown_nationality": ("Nationalité non reconnue", "Unrecognised nationality"),
    "unknown_referrer": ("Prescripteur non reconnu", "Unrecognised referrer"),
    "unknown_group": ("Groupe (E2C ou comparaison) non reconnu", "Unrecognised group (E2C or comparison)"),
    "invalid_date": ("Date illisible ou impossible (ignorée)", "Unreadable or impossible date (ignored)"),
    "invalid_number": ("Nombre illisible ou négatif (ignoré)", "Unreadable or negative number (ignored)"),
    "unknown_exit_reason": (
        "Motif de sortie non reconnu (codé « inconnu »)",
        "Unrecognised exit reason (coded 'unknown')",
    ),
    "exit_without_reason": ("Sortie sans motif (codé « inconnu »)", "Exit without a reason (coded 'unknown')"),
    "short_row": (
        "Ligne plus courte que l'en-tête (champs manquants lus comme vides)",
        "Row shorter than the header (missing fields read as empty)",
    ),
    "reason_without_exit_date": (
        "Motif de sortie sans date de sortie (motif ignoré, stagiaire en parcours)",
        "Exit reason without an exit date (reason ignored, trainee still in the programme)",
    ),
    "outcome_end_before_start": ("Fin de la situation antérieure à son début", "Situation ends before it starts"),
}

_SUMMARY_SECTIONS = {
    "rows": ("Lignes", "Rows"),
    "rejected": ("Lignes rejetées, par motif", "Rejected rows, by reason"),
    "warnings": ("Avertissements (lignes conservées)", "Warnings (kept rows)"),
    "columns": ("Colonnes supprimées ou ignorées", "Columns dropped or ignored"),
}
_ROW_LABELS = {
    "received": ("Lignes reçues", "Rows received"),
    "kept": ("Lignes conservées", "Rows kept"),
    "rejected": ("Lignes rejetées", "Rows rejected"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "fr" else pair[1]


def reason_label(code: str, lang: str = "fr") -> str:
    """Label of a rejection reason code, French (default) or English."""
    return _pick(REJECTION_REASONS[code], lang)


def warning_label(kind: str, lang: str = "fr") -> str:
    """Label of a warning kind, French (default) or English."""
    return _pick(WARNING_KINDS[kind], lang)


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
        Rejected rows: ``source_row`` (int), ``reason_code`` (one of
        :data:`REJECTION_REASONS`), ``reason`` (French text naming the faulty
        value), then the contract columns as read (strings; the trainee id
        replaced by its pseudonym; identifier and out-of-contract columns left
        out; a full birth date reduced to the year).
    warnings : DataFrame
        Tidy: ``source_row`` (Int64; missing for a warning about a whole
        column), ``column`` (contract column or header concerned), ``kind``
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
    # Unknown-outcome alerts ({"code", "message", ...}; toolkit.alerts) and the situations table's
    # accounting (toolkit.situations.SituationResult, None for a one-table export).
    alerts: list = field(default_factory=list)
    situations: object = field(default=None, repr=False)

    def summary_table(self, lang: str = "fr") -> pd.DataFrame:
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
        s = self.summary
        received = s["rows_received"]
        records = [("rows", code, _pick(_ROW_LABELS[code], lang), s[f"rows_{code}"]) for code in _ROW_LABELS]
        records += [("rejected", code, reason_label(code, lang), n) for code, n in s["rejected_by_reason"].items()]
        records += [
            ("warnings", kind, warning_label(kind, lang), n)
            for kind, n in s["warnings_by_kind"].items()
            if kind not in {"identifier_column_dropped", "column_ignored"}
        ]
        for column, kind in s["dropped_identifier_columns"].items():
            text = f"{warning_label('identifier_column_dropped', lang)} : {column} ({identifier_label(kind, lang)})"
            records.append(("columns", "identifier_column_dropped", text, 1))
        for column in s["ignored_columns"]:
            records.append(("columns", "column_ignored", f"{warning_label('column_ignored', lang)} : {column}", 1))
        table = pd.DataFrame(records, columns=["section", "code", "label", "count"])
        table.insert(1, "section_label", table["section"].map(lambda c: _pick(_SUMMARY_SECTIONS[c], lang)))
        table["count"] = table["count"].astype("int64")
        share = table["count"] / received if received else np.nan
        table["share"] = pd.Series(share, dtype="Float64").where(table["section"] != "columns")
        table.attrs["source_name"] = self.source_name
        table.attrs["definition"] = self.definition.label(lang)
        return table

    def summary_text(self, lang: str = "fr") -> str:
        """A short plain-text account (for the command line)."""
        s = self.summary
        fr = lang == "fr"
        from .i18n import use_language

        with use_language(lang):  # alerts come before anything else
            from .i18n import _

            lines = [_("ALERTE : {message}", message=a["message"]) for a in self.alerts]
        lines += [
            f"{'Fichier' if fr else 'File'} : {s['source_name']}",
            f"{'Définition' if fr else 'Definition'} : {self.definition.label(lang)}",
            f"{_pick(_ROW_LABELS['received'], lang)} : {s['rows_received']}",
            f"{_pick(_ROW_LABELS['kept'], lang)} : {s['rows_kept']}",
            f"{_pick(_ROW_LABELS['rejected'], lang)} : {s['rows_rejected']}",
        ]
        lines += [f"  - {reason_label(c, lang)} : {n}" for c, n in s["rejected_by_reason"].items() if n]
        if s["warnings_by_kind"]:
            lines.append(_pick(_SUMMARY_SECTIONS["warnings"], lang) + " :")
            lines += [f"  - {warning_label(k, lang)} : {n}" for k, n in s["warnings_by_kind"].items()]
        if s["dropped_identifier_columns"]:
            names = ", ".join(s["dropped_identifier_columns"])
            lines.append(f"{warning_label('identifier_column_dropped', lang)} : {names}")
        from .mapping_file import suggestion_text

        with use_language(lang):  # every ignored column named, with the contract column it resembles
            lines += [
                f"{warning_label('column_ignored', lang)} : {c}{suggestion_text(c)}" for c in s["ignored_columns"]
            ]
        lines += [f"  - {note}" for note in s.get("layout_notes", [])]
        from .situations import situations_text

        with use_language(lang):
            lines += situations_text(s.get("situations"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"CleanResult({s['source_name']!r}: {s['rows_received']} received, {s['rows_kept']} kept, "
            f"{s['rows_rejected']} rejected, definition={self.definition.name!r})"
        )


# --------------------------------------------------------------------------
# Parsers of distinct values (vectorised over the distinct values)
# --------------------------------------------------------------------------
_DATE_FORMATS = (
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%y",
)
_EXCEL_SERIAL = re.compile(r"^\d{3,5}(?:[.,]\d+)?$")
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_EVENT_WINDOW = (np.datetime64("1990-01-01", "ns"), np.datetime64("2099-12-31", "ns"))
_BIRTH_WINDOW = (np.datetime64("1900-01-01", "ns"), np.datetime64("2099-12-31", "ns"))
_YEAR = re.compile(r"^(\d{4})(?:[.,]0+)?$")


def _texts(values) -> pd.Series:
    """Distinct raw values as stripped strings (missing stays missing)."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str").str.strip()


def parse_dates(values, window: tuple = _EVENT_WINDOW) -> np.ndarray:
    """Parse date strings (see the module docstring) into ``datetime64[ns]``; NaT when invalid.

    Meant for the distinct values of a column.
    """
    texts = _texts(values)
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    todo = texts.notna() & (texts != "")
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(texts[todo], format=fmt, errors="coerce").astype("datetime64[ns]")
        if fmt == "%d/%m/%Y":  # pandas accepts 2-digit years here; leave them to %d/%m/%y
            parsed = parsed.where(texts[todo].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}"))
        got = parsed.notna()
        out[got[got].index] = parsed[got]
        todo &= out.isna()
    serial = todo & texts.str.fullmatch(_EXCEL_SERIAL).fillna(False)
    if serial.any():
        days = pd.to_numeric(texts[serial].str.replace(",", ".", regex=False), errors="coerce").to_numpy()
        out[serial] = (_EXCEL_EPOCH + np.floor(days).astype("int64").astype("timedelta64[D]")).astype("datetime64[ns]")
    result = out.to_numpy(dtype="datetime64[ns]", copy=True)
    outside = (result < window[0]) | (result > window[1])
    result[outside] = np.datetime64("NaT")
    return result


def parse_years(values) -> tuple[np.ndarray, np.ndarray]:
    """Birth years from year strings (``2003``, ``2003.0``) or full dates.

    Returns
    -------
    (years, was_full_date)
        float array (NaN when unreadable or outside 1900-2099) and a boolean
        array marking values that were full dates (reduced to the year).
    """
    texts = _texts(values)
    match = texts.str.extract(_YEAR, expand=False)
    years = pd.to_numeric(match, errors="coerce").to_numpy(dtype=float, copy=True)
    years[(years < 1900) | (years > 2099)] = np.nan
    as_date = np.isnan(years) & texts.notna().to_numpy() & (texts != "").to_numpy()
    full_date = np.zeros(len(texts), dtype=bool)
    if as_date.any():
        dates = parse_dates(texts[as_date].to_numpy(dtype=object), window=_BIRTH_WINDOW)
        found = ~np.isnat(dates)
        idx = np.flatnonzero(as_date)
        years[idx[found]] = dates[found].astype("datetime64[Y]").astype(int) + 1970
        full_date[idx[found]] = True
    return years, full_date


def parse_numbers(values) -> np.ndarray:
    """Non-negative numbers with a decimal comma or point; NaN when unreadable or negative."""
    texts = _texts(values).str.replace(r"[\s\u00a0\u202f]", "", regex=True).str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float, copy=True)
    numbers[numbers < 0] = np.nan
    return numbers


def _present(texts: pd.Series) -> np.ndarray:
    return (texts.notna() & (texts != "")).to_numpy()


# --------------------------------------------------------------------------
# Columns as codes into their distinct values
# --------------------------------------------------------------------------
def _overrides(mapping: ExportMapping, column: str, table: dict[str, int]) -> dict[str, int]:
    """Mapping-file labels for ``column``, resolved to code positions (checked when the mapping was loaded)."""
    return {
        normalise_key(label_text): table[normalise_key(target)]
        for label_text, target in mapping.values.get(column, {}).items()
    }


def _categorise(col: TextColumn | None, n: int, mapping: ExportMapping, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row position in the column's codes (-1 unknown/missing) and per-row 'unrecognised' flag."""
    if col is None:
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    table = label_table(column)
    table.update(_overrides(mapping, column, table))
    keys = [normalise_key(v) for v in col.values]  # distinct values only
    positions = np.array([table.get(k, -1) for k in keys], dtype=np.int64)
    unrecognised = np.array([bool(k) for k in keys], dtype=bool) & (positions < 0)
    return col.take(positions, -1), col.take(unrecognised, False)


# --------------------------------------------------------------------------
# Warnings, collected as arrays
# --------------------------------------------------------------------------
class _Warnings:
    def __init__(self, keep: np.ndarray):
        self.keep = keep
        self.parts: list[tuple[np.ndarray, str, str, np.ndarray]] = []
        self.column_level: list[tuple[str, str, str]] = []

    def add_rows(self, mask: np.ndarray, column: str, kind: str, col: TextColumn | None = None) -> None:
        """Row warnings for kept rows in ``mask``; the message quotes the raw value when ``col`` is given."""
        rows = np.flatnonzero(mask & self.keep)
        if len(rows) == 0:
            return
        base = warning_label(kind)
        if col is None:
            messages = np.full(len(rows), base, dtype=object)
        else:
            per_value = np.array([f"{base} : « {v} »" for v in col.values], dtype=object)
            extended = np.append(per_value, f"{base} (vide)")
            messages = extended[col.codes[rows]]
        self.parts.append((rows, column, kind, messages))

    def add_column(self, column: str, kind: str, message: str) -> None:
        self.column_level.append((column, kind, message))

    def frame(self) -> pd.DataFrame:
        lengths = np.array([len(p[0]) for p in self.parts], dtype=np.int64)
        n_col = len(self.column_level)
        rows = np.concatenate([np.full(n_col, -1, dtype=np.int64)] + [p[0] + 1 for p in self.parts])
        names = [c for c, _, _ in self.column_level] + [p[1] for p in self.parts]
        kinds = [k for _, k, _ in self.column_level] + [p[2] for p in self.parts]
        repeats = np.concatenate([np.ones(n_col, dtype=np.int64), lengths]).astype(np.int64)
        messages = np.concatenate(
            [np.array([m for *_, m in self.column_level], dtype=object)] + [p[3] for p in self.parts]
        )
        name_codes, name_values = pd.factorize(pd.Index(names, dtype=object))
        kind_order = list(WARNING_KINDS)
        kind_codes = np.array([kind_order.index(k) for k in kinds], dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        return pd.DataFrame(
            {
                "source_row": pd.arrays.IntegerArray(np.maximum(rows, 0)[order], (rows < 0)[order]),
                "column": pd.Categorical.from_codes(
                    np.repeat(name_codes, repeats)[order], categories=pd.Index(name_values, dtype="str")
                ),
                "kind": pd.Categorical.from_codes(np.repeat(kind_codes, repeats)[order], categories=kind_order),
                "message": pd.array(messages[order], dtype="string"),
            }
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, kind, _ in self.column_level:
            counts[kind] = counts.get(kind, 0) + 1
        for rows, _, kind, _ in self.parts:
            counts[kind] = counts.get(kind, 0) + len(rows)
        return {k: counts[k] for k in WARNING_KINDS if counts.get(k)}


# --------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------
def _combined_key(columns: list[TextColumn], rows: np.ndarray) -> np.ndarray:
    """Exact group id of ``rows`` over all columns (equal ids = identical raw values)."""
    key = np.zeros(len(rows), dtype=np.int64)
    span = 1
    for col in columns:
        base = len(col.values) + 1
        if span * base >= 2**62:  # compress before the combined key could overflow
            key, uniques = pd.factorize(key)
            key = key.astype(np.int64)
            span = len(uniques)
        key = key * base + (col.codes[rows] + 1)
        span *= base
    return pd.factorize(key)[0]  # ids in order of first appearance


def _first_copy(columns: list[TextColumn], n: int) -> np.ndarray:
    """For each row, the position of the first row with identical raw values (itself if none earlier).

    Only rows whose value in the most varied column (usually the trainee id)
    occurs more than once can have a duplicate, so the exact comparison on
    every column runs on those candidate rows only.
    """
    result = np.arange(n, dtype=np.int64)
    if n == 0 or not columns:
        return result
    widest = max(columns, key=lambda c: len(c.values))
    counts = np.bincount(widest.codes + 1, minlength=len(widest.values) + 1)
    candidates = np.flatnonzero(counts[widest.codes + 1] > 1)
    if len(candidates) == 0:
        return result
    group = _combined_key(columns, candidates)
    running_max = np.maximum.accumulate(group)
    is_first = np.ones(len(group), dtype=bool)
    is_first[1:] = group[1:] > running_max[:-1]
    first_positions = candidates[is_first]  # in group-id order
    result[candidates] = first_positions[group]
    return result


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------
class _Steps:
    """Progress bar (optional) and the wall time of each step (always, for benchmarks)."""

    def __init__(self, enabled: bool, total: int):
        import time

        self.clock, self.cpu_clock = time.perf_counter, time.process_time
        self.last, self.last_cpu = self.clock(), self.cpu_clock()
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="Nettoyage", unit="étape")

    def __call__(self, text: str) -> None:
        now, now_cpu = self.clock(), self.cpu_clock()
        self.timings[text] = now - self.last
        self.cpu_timings[text] = now_cpu - self.last_cpu  # all threads of the process
        self.last, self.last_cpu = now, now_cpu
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------
# Main entry point
# --------------------------------------------------------------------------
_BOOL_COLUMNS = (
    ("qpv", "qpv"),
    ("zone_rurale", "rural"),
    ("rqth", "disability"),
    ("cofinancement_fse", "esf_cofunded"),
)
_DATE_COLUMNS = (
    ("date_sortie", "exit_date"),
    ("date_debut_situation", "outcome_start"),
    ("date_fin_situation", "outcome_end"),
    ("date_suivi", "follow_up_date"),
)


def _text_values(col: TextColumn | None, n: int, mapping: ExportMapping, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row codes into distinct stripped texts (after mapping renames); -1 when missing."""
    if col is None:
        return np.full(n, -1, dtype=np.int64), np.empty(0, dtype=object)
    renames = {normalise_key(k): v for k, v in mapping.values.get(column, {}).items()}
    texts = _texts(col.values)
    stripped = [None if (t is None or t != t or t == "") else renames.get(normalise_key(t), t) for t in texts]
    new_codes, uniques = pd.factorize(pd.Index(stripped, dtype=object))
    return col.take(new_codes.astype(np.int64), -1), np.asarray(uniques, dtype=object)


def clean_export(
    source, mapping=None, definition=None, *, key=None, progress: bool = False, situations=None, reference_date=None
) -> CleanResult:
    """Clean a raw export into the canonical frame, accounting for every row.

    Parameters
    ----------
    source : path or DataFrame
        A CSV, XLSX or Parquet export, or a DataFrame with raw-contract
        columns (headers matched as for files).
    mapping : path, dict or ExportMapping, optional
        The school's mapping of headers and labels (see :mod:`toolkit.io`).
    definition : str or Definition, optional
        Positive-exit definition (preset name or object); the project
        default (``'projet'``) when None.
    key : str or bytes, optional
        Pseudonymisation key; by default from the environment or the key file
        (see :func:`toolkit.privacy.load_key`).
    progress : bool
        Show a progress bar (tqdm).
    situations : path or DataFrame, optional
        The situations table of a two-table export (else the one the mapping
        names, if any); see :mod:`toolkit.situations`.
    reference_date : date-like, optional
        Follow-up windows not elapsed by then are unknown (default: the
        latest date in the export).

    Returns
    -------
    CleanResult
        ``.data`` (canonical frame), ``.rejected``, ``.warnings``,
        ``.summary``, ``.definition``, ``.source_name``, ``.sha256``; see
        :class:`CleanResult`.

    Raises
    ------
    InputError, SchemaError
        Unreadable, empty or badly encoded file, missing required column,
        invalid mapping (French message naming the file).
    """
    definition = get_definition(definition)
    steps = _Steps(progress, total=10)
    try:
        return _clean(source, mapping, definition, key, steps, situations, reference_date)
    finally:
        steps.close()


def _clean(
    source, mapping, definition: Definition, key, steps: _Steps, situations=None, reference_date=None
) -> CleanResult:
    raw: RawExport = read_export(source, mapping)
    steps("lecture")
    n = raw.n_rows

    # Privacy first: identifier columns leave before anything else looks at the data.
    contract = {c.name for c in RAW_COLUMNS}
    found, ignored = find_identifier_columns({c: col.values for c, col in raw.columns.items()}, contract)
    by_column = {**raw.identifiers_not_read, **dict(found)}  # not read (named by header) or found now
    dropped = [(h, by_column[h]) for h in raw.headers if h in by_column]
    columns = {c: col for c, col in raw.columns.items() if c not in by_column}
    first_copy = _first_copy(list(columns.values()), n)  # raw values, identifiers dropped
    steps("identifiants et doublons")

    birth_col = columns.get("annee_naissance")
    birth_from_date = birth_col is None and any(kind == "date_naissance" for _, kind in dropped)
    if birth_from_date:
        birth_col = raw.columns[next(c for c, kind in dropped if kind == "date_naissance")]
    birth_year, birth_full_date = _birth_years(birth_col, columns, n)
    raw_columns = [c.name for c in RAW_COLUMNS if c.name in columns]
    cols = {name: columns.get(name) for name in RAW_BY_NAME}
    cols["annee_naissance"] = None  # only through birth_year and the safe values of _birth_years

    # Trainee id -> keyed pseudonym (each distinct id hashed once). The HMACs run in a worker
    # thread while the other columns are parsed: much of that is numpy/pyarrow work that releases the GIL.
    id_col = cols["id_stagiaire"]
    id_clean = [v.strip() or None for v in id_col.values]
    missing_id = id_col.take(np.array([v is None for v in id_clean], dtype=bool), True)
    hasher = ThreadPoolExecutor(max_workers=1)
    pseudonyms = hasher.submit(lambda secret: _arrow_strings(pseudonymise_unique(id_clean, secret)), load_key(key))
    hasher.shutdown(wait=False)
    steps("identifiant")

    rows = _parse_labels(cols, n, raw.mapping)
    steps("libellés")
    rows.update(_parse_dates_and_numbers(cols, n))
    rows["birth_year"], rows["birth_full_date"] = birth_year, birth_full_date
    steps("dates")

    # Rejection rules, first failing rule wins.
    entry = rows["entry_date"]
    rows["cohort_year"] = np.where(np.isnat(entry), np.nan, entry.astype("datetime64[Y]").astype("int64") + 1970)
    rows["age_at_entry"] = rows["cohort_year"] - birth_year
    exit_date = rows["exit_date"]
    rules = {
        "missing_id": missing_id,
        "unknown_region": rows["region"] < 0,
        "invalid_entry_date": np.isnat(entry),
        "exit_before_entry": ~np.isnat(exit_date) & ~np.isnat(entry) & (exit_date < entry),
        "age_out_of_range": ~np.isnan(rows["age_at_entry"])
        & ((rows["age_at_entry"] < 15) | (rows["age_at_entry"] > 40)),
        "duplicate": first_copy != np.arange(n),
    }
    reason = np.full(n, -1, dtype=np.int64)
    for position, mask in reversed(list(enumerate(rules.values()))):
        reason[mask] = position
    keep = reason < 0
    steps("règles")

    warnings = _collect_warnings(rows, cols, keep, dropped, ignored)
    short = np.zeros(n, dtype=bool)
    short[raw.short_rows] = True
    warnings.add_rows(short, raw.headers[-1], "short_row")
    pseudo_per_value = pseudonyms.result()
    steps("pseudonymes")

    data = _canonical_frame(rows, keep, _strings_at(pseudo_per_value, id_col.codes[keep]))
    steps("tableau canonique")
    data["positive_exit"] = positive_exit(data, definition)
    from .outcomes import complete_clean  # situations table, follow-up timing, unknown-outcome alerts

    data, extras = complete_clean(
        data, raw, definition, situations=situations, key=key, reference_date=reference_date, source=source
    )
    if extras["situations"] is not None:  # exit reasons taken from the situations table are no longer missing
        from .outcomes import drop_filled_reason_warnings

        drop_filled_reason_warnings(warnings.parts, data)
    data = data[list(CANONICAL_DTYPES)]
    steps("sorties positives")

    rejected = _rejected_frame(
        columns, raw_columns, ~keep, reason, pseudo_per_value, id_col, cols, rows["age_at_entry"], first_copy
    )
    counts = np.bincount(reason[~keep], minlength=len(REJECTION_REASONS))
    summary = {
        "source_name": raw.source_name,
        "sha256": raw.sha256,
        "file_format": raw.file_format,
        "encoding": raw.encoding,
        "separator": raw.separator,
        "definition": definition.name,
        "definition_label": definition.label("fr"),
        "rows_received": int(n),
        "rows_kept": int(keep.sum()),
        "rows_rejected": int((~keep).sum()),
        "rejected_by_reason": {code: int(c) for code, c in zip(REJECTION_REASONS, counts)},
        "warnings_by_kind": warnings.counts(),
        "dropped_identifier_columns": dict(dropped),
        "ignored_columns": list(ignored),
        "column_map": dict(raw.column_map),
        "layout_notes": extras["layout_notes"],
        "situations": extras["situations"].summary if extras["situations"] is not None else None,
        "alerts": [a["code"] for a in extras["alerts"]],
    }
    warnings_frame = warnings.frame()
    steps("rejets et bilan")
    # Downstream (indicators, models) read which definition `positive_exit` was computed under.
    data.attrs["definition"] = definition.name
    return CleanResult(
        data=data,
        rejected=rejected,
        warnings=warnings_frame,
        summary=summary,
        definition=definition,
        source_name=raw.source_name,
        sha256=raw.sha256,
        raw_info={"headers": raw.headers, "birth_year_from_birth_date": birth_from_date},
        timings={"wall": dict(steps.timings), "cpu": dict(steps.cpu_timings)},
        alerts=extras["alerts"],
        situations=extras["situations"],
    )


def _birth_years(birth_col: TextColumn | None, columns: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row birth year (NaN unknown) and 'was a full date' flag.

    Never keeps an exact birth date, not even for .rejected: ``columns["annee_naissance"]``
    is replaced by safe values (full dates become the year, other date-like text is masked).
    """
    if birth_col is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    years, full_date = parse_years(birth_col.values)
    columns["annee_naissance"] = text_column(birth_col.codes, _safe_birth_values(birth_col.values, years, full_date))
    return birth_col.take(years, np.nan), birth_col.take(full_date, False)


_LABEL_COLUMNS = (
    ("region", "region"),
    ("sexe", "sex"),
    ("niveau_formation", "education_level"),
    ("nationalite", "nationality"),
    ("prescripteur", "referrer"),
    ("motif_sortie", "exit_reason"),
    ("groupe", "group"),
    ("qpv", "qpv"),
    ("zone_rurale", "rural"),
    ("rqth", "disability"),
    ("cofinancement_fse", "esf_cofunded"),
)


def _parse_labels(cols: dict, n: int, mapping: ExportMapping) -> dict:
    """Per-row code positions (-1 unknown) of every coded column, 'unrecognised' flags, school and site."""
    rows: dict = {"unrecognised": {}}
    for raw_name, canonical in _LABEL_COLUMNS:
        rows[canonical], rows["unrecognised"][raw_name] = _categorise(cols[raw_name], n, mapping, raw_name)
    if cols["groupe"] is None:
        rows["group"] = np.zeros(n, dtype=np.int64)  # no column: everyone is in the E2C group
    rows["school"], rows["school_values"] = _text_values(cols["ecole"], n, mapping, "ecole")
    rows["site"], rows["site_values"] = _text_values(cols["site"], n, mapping, "site")
    # Free text reaches the reports: a school or site "name" that is an e-mail, a phone or a NIR is masked.
    for canonical in ("school", "site"):
        codes, looks = rows[canonical], identifier_like(rows[f"{canonical}_values"])
        rows[f"{canonical}_masked"] = (codes >= 0) & np.append(looks, False)[codes]  # code -1 -> appended False
        rows[canonical] = np.where(rows[f"{canonical}_masked"], -1, codes)
    return rows


def _parse_dates_and_numbers(cols: dict, n: int) -> dict:
    """Per-row dates (NaT unknown), numbers (NaN unknown) and 'unreadable' flags by raw column."""
    rows: dict = {"unreadable": {}}
    for raw_name, canonical in (("date_entree", "entry_date"), *_DATE_COLUMNS):
        col = cols[raw_name]
        if col is None:
            rows[canonical] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
            rows["unreadable"][raw_name] = np.zeros(n, dtype=bool)
            continue
        parsed = parse_dates(col.values)
        rows[canonical] = col.take(parsed, np.datetime64("NaT"))
        rows["unreadable"][raw_name] = col.take(np.isnat(parsed) & _present(_texts(col.values)), False)
    for raw_name, canonical, integer in (
        ("semaines_entreprise", "weeks_in_company", False),
        ("nb_stages", "n_internships", True),
    ):
        col = cols[raw_name]
        if col is None:
            rows[canonical], rows["unreadable"][raw_name] = np.full(n, np.nan), np.zeros(n, dtype=bool)
            continue
        parsed = parse_numbers(col.values)
        if integer:
            parsed[parsed != np.floor(parsed)] = np.nan
        rows[canonical] = col.take(parsed, np.nan)
        rows["unreadable"][raw_name] = col.take(np.isnan(parsed) & _present(_texts(col.values)), False)
    return rows


_UNKNOWN_EXIT = EXIT_REASON_CODES.index("inconnu")


def _exit_codes(rows: dict) -> np.ndarray:
    """Exit reason positions: a reason counts only with an exit date; an exit without a known reason is 'inconnu'."""
    has_exit = ~np.isnat(rows["exit_date"])
    return np.where(has_exit, np.where(rows["exit_reason"] >= 0, rows["exit_reason"], _UNKNOWN_EXIT), -1)


def _collect_warnings(rows: dict, cols: dict, keep: np.ndarray, dropped, ignored) -> _Warnings:
    warnings = _Warnings(keep)
    for column, kind in dropped:
        warnings.add_column(
            column,
            "identifier_column_dropped",
            f"{warning_label('identifier_column_dropped')} : « {column} » ({identifier_label(kind)})",
        )
    for column in ignored:
        from .mapping_file import suggestion_text

        warnings.add_column(
            column, "column_ignored", f"{warning_label('column_ignored')} : « {column} »" + suggestion_text(column)
        )
    bad = rows["unrecognised"]
    warnings.add_rows(rows["birth_full_date"], "annee_naissance", "birth_date_reduced")
    warnings.add_rows(rows["school_masked"], "ecole", "identifier_value_masked")  # never quote the value
    warnings.add_rows(rows["site_masked"], "site", "identifier_value_masked")
    warnings.add_rows(rows["school"] < 0, "ecole", "missing_school")
    warnings.add_rows(rows["sex"] < 0, "sexe", "unknown_sex", cols["sexe"])
    warnings.add_rows(np.isnan(rows["birth_year"]), "annee_naissance", "invalid_birth_year")  # never quote birth data
    warnings.add_rows(bad["niveau_formation"], "niveau_formation", "unknown_education_level", cols["niveau_formation"])
    for raw_name, _ in _BOOL_COLUMNS:
        warnings.add_rows(bad[raw_name], raw_name, "unknown_boolean", cols[raw_name])
    warnings.add_rows(bad["nationalite"], "nationalite", "unknown_nationality", cols["nationalite"])
    warnings.add_rows(bad["prescripteur"], "prescripteur", "unknown_referrer", cols["prescripteur"])
    warnings.add_rows(bad["groupe"], "groupe", "unknown_group", cols["groupe"])
    for raw_name, _ in _DATE_COLUMNS:
        warnings.add_rows(rows["unreadable"][raw_name], raw_name, "invalid_date", cols[raw_name])
    for raw_name in ("semaines_entreprise", "nb_stages"):
        warnings.add_rows(rows["unreadable"][raw_name], raw_name, "invalid_number", cols[raw_name])
    has_exit = ~np.isnat(rows["exit_date"])
    given = (rows["exit_reason"] >= 0) | bad["motif_sortie"]
    warnings.add_rows(has_exit & bad["motif_sortie"], "motif_sortie", "unknown_exit_reason", cols["motif_sortie"])
    # An exit whose reason is missing or stated as unknown ("NR", "Non renseigné").
    warnings.add_rows(
        has_exit & (~given | (rows["exit_reason"] == _UNKNOWN_EXIT)), "motif_sortie", "exit_without_reason"
    )
    warnings.add_rows(~has_exit & given, "motif_sortie", "reason_without_exit_date", cols["motif_sortie"])
    start, end = rows["outcome_start"], rows["outcome_end"]
    warnings.add_rows(
        ~np.isnat(start) & ~np.isnat(end) & (end < start), "date_fin_situation", "outcome_end_before_start"
    )
    return warnings


def _canonical_frame(rows: dict, keep: np.ndarray, trainee_id) -> pd.DataFrame:
    """The canonical frame of the kept rows, without positive_exit (computed from it afterwards)."""
    k = np.flatnonzero(keep)

    def categorical(name: str) -> pd.Categorical:
        return pd.Categorical.from_codes(rows[name][k], dtype=CANONICAL_DTYPES[name])

    def integers(name: str) -> pd.api.extensions.ExtensionArray:
        return pd.array(rows[name][k], dtype="Float64").astype("Int64")

    exit_code = _exit_codes(rows)[k]
    site_codes, site_names = _site_codes(rows["site"][k], rows["site_values"], rows["school"][k], rows["school_values"])
    return pd.DataFrame(
        {
            "source_row": (k + 1).astype("int64"),
            "trainee_id": trainee_id,
            "region": categorical("region"),
            # Schools and sites seen only on rejected rows are not categories of the data.
            "school": pd.Categorical.from_codes(
                rows["school"][k], categories=pd.Index(rows["school_values"], dtype="str")
            ).remove_unused_categories(),
            "site": pd.Categorical.from_codes(
                site_codes, categories=pd.Index(site_names, dtype="str")
            ).remove_unused_categories(),
            "sex": categorical("sex"),
            "birth_year": integers("birth_year"),
            "age_at_entry": integers("age_at_entry"),
            "education_level": categorical("education_level"),
            "qpv": _boolean(rows["qpv"][k]),
            "rural": _boolean(rows["rural"][k]),
            "disability": _boolean(rows["disability"][k]),
            "nationality": categorical("nationality"),
            "referrer": categorical("referrer"),
            "entry_date": rows["entry_date"][k],
            "exit_date": rows["exit_date"][k],
            "exit_reason": pd.Categorical.from_codes(exit_code, dtype=CANONICAL_DTYPES["exit_reason"]),
            "exit_category": pd.Categorical.from_codes(
                _category_codes(exit_code), dtype=CANONICAL_DTYPES["exit_category"]
            ),
            "outcome_start": rows["outcome_start"][k],
            "outcome_end": rows["outcome_end"][k],
            "follow_up_date": rows["follow_up_date"][k],
            "weeks_in_company": pd.array(rows["weeks_in_company"][k], dtype="Float64"),
            "n_internships": integers("n_internships"),
            "esf_cofunded": _boolean(rows["esf_cofunded"][k]),
            "group": categorical("group"),
            "cohort_year": integers("cohort_year"),
        }
    )


_DATE_LIKE = re.compile(r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}|\d{4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,2}")


def _safe_birth_values(values: np.ndarray, years: np.ndarray, full_date: np.ndarray) -> np.ndarray:
    """Raw birth values safe to show: full dates reduced to the year, other date-like text masked."""
    texts = _texts(values)
    date_like = texts.str.contains(_DATE_LIKE).fillna(False).to_numpy() & ~full_date
    year_text = np.array([f"{y:.0f}" if y == y else None for y in years], dtype=object)
    out = np.where(full_date, year_text, np.asarray(values, dtype=object))
    out[date_like] = "[date masquée]"
    return out


def _boolean(positions: np.ndarray) -> pd.arrays.BooleanArray:
    """Nullable booleans from positions in ('0', '1'); -1 is unknown."""
    return pd.arrays.BooleanArray(positions == 1, positions < 0)


_CATEGORY_OF_CODE = np.array(
    [list(CANONICAL_DTYPES["exit_category"].categories).index(EXIT_CATEGORY_OF[c]) for c in EXIT_REASON_CODES],
    dtype=np.int64,
)


def _category_codes(exit_code: np.ndarray) -> np.ndarray:
    return np.where(exit_code >= 0, _CATEGORY_OF_CODE[np.maximum(exit_code, 0)], -1)


def _site_codes(site_codes, site_values, school_codes, school_values) -> tuple[np.ndarray, np.ndarray]:
    """Site, or the school when the site is missing, as codes into one set of names."""
    names = np.concatenate([site_values, school_values]).astype(object)
    combined = np.where(site_codes >= 0, site_codes, np.where(school_codes >= 0, len(site_values) + school_codes, -1))
    new_codes, categories = pd.factorize(pd.Index(names, dtype=object))
    remap = np.append(new_codes, -1).astype(np.int64)
    return remap[combined], np.asarray(categories, dtype=object)


def _arrow_strings(values):
    import pyarrow as pa

    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def _strings_at(per_value, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``string`` array of ``per_value[codes]`` (code -1 or a None value: missing), built by pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = per_value if isinstance(per_value, pa.Array) else _arrow_strings(per_value)
    taken = pc.take(values, pa.array(codes, type=pa.int64(), mask=codes < 0))
    return pd.array(taken, dtype="string")


def _rejected_frame(
    columns, raw_columns, rejected_mask, reason, pseudo_per_value, id_col, cols, age, first_copy
) -> pd.DataFrame:
    """Rejected rows: source_row, reason_code, reason (with the faulty value), raw contract columns."""
    rows = np.flatnonzero(rejected_mask)
    codes = reason[rows]
    labels = np.array([reason_label(c) for c in REJECTION_REASONS], dtype=object)
    reason_text = pd.Series(labels[codes], dtype="str")

    def quoted(col: TextColumn | None, where: np.ndarray) -> np.ndarray:
        if col is None:
            return np.full(int(where.sum()), " (colonne absente)", dtype=object)
        per_value = np.array([f" : « {v} »" for v in col.values], dtype=object)
        return np.append(per_value, " (vide)")[col.codes[rows[where]]]

    detail = np.full(len(rows), "", dtype=object)
    position = {code: i for i, code in enumerate(REJECTION_REASONS)}
    where = codes == position["unknown_region"]
    detail[where] = quoted(cols["region"], where)
    where = codes == position["invalid_entry_date"]
    detail[where] = quoted(cols["date_entree"], where)
    where = codes == position["exit_before_entry"]
    if where.any():
        detail[where] = (
            pd.Series(quoted(cols["date_entree"], where), dtype="str").str.replace(" : ", " : entrée ", n=1)
            + ","
            + pd.Series(quoted(cols["date_sortie"], where), dtype="str").str.replace(" : ", " sortie ", n=1)
        ).to_numpy(dtype=object)
    where = codes == position["age_out_of_range"]
    if where.any():
        detail[where] = (" : " + pd.Series(age[rows[where]]).astype("int64").astype("str") + " ans").to_numpy(
            dtype=object
        )
    where = codes == position["duplicate"]
    if where.any():
        detail[where] = (" : identique à la ligne " + pd.Series(first_copy[rows[where]] + 1).astype("str")).to_numpy(
            dtype=object
        )

    out = pd.DataFrame(
        {
            "source_row": (rows + 1).astype("int64"),
            "reason_code": pd.Categorical.from_codes(codes, categories=list(REJECTION_REASONS)),
            "reason": pd.array((reason_text + pd.Series(detail, dtype="str")).to_numpy(dtype=object), dtype="string"),
        }
    )
    for column in raw_columns:
        if column == "id_stagiaire":
            out[column] = _strings_at(pseudo_per_value, id_col.codes[rows])
        else:
            out[column] = _strings_at(columns[column].values, columns[column].codes[rows])
    return out
