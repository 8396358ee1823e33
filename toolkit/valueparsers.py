"""Parsers of raw text values (dates, birth years, numbers), vectorised over distinct values.

Dates: ``dd/mm/yyyy`` (also ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``dd/mm/yy``),
``yyyy-mm-dd`` (with or without a time), and Excel serial numbers (days since
1899-12-30). A date must exist in the calendar (no 31/02) and fall between
1990 and 2099 (birth dates: 1900 to 2099). Numbers accept a decimal comma and
spaces as thousands separators; negative numbers are refused.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["parse_dates", "parse_years", "parse_numbers", "as_texts", "present", "safe_birth_values", "BIRTH_MASK"]

BIRTH_MASK = "[date masquée]"
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


def as_texts(values) -> pd.Series:
    """Distinct raw values as stripped strings (missing stays missing)."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str").str.strip()


def parse_dates(values, window: tuple = _EVENT_WINDOW) -> np.ndarray:
    """Parse date strings (see the module docstring) into ``datetime64[ns]``; NaT when invalid.

    Meant for the distinct values of a column.
    """
    texts = as_texts(values)
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
    texts = as_texts(values)
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
    texts = as_texts(values).str.replace(r"[\s\u00a0\u202f]", "", regex=True).str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float, copy=True)
    numbers[numbers < 0] = np.nan
    return numbers


def present(texts: pd.Series) -> np.ndarray:
    return (texts.notna() & (texts != "")).to_numpy()


_DATE_LIKE = re.compile(r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}|\d{4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,2}")


def safe_birth_values(values: np.ndarray, years: np.ndarray, full_date: np.ndarray) -> np.ndarray:
    """Raw birth values safe to show: full dates reduced to the year, other date-like text masked."""
    texts = as_texts(values)
    date_like = texts.str.contains(_DATE_LIKE).fillna(False).to_numpy() & ~full_date
    year_text = np.array([f"{y:.0f}" if y == y else None for y in years], dtype=object)
    out = np.where(full_date, year_text, np.asarray(values, dtype=object))
    out[date_like] = BIRTH_MASK
    return out
