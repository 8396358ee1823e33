"""Report builder: the batch engine on a toy template (fast), then the real
reports on small synthetic data (privacy, disclosure, manifest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from toolkit.errors import ReportError
from toolkit.reports import (
    check_offline_html,
    html_page,
)


def test_offline_check_catches_network_resources():
    for bad in (
        '<script src="x.js"></script>',
        '<link rel="stylesheet" href="https://cdn.x/y.css">',
        '<img src="//cdn.x/a.png" alt="a">',
        "<style>@import 'https://x/y.css';</style>",
    ):
        with pytest.raises(ReportError):
            check_offline_html(bad)
    check_offline_html('<a href="https://www.reseau-e2c.fr">source</a><img src="data:image/png;base64,AAA" alt="x">')


def test_html_page_skeleton_is_offline_and_in_the_right_language():
    page = html_page("<h1>Index</h1>", lang="en", title="Reports")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page and "<title>Reports</title>" in page
    check_offline_html(page)


# --------------------------------------------------------------------------
# Real reports on a small messy synthetic export (names, e-mails, ids inside)
# --------------------------------------------------------------------------

import pandas as pd  # noqa: E402

from toolkit.reports.words import HIDDEN_MARKER  # noqa: E402

MIN_CELL = 11
SMALL_AND_LARGE = ["La Réunion", "Bretagne"]


def _pages(result):
    return {p.name: p.read_text(encoding="utf-8") for p in result.out_dir.glob("*.html")}


def test_no_identifier_or_name_reaches_any_page(batch):
    result, raw, _ = batch
    pages = _pages(result)
    assert {"nom", "prenom", "email", "id_stagiaire"} <= set(raw.columns)  # the export really carries them
    identifiers = set()
    for column in ("email", "telephone", "num_secu", "id_stagiaire"):
        if column in raw.columns:
            identifiers |= {v for v in raw[column].unique() if len(v) >= 5}
    full_names = set(raw["prenom"] + " " + raw["nom"]) | set(raw["nom"] + " " + raw["prenom"])
    assert len(identifiers) > 1000 and len(full_names) > 1000
    # The pseudonyms the cleaning made must not appear either.
    from toolkit.cleaning import clean_export

    pseudonyms = set(clean_export(_export_of(result)).data["trainee_id"].astype(str))
    for name, page in pages.items():
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
        tokens = set(re.findall(r"[\w@.+-]{5,}", text))
        assert not (tokens & identifiers), (name, sorted(tokens & identifiers)[:5])
        assert not (tokens & pseudonyms), name
        assert not [v for v in full_names if v in text], name


def _export_of(result):
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    return Path(manifest["input"]["path"])


def test_every_published_count_is_large_enough_or_suppressed(batch):
    result, _, _ = batch
    marker = "s"  # one marker for every hidden cell
    n_marked = 0
    for name, page in _pages(result).items():
        cells = re.findall(r'<td class="num count[^"]*"[^>]*>(.*?)</td>', page)
        assert cells, name
        for cell in cells:
            if cell == marker:
                n_marked += 1
                continue
            value = int(cell.replace("\u00a0", "").replace(",", ""))
            assert value >= MIN_CELL or value == 0, (name, cell)
    assert n_marked > 0  # La Réunion is small: suppression really happened
    # Rejection reasons are published as categories, never with the row values the cleaning log quotes.
    assert "identique à la ligne" not in "".join(_pages(result).values())


def test_section_tables_pass_the_disclosure_check(batch):
    """Every section table publishes no count from 1 to 10, and its hidden cells are the publication's.

    Secondary suppression is judged over the whole batch by the attacker's audit (the gate, and
    tests/test_publication_audit.py), not table by table: a table-by-table check would assume a total
    published elsewhere that the linked protection may have hidden.
    """
    from toolkit.reports.national import NationalWork
    from toolkit.reports.sections import RegionReport

    result, _, _ = batch
    work = result.work_dir / result.period / "national"
    report = RegionReport.load(work, "La Réunion")
    sections = report.all_sections()
    tables = {k: v for s in sections for k, v in s.tables.items()}
    assert {
        "headline",
        "profile_sex",
        "exit_mix",
        "exits_sites",
        "exit_mix_sites",
        "trend",
        "fair_sites",
        "schools",
        "esf_scope",
        "esf_eecr04",
        "quality",
    } <= set(tables)
    n_hidden = 0
    for name, table in tables.items():
        for column in table.attrs.get("count_cols") or []:
            texts = table[column].astype(str)
            n_hidden += int((texts == HIDDEN_MARKER).sum())
            shown = pd.to_numeric(texts.str.replace("\u00a0", "").str.replace("\u202f", ""), errors="coerce")
            assert not ((shown >= 1) & (shown < MIN_CELL)).any(), (name, column, list(texts))
    assert n_hidden > 0  # La Réunion is small: the protection hid cells in its tables
    # Plotted points: no site under min_cell, other regions only as regional aggregates.
    sites = NationalWork.load(work).sites
    for section in sections:
        for figure in section.figures:
            points = figure.points
            if "n" in points.columns:
                assert (points["n"] >= MIN_CELL).all()
            if "site" in points.columns:
                assert set(points["site"]) <= set(sites.loc[sites["region"] == "La Réunion", "site"])


def test_pages_are_offline_in_french_and_have_the_sections(batch):
    result, _, _ = batch
    pages = _pages(result)
    corse = pages["la-reunion.html"]
    assert '<html lang="fr">' in corse
    check_offline_html(corse)
    ids = re.findall(r'<h2 id="([^"]+)"', corse)
    assert ids == [
        "synthese-title",
        "toc-title",
        "headline",
        "profile",
        "exits",
        "trend",
        "fair",
        "esf",
        "glossary",
        "quality",
        "methods",
    ]
    assert "<h1>La Réunion</h1>" in corse and "Bretagne</h1>" not in corse
    assert "\u00a0%" in corse  # French percentages
    for img in re.findall(r"<img [^>]*>", corse):
        assert re.search(r'src="data:image/(?:svg\+xml|png);base64,', img) and re.search(r'alt="[^"]{20,}"', img)
    index = pages["index.html"]
    assert 'href="la-reunion.html"' in index and 'href="bretagne.html"' in index
    check_offline_html(index)


def test_impact_section_only_with_comparison_data(batch, tmp_path):
    """Without comparison data no impact section; with a design the batch did not protect, the section
    prints no count (the batch protects the impact counts: tests/test_impact_disclosure.py)."""
    from toolkit.reports.sections import RegionReport
    from toolkit.synth import write_export

    result, _, _ = batch
    work = result.work_dir / result.period / "national"
    assert RegionReport.load(work, "Bretagne").impact().html == ""
    design = write_export(tmp_path, comparison=True, seed=3, n_e2c=1500, n_comparison=3000)
    report = RegionReport.load(work, "Bretagne", comparison_path=str(design))
    section = report.impact()
    assert '<h2 id="impact">' in section.html and "#impact" in report.contents().html
    assert "n’ont pas été préparés" in section.html and not section.tables
    assert not re.search(r"\d", re.sub(r"<[^>]+>|e2c reports", "", section.html))
    # The batch cleans the design once (prepare_impact), with no identifier.
    from toolkit.reports.national import load_impact_rows
    from toolkit.reports.sections import prepare_impact

    prepared = prepare_impact(design, tmp_path, "projet")
    assert "trainee_id" not in load_impact_rows(prepared)[0].columns


def test_english_report_has_no_french_left(batch):
    from toolkit.i18n import use_language
    from toolkit.reports import html_page
    from toolkit.reports.sections import RegionReport

    result, _, _ = batch
    work = result.work_dir / result.period / "national"
    with use_language("en"):
        report = RegionReport.load(work, "Bretagne")
        page = html_page("".join(s.html for s in report.all_sections()), lang="en", title="Bretagne")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert '<html lang="en">' in text and "Key figures" in text and "Fair comparison" in text
    for french in (
        "Sorties positives",
        "Sommaire",
        "Chiffres clés",
        "Comparaison équitable",
        "\u00a0%",
        "Taux de",
        "stagiaires",
        "Non renseigné",
    ):
        assert french not in text, french
    assert re.search(r"\d+\.\d%", text)  # English percentages


def test_region_reading_publishes_no_small_count():
    """The fair-comparison sentence follows the tables' rule: no observed count, O/E or
    expected when positives or non-positives are under min_cell (observed = O/E x expected)."""
    from toolkit.reports.builder import PageBuilder
    from toolkit.reports.content import Msg, Page, Section
    from toolkit.reports.fair_content import _fair_reading, regions_figure_data
    from toolkit.reports.protect import ReportPublication, protect_publication
    from toolkit.reports.words import Words

    big = pd.DataFrame({"flag95": ["within"], "n": [40], "observed": [20], "oe_ratio": [1.0]})  # one site shown

    def reading(observed, n=30):
        row = {
            "region": "Corse",
            "n": n,
            "observed": observed,
            "expected": 12.4,
            "oe_ratio": observed / 12.4,
            "lower95": 0.61,
            "upper95": 1.39,
            "flag95": "within",
        }
        publication = ReportPublication(min_cell=11)
        builder = PageBuilder(publication, "Corse", 11)
        figure = regions_figure_data(builder, pd.DataFrame([row]), "Corse", Msg("s"))
        protect_publication(publication, [Page("p", Msg("p"), [Section("s", [figure])])], 11)
        ctx = type("Ctx", (), {"region": "Corse", "min_cell": 11})()
        words = Words(publication, 11)
        return " ".join(words.msg(m) or "" for m in _fair_reading(ctx, pd.Series(row), big, figure))

    for observed in (5, 24):  # 5 positives; 24 positives leaves 6 non-positive exits
        text = reading(observed)
        assert "dans la norme" in text
        assert f"compte {observed}" not in text and "12,4" not in text and "O/A" not in text
    published = reading(15)
    assert "compte 15 sorties positives" in published and "O/A 1,21" in published
