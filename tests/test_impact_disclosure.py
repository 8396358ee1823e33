"""The impact section's counts are cells of the publication: registered before protection, protected with the
rest of the batch, audited by the attacker, and a page prints only those that are published.

Built on a small export and a small comparison design (a few dozen E2C rows and controls per region), so that
some positive-exit counts are small and the protection has work to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.disclosure import DisclosureError, audit_publication
from toolkit.reports.impact_cells import FLAGS, flag_rows, hidden_flags, impact_key, impact_rows

MIN_CELL = 11


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from toolkit.reports.build import prepare_national
    from toolkit.synth import generate_comparison, write_export

    root = tmp_path_factory.mktemp("impact_cells")
    export = write_export(root / "data", seed=4, trainees_per_year=300)
    design = generate_comparison(seed=5, n_e2c=400, n_comparison=800, population_draws=0)
    path = root / "comparaison.csv"
    design.raw.to_csv(path, sep=";", index=False)
    national = prepare_national(export, root / "work", comparison=path, min_cell=MIN_CELL)
    rows, failed = impact_rows(national.impact_path, list(national.content.pages), MIN_CELL)
    national.sources = (export, path)  # for the end-to-end batch below
    return national, rows, failed


def _registered(publication, region: str, group: str, flag: str):
    return publication.counts.get(impact_key(flag, region, group))


def test_impact_counts_are_registered_and_equal_an_independent_count(batch):
    from toolkit.reports.national import load_impact_rows

    national, _rows, failed = batch
    publication = national.content.publication
    design, covariates = load_impact_rows(national.impact_path)
    estimated = [r for r in national.content.pages if r not in failed]
    assert len(estimated) >= 10 and failed  # most regions have an estimate; a tiny one has none
    for region in estimated:
        mine = design[design["region"].astype("object") == region]
        complete = mine[covariates].notna().all(axis=1)
        for group, code in (("treated", 1), ("control", 0)):
            side = mine["treated"] == code
            assert _registered(publication, region, group, "received") == int(side.sum())
            assert _registered(publication, region, group, "covariate_missing") == int((side & ~complete).sum())
            positive = (mine["outcome"] == 1) & complete & side
            assert _registered(publication, region, group, "positive_usable") == int(positive.sum())
    for region in failed:  # no estimate, no count
        assert _registered(publication, region, "treated", "received") is None


def test_flagged_rows_agree_with_the_estimators_accounting():
    """With trimming and common support some rows are left out for a reason: the flags give the estimator's
    own counts back (:func:`toolkit.impact.claims.group_accounting`)."""
    from toolkit.impact import estimate_att
    from toolkit.impact.claims import group_accounting

    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=n)
    treated = (rng.random(n) < 1 / (1 + np.exp(-2.5 * x))).astype(float)
    frame = pd.DataFrame(
        {
            "x": x,
            "sex": np.where(rng.random(n) < 0.5, "F", "M"),
            "treated": treated,
            "outcome": (rng.random(n) < 0.5).astype(float),
            "region": "Bretagne",
        }
    )
    frame.loc[rng.choice(n, 17, replace=False), "sex"] = None
    res = estimate_att(frame, "treated", "outcome", ["x", "sex"], trim=0.05, common_support=True)
    flags = flag_rows(frame, ["x", "sex"], res)
    accounting = group_accounting(frame, res, "treated", "outcome", ["x", "sex"])
    assert accounting[["trimmed", "outside_support"]].to_numpy().sum() > 0  # the reasons are exercised
    for group in ("treated", "control"):
        side = flags[flags["impact_group"] == group]
        expected = accounting.loc[group]
        assert int(side["received"].sum()) == expected["n_rows"]
        assert int(side["analysed"].sum()) == expected["n_analysed"]
        for reason in ("covariate_missing", "outside_support", "trimmed"):
            assert int(side[reason].sum()) == expected[reason], (group, reason)
        parts = side[["analysed", "covariate_missing", "outside_support", "trimmed", "unmatched"]].sum(axis=1)
        assert (parts <= 1).all()  # every row in at most one part: the partition the attacker uses


def test_the_attacker_finds_no_impact_count_and_catches_a_doctored_one(batch):
    national, rows, _failed = batch
    publication = national.content.publication
    impact = [k for k in publication.counts if k.population.startswith("impact:")]
    hidden = [k for k in impact if k in publication.hidden]
    small = [k for k in hidden if 1 <= publication.counts[k] < MIN_CELL]
    assert small and len(hidden) > len(small)  # small counts, and cells hidden to protect them
    result = audit_publication(publication, national.frame, MIN_CELL, other=rows, raise_on_failure=False)
    assert not result.failures
    # Write one hidden impact count back: the positive exits among the usable rows are the analysed ones (no
    # row is left out after the characteristics), so publishing them gives a small hidden count away.
    pinned = next(k for k in small if k.population == "impact:positive_analysed")
    doctored = impact_key("positive_usable", dict(pinned.where)["region"], dict(pinned.where)["impact_group"])
    assert doctored in publication.hidden and publication.counts[doctored] == publication.counts[pinned]
    publication.hidden.discard(doctored)
    try:
        with pytest.raises(DisclosureError):
            audit_publication(publication, national.frame, MIN_CELL, other=rows)
    finally:
        publication.hidden.add(doctored)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_pages_print_only_published_impact_counts(batch, lang):
    from toolkit.i18n import use_language
    from toolkit.reports.sections import RegionReport

    national, _rows, failed = batch
    publication = national.content.publication
    shown = withheld = 0
    for region in national.content.pages:
        with use_language(lang):
            report = RegionReport.load(national.work_dir, region, comparison_path=national.impact_path)
            text = _text(report.impact().html)
        hidden = hidden_flags(publication, region)
        core = {"analysed", "positive_analysed"} & hidden["treated"] or "analysed" in hidden["control"]
        if region in failed:
            assert re.search(r"(ne permettent pas|do not allow)", text) and not re.search(r"\d", text)
            continue
        if core:
            withheld += 1
            assert re.search(r"(n’est pas publiée|is not published)", text) and not re.search(r"\d", text)
            continue
        shown += 1
        assert "AIPW" in text and "95 %" in text.replace("95%", "95 %")
        analysed = [_registered(publication, region, g, "analysed") for g in ("treated", "control")]
        said = re.search(r"(?:Sont analysés|The analysis covers) ([\d\u202f]+) .+? (?:et|and) ([\d\u202f]+) ", text)
        assert said, text[:400]
        assert [int(re.sub(r"\D", "", n)) for n in said.groups()] == analysed
        treated_rate = 100 * _registered(publication, region, "treated", "positive_analysed") / analysed[0]
        assert f"{treated_rate:.1f}".replace(".", "," if lang == "fr" else ".") in text
    assert shown >= 3 and withheld >= 1  # both paths are exercised on this batch


def test_every_region_of_the_design_is_flagged_once(batch):
    _national, rows, _failed = batch
    assert set(FLAGS) <= set(rows.columns)
    assert rows.groupby(["region", "impact_group"]).size().min() >= 1
    assert not (rows["analysed"] & rows["covariate_missing"]).any()
    assert (rows["positive_analysed"] <= rows["analysed"]).all()


def test_a_page_prepared_without_comparison_data_prints_no_impact_count(batch, tmp_path):
    from toolkit.reports.build import prepare_national
    from toolkit.reports.sections import RegionReport
    from toolkit.synth import write_export

    national, _rows, _failed = batch
    export = write_export(tmp_path / "data", seed=4, trainees_per_year=300)
    plain = prepare_national(export, tmp_path / "work", min_cell=MIN_CELL)
    region = "Île-de-France"
    text = _text(RegionReport.load(plain.work_dir, region, comparison_path=national.impact_path).impact().html)
    assert "n’ont pas été préparés" in text and "e2c reports --comparison" in text
    assert not re.search(r"\d", text.replace("e2c", ""))


def test_the_batch_publishes_the_protected_impact_section(batch, tmp_path):
    """End to end through a kernel: the page's impact section gives the registered analysed counts, the
    manifest names the design, and the design's rows are not left behind."""
    from toolkit.reports import build_reports

    national, _rows, _failed = batch
    export, design = national.sources
    publication = national.content.publication
    region = "Île-de-France"
    result = build_reports(
        export, out=tmp_path / "out", regions=[region], jobs=1, progress=False, comparison=design, engine="portable"
    )
    assert result.ok
    text = _text(Path(result.regions[0].html).read_text(encoding="utf-8"))
    section = text[text.index("Impact estimé") :]
    analysed = [_registered(publication, region, g, "analysed") for g in ("treated", "control")]
    said = re.search(r"Sont analysés ([\d\u202f]+) .+? et ([\d\u202f]+) ", section)
    assert said and [int(re.sub(r"\D", "", n)) for n in said.groups()] == analysed
    manifest = json.loads(Path(result.manifest).read_text(encoding="utf-8"))
    assert manifest["comparison"]["name"] == design.name
    assert manifest["disclosure"]["cells"] == len(publication.counts)  # the impact cells are in the audit
    assert not list(Path(tmp_path / "out").rglob("*.parquet"))
