"""The attacker on generated pages: a batch is published only if its audit passes, and the pages publish
exactly what the audit audited.

A small batch (two regions rendered, every region protected) is built once; its pages are read back as a
reader reads them (tables, cards, sentences, figure alt text) and compared with the cells the batch
registered: every number shown is its registered cell's value, every marker stands on a hidden cell, and no
sentence built on a hidden cell is shown. A doctored page or publication (one hidden value written back) is
caught, and a batch whose audit fails writes no page and exits with its own status.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from toolkit.disclosure import DisclosureError
from toolkit.reports import build as build_module
from toolkit.reports.content import Card, Cards, FigureData, Msg, Num, Table
from toolkit.reports.protect import ReportPublication, audit_gate
from toolkit.reports.region_content import short_site
from toolkit.reports.words import HIDDEN_MARKER, Words

MIN_CELL = 11
REGIONS = ["Bretagne", "La Réunion"]


def _small_export(root: Path, seed: int, per_year: int, years=(2022, 2023)) -> Path:
    from toolkit.synth import write_export

    return write_export(root / f"data{seed}", seed=seed, trainees_per_year=per_year, years=years)


@pytest.fixture(scope="module")
def batch():
    """One small batch: its content as built (captured) and the pages written."""
    from toolkit.reports import build_reports

    captured = []
    original = build_module.build_content

    def capture(national, *args, **kwargs):
        content = original(national, *args, **kwargs)
        captured.append((content, national.frame))
        return content

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        root = Path(tmp)
        export = _small_export(root, seed=5, per_year=600)  # about 90 trainees per region
        mp.setattr(build_module, "build_content", capture)
        result = build_reports(data=export, out=root / "out", regions=REGIONS, jobs=2, progress=False)
        assert result.ok, [r.error for r in result.regions]
        pages = {r.region: Path(r.html).read_text("utf-8") for r in result.regions}
        pages["index"] = Path(result.index).read_text("utf-8")
        manifest = json.loads(Path(result.manifest).read_text("utf-8"))
        ((content, frame),) = captured
        yield {"content": content, "html": pages, "manifest": manifest, "frame": frame}


# --------------------------------------------------------------------------
# Reading a page back
# --------------------------------------------------------------------------
def _number(text: str) -> float | None:
    """A number as the French pages write it ("1 234", "95,4 %", "1,39"); None when there is none."""
    match = re.search(r"-?\d[\d\u202f\u00a0 ]*(?:,\d+)?", text)
    if match is None:
        return None
    return float(re.sub(r"[\u202f\u00a0 ]", "", match.group(0)).replace(",", "."))


def _content_objects(obj):
    """Every dataclass, list and dict item under ``obj``, in page order (to find every Msg, Num, card)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        yield item
        if is_dataclass(item) and not isinstance(item, type):
            stack.extend(reversed([getattr(item, f.name) for f in fields(item)]))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))


def _ratio_value(publication: ReportPublication, ratio) -> float:
    den = ratio.denominator
    den = publication.counts[den] if not isinstance(den, (int, float)) else den
    return ratio.scale * publication.counts[ratio.numerator] / den


def _tables_of(page, words: Words):
    return [b for s in page.sections for b in s.blocks if isinstance(b, Table) and (b.keys or b.ratios)]


def _html_tables(soup) -> dict[str, list]:
    found: dict[str, list] = {}
    for table in soup.find_all("table"):
        caption = table.find("caption").get_text(" ", strip=True)
        found.setdefault(caption, []).append(table)
    return found


def check_page(page, html: str, publication: ReportPublication) -> list[str]:
    """Everything the page shows against the registered cells; the list of discrepancies (empty: clean)."""
    words = Words(publication, publication.min_cell)
    soup = BeautifulSoup(html, "html.parser")
    problems: list[str] = []
    by_caption = _html_tables(soup)
    for table in _tables_of(page, words):
        caption = " ".join(words.text(table.caption).split())
        if not by_caption.get(caption):
            problems.append(f"{page.id}: table {table.id!r} ({caption!r}) not found in the page")
            continue
        problems += _check_table(page.id, table, by_caption[caption].pop(0), publication, words)
    problems += _check_cards(page, soup, publication, words)
    problems += _check_sentences(page, soup, publication)
    problems += _check_figures(page, soup, publication, words)
    return problems


def _check_table(page_id, table: Table, html_table, publication, words) -> list[str]:
    problems = []
    rows = html_table.find("tbody").find_all("tr")
    if len(rows) != len(table.data):
        return [f"{page_id}/{table.id}: {len(rows)} rows shown, {len(table.data)} registered"]
    hidden_of = {}
    for name, keys in table.keys.items():
        hidden_of[name] = [words.hidden(k) for k in keys]
    for name, ratios in table.ratios.items():
        hidden_of[name] = [words.hidden(r) for r in ratios]
    for i, tr in enumerate(rows):
        cells = tr.find_all(["th", "td"])
        for j, column in enumerate(table.columns):
            cell, where = cells[j], f"{page_id}/{table.id}/{i}/{column.name}"
            text = cell.get_text(" ", strip=True)
            shown_hidden = "suppressed" in (cell.get("class") or [])
            owner = column.name if column.name in hidden_of else column.follows
            hidden = bool(owner in hidden_of and hidden_of[owner][i])
            if shown_hidden and not hidden:
                problems.append(f"{where}: marker on a cell that is not hidden")
            if hidden and (not shown_hidden or text != HIDDEN_MARKER):
                problems.append(f"{where}: hidden cell shown as {text!r}")
            if hidden or shown_hidden:
                continue
            if column.name in table.keys and table.keys[column.name][i] is not None:
                expected = publication.counts[table.keys[column.name][i]]
                if _number(text) != expected:
                    problems.append(f"{where}: shows {text!r}, registered {expected}")
            elif column.name in table.ratios and table.ratios[column.name][i] is not None:
                ratio = table.ratios[column.name][i]
                expected = _ratio_value(publication, ratio)
                shown = _number(text)
                if shown is None or abs(shown - expected) > 0.5 * 10.0**-ratio.decimals + 1e-9:
                    problems.append(f"{where}: shows {text!r}, registered ratio {expected:.4f}")
    return problems


def _check_cards(page, soup, publication, words) -> list[str]:
    cards = [c for b in _content_objects(page) if isinstance(b, Cards) for c in b.cards]
    cards = [c for c in cards if isinstance(c, Card)]
    shown = soup.select("div.card p.value")
    problems = []
    values = [c.value for c in cards]
    if len(values) != len(shown):
        return [f"{page.id}: {len(shown)} cards shown, {len(values)} built"]
    for value, element in zip(values, shown):
        if not isinstance(value, Num):
            continue
        text = element.get_text(" ", strip=True)
        if words.num_hidden(value):
            if text != HIDDEN_MARKER:
                problems.append(f"{page.id}: hidden card value shown as {text!r}")
        elif value.key is not None and _number(text) != publication.counts[value.key]:
            problems.append(f"{page.id}: card shows {text!r}, registered {publication.counts[value.key]}")
        elif value.ratio is not None and value.kind == "pct":
            expected = _ratio_value(publication, value.ratio)
            if abs(_number(text) - expected) > 0.5 * 10.0**-value.ratio.decimals + 1e-9:
                problems.append(f"{page.id}: card shows {text!r}, registered ratio {expected:.4f}")
    return problems


def _check_sentences(page, soup, publication) -> list[str]:
    """No sentence built on a hidden cell is shown: each is rendered as it would read without protection, and
    that text must not be in the page."""
    words = Words(publication, publication.min_cell)
    leaky = Words(ReportPublication(counts=publication.counts, min_cell=publication.min_cell), publication.min_cell)
    text = " ".join(soup.get_text(" ").split())
    problems = []
    for msg in (m for m in _content_objects(page) if isinstance(m, Msg)):
        nums = [v for v in msg.args.values() if isinstance(v, Num)]
        if not any(words.num_hidden(n) for n in nums) or msg.role == "marker":
            continue
        sentence = " ".join((leaky.msg(msg) or "").split())
        if len(sentence) > 12 and sentence in text:
            problems.append(f"{page.id}: sentence on a hidden cell shown: {sentence!r}")
    return problems


def _check_figures(page, soup, publication, words) -> list[str]:
    """A unit hidden in a table is not drawn: its label is not in any figure's alt text."""
    alts = " ".join(img.get("alt", "") for img in soup.find_all("img"))
    problems = []
    for figure in (b for b in _content_objects(page) if isinstance(b, FigureData)):
        if not figure.keys:
            continue
        points = figure.points.reset_index(drop=True)
        label = {"funnel": "site", "regions": "region"}.get(figure.kind)  # the units a reader can name
        for i, key in enumerate(figure.keys):
            if label is not None and words.hidden(key):
                name = short_site(points[label].iat[i]) if label == "site" else str(points[label].iat[i])
                if len(name) > 3 and re.search(rf"\b{re.escape(name)}\b", alts):
                    problems.append(f"{page.id}: hidden unit {name!r} of figure {figure.kind} in alt text")
    return problems


# --------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------
def test_batch_passes_the_audit_and_records_it(batch):
    content, manifest = batch["content"], batch["manifest"]
    audit = manifest["disclosure"]
    publication = content.publication
    assert audit == content.audit
    assert audit["cells"] == len(publication.counts) > 1000
    assert 0 < audit["hidden"] == len(publication.hidden & set(publication.counts))
    assert math.isclose(audit["share_hidden"], audit["hidden"] / audit["cells"], abs_tol=1e-4)
    narrowest = audit["narrowest_interval_values"]  # None: none computed exactly; "inf": all unbounded
    assert narrowest in (None, "inf") or narrowest >= MIN_CELL
    assert audit["seconds"] > 0
    # every small count is hidden, and zeros are published
    small = [k for k, v in publication.counts.items() if 1 <= v < MIN_CELL]
    assert small and all(k in publication.hidden for k in small)
    assert not any(publication.counts[k] == 0 for k in publication.hidden if k in publication.counts)


def test_pages_publish_exactly_what_was_audited(batch):
    content, html = batch["content"], batch["html"]
    publication = content.publication
    problems = []
    for region in REGIONS:
        problems += check_page(content.pages[region], html[region], publication)
    problems += check_page(content.index, html["index"], publication)
    assert not problems, "\n".join(problems[:20])
    # the checks are not empty: sentences built on hidden cells exist (and were withheld)
    words = Words(publication, MIN_CELL)
    on_hidden = [
        m
        for r in REGIONS
        for m in _content_objects(content.pages[r])
        if isinstance(m, Msg) and any(words.num_hidden(v) for v in m.args.values() if isinstance(v, Num))
    ]
    assert on_hidden


def test_pages_show_one_neutral_marker(batch):
    titles = set()
    for region in REGIONS:
        soup = BeautifulSoup(batch["html"][region], "html.parser")
        marked = soup.select(".suppressed")
        assert marked, f"{region}: no hidden cell shown"
        assert {m.get_text(strip=True) for m in marked} == {HIDDEN_MARKER}
        titles |= {m.get("title") for m in marked}
        assert "< 11" not in soup.get_text() and "&lt; 11" not in batch["html"][region]
    assert len(titles) == 1


def test_a_doctored_page_is_caught(batch):
    """One hidden value written back into a page: the page no longer publishes what was audited."""
    content, publication = batch["content"], batch["content"].publication
    region = REGIONS[0]
    page = content.pages[region]
    words = Words(publication, MIN_CELL)
    target = next(
        (t, i, c)
        for t in _tables_of(page, words)
        for c, keys in t.keys.items()
        for i, k in enumerate(keys)
        if k is not None and words.hidden(k)
    )
    table, row, column = target
    value = publication.counts[table.keys[column][row]]
    soup = BeautifulSoup(batch["html"][region], "html.parser")
    caption = " ".join(words.text(table.caption).split())
    html_table = _html_tables(soup)[caption][0]
    cell = (
        html_table.find("tbody")
        .find_all("tr")[row]
        .find_all(["th", "td"])[[c.name for c in table.columns].index(column)]
    )
    cell.string = str(value)
    cell["class"] = [c for c in cell.get("class", []) if c != "suppressed"]
    problems = check_page(page, str(soup), publication)
    assert any(f"{table.id}/{row}/{column}" in p and "hidden cell shown" in p for p in problems), problems


def test_a_doctored_publication_fails_the_audit(batch):
    """One small hidden cell published again: the attacker's audit refuses the batch and names the cell."""
    from toolkit.reports.build import BatchContent  # noqa: F401 (the content as build_content returns it)

    content = batch["content"]
    publication = content.publication
    frame = batch["frame"]
    small = sorted(
        (k for k in publication.hidden if k in publication.counts and 1 <= publication.counts[k] < MIN_CELL),
        key=lambda k: (dict(k.where).get("region") != REGIONS[0], str(k)),
    )
    # Writing back a small hidden cell that is part of a sum leaves its partners pinned.
    doctored = ReportPublication(
        counts=publication.counts,
        appearances=publication.appearances,
        ratios=publication.ratios,
        hidden=set(publication.hidden) - {small[0]},
        hidden_ratios=set(publication.hidden_ratios),
        min_cell=MIN_CELL,
    )
    pages = [*content.pages.values(), content.index]
    with pytest.raises(DisclosureError, match="›"):
        audit_gate(doctored, pages, frame, MIN_CELL)


# --------------------------------------------------------------------------
# A failing audit at the command line
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_export():
    with tempfile.TemporaryDirectory() as tmp:
        yield _small_export(Path(tmp), seed=5, per_year=400, years=(2023,))


@pytest.mark.parametrize(
    "lang, words", [("fr", "Publication refusée, aucune page n’est écrite"), ("en", "Publication refused")]
)
def test_cli_refuses_a_batch_that_fails_the_audit(tiny_export, tmp_path, capsys, monkeypatch, lang, words):
    """Protection reduced to the small cells (no secondary suppression): the real audit finds them
    recoverable, the command writes no page, says which cell, and exits with its own status."""
    import toolkit.disclosure as disclosure
    from toolkit.cli import EXIT_DISCLOSURE, main

    def primary_only(publication, frame, min_cell, **kwargs):
        publication.hidden = {k for k, v in publication.counts.items() if 1 <= v < min_cell}

    monkeypatch.setattr(disclosure, "protect_publication", primary_only)
    out = tmp_path / "out"
    status = main(["reports", "--data", str(tiny_export), "--out", str(out), "--quiet", "--lang", lang])
    err = capsys.readouterr().err
    assert status == EXIT_DISCLOSURE != 2
    assert words in err and "›" in err
    assert not list(out.rglob("*.html")) and not list(out.rglob("manifest.json"))


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """`e2c synth --per-year 1000` (about 450 trainees per region over six cohorts; 156 to 831 entrants a
    region): the national work and the batch's content, protected and audited."""
    from toolkit.cli import main
    from toolkit.reports.build import build_content
    from toolkit.reports.national import compute_national

    root = tmp_path_factory.mktemp("medium")
    assert main(["synth", "--per-year", "1000", "--seed", "3", "--out", str(root / "data")]) == 0
    national = compute_national(next((root / "data").glob("*.csv")), root / "work")
    return national, build_content(national)


def test_a_medium_synth_export_passes_the_audit(medium):
    """Every page of every region is protected and audited; a second, independent audit finds every hidden
    cell protected."""
    from toolkit.disclosure import audit_publication

    national, content = medium
    publication = content.publication
    assert len(content.pages) == len(national.regions) >= 10
    assert content.audit["hidden"] > 0 and content.audit["cells"] == len(publication.counts)
    assert all(k in publication.hidden for k, v in publication.counts.items() if 1 <= v < MIN_CELL)
    again = audit_publication(publication, national.frame, MIN_CELL, raise_on_failure=False)
    assert not again.failures


# Below this many entrants a region's key figures often differ by 1 to 10 (entries - exits, exits - known):
# one of the two is then hidden whatever its cost, since the difference is itself a small count.
KEY_FIGURES_FROM = 300


def test_regions_keep_their_key_figures(medium):
    """Entries, exits, known and positive exits, and the rate, of the country and of every region with at
    least KEY_FIGURES_FROM entrants, are published on the page as a reader reads it (cards and headline
    table), with no exception (a region with no ESF+ co-funded entrant publishes no split of the others, which
    would pin its entries). Smaller regions may lose some (156 to 295 entrants on this batch; before key
    figures had a cost, regions of 429 to 831 entrants lost their known exits and rate)."""
    from toolkit.disclosure import CellKey
    from toolkit.reports.protect import KEY_FIGURES, key_figures

    national, content = medium
    publication = content.publication
    words = Words(publication, MIN_CELL)
    for region, page in content.pages.items():
        headline = next(b for s in page.sections for b in s.blocks if isinstance(b, Table) and b.id == "headline")
        hidden = [c for c in ("n_entries", "n_exits", "n_known", "n_positive") if words.hidden(headline.keys[c][0])]
        hidden += ["rate"] if words.hidden(headline.ratios["rate"][0]) else []
        national_hidden = [c for c, keys in headline.keys.items() if words.hidden(keys[1])]
        assert not national_hidden and not words.hidden(headline.ratios["rate"][1]), region
        entries = publication.counts[CellKey.of("entries", region=region)]
        assert headline.keys["n_entries"][0] == CellKey.of("entries", region=region)
        if entries >= KEY_FIGURES_FROM:
            assert hidden == [], f"{region} ({entries} entrants) hides {hidden}"
    assert sum(entries >= KEY_FIGURES_FROM for entries in _entries(publication, content.pages)) >= 5
    assert len(key_figures(publication)) == 4 * (len(content.pages) + 1)
    assert set(KEY_FIGURES) == {k.population for k in key_figures(publication)}


def _entries(publication, regions) -> list[int]:
    from toolkit.disclosure import CellKey

    return [publication.counts[CellKey.of("entries", region=r)] for r in regions]
