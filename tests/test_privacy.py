"""Privacy on the way in: identifier columns dropped, birth dates reduced, keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import numpy as np
import pandas as pd
import pytest

from toolkit import config, privacy
from toolkit.cleaning import clean_export
from toolkit.errors import E2CError

KEY = "test-key-0123456789"


def nir_with_key(body: str) -> str:
    """A NIR body (13 characters) with its control key, computed by hand (97 - n mod 97)."""
    number = int(body.upper().replace("2A", "19").replace("2B", "18"))
    return f"{body}{97 - number % 97:02d}"


def base_rows(n: int = 4) -> dict[str, list[str]]:
    return {
        "id_stagiaire": [f"ID{i:03d}" for i in range(n)],
        "region": ["Bretagne"] * n,
        "ecole": ["E2C Rennes"] * n,
        "sexe": ["F", "M"] * (n // 2),
        "annee_naissance": ["2004"] * n,
        "date_entree": ["05/01/2023"] * n,
    }


# --------------------------------------------------------------------------
# Detection by header
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header, kind",
    [
        ("Nom", "nom"),
        ("NOM", "nom"),
        ("Prénom", "nom"),
        ("prenom", "nom"),
        ("Prénoms", "nom"),
        ("Nom de naissance", "nom"),
        ("Nom d'usage", "nom"),
        ("nom_usage", "nom"),
        ("Patronyme", "nom"),
        ("Nom du stagiaire", "nom"),
        ("Last name", "nom"),
        ("first_name", "nom"),
        ("E-mail", "email"),
        ("Email", "email"),
        ("Adresse mail", "email"),
        ("Courriel", "email"),
        ("Mél", "email"),
        ("Téléphone", "telephone"),
        ("Tel", "telephone"),
        ("Tél. portable", "telephone"),
        ("Portable", "telephone"),
        ("Mobile", "telephone"),
        ("Phone", "telephone"),
        ("Adresse", "adresse"),
        ("Adresse postale", "adresse"),
        ("Rue", "adresse"),
        ("Code postal", "code_postal"),
        ("CP", "code_postal"),
        ("code_postal_domicile", "code_postal"),
        ("NIR", "nir"),
        ("N° sécurité sociale", "nir"),
        ("num_secu", "nir"),
        ("Numéro INSEE", "nir"),
        ("Date de naissance", "date_naissance"),
        ("date_naissance", "date_naissance"),
        ("DDN", "date_naissance"),
        ("Né(e) le", "date_naissance"),
    ],
)
def test_identifier_headers_are_recognised(header, kind):
    assert privacy.identifier_kind_of_header(header) == kind


@pytest.mark.parametrize("header", ["commentaire", "nombre_absences", "statut", "promo", "referent_parcours"])
def test_ordinary_headers_are_not_identifiers(header):
    assert privacy.identifier_kind_of_header(header) is None


# --------------------------------------------------------------------------
# Detection by values
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values, kind",
    [
        (["jeanne.martin@example.org", "x"], "email"),
        (["contact : a.b@example.fr"], "email"),
        (["06 39 98 12 34"], "telephone"),
        (["0639981234"], "telephone"),
        (["+33 6 39 98 12 34"], "telephone"),
        (["06.39.98.12.34"], "telephone"),
        ([nir_with_key("1850575123456")], "nir"),
        (["1 85 05 75 123 456 " + nir_with_key("1850575123456")[-2:]], "nir"),
        ([nir_with_key("2990599123456")], "nir"),
        ([nir_with_key("28506" + "2A" + "123456")], "nir"),
    ],
)
def test_identifier_values_are_recognised(values, kind):
    assert privacy.identifier_kind_of_values(values) == kind


@pytest.mark.parametrize("values", [["oui", "non"], ["12", "3,5"], ["E2C Rennes"], ["2023-01-05"], [], ["06"]])
def test_ordinary_values_are_not_identifiers(values):
    assert privacy.identifier_kind_of_values(values) is None


# --------------------------------------------------------------------------
# Dropping them in clean_export
# --------------------------------------------------------------------------
def _all_text(result) -> str:
    """Every cell and header of every output, as one string."""
    parts = []
    for frame in (
        result.data,
        result.rejected,
        result.warnings,
        result.summary_table("fr"),
        result.summary_table("en"),
    ):
        parts.append(" ".join(map(str, frame.columns)))
        parts.append(frame.astype("string").fillna("").to_csv(index=False))
    parts.append(str(result.summary))
    return "\n".join(parts)


def test_identifier_columns_never_reach_the_outputs():
    rows = base_rows(4)
    nirs = [nir_with_key(f"1{80 + i}0575123456") for i in range(4)]
    rows.update(
        {
            "Nom": ["Dupontel", "Martinaud", "Berthelot", "Castagnier"],
            "Prénom": ["Zoéline", "Maëlys", "Anatole", "Ysaline"],
            "Email": [f"personne{i}@example.org" for i in range(4)],
            "Téléphone": ["06 39 98 00 01", "06 39 98 00 02", "", "06 39 98 00 04"],
            "numero": nirs,  # a NIR found by the pattern of its values only
            "contact": ["", "ecrire.a@example.net", "", ""],  # an e-mail in an unexpected column
            "commentaire": ["RAS", "", "", ""],
        }
    )
    rows["date_entree"][3] = ""  # one row rejected: identifiers must not reach .rejected either
    result = clean_export(pd.DataFrame(rows), key=KEY)
    assert len(result.data) == 3 and len(result.rejected) == 1
    dropped = result.summary["dropped_identifier_columns"]
    assert dropped == {
        "Nom": "nom",
        "Prénom": "nom",
        "Email": "email",
        "Téléphone": "telephone",
        "numero": "nir",
        "contact": "email",
    }
    assert result.summary["ignored_columns"] == ["commentaire"]
    text = _all_text(result)
    for values in (rows["Nom"], rows["Prénom"], rows["Email"], nirs, ["ecrire.a@example.net", "06 39 98 00 01"]):
        for value in values:
            assert value not in text
    assert "RAS" not in text  # out-of-contract columns are not copied either
    # The warnings name the columns.
    column_warnings = result.warnings[result.warnings["kind"] == "identifier_column_dropped"]
    assert set(column_warnings["column"]) == set(dropped)
    assert column_warnings["source_row"].isna().all()
    assert column_warnings["message"].str.contains("« Nom »", regex=False).any()


def test_exact_birth_date_is_reduced_to_the_year():
    rows = base_rows(4)
    del rows["annee_naissance"]
    rows["Date de naissance"] = ["14/03/2004", "2003-07-21", "29/02/2004", "31/02/2004"]
    rows["date_entree"][1] = "31/13/2023"  # rejected row
    result = clean_export(pd.DataFrame(rows), key=KEY)
    assert result.summary["dropped_identifier_columns"] == {"Date de naissance": "date_naissance"}
    data = result.data.set_index("source_row")
    assert data.loc[1, "birth_year"] == 2004 and data.loc[3, "birth_year"] == 2004
    assert pd.isna(data.loc[4, "birth_year"])  # 31/02 is no date: unknown, with a warning
    assert result.rejected["annee_naissance"].tolist() == ["2003"]
    text = _all_text(result)
    for value in rows["Date de naissance"]:
        assert value not in text
    assert (result.warnings["kind"] == "birth_date_reduced").sum() == 2  # kept rows 1 and 3


def test_full_dates_in_the_birth_year_column_are_reduced_or_masked():
    rows = base_rows(4)
    rows["annee_naissance"] = ["2004", "12/05/2003", "31/02/2004", "2001-06-30"]
    rows["region"][2] = "Atlantide"  # rejected: its masked birth value must stay masked
    result = clean_export(pd.DataFrame(rows), key=KEY)
    assert result.data.set_index("source_row")["birth_year"].to_dict() == {1: 2004, 2: 2003, 4: 2001}
    assert result.rejected["annee_naissance"].tolist() == ["[date masquée]"]
    text = _all_text(result)
    for value in ("12/05/2003", "31/02/2004", "2001-06-30"):
        assert value not in text


# --------------------------------------------------------------------------
# Pseudonyms
# --------------------------------------------------------------------------
def test_pseudonym_is_hmac_sha256_of_the_stripped_id():
    got = privacy.pseudonymise(pd.Series(["A-001", " A-001 ", None, "", "é-42"]), key=KEY)
    expected = hmac.new(KEY.encode(), b"A-001", hashlib.sha256).hexdigest()[: privacy.PSEUDONYM_LENGTH]
    assert got[0] == expected and got[1] == expected
    assert got[2] is pd.NA and got[3] is pd.NA
    assert got[4] == hmac.new(KEY.encode(), "é-42".encode(), hashlib.sha256).hexdigest()[:20]
    assert str(got.dtype) == "string" and len(expected) == 20


def test_long_keys_follow_the_hmac_rule():
    key = "k" * 100  # longer than the SHA-256 block: hashed first, as HMAC requires
    got = privacy.pseudonymise(["x"], key=key)[0]
    assert got == hmac.new(key.encode(), b"x", hashlib.sha256).hexdigest()[:20]


def test_same_key_same_pseudonym_other_key_other_pseudonym():
    ids = pd.Series([f"ID{i}" for i in range(200)])
    first, again = privacy.pseudonymise(ids, key=KEY), privacy.pseudonymise(ids, key=KEY)
    other = privacy.pseudonymise(ids, key="another-key-987654")
    assert first.equals(again)
    assert first.nunique() == 200
    assert (first != other).all()


def test_clean_export_pseudonymises_ids_in_data_and_rejected():
    rows = base_rows(4)
    rows["region"][0] = "Nulle part"
    result = clean_export(pd.DataFrame(rows), key=KEY)
    expected = privacy.pseudonymise(pd.Series(rows["id_stagiaire"]), key=KEY)
    assert result.data["trainee_id"].tolist() == expected[1:].tolist()
    assert result.rejected["id_stagiaire"].tolist() == [expected[0]]
    text = _all_text(result)
    assert not any(raw_id in text for raw_id in rows["id_stagiaire"])


def test_key_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(config.KEY_ENV_VAR, "environment-key-42")
    monkeypatch.setattr(config, "KEY_FILE", tmp_path / "never.key")
    assert privacy.load_key() == b"environment-key-42"
    assert privacy.load_key("argument-key") == b"argument-key"  # the argument wins
    assert not (tmp_path / "never.key").exists()
    result = clean_export(pd.DataFrame(base_rows(2)))
    assert result.data["trainee_id"][0] == hmac.new(b"environment-key-42", b"ID000", hashlib.sha256).hexdigest()[:20]


def test_key_file_created_on_first_use_with_private_permissions(monkeypatch, tmp_path):
    monkeypatch.delenv(config.KEY_ENV_VAR, raising=False)
    key_file = tmp_path / "private" / "pseudonym.key"
    monkeypatch.setattr(config, "KEY_FILE", key_file)
    first = privacy.load_key()
    assert key_file.is_file()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first) == 64 and int(first, 16) >= 0  # 32 random bytes in hex
    assert privacy.load_key() == first  # reused, not recreated
    other_file = tmp_path / "other.key"
    assert privacy.load_key(key_file=other_file) != first  # a new random key elsewhere


def test_empty_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(config.KEY_ENV_VAR, raising=False)
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    with pytest.raises(E2CError, match="vide"):
        privacy.load_key(key_file=empty)


def test_distinct_ids_are_hashed_once(monkeypatch):
    calls = []
    original = privacy.pseudonymise_unique

    def counting(ids, key, length=privacy.PSEUDONYM_LENGTH):
        calls.append(len(ids))
        return original(ids, key, length)

    monkeypatch.setattr(privacy, "pseudonymise_unique", counting)
    ids = pd.Series(np.repeat(["a", "b", "c"], 1000))
    out = privacy.pseudonymise(ids, key=KEY)
    assert calls == [3] and out.nunique() == 3


def test_identifier_columns_named_by_their_header_are_not_even_read(tmp_path):
    from toolkit.io import read_export

    rows = base_rows(2)
    rows.update(
        {
            "Nom": ["Dupontel", "Martinaud"],
            "Courriel": ["a@example.org", "b@example.org"],
            "Date de naissance": ["14/03/2004", "21/07/2003"],
            "Remarque": ["", "x"],
        }
    )
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, sep=";", index=False, encoding="cp1252")
    for source in (path, pd.DataFrame(rows)):
        raw = read_export(source)
        assert raw.identifiers_not_read == {"Nom": "nom", "Courriel": "email"}
        assert "Nom" not in raw.columns and "Courriel" not in raw.columns
        assert "Date de naissance" in raw.columns  # read, to be reduced to the year
    # A header the school maps onto the contract is a contract column, whatever its name.
    raw = read_export(path, mapping={"colonnes": {"Nom": "site"}})
    assert "site" in raw.columns and raw.identifiers_not_read == {"Courriel": "email"}


def test_split_identifiers_on_a_dataframe():
    frame = pd.DataFrame(
        {
            "id_stagiaire": ["a"],
            "Prénom": ["Zoéline"],
            "ddn": ["01/02/2003"],
            "Note": ["ok"],
            "contact": ["06 39 98 00 01"],
        }
    )
    scan = privacy.split_identifiers(frame, {"id_stagiaire"})
    assert scan.dropped == [("Prénom", "nom"), ("ddn", "date_naissance"), ("contact", "telephone")]
    assert list(scan.frame.columns) == ["id_stagiaire", "Note"] and scan.ignored == ["Note"]
    assert scan.birth_date.tolist() == ["01/02/2003"]


def test_identifier_like_values_in_school_or_site_are_masked_not_published():
    """Free text reaches the reports: an e-mail, phone or NIR typed as a school or site name is masked."""
    import pandas as pd

    from toolkit.cleaning import clean_export
    from toolkit.privacy import identifier_like

    assert identifier_like(
        ["E2C Lyon", "jean.dupont@mail.fr", "06 12 34 56 78", "1 85 05 78 006 084 36", None]
    ).tolist() == [False, True, True, True, False]
    raw = pd.DataFrame(
        {
            "id_stagiaire": ["a1", "a2", "a3"],
            "region": ["Bretagne"] * 3,
            "ecole": ["E2C Rennes", "jean.dupont@mail.fr", "E2C Rennes"],
            "site": ["Rennes", "Rennes", "06 12 34 56 78"],
            "sexe": ["F", "M", "F"],
            "annee_naissance": ["2004"] * 3,
            "date_entree": ["01/02/2023"] * 3,
        }
    )
    result = clean_export(raw, key="k")
    data = result.data
    assert len(data) == 3  # nothing dropped
    assert data["school"].isna().tolist() == [False, True, False]
    assert data["site"].astype(str).tolist()[2] == "E2C Rennes"  # masked site falls back to the school
    text = data.astype(str).to_csv() + result.warnings.astype(str).to_csv()
    assert "dupont" not in text and "06 12 34" not in text
    assert result.summary["warnings_by_kind"]["identifier_value_masked"] == 2


def test_unusable_key_location_is_a_toolkit_error_naming_the_path(tmp_path, monkeypatch):
    from toolkit.errors import E2CError

    monkeypatch.delenv(privacy.config.KEY_ENV_VAR, raising=False)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(E2CError, match=r"inutilisable : .*not_a_folder/key .*E2C|inutilisable : .*not_a_folder/key"):
        privacy.load_key(key_file=blocker / "key")
