"""HTML snapshot tests of the published pages: every region section and the index, on a small seeded export.

The snapshot is a normalised outline of each page (headings, sentences, every table cell, figure alt texts
and captions, the data each figure plots), not the markup, images or dates. A difference must be an
intended improvement: regenerate with ``E2C_UPDATE_SNAPSHOTS=1`` and say why in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from report_outline import outline, points_text

from toolkit.formatting import fmt_date

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("E2C_UPDATE_SNAPSHOTS") == "1"
MIN_CELL = 11
PAGES = [("Bretagne", "fr"), ("Bretagne", "en"), ("La Réunion", "fr")]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    from toolkit.reports.sections import prepare_national
    from toolkit.synth import write_export

    root = tmp_path_factory.mktemp("snap")
    export = write_export(root / "data", seed=7, trainees_per_year=1200, years=(2022, 2023))
    return prepare_national(export, root / "work", min_cell=MIN_CELL)


def _dates(national) -> tuple[str, ...]:
    day = pd.Timestamp(national.meta["generated_at"]).date()
    return tuple(str(fmt_date(day, lang)) for lang in ("fr", "en"))


def region_page(national, region: str, lang: str) -> tuple[str, list]:
    """The region's page body (every section) and its figures' data, rendered as a kernel does."""
    from toolkit.i18n import use_language
    from toolkit.reports.sections import RegionReport

    with use_language(lang):
        report = RegionReport.load(national.work_dir, region)
        sections = report.all_sections()
    figures = [{"alt": f.alt, "points": f.points} for s in sections for f in s.figures]
    return "".join(s.html for s in sections), figures


def index_page(national, lang: str) -> str:
    from toolkit.reports.sections import index_body

    first, *rest = national.regions  # the first region is not requested, the last one failed
    results = [SimpleNamespace(region=r, ok=r != rest[-1], html=f"/out/{r}.html") for r in rest]
    return index_body(national, results, lang=lang)


def _check(name: str, lines: list[str]) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if UPDATE or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"snapshot {path.name} written; check it and commit it")
    expected = path.read_text(encoding="utf-8").splitlines()
    got = text.splitlines()
    if got != expected:
        import difflib

        diff = "\n".join(difflib.unified_diff(expected, got, "snapshot", "now", lineterm="", n=1))
        pytest.fail(f"{name} differs from its snapshot:\n{diff[:6000]}")


def _slug(region: str, lang: str) -> str:
    return f"region_{region.replace(' ', '_').replace('é', 'e')}_{lang}"


@pytest.mark.parametrize(("region", "lang"), PAGES)
def test_region_page_matches_snapshot(national, region, lang):
    html, figures = region_page(national, region, lang)
    lines = outline(html, dates=_dates(national))
    for i, figure in enumerate(figures):
        lines.append(f"figure {i} alt: {figure['alt']}")
        lines += [f"figure {i} point: {p}" for p in points_text(figure["points"])]
    _check(_slug(region, lang), lines)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_index_page_matches_snapshot(national, lang):
    _check(f"index_{lang}", outline(index_page(national, lang), dates=_dates(national)))
