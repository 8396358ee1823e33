"""Tests of toolkit.compare: indirect standardisation and funnel limits,
against hand calculations and simulated units with known performance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simulate_canonical import TRUE_COEFFICIENTS, simulate_exits

from toolkit.compare import DEFAULT_EXPECTED_COVARIATES, compare_units, fit_expected_model
from toolkit.errors import ModelError, SchemaError

NO_REGION_EFFECT = {k: (0.0 if k.startswith("region[") else v) for k, v in TRUE_COEFFICIENTS.items()}
COLUMNS = [
    "n",
    "observed",
    "expected",
    "oe_ratio",
    "adjusted_rate",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "flag95",
    "flag998",
]


@pytest.fixture(scope="module")
def national():
    data, truth = simulate_exits(12000, seed=7, n_sites=40, site_sd=0.3)
    return data, truth, fit_expected_model(data)


def _hand_winsorise(z, q):
    """Set the floor(q*I) smallest / largest values to the next inner value."""
    z = np.asarray(z, dtype=float)
    order = np.sort(z)
    k = int(q * len(z))
    if k == 0:
        return z
    return np.clip(z, order[k], order[len(z) - 1 - k])


def _hand_comparison(data, by, p, overdispersion, winsor, national_rate):
    """Independent implementation of the funnel limits (loop over units)."""
    rows = []
    known = data["positive_exit"].notna().to_numpy()
    y = data["positive_exit"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    units = data[by].astype(str).to_numpy()
    for u in sorted(set(units[known])):
        sel = known & (units == u)
        o, e, v = y[sel].sum(), p[sel].sum(), (p[sel] * (1 - p[sel])).sum()
        rows.append({by: u, "n": sel.sum(), "observed": o, "expected": e, "var": v})
    t = pd.DataFrame(rows)
    t["oe_ratio"] = t["observed"] / t["expected"]
    s = np.sqrt(t["var"]) / t["expected"]
    z = (t["oe_ratio"] - 1) / s
    zw = _hand_winsorise(z, winsor)
    phi = np.mean(zw**2)
    w = 1 / s**2
    units_n = len(t)
    tau2 = max(0.0, (units_n * phi - (units_n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    if overdispersion == "additive":
        sd = np.sqrt(s**2 + tau2)
    elif overdispersion == "multiplicative":
        sd = np.sqrt(max(phi, 1.0)) * s
    else:
        sd = s
    for name, level in (("95", 0.95), ("998", 0.998)):
        zq = stats.norm.ppf(1 - (1 - level) / 2)
        t[f"lower{name}"] = np.maximum(1 - zq * sd, 0)
        t[f"upper{name}"] = 1 + zq * sd
    t["adjusted_rate"] = t["oe_ratio"] * national_rate
    return t, phi, tau2


@pytest.mark.parametrize("overdispersion", ["additive", "multiplicative", None])
def test_limits_match_independent_calculation(national, overdispersion):
    data, _, expected = national
    result = compare_units(data, by="site", expected=expected, overdispersion=overdispersion)
    p = expected.predict(data).to_numpy()
    hand, phi, tau2 = _hand_comparison(data, "site", p, overdispersion, 0.1, expected.national_rate)
    assert result["site"].tolist() == hand["site"].tolist()
    for col in ["n", "observed", "expected", "oe_ratio", "adjusted_rate", "lower95", "upper95", "lower998", "upper998"]:
        np.testing.assert_allclose(
            result[col].to_numpy(dtype=float), hand[col].to_numpy(dtype=float), rtol=1e-9, err_msg=col
        )
    assert result.attrs["phi"] == pytest.approx(phi)
    assert result.attrs["tau2"] == pytest.approx(tau2)
    assert result.attrs["method"] == overdispersion
    # Flags follow the limits.
    above = result["oe_ratio"] > result["upper998"]
    below = result["oe_ratio"] < result["lower998"]
    assert (result.loc[above, "flag998"] == "above").all() and (result.loc[below, "flag998"] == "below").all()
    assert (result.loc[~above & ~below, "flag998"] == "within").all()


def test_output_columns_and_metadata(national):
    data, _, expected = national
    result = compare_units(data, by="site", expected=expected)
    assert result.columns[0] == "site" and "region" in result.columns and "school" in result.columns
    assert all(c in result.columns for c in COLUMNS)
    assert set(result["flag95"]) <= {"above", "below", "within"}
    assert result["site"].is_monotonic_increasing  # alphabetical, never a league table
    known = data["positive_exit"].notna()
    assert result["n"].sum() == known.sum()  # every known-outcome exit has an expected value
    assert result["n_unknown_outcome"].sum() == (~known).sum()
    assert expected.national_rate == pytest.approx(data.loc[known, "positive_exit"].astype(float).mean())
    # Each simulated site belongs to one region.
    site_region = data.groupby("site", observed=True)["region"].first().astype(str)
    assert (result.set_index("site")["region"] == site_region.reindex(result["site"])).all()
    assert {"phi", "tau2", "method", "national_rate", "winsor"} <= set(result.attrs)


def test_expected_model_leaves_out_unit_and_region(national):
    data, _, expected = national
    assert expected.covariates == DEFAULT_EXPECTED_COVARIATES
    names = expected.model.odds_ratios.index
    assert not any(n.startswith(("region[", "site", "school")) for n in names)
    assert expected.model.missing["strategy"] == "indicator"
    assert expected.model.missing["rows_dropped"] == 0
    with_region = fit_expected_model(data, include_region=True)
    assert any(n.startswith("region[") for n in with_region.model.odds_ratios.index)
    with pytest.raises(ModelError, match="région"):
        compare_units(data, by="region", expected=with_region)


def test_region_comparison(national):
    data, _, expected = national
    result = compare_units(data, by="region", expected=expected)
    assert result.columns[0] == "region" and len(result) == 4
    assert "school" not in result.columns
    # Hauts-de-France has a true negative region effect (-0.2): its O/E is below 1.
    assert result.set_index("region").loc["Hauts-de-France", "oe_ratio"] < 1


def test_planted_sites_flagged_and_ordinary_sites_mostly_not():
    better = ["site_03", "site_17", "site_41"]
    worse = ["site_08", "site_29", "site_52"]
    planted = {s: 0.9 for s in better} | {s: -0.9 for s in worse}
    false95 = false998 = ordinary = 0
    for seed in range(3):
        data, _ = simulate_exits(
            30000, seed=300 + seed, n_sites=60, site_sd=0.0, planted=planted, coefficients=NO_REGION_EFFECT
        )
        result = compare_units(data, by="site").set_index("site")
        assert (result.loc[better, "flag998"] == "above").all(), result.loc[better, ["oe_ratio", "upper998"]]
        assert (result.loc[worse, "flag998"] == "below").all(), result.loc[worse, ["oe_ratio", "lower998"]]
        rest = result.drop(index=better + worse)
        ordinary += len(rest)
        false95 += (rest["flag95"] != "within").sum()
        false998 += (rest["flag998"] != "within").sum()
    assert false998 / ordinary <= 0.02
    assert false95 / ordinary <= 0.10


def test_false_flag_rate_near_nominal_without_adjustment():
    """Null data, no overdispersion adjustment: about 5 % of units outside the 95 % limits."""
    flags95 = flags998 = units = 0
    for seed in range(6):
        data, _ = simulate_exits(20000, seed=500 + seed, n_sites=80, site_sd=0.0, coefficients=NO_REGION_EFFECT)
        result = compare_units(data, by="site", overdispersion=None)
        units += len(result)
        flags95 += (result["flag95"] != "within").sum()
        flags998 += (result["flag998"] != "within").sum()
    assert 0.015 <= flags95 / units <= 0.10, flags95 / units
    assert flags998 / units <= 0.015


def test_overdispersion_widens_limits_when_sites_truly_differ():
    data, _ = simulate_exits(30000, seed=9, n_sites=60, site_sd=0.4, coefficients=NO_REGION_EFFECT)
    expected = fit_expected_model(data)
    plain = compare_units(data, by="site", expected=expected, overdispersion=None)
    additive = compare_units(data, by="site", expected=expected)
    multiplicative = compare_units(data, by="site", expected=expected, overdispersion="multiplicative")
    assert additive.attrs["tau2"] > 0 and multiplicative.attrs["phi"] > 1.5
    assert (additive["upper95"] > plain["upper95"]).all()
    assert (multiplicative["upper95"] > plain["upper95"]).all()
    assert (plain["flag95"] != "within").mean() > 2 * (additive["flag95"] != "within").mean()


def test_unseen_level_is_an_error_not_a_silent_drop(national):
    data, _, _ = national
    early = data[data["cohort_year"] < 2023]
    expected = fit_expected_model(early)
    with pytest.raises(ModelError, match="sans valeur attendue"):
        compare_units(data, by="site", expected=expected)


def test_bad_arguments():
    data, _ = simulate_exits(2000, seed=1)
    with pytest.raises(SchemaError, match="inconnue"):
        compare_units(data, by="ecole")
    with pytest.raises(ModelError, match="surdispersion"):
        compare_units(data, by="site", overdispersion="both")
    with pytest.raises(ModelError, match="même définition"):
        compare_units(
            data.assign(
                exit_date=pd.NaT, exit_reason=pd.NA, outcome_start=pd.NaT, outcome_end=pd.NaT, follow_up_date=pd.NaT
            ),
            by="site",
            expected=fit_expected_model(data),
            definition="reseau_2023",
        )


def test_funnel_plot_curves_points_and_highlight(national):
    import matplotlib.colors as mcolors

    from toolkit.plots import HIGHLIGHT
    from toolkit.plots.funnel import funnel_plot

    data, _, expected = national
    result = compare_units(data, by="site", expected=expected)
    fig = funnel_plot(result, highlight_region="Bretagne", min_n=300)
    ax = fig.axes[0]
    # The 99.8 % upper curve follows 1 + z sqrt(k/E + tau2), k = sum V / sum E over the units shown.
    shown = result[result["n"] >= 300]
    k = ((shown["se"] * shown["expected"]) ** 2).sum() / shown["expected"].sum()
    curve = next(line for line in ax.get_lines() if line.get_linestyle() == "-" and line.get_ydata()[-1] > 1)
    x, y = curve.get_xdata(), curve.get_ydata()
    np.testing.assert_allclose(y, 1 + stats.norm.ppf(0.999) * np.sqrt(k / x + result.attrs["tau2_used"]))
    # One point per unit shown; the region's units in the highlight colour.
    offsets = [c for c in ax.collections if len(c.get_offsets())]
    assert sum(len(c.get_offsets()) for c in offsets) == len(shown)
    target = mcolors.to_rgba(HIGHLIGHT)
    n_highlighted = sum(len(c.get_offsets()) for c in offsets if np.allclose(c.get_facecolor()[0][:3], target[:3]))
    assert n_highlighted == (shown["region"] == "Bretagne").sum()
    source = next(t.get_text() for t in fig.texts if t.get_gid() == "source")
    hidden = (result["n"] < 300).sum()
    assert source.startswith("Source\u00a0: ") and ("non affichée" in source) == (hidden > 0)
    assert "Bretagne" in fig.alt_text or "site_" in fig.alt_text
    en = funnel_plot(result, highlight="site_03", lang="en", scale="rate")
    assert en.axes[0].get_ylabel() == "Rate adjusted for intake"
    assert "site_03" in [t.get_text() for t in en.axes[0].texts]


def test_funnel_legend_lists_only_what_is_drawn(national):
    from toolkit.plots.funnel import funnel_plot

    data, _, expected = national
    result = compare_units(data, by="site", expected=expected)
    within = result.assign(flag998="within")
    labels = [t.get_text() for t in funnel_plot(within).axes[0].get_legend().get_texts()]
    assert "Autres unités" in labels and not any("limite à 99,8 %" in lab and "-" in lab for lab in labels)
    assert not any(lab.startswith(("Au-dessus", "En dessous")) for lab in labels)
    flagged = result.assign(flag998=["above"] + ["within"] * (len(result) - 1))
    labels = [
        t.get_text() for t in funnel_plot(flagged, highlight=list(result["site"])).axes[0].get_legend().get_texts()
    ]
    assert "Au-dessus de la limite à 99,8 %" in labels and "Autres unités" not in labels
    assert not any(lab.startswith("En dessous") for lab in labels)


def test_planted_sites_of_the_synthetic_export_after_cleaning():
    """End to end on the generator's raw export: the planted sites are flagged at 99.8 %."""
    from toolkit.cleaning import clean_export
    from toolkit.synth import generate_export

    export = generate_export(seed=3, years=(2021, 2022, 2023), trainees_per_year=15000, site_sd=0.1, planted_effect=1.2)
    data = clean_export(export.raw).data
    expected = fit_expected_model(data, include_region=True)
    result = compare_units(data, by="site", expected=expected).set_index("site")
    planted = export.truth["planted_sites"]
    assert (result.loc[planted["better"], "flag998"] == "above").all()
    assert (result.loc[planted["worse"], "flag998"] == "below").all()
    ordinary = result.drop(index=planted["better"] + planted["worse"])
    assert (ordinary["flag998"] != "within").mean() <= 0.03
    assert (ordinary["flag95"] != "within").mean() <= 0.15
    # Sites and schools keep their region, so a region's units can be highlighted.
    assert result["region"].notna().all()


def test_rare_missing_values_get_the_most_frequent_level_not_a_separable_level():
    data, _ = simulate_exits(6000, seed=12, missing_rate=0.0)
    data = data.copy()
    known = data.index[data["positive_exit"].notna()]
    few = known[:5]
    data.loc[few, "positive_exit"] = True  # five exits, all positive: a level of their own would be separated
    data.loc[few, "education_level"] = pd.NA
    data.loc[known[100:400], "qpv"] = pd.NA  # 300 missing: an indicator term
    expected = fit_expected_model(data)
    info = expected.model.missing
    assert info["imputed_most_frequent"] == {"education_level": 5}
    assert info["indicator_columns"] == ["qpv_missing"]
    assert "education_level[missing]" not in expected.model.odds_ratios.index
    p = expected.predict(data.loc[few])
    most_frequent = data["education_level"].mode().iloc[0]
    same = expected.predict(data.loc[few].assign(education_level=most_frequent))
    np.testing.assert_allclose(p.to_numpy(), same.to_numpy())
    assert compare_units(data, by="site", expected=expected)["n"].sum() == data["positive_exit"].notna().sum()


def test_site_name_shared_by_two_schools_is_announced():
    import warnings

    from toolkit.models import ModelWarning

    data, _ = simulate_exits(3000, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        compare_units(data, by="site")  # unique site names: no warning
    site = data["site"].astype(str)
    # site_05 (ecole_02) renamed like site_02 (ecole_01).
    renamed = data.assign(site=site.where(site != "site_05", "site_02").astype("category"))
    with pytest.warns(ModelWarning, match="site_02"):
        compare_units(renamed, by="site")


def test_comparison_shows_a_french_table(national):
    from toolkit.compare import ComparisonTable
    from toolkit.display import comparison_table

    data, expected = national[0], national[2]
    table = compare_units(data, by="site", expected=expected)
    assert isinstance(table, ComparisonTable) and type(table.sort_values("site")) is pd.DataFrame
    html = table._repr_html_()
    assert "Rapport O/A" in html and "ordre alphabétique" in html and "{'phi'" not in html
    shown = table.display_table()
    first = table.iloc[0]
    assert shown.iloc[0]["Site"] == first["site"]
    assert shown.iloc[0]["Taux brut"] == f"{first['observed_rate'] * 100:.1f}\u00a0%".replace(".", ",")
    assert shown.iloc[0]["Rapport O/A"] == f"{first['oe_ratio']:.2f}".replace(".", ",")
    flagged = table[table["flag998"] != "within"]
    assert len(comparison_table(flagged)) == len(flagged)
    assert comparison_table(table, raw_names=True).columns[0] == "site"
