"""Layouts that real spreadsheet exports have: title or blank rows above the
header row, and total or footnote rows below the data.

:func:`trim_sheet` finds the header row of a sheet read without a header (or
takes the one a mapping gives with ``ligne_entete``) and drops the rows below
the data that are a total or a note; it says what it skipped, so that the
cleaning summary can name it. :func:`read_table` reads a second table of an
export (the situations table) as text with the same rules.

Detection rules (on the first 30 rows for the header, on the last rows for
the footer):

* the header row is the first row with at least two filled cells, not all
  numbers, that fills at least half as many cells as the fullest of the first
  rows (a title row fills one cell, a blank row none);
* a footer row fills at most three cells (and at most a third of the
  columns), or starts with
  ``Total``, ``Source``, ``Note``, ``*`` or ``Nombre``; only the run of such
  rows at the very end is dropped (a data row with a few filled cells in the
  middle of the data is kept).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .i18n import _

__all__ = ["trim_sheet", "read_table"]

_FOOTER_START = re.compile(r"^\s*(total|totaux|source|note|nombre|nb\b|\*|effectif total|extraction)", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*-?[\d\s.,/:-]+\s*$")
_SCAN = 30


def _filled(frame: pd.DataFrame) -> np.ndarray:
    """Boolean matrix: which cells hold something other than blanks."""
    return frame.apply(lambda col: col.astype(str).str.strip().ne("") & col.notna(), axis=0).to_numpy()


def _header_row(frame: pd.DataFrame, filled: np.ndarray) -> int:
    counts = filled.sum(axis=1)
    n = min(len(frame), _SCAN)
    widest = counts[:n].max() if n else 0
    for i in range(n):
        if counts[i] < 2 or counts[i] * 2 < widest:
            continue
        cells = [str(v).strip() for v, f in zip(frame.iloc[i].tolist(), filled[i]) if f]
        if all(_NUMBER.match(c) for c in cells):
            continue
        return i
    return 0


def trim_sheet(frame: pd.DataFrame, header_row: int | None = None, name: str = "") -> tuple[pd.DataFrame, list[str]]:
    """Header row and data rows of a sheet read with ``header=None``.

    Parameters
    ----------
    frame : DataFrame
        The sheet as read, every cell as found (no header).
    header_row : int, optional
        1-based row of the header, as the mapping's ``ligne_entete`` gives it.
    name : str
        File name, for the messages.

    Returns
    -------
    (DataFrame, notes)
        The data with the header row as column names; and sentences naming
        the rows skipped above and below (empty when none).
    """
    notes: list[str] = []
    filled = _filled(frame)
    if header_row is not None:
        start = int(header_row) - 1
        if not 0 <= start < len(frame):
            raise InputError(
                _(
                    "{name} : ligne d'en-tête {row} hors du tableau ({n} lignes).",
                    name=name,
                    row=header_row,
                    n=len(frame),
                )
            )
    else:
        start = _header_row(frame, filled)
    if start > 0:
        notes.append(
            _(
                "{n} ligne(s) de titre ou vide(s) au-dessus de l'en-tête ignorée(s) (en-tête : ligne {row}).",
                n=start,
                row=start + 1,
            )
        )
    headers = [  # a blank header stays "": the reader names it
        str(v).strip() if f else "" for v, f in zip(frame.iloc[start], filled[start])
    ]
    body, body_filled = frame.iloc[start + 1 :], filled[start + 1 :]
    counts = body_filled.sum(axis=1)
    width = max(int(filled[start].sum()), 1)
    first = ["" if v is None or (isinstance(v, float) and v != v) else str(v).strip() for v in body.iloc[:, 0]]
    footer_like = (counts <= min(3, max(1, width // 3))) | np.array(
        [bool(_FOOTER_START.match(t)) for t in first], dtype=bool
    )
    end = len(body)
    while end > 0 and (counts[end - 1] == 0 or footer_like[end - 1]):
        end -= 1
    dropped = int((counts[end:] > 0).sum())
    if dropped:
        notes.append(_("{n} ligne(s) de total ou de note sous les données ignorée(s).", n=dropped))
    data = body.iloc[:end].copy()
    data.columns = headers
    keep = [h != "" or body_filled[:end, j].any() for j, h in enumerate(headers)]
    return data.loc[:, keep], notes  # the index stays the sheet's row numbers


def _read_csv_text(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly anything
        raise InputError(_("{name} : encodage inconnu.", name=path.name))
    first = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=first.count)
    import io

    return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, na_filter=False)


def read_table(
    source, *, sheet: str | int | None = None, header_row: int | None = None
) -> tuple[pd.DataFrame, str, list[str]]:
    """A secondary table of an export (CSV, XLSX sheet, Parquet or DataFrame) as text.

    Returns
    -------
    (DataFrame of str, source name, layout notes)
    """
    if isinstance(source, pd.DataFrame):
        return source.astype("string").astype(object).where(source.notna(), ""), "<DataFrame>", []
    path = Path(os.fspath(source))
    if not path.is_file():
        raise InputError(_("Fichier introuvable : {path}.", path=path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            sheet_frame = pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet, header=None, dtype=object, engine="openpyxl"
            )
        except (ValueError, KeyError):
            raise InputError(_("{name} : feuille « {sheet} » introuvable.", name=path.name, sheet=sheet)) from None
        frame, notes = trim_sheet(sheet_frame, header_row, path.name)
        texts = frame.reset_index(drop=True).apply(lambda col: col.map(_cell_text))
        return texts, f"{path.name} [{sheet}]" if sheet is not None else path.name, notes
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
        return frame.astype("string").astype(object).where(frame.notna(), ""), path.name, []
    return _read_csv_text(path), path.name, []


def _cell_text(value: object) -> str:
    from .textcolumn import _cell_text as cell_text  # the same rendering of Excel cells as the main table

    text = cell_text(value)
    return "" if text is None else text
