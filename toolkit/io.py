"""Reading raw trainee exports (CSV, XLSX, Parquet or a DataFrame) without
coercing anything, and matching their headers to the raw-export contract.

Every column is read as text, nothing is coerced: ``"0"``, ``"NA"``,
``"0012"`` or ``"01/02/2023"`` stay the strings they were; only empty cells
are missing. Each column is held as a :class:`TextColumn`: its distinct raw
strings plus, for each row, the position of its value among them. Each
distinct value is stored once, and the cleaning rules work on the distinct
values only. ``RawExport.frame`` gives the same as a DataFrame of Categorical
strings (``.astype("string")`` for plain strings).

Formats
-------
* CSV (``.csv``, ``.txt``, ``.tsv``): separator ``;``, ``,`` or tab, detected
  from the header line (or taken from Excel's ``sep=;`` first line); encoding UTF-8 (with or without BOM), UTF-16 with BOM,
  or Windows-1252 / Latin-1, detected automatically (strict UTF-8 is tried
  first, then Windows-1252; a file that is neither is refused with
  "encodage inconnu").
* XLSX (``.xlsx``, ``.xlsm``): the first sheet; dates may be real Excel dates
  (read as ``yyyy-mm-dd``) or text.
* Parquet (``.parquet``, ``.pq``).

Headers match the contract (:data:`toolkit.schema.RAW_COLUMNS` and their
variants) regardless of case, accents, spaces, hyphens and underscores
(:func:`toolkit.schema.normalise_key`). Columns that match nothing are kept
under their own header; the cleaning step drops them (and reports those that
carry personal identifiers).

Mapping file
------------
A school whose export uses its own headers or labels describes them in a
YAML file (``mapping=`` path, or the same structure as a dict); no code is
needed. Example (``data/raw/mapping_example.yml``)::

    # Export of the E2C Exemple school
    colonnes:                          # their header: contract column
      N° dossier: id_stagiaire
      Date d'arrivée: date_entree
      Situation à la sortie: motif_sortie
    valeurs:                           # contract column: {their label: contract label or code}
      motif_sortie:
        Emploi CDI temps plein: CDI
        PEC 20h: contrat_aide
      niveau_formation:
        Sortie de 3e: infra_3
      ecole:
        E2C Exemple - siège: E2C Exemple
    separateur: ";"                    # optional: force the CSV separator
    encodage: cp1252                   # optional: force the CSV encoding
    feuille: Stagiaires                # optional: XLSX sheet name (default: the first)

* ``colonnes`` maps a header of the file (matched like contract headers,
  ignoring case, accents and punctuation) to a contract column name
  (``id_stagiaire``, ``date_entree``, ...; the canonical English name such as
  ``entry_date`` is accepted too). It takes precedence over the built-in
  header variants.
* ``valeurs`` maps labels of a coded column (``region``, ``sexe``,
  ``niveau_formation``, booleans, ``nationalite``, ``prescripteur``,
  ``motif_sortie``, ``groupe``) onto a label the contract already knows or a
  canonical code (``cdi``, ``niveau_3``, ``oui``...); for the free-text columns
  ``ecole`` and ``site`` it renames a value. Their labels are matched ignoring
  case, accents and punctuation. The cleaning step applies them.
* English keys (``columns``, ``values``, ``separator``, ``encoding``,
  ``sheet``) are accepted too. Any other key is an error, so that a typo does
  not go unnoticed.

Errors
------
:class:`~toolkit.errors.InputError` (missing, unreadable or empty file,
unknown encoding, XLSX without data, invalid mapping file) and
:class:`~toolkit.errors.SchemaError` (required column missing, two headers for
one column, mapping naming an unknown column); messages are in French and name
the file and what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, SchemaError
from .privacy import identifier_kind_of_header, is_birth_date_header
from .schema import (
    BOOLEAN_ALIASES,
    EDUCATION_ALIASES,
    EDUCATION_LEVELS,
    EXIT_ALIASES,
    EXIT_REASON_CODES,
    GROUP_ALIASES,
    GROUP_CODES,
    NATIONALITY_ALIASES,
    NATIONALITY_CODES,
    RAW_BY_NAME,
    RAW_COLUMNS,
    RAW_HEADER_ALIASES,
    REFERRER_ALIASES,
    REFERRER_CODES,
    REGION_ALIASES,
    REGION_NAMES,
    REQUIRED_RAW_COLUMNS,
    SEX_ALIASES,
    SEX_CODES,
    normalise_key,
)

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
]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_SEPARATORS = (";", ",", "\t")
_SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
_CANONICAL_TO_RAW = {c.canonical: c.name for c in RAW_COLUMNS if c.canonical}

_MAPPING_KEYS = {
    "colonnes": "columns",
    "columns": "columns",
    "valeurs": "values",
    "values": "values",
    "separateur": "separator",
    "separator": "separator",
    "encodage": "encoding",
    "encoding": "encoding",
    "feuille": "sheet",
    "sheet": "sheet",
    "description": "description",
    "ligneentete": "header_row",
    "headerrow": "header_row",
    "situations": "situations",
}


# Coded raw columns: their canonical codes and label aliases ({normalised label: code}).
_BOOLEAN_CODES = ("0", "1")
_BOOLEAN_LABELS = {k: str(int(v)) for k, v in BOOLEAN_ALIASES.items()}
CODED_COLUMNS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "region": (REGION_NAMES, REGION_ALIASES),
    "sexe": (SEX_CODES, SEX_ALIASES),
    "niveau_formation": (EDUCATION_LEVELS, EDUCATION_ALIASES),
    "qpv": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "zone_rurale": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "rqth": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "cofinancement_fse": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "nationalite": (NATIONALITY_CODES, NATIONALITY_ALIASES),
    "prescripteur": (REFERRER_CODES, REFERRER_ALIASES),
    "motif_sortie": (EXIT_REASON_CODES, EXIT_ALIASES),
    "groupe": (GROUP_CODES, GROUP_ALIASES),
}
_RENAMED_COLUMNS = ("ecole", "site")  # free text: the mapping renames values


def label_table(column: str) -> dict[str, int]:
    """{normalised label: position in the column's codes}; each canonical code is its own label too."""
    codes, aliases = CODED_COLUMNS[column]
    position = {c: i for i, c in enumerate(codes)}
    table = {normalise_key(c): position[c] for c in codes}
    table.update({k: position[c] for k, c in aliases.items()})
    return table


# --------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------
@dataclass
class ExportMapping:
    """A school's mapping of its headers and labels onto the contract.

    ``columns``: {normalised header of the file: contract column};
    ``values``: {contract column: {their label: target label or code}};
    ``separator``/``encoding``/``sheet``: optional reading overrides.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    separator: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    source_name: str = "mapping"
    header_row: int | None = None  # XLSX: 1-based header row (``ligne_entete``); detected when None
    situations: dict | None = None  # the situations table of a two-table export (see toolkit.situations)


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
    short_rows : ndarray of int
        0-based positions of CSV rows with fewer fields than the header (the
        missing fields are read as missing values; the cleaning warns).
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
    short_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    layout_notes: list[str] = field(default_factory=list)  # XLSX title or footer rows skipped

    @property
    def frame(self) -> pd.DataFrame:
        """The export as a DataFrame of Categorical raw strings (``.astype("string")`` for plain text)."""
        return pd.DataFrame({name: col.categorical() for name, col in self.columns.items()}, copy=False)


# --------------------------------------------------------------------------
# Mapping file
# --------------------------------------------------------------------------
def _contract_name(name: object, where: str) -> str:
    text = str(name).strip()
    if text in RAW_BY_NAME:
        return text
    if text in _CANONICAL_TO_RAW:
        return _CANONICAL_TO_RAW[text]
    by_key = RAW_HEADER_ALIASES.get(normalise_key(text))
    if by_key is not None:
        return by_key
    known = ", ".join(RAW_BY_NAME)
    raise SchemaError(f"{where} : colonne du contrat inconnue « {text} ». Colonnes possibles : {known}.")


def load_mapping(mapping: str | os.PathLike | dict | ExportMapping | None) -> ExportMapping:
    """Read and check a mapping (YAML path or dict; see the module docstring).

    Returns
    -------
    ExportMapping
        Headers are stored as normalised keys; values as given (their labels
        are normalised when the cleaning step applies them).
    """
    if mapping is None:
        return ExportMapping()
    if isinstance(mapping, ExportMapping):
        return mapping
    name, base = "mapping", None
    if isinstance(mapping, (str, os.PathLike)):
        path = Path(mapping)
        name, base = path.name, path.parent
        if not path.is_file():
            raise InputError(f"Fichier de correspondance introuvable : {path}.")
        import yaml  # local import: only needed with a mapping file

        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise InputError(f"{name} : le fichier de correspondance doit être enregistré en UTF-8.") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{name} : fichier de correspondance YAML illisible ({exc}).") from None
        mapping = content or {}
    if not isinstance(mapping, dict):
        raise InputError(
            f"{name} : le fichier de correspondance doit contenir des clés « colonnes » et/ou « valeurs »."
        )

    out = ExportMapping(source_name=name)
    for raw_key, content in mapping.items():
        key = _MAPPING_KEYS.get(normalise_key(raw_key)) if raw_key is not None else None
        if key is None:
            allowed = "colonnes, valeurs, separateur, encodage, feuille, description"
            raise InputError(f"{name} : clé inconnue « {raw_key} » (clés possibles : {allowed}).")
        if key == "columns":
            if not isinstance(content, dict):
                raise InputError(
                    f"{name} : « colonnes » doit associer chaque en-tête du fichier à une colonne du contrat."
                )
            for header, target in content.items():
                out.columns[normalise_key(header)] = _contract_name(target, f"{name}, colonnes, « {header} »")
        elif key == "values":
            if not isinstance(content, dict):
                raise InputError(f"{name} : « valeurs » doit associer chaque colonne à ses libellés.")
            for column, labels in content.items():
                contract = _contract_name(column, f"{name}, valeurs")
                if not isinstance(labels, dict):
                    raise InputError(
                        f"{name} : valeurs de « {column} » : il faut des paires « libellé: valeur du contrat »."
                    )
                if contract not in CODED_COLUMNS and contract not in _RENAMED_COLUMNS:
                    allowed = ", ".join([*CODED_COLUMNS, *_RENAMED_COLUMNS])
                    raise SchemaError(
                        f"{name} : valeurs de « {contract} » : correspondance de libellés non prise en "
                        f"charge pour cette colonne (colonnes possibles : {allowed})."
                    )
                pairs = {_yaml_text(label): _yaml_text(target) for label, target in labels.items()}
                if contract in CODED_COLUMNS:
                    table = label_table(contract)
                    for label_text, target in pairs.items():
                        if normalise_key(target) not in table:
                            raise SchemaError(
                                f"{name} : valeurs de « {contract} » : « {target} » (pour « {label_text} ») n'est ni "
                                "un libellé reconnu ni un code du contrat."
                            )
                out.values.setdefault(contract, {}).update(pairs)
        elif key == "separator":
            sep = "\t" if str(content) in {"\\t", "tab", "tabulation"} else str(content)
            if sep not in _SEPARATORS:
                raise InputError(f"{name} : séparateur « {content} » non pris en charge (; , ou tabulation).")
            out.separator = sep
        elif key == "encoding":
            out.encoding = str(content)
        elif key == "sheet":
            out.sheet = content
        elif key in ("header_row", "situations"):
            from .mapping_file import check_mapping_extra  # two-table exports, XLSX header row

            setattr(out, key, check_mapping_extra(key, content, name, base))
    return out


def _yaml_text(value: object) -> str:
    """YAML turns yes/no/true into booleans and 1 into ints: give them back as text."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    return "" if value is None else str(value)


# --------------------------------------------------------------------------
# Strings, compactly
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------
def _decode_header(line: bytes, name: str) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name} : encodage inconnu (ni UTF-8 ni Windows-1252/Latin-1). Enregistrez le fichier en UTF-8.")


def _is_blank(data) -> bool:
    """True for an empty or whitespace-only buffer, without copying a large file."""
    if bytes(data[:65536]).strip():
        return False
    return not bytes(data).strip()


def _detect_separator(header: str) -> str:
    """The candidate separator that splits the header line into the most fields."""
    best, best_fields = ";", 1
    for sep in _SEPARATORS:
        fields = len(next(csv.reader([header], delimiter=sep)))
        if fields > best_fields:
            best, best_fields = sep, fields
    return best


def _unique_headers(headers: list[str]) -> list[str]:
    """Name empty headers and make duplicates distinct (pyarrow needs unique names)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, header in enumerate(headers, start=1):
        text = header.strip() or f"colonne_{i}"
        if text in seen:
            text = f"{text} ({i})"
        seen.add(text)
        out.append(text)
    return out


def _read_csv(raw, name: str, mapping: ExportMapping):
    """(columns, encoding, separator, headers, identifier columns not read, short rows) of a CSV file."""
    reported = mapping.encoding
    forced = False  # bytes already known to be UTF-8
    if bytes(raw[:3]) == b"\xef\xbb\xbf":
        raw, reported, forced = memoryview(raw)[3:], "utf-8-sig", True
    elif bytes(raw[:2]) in (b"\xff\xfe", b"\xfe\xff"):
        try:
            raw, reported, forced = bytes(raw).decode("utf-16").encode("utf-8"), "utf-16", True
        except UnicodeDecodeError:
            raise InputError(f"{name} : encodage inconnu (UTF-16 invalide).") from None
    elif reported:
        try:
            raw, forced = bytes(raw).decode(reported).encode("utf-8"), True
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                f"{name} : impossible de lire le fichier avec l'encodage « {reported} » ({exc})."
            ) from None
    if _is_blank(raw):
        raise InputError(f"{name} : le fichier est vide.")
    if b"\x00" in bytes(raw[:65536]):
        raise InputError(f"{name} : encodage inconnu ou fichier binaire (octets nuls) : ce n'est pas un CSV texte.")

    hint = re.match(rb"sep=(.)\r?\n", bytes(raw[:8]))  # Excel's "sep=;" first line names the separator
    if hint:
        separator_hint = hint.group(1).decode("ascii", errors="replace")
        raw = memoryview(raw)[hint.end() :]
    else:
        separator_hint = None
    end = bytes(raw[: 1 << 20]).find(b"\n")  # a header line is far shorter than 1 MB
    header_bytes = bytes(raw if end < 0 else raw[:end]).rstrip(b"\r")
    header_text, header_encoding = _decode_header(header_bytes, name)
    separator = mapping.separator or separator_hint or _detect_separator(header_text)
    body = memoryview(b"") if end < 0 else memoryview(raw)[end + 1 :]  # no copy of the file
    if _is_blank(body):
        raise InputError(f"{name} : aucune ligne de données (le fichier ne contient que l'en-tête).")
    first_headers = _unique_headers(next(csv.reader([header_text], delimiter=separator)))
    names = [f"c{i}" for i in range(len(first_headers))]  # positional while parsing; real headers below
    skipped = _identifier_headers(first_headers, mapping)
    wanted = [i for i, h in enumerate(first_headers) if h not in skipped]

    short = np.empty(0, dtype=np.int64)  # pyarrow refuses short rows: only the fallback can see some
    try:
        parsed, utf8_ok = _parse_csv_arrow(body, names, [names[i] for i in wanted], separator)
    except _ArrowParseError:
        parsed, utf8_ok, short = _parse_csv_pandas(body, names, separator, name, forced)
        parsed = [parsed[i] for i in wanted]
    if forced:
        if not utf8_ok:
            raise InputError(
                f"{name} : encodage inconnu (le fichier annonce UTF-8 mais contient des octets invalides)."
            )
        text_encoding = "utf-8"
    else:
        text_encoding = "utf-8" if (utf8_ok and header_encoding == "utf-8") else "cp1252"
        reported = text_encoding
        if text_encoding == "cp1252" and header_encoding == "utf-8":
            header_text = header_bytes.decode("cp1252", errors="replace")
    headers = _unique_headers(next(csv.reader([header_text], delimiter=separator)))
    columns = {
        headers[i]: _decode_column(codes, dictionary, text_encoding, name, headers[i])
        for i, (codes, dictionary) in zip(wanted, parsed)
    }
    not_read = {headers[i]: skipped[first_headers[i]] for i in range(len(headers)) if i not in set(wanted)}
    return columns, reported, separator, headers, not_read, short


class _ArrowParseError(Exception):
    pass


def _parse_csv_arrow(body, names: list[str], wanted: list[str], separator: str) -> tuple[list, bool]:
    """Parse with pyarrow into (codes, dictionary of raw bytes) for each ``wanted`` column.

    Columns are read as dictionary-encoded bytes: each distinct value is
    stored once and the text is not decoded while parsing. Decoding the
    dictionaries afterwards is cheap, and checking them as UTF-8 checks the
    whole file.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=separator, quote_char='"', double_quote=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={n: pa.dictionary(pa.int32(), pa.binary()) for n in wanted},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # ragged rows, quoted newlines...
        raise _ArrowParseError(str(exc)) from None
    table = table.unify_dictionaries()  # one dictionary per column across chunks
    out, utf8_ok = [], True
    for n in wanted:
        chunks = table.column(n).chunks
        if not chunks:
            out.append((np.empty(0, dtype=np.int32), pa.array([], type=pa.binary())))
            continue
        codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in chunks])  # int32
        dictionary = chunks[0].dictionary
        if utf8_ok:
            try:
                dictionary.view(pa.string()).validate(full=True)
            except pa.ArrowInvalid:
                utf8_ok = False
        out.append((codes, dictionary))
    return out, utf8_ok


def _parse_csv_pandas(body, names: list[str], separator: str, name: str, forced: bool) -> tuple[list, bool, np.ndarray]:
    """Fallback parser (pandas C engine): tolerates short rows (returned, to be reported) and quoted newlines."""
    try:
        text, utf8_ok = bytes(body).decode("utf-8"), True
    except UnicodeDecodeError:
        if forced:
            raise InputError(f"{name} : encodage inconnu (UTF-8 invalide).") from None
        try:
            text, utf8_ok = bytes(body).decode("cp1252"), False
        except UnicodeDecodeError:
            raise InputError(f"{name} : encodage inconnu (ni UTF-8 ni Windows-1252/Latin-1).") from None
    import io as _io

    try:
        frame = pd.read_csv(
            _io.StringIO(text),
            sep=separator,
            header=None,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            quotechar='"',
            engine="c",
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = (int(g) for g in found.groups())
            if expected < len(names) <= saw:  # pandas took its field count from a short first data row
                expected, line, saw = len(names), 1, expected
            raise InputError(
                f"{name} : fichier CSV illisible : la ligne {line + 1} du fichier a {saw} champs "
                f"au lieu de {max(expected, len(names))}."
            ) from None
        raise InputError(f"{name} : fichier CSV illisible ({exc}).") from None
    except ValueError as exc:
        raise InputError(f"{name} : fichier CSV illisible ({exc}).") from None
    if frame.shape[1] > len(names):
        extra = frame.iloc[:, len(names) :].apply(lambda col: col.astype(str).str.strip().ne("")).any(axis=1)
        if extra.any():
            line = int(np.flatnonzero(extra.to_numpy())[0]) + 2
            raise InputError(
                f"{name} : fichier CSV illisible : la ligne {line} du fichier a plus de champs "
                f"que l'en-tête ({len(names)})."
            )
        frame = frame.iloc[:, : len(names)]  # empty trailing fields only
    # pandas pads short rows with "" like empty fields: count the fields again to report them
    # (this fallback only runs on malformed files; csv is pandas' quoting, blank lines skipped by both).
    lengths = np.fromiter(
        (len(r) for r in csv.reader(_io.StringIO(text), delimiter=separator, quotechar='"') if r), dtype=np.int64
    )
    short = np.flatnonzero(lengths < len(names)) if len(lengths) == len(frame) else np.empty(0, dtype=np.int64)
    frame.columns = names[: frame.shape[1]]
    for missing in names[frame.shape[1] :]:  # rows shorter than the header everywhere
        frame[missing] = ""
    columns = []
    for col in names:
        codes, uniques = pd.factorize(frame[col].to_numpy(dtype=object), use_na_sentinel=True)
        columns.append((codes.astype(np.int64), [None if u is None or u != u else u for u in uniques]))
    return columns, utf8_ok, short


def _decode_column(codes: np.ndarray, dictionary, encoding: str, name: str, column: str) -> TextColumn:
    """TextColumn of one CSV column from its codes and distinct values (bytes or text)."""
    if isinstance(dictionary, list):  # pandas fallback: already text
        return text_column(codes, dictionary)
    import pyarrow as pa
    import pyarrow.compute as pc

    as_text = dictionary.view(pa.string())
    if encoding == "utf-8" or len(dictionary) == 0 or pc.all(pc.string_is_ascii(as_text)).as_py():
        values = as_text.to_numpy(zero_copy_only=False)  # UTF-8, or plain ASCII (the same in every encoding)
    else:
        try:
            values = np.array([b.decode("cp1252") for b in dictionary.to_pylist()], dtype=object)
        except UnicodeDecodeError:
            raise InputError(
                f"{name} : encodage inconnu dans la colonne « {column} » (ni UTF-8 ni Windows-1252/Latin-1)."
            ) from None
    return TextColumn(codes, np.asarray(values, dtype=object))


# --------------------------------------------------------------------------
# XLSX and Parquet
# --------------------------------------------------------------------------
def _read_xlsx(path: Path, mapping: ExportMapping) -> pd.DataFrame:
    from .export_layout import trim_sheet

    sheet = mapping.sheet if mapping.sheet is not None else 0
    try:
        frame = pd.read_excel(
            path, sheet_name=sheet, header=None, dtype=object, keep_default_na=False, engine="openpyxl"
        )
    except (ValueError, KeyError) as exc:
        if "Worksheet" in str(exc) or "not found" in str(exc):
            raise InputError(f"{path.name} : feuille « {sheet} » introuvable.") from None
        raise InputError(f"{path.name} : classeur XLSX illisible ({exc}).") from None
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors: not a workbook
        raise InputError(f"{path.name} : classeur XLSX illisible ({type(exc).__name__} : {exc}).") from None
    frame, notes = trim_sheet(frame, mapping.header_row, path.name) if len(frame) else (frame, [])  # titles, totals
    frame = frame.loc[
        :, [not str(c).startswith("Unnamed:") or frame[c].astype(str).str.strip().ne("").any() for c in frame.columns]
    ]
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InputError(
            f"{path.name} : le classeur XLSX ne contient aucune donnée (première feuille vide ou en-tête seul)."
        )
    # Excel leaves formatted but empty rows at the end: they are not data rows.
    filled = frame.apply(lambda col: col.astype(str).str.strip().ne(""), axis=0).any(axis=1).to_numpy()
    if not filled.any():
        raise InputError(f"{path.name} : le classeur XLSX ne contient aucune donnée (lignes vides).")
    last = int(np.flatnonzero(filled)[-1])
    out = frame.iloc[: last + 1]
    out.attrs["layout_notes"] = notes
    return out


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InputError(f"{path.name} : fichier Parquet illisible ({type(exc).__name__} : {exc}).") from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InputError(f"{path.name} : le fichier Parquet ne contient aucune ligne de données.")
    return frame


def _text_columns(frame: pd.DataFrame, mapping: ExportMapping):
    """(columns, headers, identifier columns not read) of a DataFrame."""
    headers = _unique_headers([str(c) for c in frame.columns])
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
                f"{name} : deux colonnes correspondent à « {target} » : « {claimed[target]} » et « {header} ». "
                "Renommez ou supprimez l'une d'elles, ou précisez-le dans un fichier de correspondance."
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
        found = ", ".join(f"« {h} »" for h in headers) or "aucune"
        from .mapping_file import closest_headers_text  # the closest headers, and the command that proposes a mapping

        raise SchemaError(
            f"{name} : colonne(s) obligatoire(s) manquante(s) : {', '.join(missing)}. "
            f"Colonnes trouvées : {found}. Si l'école nomme ces colonnes autrement, décrivez-le dans un "
            "fichier de correspondance (mapping)." + closest_headers_text(missing, extras, name)
        )


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
            f"{path.name} : l'ancien format Excel .xls n'est pas pris en charge ; enregistrez le fichier en .xlsx ou en CSV."
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
    sha256 = encoding = separator = None
    short = np.empty(0, dtype=np.int64)
    if isinstance(source, pd.DataFrame):
        name, file_format = "<DataFrame>", "dataframe"
        if source.shape[0] == 0:
            raise InputError("Le tableau fourni ne contient aucune ligne de données.")
        columns, headers, not_read = _text_columns(source, mapping)
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise InputError(f"Fichier introuvable : {path}.")
        if not path.is_file():
            raise InputError(f"{path} n'est pas un fichier.")
        try:
            raw = _map_file(path)  # read-only memory map: the file is hashed and parsed without a copy
        except OSError as exc:
            raise InputError(f"{name} : fichier illisible ({exc.strerror or exc}).") from None
        if len(raw) == 0 or _is_blank(raw):
            raise InputError(f"{name} : le fichier est vide.")
        file_format = _sniff_format(path, raw[:8])
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())  # hashlib releases the GIL
            if file_format == "csv":
                columns, encoding, separator, headers, not_read, short = _read_csv(raw, name, mapping)
            elif file_format == "xlsx":
                sheet_frame = _read_xlsx(path, mapping)
                layout_notes = sheet_frame.attrs.get("layout_notes", [])
                columns, headers, not_read = _text_columns(sheet_frame, mapping)
            else:
                columns, headers, not_read = _text_columns(_read_parquet(path), mapping)
            sha256 = digest.result()
        _release(raw)

    column_map, extras = _match_headers(headers, mapping, name)
    if require:  # False: the mapping proposal reads an export whatever its headers
        _check_required(column_map, extras, headers, name)
    columns = {column_map.get(h, h): col for h, col in columns.items()}
    n_rows = len(next(iter(columns.values())))
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
        short_rows=short,
        layout_notes=layout_notes,
    )
