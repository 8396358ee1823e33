"""Building a page's content: every published count and ratio is registered as a cell.

A :class:`PageBuilder` is made for each page of a batch (each region and the
index), all sharing one :class:`~toolkit.disclosure.Publication`. Cell keys
name canonical columns and canonical codes (never labels), so the same count
on two pages is the same cell:

* population ``entries`` (trainees who entered in the period), ``exits``,
  ``known`` (exits with a known outcome), ``positive``, ``unknown`` (exits
  with an unknown outcome), ``still_in``, ``unknown_reason``,
  ``category:<exit category>``, ``esf:<indicator code>``, ``rows:<step>`` and
  ``rejected:<reason code>`` (rows of the national file);
* filters ``region``, ``site``, ``cohort_year`` and the profile variables,
  a missing code written ``NA``; a group of small sites is the sites' codes
  joined with ``|``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..disclosure import CellKey, Publication, Ratio
from .content import Column, Msg, Table

__all__ = ["MISSING_CODE", "code_text", "PageBuilder"]

MISSING_CODE = "NA"


def code_text(code: object) -> str:
    """A canonical code as a cell-key filter value (``NA`` when missing)."""
    if code is None or code is pd.NA or (isinstance(code, float) and code != code):
        return MISSING_CODE
    return str(code)


@dataclass
class PageBuilder:
    """Registers one page's cells in the batch's publication while its content is built."""

    publication: Publication
    page: str
    min_cell: int

    def count(self, key: CellKey, value: int, where: str) -> CellKey:
        """Register one published count (``where``: table, row and column, for messages)."""
        return self.publication.add_count(key, int(value), f"{self.page}/{where}")

    def ratio(
        self, numerator: CellKey, denominator: CellKey | float, decimals: int, where: str, scale: float = 100.0
    ) -> Ratio:
        """Register one published share, rate, O/E or confidence bound."""
        return self.publication.add_ratio(
            numerator, denominator, decimals=decimals, scale=scale, location=f"{self.page}/{where}"
        )

    def table(
        self,
        id: str,
        caption: Msg,
        columns: Sequence[Column],
        data: pd.DataFrame,
        *,
        keys: Mapping[str, Sequence[CellKey | None]] = {},  # noqa: B006 (read only)
        ratios: Mapping[str, tuple[str, str | None, int, float]] = {},  # noqa: B006 (read only)
        note: Msg | None = None,
        protection: dict | None = None,
    ) -> Table:
        """A published table whose count cells are registered.

        ``keys``: {count column: one CellKey per row (None: not a trainee count)};
        ``ratios``: {column: (numerator column, denominator column or None, decimals, scale)}; a ratio
        without a denominator column is a share of a total published elsewhere (its value is kept
        as a constant denominator).
        """
        data = data.reset_index(drop=True)
        registered: dict[str, list] = {}
        for column, column_keys in keys.items():
            registered[column] = [
                None if key is None or pd.isna(value) else self.count(key, int(value), f"{id}/{i}/{column}")
                for i, (key, value) in enumerate(zip(column_keys, data[column]))
            ]
        table_ratios: dict[str, list] = {}
        for column, (num, den, decimals, scale) in ratios.items():
            table_ratios[column] = [
                self._row_ratio(registered, data, i, (num, den, column), decimals, scale, f"{id}/{i}/{column}")
                for i in range(len(data))
            ]
        return Table(id, caption, list(columns), data, registered, table_ratios, note, dict(protection or {}))

    def _row_ratio(self, registered, data, i, columns, decimals, scale, where) -> Ratio | None:
        num, den, column = columns
        numerator = registered[num][i]
        if numerator is None:
            return None
        if den is None:  # a share of a total published elsewhere: the total, n / share, as a constant
            share = float(data[column].iat[i]) if pd.notna(data[column].iat[i]) else 0.0
            denominator: CellKey | float = float(data[num].iat[i]) / share if share > 0 else float("nan")
        else:
            denominator = registered[den][i]
            if denominator is None:
                return None
        return self.ratio(numerator, denominator, decimals, where, scale)
