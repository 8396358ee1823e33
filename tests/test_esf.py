"""ESF+ indicators: hand counts, sums that must add up, scope and the unsupported list."""

import numpy as np
import pandas as pd
import pytest

from toolkit import schema
from toolkit.errors import E2CError, SchemaError
from toolkit.esf import ESF_INDICATORS, esf_indicators, esf_unsupported


def canonical(rows: list[dict]) -> pd.DataFrame:
    """Canonical frame (every column, canonical dtypes) from partial row dicts."""
    columns = {c: [r.get(c) for r in rows] for c in schema.CANONICAL_DTYPES}
    columns["source_row"] = list(range(1, len(rows) + 1))
    frame = pd.DataFrame(columns)
    for name, dtype in schema.CANONICAL_DTYPES.items():
        values = pd.to_datetime(frame[name]) if str(dtype).startswith("datetime") else frame[name]
        frame[name] = values.astype(dtype)
    return frame


BASE = {
    "region": "Bretagne",
    "school": "A",
    "site": "A",
    "sex": "F",
    "age_at_entry": 19,
    "education_level": "infra_3",
    "entry_date": "2023-01-10",
    "cohort_year": 2023,
    "group": "e2c",
    "nationality": "francaise",
    "rural": False,
    "disability": False,
    "esf_cofunded": True,
}


def left(reason, start="2023-07-10", **extra):
    return {
        **BASE,
        "exit_date": "2023-07-01",
        "exit_reason": reason,
        "exit_category": schema.EXIT_CATEGORY_OF[reason],
        "outcome_start": start,
        **extra,
    }


def hand_frame() -> pd.DataFrame:
    rows = [
        {**BASE, "age_at_entry": 16, "disability": True},  # F, minor, still in
        {**BASE, "sex": "M", "age_at_entry": 17, "nationality": "hors_ue"},  # M, minor, still in
        {**BASE, "sex": "M", "age_at_entry": None, "education_level": None, "rural": None},
        {**BASE, "age_at_entry": 30, "education_level": "niveau_5_plus", "rural": True},
        left("cdi"),  # F, employment
        left("apprentissage", sex="M", education_level="niveau_3"),  # M, employment (work-study)
        left("creation_entreprise", sex=None, nationality="hors_ue"),  # ?, self-employment
        left("formation_qualifiante", education_level="niveau_4"),  # F, training
        left("formation_prequalifiante", start="2023-09-15", sex="M"),  # M, training too late
        left("recherche_emploi", sex="M", disability=None),  # M, job searching
        left("sans_solution"),  # F, none of the three
        left("inconnu", start=None),  # F, unknown situation
        left("cdd", start=None, sex="M"),  # M, employment (no start)
        {**BASE, "group": "comparaison", "sex": "M"},  # not a participant
        {
            **BASE,
            "esf_cofunded": None,
            "sex": "M",
            "exit_date": "2023-07-01",
            "exit_reason": "cdi",
            "exit_category": "job",
        },  # M, co-funding unknown
    ]
    return canonical(rows)


def row(table, code):
    return table.set_index("code").loc[code]


def test_hand_counts_by_sex():
    table = esf_indicators(hand_frame())
    total = row(table, "EECO01")
    assert (total.women, total.men, total.sex_unknown, total.total, total.unknown) == (6, 7, 1, 14, 0)
    minors = row(table, "EECO06")
    assert (minors.women, minors.men, minors.total, minors.unknown) == (1, 1, 2, 1)
    young = row(table, "EECO07")
    assert young.total == 10 and young.unknown == 1  # 14 - 2 minors - 1 aged 30 - 1 unknown age
    assert (row(table, "EECO09").total, row(table, "EECO10").total, row(table, "EECO11").total) == (10, 2, 1)
    assert row(table, "EECO09").unknown == 1
    disabled = row(table, "EECO12")
    assert (disabled.total, disabled.women, disabled.unknown) == (1, 1, 1)
    third = row(table, "EECO13")
    assert (third.men, third.sex_unknown, third.total) == (1, 1, 2)
    assert (row(table, "EECO17").total, row(table, "EECO17").unknown) == (1, 1)

    employment = row(table, "EECR04")
    # cdi (F), apprenticeship (M), business creation (sex unknown), cdd without start (M), cdi (M)
    assert (employment.women, employment.men, employment.sex_unknown, employment.total) == (1, 3, 1, 5)
    assert employment.n_base == 10 and employment.unknown == 1
    training = row(table, "EECR02")
    assert (training.women, training.men, training.total) == (1, 0, 1)  # the late one does not count
    searching = row(table, "EECR01")
    assert (searching.men, searching.total) == (1, 1)


def test_scope_esf_cofunded_drops_unknown_and_non_cofunded():
    table = esf_indicators(hand_frame(), scope="esf_cofunded")
    assert row(table, "EECO01").total == 13
    assert table.attrs["scope"] == "esf_cofunded" and table.attrs["n_participants"] == 13
    with pytest.raises(E2CError, match="périmètre"):
        esf_indicators(hand_frame(), scope="everyone")
    with pytest.raises(SchemaError):
        esf_indicators(hand_frame().drop(columns="esf_cofunded"), scope="esf_cofunded")


def test_within_days_is_a_parameter():
    table = esf_indicators(hand_frame(), within_days=90)
    assert row(table, "EECR02").total == 2  # the pre-qualifying training now counts


def random_canonical(n: int, seed: int) -> pd.DataFrame:
    """Random canonical frame (no model behind it) with missing values everywhere it is allowed."""
    rng = np.random.default_rng(seed)

    def maybe(values, p_missing=0.08):
        return pd.Series(values).where(rng.random(n) > p_missing)

    exited = rng.random(n) < 0.8
    exit_date = pd.Series(pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")).where(exited)
    reasons = np.array(schema.EXIT_REASON_CODES)
    reason = pd.Series(reasons[rng.integers(0, len(reasons), n)]).where(exited)
    frame = pd.DataFrame(
        {
            "source_row": np.arange(1, n + 1),
            "region": "Bretagne",
            "school": "A",
            "site": "A",
            "sex": maybe(rng.choice(["F", "M"], n), 0.03),
            "age_at_entry": maybe(rng.integers(15, 41, n)),
            "education_level": maybe(rng.choice(schema.EDUCATION_LEVELS, n)),
            "qpv": maybe(rng.random(n) < 0.3),
            "rural": maybe(rng.random(n) < 0.1),
            "disability": maybe(rng.random(n) < 0.06),
            "nationality": maybe(rng.choice(schema.NATIONALITY_CODES, n)),
            "entry_date": pd.Timestamp("2023-01-01"),
            "exit_date": exit_date,
            "exit_reason": reason,
            "exit_category": reason.map(schema.EXIT_CATEGORY_OF),
            "outcome_start": maybe(exit_date + pd.to_timedelta(rng.integers(0, 60, n), unit="D"), 0.2),
            "group": rng.choice(["e2c", "comparaison"], n, p=[0.9, 0.1]),
            "esf_cofunded": maybe(rng.random(n) < 0.6),
            "cohort_year": 2023,
        }
    )
    full = {c: frame[c] if c in frame else pd.Series([None] * n) for c in schema.CANONICAL_DTYPES}
    out = pd.DataFrame(full)
    for name, dtype in schema.CANONICAL_DTYPES.items():
        out[name] = out[name].astype(dtype)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scope", ["all", "esf_cofunded"])
def test_counts_add_up_to_participant_totals(seed, scope):
    frame = random_canonical(3000, seed)
    table = esf_indicators(frame, scope=scope)
    participants = frame[frame["group"] == "e2c"]
    if scope == "esf_cofunded":
        participants = participants[participants["esf_cofunded"].fillna(False).astype(bool)]
    n = len(participants)
    leavers = int(participants["exit_date"].notna().sum())
    t = table.set_index("code")
    # Women + men + sex not stated = total, on every row.
    assert (t.women + t.men + t.sex_unknown == t.total).all()
    assert t.non_binary.isna().all()
    assert t.loc["EECO01", "total"] == n
    assert t.loc["EECO01", "women"] == (participants["sex"] == "F").sum()
    # ISCED 0-2 + 3-4 + 5-8 + unknown = all participants.
    assert t.loc[["EECO09", "EECO10", "EECO11"], "total"].sum() + t.loc["EECO09", "unknown"] == n
    # Under 18 + 18-29 + 30 and over + unknown age = all participants.
    age = participants["age_at_entry"]
    assert (
        t.loc["EECO06", "total"] + t.loc["EECO07", "total"] + int((age >= 30).sum()) + t.loc["EECO06", "unknown"] == n
    )
    # Binary characteristics: yes + no + unknown = all participants.
    assert t.loc["EECO12", "total"] + int((participants["disability"] == False).sum()) + t.loc["EECO12", "unknown"] == n  # noqa: E712
    # Immediate results are mutually exclusive and within the leavers.
    results = t.loc[["EECR01", "EECR02", "EECR04"]]
    assert set(results["n_base"]) == {leavers}
    assert results["total"].sum() + results["unknown"].iloc[0] <= leavers
    # By sex too: each sex's results fit within that sex's leavers.
    for column, code in (("women", "F"), ("men", "M")):
        left_sex = int((participants["exit_date"].notna() & (participants["sex"] == code)).sum())
        assert results[column].sum() <= left_sex


def test_table_shape_codes_and_languages():
    fr = esf_indicators(hand_frame())
    en = esf_indicators(hand_frame(), "en")
    assert list(fr.columns) == [
        "code",
        "code_confirmed",
        "kind",
        "indicator",
        "women",
        "men",
        "sex_unknown",
        "non_binary",
        "total",
        "unknown",
        "base",
        "n_base",
        "definition",
        "source_columns",
    ]
    assert fr["code"].tolist() == [i.code for i in ESF_INDICATORS]
    confirmed = fr.set_index("code")["code_confirmed"]
    assert confirmed["EECO01"] and confirmed["EECO12"] and confirmed["EECR04"] and confirmed["EECR01"]
    assert not confirmed["EECR02"]  # unconfirmed in the domain brief
    assert not confirmed["EECO13"] and not confirmed["EECO17"]
    assert fr.set_index("code").loc["EECO12", "indicator"] == "Participants handicapés"
    assert en.set_index("code").loc["EECO12", "indicator"] == "Participants with disabilities"
    assert "disability" in fr.set_index("code").loc["EECO12", "source_columns"]
    assert (fr[["women", "men", "total"]].to_numpy() == en[["women", "men", "total"]].to_numpy()).all()
    assert "non binaires" in fr.attrs["note"]


def test_unsupported_indicators_have_reasons():
    fr = esf_unsupported()
    en = esf_unsupported("en")
    assert list(fr.columns) == ["code", "code_confirmed", "indicator", "reason"]
    assert {"EECO02", "EECR03"} <= set(fr["code"])
    assert (fr["reason"].str.len() > 20).all() and (en["reason"].str.len() > 20).all()
    supported = {i.code for i in ESF_INDICATORS}
    assert not supported & set(fr["code"])
    with pytest.raises(E2CError):
        esf_unsupported("de")
