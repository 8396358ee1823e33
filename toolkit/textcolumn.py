"""Columns held as text: each distinct raw string once, and per row its position.

A :class:`TextColumn` is what every reader of :mod:`toolkit.io` produces: the
cleaning rules work on the distinct values and spread their result to the rows
with the integer codes, so they cost little even on millions of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "TextColumn",
    "RowLayout",
    "ROW_OK",
    "ROW_SHORT",
    "ROW_BLANK",
    "ROW_STRAY_QUOTE",
    "ROW_MALFORMED",
    "text_column",
    "as_text_column",
    "as_string_categorical",
    "missing_column",
]

# Row status in a RowLayout
ROW_OK, ROW_SHORT, ROW_BLANK, ROW_STRAY_QUOTE, ROW_MALFORMED = range(5)


@dataclass
class TextColumn:
    """One column as text: per-row codes into its distinct raw strings.

    ``codes[i]`` is the position of row ``i``'s value in ``values``, or -1 for
    an empty cell. Rules that work on ``values`` (the distinct strings) and
    are then spread with ``codes`` cost little even on millions of rows.
    """

    codes: np.ndarray  # int32 or int64, -1 = missing
    values: np.ndarray  # object array of distinct str

    def take(self, per_value: np.ndarray, fill) -> np.ndarray:
        """Per-row array from an array aligned with ``values``; ``fill`` for empty cells."""
        per_value = np.asarray(per_value)
        extended = np.empty(len(per_value) + 1, dtype=per_value.dtype)
        extended[:-1] = per_value
        extended[-1] = fill
        return extended[self.codes]

    def categorical(self) -> pd.Categorical:
        """The column as a pandas Categorical of raw strings."""
        return pd.Categorical.from_codes(self.codes, categories=pd.Index(self.values, dtype="str"), validate=False)

    def __len__(self) -> int:
        return len(self.codes)


def _cell_text(value: object) -> str | None:
    """Text of one distinct cell value from XLSX/Parquet/DataFrame input."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "vrai" if value else "faux"
    if isinstance(value, np.generic):
        return _cell_text(value.item())
    text = str(value)
    return text if text != "" else None


def text_column(codes: np.ndarray, strings) -> TextColumn:
    """TextColumn from per-row codes into ``strings`` (None or "" = missing); equal strings are merged."""
    strings = np.asarray(strings, dtype=object)
    present = np.array([s is not None and s != "" for s in strings], dtype=bool)
    new_codes, values = pd.factorize(pd.Index(np.where(present, strings, None), dtype=object))
    remap = np.append(new_codes, -1).astype(np.int64)  # index -1 (missing) -> -1
    return TextColumn(remap[np.asarray(codes, dtype=np.int64)], np.asarray(values, dtype=object))


def as_text_column(values) -> TextColumn:
    """Any column (object, numbers, dates, booleans, categorical...) as raw text.

    Only the distinct values are converted: real dates become ``yyyy-mm-dd``
    (with the time when not midnight), integral floats lose their ``.0``,
    empty strings are missing.
    """
    series = pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if isinstance(uniques.dtype, pd.StringDtype):  # already text (NA is never among factorize's uniques)
        as_text = np.asarray(uniques, dtype=object)
    else:
        as_text = np.array([_cell_text(u) for u in uniques], dtype=object)
    return text_column(np.asarray(codes), as_text)


def as_string_categorical(values) -> pd.Categorical:
    """Any column as a Categorical of raw strings (see :func:`as_text_column`)."""
    return as_text_column(values).categorical()


def missing_column(n: int) -> TextColumn:
    """A column of ``n`` empty cells (its codes are a read-only array, shared safely)."""
    codes = np.broadcast_to(np.int64(-1), (n,))
    return TextColumn(codes, np.empty(0, dtype=object))


@dataclass
class RowLayout:
    """Where each row of an export came from, and what was wrong with its layout.

    ``first_line``/``last_line``: 1-based line of the file (CSV; a row spans
    several lines when a quoted value holds a line break), row of the sheet
    (XLSX), or record number (Parquet, DataFrame). Together with the header
    line(s), the rows cover every line of the file exactly once.
    ``status``: ``ROW_OK``; ``ROW_SHORT`` (fewer fields than the header, the
    missing ones read as empty); ``ROW_BLANK`` (nothing but spaces);
    ``ROW_STRAY_QUOTE`` (a quote that joined lines was read as an ordinary
    character); ``ROW_MALFORMED`` (more fields than the header: not read,
    rejected). ``n_fields``: the fields found on the row; ``width``: the
    header's.
    """

    first_line: np.ndarray
    last_line: np.ndarray
    status: np.ndarray
    n_fields: np.ndarray | None = None
    width: int = 0

    @classmethod
    def single_lines(cls, n: int, first: int, width: int = 0) -> RowLayout:
        """``n`` rows, one line each, the first on line ``first``."""
        lines = np.arange(first, first + n, dtype=np.int64)
        return cls(lines, lines.copy(), np.zeros(n, dtype=np.int8), None, width)

    def shift(self, offset: int) -> None:
        """Move every line number by ``offset`` (the lines before the body)."""
        self.first_line += offset
        self.last_line += offset

    def rows_with(self, status: int) -> np.ndarray:
        """0-based positions of the rows with that status."""
        return np.flatnonzero(self.status == status)

    def take(self, rows: np.ndarray) -> RowLayout:
        """The layout of a subset of rows."""
        n_fields = None if self.n_fields is None else self.n_fields[rows]
        return RowLayout(self.first_line[rows], self.last_line[rows], self.status[rows], n_fields, self.width)
