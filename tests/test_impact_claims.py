"""What the impact section claims, read from its generated sentences and tables: an interval containing 0
is called indistinguishable from zero, each E-value has its own sentence, imbalance after adjustment is
flagged, and the analysed groups are accounted for against an independent count."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from toolkit.i18n import use_language
from toolkit.impact.claims import assess, claim_sentences, group_accounting
from toolkit.reports.impact_section import impact_section

COVARIATES = ["sex", "age_at_entry", "qpv"]


def simulate(n: int, seed: int, effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(16, 26, n).astype(float)
    sex = rng.choice(["F", "M"], n)
    qpv = rng.random(n) < 0.35
    treated = (rng.random(n) < expit(-0.5 - 0.15 * (age - 20) + 0.4 * (sex == "M") + 0.7 * qpv)).astype(int)
    eta = 0.2 + 0.1 * (age - 20) - 0.3 * (sex == "M") - 0.5 * qpv
    y = rng.random(n) < expit(eta + effect * treated)
    return pd.DataFrame(
        {
            "treated": treated,
            "outcome": y.astype(float),
            "sex": pd.Categorical(sex, categories=["F", "M"]),
            "age_at_entry": pd.array(age.astype(int), dtype="Int64"),
            "qpv": pd.array(qpv, dtype="boolean"),
        }
    )


def _e_value(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def _fr(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


@pytest.fixture(scope="module")
def clear_effect():
    return impact_section(simulate(4000, 1, effect=0.8), COVARIATES, figures=False)


@pytest.fixture(scope="module")
def null_effect():
    return impact_section(simulate(160, 3, effect=0.0), COVARIATES, figures=False)


def test_interval_containing_zero_is_called_indistinguishable(null_effect):
    res = null_effect["result"]
    assert res.ci_low < 0 < res.ci_high  # the design gives an interval around 0
    text = " ".join(null_effect["text"])
    assert "indistinguable de zéro" in text
    assert "ne permettent de conclure ni à un effet positif, ni à un effet négatif" in text
    assert "l'effet est positif" not in text
    # no E-value "to cancel the effect": there is no effect to cancel
    assert "Pour ramener l'estimation à 0" not in text and "annuler l'effet estimé" not in text
    assert "il n'y a pas d'effet à annuler" in text
    rows = dict(null_effect["sensitivity"].to_numpy())
    assert rows["E-value de la borne de l'IC la plus proche de 0"] == "1,00"
    assert any("l'intervalle contient déjà 0" in k for k in rows)
    summary = dict(null_effect["summary"].to_numpy())
    assert summary["Lecture de l'intervalle"] == "indistinguable de zéro (l'intervalle contient 0)"


def test_clear_effect_gives_both_e_values_against_hand_calculation(clear_effect):
    res = clear_effect["result"]
    assert res.ci_low > 0
    p0 = res.mean_control_counterfactual
    ev = _e_value((p0 + res.estimate) / p0)
    ev_ci = _e_value((p0 + res.ci_low) / p0)
    text = clear_effect["text"][-1]
    assert f"rapport de risques d'au moins {_fr(ev)} (E-value de l'estimation)" in text
    assert f"d'au moins {_fr(ev_ci)} (E-value de la borne la plus proche de 0)" in text
    assert "l'effet est positif" in clear_effect["text"][0]
    assert "indistinguable" not in " ".join(clear_effect["text"])
    with use_language("en"):
        en = impact_section(simulate(4000, 1, effect=0.8), COVARIATES, figures=False)
    assert "the effect is positive" in en["text"][0]
    assert f"at least {ev:.2f} (E-value of the estimate)" in en["text"][-1]


def test_negative_interval_is_called_negative():
    out = impact_section(simulate(4000, 2, effect=-0.8), COVARIATES, figures=False)
    assert out["result"].ci_high < 0
    assert "entièrement au-dessous de 0 : l'effet est négatif" in out["text"][0]


def test_imbalance_after_adjustment_is_flagged_in_words(clear_effect):
    res = clear_effect["result"]
    sens = res.sensitivity()
    assert "aucun écart standardisé ne dépasse 0,1" in clear_effect["text"][2]
    balance = res.balance.copy()
    balance["smd_after"] = 0.0
    balance.iloc[0, balance.columns.get_loc("smd_after")] = 0.17
    one = dataclasses.replace(res, balance=balance)
    claims = assess(one, sens)
    groups = group_accounting(simulate(4000, 1, 0.8), one, "treated", "outcome", COVARIATES)
    text = claim_sentences(one, claims, groups, "sexe", str, 100)[2]
    assert text.startswith("Attention : après ajustement, 1 caractéristique reste déséquilibrée")
    assert "jusqu'à 0,17" in text and str(balance.index[0]) in text
    balance.iloc[1, balance.columns.get_loc("smd_after")] = -0.45
    two = dataclasses.replace(res, balance=balance)
    claims = assess(two, sens)
    assert claims.imbalanced == (str(balance.index[1]), str(balance.index[0]))  # largest first
    text = claim_sentences(two, claims, groups, "sexe", str, 100)[2]
    assert "2 caractéristiques restent déséquilibrées" in text and "jusqu'à 0,45" in text
    with use_language("en"):
        text = claim_sentences(two, claims, groups, "sex", str, 100)[2]
    assert "2 characteristics are still imbalanced" in text


def test_analysed_groups_are_accounted_for_against_independent_count():
    frame = simulate(900, 5, effect=0.5)
    frame.loc[frame.index[:120], "outcome"] = np.nan
    frame.loc[frame.index[120:200], "age_at_entry"] = pd.NA
    out = impact_section(frame, COVARIATES, figures=False)
    res = out["result"]
    t = frame["treated"] == 1
    unknown = frame["outcome"].isna()
    no_x = frame[COVARIATES].isna().any(axis=1) & ~unknown
    groups = group_accounting(frame, res, "treated", "outcome", COVARIATES)
    assert groups.loc["treated", "outcome_unknown"] == (t & unknown).sum()
    assert groups.loc["control", "covariate_missing"] == (~t & no_x).sum()
    assert groups.loc["treated", "n_analysed"] == (t & ~unknown & ~no_x).sum() == res.n_treated
    table = out["groups"]
    assert list(table.iloc[:, 0]) == ["Stagiaires E2C", "Groupe de comparaison"]
    assert table.loc[0, "Issue inconnue"] == str((t & unknown).sum())
    sentence = out["text"][1]
    assert f"Sont analysés {res.n_treated} stagiaires E2C dont l'issue est connue" in sentence
    n_out = int(t.sum() - res.n_treated)
    verb = "est laissé" if n_out < 2 else "sont laissés"
    assert f"Sur {int(t.sum())} stagiaires E2C, {n_out} {verb} de côté" in sentence
    assert f"{(t & unknown).sum()} sans issue connue" in sentence


def _left_out_counts(frame: pd.DataFrame, res) -> dict:
    groups = group_accounting(frame, res, "treated", "outcome", COVARIATES)
    return {(g, c): int(groups.loc[g, c]) for g in groups.index for c in ("outcome_unknown", "covariate_missing")}


def test_small_counts_of_rows_left_out_are_never_printed():
    """Fewer than 11 rows left out for a reason: the reasons are named, no count and no group total is
    printed (total − analysed would give the small count back); large counts are printed in full."""
    frame = simulate(900, 5, effect=0.5)
    frame.loc[frame.index[:120], "outcome"] = np.nan
    treated_rows = frame.index[(frame["treated"] == 1) & frame["outcome"].notna()]
    frame.loc[treated_rows[:4], "age_at_entry"] = pd.NA  # 4 treated with a missing characteristic
    out = impact_section(frame, COVARIATES, figures=False)
    res = out["result"]
    counts = _left_out_counts(frame, res)
    assert counts[("treated", "covariate_missing")] == 4 and counts[("treated", "outcome_unknown")] >= 11
    sentence = out["text"][1].replace("\u00a0", " ")
    n_treated_rows = int((frame["treated"] == 1).sum())
    assert "D'autres stagiaires E2C sont laissés de côté (sans issue connue ; une caractéristique" in sentence
    assert "leur nombre n'est pas publié" in sentence
    assert f"Sur {n_treated_rows} stagiaires E2C" not in sentence
    assert f"{counts[('treated', 'outcome_unknown')]} sans issue connue" not in sentence.split("D'autres")[1]
    numbers = [int(x.replace("\u202f", "")) for x in re.findall(r"\d[\d\u202f]*", sentence.replace("E2C", ""))]
    assert not [n for n in numbers if 1 <= n < 11], sentence
    control = counts[("control", "outcome_unknown")]
    assert control >= 11 and f"{control} sans issue connue" in sentence  # the comparison side is printed
    with use_language("en"):
        english = impact_section(frame, COVARIATES, figures=False)["text"][1].replace("\u00a0", " ")
    assert "Other E2C trainees are left out (outcome unknown; a characteristic at entry is missing)" in english


def test_impact_result_shows_a_french_table_with_its_reading(null_effect, clear_effect):
    res = null_effect["result"]
    html = res._repr_html_()
    assert "Effet estimé sur les stagiaires (ATT)" in html
    assert "Lecture : indistinguable de zéro (l&#x27;intervalle contient 0)" in html
    table = dict(res.display_table().to_numpy())
    assert table["Effet estimé (points)"] == f"{res.estimate * 100:+.1f}".replace(".", ",")
    assert "effet positif, distinct de zéro" in clear_effect["result"]._repr_html_()
    assert "estimate" in res.display_table(raw_names=True).iloc[:, 0].tolist()


def test_impact_figures_have_alt_text(clear_effect):
    from toolkit.display import figure
    from toolkit.plots.impact import love_plot, overlap_plot

    res = clear_effect["result"]
    love = love_plot(res)
    assert "caractéristiques" in love.alt_text and "0,1" in love.alt_text
    bundle = figure(love)._repr_mimebundle_()
    assert bundle["image/png"] and 'alt="Écarts standardisés' in bundle["text/html"]
    assert "propension" in figure(overlap_plot(res))._repr_mimebundle_()["text/html"]
