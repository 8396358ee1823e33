"""What a funder reads first, checked in the generated HTML pages: the summary right after the title, its
sentences against the numbers in the tables, agreement of number (1 / several) in both languages, the schools
table and the sort its note states, one denominator per label with a glossary, the synthetic-data banner."""

from __future__ import annotations

import html as htmllib
import re
import shutil

import pytest

from toolkit.i18n import use_language

MIN_CELL = 11
NBSP = "\u00a0"


def _pages(result) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in result.out_dir.glob("*.html")}


def _text(fragment: str) -> str:
    """The visible text of an HTML fragment, on one line, entities decoded."""
    return re.sub(r"[ \t\r\n]+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip(" ")


def _summary(page: str) -> str:
    match = re.search(r'<section[^>]*\bid="synthese"[^>]*>.*?</section>', page, re.S)
    assert match, "no summary block"
    return match.group(0)


def _paragraphs(fragment: str) -> list[str]:
    return [_text(p) for p in re.findall(r"<p>(.*?)</p>", fragment, re.S)]


def _table(page: str, caption: str) -> list[list[str]]:
    """The rows (cell texts, header row first) of the table whose caption starts with ``caption``."""
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        found = re.search(r"<caption>(.*?)</caption>", table, re.S)
        if found and _text(found.group(1)).startswith(caption):
            return [
                [_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
            ]
    raise AssertionError(f"no table {caption!r}")


def _number(text: str) -> float:
    return float(text.replace(NBSP, "").replace("%", "").replace(" ", "").replace(",", ".").strip())


def _rate_ci(cell: str) -> tuple[float, float, float]:
    rate, low, high = re.fullmatch(r"([\d,]+)\s?% \[([\d,]+) – ([\d,]+)\]", cell.replace(NBSP, " ")).groups()
    return _number(rate), _number(low), _number(high)


# --------------------------------------------------------------------------
# The summary comes first
# --------------------------------------------------------------------------
def test_the_summary_is_the_first_block_after_the_title_on_every_page(batch):
    result, _, _ = batch
    pages = _pages(result)
    assert {"bretagne.html", "la-reunion.html", "index.html"} <= set(pages)
    for name, page in pages.items():
        body = page[page.index("<main") :]
        first = re.search(r"</header>\s*<(\w+)([^>]*)>", body)  # the first element after the title block
        assert first.group(1) == "section", name
        assert 'id="synthese"' in first.group(2) and 'class="verdict"' in first.group(2), name
        assert body.index("</header>") < body.index('id="synthese"'), name
        if name != "index.html":  # the contents and the note on hidden cells come after the summary
            assert body.index('id="synthese"') < body.index('class="toc"'), name
            assert body.index('id="synthese"') < body.index("Aucun chiffre ne porte sur moins de"), name
            sentences = _paragraphs(re.sub(r"<div[^>]*>.*?</div>", "", _summary(body), flags=re.S))  # alerts apart
            assert 3 <= len(sentences) <= 4, (name, sentences)


def test_region_summary_says_the_numbers_of_the_tables(batch):
    result, _, _ = batch
    page = _pages(result)["bretagne.html"]
    summary = _text(_summary(page))
    head = _table(page, "Chiffres clés de la région et du pays")
    region, national = head[1], head[2]
    if "[" not in region[-1]:  # the region's rate is hidden: the summary says so and quotes no rate of it
        assert "Le taux de sorties positives de la région n’est pas publié" in summary
        assert not re.search(r"\d,\d\s?% des", summary)
        return
    rate, low, high = _rate_ci(region[-1])
    n_rate, n_low, n_high = _rate_ci(national[-1])
    assert region[0] == "Bretagne" and national[0] == "National"
    # raw rate, its interval and its exits as in the key figures; the national rate
    assert region[-1].split(" [")[0] in summary and f"{region[3]} sorties à l’issue connue" in summary
    assert region[-1].split("[")[1].rstrip("]") in summary and national[-1].split(" [")[0] in summary
    # the gap in points, and the reading that goes with the intervals (computed here from the table)
    gap = round(abs(rate - n_rate), 1)
    gap_text = f"{gap:.1f}".replace(".", ",") + (" point" if gap < 2 else " points")
    assert gap_text in summary
    overlap = not (low > n_high or high < n_low)
    assert ("indiscernable du hasard" in summary) == overlap
    assert ("plus grand que ce que le hasard expliquerait" in summary) == (not overlap)
    # the fair comparison: the O/E and its limits of the regions' reading further down
    reading = re.search(
        r"rapport O/A ([\d,]+), limites à 95 % : ([\d,]+) – ([\d,]+)\) : ([^.]+?) par rapport", _text(page)
    )
    if reading is None:  # the region's O/E is hidden on the page: so it is in the summary
        assert "La comparaison à profil égal de la région n’est pas publiée" in summary
        return
    oe, lo, hi, words = reading.groups()
    assert f"{oe} fois les sorties positives attendues" in summary
    assert f"limites à 95 % : {lo} – {hi}" in summary
    assert f"elle est {words}" in summary or (words != "dans la norme" and words.split()[0] in summary)
    if words == "dans la norme" and not overlap:  # the raw gap and the fair comparison, in one reading
        assert "l’écart brut avec le pays ne dépassant pas" in summary


def test_index_summary_names_the_regions_its_table_marks(batch):
    result, _, _ = batch
    page = _pages(result)["index.html"]
    block = _summary(page)
    sentences = _paragraphs(block)
    rows = _table(block, "Régions : taux brut")  # the table of regions is inside the summary
    header, rows = rows[0], rows[1:]
    assert header[:6] == [
        "Région",
        "Sorties à l’issue connue",
        "Taux brut [IC 95 %]",
        "Rapport O/A (à profil égal)",
        "Limites à 95 %",
        "Lecture",
    ]
    below = [r[0] for r in rows if r[5] == "En dessous de l’attendu"]
    above = [r[0] for r in rows if r[5] == "Au-dessus de l’attendu"]
    within = [r[0] for r in rows if r[5] == "Dans la norme"]
    text = " ".join(sentences)
    if any(r[5] == "s" for r in rows):  # a region's reading is hidden: the sentence names none of them
        assert "le détail des régions est dans le tableau ci-dessous" in text
        assert "au-dessus de l’attendu (" not in text and "en dessous (" not in text
    elif not below and not above:
        assert f"les {len(within)} régions comparées sont toutes dans la norme" in text
    else:
        assert f"sur {len(within) + len(below) + len(above)} régions comparées" in text
        for names, word in ((below, "en dessous"), (above, "au-dessus de l’attendu")):
            if names:
                assert f"{len(names)} {word} ({', '.join(names)})" in text
    # the national rate of the key figures; the regions' raw rates span the range the sentence gives
    rates = [_rate_ci(r[2])[0] for r in rows if "[" in r[2]]
    low, high = (f"{v:.1f}".replace(".", ",") + f"{NBSP}%" for v in (min(rates), max(rates)))
    if len(rates) == len(rows):  # the spread only when every region's raw rate is published
        assert f"de {low} à {high} selon les régions" in text
    else:
        assert "selon les régions" not in text
    nat = re.search(r"Taux de sorties positives</p><p class=\"value\">([^<]+)</p>", page)
    assert nat and htmllib.unescape(nat.group(1)).split(" ⚠")[0] in text


# --------------------------------------------------------------------------
# Agreement of number, both languages
# --------------------------------------------------------------------------
def _render(msg, lang: str = "fr") -> str:
    from toolkit.reports.protect import ReportPublication
    from toolkit.reports.render import render_blocks
    from toolkit.reports.words import Words

    with use_language(lang):
        return _text(render_blocks([msg], Words(ReportPublication(min_cell=MIN_CELL), MIN_CELL)).html)


@pytest.mark.parametrize(
    ("args", "fr", "en"),
    [
        (
            (22, 1, 0),
            ["1 fait mieux que l’attendu", "aucun ne fait moins bien", "les 21 autres sont dans la norme"],
            ["1 does better than expected", "none does less well", "the other 21 are within the norm"],
        ),
        (
            (22, 3, 2),
            ["3 font mieux que l’attendu", "2 font moins bien", "les 17 autres"],
            ["3 do better than expected", "2 do less well", "the other 17 are"],
        ),
        (
            (2, 1, 1),
            ["1 fait mieux", "1 fait moins bien", "aucun n’est dans la norme"],
            ["1 does better", "1 does less well", "none is within the norm"],
        ),
        ((5, 0, 0), ["Aucun des 5 sites représentés"], ["None of the 5 sites shown"]),
        ((1, 1, 0), ["Le site représenté fait mieux que l’attendu"], ["The site shown does better than expected"]),
    ],
)
def test_sites_sentence_agrees_with_each_count(args, fr, en):
    from toolkit.reports.verdict_content import sites_reading

    msg = sites_reading(*args)
    text_fr, text_en = _render(msg), _render(msg, "en")
    for part in fr:
        assert part in text_fr, (part, text_fr)
    for part in en:
        assert part in text_en, (part, text_en)
    assert "1 font" not in text_fr and "sites représentés, 0" not in text_fr


@pytest.mark.parametrize(
    ("gap", "fr", "en"),
    [
        (0.4, "0,4 point", "0.4 points"),
        (1.0, "1,0 point", "1.0 point"),
        (1.9, "1,9 point", "1.9 points"),
        (2.0, "2,0 points", "2.0 points"),
        (-4.5, "4,5 points", "4.5 points"),
    ],
)
def test_points_agree_in_both_languages(gap, fr, en):
    from toolkit.reports.verdict_content import points

    assert _render(points(gap)) == fr.replace(" ", " ")
    assert _render(points(gap), "en") == en


def test_index_sentence_agrees_with_one_or_several_regions():
    import pandas as pd

    from toolkit.reports.content import FigureData, Msg
    from toolkit.reports.verdict_content import _regions_sentence

    def figure(flags):
        n = len(flags)
        points_ = pd.DataFrame(
            {
                "region": ["Bretagne", "Normandie", "Occitanie", "La Réunion"][:n],
                "n": [500] * n,
                "observed": [300] * n,
                "oe_ratio": [1.0] * n,
                "flag95": flags,
            }
        )
        return FigureData("regions", points_, Msg(""), Msg(""), keys=[None] * n)

    one = _render(_regions_sentence(figure(["within", "within", "within", "below"]), MIN_CELL))
    assert "3 sont dans la norme" in one and "aucune au-dessus" in one and "1 en dessous (La Réunion)" in one
    two = _render(_regions_sentence(figure(["above", "within", "below", "below"]), MIN_CELL), "en")
    assert "1 is within the norm" in two and "1 above expected (Bretagne)" in two
    assert "2 below (Occitanie, La Réunion)" in two


# --------------------------------------------------------------------------
# The English page
# --------------------------------------------------------------------------
def test_english_summary_and_glossary(batch):
    from toolkit.reports.sections import RegionReport, index_body

    result, _, _ = batch
    work = result.work_dir / result.period / "national"
    with use_language("en"):
        report = RegionReport.load(work, "Bretagne")
        page = "".join(s.html for s in report.all_sections())
    summary = _text(_summary(page))
    assert summary.startswith("In brief ")
    assert "exits with a known outcome are positive (95% CI:" in summary or "rate is not published" in summary
    for french in ("sorties", "attendu", "norme", "IC 95", "\u00a0%"):
        assert french not in summary, french
    assert 'class="banner-synthetic" role="note">Fictitious data — do not circulate</div>' in page
    assert "<dt>Exits with a known outcome</dt>" in page.replace("’", "'") or "Exits with" in _text(page)
    from types import SimpleNamespace

    index = index_body(SimpleNamespace(content=None, work_dir=work), [], lang="en")
    assert "Fictitious data — do not circulate" in index and "In brief" not in index
    assert "National summary" in _text(_summary(index))


# --------------------------------------------------------------------------
# Schools, sites under their school, sort as the note says
# --------------------------------------------------------------------------
def test_schools_table_matches_the_data_and_is_alphabetical(batch):
    from toolkit.cleaning import clean_export
    from toolkit.indicators import wilson_interval

    result, _, export = batch
    page = _pages(result)["bretagne.html"]
    rows = _table(page, "Écoles de la région")
    assert rows[0] == [
        "École",
        "Sorties à l’issue connue",
        "Sorties positives",
        "Taux brut [IC 95 %]",
        "O/A",
        "Lecture",
    ]
    names = [r[0] for r in rows[1:]]
    assert names == sorted(names, key=str.casefold) and len(names) >= 2
    frame = clean_export(export).data
    known = frame[frame["positive_exit"].notna() & frame["exit_date"].notna()]
    for row in rows[1:]:
        school = known[known["school"].astype(str) == row[0]]
        n, k = len(school), int(school["positive_exit"].astype(bool).sum())
        if row[1] not in ("s", f"< {MIN_CELL}"):
            assert _number(row[1]) == n, row
        if row[2] not in ("s", f"< {MIN_CELL}") and "[" in row[3]:
            assert _number(row[2]) == k
            low, high = wilson_interval(k, n)
            rate, lo, hi = _rate_ci(row[3])
            assert (rate, lo, hi) == (round(100 * k / n, 1), round(100 * float(low), 1), round(100 * float(high), 1))
    assert "Écoles dans l’ordre alphabétique" in _text(page)


def test_sites_sit_under_their_school_in_the_stated_order(batch):
    result, _, export = batch
    page = _pages(result)["bretagne.html"]
    for caption in ("Sorties positives par site", "Situation à la sortie par site", "Comparaison équitable des sites"):
        rows = _table(page, caption)
        assert rows[0][:2] == ["Site", "École"], caption
        listed = [(r[1], r[0]) for r in rows[1:] if not r[0].startswith("Autres sites")]
        assert all(school for school, _ in listed), caption  # each site shows its school
        assert listed == sorted(listed, key=lambda p: (p[0].casefold(), p[1].casefold())), caption
        assert all(not r[0].startswith("Autres sites") for r in rows[1:-1])  # grouped small sites last
    note = "Sites regroupés par école : écoles, puis sites de chaque école, dans l’ordre alphabétique"
    assert _text(page).count(note) == 3
    assert "Sites dans l’ordre alphabétique" not in page


# --------------------------------------------------------------------------
# One denominator per label, a glossary, Oui before Non
# --------------------------------------------------------------------------
def test_each_label_has_one_denominator_and_the_glossary_defines_it(batch):
    result, _, _ = batch
    page = _pages(result)["bretagne.html"]
    text = _text(page)
    known = _table(page, "Chiffres clés de la région et du pays")[1][3]
    assert f"dont {known} à l’issue connue" in text  # the card and the table say the same number
    for caption in ("Sorties positives par site", "Comparaison équitable des sites"):  # same label, same meaning
        assert "Sorties à l’issue connue" in _table(page, caption)[0]
    mix = _table(page, "Situation à la sortie (Bretagne)")
    assert mix[0][2] == "Part (situation connue)"
    counts = {r[0]: r[1] for r in mix[1:]}
    shown = [(r[1], r[2]) for r in mix[1:] if r[0] != "Sortie non renseignée" and r[2] not in ("s", "n.d.")]
    if all(c[0] not in ("s", f"< {MIN_CELL}") for c in counts.values()):
        base = sum(_number(c) for k, c in counts.items() if k != "Sortie non renseignée")
        for n, share in shown:  # shares are of the exits whose situation is known, as the header says
            assert abs(100 * _number(n) / base - _number(share)) < 0.06
    glossary = page[page.index('id="glossary"') :]
    terms = [_text(t) for t in re.findall(r"<dt>(.*?)</dt>", glossary)]
    for term in (
        "Stagiaires entrés",
        "Sorties",
        "Situation à la sortie connue",
        "Sorties à l’issue connue",
        "Sortie positive",
        "IC 95 %",
        "O/A (observé / attendu)",
        "Variation habituelle entre unités (τ²)",
        "CITE",
    ):
        assert term in terms, term
    assert "effet aléatoire additif" in _text(glossary)
    assert '<a href="#glossary">Glossaire</a>' in page


def test_yes_comes_before_no_in_every_table(batch):
    result, _, _ = batch
    for name, page in _pages(result).items():
        for table in re.findall(r"<table>.*?</table>", page, re.S):
            labels = [_text(c) for c in re.findall(r'<th scope="row">(.*?)</th>', table, re.S)]
            if "Oui" in labels and "Non" in labels:
                assert labels.index("Oui") < labels.index("Non"), (name, labels)


def test_methods_agree_with_the_sections_present(tmp_path):
    from toolkit.reports.build import build_content
    from toolkit.reports.national import compute_national
    from toolkit.reports.render import render_section
    from toolkit.reports.words import Words
    from toolkit.synth import generate_export

    raw = generate_export(seed=5, trainees_per_year=700, years=(2023,)).raw
    national = compute_national(raw, tmp_path, min_cell=MIN_CELL)
    for comparison, said in ((False, "faute de groupe de comparaison"), (True, "la section « Impact estimé »")):
        content = build_content(national, MIN_CELL, comparison=comparison)
        page = content.pages["Bretagne"]
        words = Words(content.publication, MIN_CELL)
        methods = _text(render_section(page.section("methods"), words).html)
        glossary = _text(render_section(page.section("glossary"), words).html)
        assert said in methods
        assert ("faute de groupe de comparaison" in methods) == (not comparison)
        assert ("Taille effective" in glossary) == comparison
        assert "variation additive entre unités" not in methods and "effet aléatoire additif" in methods


# --------------------------------------------------------------------------
# Synthetic-data banner
# --------------------------------------------------------------------------
BANNER = '<div class="banner-synthetic" role="note">Données fictives — ne pas diffuser</div>'


def test_synthetic_pages_carry_the_banner_at_the_top(batch):
    result, _, _ = batch
    for name, page in _pages(result).items():
        body = page[page.index("<main") :]
        assert BANNER in body, name
        assert body.index(BANNER) < body.index("<h1"), name


def test_a_real_looking_export_gets_no_banner(batch, tmp_path):
    from toolkit.reports.sections import RegionReport, index_body, prepare_national
    from toolkit.synth import is_synthetic_export, write_export

    _, _, export = batch
    assert is_synthetic_export(export)
    school = tmp_path / "ecole" / "export_ecole.csv"  # the same rows, as a school would send them: no truth.json
    school.parent.mkdir()
    shutil.copy(export, school)
    assert not is_synthetic_export(school)
    national = prepare_national(school, tmp_path / "work", min_cell=MIN_CELL, period="2023")
    page = "".join(s.html for s in RegionReport.load(national.work_dir, "Bretagne").all_sections())
    assert "banner-synthetic" not in page and 'id="synthese"' in page
    assert "banner-synthetic" not in index_body(national, [])
    # an `e2c synth` export written anywhere carries it; so does a renamed copy beside its own truth.json
    other = write_export(tmp_path / "synth", seed=3, trainees_per_year=300, years=(2023,), name="autre")
    assert is_synthetic_export(other)
    (tmp_path / "synth" / "truth.json").write_text("{not json", encoding="utf-8")
    assert not is_synthetic_export(other)


# --------------------------------------------------------------------------
# A school's total must not give away its small grouped sites
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rests", "hidden"),
    [
        ({"A": 5, "B": 7, "C": 0}, {"A", "B"}),  # two schools with small sites in the grouped row: both hidden
        ({"A": 5, "B": 0, "C": 0}, set()),  # one school's rest is the grouped row itself, published as such
        ({"A": 5, "B": 30, "C": 0}, {"A", "C"}),  # A is small; a second school so the region total does not give it
    ],
)
def test_schools_whose_rest_is_small_are_hidden(rests, hidden):
    from types import SimpleNamespace

    import pandas as pd

    from toolkit.disclosure import CellKey
    from toolkit.reports.protect import ReportPublication
    from toolkit.reports.schools_content import _hide_differences, _keys

    listed = {"A": 300, "B": 200, "C": 150}
    sites = pd.DataFrame(
        {
            "site": [f"{s} – site 1" for s in listed],
            "school": list(listed),
            "n_known": list(listed.values()),
            "n_positive": [v // 2 for v in listed.values()],
        }
    )
    mine = pd.DataFrame(
        {
            "school": list(listed),
            "n": [listed[s] + rests[s] for s in listed],
            "observed": [listed[s] // 2 + rests[s] for s in listed],  # the rest's exits all positive
        }
    )
    publication = ReportPublication(min_cell=MIN_CELL)
    ctx = SimpleNamespace(table=lambda name: sites, min_cell=MIN_CELL, builder=SimpleNamespace(publication=publication))
    known, positive = _keys(mine["school"])
    _hide_differences(ctx, mine, known, positive)
    assert {dict(k.where)["school"] for k in publication.hidden} == hidden
    assert all(k.population in ("known", "positive") for k in publication.hidden)
    assert CellKey.of("known", school="C") not in publication.hidden or "C" in hidden


def test_a_withheld_rate_leaves_a_summary_that_claims_nothing(tmp_path):
    from test_real_exports import _biased_export

    from toolkit.reports.sections import RegionReport, index_body, prepare_national

    path = tmp_path / "export.csv"
    _biased_export().to_csv(path, sep=";", index=False)  # over half the outcomes unknown, no model
    national = prepare_national(path, tmp_path / "work", mapping="data/raw/mapping_example.yml", min_cell=MIN_CELL)
    page = RegionReport.load(national.work_dir, "Bretagne").title_block().html
    for html in (page, index_body(national, [])):
        summary = _text(_summary(html))
        assert "Le taux de sorties positives n’est pas publié" in summary
        assert "Pas de comparaison à profil égal" in summary
        assert not re.search(r"\d,\d\s?%", summary.split("Attention")[0])  # no rate, no share before the alert
        assert "Attention : données incomplètes" in summary  # the alert is in the summary, on the first screen
