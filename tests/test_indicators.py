"""Indicators against hand counts and independent interval formulas."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from toolkit import schema
from toolkit.definitions import positive_exit
from toolkit.errors import E2CError, SchemaError
from toolkit.indicators import (
    NATIONAL_BENCHMARKS,
    exit_mix,
    flow_counts,
    national_rate,
    positive_exit_rates,
    profile,
    trend,
    wilson_interval,
    with_national,
)


# --------------------------------------------------------------------------
# A hand-built canonical frame with known counts
# --------------------------------------------------------------------------
def canonical(rows: list[dict]) -> pd.DataFrame:
    """Canonical frame (every column, canonical dtypes) from partial row dicts."""
    columns = {c: [r.get(c) for r in rows] for c in schema.CANONICAL_DTYPES}
    columns["source_row"] = list(range(1, len(rows) + 1))
    frame = pd.DataFrame(columns)
    for name, dtype in schema.CANONICAL_DTYPES.items():
        values = pd.to_datetime(frame[name]) if str(dtype).startswith("datetime") else frame[name]
        frame[name] = values.astype(dtype)
    frame["positive_exit"] = positive_exit(frame, "projet")  # as cleaning does, default definition
    return frame


BASE = {
    "region": "Bretagne",
    "school": "E2C A",
    "site": "E2C A",
    "sex": "F",
    "age_at_entry": 19,
    "education_level": "infra_3",
    "entry_date": "2023-01-10",
    "cohort_year": 2023,
}


def left(reason: str, start=None, end=None, follow=None, **extra) -> dict:
    return {
        **BASE,
        "exit_date": "2023-07-01",
        "exit_reason": reason,
        "exit_category": schema.EXIT_CATEGORY_OF[reason],
        "outcome_start": start,
        "outcome_end": end,
        "follow_up_date": follow,
        **extra,
    }


def hand_frame() -> pd.DataFrame:
    """Bretagne: 3 long CDI, 1 one-month CDD, 1 training with no start date, 1 unknown reason,
    1 drop-out, 2 still in. Occitanie: 2 apprenticeships of 3 months, 1 job search (one man,
    one trainee with no sex recorded)."""
    a = []
    a += [left("cdi", "2023-07-03", None, "2023-12-01", age_at_entry=17) for _ in range(3)]
    a += [left("cdd", "2023-07-03", "2023-08-03", sex="M", age_at_entry=22)]
    a += [left("formation_qualifiante", None, None, None, education_level="niveau_3")]
    a += [left("inconnu", age_at_entry=26)]
    a += [left("abandon", sex="M", education_level=None)]
    a += [{**BASE, "age_at_entry": None}, {**BASE}]
    b = dict(
        region="Occitanie",
        school="E2C B",
        site="E2C B",
        cohort_year=2020,
        entry_date="2020-01-10",
        exit_date="2020-07-01",
    )
    a += [left("apprentissage", "2020-07-03", "2020-10-10", **b) for _ in range(2)]
    a += [left("recherche_emploi", **b, sex="M")]
    a[-2]["sex"] = None
    return canonical(a)


def hand_wilson(k, n, level=0.95):
    """Wilson (1927) score interval, written out independently of the toolkit."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# --------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------
def test_wilson_matches_newcombe_1998_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score).
    low, high = wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    np.testing.assert_allclose(low, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(high, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)


@given(
    st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
@settings(max_examples=60, deadline=None)
def test_wilson_matches_hand_formula(kn, level):
    k, n = kn
    low, high = wilson_interval(k, n, level)
    exp_low, exp_high = hand_wilson(k, n, level)
    assert float(low) == pytest.approx(max(exp_low, 0.0), abs=1e-12)
    assert float(high) == pytest.approx(min(exp_high, 1.0), abs=1e-12)
    assert 0.0 <= float(low) <= k / n <= float(high) <= 1.0


def test_wilson_vectorised_with_statsmodels_and_na():
    from statsmodels.stats.proportion import proportion_confint

    k = pd.Series([3, 0, 10, None, 4], dtype="Int64")
    n = pd.Series([10, 0, 10, 5, 40], dtype="Int64")
    low, high = wilson_interval(k, n)
    assert isinstance(low, np.ndarray) and low.shape == (5,)
    assert np.isnan(low[1]) and np.isnan(high[1])  # n = 0: no information
    assert np.isnan(low[3])  # missing k
    ref_low, ref_high = proportion_confint(np.array([3, 10, 4]), np.array([10, 10, 40]), method="wilson")
    np.testing.assert_allclose(low[[0, 2, 4]], ref_low, atol=1e-12)
    np.testing.assert_allclose(high[[0, 2, 4]], ref_high, atol=1e-12)
    assert high[2] == 1.0


def test_wilson_rejects_impossible_counts():
    with pytest.raises(E2CError):
        wilson_interval(11, 10)
    with pytest.raises(E2CError):
        wilson_interval(1, 10, level=95)


# --------------------------------------------------------------------------
# Positive-exit rates
# --------------------------------------------------------------------------
def test_rates_by_region_hand_counts():
    table = positive_exit_rates(hand_frame(), "region", definition="projet")
    assert list(table.columns) == [
        "region",
        "n_exits",
        "n_known",
        "n_unknown",
        "n_positive",
        "n_interruptions",
        "rate",
        "ci_low",
        "ci_high",
        "definition",
    ]
    bre = table.set_index("region").loc["Bretagne"]
    # 7 exits: 3 CDI > 2 months (+), CDD of 1 month (-), drop-out (-), training without a
    # start date (unknown), unknown reason (unknown).
    assert (bre.n_exits, bre.n_known, bre.n_unknown, bre.n_positive, bre.n_interruptions) == (7, 5, 2, 3, 1)
    assert bre.rate == pytest.approx(3 / 5)
    assert (bre.ci_low, bre.ci_high) == pytest.approx(hand_wilson(3, 5))
    occ = table.set_index("region").loc["Occitanie"]
    assert (occ.n_exits, occ.n_known, occ.n_positive) == (3, 3, 2)
    assert set(table["definition"]) == {"projet"}


def test_rates_other_definition_is_recomputed():
    frame = hand_frame()
    frame["positive_exit"] = pd.array([pd.NA] * len(frame), dtype="boolean")  # deliberately useless column
    table = positive_exit_rates(frame, "region", definition="reseau_2017").set_index("region")
    # 2017: CDI and qualifying training count with no duration; a 1-month CDD does not.
    assert (table.loc["Bretagne", "n_known"], table.loc["Bretagne", "n_positive"]) == (6, 4)
    assert table.loc["Bretagne", "definition"] == "reseau_2017"


def test_rates_default_uses_the_cleaned_column():
    frame = hand_frame()
    frame["positive_exit"] = positive_exit(frame, "reseau_2023")
    frame.attrs["definition"] = "reseau_2023"
    default = positive_exit_rates(frame)
    explicit = positive_exit_rates(frame.drop(columns="positive_exit"), definition="reseau_2023")
    assert default["definition"].iloc[0] == "reseau_2023"
    pd.testing.assert_frame_equal(default, explicit)


def test_unknown_outcomes_never_enter_the_denominator():
    frame = hand_frame()
    base = positive_exit_rates(frame).iloc[0]
    more_unknown = pd.concat([frame, canonical([left("inconnu") for _ in range(25)])], ignore_index=True)
    after = positive_exit_rates(more_unknown).iloc[0]
    assert after.n_unknown == base.n_unknown + 25
    assert (after.n_known, after.n_positive, after.rate, after.ci_low) == (
        base.n_known,
        base.n_positive,
        base.rate,
        base.ci_low,
    )


def test_exclude_interruptions():
    bre = positive_exit_rates(hand_frame(), "region", exclude_interruptions=True).set_index("region").loc["Bretagne"]
    assert (bre.n_exits, bre.n_known, bre.n_positive, bre.n_interruptions) == (6, 4, 3, 1)
    assert bre.rate == pytest.approx(3 / 4)


def test_missing_group_values_are_a_group_of_their_own():
    table = positive_exit_rates(hand_frame(), "sex")
    assert len(table) == 3
    na_row = table[table["sex"].isna()].iloc[0]
    assert (na_row.n_exits, na_row.n_known, na_row.n_positive) == (1, 1, 1)
    assert table["n_exits"].sum() == 10  # no exit lost


def test_derived_groupings_age_band_isced_exit_year():
    frame = hand_frame()
    by_age = positive_exit_rates(frame, "age_band").set_index("age_band")
    assert by_age.loc["16-17", "n_exits"] == 3 and by_age.loc["16-17", "n_positive"] == 3
    assert by_age.loc["26+", "n_unknown"] == 1
    by_isced = positive_exit_rates(frame, "isced")
    assert by_isced["n_exits"].sum() == 10
    assert by_isced.loc[by_isced["isced"] == "isced_3_4", "n_exits"].item() == 1
    assert by_isced["isced"].isna().sum() == 1  # the drop-out with no education level
    by_year = positive_exit_rates(frame, ["region", "exit_year"])
    assert sorted(by_year["exit_year"].dropna().astype(int)) == [2020, 2023]
    assert by_year["exit_year"].isna().sum() == 1  # Bretagne's trainees still in the programme


def test_bad_inputs_give_clear_errors():
    with pytest.raises(E2CError, match="regroupement inconnu"):
        positive_exit_rates(hand_frame(), "shoe_size")
    with pytest.raises(SchemaError, match="exit_reason"):
        positive_exit_rates(hand_frame().drop(columns=["exit_reason"]))
    with pytest.raises(E2CError):
        positive_exit_rates(hand_frame(), definition="no_such_definition")


def test_empty_frame_gives_empty_rates():
    table = positive_exit_rates(schema.empty_canonical_frame(), "region")
    assert len(table) == 0 and "rate" in table.columns


# --------------------------------------------------------------------------
# Flows, exit mix, trend, profile
# --------------------------------------------------------------------------
def test_flow_counts_hand_values_and_identities():
    table = flow_counts(hand_frame(), "region").set_index("region")
    bre = table.loc["Bretagne"]
    assert (
        bre.n_entries,
        bre.n_exits,
        bre.n_interruptions,
        bre.n_completed,
        bre.n_still_in,
        bre.n_unknown_reason,
        bre.n_unknown,
    ) == (9, 7, 1, 6, 2, 1, 2)
    assert (table.n_entries == table.n_exits + table.n_still_in).all()
    assert (table.n_exits == table.n_interruptions + table.n_completed).all()


def test_exit_mix_hand_values():
    mix = exit_mix(hand_frame(), "region")
    bre = mix[mix["region"] == "Bretagne"].set_index("category")
    assert list(bre.index) == ["job", "work_study", "training", "other", "unknown"]
    assert bre["n"].tolist() == [4, 0, 1, 1, 1]
    assert set(bre["n_known"]) == {6} and set(bre["n_exits"]) == {7}
    assert bre.loc["job", "share"] == pytest.approx(4 / 6)
    assert (bre.loc["job", "ci_low"], bre.loc["job", "ci_high"]) == pytest.approx(hand_wilson(4, 6))
    assert np.isnan(bre.loc["unknown", "share"])
    assert bre.loc["unknown", "share_of_exits"] == pytest.approx(1 / 7)
    assert bre["share"].sum() == pytest.approx(1.0)


def test_exit_mix_with_national_2024_shares():
    mix = with_national(exit_mix(hand_frame())).set_index("category")
    assert mix.loc["job", "national"] == 0.20 and mix.loc["work_study", "national"] == 0.16
    assert np.isnan(mix.loc["other", "national"])


def test_trend_sets_the_national_rate_of_the_year_beside_each_rate():
    table = trend(hand_frame())
    assert table["cohort_year"].tolist() == [2020, 2023]
    # 2020: no published national figure; 2023: 62 %.
    assert np.isnan(table["national"].iloc[0]) and table["national"].iloc[1] == 0.62
    by_region = trend(hand_frame(), "region")
    assert list(by_region.columns[:2]) == ["region", "cohort_year"]


def test_national_benchmarks_are_the_published_figures():
    rates = NATIONAL_BENCHMARKS["rates"]
    headline = rates[rates["headline"]].set_index("year")["rate"]
    assert headline.to_dict() == {
        2008: 0.62,
        2011: 0.58,
        2015: 0.59,
        2016: 0.62,
        2018: 0.60,
        2019: 0.63,
        2021: 0.64,
        2022: 0.63,
        2023: 0.62,
        2024: 0.61,
    }
    assert national_rate()["year"] == 2024
    with pytest.raises(E2CError, match="2020"):
        national_rate(2020)
    one = with_national(positive_exit_rates(hand_frame()), year=2019)
    assert one["national"].item() == 0.63 and one["national_timing"].item() == "avec_suivi"


def test_profile_counts_and_shares():
    table = profile(hand_frame(), ["sex", "qpv", "age_band"])
    sex = table[table["variable"] == "sex"]
    assert sex["n"].tolist() == [8, 3, 1]  # F, M, not stated
    assert set(sex["n_total"]) == {12} and set(sex["n_known"]) == {11}
    assert sex["share"].iloc[:2].tolist() == pytest.approx([8 / 11, 3 / 11])
    assert sex["national_low"].iloc[0] == 0.50
    qpv = table[table["variable"] == "qpv"]
    assert qpv["n"].tolist() == [0, 0, 12]  # nothing recorded: all "not stated", no share
    assert qpv["share"].isna().all()
    ages = table[table["variable"] == "age_band"]
    assert ages["n"].sum() == 12 and ages["code"].isna().iloc[-1]
    assert ages["n"].iloc[-1] == 1  # one trainee with no age


# --------------------------------------------------------------------------
# Integration: the synthetic generator's own counts, through cleaning
# --------------------------------------------------------------------------
def test_counts_on_cleaned_synthetic_export_match_the_generator_truth():
    import toolkit.cleaning as cleaning
    import toolkit.synth as synth

    export = synth.generate_export(seed=11, years=(2022, 2023), trainees_per_year=800)
    data = cleaning.clean_export(export.raw).data
    counts = export.truth["counts"]
    flows = flow_counts(data).iloc[0]
    rates = positive_exit_rates(data).iloc[0]
    assert flows.n_entries == counts["expected_kept_rows"]
    assert flows.n_exits == counts["exits"] and flows.n_still_in == counts["in_programme"]
    assert rates.n_known == counts["known_outcome"]
    assert rates.n_unknown == counts["unknown_planted"] + counts["unknown_censored"]
    assert rates.n_positive == counts["positive_exits"]
    by_region = positive_exit_rates(data, "region")
    assert by_region[["n_exits", "n_known", "n_positive"]].sum().tolist() == [
        counts["exits"],
        counts["known_outcome"],
        counts["positive_exits"],
    ]


def test_wilson_coverage_on_simulated_binomials():
    # Known truth: p = 0.6, n = 40; the 95 % Wilson interval should cover p about 95 % of the time.
    rng = np.random.default_rng(2024)
    k = rng.binomial(40, 0.6, size=4000)
    low, high = wilson_interval(k, np.full(k.shape, 40))
    coverage = np.mean((low <= 0.6) & (0.6 <= high))
    assert 0.93 <= coverage <= 0.975


def test_isced_codes_have_labels():
    assert schema.label("isced", "isced_0_2").startswith("CITE 0 à 2")
    assert schema.label("isced", "isced_5_8", "en") == "ISCED 5-8 (tertiary)"


def test_national_option_sets_the_benchmark_beside_each_row():
    by_year = positive_exit_rates(hand_frame(), "cohort_year", national=True)
    assert by_year["national"].isna().tolist() == [True, False]  # 2020 unpublished, 2023 = 62 %
    assert by_year["national"].iloc[1] == 0.62
    latest = positive_exit_rates(hand_frame(), "region", national=True)
    assert set(latest["national"]) == {0.61} and set(latest["national_year"]) == {2024}
    mix = exit_mix(hand_frame(), national=True)
    assert mix["national"].tolist()[:3] == [0.20, 0.16, 0.25]
