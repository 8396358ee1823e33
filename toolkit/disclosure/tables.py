"""Statistical disclosure control of published tables.

Every table a funder reads goes through :func:`suppress_counts` before it is
formatted. The rules (CASD / health-data practice, ``min_cell = 11`` by
default, see ``config.DEFAULT_MIN_CELL``):

1. **Primary suppression.** A count from 1 to ``min_cell - 1`` is not
   published; it is shown as ``"< 11"``. A zero is published (it singles
   nobody out; Eurostat and INSEE practice), unless ``suppress_zeros=True``.
2. **Complements of rates.** A rate ``k / n`` also tells ``n - k``. When
   ``n - k`` is below ``min_cell`` the numerator ``k`` is suppressed as well
   (a 95 % rate on 20 trainees singles out the one who did not succeed).
3. **Secondary suppression.** When the cells of a line (a column of a table
   whose rows partition the population, or a row of a table whose columns
   partition it) add up to a known total, one hidden cell could be recovered
   by subtraction. Whenever a line holds exactly one suppressed cell, the
   smallest other cell of that line is suppressed too, until no line
   changes. Then a linear-algebra audit looks for hidden cells that the
   line totals still fix (in a two-way table a hidden cell can be the only
   link between two blocks of hidden cells); each one gets a partner in its
   row or column, and the whole rule runs again. The total itself belongs to the line when it is a
   row or column of the table (``total_row`` / ``total_col``); otherwise it
   is assumed to be known from elsewhere in the report.
4. **Rates.** A rate, and the columns derived from it (confidence bounds,
   formatted text), is suppressed when its numerator or denominator is
   suppressed or when its denominator is below ``min_cell``.

Rule 3 protects against exact recovery from the margins of one table (any
combination of additions and subtractions of published cells and totals). It is not a full linear-
programming audit across all the tables of a report; reports therefore
publish each breakdown once, with the same totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import DEFAULT_MIN_CELL
from ..errors import E2CError

__all__ = [
    "suppression_marker",
    "SECONDARY_MARKER",
    "SuppressedTable",
    "suppress_counts",
    "assert_publishable",
    "DisclosureError",
]


class DisclosureError(E2CError):
    """A table about to be published would disclose small counts."""


def suppression_marker(min_cell: int = DEFAULT_MIN_CELL) -> str:
    """The text shown in place of a suppressed small cell: ``"< 11"``."""
    return f"< {int(min_cell)}"


# Shown instead of "< 11" for a cell hidden only so that a small one cannot be derived
# (secondary or complement suppression, rates): its value is not small, so "< 11" would be false.
SECONDARY_MARKER = "s"


@dataclass
class SuppressedTable:
    """A table after disclosure control.

    Attributes
    ----------
    table : DataFrame
        The input table, suppressed cells set to missing (nullable dtypes).
    suppressed : DataFrame of bool
        True where a cell is not published (same shape, index and columns).
    primary : DataFrame of bool
        True where a count was suppressed because it is small (rules 1–2);
        the rest of ``suppressed`` is secondary (rule 3) or derived (rule 4).
    min_cell : int
    rows_additive, cols_additive : bool
        The line structure the suppression protected (for :func:`assert_publishable`).
    """

    table: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    min_cell: int
    rows_additive: bool = True
    cols_additive: bool = False

    @property
    def marker(self) -> str:
        return suppression_marker(self.min_cell)

    @property
    def n_suppressed(self) -> int:
        return int(self.suppressed.to_numpy().sum())

    def published(self, formatted: pd.DataFrame) -> pd.DataFrame:
        """Put the suppression marker into a formatted (text) version of the table.

        ``formatted`` has the same shape and row order as :attr:`table`; its
        columns are matched by position to the table's columns that it
        formats, or by name when names are shared.
        """
        out = formatted.copy()
        mask = self.suppressed.reset_index(drop=True)
        for column in out.columns:
            if column in mask.columns:
                hide = mask[column].to_numpy()
                out.loc[hide, column] = self.marker
        return out


def _line_secondary(values: np.ndarray, hidden: np.ndarray, unknown: np.ndarray, axis: int) -> np.ndarray:
    """One pass of rule 3 along ``axis``: lines with exactly one cell a reader
    cannot see (suppressed or missing), that one being suppressed, get their
    smallest visible cell suppressed too. Returns the new mask."""
    unseen = hidden | unknown
    n_unseen = unseen.sum(axis=axis)
    visible_left = (~unseen).sum(axis=axis)
    lines = np.flatnonzero((n_unseen == 1) & (hidden.sum(axis=axis) == 1) & (visible_left > 0))
    if lines.size == 0:
        return hidden
    candidates = np.where(unseen, np.inf, values)
    smallest = np.argmin(candidates, axis=axis)[lines]
    new = hidden.copy()
    if axis == 0:  # lines are columns
        new[smallest, lines] = True
    else:  # lines are rows
        new[lines, smallest] = True
    return new


def _one_hidden_rule(
    filled: np.ndarray, hidden: np.ndarray, known: np.ndarray, rows_additive: bool, cols_additive: bool
) -> np.ndarray:
    """Rule 3's first part to a fixed point: no additive line with exactly one hidden cell."""
    rows, cols = filled.shape
    while True:
        before = hidden.copy()
        if rows_additive and rows > 1:
            hidden = _line_secondary(filled, hidden, ~known, axis=0)
        if cols_additive and cols > 1:
            hidden = _line_secondary(filled, hidden, ~known, axis=1)
        if (hidden == before).all():
            return hidden


def _determined(unseen: np.ndarray, rows_additive: bool, cols_additive: bool) -> np.ndarray:
    """Cells a reader could compute from the published cells and the line totals.

    The unseen cells are the unknowns of one linear equation per additive line.
    An unknown is fixed by the system exactly when it is orthogonal to the
    null space of the constraint matrix (its unit vector lies in the row space).
    """
    from scipy.linalg import null_space

    cells = np.argwhere(unseen)
    out = np.zeros_like(unseen)
    if len(cells) == 0:
        return out
    lines = []
    if rows_additive:
        lines += [cells[:, 1] == j for j in range(unseen.shape[1])]
    if cols_additive:
        lines += [cells[:, 0] == i for i in range(unseen.shape[0])]
    if not lines:
        return out
    constraints = np.array(lines, dtype=float)
    basis = null_space(constraints)
    free = np.abs(basis).max(axis=1) > 1e-9 if basis.size else np.zeros(len(cells), dtype=bool)
    fixed = cells[~free]
    out[fixed[:, 0], fixed[:, 1]] = True
    return out


def suppress_counts(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    rows_additive: bool = True,
    cols_additive: bool = False,
    total_row: object | None = None,
    total_col: str | None = None,
    rates: Mapping[str, tuple[str, str | None]] | None = None,
    derived: Mapping[str, str] | None = None,
    complement: bool = True,
    suppress_zeros: bool = False,
) -> SuppressedTable:
    """Primary and secondary suppression of a small table of counts.

    Parameters
    ----------
    table : DataFrame
        An aggregated table: one row per category (index or a label column)
        and count columns. Row-level data must never come here.
    count_cols : sequence of str
        The count columns subject to suppression.
    min_cell : int, default 11
        Smallest count that may be published.
    rows_additive : bool, default True
        The rows partition the population, so each count column adds up to a
        known total (the ``total_row`` row if there is one, else a total
        published elsewhere). Set False for tables whose rows overlap.
    cols_additive : bool, default False
        The count columns partition each row (e.g. an exit mix: job /
        training / other), so each row adds up to a known total
        (``total_col`` if given).
    total_row : label, optional
        Index label of the row holding the column totals, if the table has
        one. It takes part in secondary suppression like any cell.
    total_col : str, optional
        Name of the count column holding the row totals, if any.
    rates : mapping, optional
        ``{rate_col: (numerator_col, denominator_col)}``. ``denominator_col``
        may be None for a share of a total published elsewhere.
    derived : mapping, optional
        ``{col: rate_or_count_col}``: columns computed from another column
        (confidence bounds, formatted text), suppressed with it.
    complement : bool, default True
        Apply rule 2 to every rate with a denominator column.
    suppress_zeros : bool, default False
        Treat zero counts as small cells too.

    Returns
    -------
    SuppressedTable
        ``table`` (suppressed cells set to NA), the ``suppressed`` and
        ``primary`` masks, ``min_cell``.
    """
    rates = dict(rates or {})
    derived = dict(derived or {})
    missing = [c for c in [*count_cols, *rates, *derived] if c not in table.columns]
    missing += [c for pair in rates.values() for c in pair if c is not None and c not in table.columns]
    missing += [c for c in derived.values() if c not in table.columns]
    if missing:
        raise DisclosureError(
            f"Contrôle du secret statistique : colonnes absentes du tableau : {sorted(set(missing))}."
        )
    if min_cell < 1:
        raise DisclosureError(f"min_cell doit être au moins 1 (reçu : {min_cell}).")
    count_cols = list(count_cols)

    values = table[count_cols].apply(pd.to_numeric, errors="coerce").astype("Float64")
    matrix = values.to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(matrix)
    hidden = known & (matrix < min_cell) & ((matrix > 0) | suppress_zeros)

    if complement:
        for numerator, denominator in rates.values():
            if denominator is None or numerator not in count_cols:
                continue
            k = pd.to_numeric(table[numerator], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            n = pd.to_numeric(table[denominator], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            rest = n - k
            small_rest = (rest < min_cell) & ((rest > 0) | suppress_zeros)
            hidden[:, count_cols.index(numerator)] |= small_rest & ~np.isnan(k)
    primary = hidden.copy()

    # Rule 3: the one-hidden-cell rule to a fixed point, then an audit that no
    # hidden cell is fixed by the line totals (a hidden cell can be the only
    # link between two groups of hidden cells, and then be recovered even
    # though every line holds two of them); each pass only adds cells.
    filled = np.nan_to_num(matrix, nan=np.inf)
    while True:
        hidden = _one_hidden_rule(filled, hidden, known, rows_additive, cols_additive)
        fixed = _determined(hidden | ~known, rows_additive, cols_additive) & hidden
        if not fixed.any():
            break
        i, j = np.argwhere(fixed)[0]
        line = np.zeros_like(hidden)
        if rows_additive:
            line[:, j] = True
        if cols_additive:
            line[i, :] = True
        candidates = line & ~hidden & known
        if not candidates.any():
            candidates = ~hidden & known
        if not candidates.any():
            break
        r, c = np.unravel_index(np.argmin(np.where(candidates, filled, np.inf)), filled.shape)
        hidden[r, c] = True
    if total_row is not None and total_row not in table.index:
        raise DisclosureError(f"Ligne de total {total_row!r} absente du tableau.")
    if total_col is not None and total_col not in count_cols:
        raise DisclosureError(f"Colonne de total {total_col!r} absente des colonnes de comptage.")

    suppressed = pd.DataFrame(False, index=table.index, columns=table.columns)
    primary_frame = suppressed.copy()
    suppressed[count_cols] = hidden
    primary_frame[count_cols] = primary

    # Rule 4: rates, then columns derived from rates or counts.
    for rate, (numerator, denominator) in rates.items():
        hide = suppressed[numerator].to_numpy().copy()
        if denominator is not None:
            n = pd.to_numeric(table[denominator], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            hide |= np.nan_to_num(n, nan=0.0) < min_cell
            if denominator in suppressed.columns:
                hide |= suppressed[denominator].to_numpy()
        suppressed[rate] = suppressed[rate].to_numpy() | hide
    for column, source in derived.items():
        suppressed[column] = suppressed[column].to_numpy() | suppressed[source].to_numpy()

    out = table.copy()
    for column in suppressed.columns[suppressed.any(axis=0).to_numpy()]:
        col = out[column]
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            col = col.astype("Float64") if not pd.api.types.is_integer_dtype(col.dtype) else col.astype("Int64")
        else:
            col = col.astype("object")
        out[column] = col.mask(suppressed[column], pd.NA)
    return SuppressedTable(
        table=out,
        suppressed=suppressed,
        primary=primary_frame,
        min_cell=int(min_cell),
        rows_additive=rows_additive,
        cols_additive=cols_additive,
    )


def _parse_count(text: object) -> float:
    """A published count back to a number ('1 234', '1,234', 1234) or NaN."""
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return float(text)
    cleaned = str(text).replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return np.nan


def assert_publishable(
    table: pd.DataFrame,
    count_cols: Iterable[str],
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    rows_additive: bool = True,
    cols_additive: bool = False,
) -> None:
    """Check a table as it will be published (numbers or formatted text).

    Raises :class:`DisclosureError` when a count cell is neither a
    suppression marker (``"< 11"`` or :data:`SECONDARY_MARKER`), nor zero, nor a number of at least
    ``min_cell``, or when a suppressed cell can be computed from the published cells and the totals of
    the lines that add up (see :func:`suppress_counts`).
    """
    marker = suppression_marker(min_cell)
    count_cols = list(count_cols)
    cells = table[count_cols].astype("object")
    is_marker = cells.map(lambda v: isinstance(v, str) and v.strip() in (marker, SECONDARY_MARKER)).to_numpy()
    numbers = cells.map(_parse_count).to_numpy(dtype=float)
    bad = ~is_marker & (np.isnan(numbers) | ((numbers < min_cell) & (numbers != 0)))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DisclosureError(
            f"Cellule publiable ? non : ligne {table.index[r]!r}, colonne {count_cols[c]!r}, "
            f"valeur {cells.iat[r, c]!r} (minimum {min_cell} ou « {marker} »)."
        )
    for axis, active, what in ((0, rows_additive, "colonne"), (1, cols_additive, "ligne")):
        if not active or is_marker.shape[axis] < 2:
            continue
        lone = np.flatnonzero(is_marker.sum(axis=axis) == 1)
        if lone.size:
            where = count_cols[lone[0]] if axis == 0 else table.index[lone[0]]
            raise DisclosureError(
                f"Une seule cellule masquée dans la {what} {where!r} : elle se retrouve par différence avec le total."
            )
    fixed = _determined(is_marker, rows_additive, cols_additive) & is_marker
    if fixed.any():
        r, c = np.argwhere(fixed)[0]
        raise DisclosureError(
            f"La cellule masquée ligne {table.index[r]!r}, colonne {count_cols[c]!r} se déduit des totaux en "
            "combinant lignes et colonnes."
        )
