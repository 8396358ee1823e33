"""Reading raw exports: formats, encodings, separators, headers, mapping file and clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import config
from toolkit.cleaning import clean_export
from toolkit.errors import InputError, SchemaError
from toolkit.io import load_mapping, read_export
from toolkit.schema import RAW_COLUMNS, REQUIRED_RAW_COLUMNS

KEY = "test-key-io"
HEADER = ["id_stagiaire", "region", "ecole", "sexe", "annee_naissance", "date_entree", "motif_sortie"]
ROWS = [
    ["A1", "Auvergne-Rhône-Alpes", "E2C Clermont", "F", "2004", "05/01/2023", "Création d'entreprise"],
    ["0012", "Provence-Alpes-Côte d'Azur", "E2C Marseille", "M", "2003", "2023-02-01", ""],
    ["NA", "Île-de-France", "E2C Évry", "Homme", "2002", "44927", "Intérim"],
]


def write_csv(path: Path, sep: str = ";", encoding: str = "utf-8", header=HEADER, rows=ROWS) -> Path:
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def as_lists(raw) -> list[list]:
    frame = raw.frame.astype("string")
    return [[None if pd.isna(v) else v for v in row] for row in frame[HEADER].itertuples(index=False)]


def expected_lists() -> list[list]:
    return [[v if v != "" else None for v in r] for r in ROWS]


# --------------------------------------------------------------------------
# CSV: separators and encodings
# --------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize(
    "encoding, reported", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("latin-1", "cp1252")]
)
def test_csv_separators_and_encodings(tmp_path, sep, encoding, reported):
    rows = [[v.replace(",", " ") for v in r] for r in ROWS]  # no separator inside unquoted values
    path = write_csv(tmp_path / "export.csv", sep=sep, encoding=encoding, rows=rows)
    raw = read_export(path)
    assert raw.separator == sep
    assert raw.encoding == reported
    assert raw.n_rows == 3 and raw.file_format == "csv"
    assert as_lists(raw) == [[v if v != "" else None for v in r] for r in rows]


def test_excel_separator_hint_line(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"sep=,\r\n"
        + write_csv(tmp_path / "plain.csv", sep=",", rows=[[v.replace(",", " ") for v in r] for r in ROWS]).read_bytes()
    )
    raw = read_export(path)
    assert raw.separator == "," and raw.n_rows == 3 and raw.headers == HEADER


def test_utf16_with_bom(tmp_path):
    path = write_csv(tmp_path / "export.csv", encoding="utf-16")
    raw = read_export(path)
    assert raw.encoding == "utf-16" and as_lists(raw) == expected_lists()


def test_cp1252_specific_characters(tmp_path):
    rows = [r[:] for r in ROWS]
    rows[0][2] = "E2C Cœur de France – site « Nord »"  # œ, en dash and guillemets exist in cp1252, not Latin-1
    path = write_csv(tmp_path / "export.csv", encoding="cp1252", rows=rows)
    assert read_export(path).frame["ecole"].iloc[0] == "E2C Cœur de France – site « Nord »"


def test_everything_is_read_as_text(tmp_path):
    raw = read_export(write_csv(tmp_path / "export.csv"))
    values = raw.frame.astype("string")
    assert values["id_stagiaire"].tolist() == ["A1", "0012", "NA"]  # no number, no NA coercion
    assert values["date_entree"].tolist() == ["05/01/2023", "2023-02-01", "44927"]
    assert values["motif_sortie"].isna().tolist() == [False, True, False]


def test_quoted_fields_and_newlines_inside_quotes(tmp_path):
    text = (
        "id_stagiaire;region;ecole;sexe;annee_naissance;date_entree\n"
        'A1;Bretagne;"E2C ""Rennes""; site 1";F;2004;05/01/2023\n'
        'A2;Bretagne;"E2C\nBrest";M;2003;05/01/2023\n'
    )
    path = tmp_path / "quoted.csv"
    path.write_text(text, encoding="utf-8")
    raw = read_export(path)
    assert raw.frame["ecole"].astype("string").tolist() == ['E2C "Rennes"; site 1', "E2C\nBrest"]


def test_short_rows_are_padded_with_missing_values(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text(
        "id_stagiaire;region;ecole;sexe;annee_naissance;date_entree;site\nA1;Bretagne;E2C Rennes;F;2004;05/01/2023\n",
        encoding="utf-8",
    )
    raw = read_export(path)
    assert raw.n_rows == 1 and pd.isna(raw.frame["site"].iloc[0])
    assert raw.short_rows.tolist() == [0]


def test_short_rows_are_reported_not_silently_padded(tmp_path):
    header = "id_stagiaire;region;ecole;sexe;annee_naissance;date_entree;date_sortie;motif_sortie"
    path = tmp_path / "coupe.csv"
    path.write_text(
        header + "\n"
        "A1;Bretagne;E2C Rennes;F;2004;05/01/2023;;\n"
        "\n"  # a blank line: a row of its own, rejected as empty (every line is accounted for)
        "A2;Bretagne;E2C Rennes;F;2004;05/01/2023;30/06/2023\n"  # motif_sortie field missing
        "A3;Bretagne;E2C Rennes;M;2003;05/01/2023;30/06/2023;CDI\n",
        encoding="utf-8",
    )
    raw = read_export(path)
    assert raw.short_rows.tolist() == [2] and raw.layout.first_line.tolist() == [2, 3, 4, 5]
    result = clean_export(path, key="test-key")
    short = result.warnings[result.warnings["kind"] == "short_row"]
    assert short["source_row"].tolist() == [3] and short["source_line"].tolist() == [4]
    assert result.summary["warnings_by_kind"]["short_row"] == 1
    assert result.rejected[["source_row", "source_line", "reason_code"]].values.tolist() == [[2, 3, "empty_row"]]
    assert (
        read_export(
            write_csv(
                tmp_path / "ok.csv",
                header=header.split(";"),
                rows=[["A1", "Bretagne", "E2C", "F", "2004", "05/01/2023", "", ""]],
            )
        ).short_rows.size
        == 0
    )


def test_short_first_row_is_read_and_reported(tmp_path):
    path = tmp_path / "premiere.csv"
    path.write_text(
        "id_stagiaire;region;ecole;sexe;annee_naissance;date_entree\n"
        "A1;Bretagne;E2C;F\n"
        "A2;Bretagne;E2C;F;2004;05/01/2023\n",
        encoding="utf-8",
    )
    raw = read_export(path)
    assert raw.short_rows.tolist() == [0] and raw.frame["id_stagiaire"].astype(str).tolist() == ["A1", "A2"]
    assert pd.isna(raw.frame["date_entree"].iloc[0])


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header, contract",
    [
        ("ID_STAGIAIRE", "id_stagiaire"),
        ("Id Stagiaire", "id_stagiaire"),
        ("id-stagiaire", "id_stagiaire"),
        ("Région", "region"),
        ("REGION", "region"),
        ("École", "ecole"),
        (" Sexe ", "sexe"),
        ("Année de naissance", "annee_naissance"),
        ("Date d'entrée", "date_entree"),
        ("DATE_ENTREE", "date_entree"),
        ("date-de-sortie", "date_sortie"),
        ("Motif de sortie", "motif_sortie"),
        ("Nb stages", "nb_stages"),
        ("Cofinancement FSE", "cofinancement_fse"),
        ("Zone rurale", "zone_rurale"),
        ("R.Q.T.H.", "rqth"),
    ],
)
def test_headers_match_regardless_of_case_accents_and_punctuation(tmp_path, header, contract):
    base = {
        "id_stagiaire": "A1",
        "region": "Bretagne",
        "ecole": "E2C",
        "sexe": "F",
        "annee_naissance": "2004",
        "date_entree": "05/01/2023",
    }
    frame = pd.DataFrame({(header if name == contract else name): [value] for name, value in base.items()})
    if contract not in base:
        frame[header] = ["1"]
    raw = read_export(frame)
    assert contract in raw.columns
    assert raw.column_map[header.strip()] == contract


def test_unknown_columns_are_kept_as_extra(tmp_path):
    frame = pd.DataFrame({**{c: ["x"] for c in REQUIRED_RAW_COLUMNS}, "Remarque": ["r"]})
    raw = read_export(frame)
    assert raw.extra_columns == ["Remarque"] and "Remarque" in raw.columns


def test_every_contract_column_round_trips_by_name():
    frame = pd.DataFrame({c.name: ["1"] for c in RAW_COLUMNS})
    raw = read_export(frame)
    assert list(raw.columns) == [c.name for c in RAW_COLUMNS] and raw.extra_columns == []


# --------------------------------------------------------------------------
# Errors: one clear French message naming the file
# --------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="introuvable.*absent.csv"):
        read_export(tmp_path / "absent.csv")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(InputError, match="n'est pas un fichier"):
        read_export(tmp_path)


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n  "])
def test_empty_file(tmp_path, content):
    path = tmp_path / "vide.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"vide\.csv : le fichier est vide"):
        read_export(path)


def test_header_only_file(tmp_path):
    path = write_csv(tmp_path / "entete.csv", rows=[])
    with pytest.raises(InputError, match=r"entete\.csv : aucune ligne de données"):
        read_export(path)


def test_unknown_encoding(tmp_path):
    path = tmp_path / "bizarre.csv"
    # 0x81 and 0x8d are undefined in Windows-1252 and invalid alone in UTF-8.
    path.write_bytes(";".join(HEADER).encode() + b"\nA1;Bretagne;E2C \x81\x8d;F;2004;05/01/2023;CDI\n")
    with pytest.raises(InputError, match=r"bizarre\.csv : encodage inconnu"):
        read_export(path)


def test_binary_file(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputError, match=r"image\.csv : encodage inconnu ou fichier binaire"):
        read_export(path)


def test_row_with_too_many_fields_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "decale.csv"
    path.write_text(
        "id_stagiaire;region;ecole;sexe;annee_naissance;date_entree\n"
        "A1;Bretagne;E2C;F;2004;05/01/2023;en trop;encore\n"
        "A2;Bretagne;E2C;F;2004;05/01/2023\n",
        encoding="utf-8",
    )
    result = clean_export(path, key=KEY)
    assert result.data["source_row"].tolist() == [2]
    rejected = result.rejected.iloc[0]
    assert (rejected["source_row"], rejected["source_line"], rejected["reason_code"]) == (1, 2, "malformed_row")
    assert "8 champs au lieu de 6" in rejected["reason"]
    assert pd.isna(rejected["id_stagiaire"])  # a row whose fields cannot be placed is not read at all


def test_missing_required_columns_are_named_with_the_headers_found(tmp_path):
    path = write_csv(
        tmp_path / "incomplet.csv",
        header=["id_stagiaire", "Region", "Nom école", "Âge"],
        rows=[["A1", "Bretagne", "E2C", "19"]],
    )
    with pytest.raises(SchemaError) as info:
        read_export(path)
    message = str(info.value)
    assert message.startswith("incomplet.csv : colonne(s) obligatoire(s) manquante(s) : ")
    assert "sexe, annee_naissance, date_entree" in message
    assert "Colonnes trouvées : « id_stagiaire », « Region », « Nom école », « Âge »" in message


def test_two_headers_for_one_column(tmp_path):
    frame = pd.DataFrame({**{c: ["x"] for c in REQUIRED_RAW_COLUMNS}, "Date d'entrée": ["y"]})
    with pytest.raises(SchemaError, match="deux colonnes correspondent à « date_entree »"):
        read_export(frame)


def test_unsupported_xls(tmp_path):
    path = tmp_path / "ancien.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    with pytest.raises(InputError, match=r"ancien\.xls.*\.xlsx"):
        read_export(path)


# --------------------------------------------------------------------------
# XLSX and Parquet
# --------------------------------------------------------------------------
def xlsx_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ID stagiaire": ["A1", "A2", "A3"],
            "Région": ["Bretagne", "Occitanie", "Corse"],
            "École": ["E2C Rennes", "E2C Toulouse", "E2C Ajaccio"],
            "Sexe": ["F", "M", "F"],
            "Année de naissance": [2004, 2003, 2002],  # numbers in Excel
            "Date d'entrée": [dt.datetime(2023, 1, 5), "05/02/2023", "44927"],  # real date, text, serial as text
            "Semaines entreprise": [12.5, 3, None],
        }
    )


def test_xlsx_round_trip(tmp_path):
    path = tmp_path / "export.xlsx"
    xlsx_frame().to_excel(path, index=False)
    raw = read_export(path)
    assert raw.file_format == "xlsx" and raw.n_rows == 3
    values = raw.frame.astype("string")
    assert values["date_entree"].tolist() == ["2023-01-05", "05/02/2023", "44927"]
    assert values["annee_naissance"].tolist() == ["2004", "2003", "2002"]
    assert values["semaines_entreprise"].tolist()[:2] == ["12.5", "3"] and pd.isna(values["semaines_entreprise"][2])
    result = clean_export(path, key=KEY)
    assert result.data["entry_date"].tolist() == [
        pd.Timestamp("2023-01-05"),
        pd.Timestamp("2023-02-05"),
        pd.Timestamp("2023-01-01"),
    ]
    assert result.sha256 and len(result.sha256) == 64


def test_xlsx_trailing_empty_rows_are_not_data(tmp_path):
    path = tmp_path / "export.xlsx"
    frame = pd.concat([xlsx_frame(), pd.DataFrame({c: [""] * 2 for c in xlsx_frame().columns})])
    frame.to_excel(path, index=False)
    assert read_export(path).n_rows == 3


@pytest.mark.parametrize("frame", [pd.DataFrame(), pd.DataFrame(columns=["id_stagiaire", "region"])])
def test_xlsx_without_data(tmp_path, frame):
    path = tmp_path / "vide.xlsx"
    frame.to_excel(path, index=False)
    with pytest.raises(InputError, match=r"vide\.xlsx : le classeur XLSX ne contient aucune donnée"):
        read_export(path)


def test_corrupt_xlsx(tmp_path):
    path = tmp_path / "casse.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"casse\.xlsx : classeur XLSX illisible"):
        read_export(path)


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "export.parquet"
    frame = xlsx_frame()
    frame["Date d'entrée"] = pd.to_datetime(["2023-01-05", "2023-02-05", "2023-01-01"])
    frame.to_parquet(path)
    raw = read_export(path)
    assert raw.file_format == "parquet"
    assert raw.frame["date_entree"].astype("string").tolist() == ["2023-01-05", "2023-02-05", "2023-01-01"]
    assert raw.frame["annee_naissance"].astype("string").tolist() == ["2004", "2003", "2002"]
    result = clean_export(path, key=KEY)
    assert result.data["birth_year"].tolist() == [2004, 2003, 2002]


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "casse.parquet"
    path.write_bytes(b"PAR1 broken")
    with pytest.raises(InputError, match=r"casse\.parquet : fichier Parquet illisible"):
        read_export(path)


def test_format_sniffed_without_suffix(tmp_path):
    path = tmp_path / "export_sans_extension"
    xlsx_frame().to_excel(path.with_suffix(".xlsx"), index=False)
    path.with_suffix(".xlsx").rename(path)
    assert read_export(path).file_format == "xlsx"


def test_sha256_of_the_file(tmp_path):
    import hashlib

    path = write_csv(tmp_path / "export.csv")
    assert read_export(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_dataframe_with_typed_columns():
    frame = pd.DataFrame(
        {
            "id_stagiaire": [1, 2],
            "region": ["Bretagne", None],
            "ecole": ["E", "E"],
            "sexe": ["F", "M"],
            "annee_naissance": [2004.0, np.nan],
            "date_entree": pd.to_datetime(["2023-01-05", None]),
            "qpv": [True, False],
        }
    )
    raw = read_export(frame)
    values = raw.frame.astype("string")
    assert values["id_stagiaire"].tolist() == ["1", "2"]
    assert values["annee_naissance"][0] == "2004" and pd.isna(values["annee_naissance"][1])
    assert values["date_entree"][0] == "2023-01-05" and pd.isna(values["date_entree"][1])
    assert values["qpv"].tolist() == ["vrai", "faux"]


# --------------------------------------------------------------------------
# Mapping file
# --------------------------------------------------------------------------
MAPPING_YAML = """
colonnes:
  N° dossier: id_stagiaire
  Région administrative: region
  Établissement: ecole
  Civilité: sexe
  Né en: annee_naissance
  Date d'arrivée: date_entree
  Date de départ: date_sortie
  Situation à la sortie: motif_sortie
  Habite en QPV: qpv
valeurs:
  sexe:
    Mme: F
    M.: M
  motif_sortie:
    Emploi CDI temps plein: CDI
    PEC 20h: contrat_aide
  qpv:
    Quartier prioritaire: oui
    Hors quartier: non
  ecole:
    E2C Exemple - siège: E2C Exemple
"""


def mapped_export(tmp_path: Path) -> Path:
    header = [
        "N° dossier",
        "Région administrative",
        "Établissement",
        "Civilité",
        "Né en",
        "Date d'arrivée",
        "Date de départ",
        "Situation à la sortie",
        "Habite en QPV",
    ]
    rows = [
        [
            "D1",
            "Grand Est",
            "E2C Exemple - siège",
            "Mme",
            "2004",
            "05/01/2023",
            "05/07/2023",
            "Emploi CDI temps plein",
            "Quartier prioritaire",
        ],
        ["D2", "Lorraine", "E2C Exemple", "M.", "2003", "05/01/2023", "05/07/2023", "PEC 20h", "Hors quartier"],
    ]
    return write_csv(tmp_path / "ecole.csv", encoding="cp1252", header=header, rows=rows)


def test_mapping_file_maps_headers_and_labels(tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    result = clean_export(mapped_export(tmp_path), mapping=mapping, key=KEY)
    data = result.data
    assert len(data) == 2 and len(result.rejected) == 0
    assert data["sex"].tolist() == ["F", "M"]
    assert data["exit_reason"].tolist() == ["cdi", "contrat_aide"]
    assert data["qpv"].tolist() == [True, False]
    assert data["school"].tolist() == ["E2C Exemple", "E2C Exemple"]
    assert data["region"].tolist() == ["Grand Est", "Grand Est"]


def test_mapping_as_dict_equals_mapping_file(tmp_path):
    import yaml

    mapping = yaml.safe_load(MAPPING_YAML)
    from_dict = clean_export(mapped_export(tmp_path), mapping=mapping, key=KEY)
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING_YAML, encoding="utf-8")
    from_file = clean_export(mapped_export(tmp_path), mapping=path, key=KEY)
    pd.testing.assert_frame_equal(from_dict.data, from_file.data)


def test_shipped_mapping_example_is_valid():
    example = config.RAW_DATA_DIR / "mapping_example.yml"
    mapping = load_mapping(example)
    assert mapping.columns  # every header maps to a contract column (checked while loading)
    assert mapping.values["motif_sortie"]
    frame = pd.DataFrame(
        {
            "N° dossier": ["X1"],
            "Région administrative": ["Picardie"],
            "Établissement": ["E2C Exemple - siège"],
            "Civilité": ["Mme"],
            "Année de naissance du jeune": ["2004"],
            "Date d'arrivée": ["05/01/2023"],
            "Date de départ": ["05/07/2023"],
            "Situation à la sortie": ["PEC 20h"],
            "Niveau scolaire atteint": ["Sortie de 3e"],
        }
    )
    result = clean_export(frame, mapping=example, key=KEY)
    row = result.data.iloc[0]
    assert (row["region"], row["sex"], row["exit_reason"], row["education_level"], row["school"]) == (
        "Hauts-de-France",
        "F",
        "contrat_aide",
        "infra_3",
        "E2C Exemple",
    )


@pytest.mark.parametrize(
    "content, error, pattern",
    [
        ("colonnes: [a, b]", InputError, "colonnes"),
        ("columns:\n  Truc: pas_une_colonne", SchemaError, "colonne du contrat inconnue « pas_une_colonne »"),
        ("colonne:\n  A: region", InputError, "clé inconnue « colonne »"),
        ("valeurs:\n  motif_sortie:\n    Job: Astronaute", SchemaError, "« Astronaute »"),
        ("colonnes: {a: [unclosed", InputError, "YAML illisible"),
    ],
)
def test_invalid_mapping_is_reported(tmp_path, content, error, pattern):
    path = tmp_path / "mauvais.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=pattern) as info:
        clean_export(mapped_export(tmp_path), mapping=path, key=KEY)
    assert "mauvais.yml" in str(info.value)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(InputError, match="correspondance introuvable"):
        load_mapping(tmp_path / "absent.yml")


def test_mapping_can_force_separator_and_encoding(tmp_path):
    path = write_csv(
        tmp_path / "export.csv", sep=",", encoding="latin-1", rows=[[v.replace(",", " ") for v in r] for r in ROWS]
    )
    raw = read_export(path, mapping={"separateur": ",", "encodage": "latin-1"})
    assert raw.encoding == "latin-1" and raw.separator == ","
    assert raw.frame["region"].iloc[0] == "Auvergne-Rhône-Alpes"


def test_errors_follow_the_language_chosen_at_the_entry_point(tmp_path):
    from toolkit.i18n import use_language

    path = tmp_path / "vide.csv"
    path.write_text("")
    with use_language("en"), pytest.raises(InputError, match=r"^vide\.csv: the file is empty\.$"):
        read_export(path)
    with pytest.raises(InputError, match=r"^vide\.csv : le fichier est vide\.$"):
        read_export(path)


def test_unreadable_file_names_the_path_and_the_fix(tmp_path):
    import os

    path = tmp_path / "ferme.csv"
    path.write_text("id_stagiaire;region\nA;Bretagne\n")
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root: permissions are not enforced
        pytest.skip("permissions are not enforced for this user")
    with pytest.raises(InputError, match="Vérifiez les droits de lecture"):
        read_export(path)
