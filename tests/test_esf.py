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


# --- Filing: scope, years, suppression, the CSV, EECR04 against Emploi + Alternance -------------------

from toolkit.disclosure import suppression_marker  # noqa: E402
from toolkit.esf_filing import (  # noqa: E402
    eecr04_reconciliation,
    esf_by_year,
    esf_filing_table,
    esf_scope_sentence,
    write_esf_csv,
)


def filing_frame(n: int = 3000, seed: int = 4) -> pd.DataFrame:
    """A random canonical frame over three entry years, some exits the year after, some flags unknown."""
    rng = np.random.default_rng(seed)
    reasons = ["cdi", "cdd", "apprentissage", "formation_qualifiante", "recherche_emploi", "sans_solution", "inconnu"]
    entry = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    exit_ = entry + pd.to_timedelta(rng.integers(60, 300, n), unit="D")
    gone = rng.random(n) < 0.8
    reason = rng.choice(reasons, n)
    start = exit_ + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    rows = []
    for i in range(n):
        row = {
            **BASE,
            "sex": rng.choice(["F", "M", None], p=[0.49, 0.49, 0.02]),
            "age_at_entry": int(rng.integers(16, 33)),
            "education_level": rng.choice(["infra_3", "niveau_3", "niveau_4", "niveau_5_plus", None]),
            "entry_date": entry[i],
            "esf_cofunded": rng.choice([True, False, None], p=[0.6, 0.35, 0.05]),
            "disability": bool(rng.random() < 0.05),
            "group": "e2c" if rng.random() < 0.97 else "comparaison",
        }
        if gone[i]:
            row.update(
                exit_date=exit_[i],
                exit_reason=reason[i],
                exit_category=schema.EXIT_CATEGORY_OF[reason[i]],
                outcome_start=start[i] if rng.random() < 0.9 else None,
            )
        rows.append(row)
    return canonical(rows)


@pytest.fixture(scope="module")
def filing():
    return filing_frame()


def test_by_year_matches_independent_counts(filing):
    by = esf_by_year(filing).set_index(["year", "code"])
    scope = filing[(filing["group"] == "e2c") & (filing["esf_cofunded"] == True)]  # noqa: E712
    assert by.attrs["scope"] == "esf_cofunded" and not by.attrs["scope_is_fallback"]
    assert by.attrs["n_cofunding_unknown"] == int(filing.loc[filing["group"] == "e2c", "esf_cofunded"].isna().sum())
    for year, entered in scope.groupby(scope["entry_date"].dt.year):
        assert by.loc[(year, "EECO01"), "total"] == len(entered)
        women = entered[entered["sex"] == "F"]
        assert by.loc[(year, "EECO06"), "women"] == int((women["age_at_entry"] < 18).sum())
    for year, leavers in scope.groupby(scope["exit_date"].dt.year):
        late = leavers["outcome_start"] > leavers["exit_date"] + pd.Timedelta(days=28)
        employed = leavers["exit_category"].isin(["job", "work_study"]) & ~late
        assert by.loc[(year, "EECR04"), "total"] == int(employed.sum())
        assert by.loc[(year, "EECR04"), "n_base"] == len(leavers)
    # outputs by year of entry, results by year of exit, said in the timing text
    row = by.loc[(2022, "EECR04")]
    assert "28 jours" in row["timing"] and "année civile de sortie" in row["timing"]
    assert "au terme de leur participation" in row["regulation"]
    assert "année civile d'entrée" in by.loc[(2022, "EECO01"), "timing"]


def test_scope_falls_back_to_all_trainees_and_says_so(filing):
    without = filing.drop(columns="esf_cofunded")
    by = esf_by_year(without)
    assert by.attrs["scope"] == "all" and by.attrs["scope_is_fallback"]
    e2c = filing[filing["group"] == "e2c"]
    assert by.loc[by["code"] == "EECO01", "total"].sum() == len(e2c)
    assert "comptent tous les stagiaires" in esf_scope_sentence(by.attrs)
    sentence = esf_scope_sentence(esf_by_year(filing).attrs)
    n = int((e2c["esf_cofunded"] == True).sum())  # noqa: E712
    assert f"les {n:,} parcours cofinancés".replace(",", "\xa0") in sentence
    unknown = int(e2c["esf_cofunded"].isna().sum())
    assert f"non renseigné pour {unknown} parcours, laissés de côté" in sentence


def test_csv_is_loadable_and_suppressed(filing, tmp_path):
    min_cell = 11
    path = write_esf_csv(filing, tmp_path / "esf.csv", min_cell=min_cell)
    back = pd.read_csv(path, dtype=str)
    assert list(back.columns) == ["code", "indicator", "year", "women", "men", "total"]
    marker = suppression_marker(min_cell)
    counts = back[["women", "men", "total"]]
    numbers = counts.apply(pd.to_numeric, errors="coerce")
    assert ((numbers >= 1) & (numbers < min_cell)).sum().sum() == 0  # no small cell published
    assert (counts == marker).any().any()  # the random frame has small cells: suppression happened
    # women + men = total: never exactly one hidden cell in a row
    assert ((counts == marker).sum(axis=1) != 1).all()
    # every published cell is the true count
    truth = esf_by_year(filing).set_index(["code", "year"])
    for record in back.itertuples(index=False):
        for column in ("women", "men", "total"):
            value = getattr(record, column)
            if value != marker:
                assert int(value) == truth.loc[(record.code, int(record.year)), column]
    assert "non confirm" not in path.read_text(encoding="utf-8")


def test_csv_hides_an_age_band_recoverable_from_the_total():
    # everyone 16-29 with a known age: EECO06 + EECO07 = EECO01, so a hidden EECO06 needs a partner
    rows = [{**BASE, "age_at_entry": 17}] * 4 + [{**BASE, "age_at_entry": 20}] * 40
    table = esf_filing_table(canonical(rows)).set_index("code")
    assert table.loc["EECO06", "women"] == "< 11"
    assert table.loc["EECO07", "women"] == "< 11" or table.loc["EECO01", "women"] == "< 11"


def test_eecr04_reconciliation_adds_up_to_the_indicator(filing):
    table = eecr04_reconciliation(filing).set_index("step")
    e2c = filing[filing["group"] == "e2c"]
    assert table.loc["job", "count"] == int(e2c["exit_category"].eq("job").sum())
    assert table.loc["work_study", "count"] == int(e2c["exit_category"].eq("work_study").sum())
    assert table["count"].iloc[:-1].sum() == table.loc["eecr04", "count"]
    by = esf_by_year(filing)
    assert table.loc["eecr04", "count"] == by.loc[by["code"] == "EECR04", "total"].sum()
    assert table.loc["late_start", "count"] < 0 and table.loc["outside_scope", "count"] < 0
    assert "28 jours" in table.loc["late_start", "label"]


def test_csv_hides_small_totals_and_their_partner():
    rows = [{**BASE, "age_at_entry": 20}] * 5 + [{**BASE, "sex": "M", "age_at_entry": 20}] * 30
    table = esf_filing_table(canonical(rows)).set_index("code")
    assert table.loc["EECO01", "women"] == "< 11"
    assert "< 11" in (table.loc["EECO01", "men"], table.loc["EECO01", "total"])  # else women = total - men


def test_regional_tables_match_esf_by_year_region_by_region(filing):
    from toolkit.esf_filing import esf_regional_tables

    frame = filing.assign(cohort_year=filing["entry_date"].dt.year.astype("Int64"))
    # a second region that never fills the co-funding flag in: it falls back to all its trainees
    frame["region"] = np.where(np.arange(len(frame)) % 3 == 0, "Corse", "Bretagne")
    frame.loc[frame["region"] == "Corse", "esf_cofunded"] = pd.NA
    tables = esf_regional_tables(frame)
    scope = tables["esf_scope"].set_index("region")
    assert scope.loc["Corse", "scope"] == "all" and scope.loc["Bretagne", "scope"] == "esf_cofunded"
    for region, part in frame.groupby("region"):
        expected = esf_by_year(part).set_index(["year", "code"]).sort_index()
        mine = tables["esf_years"].query("region == @region").set_index(["year", "code"]).sort_index()
        assert mine.index.equals(expected.index)
        for column in ("women", "men", "sex_unknown", "total"):
            assert (mine[column] == expected[column]).all(), (region, column)
        steps = eecr04_reconciliation(part).set_index("step")["count"]
        by_year = tables["esf_eecr04"].query("region == @region").set_index("year")
        counted = by_year.drop(columns="region").sum()
        assert counted["both"] == steps["job"] + steps["work_study"]
        assert counted["eecr04"] == steps["eecr04"]
        for step in ("outside_scope", "reason_unknown", "late_start"):
            assert counted[step] == -steps[step]
        assert (
            by_year["both"] == by_year[["outside_scope", "reason_unknown", "late_start", "eecr04"]].sum(axis=1)
        ).all()
        # each year's EECR04 is the year's indicator
        results = expected.xs("EECR04", level="code")["total"]
        assert by_year["eecr04"].to_dict() == {y: v for y, v in results.items() if y in by_year.index}
        assert results.drop(by_year.index, errors="ignore").eq(0).all()


def test_every_esf_cell_of_a_page_counts_the_trainees_its_key_names(tmp_path):
    """Disclosure control reads the cell keys on the trainee-level frame: a key that counted other trainees
    than the page shows would make its linked audit wrong."""
    from toolkit.disclosure.atoms import key_supports
    from toolkit.reports.build import build_content
    from toolkit.reports.national import compute_national
    from toolkit.synth import write_export

    national = compute_national(write_export(tmp_path / "data", seed=3, trainees_per_year=300), tmp_path / "work")
    publication = build_content(national, 11).publication
    keys = [k for k in publication.counts if any("/esf" in where for where in publication.appearances[k])]
    assert any(k.population == "esf:EECR04" and dict(k.where).get("exit_year") for k in keys)
    assert any(dict(k.where).get("esf_eecr04_step") == "late_start" for k in keys)
    support, size, trainee_counts = key_supports(keys, national.frame)
    assert trainee_counts.all()  # every ESF+ cell counts trainees, so the audit relates it to the others
    counted = np.asarray(support @ size).ravel().round().astype(int)
    wrong = [(str(k), publication.counts[k], int(v)) for k, v in zip(keys, counted) if publication.counts[k] != v]
    assert not wrong
