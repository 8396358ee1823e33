"""Reading raw trainee exports (CSV, XLSX, Parquet or a DataFrame) without
coercing anything, and matching their headers to the raw-export contract.

Every column is read as text, nothing is coerced: ``"0"``, ``"NA"``,
``"0012"`` or ``"01/02/2023"`` stay the strings they were; only empty cells
are missing. Each column is held as a :class:`~toolkit.textcolumn.TextColumn`:
its distinct raw strings plus, for each row, the position of its value among
them (the same layout as a pandas Categorical or an Arrow dictionary array;
``RawExport.frame`` gives the export as Categorical columns). Each row knows
the lines of the file it came from (``RawExport.layout``): CSV files are read
line by line when records and lines disagree (see :mod:`toolkit.csvfile`).

Formats
-------
* CSV (``.csv``, ``.txt``, ``.tsv``): separator ``;``, ``,`` or tab, detected
  from the header line (or taken from Excel's ``sep=;`` first line); encoding UTF-8 (with or
  without BOM), UTF-16 with BOM,
  or Windows-1252 / Latin-1, detected automatically (strict UTF-8 is tried
  first, then Windows-1252; a file that is neither is refused with
  "encodage inconnu").
* XLSX (``.xlsx``, ``.xlsm``): the first sheet; dates may be real Excel dates
  (read as ``yyyy-mm-dd``) or text. Read in read-only mode whatever the
  sheet's declared dimensions (:mod:`toolkit.sheets`).
* Parquet (``.parquet``, ``.pq``); nested columns are read as JSON text.

Headers match the contract (:data:`toolkit.schema.RAW_COLUMNS` and their
variants) regardless of case, accents, spaces, hyphens and underscores
(:func:`toolkit.schema.normalise_key`). Columns that match nothing are kept
under their own header; the cleaning step drops them (and reports those that
carry personal identifiers).

See :mod:`toolkit.mapping_file` for the YAML mapping file a school writes for its own headers and labels.

Errors
------
:class:`~toolkit.errors.InputError` (file missing, unreadable, empty, binary or
badly encoded; invalid mapping file) and :class:`~toolkit.errors.SchemaError`
(required column missing, two headers for one column), in the current
language (:mod:`toolkit.i18n`), naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .csvfile import is_blank, read_csv_columns, unique_headers
from .errors import InputError, SchemaError, unreadable_file
from .i18n import _
from .mapping_file import ExportMapping, load_mapping
from .privacy import identifier_kind_of_header, is_birth_date_header
from .schema import (
    CODED_COLUMNS,
    RAW_HEADER_ALIASES,
    REQUIRED_RAW_COLUMNS,
    label_table,
    normalise_key,
)
from .sheets import read_parquet_frame, read_sheet_cells
from .textcolumn import ROW_SHORT, RowLayout, TextColumn, as_string_categorical, as_text_column, text_column

__all__ = [
    "RawExport",
    "TextColumn",
    "ExportMapping",
    "CODED_COLUMNS",
    "label_table",
    "read_export",
    "load_mapping",
    "text_column",
    "as_text_column",
    "as_string_categorical",
    "RowLayout",
]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
# --------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------


@dataclass
class RawExport:
    """A raw export read as text, headers matched to the contract.

    Attributes
    ----------
    columns : dict of str to TextColumn
        One entry per input column, in input order; columns that match the
        contract carry the contract name, others keep their header. Row ``i``
        is ``source_row = i + 1``.
    n_rows : int
        Number of data rows.
    source_name : str
        File name (or ``"<DataFrame>"``).
    sha256 : str or None
        SHA-256 of the file's bytes (None for a DataFrame).
    file_format : str
        ``'csv'``, ``'xlsx'``, ``'parquet'`` or ``'dataframe'``.
    encoding, separator : str or None
        What was detected (or forced) for a CSV.
    headers : list of str
        The headers as found in the input.
    column_map : dict
        {header as found: contract column} for matched headers.
    extra_columns : list of str
        Headers that match no contract column.
    mapping : ExportMapping
        The mapping used (empty when none).
    identifiers_not_read : dict
        {header: identifier kind} of the columns whose header names a direct
        identifier (name, e-mail, phone, address, postcode, NIR; see
        :mod:`toolkit.privacy`): they are not even read, and are absent from
        ``columns``. Exact birth dates are read, to be reduced to the year.
    layout : RowLayout
        Where each row came from (lines of the file, rows of the sheet) and
        what was wrong with its layout (short, blank, stray quote, too many
        fields); see :class:`toolkit.textcolumn.RowLayout`.
    """

    columns: dict[str, TextColumn]
    n_rows: int
    source_name: str
    sha256: str | None
    file_format: str
    encoding: str | None
    separator: str | None
    headers: list[str]
    column_map: dict[str, str]
    extra_columns: list[str]
    mapping: ExportMapping
    identifiers_not_read: dict[str, str] = field(default_factory=dict)
    layout: RowLayout | None = None
    layout_notes: list[str] = field(default_factory=list)  # XLSX title or footer rows skipped

    @property
    def short_rows(self) -> np.ndarray:
        """0-based positions of rows with fewer fields than the header (read as empty; the cleaning warns)."""
        return self.layout.rows_with(ROW_SHORT) if self.layout is not None else np.empty(0, dtype=np.int64)

    @property
    def frame(self) -> pd.DataFrame:
        """The export as a DataFrame of Categorical raw strings (``.astype("string")`` for plain text)."""
        return pd.DataFrame({name: col.categorical() for name, col in self.columns.items()}, copy=False)


# --------------------------------------------------------------------------
# XLSX and Parquet
# --------------------------------------------------------------------------
def _read_xlsx(path: Path, mapping: ExportMapping) -> pd.DataFrame:
    """The first (or the mapped) sheet: first row as header; the index is each row's sheet row number."""
    sheet = mapping.sheet if mapping.sheet is not None else 0
    cells = read_sheet_cells(path, sheet)
    if cells.shape[0] < 2 or cells.shape[1] == 0:
        raise InputError(
            _(
                "{name} : le classeur XLSX ne contient aucune donnée (première feuille vide ou en-tête seul).",
                name=path.name,
            )
        )
    from .export_layout import trim_sheet

    frame, notes = trim_sheet(cells, mapping.header_row, path.name)  # title rows above, totals below
    frame.attrs["layout_notes"] = notes
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    return read_parquet_frame(path)


def _text_columns(frame: pd.DataFrame, mapping: ExportMapping):
    """(columns, headers, identifier columns not read) of a DataFrame."""
    headers = unique_headers([str(c) for c in frame.columns])
    skipped = _identifier_headers(headers, mapping)
    columns = {h: as_text_column(frame.iloc[:, i]) for i, h in enumerate(headers) if h not in skipped}
    return columns, headers, skipped


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------
def _match_headers(headers: list[str], mapping: ExportMapping, name: str) -> tuple[dict[str, str], list[str]]:
    column_map: dict[str, str] = {}
    claimed: dict[str, str] = {}
    extras: list[str] = []
    for header in headers:
        key = normalise_key(header)
        target = mapping.columns.get(key) or RAW_HEADER_ALIASES.get(key)
        if target is None:
            extras.append(header)
            continue
        if target in claimed:
            raise SchemaError(
                _(
                    "{name} : deux colonnes correspondent à « {target} » : « {first} » et « {second} ». Renommez ou "
                    "supprimez l'une d'elles, ou précisez-le dans un fichier de correspondance.",
                    name=name,
                    target=target,
                    first=claimed[target],
                    second=header,
                )
            )
        claimed[target] = header
        column_map[header] = target
    return column_map, extras


def _identifier_headers(headers: list[str], mapping: ExportMapping) -> dict[str, str]:
    """{header: kind} of out-of-contract headers that name a direct identifier other than a birth date."""
    out = {}
    for header in headers:
        key = normalise_key(header)
        if key in mapping.columns or key in RAW_HEADER_ALIASES:
            continue
        kind = identifier_kind_of_header(header)
        if kind is not None and kind != "date_naissance":
            out[header] = kind
    return out


def _check_required(column_map: dict[str, str], extras: list[str], headers: list[str], name: str) -> None:
    present = set(column_map.values())
    if "annee_naissance" not in present and any(is_birth_date_header(h) for h in extras):
        present.add("annee_naissance")  # derived from the exact birth date, reduced to the year
    missing = [c for c in REQUIRED_RAW_COLUMNS if c not in present]
    if missing:
        found = ", ".join(f"« {h} »" for h in headers) or _("aucune")
        raise SchemaError(
            _(
                "{name} : colonne(s) obligatoire(s) manquante(s) : {missing}. Colonnes trouvées : {found}. Si "
                "l'école nomme ces colonnes autrement, décrivez-le dans un fichier de correspondance (mapping).",
                name=name,
                missing=", ".join(missing),
                found=found,
            )
            + _closest_headers_text(missing, extras, name)
        )


def _closest_headers_text(missing: list[str], extras: list[str], name: str) -> str:
    from .mapping_file import closest_headers_text  # the closest headers, and the command that proposes a mapping

    return closest_headers_text(missing, extras, name)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def _map_file(path: Path):
    """The file's bytes as a read-only memory map (empty bytes for an empty file)."""
    import mmap

    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _release(raw) -> None:
    try:
        raw.close()
    except (AttributeError, BufferError):  # bytes, or a view still alive: the GC will unmap it
        pass


def _sniff_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in _XLSX_SUFFIXES:
        return "xlsx"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".xls":
        raise InputError(
            _(
                "{name} : l'ancien format Excel .xls n'est pas pris en charge ; enregistrez le fichier en .xlsx "
                "ou en CSV.",
                name=path.name,
            )
        )
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    return "csv"


def read_export(source: str | os.PathLike | pd.DataFrame, mapping=None, *, require: bool = True) -> RawExport:
    """Read an export as text and match its headers to the contract.

    Parameters
    ----------
    source : path or DataFrame
        CSV, XLSX or Parquet file, or a DataFrame (any dtypes).
    mapping : path, dict or ExportMapping, optional
        The school's mapping file (see the module docstring).

    Returns
    -------
    RawExport
        See its attributes. Raises :class:`InputError` or
        :class:`SchemaError` with a French message naming the file.
    """
    mapping = load_mapping(mapping)
    layout_notes: list[str] = []
    sha256 = encoding = separator = layout = None
    if isinstance(source, pd.DataFrame):
        name, file_format = "<DataFrame>", "dataframe"
        if source.shape[0] == 0:
            raise InputError(_("Le tableau fourni ne contient aucune ligne de données."))
        columns, headers, not_read = _text_columns(source, mapping)
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise InputError(_("Fichier introuvable : {path}.", path=path))
        if not path.is_file():
            raise InputError(_("{path} n'est pas un fichier.", path=path))
        try:
            raw = _map_file(path)  # read-only memory map: the file is hashed and parsed without a copy
        except OSError as exc:
            raise unreadable_file(name, path, exc) from None
        if len(raw) == 0 or is_blank(raw):
            raise InputError(_("{name} : le fichier est vide.", name=name))
        file_format = _sniff_format(path, raw[:8])
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())  # hashlib releases the GIL
            if file_format == "csv":
                columns, encoding, separator, headers, not_read, layout = read_csv_columns(
                    raw, name, mapping.separator, mapping.encoding, lambda found: _identifier_headers(found, mapping)
                )
            elif file_format == "xlsx":
                sheet_frame = _read_xlsx(path, mapping)
                layout_notes = sheet_frame.attrs.get("layout_notes", [])
                layout = RowLayout.single_lines(len(sheet_frame), 0)
                layout.first_line[:] = layout.last_line[:] = np.asarray(sheet_frame.index, dtype=np.int64)
                columns, headers, not_read = _text_columns(sheet_frame, mapping)
            else:
                columns, headers, not_read = _text_columns(_read_parquet(path), mapping)
            sha256 = digest.result()
        _release(raw)

    column_map, extras = _match_headers(headers, mapping, name)
    if require:  # False: the mapping proposal reads an export whatever its headers
        _check_required(column_map, extras, headers, name)
    columns = {column_map.get(h, h): col for h, col in columns.items()}
    n_rows = len(next(iter(columns.values()))) if columns else len(layout.status)
    if layout is None:  # Parquet, DataFrame: record numbers
        layout = RowLayout.single_lines(n_rows, 1)
    return RawExport(
        columns=columns,
        n_rows=n_rows,
        source_name=name,
        sha256=sha256,
        file_format=file_format,
        encoding=encoding,
        separator=separator,
        headers=headers,
        column_map=column_map,
        extra_columns=extras,
        mapping=mapping,
        identifiers_not_read=not_read,
        layout=layout,
        layout_notes=layout_notes,
    )
