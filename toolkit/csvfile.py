"""Reading a CSV export as text, with every physical line of the file accounted for.

Two parsers share the work:

* the fast path (pyarrow) reads a well-formed file into dictionary-encoded
  columns without decoding the text; it is kept only when its number of
  records equals the number of physical lines of the file (lines end with
  ``\\n``, ``\\r\\n`` or a lone ``\\r``; a blank line is a record of empty
  cells);
* otherwise (stray quote, value over several lines, short or long rows,
  blank lines with spaces, cells larger than a parse block) the file is read
  again with Python's :mod:`csv` module, line by line, so that each row knows
  the lines it came from. A record that spans several lines is kept whole when
  it is a quoted value with a line break; when one of its lines is a complete
  row by itself, the quote that opened it was stray: each line is read on its
  own, the quote taken as an ordinary character. A line that still has more
  fields than the header is rejected with its field count.

Both paths are linear in the size of the file.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Callable
from itertools import chain

import numpy as np
import pandas as pd

from .errors import InputError
from .i18n import _
from .textcolumn import (
    ROW_BLANK,
    ROW_MALFORMED,
    ROW_OK,
    ROW_SHORT,
    ROW_STRAY_QUOTE,
    RowLayout,
    TextColumn,
    missing_column,
    text_column,
)

__all__ = ["SEPARATORS", "read_csv_columns", "unique_headers", "count_lines", "is_blank"]

SEPARATORS = (";", ",", "\t")
_BLOCK = 1 << 24
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # huge cells are read (and then masked), never refused midway


def unique_headers(headers: list[str]) -> list[str]:
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


def _decode_header(line: bytes, name: str) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(
        _("{name} : encodage inconnu (ni UTF-8 ni Windows-1252/Latin-1). Enregistrez le fichier en UTF-8.", name=name)
    )


def is_blank(data) -> bool:
    """True for an empty or whitespace-only buffer, without copying a large file."""
    if bytes(data[:65536]).strip():
        return False
    return not bytes(data).strip()


def _detect_separator(header: str) -> str:
    """The candidate separator that splits the header line into the most fields."""
    best, best_fields = ";", 1
    for sep in SEPARATORS:
        fields = len(next(csv.reader([header], delimiter=sep)))
        if fields > best_fields:
            best, best_fields = sep, fields
    return best


def count_lines(body) -> int:
    """Physical lines in ``body`` (ended by ``\\n``, ``\\r\\n`` or a lone ``\\r``), in 16 MB chunks."""
    data = np.frombuffer(body, dtype=np.uint8)
    if len(data) == 0:
        return 0
    lf = cr = crlf = 0
    for start in range(0, len(data), _BLOCK):
        core = data[start : start + _BLOCK]
        lf += int(np.count_nonzero(core == 10))
        n_cr = int(np.count_nonzero(core == 13))
        if n_cr:
            cr += n_cr
            following = data[start + 1 : start + len(core) + 1]
            crlf += int(np.count_nonzero((core[: len(following)] == 13) & (following == 10)))
    return lf + cr - crlf + (0 if data[-1] in (10, 13) else 1)


def _split_header(raw, name: str) -> tuple[bytes, memoryview]:
    """(header bytes, body) of the file."""
    head = bytes(raw[:_BLOCK])
    found = re.search(rb"\r\n|\n|\r", head)
    if found is None:
        if len(raw) > _BLOCK:
            raise InputError(_("{name} : ligne d'en-tête de plus de 16 Mo : ce n'est pas un export CSV.", name=name))
        return head, memoryview(b"")
    return head[: found.start()], memoryview(raw)[found.end() :]


def _as_utf8(raw, name: str, encoding: str | None):
    """(bytes, encoding to report, 'known to be UTF-8'): a BOM, UTF-16 or a forced encoding turns into UTF-8."""
    reported, forced = encoding, False  # forced: bytes already known to be UTF-8
    if bytes(raw[:3]) == b"\xef\xbb\xbf":
        raw, reported, forced = memoryview(raw)[3:], "utf-8-sig", True
    elif bytes(raw[:2]) in (b"\xff\xfe", b"\xfe\xff"):
        try:
            raw, reported, forced = bytes(raw).decode("utf-16").encode("utf-8"), "utf-16", True
        except UnicodeDecodeError:
            raise InputError(_("{name} : encodage inconnu (UTF-16 invalide).", name=name)) from None
    elif reported:
        try:
            raw, forced = bytes(raw).decode(reported).encode("utf-8"), True
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                _(
                    "{name} : impossible de lire le fichier avec l'encodage « {encoding} » ({error}).",
                    name=name,
                    encoding=reported,
                    error=exc,
                )
            ) from None
    return raw, reported, forced


def read_csv_columns(raw, name: str, forced_separator: str | None, encoding: str | None, skip: Callable):
    """Read a CSV file's bytes.

    Parameters
    ----------
    raw : bytes-like
        The whole file.
    forced_separator, encoding : str or None
        Overrides from the school's mapping.
    skip : callable
        ``skip(headers) -> {header: kind}`` of the columns not to read (direct identifiers).

    Returns
    -------
    (columns, encoding, separator, headers, not_read, layout)
    """
    raw, reported, forced = _as_utf8(raw, name, encoding)
    if is_blank(raw):
        raise InputError(_("{name} : le fichier est vide.", name=name))
    if b"\x00" in bytes(raw[:65536]):
        raise InputError(
            _("{name} : encodage inconnu ou fichier binaire (octets nuls) : ce n'est pas un CSV texte.", name=name)
        )

    first_line = 1
    hint = re.match(rb"sep=(.)(?:\r\n|\n|\r)", bytes(raw[:8]))  # Excel's "sep=;" first line names the separator
    separator_hint = hint.group(1).decode("ascii", errors="replace") if hint else None
    if hint:
        raw, first_line = memoryview(raw)[hint.end() :], 2
    header_bytes, body = _split_header(raw, name)
    header_text, header_encoding = _decode_header(header_bytes, name)
    separator = forced_separator or separator_hint or _detect_separator(header_text)
    if is_blank(body):
        raise InputError(_("{name} : aucune ligne de données (le fichier ne contient que l'en-tête).", name=name))
    first_headers = unique_headers(next(csv.reader([header_text], delimiter=separator), []) or [""])
    skipped = skip(first_headers)
    wanted = [i for i, h in enumerate(first_headers) if h not in skipped]
    names = [f"c{i}" for i in range(len(first_headers))]  # positional while parsing; real headers below

    parsed = _parse_csv_arrow(body, names, [names[i] for i in wanted], separator) if wanted else None
    n_lines = count_lines(body)
    if parsed is not None and len(parsed[0][0][0]) != n_lines:
        parsed = None  # records and lines disagree: a quoted line break, a stray quote...
    if parsed is not None:
        columns_raw, utf8_ok = parsed
        layout = RowLayout.single_lines(n_lines, first_line + 1)
    else:
        columns_raw, utf8_ok, layout = _parse_csv_lines(body, separator, len(names), wanted, name, forced)
        layout.shift(first_line)
    if forced:
        if not utf8_ok:
            raise InputError(
                _("{name} : encodage inconnu (le fichier annonce UTF-8 mais contient des octets invalides).", name=name)
            )
        text_encoding = "utf-8"
    else:
        text_encoding = "utf-8" if (utf8_ok and header_encoding == "utf-8") else "cp1252"
        reported = text_encoding
        if text_encoding == "cp1252" and header_encoding == "utf-8":
            header_text = header_bytes.decode("cp1252", errors="replace")
    headers = unique_headers(next(csv.reader([header_text], delimiter=separator), []) or [""])
    columns = {
        headers[i]: _decode_column(codes, dictionary, text_encoding, name, headers[i])
        for i, (codes, dictionary) in zip(wanted, columns_raw)
    }
    kept = set(wanted)
    not_read = {headers[i]: skipped[first_headers[i]] for i in range(len(headers)) if i not in kept}
    return columns, reported, separator, headers, not_read, layout


# --------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------
def _parse_csv_arrow(body, names: list[str], wanted: list[str], separator: str):
    """(codes, dictionary of raw bytes) for each ``wanted`` column, and 'valid UTF-8'; None when pyarrow refuses.

    Columns are read as dictionary-encoded bytes: each distinct value is
    stored once and the text is not decoded while parsing. Decoding the
    dictionaries afterwards is cheap, and checking them as UTF-8 checks the
    whole file. Blank lines are kept, as rows of empty cells.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, quote_char='"', double_quote=True, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={n: pa.dictionary(pa.int32(), pa.binary()) for n in wanted},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # ragged rows, huge cells...
        return None
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


def _decode_column(codes: np.ndarray, dictionary, encoding: str, name: str, column: str) -> TextColumn:
    """TextColumn of one CSV column from its codes and distinct values (bytes, or text already)."""
    if isinstance(dictionary, TextColumn):  # line-by-line path: already text
        return dictionary
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
                _(
                    "{name} : encodage inconnu dans la colonne « {column} » (ni UTF-8 ni Windows-1252/Latin-1).",
                    name=name,
                    column=column,
                )
            ) from None
    return TextColumn(codes, np.asarray(values, dtype=object))


# --------------------------------------------------------------------------
# Line-by-line path
# --------------------------------------------------------------------------
def _decode_body(body, name: str, forced: bool) -> tuple[str, bool]:
    try:
        return bytes(body).decode("utf-8"), True
    except UnicodeDecodeError:
        if forced:
            raise InputError(_("{name} : encodage inconnu (UTF-8 invalide).", name=name)) from None
    try:
        return bytes(body).decode("cp1252"), False
    except UnicodeDecodeError:
        raise InputError(_("{name} : encodage inconnu (ni UTF-8 ni Windows-1252/Latin-1).", name=name)) from None


def _literal_fields(line: str, separator: str) -> list[str]:
    """The fields of one line with quotes read as ordinary characters (stray ones stripped at the edges)."""
    return [f.strip('"') for f in line.rstrip("\r\n").split(separator)]


def _read_alone(line: str, separator: str, width: int) -> tuple[list[str], int]:
    """One physical line read on its own: (fields, status)."""
    fields = next(csv.reader([line], delimiter=separator, quotechar='"'), [])
    if line.count('"') % 2 == 0 and len(fields) <= width:
        return fields, _status(fields, width)
    literal = _literal_fields(line, separator)
    if len(literal) <= width or not any(f.strip() for f in literal[width:]):
        return literal[:width], ROW_STRAY_QUOTE
    return literal, ROW_MALFORMED


def _status(fields: list[str], width: int) -> int:
    if not any(f.strip() for f in fields):
        return ROW_BLANK
    if len(fields) < width:
        return ROW_SHORT
    if len(fields) > width and any(f.strip() for f in fields[width:]):
        return ROW_MALFORMED
    return ROW_OK


def _parse_csv_lines(body, separator: str, width: int, wanted: list[int], name: str, forced: bool):
    """Every physical line read with :mod:`csv`, each row tagged with its lines and status."""
    text, utf8_ok = _decode_body(body, name, forced)
    lines = io.StringIO(text, newline="").readlines()  # ends: \n, \r\n, lone \r
    del text
    reader = csv.reader(lines, delimiter=separator, quotechar='"')
    rows: list[list[str]] = []
    first: list[int] = []
    last: list[int] = []
    status: list[int] = []
    n_fields: list[int] = []
    previous = 0
    try:
        for record in reader:
            start, end = previous + 1, reader.line_num
            previous = end
            span = lines[start - 1 : end]
            if end > start and (
                len(record) > width or any(len(_literal_fields(line, separator)) >= width for line in span)
            ):
                pieces = [_read_alone(line, separator, width) for line in span]  # the quote that joined them was stray
                positions = range(start, end + 1)
            else:
                pieces, positions = [(record, _status(record, width))], [(start, end)]
            for (fields, state), where in zip(pieces, positions):
                begin, finish = where if isinstance(where, tuple) else (where, where)
                n_fields.append(len(fields))
                rows.append([] if state in (ROW_MALFORMED, ROW_BLANK) else fields[:width])
                first.append(begin)
                last.append(finish)
                status.append(state)
    except csv.Error as exc:
        raise InputError(
            _("{name} : fichier CSV illisible à la ligne {line} ({error}).", name=name, line=previous + 2, error=exc)
        ) from None
    del lines
    layout = RowLayout(
        first_line=np.asarray(first, dtype=np.int64),
        last_line=np.asarray(last, dtype=np.int64),
        status=np.asarray(status, dtype=np.int8),
        n_fields=np.asarray(n_fields, dtype=np.int64),
        width=width,
    )
    return _columns_from_rows(rows, wanted), utf8_ok, layout


def _columns_from_rows(rows: list[list[str]], wanted: list[int]) -> list[tuple[np.ndarray, TextColumn]]:
    """Columns of ragged rows, in time linear in the number of fields (empty columns share one array)."""
    n = len(rows)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    flat = np.empty(int(lengths.sum()), dtype=object)
    flat[:] = list(chain.from_iterable(rows))
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    col_of = np.arange(len(flat), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    present = flat != ""
    flat, row_of, col_of = flat[present], row_of[present], col_of[present]
    order = np.argsort(col_of, kind="stable")
    flat, row_of, col_of = flat[order], row_of[order], col_of[order]
    bounds = np.searchsorted(col_of, np.arange(max(wanted, default=0) + 2))
    out = []
    for j in wanted:
        lo, hi = bounds[j], bounds[j + 1]
        if lo == hi:
            column = missing_column(n)
        else:
            codes, uniques = pd.factorize(flat[lo:hi])
            per_row = np.full(n, -1, dtype=np.int64)
            per_row[row_of[lo:hi]] = codes
            column = text_column(per_row, np.asarray(uniques, dtype=object))
        out.append((column.codes, column))
    return out
