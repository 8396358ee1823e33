"""End to end against the synthetic generator's saved truth: raw export -> clean_export ->
model / fair comparison, compared with the parameters that generated the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.cleaning import clean_export
from toolkit.compare import compare_units, fit_expected_model
from toolkit.models import fit_positive_exit
from toolkit.synth import generate_export

KEY = "test-key-truth"


def _clean(export):
    return clean_export(export.raw, key=KEY).data


@pytest.mark.slow
def test_fitted_coefficients_cover_the_generators_truth_across_seeds():
    covered, total, z_scores = 0, 0, []
    for seed in range(4):
        export = generate_export(seed=100 + seed, trainees_per_year=4000, site_sd=0.0, planted=False)
        model = fit_positive_exit(_clean(export))
        table = model.odds_ratios
        truth = pd.Series(export.truth["coefficients"])
        common = truth.index.intersection(table.index)
        assert len(common) >= 0.9 * len(truth), set(truth.index) - set(table.index)
        # 95 % CI of the log-odds: OR bounds on the log scale.
        low, high = np.log(table.loc[common, "ci_low"]), np.log(table.loc[common, "ci_high"])
        inside = (low <= truth[common]) & (truth[common] <= high)
        covered += int(inside.sum())
        total += len(common)
        z_scores += list((table.loc[common, "coef"] - truth[common]) / table.loc[common, "se"])
    coverage = covered / total
    assert 0.85 <= coverage <= 1.0, f"coverage {coverage:.3f} over {total} intervals"
    # The errors behave like standard normals: no systematic bias.
    assert abs(np.mean(z_scores)) < 0.35 and 0.6 < np.std(z_scores) < 1.4


@pytest.mark.slow
def test_planted_sites_are_flagged_and_ordinary_sites_mostly_are_not():
    export = generate_export(seed=7, trainees_per_year=15000)
    data = _clean(export)
    expected = fit_expected_model(data)
    sites = compare_units(data, by="site", expected=expected).set_index("site")
    planted = export.truth["planted_sites"]
    assert (sites.loc[planted["better"], "flag95"] == "above").all(), sites.loc[planted["better"]]
    assert (sites.loc[planted["worse"], "flag95"] == "below").all(), sites.loc[planted["worse"]]
    ordinary = sites.drop(index=planted["better"] + planted["worse"])
    false_flags = (ordinary["flag998"] != "within").mean()
    assert false_flags <= 0.05, f"{false_flags:.1%} of ordinary sites flagged at 99.8 %"
    # O/E tracks the true site effects among ordinary sites.
    true_u = pd.Series(export.truth["site_effects"]).reindex(ordinary.index)
    assert np.corrcoef(np.log(ordinary["oe_ratio"]), true_u)[0, 1] > 0.5
