"""Report content as data: numbers against an independent computation on the canonical frame, cells
registered and protected over the whole batch, and rendering that shows any text from the data literally."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from toolkit.disclosure import CellKey
from toolkit.i18n import use_language
from toolkit.reports.builder import PageBuilder
from toolkit.reports.content import Column, FigureData, Header, Msg, Num, Page, Section, Table, dumps, loads
from toolkit.reports.protect import ReportPublication, protect_publication
from toolkit.reports.render import render_blocks
from toolkit.reports.words import HIDDEN_MARKER, Words

MIN_CELL = 11
HOSTILE = ["<script>alert(1)</script>", "{{ x }}", "{% raw %}", "$x$", "$\\frac{1}{0}$", "a\x07b\x1b[31m", "\"&'"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from toolkit.cleaning import clean_export
    from toolkit.reports.build import prepare_national
    from toolkit.synth import generate_export

    raw = generate_export(seed=4, trainees_per_year=900, years=(2022, 2023)).raw
    national = prepare_national(raw, tmp_path_factory.mktemp("content"), min_cell=MIN_CELL)
    frame = clean_export(raw).data
    frame = frame[frame["cohort_year"].isin([2022, 2023])]
    return national, frame


def test_counts_match_an_independent_computation(batch):
    national, frame = batch
    counts = national.content.publication.counts
    region = frame["region"].astype("object")
    exited = frame["exit_date"].notna()
    for name, part in frame.groupby(region):
        if name not in national.content.pages:
            continue
        exits = part[part["exit_date"].notna()]
        assert counts[CellKey.of("entries", region=name)] == len(part)
        assert counts[CellKey.of("exits", region=name)] == len(exits)
        for sex, n in part["sex"].astype("object").value_counts().items():
            assert counts[CellKey.of("entries", region=name, sex=sex)] == n
    assert counts[CellKey.of("entries")] == len(frame)
    assert counts[CellKey.of("exits")] == int(exited.sum())
    # Exit categories by site, for every site with its own row in the sites table.
    by_site = frame[exited].groupby([region[exited], frame.loc[exited, "site"].astype("object")])
    checked = 0
    for (name, site), part in by_site:
        key = CellKey.of("category:job", region=name, site=site)
        if key in counts:
            assert counts[key] == int((part["exit_category"].astype("object") == "job").sum())
            checked += 1
    assert checked > 20


def test_rates_match_the_shown_counts(batch):
    """Every published rate is positive / known of the same row, within its displayed rounding."""
    national, _ = batch
    page = national.content.pages["Bretagne"]
    table = next(t for t in page.section("exits").tables() if t.id == "exits_sex")
    data = table.data
    assert np.allclose(data["rate"], data["n_positive"] / data["n_known"])
    for ratio, key in zip(table.ratios["rate"], table.keys["n_known"]):
        assert ratio.denominator == key and ratio.decimals == 1


def test_the_same_count_is_one_cell_on_every_page(batch):
    national, _ = batch
    publication = national.content.publication
    places = publication.appearances[CellKey.of("entries")]
    assert {p.split("/")[0] for p in places} == {*national.content.pages, "index"}
    # A site's known exits: in the raw rates table and in the fair comparison, one cell.
    site_keys = [k for k in publication.counts if k.population == "known" and dict(k.where).get("site")]
    shared = [k for k in site_keys if len({p.split("/")[1] for p in publication.appearances[k]}) > 1]
    assert shared


def test_no_count_under_min_cell_is_shown_anywhere(batch):
    national, _ = batch
    publication = national.content.publication
    small = [k for k, v in publication.counts.items() if 0 < v < MIN_CELL]
    assert small
    assert all(publication.is_hidden(k) for k in small)


def test_hidden_cells_render_as_markers_and_figures_drop_them(batch):
    national, _ = batch
    from toolkit.reports.sections import RegionReport

    report = RegionReport(national.content.pages["La Réunion"], national.content.publication)
    html = "".join(s.html for s in report.all_sections())
    assert "&lt; 11" not in html and f">{HIDDEN_MARKER}<" in html  # one marker for every hidden cell
    fair = report.fair_comparison()
    drawn = fair.figures[0].points
    tables = national.content.pages["La Réunion"].section("fair_comparison").tables()
    table = next(t for t in tables if t.id == "fair_sites")
    hidden = {
        s for s, r in zip(table.data["site"], table.ratios["oe_ratio"]) if national.content.publication.ratio_hidden(r)
    }
    shown_short = set(drawn["site"].map(lambda s: s.split(" – ")[-1].capitalize()))
    assert not {h.lower() for h in hidden if isinstance(h, str)} & {s.lower() for s in shown_short}


def test_content_survives_json(batch):
    national, _ = batch
    page = national.content.pages["Bretagne"]
    again = loads(dumps(page))
    words = Words(national.content.publication, MIN_CELL)
    for a, b in zip(page.sections, again.sections):
        if a.figures():
            continue  # same data, but drawing twice is slow
        assert render_blocks(a.blocks, words).html == render_blocks(b.blocks, words).html


def test_english_page_has_no_french_words(batch):
    national, _ = batch
    from toolkit.reports.sections import RegionReport

    report = RegionReport(national.content.pages["Bretagne"], national.content.publication)
    with use_language("en"):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", "".join(s.html for s in report.all_sections()))
    assert "Key figures" in text
    for french in ("Sorties positives", "Sommaire", "Chiffres clés", "\u00a0%", "stagiaires", "Non renseigné"):
        assert french not in text, french


# --------------------------------------------------------------------------
# Text from the data appears literally
# --------------------------------------------------------------------------
def _hostile_blocks():
    publication = ReportPublication(min_cell=MIN_CELL)
    builder = PageBuilder(publication, "page", MIN_CELL)
    data = pd.DataFrame({"site": HOSTILE, "n": [40 + i for i in range(len(HOSTILE))]})
    table = builder.table(
        "t",
        Msg("Sites ({region})", {"region": HOSTILE[0]}),
        [Column("site", Msg("Site"), "label"), Column("n", Msg("Effectif"), "int")],
        data,
        keys={"n": [CellKey.of("exits", site=s) for s in HOSTILE]},
        protection={"counts": ["n"]},
    )
    header = Header(Msg("k"), Msg("{name}", {"name": HOSTILE[1]}), Msg("{p}", {"p": HOSTILE[3]}), Msg("x"))
    page = Page("p", Msg("x"), [Section("s", [header, table, Msg("Fichier : {f}", {"f": HOSTILE[2]})])])
    protect_publication(publication, [page], MIN_CELL)
    return publication, page.sections[0].blocks


def test_text_from_the_data_is_escaped_not_interpreted():
    publication, blocks = _hostile_blocks()
    html = render_blocks(blocks, Words(publication, MIN_CELL)).html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ x }}" in html and "{% raw %}" in html and "$x$" in html and "$\\frac{1}{0}$" in html
    assert "&#34;&amp;&#39;" in html or "&quot;&amp;&#x27;" in html or "&#34;&amp;&#39;" in html
    assert "a\x07b" in html  # kept as text, never markup


@pytest.mark.parametrize("name", HOSTILE)
def test_figures_show_names_from_the_data_literally(name):
    """matplotlib would read $…$ as mathtext (and fail on a bad formula): names are drawn as written."""
    import io

    from toolkit.plots import plot_trend
    from toolkit.plots.regions import plot_regions

    points = pd.DataFrame(
        {
            "region": [name, "Bretagne"],
            "n": [50, 60],
            "oe_ratio": [1.0, 1.1],
            "lower95": [0.8, 0.9],
            "upper95": [1.2, 1.2],
            "flag95": ["within", "within"],
        }
    )
    fig = plot_regions(points, name, source=f"fichier {name}.csv")
    fig.savefig(io.BytesIO(), format="png")
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert any(name.replace("$", "\\$") in t for t in texts)
    table = pd.DataFrame(
        {
            "cohort_year": [2022, 2023],
            "rate": [0.5, 0.6],
            "ci_low": [0.4, 0.5],
            "ci_high": [0.6, 0.7],
            "n_known": [40, 50],
            "national": [0.55, 0.56],
        }
    )
    fig = plot_trend(table, title=f"Taux : {name}", label=name, reference_label="National", source=name)
    fig.savefig(io.BytesIO(), format="png")


def test_a_hidden_number_takes_its_sentence_with_it():
    publication = ReportPublication(min_cell=MIN_CELL)
    key = CellKey.of("positive", region="Corse")
    publication.hidden.add(key)
    words = Words(publication, MIN_CELL)
    fallback = Msg("détail non publié")
    shown = Msg("la région compte {n} sorties positives", {"n": Num(5, "int", key=key)}, fallback=fallback)
    assert words.msg(shown) == "détail non publié"
    assert words.msg(Msg("{n}", {"n": Num(5, "int", key=key)}, role="marker")) == HIDDEN_MARKER
    assert words.msg(Msg("{n}", {"n": Num(30, "int", key=CellKey.of("x"))})) == "30"


def test_small_and_secondary_cells_show_the_same_marker():
    """Secondary suppression hides a cell of 30: it shows "s" like the small cell, with the same tooltip
    (a marker telling them apart would tell the reader which hidden cell is small)."""
    publication = ReportPublication(min_cell=MIN_CELL)
    builder = PageBuilder(publication, "p", MIN_CELL)
    data = pd.DataFrame({"site": list("abcd"), "n": [120, 4, 30, 57]})
    table = builder.table(
        "t",
        Msg("t"),
        [Column("site", Msg("Site"), "label"), Column("n", Msg("Sorties"), "int")],
        data,
        keys={"n": [CellKey.of("exits", site=s) for s in "abcd"]},
        protection={"counts": ["n"]},
    )
    protect_publication(publication, [Page("p", Msg("p"), [Section("s", [table])])], MIN_CELL)
    rendered = render_blocks([table], Words(publication, MIN_CELL))
    assert rendered.tables["t"]["Sorties"].tolist() == ["120", "s", "s", "57"]
    assert rendered.html.count("Secret statistique : valeur non diffusée (moins de 11 stagiaires") == 2


def test_regions_with_too_few_exits_are_left_out_of_the_regions_figure():
    from toolkit.reports.fair_content import regions_figure_data
    from toolkit.reports.figures import draw_figure

    regions = pd.DataFrame(
        {
            "region": ["Bretagne", "Corse", "Occitanie"],
            "n": [400, 9, 300],
            "observed": [250, 5, 294],
            "expected": [238.0, 7.1, 226.0],
            "oe_ratio": [1.05, 0.7, 1.3],
            "lower95": [0.9, 0.2, 0.9],
            "upper95": [1.1, 1.8, 1.1],
            "flag95": ["within", "within", "above"],
        }
    )
    publication = ReportPublication(min_cell=MIN_CELL)
    figure = regions_figure_data(PageBuilder(publication, "p", MIN_CELL), regions, "Corse", Msg("Source : test"))
    protect_publication(publication, [Page("p", Msg("p"), [Section("s", [figure])])], MIN_CELL)
    drawn = draw_figure(figure, Words(publication, MIN_CELL))
    # Corse: 9 exits; Occitanie: 6 non-positive exits (observed = O/E x expected would give them away).
    assert drawn.points["region"].tolist() == ["Bretagne"]
    assert "Graphique des 1 régions" in drawn.alt and "Corse" not in drawn.alt


def test_figure_data_carries_only_published_points():
    publication = ReportPublication(min_cell=MIN_CELL)
    ratio = PageBuilder(publication, "p", MIN_CELL).ratio(CellKey.of("positive", region="A"), 10.0, 2, "x", 1.0)
    publication.hide_ratio(ratio)
    figure = FigureData(
        "regions",
        pd.DataFrame(
            {
                "region": ["A"],
                "n": [50],
                "observed": [20],
                "oe_ratio": [2.0],
                "lower95": [0.5],
                "upper95": [1.5],
                "flag95": ["above"],
            }
        ),
        Msg(""),
        Msg("c"),
        params={"highlight": None, "source": Msg("s")},
        keys=[ratio],
    )
    from toolkit.reports.figures import draw_figure

    drawn = draw_figure(figure, Words(publication, MIN_CELL))
    assert len(drawn.points) == 0 and "A :" not in drawn.alt and "Graphique des 0 régions" in drawn.alt


def test_templates_are_autoescaped_and_shipped():
    import tomllib
    from pathlib import Path

    from toolkit.reports.render import environment

    env = environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    for name in ("section.html.j2", "blocks.html.j2"):
        assert env.get_template(name)
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "reports/templates/*.j2" in pyproject["tool"]["setuptools"]["package-data"]["toolkit"]


def test_cards_and_tables_agree_on_hidden_cells():
    publication = ReportPublication(min_cell=MIN_CELL)
    table = Table(
        "t",
        Msg("t"),
        [Column("n", Msg("n"), "int")],
        pd.DataFrame({"n": [5]}),
        keys={"n": [CellKey.of("exits", region="Corse")]},
    )
    publication.hidden.add(CellKey.of("exits", region="Corse"))
    words = Words(publication, MIN_CELL)
    assert render_blocks([table], words).tables["t"]["n"].tolist() == [HIDDEN_MARKER]
    assert words.arg(Num(5, "int", key=CellKey.of("exits", region="Corse"))) == HIDDEN_MARKER


def test_the_fast_path_of_protection_never_skips_a_table_that_needs_hiding():
    """protect_publication skips suppress_counts only when it would hide nothing: checked on random tables."""
    from toolkit.disclosure import suppress_counts
    from toolkit.reports.protect import _nothing_to_hide

    rng = np.random.default_rng(0)
    skipped = 0
    for _ in range(300):
        rows = int(rng.integers(1, 6))
        known = rng.integers(0, 60, rows)
        positive = np.minimum(known, rng.integers(0, 60, rows))
        data = pd.DataFrame({"n_known": known, "n_positive": positive, "rate": positive / np.maximum(known, 1)})
        rule = {"rates": {"rate": ("n_positive", "n_known")}, "rows_additive": bool(rng.integers(0, 2))}
        if _nothing_to_hide(data, ["n_known", "n_positive"], rule, MIN_CELL):
            skipped += 1
            assert not suppress_counts(data, ["n_known", "n_positive"], MIN_CELL, **rule).suppressed.any().any()
    assert skipped > 20


def test_page_title_from_the_data_is_escaped():
    from toolkit.reports import html_page
    from toolkit.reports.sections import report_title

    title = report_title("<script>x</script> {{ y }} $z$", "2024")
    page = html_page("<p>corps</p>", lang="fr", title=title)
    head = page.split("</title>", 1)[0]
    assert "<script>x" not in head and "&lt;script&gt;x&lt;/script&gt; {{ y }} $z$" in head
