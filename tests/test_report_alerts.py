"""Unknown-outcome alerts on the report content layer: a withheld rate is hidden in every table of the
batch, a caution reads in the page's language, and a batch without an expected model still lists the
regions on the index without empty comparison columns."""

from __future__ import annotations

import pytest
from test_real_exports import _biased_export

from toolkit.disclosure import CellKey
from toolkit.i18n import use_language

MAPPING = "data/raw/mapping_example.yml"


@pytest.fixture(scope="module")
def withheld(tmp_path_factory):
    from toolkit.reports.sections import prepare_national

    folder = tmp_path_factory.mktemp("withheld")
    path = folder / "export.csv"
    _biased_export().to_csv(path, sep=";", index=False)  # 25 of 40 exits unknown: over half, rate withheld
    return prepare_national(path, folder / "work", mapping=MAPPING, min_cell=11)


def test_a_withheld_rate_is_hidden_in_every_table_and_on_the_index(withheld):
    from toolkit.reports.sections import RegionReport, index_body

    meta = withheld.meta
    assert meta["alerts"]["Bretagne"] and meta["national_alerts"]  # recorded per region, for the manifest
    publication = withheld.content.publication
    positives = [k for k in publication.counts if k.population == "positive"]
    assert CellKey.of("positive", region="Bretagne") in positives
    assert all(publication.is_hidden(k) for k in positives)  # region, sites, subgroups, years, country
    rate_ratios = [r for r in publication.ratios if r.numerator.population == "positive"]
    assert rate_ratios and all(publication.ratio_hidden(r) for r in rate_ratios)
    report = RegionReport.load(withheld.work_dir, "Bretagne")
    sections = report.all_sections()
    rate_header = "Taux [IC 95 %]"
    shown = [t[rate_header] for s in sections for t in s.tables.values() if rate_header in t.columns]
    assert shown and all(v in ("s", "< 11") for column in shown for v in column)
    headline = report.headline().html
    assert "publiés dans aucun tableau" in headline
    index = index_body(withheld, [], lang="fr")
    assert "Rapport O/A" not in index and "Section non produite" in index  # no model: said, no empty columns


def test_alerts_and_model_reason_render_in_english(withheld):
    from toolkit.reports.sections import RegionReport

    report = RegionReport.load(withheld.work_dir, "Bretagne")
    with use_language("en"):
        headline = report.title_block().html + report.headline().html  # the alerts open the page, in its summary
        methods = report.methods().html
    assert "Warning: incomplete data on exit outcomes" in headline and "not published" in headline
    assert "Unknown outcome for 62.5% of exits (positive exit)" in headline  # the page's language, not the batch's
    assert "non publié" not in headline and "Section not produced" in methods


def test_a_caution_reads_in_english(tmp_path):
    from toolkit.reports.sections import RegionReport, prepare_national

    frame = _biased_export(n_positive_type=15, n_abandon=30)  # 15 of 45 unknown: alerted, not withheld
    frame.loc[:3, "Situation à la sortie"] = "Sans solution"
    path = tmp_path / "export.csv"
    frame.to_csv(path, sep=";", index=False)
    national = prepare_national(path, tmp_path / "work", mapping=MAPPING, min_cell=11)
    report = RegionReport.load(national.work_dir, "Bretagne")
    with use_language("en"):
        headline = report.headline().html
    assert "⚠" in headline and "read with caution (see the alert)" in headline
    assert "publiés dans aucun tableau" not in headline
