"""With comparison data, the page says where they came from and the methods agree with the sections present;
the impact section explains its technical words in plain language. Read from rendered HTML and from the
manifest written on disk."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from test_impact_claims import COVARIATES, simulate

from toolkit.i18n import use_language
from toolkit.reports.impact_section import impact_section


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    from toolkit.reports.build import prepare_national
    from toolkit.synth import generate_comparison, write_export

    root = tmp_path_factory.mktemp("provenance")
    export = write_export(root / "data", seed=4, trainees_per_year=300)
    comparison = root / "comparaison_2024.csv"
    generate_comparison(seed=4, n_e2c=300, n_comparison=600, population_draws=0).raw.to_csv(
        comparison, sep=";", index=False
    )
    return prepare_national(export, root / "work", comparison=comparison), comparison


def _methods_html(national, lang="fr") -> str:
    from toolkit.reports.render import render_section
    from toolkit.reports.words import Words

    content = national.content
    page = next(iter(content.pages.values()))
    with use_language(lang):
        return render_section(page.section("methods"), Words(content.publication, 11)).html


def test_methods_name_the_comparison_file_and_its_sha256(national):
    work, comparison = national
    text = _text(_methods_html(work))
    sha = hashlib.sha256(comparison.read_bytes()).hexdigest()
    assert f"Données de comparaison {comparison.name} SHA-256 des données de comparaison {sha}" in text
    assert str(comparison.parent) not in text  # the file's name, never its folder
    # the methods agree with the impact section now on the page
    assert "faute de groupe de comparaison" not in text
    assert "La section « Impact estimé » l’estime à partir du groupe de comparaison fourni" in text
    english = _text(_methods_html(work, "en"))
    assert f"{comparison.name}" in english and sha in english and "Comparison data" in english


def test_without_comparison_the_methods_say_there_is_none(tmp_path):
    from toolkit.reports.build import prepare_national
    from toolkit.synth import write_export

    work = prepare_national(write_export(tmp_path / "d", seed=4, trainees_per_year=300), tmp_path / "w")
    text = _text(_methods_html(work))
    assert "faute de groupe de comparaison" in text and "Données de comparaison" not in text


def test_manifest_records_the_comparison_file(tmp_path):
    from toolkit.reports.engine import RegionResult
    from toolkit.reports.manifest import write_manifest

    comparison = tmp_path / "sub" / "groupe_temoin.csv"
    comparison.parent.mkdir()
    comparison.write_bytes(b"groupe\ncomparaison\n")
    page = tmp_path / "bretagne.html"
    page.write_text("<html></html>", encoding="utf-8")
    (tmp_path / "bretagne-fse.csv").write_text("code,indicator,year,women,men,total\n", encoding="utf-8")
    result = RegionResult(region="Bretagne", slug="bretagne", status="ok", notebook="", html=str(page))
    path = write_manifest(
        tmp_path / "manifest.json", period="2024", parameters={"comparison": str(comparison)}, results=[result]
    )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["comparison"] == {
        "name": "groupe_temoin.csv",
        "sha256": hashlib.sha256(comparison.read_bytes()).hexdigest(),
    }
    assert manifest["regions"][0]["esf_csv"]["path"] == "bretagne-fse.csv"


@pytest.fixture(scope="module")
def rendered():
    """The impact section's glossary as a notebook shows it (the region page's glossary section holds the same
    words when the page has an impact section)."""
    from toolkit.display import glossary_table, html_table

    out = impact_section(simulate(1500, 2, effect=0.5), COVARIATES, figures=False)
    html = html_table(glossary_table(out["glossary"]))
    with use_language("en"):
        english = impact_section(simulate(1500, 2, effect=0.5), COVARIATES, figures=False)
        html_en = html_table(glossary_table(english["glossary"]))
    return out, _text(html), _text(html_en)


def test_the_impact_section_explains_its_jargon_in_plain_french(rendered):
    out, text, _en = rendered
    for term, words in (
        ("AIPW (estimation « doublement robuste »)", "Deux modèles sont combinés"),
        ("Fonction d’influence", "Façon de calculer l’intervalle de confiance"),
        ("Taille effective", "Après pondération"),
        ("Écart standardisé", "Différence entre stagiaires et groupe de comparaison"),
        ("E-value", "Force minimale qu’aurait un facteur non mesuré"),
    ):
        assert f"{term} {words}" in text
    assert "comptant chacun pour un" in text and "Au-delà de 0,1 (en valeur absolue)" in text
    # each term the table uses is explained
    table = " ".join(out["summary"].iloc[:, 0]) + " " + " ".join(out["summary"].iloc[:, 1])
    assert "AIPW" in table and "fonction d'influence" in table and "Taille effective" in table


def test_the_jargon_is_explained_in_english_too(rendered):
    _out, _text_fr, text = rendered
    assert "Influence function" in text and "Effective sample size" in text and "Standardised difference" in text
    assert "Deux modèles" not in text


def test_bootstrap_intervals_do_not_explain_the_influence_function():
    out = impact_section(simulate(400, 5, effect=0.5), COVARIATES, figures=False, method="ipw", bootstrap=50, seed=1)
    terms = [t for t, _ in out["glossary"]]
    assert "Fonction d’influence" not in terms and not any("AIPW" in t for t in terms)
    assert {"Taille effective", "Écart standardisé", "E-value"} <= set(terms)
