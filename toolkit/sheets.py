"""Reading XLSX sheets and Parquet files as raw values, in bounded time and memory.

XLSX is read with openpyxl in read-only mode, ignoring the sheet's declared
dimensions (a single cell in column XFD would otherwise make every row 16,384
cells wide): each row is trimmed to its last value, and only the columns that
hold a value somewhere are kept. Parquet columns of nested types (lists,
structs, maps) are read as their JSON text, binary columns as text.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .errors import InputError
from .i18n import _

__all__ = ["read_sheet_cells", "read_parquet_frame"]


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unreadable_workbook(path, exc: Exception) -> InputError:
    """A file that is not a workbook, or a damaged sheet inside a valid archive."""
    return InputError(
        _("{name} : classeur XLSX illisible ({kind} : {error}).", name=path.name, kind=type(exc).__name__, error=exc)
    )


def _open_sheet(path, sheet):
    import openpyxl

    handle = open(path, "rb")  # noqa: SIM115 (closed by the caller; openpyxl refuses a name without .xlsx)
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:
        handle.close()  # zipfile.BadZipFile, KeyError, openpyxl errors: not a workbook
        raise _unreadable_workbook(path, exc) from None
    try:
        return handle, book, (book.worksheets[sheet] if isinstance(sheet, int) else book[str(sheet)])
    except (IndexError, KeyError):
        book.close()
        handle.close()
        raise InputError(_("{name} : feuille « {sheet} » introuvable.", name=path.name, sheet=sheet)) from None


def read_sheet_cells(path, sheet=0) -> pd.DataFrame:
    """The cells of one sheet, without a header: object values (None when empty).

    The index is the sheet's row number (1-based) and the columns its column
    number (1-based); only columns that hold a value, and rows up to the last
    one that holds a value, are kept. Memory is proportional to the cells
    that exist, whatever the sheet's declared dimensions.
    """
    handle, book, ws = _open_sheet(path, sheet)
    rows: list[tuple] = []
    used = np.zeros(0, dtype=bool)
    last_filled = 0
    try:
        ws.reset_dimensions()  # do not trust the declared range (e.g. A1:XFD1048576)
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            filled = [j for j, v in enumerate(values) if not _empty(v)]
            if filled:
                width = filled[-1] + 1
                if width > len(used):
                    used = np.concatenate([used, np.zeros(width - len(used), dtype=bool)])
                used[filled] = True
                last_filled = number
                values = values[:width]
            else:
                values = ()
            rows.append(values)
    except Exception as exc:  # a damaged sheet inside a valid archive
        raise _unreadable_workbook(path, exc) from None
    finally:
        book.close()
        handle.close()
    rows = rows[:last_filled]
    columns = {}
    for j in np.flatnonzero(used):
        columns[int(j) + 1] = pd.array(
            [row[j] if j < len(row) else None for row in rows], dtype=object
        )  # one pass per used column
    return pd.DataFrame(columns, index=pd.RangeIndex(1, len(rows) + 1))


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def read_parquet_frame(path) -> pd.DataFrame:
    """A Parquet file as a DataFrame; nested and binary columns become text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InputError(
            _(
                "{name} : fichier Parquet illisible ({kind} : {error}).",
                name=path.name,
                kind=type(exc).__name__,
                error=exc,
            )
        ) from None
    if table.num_columns == 0 or table.num_rows == 0:
        raise InputError(_("{name} : le fichier Parquet ne contient aucune ligne de données.", name=path.name))
    series = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            series.append(pd.Series([_as_text(v) for v in column.to_pylist()], dtype=object))
        else:
            try:
                series.append(column.to_pandas().astype(object))
            except (pa.ArrowException, ValueError, OverflowError):  # e.g. dates out of pandas' range
                series.append(pd.Series([None if v is None else str(v) for v in column.to_pylist()], dtype=object))
    frame = pd.concat(series, axis=1, ignore_index=True)
    frame.columns = [str(c) for c in table.column_names]
    return frame
