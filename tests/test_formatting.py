"""Exact strings for French and English number formatting."""

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import E2CError
from toolkit.formatting import (
    NBSP,
    column_label,
    fmt_date,
    fmt_int,
    fmt_number,
    fmt_pct,
    fmt_rate_ci,
    format_table,
)


def test_nbsp_is_the_documented_no_break_space():
    assert NBSP == "\u00a0"


@pytest.mark.parametrize(
    ("value", "fr", "en"),
    [
        (0, "0", "0"),
        (7, "7", "7"),
        (999, "999", "999"),
        (1234, "1\u00a0234", "1,234"),
        (1234567, "1\u00a0234\u00a0567", "1,234,567"),
        (-15631, "-15\u00a0631", "-15,631"),
        (17165.4, "17\u00a0165", "17,165"),
        (np.int64(15631), "15\u00a0631", "15,631"),
    ],
)
def test_fmt_int(value, fr, en):
    assert fmt_int(value) == fr
    assert fmt_int(value, "fr") == fr
    assert fmt_int(value, "en") == en


def test_fmt_number_decimals_and_negative_zero():
    assert fmt_number(1234.56) == "1\u00a0234,6"
    assert fmt_number(1234.56, "en", decimals=2) == "1,234.56"
    assert fmt_number(0.5, decimals=0) == "0"  # round half to even, like Python
    assert fmt_number(-0.04, decimals=1) == "0,0"  # never "-0,0"
    assert fmt_number(float("inf")) == "+∞"


@pytest.mark.parametrize(
    ("value", "decimals", "fr", "en"),
    [
        (0.563, 1, "56,3\u00a0%", "56.3%"),
        (0.563, 0, "56\u00a0%", "56%"),
        (0.0, 1, "0,0\u00a0%", "0.0%"),
        (1.0, 1, "100,0\u00a0%", "100.0%"),
        (12.5, 0, "1\u00a0250\u00a0%", "1,250%"),
        (0.61, 0, "61\u00a0%", "61%"),
    ],
)
def test_fmt_pct(value, decimals, fr, en):
    assert fmt_pct(value, decimals=decimals) == fr
    assert fmt_pct(value, "en", decimals=decimals) == en


def test_fmt_rate_ci():
    assert fmt_rate_ci(0.563, 0.521, 0.604) == "56,3\u00a0% [52,1\u00a0\u2013\u00a060,4]"
    assert fmt_rate_ci(0.563, 0.521, 0.604, "en") == "56.3% [52.1\u201360.4]"
    assert fmt_rate_ci(0.5, np.nan, 0.6) == "50,0\u00a0%"  # a missing bound gives the rate alone
    assert fmt_rate_ci(np.nan, 0.1, 0.2) == "n.d."


def test_missing_values():
    for value in (None, np.nan, pd.NA, pd.NaT):
        assert fmt_int(value) == "n.d."
        assert fmt_int(value, "en") == "n/a"
        assert fmt_pct(value, na="–") == "–"
    assert fmt_date(pd.NaT) == "n.d."


def test_vectorised_variants_keep_the_index():
    series = pd.Series([1234.0, np.nan, 5.0], index=["a", "b", "c"])
    out = fmt_int(series)
    assert list(out.index) == ["a", "b", "c"]
    assert out.tolist() == ["1\u00a0234", "n.d.", "5"]
    assert fmt_pct(np.array([0.1, 0.25]), "en").tolist() == ["10.0%", "25.0%"]
    nullable = pd.Series([3, None], dtype="Int64")
    assert fmt_int(nullable).tolist() == ["3", "n.d."]
    ci = fmt_rate_ci(pd.Series([0.5, np.nan]), pd.Series([0.4, np.nan]), pd.Series([0.6, np.nan]), "en")
    assert ci.tolist() == ["50.0% [40.0\u201360.0]", "n/a"]


def test_fmt_date():
    assert fmt_date(pd.Timestamp("2024-04-01")) == "1er avril 2024"
    assert fmt_date("2024-04-05") == "5 avril 2024"
    assert fmt_date("2024-08-15", "en") == "15 August 2024"
    assert fmt_date("2024-04-05", style="short") == "05/04/2024"
    assert fmt_date("2024-04-05", "en", style="short") == "2024-04-05"
    with pytest.raises(E2CError):
        fmt_date("2024-04-05", style="medium")


def test_unknown_language_is_a_clear_error():
    with pytest.raises(E2CError, match="Langue inconnue"):
        fmt_int(3, "de")


def test_column_label_derived_canonical_and_unknown():
    assert column_label("rate") == "Taux de sorties positives"
    assert column_label("rate", "en") == "Positive-exit rate"
    assert column_label("region") == "Région"  # from schema.CANONICAL_COLUMNS
    assert column_label("education_level", "en") == "Education level"
    assert column_label("no_such_column") == "no_such_column"


def test_format_table_formats_renames_and_selects():
    table = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", "M", None], categories=["F", "M"]),
            "n_exits": [1200, 15, 3],
            "rate": [0.5, 0.25, np.nan],
            "ci_low": [0.4, 0.1, np.nan],
            "ci_high": [0.6, 0.5, np.nan],
            "definition": ["projet"] * 3,
        },
        index=[10, 11, 12],
    )
    spec = {"sex": "code", "n_exits": "int", "rate": "rate_ci", "ci_low": ("pct", {"decimals": 0})}
    fr = format_table(table, spec)
    assert list(fr.columns) == ["Sexe", "Sorties", "Taux de sorties positives", "Borne basse IC 95 %"]
    assert fr.iloc[:, 0].tolist() == ["Femmes", "Hommes", "Non renseigné"]
    assert fr.iloc[:, 1].tolist() == ["1\u00a0200", "15", "3"]
    assert fr.iloc[0, 2] == "50,0\u00a0% [40,0\u00a0\u2013\u00a060,0]"
    assert fr.iloc[2, 2] == "n.d."
    assert fr.iloc[1, 3] == "10\u00a0%"
    assert list(fr.index) == [0, 1, 2]

    en = format_table(table, spec, "en", labels={"rate": "Rate (95% CI)"})
    assert list(en.columns) == ["Sex", "Exits", "Rate (95% CI)", "95% CI lower bound"]
    assert en.iloc[:, 0].tolist() == ["Women", "Men", "Not stated"]
    assert en.iloc[1, 2] == "25.0% [10.0\u201350.0]"


def test_format_table_errors():
    table = pd.DataFrame({"a": [1]})
    with pytest.raises(E2CError, match="absentes"):
        format_table(table, {"b": "int"})
    with pytest.raises(E2CError, match="inconnu"):
        format_table(table, {"a": "money"})


def test_display_table_rates():
    from toolkit.formatting import display_table

    rates = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", None], categories=["F", "M"]),
            "n_exits": [1500, 12],
            "n_known": [1400, 10],
            "n_unknown": [100, 2],
            "n_positive": [700, 5],
            "n_interruptions": [10, 0],
            "rate": [0.5, 0.5],
            "ci_low": [0.474, 0.237],
            "ci_high": [0.526, 0.763],
            "definition": "projet",
            "national": 0.61,
            "national_year": 2024,
            "national_timing": "non_precise",
            "national_source": "Réseau",
        }
    )
    out = display_table(rates)
    assert list(out.columns) == [
        "Sexe",
        "Sorties",
        "Sorties à l'issue connue",
        "Sorties à l'issue inconnue",
        "Sorties positives",
        "Interruptions",
        "Taux de sorties positives (IC 95 %)",
        "Référence nationale",
    ]
    assert out.iloc[0].tolist() == [
        "Femmes",
        "1\u00a0500",
        "1\u00a0400",
        "100",
        "700",
        "10",
        "50,0\u00a0% [47,4\u00a0\u2013\u00a052,6]",
        "61\u00a0%",
    ]
    assert out.iloc[1, 0] == "Non renseigné"
    en = display_table(rates, "en", columns=["sex", "rate"])
    assert en.iloc[0].tolist() == ["Women", "50.0% [47.4\u201352.6]"]


def test_display_table_profile_and_esf():
    from toolkit.formatting import display_table

    prof = pd.DataFrame(
        {
            "variable": ["qpv", "qpv"],
            "code": pd.Series([True, None], dtype="object"),
            "n": [30, 10],
            "n_total": 100,
            "n_known": 90,
            "share": [1 / 3, np.nan],
            "ci_low": [0.24, np.nan],
            "ci_high": [0.44, np.nan],
            "share_of_total": [0.3, 0.1],
            "national_low": [0.30, np.nan],
            "national_high": [0.37, np.nan],
            "national_source": ["x", None],
        }
    )
    out = display_table(prof)
    assert list(out.columns[:2]) == ["Caractéristique", "Valeur"]
    assert out.iloc[0, :2].tolist() == ["Résident QPV", "Oui"]
    assert out.iloc[1, 1] == "Non renseigné"
    assert out["Fourchette nationale"].tolist() == ["30\u201337\u00a0%", "n.d."]
    esf = pd.DataFrame(
        {
            "code": ["EECO01", "EECR02"],
            "code_confirmed": [True, False],
            "kind": ["output", "immediate_result"],
            "indicator": ["Total", "Formation"],
            "women": [1200, 3],
            "men": [1000, 4],
            "sex_unknown": [0, 0],
            "non_binary": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "total": [2200, 7],
        }
    )
    out = display_table(esf)
    assert out["Code"].tolist() == ["EECO01", "EECR02"]  # code checks are for developers, not readers
    assert not out.apply(lambda col: col.astype(str).str.contains(r"\*|confirm")).any().any()
    assert out["Type d'indicateur"].tolist() == ["Réalisation", "Résultat immédiat"]
    assert out["Non binaires"].tolist() == ["non collecté"] * 2
    assert out["Total"].tolist() == ["2\u00a0200", "7"]


def test_pvalues_and_points_as_in_the_reports():
    from toolkit.formatting import fmt_points, fmt_pvalue

    assert fmt_pvalue(8.478461e-287) == "<\u00a00,001"
    assert fmt_pvalue(8.478461e-287, "en") == "< 0.001"
    assert fmt_pvalue(0.001) == "0,001" and fmt_pvalue(0.04321) == "0,043" and fmt_pvalue(1.0000001) == "1,000"
    assert fmt_pvalue(pd.Series([0.5, np.nan, 1e-9])).tolist() == ["0,500", "n.d.", "<\u00a00,001"]
    assert fmt_points(0.035) == "+3,5" and fmt_points(-0.0351) == "-3,5" and fmt_points(0.0) == "0,0"
    assert fmt_points(0.1234, "en", 2) == "+12.34"
