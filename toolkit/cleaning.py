"""Cleaning a raw export into the canonical frame, with full row accounting.

``clean_export(source)`` reads an export (:mod:`toolkit.io`), drops direct
identifiers and pseudonymises trainee ids (:mod:`toolkit.privacy`), recognises
every label through the alias tables of :mod:`toolkit.schema`, applies the
rejection rules, checks the result (:func:`toolkit.validation.validate_canonical`)
and returns a :class:`CleanResult`. Every input row lands in exactly one of
``.data`` (kept) or ``.rejected``, and every line of a CSV file belongs to
exactly one row (``CleanResult.layout``); nothing is dropped silently.

Privacy comes first: direct-identifier columns are dropped, then every kept
text value (the trainee id aside, which becomes a keyed pseudonym) has the
e-mails, phones, NIR, long digit runs and names after a title found inside it
masked (:func:`toolkit.privacy.mask_identifiers_in_text`), before any label is
read or any message quotes a value.

Rejection rules, in this order (a row gets the reason of the first rule it
fails, so each rejected row has exactly one reason):

1. ``malformed_row``: a CSV line with more fields than the header (not read);
2. ``empty_row``: a blank line, or a row with every cell empty;
3. ``missing_id``: the trainee id is missing (empty or blank);
4. ``unknown_region``: the region is missing or not recognised;
5. ``invalid_entry_date``: the entry date is missing or is not a real date;
6. ``exit_before_entry``: the exit date is before the entry date;
7. ``age_out_of_range``: the age at entry (entry year minus birth year) is
   outside 15 to 40;
8. ``duplicate``: the row exactly duplicates an earlier row (the first copy is
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

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .cleanframes import (
    UNKNOWN_EXIT,
    Warnings,
    arrow_strings,
    canonical_frame,
    malformed_details,
    quote_value,
    rejected_frame,
    strings_at,
)
from .cleanresult import REJECTION_REASONS, WARNING_KINDS, CleanResult, reason_label, warning_label
from .definitions import Definition, get_definition, positive_exit
from .i18n import N_, _
from .io import RawExport, read_export
from .privacy import (
    MASK,
    find_identifier_columns,
    identifier_label,
    load_key,
    mask_identifiers_in_text,
    pseudonymise_unique,
)
from .rowparsing import DATE_COLUMNS, ParsedRows, birth_years, parse_dates_and_numbers, parse_labels
from .schema import (
    CANONICAL_DTYPES,
    RAW_BY_NAME,
    RAW_COLUMNS,
)
from .textcolumn import ROW_BLANK, ROW_MALFORMED, ROW_SHORT, ROW_STRAY_QUOTE, TextColumn, text_column
from .validation import validate_canonical
from .valueparsers import parse_dates, parse_numbers, parse_years

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
    "validate_canonical",
    "quote_value",
]


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
# Step names: keys of CleanResult.timings, and shown (translated) beside the progress bar.
_STEP_NAMES = (
    N_("lecture"),
    N_("identifiants et doublons"),
    N_("identifiant"),
    N_("libellés"),
    N_("dates"),
    N_("règles"),
    N_("pseudonymes"),
    N_("tableau canonique"),
    N_("sorties positives"),
    N_("rejets et bilan"),
)


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

            self.bar = tqdm(total=total, desc=_("Nettoyage"), unit=_("étape"))

    def __call__(self, text: str) -> None:
        now, now_cpu = self.clock(), self.cpu_clock()
        self.timings[text] = now - self.last
        self.cpu_timings[text] = now_cpu - self.last_cpu  # all threads of the process
        self.last, self.last_cpu = now, now_cpu
        if self.bar is not None:
            self.bar.set_postfix_str(_(text))
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


def _screen(raw: RawExport) -> tuple[dict, list, list, dict]:
    """Privacy first: (kept columns, dropped identifier columns, ignored columns, masked rows by column).

    Identifier columns leave before anything else looks at the data; every
    kept text column (the trainee id aside: it is pseudonymised) has the
    identifiers inside its values masked. Headers quoted in messages are
    masked the same way.
    """
    contract = {c.name for c in RAW_COLUMNS}
    found, ignored = find_identifier_columns({c: col.values for c, col in raw.columns.items()}, contract)
    by_column = {**raw.identifiers_not_read, **dict(found)}  # not read (named by header) or found now
    safe = dict(zip(raw.headers, mask_identifiers_in_text(raw.headers)[0]))
    dropped = [(safe[h] or MASK, by_column[h]) for h in raw.headers if h in by_column]
    ignored = [safe.get(h) or MASK for h in ignored]
    columns = {c: col for c, col in raw.columns.items() if c not in by_column}
    return columns, dropped, ignored, by_column


def _mask_text(columns: dict) -> dict[str, np.ndarray]:
    """Mask identifiers inside the values of every kept contract column (in place); per-row flags by column."""
    masked = {}
    for name, col in list(columns.items()):
        if name == "id_stagiaire" or name not in RAW_BY_NAME:
            continue
        values, changed = mask_identifiers_in_text(col.values)
        if changed.any():
            columns[name] = text_column(col.codes, values)
            masked[name] = col.take(changed, False)
    return masked


def _rules(rows: ParsedRows, raw: RawExport, missing_id: np.ndarray, first_copy: np.ndarray) -> np.ndarray:
    """Rejection reason position of each row (-1 kept); the first failing rule wins."""
    n = raw.n_rows
    entry, exit_date, age = rows.entry_date, rows.exit_date, rows.age_at_entry
    empty = np.ones(n, dtype=bool)
    for col in raw.columns.values():
        empty &= col.codes < 0
    rules = {
        "malformed_row": raw.layout.status == ROW_MALFORMED,
        "empty_row": empty | (raw.layout.status == ROW_BLANK),
        "missing_id": missing_id,
        "unknown_region": rows.region < 0,
        "invalid_entry_date": np.isnat(entry),
        "exit_before_entry": ~np.isnat(exit_date) & ~np.isnat(entry) & (exit_date < entry),
        "age_out_of_range": ~np.isnan(age) & ((age < 15) | (age > 40)),
        "duplicate": first_copy != np.arange(n),
    }
    assert list(rules) == list(REJECTION_REASONS)
    reason = np.full(n, -1, dtype=np.int64)
    for position, mask in reversed(list(enumerate(rules.values()))):
        reason[mask] = position
    return reason


def _clean(source, mapping, definition: Definition, key, steps: _Steps, situations=None, reference_date=None):
    raw: RawExport = read_export(source, mapping)
    steps("lecture")
    n = raw.n_rows
    columns, dropped, ignored, by_column = _screen(raw)
    first_copy = _first_copy(list(columns.values()), n)  # raw values, identifiers dropped
    masked = _mask_text(columns)  # after duplicates: masking must not make different rows equal
    steps("identifiants et doublons")

    birth_col = columns.get("annee_naissance")
    birth_from_date = birth_col is None and any(kind == "date_naissance" for kind in by_column.values())
    if birth_from_date:
        birth_col = raw.columns[next(c for c in raw.headers if by_column.get(c) == "date_naissance")]
    birth_year, birth_full_date = birth_years(birth_col, columns, n)
    raw_columns = [c.name for c in RAW_COLUMNS if c.name in columns]
    cols = {name: columns.get(name) for name in RAW_BY_NAME}
    cols["annee_naissance"] = None  # only through birth_year and the safe values of birth_years

    # Trainee id -> keyed pseudonym (each distinct id hashed once). The HMACs run in a worker
    # thread while the other columns are parsed: much of that is numpy/pyarrow work that releases the GIL.
    id_col = cols["id_stagiaire"]
    id_clean = [v.strip() or None for v in id_col.values]
    missing_id = id_col.take(np.array([v is None for v in id_clean], dtype=bool), True)
    secret = load_key(key)
    hasher = ThreadPoolExecutor(max_workers=1)
    pseudonyms = hasher.submit(lambda: arrow_strings(pseudonymise_unique(id_clean, secret)))
    hasher.shutdown(wait=False)
    steps("identifiant")

    rows = ParsedRows(masked=masked)
    parse_labels(rows, cols, n, raw.mapping)
    steps("libellés")
    parse_dates_and_numbers(rows, cols, n)
    rows.birth_year, rows.birth_full_date = birth_year, birth_full_date
    entry = rows.entry_date
    rows.cohort_year = np.where(np.isnat(entry), np.nan, entry.astype("datetime64[Y]").astype("int64") + 1970)
    rows.age_at_entry = rows.cohort_year - birth_year
    steps("dates")

    reason = _rules(rows, raw, missing_id, first_copy)
    keep = reason < 0
    steps("règles")

    warnings = _collect_warnings(rows, cols, keep, dropped, ignored)
    _layout_warnings(warnings, raw)
    pseudo_per_value = pseudonyms.result()
    steps("pseudonymes")

    data = canonical_frame(rows, keep, strings_at(pseudo_per_value, id_col.codes[keep]))
    steps("tableau canonique")
    data["positive_exit"] = positive_exit(data, definition)
    from .outcomes import complete_clean, drop_filled_reason_warnings  # situations table, follow-up, alerts

    data, extras = complete_clean(
        data, raw, definition, situations=situations, key=key, reference_date=reference_date, source=source
    )
    if extras["situations"] is not None:  # exit reasons taken from the situations table are no longer missing
        drop_filled_reason_warnings(warnings.parts, data)
    data = data[list(CANONICAL_DTYPES)]
    validate_canonical(data, raw.source_name)
    steps("sorties positives")

    rejected = rejected_frame(
        columns, raw_columns, ~keep, reason, pseudo_per_value, id_col, cols, rows.age_at_entry, first_copy
    )
    rejected.insert(1, "source_line", raw.layout.first_line[rejected["source_row"].to_numpy() - 1])
    malformed_details(rejected, raw.layout)
    summary = _summary(raw, definition, keep, reason, warnings, dropped, ignored)
    summary |= {
        "layout_notes": extras["layout_notes"],
        "situations": extras["situations"].summary if extras["situations"] is not None else None,
        "alerts": [a["code"] for a in extras["alerts"]],
    }
    warnings_frame = warnings.frame(raw.layout)
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
        raw_info={
            "headers": [h or MASK for h in mask_identifiers_in_text(raw.headers)[0]],
            "birth_year_from_birth_date": birth_from_date,
        },
        timings={"wall": dict(steps.timings), "cpu": dict(steps.cpu_timings)},
        layout=raw.layout,
        alerts=extras["alerts"],
        situations=extras["situations"],
    )


def _layout_warnings(warnings: Warnings, raw: RawExport) -> None:
    """Short rows and stray quotes, named by row (the warnings frame adds the line)."""
    layout = raw.layout
    first, last = (h or MASK for h in mask_identifiers_in_text([raw.headers[0], raw.headers[-1]])[0])
    warnings.add_rows(layout.status == ROW_SHORT, last, "short_row")
    warnings.add_rows(layout.status == ROW_STRAY_QUOTE, first, "stray_quote")


def _summary(raw, definition, keep, reason, warnings, dropped, ignored) -> dict:
    counts = np.bincount(reason[~keep], minlength=len(REJECTION_REASONS))
    return {
        "source_name": raw.source_name,
        "sha256": raw.sha256,
        "file_format": raw.file_format,
        "encoding": raw.encoding,
        "separator": raw.separator,
        "definition": definition.name,
        "definition_label": definition.label("fr"),
        "rows_received": int(raw.n_rows),
        "rows_kept": int(keep.sum()),
        "rows_rejected": int((~keep).sum()),
        "rejected_by_reason": {code: int(c) for code, c in zip(REJECTION_REASONS, counts)},
        "warnings_by_kind": warnings.counts(),
        "dropped_identifier_columns": dict(dropped),
        "ignored_columns": list(ignored),
        "column_map": dict(raw.column_map),
    }


def _collect_warnings(rows: ParsedRows, cols: dict, keep: np.ndarray, dropped, ignored) -> Warnings:
    warnings = Warnings(keep)
    for column, kind in dropped:
        warnings.add_column(
            column,
            "identifier_column_dropped",
            f"{warning_label('identifier_column_dropped')} : {quote_value(column)} ({identifier_label(kind)})",
        )
    from .mapping_file import SUGGESTED_AT_MOST, suggestion_text  # the contract column an ignored header resembles

    for i, column in enumerate(ignored):
        hint = suggestion_text(column) if i < SUGGESTED_AT_MOST else ""
        warnings.add_column(
            column, "column_ignored", f"{warning_label('column_ignored')} : {quote_value(column)}{hint}"
        )
    bad = rows.unrecognised
    warnings.add_rows(rows.birth_full_date, "annee_naissance", "birth_date_reduced")
    for column, masked in rows.masked.items():  # never quote the value
        warnings.add_rows(masked, column, "identifier_value_masked")
    warnings.add_rows(rows.school < 0, "ecole", "missing_school")
    warnings.add_rows(rows.sex < 0, "sexe", "unknown_sex", cols["sexe"])
    warnings.add_rows(np.isnan(rows.birth_year), "annee_naissance", "invalid_birth_year")  # never quote birth data
    warnings.add_rows(bad["niveau_formation"], "niveau_formation", "unknown_education_level", cols["niveau_formation"])
    for raw_name, _canonical in _BOOL_COLUMNS:
        warnings.add_rows(bad[raw_name], raw_name, "unknown_boolean", cols[raw_name])
    warnings.add_rows(bad["nationalite"], "nationalite", "unknown_nationality", cols["nationalite"])
    warnings.add_rows(bad["prescripteur"], "prescripteur", "unknown_referrer", cols["prescripteur"])
    warnings.add_rows(bad["groupe"], "groupe", "unknown_group", cols["groupe"])
    for raw_name, _canonical in DATE_COLUMNS:
        warnings.add_rows(rows.unreadable[raw_name], raw_name, "invalid_date", cols[raw_name])
    for raw_name in ("semaines_entreprise", "nb_stages"):
        warnings.add_rows(rows.unreadable[raw_name], raw_name, "invalid_number", cols[raw_name])
    has_exit = ~np.isnat(rows.exit_date)
    given = (rows.exit_reason >= 0) | bad["motif_sortie"]
    warnings.add_rows(has_exit & bad["motif_sortie"], "motif_sortie", "unknown_exit_reason", cols["motif_sortie"])
    # An exit whose reason is missing or stated as unknown ("NR", "Non renseigné").
    warnings.add_rows(has_exit & (~given | (rows.exit_reason == UNKNOWN_EXIT)), "motif_sortie", "exit_without_reason")
    warnings.add_rows(~has_exit & given, "motif_sortie", "reason_without_exit_date", cols["motif_sortie"])
    start, end = rows.outcome_start, rows.outcome_end
    warnings.add_rows(
        ~np.isnat(start) & ~np.isnat(end) & (end < start), "date_fin_situation", "outcome_end_before_start"
    )
    return warnings
