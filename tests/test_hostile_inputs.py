"""Hostile and broken inputs: no traceback, no hang, every line accounted for, no identifier in any output."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cleaning import clean_export
from toolkit.errors import E2CError
from toolkit.privacy import mask_identifiers_in_text

pytestmark = pytest.mark.timeout(60)

HEADER = ["id_stagiaire", "region", "ecole", "site", "sexe", "annee_naissance", "date_entree"]
KEY = "hostile-key"
IDENTIFIERS = [
    "jean.dupont@mail.fr",
    "07 81 22 43 19",
    "07.81.22.43.19",
    "07-81-22-43-19",
    "+33 7 81 22 43 19",
    "0033781224319",
    "1 85 05 78 006 084 36",
    "185057800608436",
    "123456789012",
]


def _row(i: int, site: str = "Antenne") -> str:
    return f"A{i};Bretagne;E2C Rennes;{site};F;2004;05/01/2023"


def _all_output(result) -> str:
    parts = [result.data.astype("string").to_csv(), result.rejected.astype("string").to_csv()]
    parts += [result.warnings.astype("string").to_csv(), str(result.summary), result.summary_text()]
    return "\n".join(parts)


def _physical_lines(raw: bytes) -> int:
    return len(re.findall(rb"\r\n|\n|\r", raw)) + (0 if raw.endswith((b"\n", b"\r")) else 1)


def check_accounting(path, result) -> None:
    """received = kept + rejected, and the rows (with the header line) cover every line of the file once."""
    s = result.summary
    assert s["rows_received"] == s["rows_kept"] + s["rows_rejected"] == len(result.data) + len(result.rejected)
    rows = np.sort(np.concatenate([result.data["source_row"].to_numpy(), result.rejected["source_row"].to_numpy()]))
    assert rows.tolist() == list(range(1, s["rows_received"] + 1))
    layout = result.layout
    covered = np.zeros(_physical_lines(path.read_bytes()) + 1, dtype=int)
    covered[1] = 1  # the header
    for first, last in zip(layout.first_line, layout.last_line):
        covered[first : last + 1] += 1
    assert (covered[1:] == 1).all(), np.flatnonzero(covered[1:] != 1) + 1


# --------------------------------------------------------------------------
# 1. Identifiers inside text
# --------------------------------------------------------------------------
@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_identifier_inside_a_site_name_is_masked_and_the_warning_names_column_and_row(tmp_path, identifier):
    path = tmp_path / "export.csv"
    path.write_text(";".join(HEADER) + "\n" + _row(1) + "\n" + _row(2, f"Antenne Nord – contact {identifier}") + "\n")
    result = clean_export(path, key=KEY)
    assert identifier not in _all_output(result)
    assert result.data["site"].astype(str).tolist()[1] == "Antenne Nord – contact [masqué]"
    masked = result.warnings[result.warnings["kind"] == "identifier_value_masked"]
    assert masked[["source_row", "source_line", "column"]].astype(str).values.tolist() == [["2", "3", "site"]]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Antenne chez Mme Martin", "Antenne [masqué]"),
        ("Site contact M. Dupont", "Site [masqué]"),
        ("E2C Rue Jean Jaurès", "E2C Rue Jean Jaurès"),  # a street name is not a contact person
        ("E2C Marseille 13015", "E2C Marseille 13015"),  # a postcode-like number is not a phone
    ],
)
def test_names_after_a_title_or_contact_word_are_masked(value, expected):
    masked, _changed = mask_identifiers_in_text([value])
    assert masked[0] == expected


def test_identifier_in_a_coded_column_never_reaches_warnings_or_rejected(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(";".join(HEADER) + "\n" + "A1;Bretagne 06 12 34 56 78;E2C;S;F;2004;05/01/2023\n" + _row(2) + "\n")
    result = clean_export(path, key=KEY)
    assert "06 12 34 56 78" not in _all_output(result) and len(result.rejected) == 1


def test_scan_is_linear_on_a_10_mb_value():
    values = ["a" * 10_000_000, "jean.dupont" * 900_000 + "@x.fr", "1 " * 5_000_000]
    start = time.perf_counter()
    masked, changed = mask_identifiers_in_text(values)
    assert changed.all() and time.perf_counter() - start < 5


# --------------------------------------------------------------------------
# 2. Every line accounted for
# --------------------------------------------------------------------------
def test_stray_quote_does_not_swallow_the_following_rows(tmp_path):
    path = tmp_path / "export.csv"
    lines = [_row(i) if i != 3 else _row(i, '"Antenne') for i in range(1, 21)]
    path.write_text(";".join(HEADER) + "\n" + "\n".join(lines) + "\n")
    result = clean_export(path, key=KEY)
    assert len(result.data) == 20
    stray = result.warnings[result.warnings["kind"] == "stray_quote"]
    assert stray["source_line"].tolist() == [4]
    check_accounting(path, result)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_blank_lines_and_quoted_line_breaks(tmp_path, newline):
    body = [_row(1), "", _row(2, '"Antenne\nNord"'), "   ", _row(3)]
    path = tmp_path / "export.csv"
    path.write_bytes((";".join(HEADER) + "\n" + "\n".join(body) + "\n").replace("\n", newline).encode())
    result = clean_export(path, key=KEY)
    assert result.data["source_row"].tolist() == [1, 3, 5]
    assert result.rejected["reason_code"].astype(str).tolist() == ["empty_row", "empty_row"]
    assert result.rejected["source_line"].tolist() == [3, 6]
    check_accounting(path, result)


# --------------------------------------------------------------------------
# 3. Bounded time and memory (figures in benchmarks/bench_hostile.py)
# --------------------------------------------------------------------------
def test_wide_header_with_short_rows(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(";".join(HEADER + [f"x{i}" for i in range(8_000)]) + "\n" + "\n".join(_row(i) for i in range(50)))
    result = clean_export(path, key=KEY)
    assert len(result.data) == 50 and result.summary["warnings_by_kind"]["short_row"] == 50
    check_accounting(path, result)


def test_sparse_xlsx_cell_in_column_xfd(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i in range(1, 11):
        sheet.append(_row(i).split(";"))
    sheet.cell(row=3, column=16_384, value="note")
    path = tmp_path / "sparse.xlsx"
    book.save(path)
    result = clean_export(path, key=KEY)
    ignored = result.summary["ignored_columns"]
    assert len(result.data) == 10 and len(ignored) == 1 and ignored[0].startswith("colonne_")


def test_binary_and_nested_parquet_give_a_result_or_a_toolkit_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 100)
    with pytest.raises(E2CError):
        clean_export(binary, key=KEY)
    columns = {h: pa.array(v) for h, v in zip(HEADER, zip(*[_row(i).split(";") for i in range(5)]))}
    columns["site"] = pa.array([{"nom": "Antenne", "tel": "06 12 34 56 78"}] * 5)
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table(columns), path)
    result = clean_export(path, key=KEY)
    assert len(result.data) == 5 and "06 12 34 56 78" not in _all_output(result)


# --------------------------------------------------------------------------
# 6. Properties: hostile text and malformed layouts
# --------------------------------------------------------------------------
_fragment = st.one_of(
    st.sampled_from(IDENTIFIERS + ['"', '""', ";", "\n", "\r", "\r\n", "  ", "Antenne", "é", "\x0b", "$x$"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)


@pytest.mark.timeout(240)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(_fragment, max_size=4).map("".join), min_size=1, max_size=12))
def test_hostile_site_values_and_layouts(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("h") / "export.csv"
    lines = [_row(i, cell) for i, cell in enumerate(cells)]
    path.write_bytes((";".join(HEADER) + "\n" + "\n".join(lines) + "\n").encode("utf-8"))
    try:
        result = clean_export(path, key=KEY)
    except E2CError:
        return  # a clear toolkit error is an acceptable outcome
    check_accounting(path, result)
    output = _all_output(result)
    for identifier in IDENTIFIERS:
        assert identifier not in output


def test_reading_a_dataframe_keeps_row_numbers():
    frame = pd.DataFrame([_row(i).split(";") for i in range(3)], columns=HEADER)
    result = clean_export(frame, key=KEY)
    assert result.data["source_row"].tolist() == [1, 2, 3] and result.layout.first_line.tolist() == [1, 2, 3]


def test_console_text_strips_control_characters():
    from toolkit.errors import console_text

    assert console_text("site\x1b[31m rouge\x07\r\nfin\tok") == "site [31m rouge  \nfin\tok"


def test_validate_canonical_names_column_and_rows(tmp_path):
    from toolkit.errors import SchemaError
    from toolkit.validation import validate_canonical

    frame = pd.DataFrame([_row(i).split(";") for i in range(3)], columns=HEADER)
    data = clean_export(frame, key=KEY).data
    assert validate_canonical(data) is data
    broken = data.copy()
    broken.loc[1, "age_at_entry"] = 99
    with pytest.raises(SchemaError, match=r"colonne « age_at_entry », lignes 2 : âge hors de 15 à 40 ans"):
        validate_canonical(broken)


def test_identifier_in_a_header_is_never_quoted(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(";".join([*HEADER, "rappeler 06 12 34 56 78"]) + "\n" + _row(1) + ";oui\n")
    result = clean_export(path, key=KEY)
    assert "06 12 34 56 78" not in _all_output(result) + str(result.raw_info)
    assert result.summary["ignored_columns"] == ["rappeler [masqué]"]
