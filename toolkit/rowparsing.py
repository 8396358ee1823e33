"""Parsing an export's columns row by row, before the rejection rules: labels to code positions
(through the schema's alias tables and the school's mapping), school and site texts, dates, numbers
and birth years, each with its per-row "unrecognised" or "unreadable" flag.

Every parser works on a column's distinct values (:class:`~toolkit.textcolumn.TextColumn`) and
spreads the result over the rows with integer codes: no per-row Python work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .mapping_file import ExportMapping
from .schema import label_table, normalise_key
from .textcolumn import TextColumn, text_column
from .valueparsers import as_texts, parse_dates, parse_numbers, parse_years, present, safe_birth_values

__all__ = ["ParsedRows", "DATE_COLUMNS", "birth_years", "parse_labels", "parse_dates_and_numbers"]


def label_overrides(mapping: ExportMapping, column: str, table: dict[str, int]) -> dict[str, int]:
    """Mapping-file labels for ``column``, resolved to code positions (checked when the mapping was loaded)."""
    return {
        normalise_key(label_text): table[normalise_key(target)]
        for label_text, target in mapping.values.get(column, {}).items()
    }


def categorise(col: TextColumn | None, n: int, mapping: ExportMapping, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row position in the column's codes (-1 unknown/missing) and per-row 'unrecognised' flag."""
    if col is None:
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    table = label_table(column)
    table.update(label_overrides(mapping, column, table))
    keys = [normalise_key(v) for v in col.values]  # distinct values only
    positions = np.array([table.get(k, -1) for k in keys], dtype=np.int64)
    unrecognised = np.array([bool(k) for k in keys], dtype=bool) & (positions < 0)
    return col.take(positions, -1), col.take(unrecognised, False)


DATE_COLUMNS = (
    ("date_sortie", "exit_date"),
    ("date_debut_situation", "outcome_start"),
    ("date_fin_situation", "outcome_end"),
    ("date_suivi", "follow_up_date"),
)


def text_values(col: TextColumn | None, n: int, mapping: ExportMapping, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row codes into distinct stripped texts (after mapping renames); -1 when missing."""
    if col is None:
        return np.full(n, -1, dtype=np.int64), np.empty(0, dtype=object)
    renames = {normalise_key(k): v for k, v in mapping.values.get(column, {}).items()}
    texts = as_texts(col.values)
    stripped = [None if (t is None or t != t or t == "") else renames.get(normalise_key(t), t) for t in texts]
    new_codes, uniques = pd.factorize(pd.Index(stripped, dtype=object))
    return col.take(new_codes.astype(np.int64), -1), np.asarray(uniques, dtype=object)


@dataclass
class ParsedRows:
    """Per-row results of parsing an export's columns (arrays of length n_rows), before the rejection rules.

    Code positions index the schema's codes (-1 unknown or missing); dates are
    ``datetime64[ns]`` (NaT unknown); numbers are floats (NaN unknown).
    """

    masked: dict[str, np.ndarray] = field(default_factory=dict)  # raw column: rows whose value had an identifier
    unrecognised: dict[str, np.ndarray] = field(default_factory=dict)  # raw column: label given but not recognised
    unreadable: dict[str, np.ndarray] = field(default_factory=dict)  # raw column: date or number given but unreadable
    region: np.ndarray | None = None
    sex: np.ndarray | None = None
    education_level: np.ndarray | None = None
    nationality: np.ndarray | None = None
    referrer: np.ndarray | None = None
    exit_reason: np.ndarray | None = None
    group: np.ndarray | None = None
    qpv: np.ndarray | None = None
    rural: np.ndarray | None = None
    disability: np.ndarray | None = None
    esf_cofunded: np.ndarray | None = None
    school: np.ndarray | None = None  # codes into school_values (distinct stripped names after mapping renames)
    school_values: np.ndarray | None = None
    site: np.ndarray | None = None
    site_values: np.ndarray | None = None
    entry_date: np.ndarray | None = None
    exit_date: np.ndarray | None = None
    outcome_start: np.ndarray | None = None
    outcome_end: np.ndarray | None = None
    follow_up_date: np.ndarray | None = None
    weeks_in_company: np.ndarray | None = None
    n_internships: np.ndarray | None = None
    birth_year: np.ndarray | None = None
    birth_full_date: np.ndarray | None = None
    cohort_year: np.ndarray | None = None
    age_at_entry: np.ndarray | None = None


def birth_years(birth_col: TextColumn | None, columns: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row birth year (NaN unknown) and 'was a full date' flag.

    Never keeps an exact birth date, not even for .rejected: ``columns["annee_naissance"]``
    is replaced by safe values (full dates become the year, other date-like text is masked).
    """
    if birth_col is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    years, full_date = parse_years(birth_col.values)
    columns["annee_naissance"] = text_column(birth_col.codes, safe_birth_values(birth_col.values, years, full_date))
    return birth_col.take(years, np.nan), birth_col.take(full_date, False)


LABEL_COLUMNS = (
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


def parse_labels(rows: ParsedRows, cols: dict, n: int, mapping: ExportMapping) -> None:
    """Fill in the code positions (-1 unknown) of every coded column, 'unrecognised' flags, school and site."""
    for raw_name, canonical in LABEL_COLUMNS:
        positions, rows.unrecognised[raw_name] = categorise(cols[raw_name], n, mapping, raw_name)
        setattr(rows, canonical, positions)
    if cols["groupe"] is None:
        rows.group = np.zeros(n, dtype=np.int64)  # no column: everyone is in the E2C group
    rows.school, rows.school_values = text_values(cols["ecole"], n, mapping, "ecole")
    rows.site, rows.site_values = text_values(cols["site"], n, mapping, "site")


def parse_dates_and_numbers(rows: ParsedRows, cols: dict, n: int) -> None:
    """Fill in the dates (NaT unknown), numbers (NaN unknown) and 'unreadable' flags by raw column."""
    for raw_name, canonical in (("date_entree", "entry_date"), *DATE_COLUMNS):
        col = cols[raw_name]
        if col is None:
            setattr(rows, canonical, np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
            rows.unreadable[raw_name] = np.zeros(n, dtype=bool)
            continue
        parsed = parse_dates(col.values)
        setattr(rows, canonical, col.take(parsed, np.datetime64("NaT")))
        rows.unreadable[raw_name] = col.take(np.isnat(parsed) & present(as_texts(col.values)), False)
    for raw_name, canonical, integer in (
        ("semaines_entreprise", "weeks_in_company", False),
        ("nb_stages", "n_internships", True),
    ):
        col = cols[raw_name]
        if col is None:
            setattr(rows, canonical, np.full(n, np.nan))
            rows.unreadable[raw_name] = np.zeros(n, dtype=bool)
            continue
        parsed = parse_numbers(col.values)
        if integer:
            parsed[parsed != np.floor(parsed)] = np.nan
        setattr(rows, canonical, col.take(parsed, np.nan))
        rows.unreadable[raw_name] = col.take(np.isnan(parsed) & present(as_texts(col.values)), False)
