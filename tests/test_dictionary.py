"""The data dictionary is generated from the schema and the committed copy is current."""

from __future__ import annotations

from toolkit import schema
from toolkit.config import ROOT
from toolkit.dictionary import data_dictionary_markdown


def test_committed_dictionary_is_up_to_date():
    committed = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == data_dictionary_markdown("fr"), "regenerate: e2c dictionary --out docs/data_dictionary.md"


def test_every_contract_column_and_code_is_documented():
    for lang in ("fr", "en"):
        text = data_dictionary_markdown(lang)
        for column in schema.RAW_COLUMNS:
            assert f"`{column.name}`" in text
        for column in schema.CANONICAL_COLUMNS:
            assert f"`{column.name}`" in text
        for code in schema.EXIT_REASON_CODES + schema.EDUCATION_LEVELS:
            assert f"`{code}`" in text


def test_required_columns_are_those_of_the_issue():
    assert set(schema.REQUIRED_RAW_COLUMNS) == {
        "id_stagiaire",
        "region",
        "ecole",
        "sexe",
        "annee_naissance",
        "date_entree",
    }


def test_aliases_cover_old_region_names_and_insee_codes():
    expected = {
        "Auvergne": "Auvergne-Rhône-Alpes",
        "Rhône-Alpes": "Auvergne-Rhône-Alpes",
        "Languedoc-Roussillon": "Occitanie",
        "Midi-Pyrénées": "Occitanie",
        "Aquitaine": "Nouvelle-Aquitaine",
        "Limousin": "Nouvelle-Aquitaine",
        "Poitou-Charentes": "Nouvelle-Aquitaine",
        "Alsace": "Grand Est",
        "Lorraine": "Grand Est",
        "Champagne-Ardenne": "Grand Est",
        "Nord-Pas-de-Calais": "Hauts-de-France",
        "Picardie": "Hauts-de-France",
        "Haute-Normandie": "Normandie",
        "Basse-Normandie": "Normandie",
        "Bourgogne": "Bourgogne-Franche-Comté",
        "Franche-Comté": "Bourgogne-Franche-Comté",
        "Centre": "Centre-Val de Loire",
        "PACA": "Provence-Alpes-Côte d'Azur",
        "84": "Auvergne-Rhône-Alpes",
        "27": "Bourgogne-Franche-Comté",
        "53": "Bretagne",
        "24": "Centre-Val de Loire",
        "44": "Grand Est",
        "32": "Hauts-de-France",
        "11": "Île-de-France",
        "28": "Normandie",
        "75": "Nouvelle-Aquitaine",
        "76": "Occitanie",
        "52": "Pays de la Loire",
        "93": "Provence-Alpes-Côte d'Azur",
        "01": "Guadeloupe",
        "02": "Martinique",
        "03": "Guyane",
        "04": "La Réunion",
        "06": "Mayotte",
        "ILE DE FRANCE": "Île-de-France",
        "provence alpes cote d azur": "Provence-Alpes-Côte d'Azur",
    }
    for raw, region in expected.items():
        assert schema.REGION_ALIASES[schema.normalise_key(raw)] == region, raw


def test_labels_exist_in_both_languages():
    assert schema.label("exit_category", "work_study", "fr") == "Alternance"
    assert schema.label("exit_category", "work_study", "en") == "Work-study"
    assert schema.label("sex", None, "fr") == "Non renseigné"
