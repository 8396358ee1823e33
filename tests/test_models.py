"""Tests of toolkit.models against known truth and independent calculations."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simulate_canonical import TRUE_COEFFICIENTS, simulate_exits

from toolkit.errors import ModelError, SchemaError
from toolkit.models import (
    DEFAULT_COVARIATES,
    PARCOURS_COVARIATES,
    ModelWarning,
    auc_mann_whitney,
    calibration_slope_intercept,
    calibration_table,
    fit_multilevel,
    fit_positive_exit,
    neutral_name,
)

# The simulated truth includes weeks in company: the tests that recover it fit the model with it.
WITH_PARCOURS = [*DEFAULT_COVARIATES, *PARCOURS_COVARIATES]


@pytest.fixture(scope="module")
def sample():
    return simulate_exits(4000, seed=11)


@pytest.fixture(scope="module")
def model(sample):
    return fit_positive_exit(sample[0], covariates=WITH_PARCOURS)


def test_default_model_uses_only_characteristics_known_at_entry(sample):
    assert "weeks_in_company" not in DEFAULT_COVARIATES and "weeks_in_company" in PARCOURS_COVARIATES
    default = fit_positive_exit(sample[0])
    assert "weeks_in_company" not in default.formula
    assert not any(term.startswith("weeks_in_company") for term in default.odds_ratios.index)


def test_the_separate_analysis_is_captioned_as_such(sample, model):
    """In a notebook the model with a variable measured during the parcours must not read as the model of
    characteristics at entry."""
    from toolkit.i18n import use_language

    default = fit_positive_exit(sample[0])._repr_html_()
    during = model._repr_html_()
    assert "pendant le parcours" not in default and "Modèle logistique des sorties positives :" in default
    assert "avec une variable mesurée pendant le parcours (Semaines en entreprise" in during
    with use_language("en"):
        assert "measured during the parcours" in model._repr_html_()


def test_neutral_names_and_columns(model):
    assert list(model.odds_ratios.columns) == ["coef", "se", "odds_ratio", "ci_low", "ci_high", "p_value"]
    assert set(model.odds_ratios.index) == {"Intercept", *TRUE_COEFFICIENTS}
    assert model.formula.startswith("positive_exit ~ sex + age_at_entry")
    assert model.definition.name == "projet"
    assert model.n_clusters == 40


def test_odds_ratio_table_matches_hand_formula(model):
    t = model.odds_ratios
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(t["odds_ratio"], np.exp(t["coef"]))
    np.testing.assert_allclose(t["ci_low"], np.exp(t["coef"] - z * t["se"]), rtol=1e-9)
    np.testing.assert_allclose(t["ci_high"], np.exp(t["coef"] + z * t["se"]), rtol=1e-9)
    np.testing.assert_allclose(t["p_value"], 2 * stats.norm.sf(np.abs(t["coef"] / t["se"])), rtol=1e-9)


def test_cluster_robust_se_matches_hand_sandwich(model):
    res = model.results
    X = res.model.exog
    y = res.model.endog
    p = res.predict()
    groups = res.cov_kwds["groups"]
    bread = np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))
    scores = X * (y - p)[:, None]
    g_scores = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
    meat = g_scores.T @ g_scores
    n, k = X.shape
    n_groups = len(np.unique(groups))
    correction = n_groups / (n_groups - 1) * (n - 1) / (n - k)  # statsmodels' small-sample factor
    se = np.sqrt(np.diag(bread @ meat @ bread) * correction)
    np.testing.assert_allclose(model.odds_ratios["se"].to_numpy(), se, rtol=1e-6)


def test_coefficient_ci_coverage_across_seeds():
    """95 % CIs (clustered by site) cover the true coefficients at about 95 %."""
    truth = {"Intercept": -1.0, **TRUE_COEFFICIENTS}
    hits = []
    for seed in range(30):
        data, _ = simulate_exits(2500, seed=1000 + seed, n_sites=40, site_sd=0.0)
        ci = fit_positive_exit(data, covariates=WITH_PARCOURS).coef_ci
        true = pd.Series(truth).reindex(ci.index)
        hits.append(((ci["ci_low"] <= true) & (true <= ci["ci_high"])).to_numpy())
    coverage = np.concatenate(hits).mean()
    assert 0.88 <= coverage <= 0.99, coverage


def test_missing_covariates_are_counted_not_silent(sample, model):
    data = sample[0]
    known = data["positive_exit"].notna()
    cov = list(WITH_PARCOURS)
    incomplete = data.loc[known, cov + ["site"]].isna().any(axis=1)
    assert model.missing["strategy"] == "complete_case"
    assert model.missing["rows_with_known_outcome"] == int(known.sum())
    assert model.missing["rows_dropped"] == int(incomplete.sum()) > 0
    assert model.missing["rows_used"] == model.n == int(known.sum() - incomplete.sum())
    for col in cov:
        assert model.missing["by_column"][col] == int(data.loc[known, col].isna().sum())
    table = model.missing_table("fr")
    assert list(table.columns) == ["Variable", "Valeurs manquantes", "Part"]
    assert table.loc["education_level", "Variable"] == "Niveau de formation"
    assert table.loc["qpv", "Part"] == pytest.approx(data.loc[known, "qpv"].isna().mean())
    assert table.attrs["rows_dropped"] == model.missing["rows_dropped"]


def test_predict_keeps_rows_and_gives_nan_for_missing(sample, model):
    data = sample[0]
    p = model.predict(data)
    assert p.index.equals(data.index)
    has_missing = data[WITH_PARCOURS].isna().any(axis=1)
    assert p[has_missing].isna().all()
    assert p[~has_missing].between(0, 1).all()
    # Same probabilities as the fitted values for the rows used in the fit.
    used = data["positive_exit"].notna() & ~has_missing
    np.testing.assert_allclose(p[used].to_numpy(), model.fitted, rtol=1e-10)


def test_average_marginal_effect_matches_counterfactual_predictions(sample, model):
    data = sample[0]
    used = data["positive_exit"].notna() & data[WITH_PARCOURS].notna().all(axis=1)
    rows = data.loc[used]
    with_qpv = rows.assign(qpv=pd.array([True] * len(rows), dtype="boolean"))
    without = rows.assign(qpv=pd.array([False] * len(rows), dtype="boolean"))
    ame = (model.predict(with_qpv) - model.predict(without)).mean()
    me = model.marginal_effects
    assert list(me.columns) == ["ame", "se", "z", "p_value", "ci_low", "ci_high"]
    assert me.loc["qpv", "ame"] == pytest.approx(ame, rel=1e-6)
    assert me.loc["qpv", "ci_low"] < me.loc["qpv", "ame"] < me.loc["qpv", "ci_high"]


def test_marginal_effects_match_statsmodels_get_margeff(model):
    reference = model.results.get_margeff(at="overall", dummy=True).summary_frame(alpha=0.05)
    ours = model.marginal_effects
    assert len(ours) == len(reference) == len(model.odds_ratios) - 1
    assert list(ours.index) == [neutral_name(t) for t in reference.index]
    np.testing.assert_allclose(ours["ame"].to_numpy(), reference["dy/dx"].to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours["se"].to_numpy(), reference["Std. Err."].to_numpy(), rtol=1e-4)


def test_auc_matches_pair_counting_and_scipy():
    rng = np.random.default_rng(5)
    y = rng.random(300) < 0.4
    p = np.round(rng.random(300) * 0.5 + 0.3 * y, 2)  # rounded: ties on purpose
    pos, neg = p[y], p[~y]
    pairs = np.array([(a > b) + 0.5 * (a == b) for a, b in itertools.product(pos, neg)])
    assert auc_mann_whitney(y, p) == pytest.approx(pairs.mean(), abs=1e-12)
    u = stats.mannwhitneyu(pos, neg).statistic
    assert auc_mann_whitney(y, p) == pytest.approx(u / (len(pos) * len(neg)), abs=1e-12)


def test_model_auc_is_mann_whitney_of_fitted(model):
    y = model.results.model.endog.astype(bool)
    u = stats.mannwhitneyu(model.fitted[y], model.fitted[~y]).statistic
    assert model.auc == pytest.approx(u / (y.sum() * (~y).sum()))
    assert 0.55 < model.auc < 0.8


def test_calibration_table_wilson_by_hand():
    rng = np.random.default_rng(2)
    p = rng.random(1000)
    y = rng.random(1000) < p
    table = calibration_table(y, p)
    assert list(table.columns) == ["decile", "n", "mean_predicted", "observed_rate", "ci_low", "ci_high"]
    assert table["n"].sum() == 1000 and len(table) == 10
    z = stats.norm.ppf(0.975)
    k = table["observed_rate"] * table["n"]
    n = table["n"]
    ph = k / n
    centre = (ph + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(ph * (1 - ph) / n + z**2 / (4 * n**2))
    np.testing.assert_allclose(table["ci_low"], centre - half, rtol=1e-9)
    np.testing.assert_allclose(table["ci_high"], centre + half, rtol=1e-9)
    assert table["mean_predicted"].is_monotonic_increasing


def test_calibration_slope_and_intercept_known_values():
    rng = np.random.default_rng(3)
    lp = rng.normal(0.3, 1.2, 40000)
    y = rng.random(40000) < 1 / (1 + np.exp(-lp))
    slope, intercept = calibration_slope_intercept(y, 1 / (1 + np.exp(-lp)))
    assert slope == pytest.approx(1, abs=0.05) and intercept == pytest.approx(0, abs=0.05)
    # Over-confident predictions (logit doubled) have slope 1/2.
    slope2, _ = calibration_slope_intercept(y, 1 / (1 + np.exp(-2 * lp)))
    assert slope2 == pytest.approx(0.5, abs=0.03)
    # Predictions shifted down by 0.5 on the logit scale: intercept +0.5.
    _, intercept3 = calibration_slope_intercept(y, 1 / (1 + np.exp(-(lp - 0.5))))
    assert intercept3 == pytest.approx(0.5, abs=0.05)


def test_out_of_sample_calibration_on_well_specified_data():
    train, _ = simulate_exits(20000, seed=21)
    test, _ = simulate_exits(20000, seed=22)
    m = fit_positive_exit(train, covariates=WITH_PARCOURS)
    assert m.calibration_slope == pytest.approx(1, abs=1e-6)  # in-sample: by construction
    perf = m.evaluate(test)
    assert perf.calibration_slope == pytest.approx(1, abs=0.12)
    assert perf.calibration_intercept == pytest.approx(0, abs=0.1)
    assert abs(perf.auc - m.auc) < 0.03
    assert perf.n == int(m.predict(test)[test["positive_exit"].notna()].notna().sum())


def test_cross_validated_performance():
    data, _ = simulate_exits(20000, seed=31)
    m = fit_positive_exit(data, covariates=WITH_PARCOURS)
    cv = m.cross_validate(folds=5)
    assert cv.n == m.n
    assert cv.calibration_slope == pytest.approx(1, abs=0.1)  # 16 terms, 16,000 exits: little over-fitting
    assert abs(cv.auc - m.auc) < 0.01 and cv.auc <= m.auc + 1e-9
    # Many useless terms on few exits: the cross-validated slope drops below 1.
    small = data.sample(400, random_state=1).assign(
        **{f"noise{i}": np.random.default_rng(i).normal(size=400) for i in range(25)}
    )
    formula = "positive_exit ~ weeks_in_company + " + " + ".join(f"noise{i}" for i in range(25))
    noisy = fit_positive_exit(small, formula, cluster=None)
    assert noisy.calibration_slope == pytest.approx(1, abs=1e-6)
    assert noisy.cross_validate(folds=5).calibration_slope < 0.8


def test_quasi_separation_raises_naming_the_term(sample):
    data = sample[0].copy()
    data.loc[(data["region"] == "Bretagne") & data["positive_exit"].notna(), "positive_exit"] = True
    with pytest.raises(ModelError, match=r"séparation.*region\[Bretagne\]"):
        fit_positive_exit(data)
    with pytest.warns(ModelWarning, match="séparation"):
        m = fit_positive_exit(data, strict=False)
    assert any("region[Bretagne]" in p for p in m.problems)


def test_complete_separation_on_a_number_raises(sample):
    data = sample[0].copy()
    weeks = data["weeks_in_company"]
    data["positive_exit"] = (weeks > 9).astype("boolean")
    with pytest.raises(ModelError, match="démesurés|séparation"):
        fit_positive_exit(data, covariates=WITH_PARCOURS)


def test_non_convergence_raises(sample):
    with pytest.raises(ModelError, match="non-convergence"):
        fit_positive_exit(sample[0], maxiter=2)
    with pytest.warns(ModelWarning, match="non-convergence"):
        m = fit_positive_exit(sample[0], maxiter=2, strict=False)
    assert m.problems


def test_single_region_term_dropped_loudly(sample):
    data = sample[0]
    one = data[data["region"] == "Bretagne"]
    with pytest.warns(ModelWarning, match="region retirée"):
        m = fit_positive_exit(one)
    assert not any(t.startswith("region[") for t in m.odds_ratios.index)


def test_explicit_definition_needs_exit_columns(sample):
    with pytest.raises(SchemaError, match="reseau_2023"):
        fit_positive_exit(sample[0], definition="reseau_2023")


def test_summary_table_labels(model):
    fr = model.summary_table("fr")
    en = model.summary_table("en")
    assert fr.loc["sex[M]", "Variable"] == "Sexe : Hommes (réf. Femmes)"
    assert en.loc["sex[M]", "Variable"] == "Sex: Men (ref. Women)"
    assert "Rapport de cotes" in fr.columns and "Odds ratio" in en.columns
    assert "Intercept" not in fr.index


def test_multilevel_recovers_site_effects():
    data, truth = simulate_exits(6000, seed=3, site_sd=0.5, n_sites=40)
    mm = fit_multilevel(data, covariates=WITH_PARCOURS)
    effects = mm.site_effects
    assert list(effects.columns) == ["site", "n", "effect", "sd", "ci_low", "ci_high"]
    assert len(effects) == 40 and effects["n"].sum() == mm.n
    true_u = effects["site"].map(truth["site_effects"])
    assert np.corrcoef(effects["effect"], true_u)[0, 1] > 0.8
    assert 0.3 < mm.site_sd < 0.9
    # Larger sites are known more precisely.
    assert np.corrcoef(effects["sd"], effects["n"])[0, 1] < -0.5
    weeks = mm.fixed_effects.loc["weeks_in_company"]
    assert weeks["ci_low"] < np.exp(TRUE_COEFFICIENTS["weeks_in_company"]) < weeks["ci_high"]
    assert "variational" in mm.method


def test_multilevel_non_convergence_raises(sample):
    with pytest.raises(ModelError, match="n'a pas convergé"):
        fit_multilevel(sample[0], maxiter=3)


def test_cross_validation_announces_folds_that_fail():
    """A separated term makes the fold fits fail to converge: the out-of-fold figures
    come with a ModelWarning instead of being returned silently."""
    data, _ = simulate_exits(600, seed=5)
    data = data[data["positive_exit"].notna()].copy()
    flag = np.zeros(len(data))
    flag[np.flatnonzero(data["positive_exit"].astype(bool).to_numpy())[:6]] = 1  # all six are positive exits
    data["flag"] = flag
    with pytest.warns(ModelWarning):
        m = fit_positive_exit(data, "positive_exit ~ weeks_in_company + flag", cluster=None, strict=False)
    with pytest.warns(ModelWarning, match="Validation croisée"):
        m.cross_validate(folds=5)


def test_model_shows_a_french_table_as_in_the_reports(model):
    html = model._repr_html_()
    assert "Rapport de cotes" in html and "Effet marginal moyen (points)" in html
    table = model.display_table()
    odds = model.odds_ratios.drop(index="Intercept")
    ame = model.marginal_effects.reindex(odds.index)
    row = table.iloc[list(odds.index).index("qpv")]
    assert row["Variable"] == "Résident QPV"
    assert row["Rapport de cotes"] == f"{odds.loc['qpv', 'odds_ratio']:.2f}".replace(".", ",")
    points = ame.loc["qpv", "ame"] * 100
    assert row["Effet marginal moyen (points)"] == f"{points:+.1f}".replace(".", ",")
    small = odds["p_value"] < 0.001
    assert small.any() and (table.loc[small.to_numpy(), "p"] == "<\u00a00,001").all()
    assert not re.search(r"\d[.,]?\d*e-\d", html) and "&lt;\u00a00,001" in html and "qpv" not in table.to_string()
    raw = model.display_table(raw_names=True)
    assert raw.iloc[:, 0].tolist() == list(odds.index)  # English names only on request
