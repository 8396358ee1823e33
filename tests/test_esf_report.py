"""The ESF+ section of the generated region pages and the CSV beside them, read as a managing authority
would: per calendar year, ESF co-funded scope, definitions with the regulation's timing, EECR04 explained,
the same hidden cells in the page and in the CSV, a link that works, no developer note."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cleaning import clean_export
from toolkit.disclosure import SECONDARY_MARKER, suppression_marker
from toolkit.reports.words import HIDDEN_MARKER

REGION, SLUG = "Bretagne", "bretagne"
MIN_CELL = 11


class _Page(HTMLParser):
    """Tables (caption, rows of (text, classes)), links and the text of the ESF+ section only."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_esf = False
        self.tables: list[dict] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._cell = None
        self._caption = False
        self._link = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self.in_esf = attrs.get("id") == "esf"
        if not self.in_esf:
            return
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._caption = True
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]["rows"]:
            self._cell = ["", attrs.get("class") or ""]
        elif tag == "a":
            self._link = [attrs.get("href"), ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "caption":
            self._caption = False
        elif tag == "a" and self._link is not None:
            self.links.append(tuple(self._link))
            self._link = None

    def handle_data(self, data):
        if not self.in_esf:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell[0] += data
        if self._caption:
            self.tables[-1]["caption"] += data
        if self._link is not None:
            self._link[1] += data


def _esf(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def filed(batch):
    result, _raw, export = batch
    html = (result.out_dir / f"{SLUG}.html").read_text(encoding="utf-8")
    page = _esf(html)
    csv_path = result.out_dir / f"{SLUG}-fse.csv"
    csv = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    cleaned = clean_export(export).data
    period = [int(y) for y in result.period.split("-")]
    frame = cleaned[(cleaned["region"].astype("object") == REGION) & cleaned["cohort_year"].between(*period)]
    return result, html, page, csv, csv_path, frame


def _int(text: str) -> int:
    return int(re.sub(r"\s", "", text))


def _year_tables(page: _Page) -> dict[int, pd.DataFrame]:
    out = {}
    for table in page.tables:
        match = re.fullmatch(r"Indicateurs FSE\+ (\d{4}) \(Bretagne\)", table["caption"].strip())
        if match:
            header, *rows = table["rows"]
            names = [h for h, _ in header]
            frame = pd.DataFrame([[t for t, _ in r] for r in rows], columns=names)
            frame.attrs["classes"] = pd.DataFrame([[c for _, c in r] for r in rows], columns=names)
            out[int(match.group(1))] = frame
    return out


def test_one_table_per_calendar_year_with_independent_counts(filed):
    _result, _html, page, _csv, _path, frame = filed
    tables = _year_tables(page)
    cofunded = frame[frame["esf_cofunded"].astype("boolean").fillna(False)]
    exit_years = set(pd.to_datetime(cofunded["exit_date"]).dt.year.dropna().astype(int))
    assert set(tables) == set(cofunded["cohort_year"].astype(int)) | exit_years
    for year, entered in cofunded.groupby(cofunded["cohort_year"].astype(int)):
        row = tables[year].set_index("Code").loc["EECO01"]
        truth = {"Femmes": int((entered["sex"] == "F").sum()), "Hommes": int((entered["sex"] == "M").sum())}
        for column, n in {**truth, "Total": len(entered)}.items():
            if row[column] == suppression_marker(MIN_CELL):
                assert 0 < n < MIN_CELL
            elif row[column] != SECONDARY_MARKER:
                assert _int(row[column]) == n
        assert "Participants âgés de moins de 18 ans" in set(
            tables[year]["Indicateur (règlement (UE) 2021/1057, annexe I)"]
        )


def test_the_scope_is_the_esf_cofunded_parcours_and_the_page_says_how_many(filed):
    _result, _html, page, _csv, _path, frame = filed
    text = re.sub(r"\s+", " ", "".join(page.text)).replace("\u202f", " ").replace("\xa0", " ")
    flag = frame["esf_cofunded"].astype("boolean")
    k, n, unknown = int(flag.fillna(False).sum()), len(frame), int(flag.isna().sum())
    assert 0 < k < n and unknown > 0  # the synthetic export says which parcours are co-funded
    fmt = lambda v: f"{v:,}".replace(",", " ")  # noqa: E731
    scope = next(t for t in page.tables if t["caption"].startswith("Périmètre des indicateurs FSE+"))
    cells = {row[0][0]: row[1][0] for row in scope["rows"][1:]}
    if cells["Stagiaires de la région"] != HIDDEN_MARKER:  # the linked protection may hide the total
        assert _int(cells["Stagiaires de la région"]) == n
    shown = {label: value for label, value in cells.items() if re.fullmatch(r"[\d\s]+", value)}
    for label, truth in (("dont parcours cofinancés par le FSE+", k), ("dont cofinancement non renseigné", unknown)):
        if label in shown:
            assert _int(shown[label]) == truth
    assert sum(label not in shown for label in cells) != 1  # rows add up to the total: never one hidden cell
    if "dont parcours cofinancés par le FSE+" in shown:
        assert (
            f"Les indicateurs comptent les parcours cofinancés par le FSE+ : {fmt(k)} sur {fmt(n)} stagiaires" in text
        )
    else:  # the count is hidden in the table: the sentence does not give it either
        assert "Les indicateurs comptent les seuls parcours cofinancés par le FSE+." in text
    if "dont cofinancement non renseigné" in shown:
        assert f"Cofinancement non renseigné : {fmt(unknown)} parcours, laissés hors des indicateurs." in text
    else:
        assert "Les parcours dont le cofinancement n’est pas renseigné sont laissés de côté." in text


def test_definitions_timing_and_eecr04_reconciliation_are_on_the_page(filed):
    _result, _html, page, csv, _path, frame = filed
    text = re.sub(r"\s+", " ", "".join(page.text))
    assert "dans les quatre semaines (28 jours) qui suivent la sortie de l'opération" in text
    assert "compté l'année civile de sortie" in text and "compté l'année civile d'entrée" in text
    definitions = next(t for t in page.tables if t["caption"].startswith("Définition et moment"))
    codes = [row[0][0] for row in definitions["rows"][1:]]
    assert codes == ["EECO01", "EECO06", "EECO07", "EECO09", "EECO10", "EECO11", "EECO12", "EECO13", "EECO17",
                     "EECR02", "EECR04", "EECR01"]  # fmt: skip
    steps = next(t for t in page.tables if t["caption"].startswith("Des sorties vers l’emploi à l’indicateur EECR04"))
    header, *rows = steps["rows"]
    names = [h for h, _ in header]
    steps_shown = [
        "dont hors périmètre FSE+",
        "dont motif de sortie inconnu",
        "dont situation commencée après 28 jours",
    ]
    assert names == ["Année de sortie", "Emploi + Alternance", *steps_shown, "dont EECR04"]
    markers = (suppression_marker(MIN_CELL), SECONDARY_MARKER)
    cells = {r[0][0]: [c for c, _ in r[1:]] for r in rows}
    both = frame["exit_date"].notna() & frame["exit_category"].isin(["job", "work_study"])
    assert _int(cells["Toutes années"][0]) == int(both.sum())
    tables = _year_tables(page)
    for label, values in cells.items():
        assert sum(v in markers for v in values) != 1  # the steps add up to the first column
        if not any(v in markers for v in values):
            assert _int(values[0]) == sum(_int(v) for v in values[1:])
        if label != "Toutes années" and int(label) in tables:  # the same cell, same text, as in that year's table
            year = tables[int(label)].set_index("Code")
            assert (
                values[-1] == re.sub(r"(?<=\d)\s(?=\d)", "", year.loc["EECR04", "Total"])
                or values[-1] == (year.loc["EECR04", "Total"])
            )
    column = [values[-1] for values in cells.values()]
    assert sum(v in markers for v in column) != 1  # the years add up to "Toutes années"
    if not any(v in markers for v in column):
        assert _int(column[-1]) == sum(_int(v) for v in column[:-1])
        assert _int(column[-1]) == csv.loc[csv["code"] == "EECR04", "total"].astype(int).sum()
    assert "EECR04 n’est pas la somme des sorties « Emploi »" in text


def test_csv_rows_are_the_page_cells_with_the_same_markers(filed):
    _result, _html, page, csv, _path, _frame = filed
    assert list(csv.columns) == ["code", "indicator", "year", "women", "men", "total"]
    tables = _year_tables(page)
    assert sorted(set(csv["year"].astype(int))) == sorted(tables)
    markers = {suppression_marker(MIN_CELL), SECONDARY_MARKER}
    n_hidden = 0
    for record in csv.itertuples(index=False):
        table = tables[int(record.year)]
        i = table.index[table["Code"] == record.code][0]
        assert table.at[i, "Indicateur (règlement (UE) 2021/1057, annexe I)"] == record.indicator
        for column, header in (("women", "Femmes"), ("men", "Hommes"), ("total", "Total")):
            on_page = re.sub(r"(?<=\d)\s(?=\d)", "", table.at[i, header])
            hidden = "suppressed" in table.attrs["classes"].at[i, header]
            assert getattr(record, column) == on_page, (record, column)
            assert hidden == (getattr(record, column) in markers)
            n_hidden += hidden
            if not hidden:
                value = int(getattr(record, column))
                assert value == 0 or value >= MIN_CELL
    assert n_hidden > 0  # Bretagne has small ESF+ cells: the test compares real markers


def test_the_link_opens_the_csv_and_the_manifest_lists_it(filed):
    result, _html, page, _csv, csv_path, _frame = filed
    links = [(href, text) for href, text in page.links if href and href.endswith(".csv")]
    assert links == [(f"{SLUG}-fse.csv", "Télécharger ces indicateurs au format CSV")]
    assert (result.out_dir / links[0][0]).resolve() == csv_path.resolve()
    manifest = json.loads((result.out_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = next(r for r in manifest["regions"] if r["slug"] == SLUG)
    assert entry["esf_csv"] == {"path": csv_path.name, "sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest()}
    assert manifest["comparison"] is None


def test_no_developer_note_reaches_the_page_or_the_csv(filed):
    result, html, _page, _csv, csv_path, _frame = filed
    for text in (html, csv_path.read_text(encoding="utf-8"), *(p.read_text("utf-8") for p in result.out_dir.glob("*"))):
        for note in ("non confirm", "à vérifier", "code_confirmed", "unconfirmed"):
            assert note not in text


def test_without_the_cofunding_column_every_trainee_counts_and_the_page_says_so(tmp_path):
    from toolkit.i18n import use_language
    from toolkit.reports.build import build_content
    from toolkit.reports.esf_content import esf_csv_frame, esf_section
    from toolkit.reports.national import compute_national
    from toolkit.reports.render import render_section
    from toolkit.reports.words import Words
    from toolkit.synth import write_export

    export = write_export(tmp_path / "data", seed=5, trainees_per_year=300)
    raw = pd.read_csv(export, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    raw.drop(columns="cofinancement_fse").to_csv(tmp_path / "sans.csv", sep=";", encoding="cp1252", index=False)
    national = compute_national(tmp_path / "sans.csv", tmp_path / "work")
    content = build_content(national, MIN_CELL)
    region = next(iter(content.pages))
    page = content.pages[region]
    assert esf_section.__module__ == "toolkit.reports.esf_content"
    html = render_section(page.section("esf"), Words(content.publication, MIN_CELL)).html
    n = int((national.frame["region"].astype("object") == region).sum())
    assert "L’export ne dit pas quels parcours sont cofinancés par le FSE+" in html
    flat = re.sub(r"(?<=\d)\s(?=\d{3})", "", html)
    assert f"les indicateurs comptent tous les stagiaires de la région, {n}." in flat
    csv = esf_csv_frame(page, content.publication)
    entered = csv[csv["code"] == "EECO01"].set_index("year")["total"]
    shown = [int(v) for v in entered if v.isdigit()]
    hidden = [v for v in entered if not v.isdigit()]
    assert set(hidden) <= {HIDDEN_MARKER}
    if hidden:  # hidden years: at least 1 trainee each, never a single one (the years add up to the total)
        assert len(hidden) >= 2 and sum(shown) <= n - len(hidden)
    else:
        assert sum(shown) == n  # every trainee of the region, by year of entry
    with use_language("en"):
        english = esf_csv_frame(page, content.publication)
    assert english.loc[english["code"] == "EECR04", "indicator"].iloc[0].startswith("Participants in employment")
    assert not Path(tmp_path / "work").joinpath("fse.csv").exists()


def test_a_region_with_no_cofunded_parcours_says_there_is_nothing_to_file(filed, tmp_path):
    from toolkit.i18n import use_language
    from toolkit.reports.build import build_content
    from toolkit.reports.esf_content import esf_csv_frame
    from toolkit.reports.national import compute_national
    from toolkit.reports.render import render_section
    from toolkit.reports.words import Words
    from toolkit.synth import write_export

    export = write_export(tmp_path / "data", seed=5, trainees_per_year=300)
    raw = pd.read_csv(export, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    raw["cofinancement_fse"] = "non"  # no parcours co-financed anywhere
    raw.to_csv(tmp_path / "sans_fse.csv", sep=";", encoding="cp1252", index=False)
    national = compute_national(tmp_path / "sans_fse.csv", tmp_path / "work")
    content = build_content(national, MIN_CELL)
    for page in content.pages.values():
        words = Words(content.publication, MIN_CELL)
        html = render_section(page.section("esf"), words).html
        assert "Aucun parcours de la région n’est cofinancé par le FSE+ sur la période" in html
        assert esf_csv_frame(page, content.publication).empty  # the header only
    with use_language("en"):
        english = render_section(page.section("esf"), Words(content.publication, MIN_CELL)).html
    assert "there is no indicator to file" in english
    assert "Aucun parcours de la région" not in filed[1]  # a region with co-financed parcours files them
