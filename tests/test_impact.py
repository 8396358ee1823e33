"""Tests of toolkit.impact: estimators against known truth and independent
hand calculations, sensitivity formulas against published values, the
LaLonde (NSW/CPS) benchmark, and the impact plots."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

from toolkit.errors import InputError, ModelError, SchemaError
from toolkit.impact import ATTResult, e_value, estimate_att, estimate_att_by, rosenbaum_bounds

COVARIATES = ["sex", "age_at_entry", "education_level", "qpv"]
TRUE_LOGIT_EFFECT = 0.5
TRUE_MEAN_EFFECT = 3.0


def simulate(n: int, seed: int, binary: bool = True) -> pd.DataFrame:
    """Canonical-like frame with selection on observables.

    Entering the programme is more likely for young, male, low-education, QPV
    residents, who also have worse outcomes: the naive difference understates
    the effect. Binary outcome: logit P(y) = η(x) + 0.5·T; continuous:
    y = 10·η(x) + 3·T + N(0, 5²).
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(16, 26, n).astype(float)
    sex = rng.choice(["F", "M"], n)
    edu = rng.choice(["infra_3", "niveau_3", "niveau_4"], n, p=[0.5, 0.3, 0.2])
    qpv = rng.random(n) < 0.35
    eta_ps = -0.8 - 0.15 * (age - 20) + 0.4 * (sex == "M") + 0.6 * (edu == "infra_3") + 0.7 * qpv
    treated = (rng.random(n) < expit(eta_ps)).astype(int)
    eta_y = 0.2 + 0.1 * (age - 20) - 0.3 * (sex == "M") - 0.8 * (edu == "infra_3") - 0.5 * qpv
    if binary:
        y = rng.random(n) < expit(eta_y + TRUE_LOGIT_EFFECT * treated)
        outcome = pd.array(y, dtype="boolean")
    else:
        outcome = 10 * eta_y + TRUE_MEAN_EFFECT * treated + rng.normal(0, 5, n)
    return pd.DataFrame(
        {
            "treated": treated,
            "positive_exit": outcome,
            "sex": pd.Categorical(sex, categories=["F", "M"]),
            "age_at_entry": pd.array(age.astype(int), dtype="Int64"),
            "education_level": pd.Categorical(edu, categories=["infra_3", "niveau_3", "niveau_4", "niveau_5_plus"]),
            "qpv": pd.array(qpv, dtype="boolean"),
        }
    )


@pytest.fixture(scope="module")
def true_att_binary() -> float:
    """Population ATT of the binary design: E[expit(η + 0.5) − expit(η) | T = 1], by simulation."""
    rng = np.random.default_rng(12345)
    n = 400_000
    age = rng.integers(16, 26, n).astype(float)
    male = rng.random(n) < 0.5
    infra = rng.random(n) < 0.5
    qpv = rng.random(n) < 0.35
    t = rng.random(n) < expit(-0.8 - 0.15 * (age - 20) + 0.4 * male + 0.6 * infra + 0.7 * qpv)
    eta = 0.2 + 0.1 * (age - 20) - 0.3 * male - 0.8 * infra - 0.5 * qpv
    return float((expit(eta + TRUE_LOGIT_EFFECT) - expit(eta))[t].mean())


def _design(df: pd.DataFrame) -> np.ndarray:
    """Independent main-effects design (intercept, M, age, niveau_3, niveau_4, qpv)."""
    return np.column_stack(
        [
            np.ones(len(df)),
            (df["sex"] == "M").to_numpy(float),
            df["age_at_entry"].to_numpy(float),
            (df["education_level"] == "niveau_3").to_numpy(float),
            (df["education_level"] == "niveau_4").to_numpy(float),
            df["qpv"].to_numpy(float),
        ]
    )


# --------------------------------------------------------------------------
# Point estimates against independent calculations
# --------------------------------------------------------------------------
def test_ipw_matches_hand_calculation():
    df = simulate(1500, 1)
    x, t, y = _design(df), df["treated"].to_numpy(float), df["positive_exit"].to_numpy(float)
    p = sm.Logit(t, x).fit(disp=0).predict(x)
    w = p / (1 - p)
    expected = y[t == 1].mean() - np.sum(w[t == 0] * y[t == 0]) / np.sum(w[t == 0])
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw")
    assert res.estimate == pytest.approx(expected, abs=1e-7)
    assert res.propensity.to_numpy() == pytest.approx(p, abs=1e-7)
    assert res.ess_control == pytest.approx(w[t == 0].sum() ** 2 / np.sum(w[t == 0] ** 2), rel=1e-6)
    assert res.n_treated == int(t.sum()) and res.n_control == int((1 - t).sum())
    assert res.naive == pytest.approx(y[t == 1].mean() - y[t == 0].mean())
    assert res.ci_method == "influence function"
    assert res.ci_low == pytest.approx(res.estimate - 1.959964 * res.se, abs=1e-6)


def test_aipw_matches_hand_calculation_continuous():
    df = simulate(1500, 2, binary=False)
    x, t, y = _design(df), df["treated"].to_numpy(float), df["positive_exit"].to_numpy(float)
    p = sm.Logit(t, x).fit(disp=0).predict(x)
    w = p / (1 - p)
    m0 = sm.OLS(y[t == 0], x[t == 0]).fit().predict(x)
    r = y - m0
    expected = r[t == 1].mean() - np.sum(w[t == 0] * r[t == 0]) / np.sum(w[t == 0])
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="aipw")
    assert res.outcome_type == "continuous"
    assert res.estimate == pytest.approx(expected, abs=1e-7)


def test_aipw_binary_outcome_model_is_logistic():
    df = simulate(1500, 3)
    x, t, y = _design(df), df["treated"].to_numpy(float), df["positive_exit"].to_numpy(float)
    p = sm.Logit(t, x).fit(disp=0).predict(x)
    w = p / (1 - p)
    m0 = sm.Logit(y[t == 0], x[t == 0]).fit(disp=0).predict(x)
    r = y - m0
    expected = r[t == 1].mean() - np.sum(w[t == 0] * r[t == 0]) / np.sum(w[t == 0])
    res = estimate_att(df, "treated", "positive_exit", COVARIATES)
    assert res.outcome_type == "binary"
    assert res.estimate == pytest.approx(expected, abs=1e-6)
    assert res.mean_control_counterfactual == pytest.approx(y[t == 1].mean() - expected, abs=1e-6)


def test_matching_with_replacement_matches_brute_force_and_abadie_imbens():
    """Integer ages and categories give many tied scores: all ties at the
    nearest distance are matched (Abadie & Imbens 2006), written out here with loops."""
    df = simulate(600, 4, binary=False)
    x, t, y = _design(df), df["treated"].to_numpy(float), df["positive_exit"].to_numpy(float)
    lp = x @ sm.Logit(t, x).fit(disp=0).params
    caliper = 0.2 * np.sqrt((lp[t == 1].var(ddof=1) + lp[t == 0].var(ddof=1)) / 2)
    ti, ci = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    weight = pd.Series(0.0, index=ci)  # K(j) = sum of 1/k_i over the treated using j
    weight2 = pd.Series(0.0, index=ci)  # K'(j) = sum of 1/k_i**2
    diffs = []
    for i in ti:
        d = np.abs(lp[ci] - lp[i])
        if d.min() > caliper:
            continue
        chosen = ci[d <= d.min() + 1e-9]
        diffs.append(y[i] - y[chosen].mean())
        weight[chosen] += 1 / len(chosen)
        weight2[chosen] += 1 / len(chosen) ** 2
    diffs = np.array(diffs)
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="matching")
    assert res.estimate == pytest.approx(diffs.mean(), abs=1e-9)
    assert res.unmatched_treated == len(ti) - len(diffs)
    assert res.n_treated == len(diffs)
    assert res.caliper_logit == pytest.approx(caliper)
    assert res.weights[ci].to_numpy() == pytest.approx(weight.to_numpy())
    var = np.sum((diffs - diffs.mean()) ** 2)
    for j in weight.index[weight > 0]:
        others = ci[ci != j]
        d = np.abs(lp[others] - lp[j])
        near = others[d <= d.min() + 1e-9]
        sigma2 = len(near) / (len(near) + 1) * (y[j] - y[near].mean()) ** 2
        var += (weight[j] ** 2 - weight2[j]) * sigma2
    assert res.se == pytest.approx(math.sqrt(var) / len(diffs), rel=1e-6)
    assert res.ci_method == "Abadie-Imbens"


def test_matching_without_replacement_uses_each_control_once():
    df = simulate(800, 5)
    res = estimate_att(
        df, "treated", "positive_exit", COVARIATES, method="matching", replace=False, n_neighbors=2, caliper=0.5
    )
    pairs = res.pairs
    assert not pairs["control_index"].duplicated().any()
    assert pairs.groupby("treated_index").size().max() <= 2
    assert (pairs["distance"] <= res.caliper_logit).all()
    lp = np.log(res.propensity / (1 - res.propensity))
    assert np.allclose(
        np.abs(lp[pairs["treated_index"]].to_numpy() - lp[pairs["control_index"]].to_numpy()), pairs["distance"]
    )
    # the estimate is the mean over matched treated of y minus the mean of their controls
    y = df["positive_exit"].astype(float)
    per_t = pairs.assign(yc=y[pairs["control_index"]].to_numpy()).groupby("treated_index")["yc"].mean()
    assert res.estimate == pytest.approx((y[per_t.index] - per_t).mean())


def test_balance_table_uses_pooled_unadjusted_sd():
    df = simulate(1200, 6)
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw")
    bal = res.balance
    expected_rows = [
        "sex[F]",
        "sex[M]",
        "age_at_entry",
        "education_level[infra_3]",
        "education_level[niveau_3]",
        "education_level[niveau_4]",
        "qpv",
    ]
    assert list(bal.index) == expected_rows  # unused level niveau_5_plus is not a row
    t = df["treated"].to_numpy() == 1
    age = df["age_at_entry"].to_numpy(float)
    w = res.weights.to_numpy()
    sd = math.sqrt((age[t].var(ddof=1) + age[~t].var(ddof=1)) / 2)
    row = bal.loc["age_at_entry"]
    assert row["mean_control"] == pytest.approx(age[~t].mean())
    assert row["mean_control_weighted"] == pytest.approx(np.average(age[~t], weights=w[~t]))
    assert row["smd_before"] == pytest.approx((age[t].mean() - age[~t].mean()) / sd)
    assert row["smd_after"] == pytest.approx((age[t].mean() - np.average(age[~t], weights=w[~t])) / sd)
    assert row["var_ratio_before"] == pytest.approx(age[t].var(ddof=1) / age[~t].var(ddof=1))
    # adjustment removes the imbalance the design put in
    assert bal["smd_before"].abs().max() > 0.2
    assert bal["smd_after"].abs().max() < 0.05


def test_overlap_and_restrictions_are_counted():
    df = simulate(1500, 7)
    x, t = _design(df), df["treated"].to_numpy(float)
    p = sm.Logit(t, x).fit(disp=0).predict(x)
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, trim=0.3, common_support=True)
    cut = (p < 0.3) | (p > 0.7)
    assert res.trimmed == {"treated": int((cut & (t == 1)).sum()), "control": int((cut & (t == 0)).sum())}
    assert res.n_treated + res.trimmed["treated"] + res.outside_support["treated"] == int(t.sum())
    low, high = max(p[t == 1].min(), p[t == 0].min()), min(p[t == 1].max(), p[t == 0].max())
    outside = (p < low) | (p > high)
    ov = res.overlap
    assert ov.support == pytest.approx((low, high))
    assert ov.outside.loc["treated", "n_outside"] == int((outside & (t == 1)).sum())
    assert ov.share_outside_support == pytest.approx(outside.mean())
    assert ov.quantiles.loc[0.5, "treated"] == pytest.approx(np.median(p[t == 1]))
    assert ov.histogram[["treated", "control"]].sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_missing_rows_are_reported_not_silently_dropped():
    df = simulate(800, 8)
    df.loc[[3, 10, 11], "qpv"] = pd.NA
    df.loc[[10, 20], "positive_exit"] = pd.NA
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw")
    assert res.n_missing == 4
    assert res.missing.to_dict() == {"positive_exit": 2, "qpv": 3}
    assert res.n_treated + res.n_control == len(df) - 4


def test_ps_formula_with_splines_and_interactions():
    df = simulate(1500, 9)
    base = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw")
    res = estimate_att(
        df,
        "treated",
        "positive_exit",
        COVARIATES,
        method="ipw",
        ps_formula="treated ~ bs(age_at_entry, df=4) + C(education_level) + sex * qpv",
    )
    assert res.ps_formula.startswith("bs(age_at_entry")
    assert res.estimate != pytest.approx(base.estimate, abs=1e-9)
    assert abs(res.estimate - base.estimate) < 0.03  # both models contain the true one
    with pytest.raises(InputError, match="Formule"):
        estimate_att(df, "treated", "positive_exit", COVARIATES, ps_formula="bs(unknown_column, df=3)")


def test_bad_inputs_raise_toolkit_errors():
    df = simulate(300, 10)
    with pytest.raises(SchemaError, match="region"):
        estimate_att(df, "treated", "positive_exit", ["region"])
    bad = df.assign(treated=df["treated"].where(df.index != 5, 2))
    with pytest.raises(InputError, match="ligne 5"):
        estimate_att(bad, "treated", "positive_exit", COVARIATES)
    with pytest.raises(InputError, match="weeks_in_company"):
        estimate_att(df.assign(weeks_in_company=1.0), "treated", "positive_exit", ["weeks_in_company"])
    with pytest.raises(InputError, match="Méthode"):
        estimate_att(df, "treated", "positive_exit", COVARIATES, method="psm")
    separated = df.assign(flag=df["treated"].astype(float))
    with pytest.raises(ModelError, match="séparation"):
        estimate_att(separated, "treated", "positive_exit", ["flag", "age_at_entry"])


def test_category_found_only_among_treated_is_refused_or_cut_by_common_support():
    df = simulate(2000, 15)
    df["region"] = np.where(df.index % 3 == 0, "A", "B")
    only_treated = (df["treated"] == 1) & (df.index % 11 == 0)
    df.loc[only_treated, "region"] = "D"
    with pytest.raises(ModelError, match="'region' : D n'existe que chez les traités"):
        estimate_att(df, "treated", "positive_exit", COVARIATES + ["region"])
    res = estimate_att(df, "treated", "positive_exit", COVARIATES + ["region"], common_support=True)
    assert res.outside_support["treated"] >= int(only_treated.sum())
    assert res.weights[only_treated].eq(0).all()


# --------------------------------------------------------------------------
# Known truth across seeds: bias, coverage, SE calibration
# --------------------------------------------------------------------------
def _replicates(method: str, truth: float, n_rep: int, n: int, binary: bool = True, **kwargs):
    est, se, covered = [], [], 0
    for seed in range(100, 100 + n_rep):
        res = estimate_att(simulate(n, seed, binary), "treated", "positive_exit", COVARIATES, method=method, **kwargs)
        est.append(res.estimate)
        se.append(res.se)
        covered += res.ci_low <= truth <= res.ci_high
    est = np.array(est)
    return est.mean() - truth, est.std(ddof=1), float(np.mean(se)), covered / n_rep


@pytest.mark.parametrize("method", ["aipw", "ipw"])
def test_weighting_estimators_recover_truth_and_cover(method, true_att_binary):
    bias, sd, mean_se, coverage = _replicates(method, true_att_binary, n_rep=40, n=2000)
    assert abs(bias) < 0.01  # true ATT about 0.11; Monte Carlo SE of the mean bias about 0.003
    assert 0.85 <= coverage <= 1.0
    assert 0.8 <= mean_se / sd <= 1.25  # influence-function SE tracks the sampling SD


def test_aipw_continuous_outcome_covers_truth():
    bias, sd, mean_se, coverage = _replicates("aipw", TRUE_MEAN_EFFECT, n_rep=40, n=2000, binary=False)
    assert abs(bias) < 0.15
    assert 0.85 <= coverage <= 1.0
    assert 0.8 <= mean_se / sd <= 1.25


def test_matching_recovers_truth_looser(true_att_binary):
    bias, sd, mean_se, coverage = _replicates("matching", true_att_binary, n_rep=40, n=2000)
    assert abs(bias) < 0.015
    assert 0.85 <= coverage <= 1.0
    assert 0.8 <= mean_se / sd <= 1.5  # Abadie-Imbens with a known-score assumption: conservative here


def test_aipw_is_doubly_robust_when_the_propensity_model_is_wrong():
    """The propensity depends on age², the fitted model is linear in age: IPW is
    biased, AIPW (correct linear outcome model) is not."""
    rng = np.random.default_rng(77)
    n = 20_000
    age = rng.uniform(-2, 2, n)
    t = (rng.random(n) < expit(-1 + 1.2 * age**2 - 0.5 * age)).astype(int)
    y = 4 * age**2 + 2 * age + TRUE_MEAN_EFFECT * t + rng.normal(0, 1, n)
    df = pd.DataFrame({"t": t, "y": y, "age": age, "age2": age**2})
    ipw = estimate_att(df, "t", "y", ["age", "age2"], method="ipw", ps_formula="age")
    aipw = estimate_att(df, "t", "y", ["age", "age2"], method="aipw", ps_formula="age", outcome_formula="age + age2")
    assert abs(ipw.estimate - TRUE_MEAN_EFFECT) > 1.0
    assert abs(aipw.estimate - TRUE_MEAN_EFFECT) < 3 * aipw.se + 0.05


def test_bootstrap_se_agrees_with_influence_function():
    df = simulate(1500, 11)
    analytic = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw")
    boot = estimate_att(df, "treated", "positive_exit", COVARIATES, method="ipw", bootstrap=120, seed=3)
    assert boot.ci_method == "bootstrap (B=120, percentile)"
    assert boot.estimate == pytest.approx(analytic.estimate)
    assert len(boot.bootstrap_estimates) == 120
    assert boot.se == pytest.approx(analytic.se, rel=0.25)
    assert boot.ci_low < analytic.estimate < boot.ci_high


def test_effects_by_subgroup_suppresses_small_groups():
    df = simulate(3000, 12)
    df["region"] = np.where(np.arange(3000) < 2984, np.where(np.arange(3000) % 2 == 0, "A", "B"), "C")
    table = estimate_att_by(df, "region", "treated", "positive_exit", COVARIATES + ["region"], method="ipw")
    assert list(table["by"]) == ["A", "B", "C"]
    assert list(table["status"]) == ["ok", "ok", "suppressed"]
    assert table.loc[2, ["estimate", "ci_low"]].isna().all()
    sub = df[df["region"] == "A"]
    direct = estimate_att(sub, "treated", "positive_exit", COVARIATES, method="ipw")
    assert table.loc[0, "estimate"] == pytest.approx(direct.estimate)
    assert table.attrs["n_missing_by"] == 0


def test_units_without_a_subgroup_level_are_announced():
    df = simulate(1500, 13)
    df["region"] = pd.array(np.where(np.arange(1500) % 2 == 0, "A", "B"), dtype="string")
    df.loc[:6, "region"] = pd.NA
    from toolkit.models import ModelWarning

    with pytest.warns(ModelWarning, match="7 unité"):
        table = estimate_att_by(df, "region", "treated", "positive_exit", COVARIATES, method="ipw")
    assert table.attrs["n_missing_by"] == 7 and list(table["by"]) == ["A", "B"]


# --------------------------------------------------------------------------
# Sensitivity: E-value and Rosenbaum bounds
# --------------------------------------------------------------------------
def test_e_value_published_example():
    # VanderWeele & Ding (2017), Ann Intern Med: RR 3.9 (95% CI 1.8 to 8.7) -> E-values 7.26 and 3.0.
    ev = e_value(3.9, 1.8, 8.7, scale="RR")
    assert ev["e_value"] == pytest.approx(7.26, abs=0.005)
    assert ev["e_value_ci"] == pytest.approx(3.0, abs=0.005)


def test_e_value_conversions():
    protective = e_value(0.8, 0.7, 0.9)
    assert protective["e_value"] == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert protective["e_value_ci"] == pytest.approx(1 / 0.9 + math.sqrt(1 / 0.9 * (1 / 0.9 - 1)))
    assert e_value(1.3, 0.9, 1.8)["e_value_ci"] == 1.0  # CI includes the null
    rd = e_value(0.10, 0.04, 0.16, scale="RD", baseline=0.40)
    assert rd["rr"] == pytest.approx(1.25)
    assert rd["e_value_ci"] == pytest.approx(1.1 + math.sqrt(1.1 * 0.1))
    assert e_value(4.0, scale="OR")["rr"] == pytest.approx(2.0)
    assert e_value(4.0, scale="OR", rare=True)["rr"] == pytest.approx(4.0)
    assert e_value(1000.0, scale="SMD", sd=2000.0)["rr"] == pytest.approx(math.exp(0.91 * 0.5))
    with pytest.raises(InputError, match="baseline"):
        e_value(0.1, scale="RD")


def _pairs(n_pp, n_pm, n_mp, n_mm):
    """Pairs table: n_pm pairs where only the treated has the outcome, n_mp only the control."""
    yt = [1] * n_pp + [1] * n_pm + [0] * n_mp + [0] * n_mm
    yc = [1] * n_pp + [0] * n_pm + [1] * n_mp + [0] * n_mm
    return pd.DataFrame({"y_treated": yt, "y_control": yc})


def test_rosenbaum_bounds_against_binomial_tails():
    pairs = _pairs(40, 35, 15, 60)
    rb = rosenbaum_bounds(pairs, gammas=[1.0, 1.5, 2.0])
    assert (rb.n_discordant, rb.discordant_treated, rb.discordant_control) == (50, 35, 15)
    # Gamma = 1: exact one-sided McNemar test
    assert rb.table.loc[0, "p_upper"] == pytest.approx(stats.binomtest(35, 50, 0.5, alternative="greater").pvalue)
    # Gamma = 2: P(Bin(50, 2/3) >= 35) written out
    hand = sum(math.comb(50, k) * (2 / 3) ** k * (1 / 3) ** (50 - k) for k in range(35, 51))
    assert rb.table.loc[2, "p_upper"] == pytest.approx(hand, rel=1e-9)
    low = sum(math.comb(50, k) * (1 / 3) ** k * (2 / 3) ** (50 - k) for k in range(35, 51))
    assert rb.table.loc[2, "p_lower"] == pytest.approx(low, rel=1e-9)
    # significance is lost exactly at gamma_critical
    g = rb.gamma_critical
    assert 1.0 < g < 2.0
    assert stats.binom.sf(34, 50, g / (1 + g)) == pytest.approx(0.05, abs=1e-6)
    assert list(rb.table["significant"]) == [True, bool(stats.binom.sf(34, 50, 0.6) <= 0.05), False]


def test_rosenbaum_bounds_published_smoking_example():
    """Rosenbaum (2002, Observational Studies, §4.3; the rbounds example binarysens(12, 110)):
    Hammond's matched smokers and non-smokers, 122 discordant pairs, 110 where only the
    smoker died of lung cancer. The finding survives hidden biases up to Γ = 5, not Γ = 6."""
    rb = rosenbaum_bounds(_pairs(5, 110, 12, 40), gammas=[1, 5, 6])
    assert rb.n_discordant == 122
    assert list(rb.table["significant"]) == [True, True, False]
    assert 5 < rb.gamma_critical < 6


def test_rosenbaum_bounds_not_significant_and_negative_direction():
    assert rosenbaum_bounds(_pairs(10, 12, 10, 10)).gamma_critical == 1.0
    rb = rosenbaum_bounds(_pairs(10, 5, 30, 10))
    assert rb.alternative == "less"
    assert rb.table.loc[0, "p_upper"] == pytest.approx(stats.binomtest(30, 35, 0.5, alternative="greater").pvalue)


def test_result_sensitivity_combines_e_value_and_rosenbaum():
    df = simulate(2000, 13)
    res = estimate_att(df, "treated", "positive_exit", COVARIATES, method="matching", replace=False)
    sens = res.sensitivity()
    base = res.mean_control_counterfactual
    assert sens.scale == "RD"
    assert sens.e_value["rr"] == pytest.approx((base + res.estimate) / base)
    assert sens.rosenbaum is not None and sens.rosenbaum.n_pairs == res.n_treated
    assert sens.rosenbaum.note == ""
    weighted = estimate_att(df, "treated", "positive_exit", COVARIATES).sensitivity()
    assert weighted.rosenbaum is None
    with pytest.raises(InputError, match="appariement"):
        rosenbaum_bounds(estimate_att(df, "treated", "positive_exit", COVARIATES))


# --------------------------------------------------------------------------
# LaLonde / Dehejia-Wahba benchmark (NSW treated vs CPS controls)
# --------------------------------------------------------------------------
LALONDE_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "u74", "u75"]
# Dehejia & Wahba (1999) propensity specification for the CPS comparison group.
LALONDE_PS = (
    "age + I(age**2) + I(age**3) + educ + I(educ**2) + marr + nodegree + black + hisp + re74 + re75"
    " + I(re74**2) + I(re75**2) + u74 + u75 + educ:re74"
)


@pytest.fixture(scope="module")
def lalonde():
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    cps = causaldata.cps_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    experimental = nsw.loc[nsw.treat == 1, "re78"].mean() - nsw.loc[nsw.treat == 0, "re78"].mean()
    obs = pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True)
    for frame in (nsw, obs):
        frame["u74"] = (frame["re74"] == 0).astype(float)
        frame["u75"] = (frame["re75"] == 0).astype(float)
    return nsw, obs, experimental


def test_lalonde_experimental_benchmark(lalonde):
    nsw, _, experimental = lalonde
    assert len(nsw) == 445 and nsw["treat"].sum() == 185  # Dehejia-Wahba subsample
    assert experimental == pytest.approx(1794.34, abs=0.5)
    # randomised: adjustment changes little
    res = estimate_att(nsw, "treat", "re78", LALONDE_COVARIATES, method="ipw")
    assert abs(res.estimate - experimental) < 300


@pytest.mark.parametrize("method", ["aipw", "ipw", "matching"])
def test_lalonde_cps_estimates_land_near_experiment(lalonde, method):
    _, obs, experimental = lalonde
    res = estimate_att(obs, "treat", "re78", LALONDE_COVARIATES, method=method, ps_formula=LALONDE_PS)
    assert res.naive < experimental - 8000  # naive comparison: about -8,498 dollars
    assert abs(res.estimate - experimental) < 1500
    assert res.ci_low < experimental < res.ci_high
    assert res.balance["smd_before"].abs().max() > 1.0
    assert res.balance["smd_after"].abs().max() < 0.25


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------
def test_impact_plots_have_titles_labels_and_source():
    from toolkit.plots.impact import covariate_label, effects_plot, love_plot, overlap_plot

    df = simulate(1500, 14)
    df["region"] = np.where(np.arange(1500) % 2 == 0, "Bretagne", "Normandie")
    res = estimate_att(df, "treated", "positive_exit", COVARIATES)
    by = estimate_att_by(df, "region", "treated", "positive_exit", COVARIATES)
    for fig, title in [
        (love_plot(res), "Équilibre"),
        (overlap_plot(res), "Recouvrement"),
        (effects_plot(by, overall=res, label_column="region"), "Effet"),
    ]:
        ax = fig.axes[0]
        assert ax.get_title(loc="left").startswith(title)
        assert ax.get_xlabel()
        assert any(t.get_gid() == "source" and t.get_text().startswith("Source") for t in fig.texts)
    love = love_plot(res, lang="en")
    assert love.axes[0].get_xlabel() == "Standardised mean difference (absolute value)"
    assert len(love.axes[0].get_yticklabels()) == len(res.balance)
    assert covariate_label("education_level[niveau_3]") == "Niveau de formation\u00a0: Niveau 3 (CAP/BEP)"
    assert isinstance(res, ATTResult)


# --------------------------------------------------------------------------
# Loading a comparison design through the cleaning layer (synthetic truth)
# --------------------------------------------------------------------------
KEY = "test-key-impact-0123456789abcdef"


@pytest.fixture(scope="module")
def comparison_export():
    import toolkit.synth as synth

    return synth.generate_comparison(seed=21, n_e2c=1500, n_comparison=3000, population_draws=0)


def test_load_impact_frame_one_file_recovers_synthetic_truth(comparison_export):
    from toolkit.impact import load_impact_frame

    raw = comparison_export.raw.copy()
    # three rows lose their follow-up: the outcome becomes unknown and must be reported, not dropped
    lost = raw.index[raw["groupe"] == "Comparaison"][:3]
    raw.loc[lost, ["motif_sortie", "date_debut_situation", "date_fin_situation", "date_suivi"]] = None
    design = load_impact_frame(raw, key=KEY)
    assert len(design.data) == len(raw)
    assert design.data["treated"].sum() == 1500
    report = design.outcome_report
    assert report.loc["comparaison", "n_outcome_missing"] >= 3
    assert report["n_outcome_missing"].sum() == design.data["outcome"].isna().sum()
    assert report.loc["e2c", "median_follow_up_months"] == pytest.approx(
        report.loc["comparaison", "median_follow_up_months"], abs=1
    )
    assert not set(design.covariates) & {"weeks_in_company", "n_internships"}
    assert {"sex", "age_at_entry", "education_level", "qpv"} <= set(design.covariates)
    res = estimate_att(design.data, "treated", "outcome", design.covariates)
    assert res.n_missing == design.data["outcome"].isna().sum()
    truth = comparison_export.truth["att"]
    assert res.ci_low < truth < res.ci_high
    assert abs(res.naive - truth) > abs(res.estimate - truth)


def test_load_impact_frame_two_files(comparison_export, tmp_path):
    from toolkit.impact import load_impact_frame

    raw = comparison_export.raw
    e2c = raw[raw["groupe"] == "E2C"].drop(columns="groupe")
    comp = raw[raw["groupe"] == "Comparaison"].drop(columns="groupe")
    e2c.to_csv(tmp_path / "e2c.csv", index=False)
    comp.to_csv(tmp_path / "comparaison.csv", index=False)
    design = load_impact_frame(tmp_path / "e2c.csv", tmp_path / "comparaison.csv", key=KEY)
    assert design.data.groupby("group", observed=True).size().to_dict() == {"e2c": 1500, "comparaison": 3000}
    assert set(design.data["source_file"]) == {"e2c.csv", "comparaison.csv"}
    assert design.rejected == {"e2c.csv": 0, "comparaison.csv": 0}
    mixed = raw[raw["groupe"] != "E2C"].copy()
    mixed.iloc[4, mixed.columns.get_loc("groupe")] = "E2C"
    with pytest.raises(InputError, match="E2C"):
        load_impact_frame(e2c, mixed, key=KEY)


def test_impact_section_tables_and_text(comparison_export):
    from toolkit.impact import load_impact_frame
    from toolkit.reports.impact_section import impact_section

    design = load_impact_frame(comparison_export.raw, key=KEY)
    out = impact_section(design, by="sex", figures=True)
    res = out["result"]
    assert list(out["summary"].columns) == ["Indicateur", "Valeur"]
    effect = f"{res.estimate * 100:+.1f}".replace(".", ",")
    assert out["summary"].iloc[0, 1] == effect
    assert effect in out["text"][0]
    assert "ne diffèrent que par les caractéristiques" in out["text"][-1]
    assert len(out["balance"]) == len(res.balance)
    assert set(out["figures"]) == {"love", "overlap", "effects"}
    assert list(out["by"]["by"]) == ["F", "M"]
    en = impact_section(design, lang="en", figures=False)
    assert en["summary"].columns[0] == "Indicator" and en["figures"] == {}
    with pytest.raises(ModelError, match="Moins de 5000"):
        impact_section(design, min_cell=5000, figures=False)
