"""The proposed mapping: header matching, label classification, privacy of the profile, the YAML file,
XLSX layouts, and the messages that point to the fix."""

from __future__ import annotations

import pandas as pd
import pytest
from export_styles import STYLES, StyledExport

from toolkit.cleaning import clean_export
from toolkit.errors import SchemaError
from toolkit.i18n import use_language
from toolkit.io import label_table, load_mapping, read_export
from toolkit.mapping import propose_mapping
from toolkit.mapping_labels import classify_label
from toolkit.schema import EXIT_CATEGORY_OF, normalise_key

KEY = "test-key"

# Labels that must never become a job, work-study or training (the dangerous near-misses).
NEAR_MISSES = [
    "Recherche d'emploi",
    "En recherche d'emploi CDI",
    "Recherche emploi (CDD)",
    "Demandeur d'emploi",
    "Inscrit Pôle emploi",
    "Inscrite France Travail",
    "Sans emploi",
    "Pas d'emploi",
    "Promesse d'embauche CDI",
    "Projet de création d'entreprise",
    "Projet formation qualifiante",
    "En attente d'un contrat d'apprentissage",
    "Attente entrée en formation",
    "Entretien d'embauche prévu",
    "Fin de CDD",
    "Fin de mission intérim",
    "Candidature en alternance",
    "Abandon de formation",
    "Démission CDI",
    "Exclu du CFA",
    "RECH_EMPLOI",
    "DEM_EMPLOI",
]


@pytest.mark.parametrize("label", NEAR_MISSES)
def test_near_misses_never_become_a_positive_type(label):
    code, _reason = classify_label("motif_sortie", label)
    assert code is None or EXIT_CATEGORY_OF[code] not in {"job", "work_study", "training"}, (label, code)


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("Emploi CDI temps plein", "cdi"),
        ("Contrat de pro", "contrat_professionnalisation"),
        ("Entrée en formation AFPA", "formation_qualifiante"),
        ("CDI_TP", "cdi"),
        ("APPRENTI_BTP", "apprentissage"),
        ("FORM_CERTIF", "formation_qualifiante"),
        ("C.D.I.", "cdi"),
        ("PEC 20h", "contrat_aide"),
        ("CDD 8 mois", "cdd_6_mois_plus"),
        ("Formation non qualifiante", "formation_prequalifiante"),
        ("Recherche d'emploi", "recherche_emploi"),
    ],
)
def test_labels_are_classified(label, code):
    assert classify_label("motif_sortie", label)[0] == code


def test_other_columns_are_classified():
    assert classify_label("sexe", "Mme")[0] == "F"
    assert classify_label("sexe", "Monsieur")[0] == "M"
    assert classify_label("niveau_formation", "Niv. V bis")[0] == "infra_3"
    assert classify_label("niveau_formation", "NIV_IV")[0] == "niveau_4"
    assert classify_label("region", "53 - Bretagne")[0] == "Bretagne"
    assert classify_label("region", "E2C Rennes")[0] is None  # "2" in "E2C" is not a region code
    assert classify_label("qpv", "Hors QPV")[0] == "non"
    assert classify_label("qpv", "Quartier prioritaire")[0] == "oui"


# --------------------------------------------------------------------------
# The three styles against the generator's truth
# --------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[f.__name__ for f in STYLES])
def styled(request, tmp_path_factory) -> tuple[StyledExport, object]:
    make = next(f for f in STYLES if f.__name__ == request.param)
    export = make(tmp_path_factory.mktemp(request.param))
    return export, propose_mapping(export.path, situations=export.situations)


def column_score(export: StyledExport, proposal) -> float:
    truth = dict(export.columns)
    got = proposal.column_map
    if export.situations is not None:
        truth.update({("s", h): c for h, c in export.situation_columns.items()})
        got = dict(got) | {("s", c.header): c.column for c in proposal.situations["columns"] if c.header}
    return sum(got.get(h) == c for h, c in truth.items()) / len(truth)


def label_score(export: StyledExport, proposal) -> float:
    """Share of the truth's labels that end up right: recognised already, classified right, or honestly listed."""
    proposed = {(i.column, i.label): i.code for i in proposal.labels}
    right = 0
    for (column, label), code in export.labels.items():
        if (column, label) in proposed:
            right += proposed[(column, label)] == code
        else:  # not listed: the cleaning rules already recognise it
            table = label_table(column)
            recognised = table.get(normalise_key(label))
            right += (
                code is not None and recognised is not None and label_table(column)[normalise_key(code)] == recognised
            )
    return right / len(export.labels)


def test_columns_are_proposed_as_the_truth_says(styled):
    export, proposal = styled
    assert column_score(export, proposal) == 1.0
    assert proposal.ok, proposal.problems
    no_extra = {h for h, _c in proposal.column_map.items()} - set(export.columns)
    assert not no_extra  # nothing matched that the truth does not match


def test_labels_are_proposed_as_the_truth_says(styled):
    export, proposal = styled
    assert label_score(export, proposal) == 1.0
    unclassified = {i.label for i in proposal.labels if i.code is None}
    assert unclassified == {label for (_c, label), code in export.labels.items() if code is None} & {
        i.label for i in proposal.labels
    }


def test_profile_never_shows_identifier_values(styled):
    export, proposal = styled
    text = proposal.table_text() + proposal.to_yaml()
    ids = export.trainees["id"]
    assert not any(i in text for i in ids.head(200))
    assert "Nom1" not in text  # a name column: only its kind is shown
    if export.style == "codes":
        assert "NOM" in text and "nom ou prénom" in text


def test_yaml_is_a_valid_mapping_that_cleans_the_export(styled, tmp_path):
    export, proposal = styled
    path = tmp_path / "export.mapping.yml"
    path.write_text(proposal.to_yaml(out_dir=tmp_path), encoding="utf-8")
    mapping = load_mapping(path)
    assert {normalise_key(h) for h in export.columns} <= set(mapping.columns)
    result = clean_export(export.path, mapping=path, key=KEY)
    assert result.summary["rows_kept"] == len(export.trainees)
    # Every ignored column is named; a comment column resembles nothing.
    assert set(result.summary["ignored_columns"]) <= {"COMMENTAIRE"}


def test_table_is_in_english_with_lang_en(styled):
    _export, proposal = styled
    with use_language("en"):
        text = proposal.table_text()
    assert "Contract columns:" in text and "Colonnes du contrat" not in text


# --------------------------------------------------------------------------
# Messages that point to the fix
# --------------------------------------------------------------------------
ISSUE_HEADERS = [
    "N° stagiaire",
    "Région",
    "Ecole",
    "Genre",
    "Année de naissance",
    "Date d'entrée",
    "Date de sortie",
    "Situation à la sortie",
]
ROWS = [
    ["1", "Bretagne", "E2C R", "F", "2003", "01/02/2023", "01/01/2024", "CDI"],
    ["2", "Bretagne", "E2C R", "M", "2002", "01/02/2023", "01/01/2024", "Abandon"],
]


def test_missing_required_column_names_the_closest_header_and_e2c_map(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["Numéro du jeune", *ISSUE_HEADERS[1:]])
    with pytest.raises(SchemaError) as error:
        read_export(frame)
    message = str(error.value)
    assert "id_stagiaire" in message and "« Numéro du jeune »" in message and "e2c map" in message


def test_ignored_column_is_named_with_its_suggested_match(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["id_stagiaire", *ISSUE_HEADERS[1:]])
    result = clean_export(frame, key=KEY)
    assert result.summary["ignored_columns"] == ["Situation à la sortie"]
    text = result.summary_text()
    assert "Situation à la sortie" in text and "motif_sortie" in text and "e2c map" in text
    messages = result.warnings.loc[result.warnings["kind"] == "column_ignored", "message"].tolist()
    assert messages and "motif_sortie" in messages[0]


def test_the_issue_export_is_mapped_in_full():
    proposal = propose_mapping(pd.DataFrame(ROWS, columns=ISSUE_HEADERS))
    assert proposal.column_map == {
        "N° stagiaire": "id_stagiaire",
        "Région": "region",
        "Ecole": "ecole",
        "Genre": "sexe",
        "Année de naissance": "annee_naissance",
        "Date d'entrée": "date_entree",
        "Date de sortie": "date_sortie",
        "Situation à la sortie": "motif_sortie",
    }
    # No situation dates: the default definition (duration rule) cannot be evaluated, and it says so.
    assert not proposal.ok and any("date_debut_situation" in p for p in proposal.problems)


# --------------------------------------------------------------------------
# XLSX layouts
# --------------------------------------------------------------------------
def _titled_workbook(path, *, footer: bool = True):
    frame = pd.DataFrame(ROWS, columns=["id_stagiaire", *ISSUE_HEADERS[1:7], "motif_sortie"])
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, startrow=2)
        sheet = writer.sheets["Sheet1"]
        sheet.cell(row=1, column=1, value="Export du logiciel de suivi")
        if footer:
            sheet.cell(row=len(frame) + 5, column=1, value="Total : 2")
    return frame


def test_xlsx_title_and_total_rows_are_detected_and_said(tmp_path):
    path = tmp_path / "titled.xlsx"
    _titled_workbook(path)
    result = clean_export(path, key=KEY)
    assert result.summary["rows_received"] == 2
    notes = " ".join(result.summary["layout_notes"])
    assert "ligne 3" in notes and "total" in notes
    assert "ligne 3" in result.summary_text()


def test_xlsx_header_row_from_the_mapping(tmp_path):
    path = tmp_path / "titled.xlsx"
    _titled_workbook(path, footer=False)
    result = clean_export(path, mapping={"ligne_entete": 3}, key=KEY)
    assert result.summary["rows_received"] == 2
    with pytest.raises(SchemaError):  # the wrong header row: the required columns are not there
        clean_export(path, mapping={"ligne_entete": 4}, key=KEY)


def test_e2c_map_exit_status_and_english(tmp_path, capsys):
    from toolkit.cli import main

    export = tmp_path / "export.csv"
    pd.DataFrame(ROWS, columns=ISSUE_HEADERS).to_csv(export, sep=";", index=False)
    assert main(["map", str(export), "--lang", "en"]) == 3  # no situation dates: the definition cannot be judged
    out = capsys.readouterr().out
    assert "Contract columns:" in out and "To fix before cleaning:" in out and "date_debut_situation" in out
    written = tmp_path / "export.mapping.yml"
    assert written.is_file() and "Situation à la sortie" in written.read_text(encoding="utf-8")
    assert main(["map", str(export)]) == 3 and "--force" in capsys.readouterr().out  # never overwritten silently
    dated = pd.DataFrame(ROWS, columns=ISSUE_HEADERS).assign(
        **{"Début de la situation": "05/01/2024", "Fin de la situation": ["", "20/02/2024"]}
    )
    dated.to_csv(export, sep=";", index=False)
    assert main(["map", str(export), "--force"]) == 0  # the situation dates are there: the definition can be judged
