"""Two-table exports: situations after exit, the two timings, and the accounting of every situation row."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.cleaning import clean_export
from toolkit.errors import SchemaError

KEY = "test-key"


def _parcours(rows):
    return pd.DataFrame(
        rows,
        columns=["id_stagiaire", "region", "ecole", "sexe", "annee_naissance", "date_entree", "date_sortie"],
    )


def _situations(rows):
    return pd.DataFrame(rows, columns=["ID", "SITUATION", "DEBUT", "FIN", "CONFIRMATION"])


MAPPING = {
    "situations": {
        "feuille": "Situations",  # not read for a DataFrame: the columns below are what matters
        "colonnes": {
            "ID": "id_stagiaire",
            "SITUATION": "type_situation",
            "DEBUT": "date_debut_situation",
            "FIN": "date_fin_situation",
            "CONFIRMATION": "date_suivi",
        },
    }
}

PARCOURS = _parcours(
    [
        ("A", "Bretagne", "E2C R", "F", "2003", "01/02/2023", "01/01/2024"),  # CDI at once: both positive
        ("B", "Bretagne", "E2C R", "M", "2002", "01/02/2023", "01/01/2024"),  # searching first, then a CDI
        ("C", "Bretagne", "E2C R", "F", "2004", "01/02/2023", "01/01/2024"),  # no situation recorded
        ("D", "Bretagne", "E2C R", "M", "2001", "01/02/2023", "15/06/2025"),  # recent exit: windows not elapsed
        ("E", "Bretagne", "E2C R", "F", "2003", "01/02/2023", "01/01/2024"),  # short CDD only: negative
        ("F", "Bretagne", "E2C R", "M", "2003", "01/02/2023", ""),  # still in the programme
    ]
)
SITUATIONS = _situations(
    [
        ("A", "CDI", "10/01/2024", "", "01/06/2024"),
        ("B", "Recherche d'emploi", "05/01/2024", "30/04/2024", ""),
        ("B", "CDI", "01/05/2024", "", "01/12/2024"),
        ("D", "Recherche d'emploi", "20/06/2025", "", "30/06/2025"),
        ("E", "CDD", "05/01/2024", "20/01/2024", ""),
        ("E", "CDD", "05/01/2024", "20/01/2024", ""),  # duplicate
        ("Z", "CDI", "05/01/2024", "", ""),  # unknown trainee
        ("A", "CDI", "10/03/2024", "01/03/2024", ""),  # dates out of order
        ("A", "Formation qualifiante", "01/06/2025", "", ""),  # starts after the 12-month window
        ("F", "CDI", "01/03/2024", "", ""),  # the parcours has not ended
    ]
)


@pytest.fixture(scope="module")
def result():
    return clean_export(PARCOURS, mapping=MAPPING, key=KEY, situations=SITUATIONS, reference_date="2025-06-30")


def _by_source(result, column):
    data = result.data.sort_values("source_row")
    return [None if pd.isna(v) else bool(v) for v in data[column]]


def test_both_timings_follow_the_windows(result):
    # A: CDI within 28 days, lasted > 2 months (confirmed 01/06). B: searching at exit, CDI after 4 months.
    # C: no situation at all -> unknown. D: 28-day window not elapsed, only searching -> unknown for both.
    # E: a 15-day CDD -> negative for both. F: no exit -> unknown.
    assert _by_source(result, "positive_exit") == [True, False, None, None, False, None]
    assert _by_source(result, "positive_exit_follow_up") == [True, True, None, None, False, None]


def test_every_situation_row_is_accounted_for(result):
    accounting = result.situations.accounting
    assert len(accounting) == len(SITUATIONS)
    reasons = [None if pd.isna(r) else r for r in accounting["reason_code"].astype("object")]
    assert (accounting["status"] == "rejected").tolist() == [r is not None for r in reasons]
    assert reasons == [
        None,
        None,
        None,
        None,
        None,
        "duplicate",
        "unknown_trainee",
        "end_before_start",
        "after_window",
        "before_exit",
    ]
    summary = result.situations.summary
    assert summary["situations_received"] == 10 and summary["situations_used"] == 5
    assert summary["exits"] == 5 and summary["exits_without_situation"] == 1  # C
    assert summary["not_elapsed"] == {"positive_exit": 1, "positive_exit_follow_up": 1}  # D (exit 15/06/2025)
    assert summary["reference_date"] == "2025-06-30"


def test_exit_reason_comes_from_the_situation_at_exit(result):
    data = result.data.sort_values("source_row")
    reasons = [None if pd.isna(r) else r for r in data["exit_reason"].astype("object")]
    assert reasons == ["cdi", "recherche_emploi", "inconnu", "recherche_emploi", "cdd", None]
    assert data["exit_category"].astype("object").tolist()[0] == "job"


def test_reference_date_defaults_to_the_latest_date(result):
    again = clean_export(PARCOURS, mapping=MAPPING, key=KEY, situations=SITUATIONS)
    assert again.situations.summary["reference_date"] == "2025-06-30"  # the latest confirmation date
    assert again.data["positive_exit_follow_up"].equals(result.data["positive_exit_follow_up"])


def test_follow_up_window_is_a_parameter_of_the_definition():
    from dataclasses import replace

    from toolkit.definitions import get_definition

    short = replace(get_definition("projet"), follow_up_months=3)
    result = clean_export(
        PARCOURS, mapping=MAPPING, key=KEY, situations=SITUATIONS, definition=short, reference_date="2025-06-30"
    )
    # B's CDI starts 4 months after exit: outside a 3-month follow-up window.
    assert _by_source(result, "positive_exit_follow_up")[1] is False


def test_missing_situation_column_names_the_fix():
    with pytest.raises(SchemaError, match="e2c map"):
        clean_export(PARCOURS, mapping=MAPPING, key=KEY, situations=SITUATIONS.drop(columns=["DEBUT"]))


def test_one_table_export_has_no_follow_up_rate():
    one = PARCOURS.assign(motif_sortie=["CDI", "CDI", "Abandon", "", "CDD", ""])
    result = clean_export(one, key=KEY)
    assert result.data["positive_exit_follow_up"].isna().all()
    assert result.situations is None


def test_two_sheets_of_one_workbook(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        PARCOURS.to_excel(writer, sheet_name="Parcours", index=False)
        SITUATIONS.to_excel(writer, sheet_name="Situations", index=False)
    mapping = tmp_path / "export.mapping.yml"
    mapping.write_text(
        "feuille: Parcours\nsituations:\n  feuille: Situations\n  colonnes:\n    ID: id_stagiaire\n"
        "    SITUATION: type_situation\n    DEBUT: date_debut_situation\n    FIN: date_fin_situation\n"
        "    CONFIRMATION: date_suivi\n",
        encoding="utf-8",
    )
    result = clean_export(path, mapping=mapping, key=KEY, reference_date="2025-06-30")
    assert _by_source(result, "positive_exit_follow_up") == [True, True, None, None, False, None]
    assert result.situations.summary["situations_received"] == len(SITUATIONS)


def test_followed_up_late_is_no_solution_at_exit():
    late = _situations([("A", "CDI", "01/04/2024", "", "01/12/2024")])  # 3 months after exit
    result = clean_export(PARCOURS, mapping=MAPPING, key=KEY, situations=late, reference_date="2025-06-30")
    data = result.data.sort_values("source_row")
    assert data["exit_reason"].astype("object").iloc[0] == "sans_solution"
    assert _by_source(result, "positive_exit")[0] is False and _by_source(result, "positive_exit_follow_up")[0] is True
    # The others have no situation at all: their outcome stays unknown, and the warning says their reason is missing.
    assert _by_source(result, "positive_exit")[1:5] == [None, None, None, None]
    assert result.summary["warnings_by_kind"]["exit_without_reason"] == 4
