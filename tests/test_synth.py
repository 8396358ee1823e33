"""Synthetic exports: determinism, the raw contract, calibration, the truth and
its recovery from the raw strings by an independent parse written here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from toolkit import schema
from toolkit.definitions import positive_exit
from toolkit.synth import (
    DEFAULT_EXPORT_NAME,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    default_export_path,
    generate_comparison,
    generate_export,
    network_geography,
    write_export,
)

SMALL = dict(seed=7, trainees_per_year=2_000)
IDENTIFIERS = ("nom", "prenom", "email", "telephone", "num_secu")


@pytest.fixture(scope="module")
def messy():
    return generate_export(**SMALL)


@pytest.fixture(scope="module")
def tidy():
    return generate_export(seed=11, trainees_per_year=1_000, messy=False)


# --------------------------------------------------------------------------
# An independent reading of the raw strings (not the cleaning module)
# --------------------------------------------------------------------------
def _dates(series: pd.Series) -> pd.Series:
    """dd/mm/yyyy, yyyy-mm-dd or an Excel serial number (days since 1899-12-30)."""
    dmy = pd.to_datetime(series, format="%d/%m/%Y", errors="coerce")
    iso = pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")
    serial = pd.to_numeric(series.where(series.str.fullmatch(r"\d{5}").fillna(False)), errors="coerce")
    excel = pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")
    return dmy.fillna(iso).fillna(excel)


def _codes(series: pd.Series, aliases: dict) -> pd.Series:
    keys = series.map(schema.normalise_key, na_action="ignore")
    return keys.map(aliases)


def _outcome_frame(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "exit_date": _dates(raw["date_sortie"]),
            "exit_reason": _codes(raw["motif_sortie"], schema.EXIT_ALIASES),
            "outcome_start": _dates(raw["date_debut_situation"]),
            "outcome_end": _dates(raw["date_fin_situation"]),
            "follow_up_date": _dates(raw["date_suivi"]),
        }
    )


def _birth_year(series: pd.Series) -> pd.Series:
    as_year = pd.to_numeric(series, errors="coerce")
    return as_year.fillna(_dates(series).dt.year).astype("Int64")


# --------------------------------------------------------------------------
# Determinism and contract
# --------------------------------------------------------------------------
def test_same_seed_same_export_and_other_seed_differs(messy):
    again = generate_export(**SMALL)
    pd.testing.assert_frame_equal(messy.raw, again.raw)
    assert json.dumps(messy.truth, sort_keys=True) == json.dumps(again.truth, sort_keys=True)
    other = generate_export(seed=8, trainees_per_year=2_000)
    assert not messy.raw["id_stagiaire"].equals(other.raw["id_stagiaire"])
    assert messy.truth["intercept"] != other.truth["intercept"]


def test_output_is_pinned_to_the_generator_version():
    """default_export_path reuses a saved export while GENERATOR_VERSION is unchanged: any change
    to the output for a given seed must bump the version (then update these fingerprints)."""
    import hashlib

    def fingerprint(raw):
        return hashlib.sha256(raw.to_csv(index=False).encode()).hexdigest()[:16]

    export = fingerprint(generate_export(seed=1, trainees_per_year=100).raw)
    comparison = fingerprint(generate_comparison(seed=1, n_e2c=50, n_comparison=50, population_draws=0).raw)
    assert (GENERATOR_VERSION, export, comparison) == ("4", "476aaa371cb5fa2e", "25ded2603552c2e3")


def test_raw_columns_follow_the_contract(messy, tidy):
    contract = [c.name for c in schema.RAW_COLUMNS]
    for export in (messy, tidy):
        raw = export.raw
        assert set(schema.REQUIRED_RAW_COLUMNS) <= set(raw.columns)
        extra = [c for c in raw.columns if c not in contract]
        assert extra == ([] if export is tidy else list(IDENTIFIERS))
        in_contract = [c for c in raw.columns if c in contract]
        assert in_contract == [c for c in contract if c in in_contract]  # contract order
        for col in raw.columns:
            assert pd.api.types.is_string_dtype(raw[col]), col
            values = raw[col].dropna()
            assert values.map(type).eq(str).all(), col
    assert "groupe" not in messy.raw.columns
    assert messy.truth["identifier_columns"] == list(IDENTIFIERS)


def test_every_label_reads_back_to_the_true_code(messy):
    raw, rows = messy.raw, messy.rows
    ok = rows["row_status"].isin(["valid", "duplicate"]).to_numpy()
    r, w = rows[ok], raw[ok]

    def check(col, aliases, truth_values):
        got = _codes(w[col], aliases)
        present = w[col].notna().to_numpy()
        unreadable = w[col][present & got.isna().to_numpy()].unique()[:5]
        assert got[present].notna().all(), f"{col}: unreadable labels {unreadable}"
        np.testing.assert_array_equal(
            got[present].to_numpy(dtype=object), np.asarray(truth_values, dtype=object)[present], err_msg=col
        )
        return present

    check("region", schema.REGION_ALIASES, r["region"].astype(str))
    check("sexe", schema.SEX_ALIASES, r["sex"].astype(str))
    check("niveau_formation", schema.EDUCATION_ALIASES, r["education_level"].astype(str))
    check("nationalite", schema.NATIONALITY_ALIASES, r["nationality"].astype(str))
    check("prescripteur", schema.REFERRER_ALIASES, r["referrer"].astype(str))
    for col, truth_col in (
        ("qpv", "qpv"),
        ("zone_rurale", "rural"),
        ("rqth", "disability"),
        ("cofinancement_fse", "esf_cofunded"),
    ):
        check(col, schema.BOOLEAN_ALIASES, r[truth_col])
    weeks = pd.to_numeric(w["semaines_entreprise"].str.replace(",", ".", regex=False), errors="coerce")
    present = weeks.notna().to_numpy()
    np.testing.assert_allclose(weeks[present], r["weeks_in_company"].to_numpy()[present])
    assert (w["semaines_entreprise"].str.contains(",", regex=False)).any()  # decimal commas are there
    np.testing.assert_array_equal(_birth_year(w["annee_naissance"]), r["cohort_year"] - r["age_at_entry"])
    np.testing.assert_array_equal(_dates(w["date_entree"]).to_numpy(), r["entry_date"].to_numpy())
    assert (w["ecole"] == r["school"].astype(str)).all() and (w["site"] == r["site"].astype(str)).all()


def test_messy_export_has_the_mess_of_real_exports(messy):
    raw = messy.raw
    regions = raw["region"].dropna()
    assert regions.isin(["84", "32", "11", "93", "76"]).any()  # INSEE codes
    assert regions.isin(["Auvergne", "Rhône-Alpes", "Nord-Pas-de-Calais", "Picardie", "Lorraine"]).any()  # pre-2016
    education = set(raw["niveau_formation"].dropna().str.strip().str.upper())
    assert {"VI", "V"} & education and {"NIVEAU 2", "NIVEAU 3"} & education and {"CAP", "BAC"} & education
    entry = raw["date_entree"].dropna()
    assert entry.str.match(r"^\d{2}/\d{2}/\d{4}$").mean() > 0.6
    assert entry.str.match(r"^\d{4}-\d{2}-\d{2}$").mean() > 0.02
    assert entry.str.fullmatch(r"\d{5}").any()  # Excel serial numbers from a spreadsheet that lost its format
    booleans = set(raw["qpv"].dropna().str.strip().str.lower())
    assert {"oui", "non"} <= booleans and ({"o", "n"} & booleans or {"1", "0"} & booleans)
    sexes = set(raw["sexe"].dropna().str.strip().str.upper())
    assert {"F", "M"} & sexes and ({"FEMME", "HOMME"} & sexes or {"1", "2"} & sexes)
    labels = raw["motif_sortie"].dropna()
    assert (labels != labels.str.strip()).any() and (labels == labels.str.upper()).any()  # stray spaces, capitals
    # Some schools write a full birth date instead of the year.
    assert raw["annee_naissance"].str.contains("/", regex=False).any()


def test_tidy_export_uses_canonical_labels(tidy):
    raw = tidy.raw
    assert raw["region"].dropna().isin(schema.REGION_NAMES).all()
    assert raw["sexe"].isin(["F", "M"]).all()
    assert raw["date_entree"].str.match(r"^\d{2}/\d{2}/\d{4}$").all()
    assert raw["qpv"].dropna().isin(["oui", "non"]).all()
    assert tidy.truth["counts"]["duplicate_rows"] == 0 and tidy.truth["counts"]["invalid_total"] == 0


# --------------------------------------------------------------------------
# Outcome: the default definition gives back the drawn Bernoulli
# --------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["messy", "tidy"])
def test_positive_exit_recovers_the_draw(which, request):
    export = request.getfixturevalue(which)
    rows = export.rows
    got = positive_exit(_outcome_frame(export.raw))
    valid = rows["row_status"].eq("valid").to_numpy()
    expected = rows["positive_exit"]
    known = rows["outcome_status"].eq("known").to_numpy()
    assert known[valid].sum() > 0.8 * valid.sum()
    # known outcomes: exactly the Bernoulli draw
    np.testing.assert_array_equal(got[valid & known].to_numpy(dtype=bool), rows["positive_drawn"][valid & known])
    # everything else: unknown
    assert got[valid & ~known].isna().all()
    assert got[valid].isna().equals(expected[valid].isna())
    # the boundary is exercised: known negatives whose situation lasted exactly 2 months
    frame = _outcome_frame(export.raw)
    exactly = frame["outcome_end"].eq(frame["outcome_start"] + pd.DateOffset(months=2))
    assert (exactly & valid & known).sum() > 0 and not got[exactly & valid].fillna(False).any()


def test_unknown_outcomes_are_recorded_and_of_every_kind(messy):
    rows = messy.rows[messy.rows["row_status"].eq("valid")]
    exits = rows[rows["outcome_status"] != "in_programme"]
    unknown = exits[exits["outcome_status"] != "known"]
    assert 0.04 <= len(unknown) / len(exits) <= 0.09
    kinds = set(unknown["unknown_kind"])
    assert kinds == {"no_start_date", "confirmed_too_early", "unrecognised_label", "censored"}
    assert unknown["positive_exit"].isna().all()
    counts = messy.truth["counts"]
    assert counts["unknown_planted"] == (exits["outcome_status"] == "unknown_planted").sum()
    assert counts["unknown_censored"] == (exits["outcome_status"] == "unknown_censored").sum()
    # Unrecognised labels are really unrecognised (or the 'inconnu' aliases).
    labels = messy.raw.loc[unknown.index[unknown["unknown_kind"] == "unrecognised_label"], "motif_sortie"]
    assert _codes(labels, schema.EXIT_ALIASES).fillna("inconnu").eq("inconnu").all()


# --------------------------------------------------------------------------
# The truth
# --------------------------------------------------------------------------
def test_truth_is_complete_and_json_round_trips(messy):
    truth = messy.truth
    for key in (
        "intercept",
        "coefficients",
        "site_sd",
        "site_effects",
        "planted_sites",
        "seed",
        "settings",
        "version",
        "counts",
        "reference_levels",
        "extraction_date",
    ):
        assert key in truth, key
    assert json.loads(json.dumps(truth)) == truth
    years = truth["settings"]["years"]
    regions = [r for r in schema.REGION_NAMES if r in set(network_geography()["region"])]
    expected_names = {
        "sex[M]",
        "age_at_entry",
        "education_level[niveau_3]",
        "education_level[niveau_4]",
        "education_level[niveau_5_plus]",
        "qpv",
        "disability",
        "nationality[ue]",
        "nationality[hors_ue]",
        "weeks_in_company",
        *(f"cohort_year[{y}]" for y in years[1:]),
        *(f"region[{r}]" for r in regions[1:]),
    }
    assert set(truth["coefficients"]) == expected_names
    assert truth["reference_levels"]["region"] == "Auvergne-Rhône-Alpes"
    assert set(truth["site_effects"]) == set(network_geography()["site"])
    assert truth["seed"] == 7 and truth["settings"]["trainees_per_year"] == 2_000
    assert truth["version"] == GENERATOR_VERSION


def test_planted_sites_and_site_effects(messy):
    truth = messy.truth
    better, worse = truth["planted_sites"]["better"], truth["planted_sites"]["worse"]
    assert len(better) == len(worse) == 3 and not set(better) & set(worse)
    assert all(truth["site_effects"][s] == 1.0 for s in better)
    assert all(truth["site_effects"][s] == -1.0 for s in worse)
    others = [u for s, u in truth["site_effects"].items() if s not in better + worse]
    assert 0.2 < np.std(others) < 0.4  # site_sd = 0.3
    sizes = messy.rows["site"].value_counts()
    assert sizes[better + worse].min() >= sizes.median() * 0.7  # planted on sites with enough trainees

    flat = generate_export(seed=7, trainees_per_year=300, site_sd=0, planted=False)
    assert set(flat.truth["site_effects"].values()) == {0.0}
    assert flat.truth["planted_sites"] == {"better": [], "worse": []}


def test_probabilities_follow_the_stated_model(messy):
    """Recompute p from the truth dict by hand, then check the draw against it."""
    truth, rows = messy.truth, messy.rows
    c = truth["coefficients"]
    eta = np.full(len(rows), truth["intercept"])
    eta += c["sex[M]"] * rows["sex"].eq("M") + c["age_at_entry"] * rows["age_at_entry"]
    eta += c["qpv"] * rows["qpv"] + c["disability"] * rows["disability"]
    eta += c["weeks_in_company"] * rows["weeks_in_company"]
    for name, col in (
        ("education_level", "education_level"),
        ("nationality", "nationality"),
        ("cohort_year", "cohort_year"),
        ("region", "region"),
    ):
        eta += rows[col].astype(str).map(lambda v, n=name: c.get(f"{n}[{v}]", 0.0)).to_numpy(dtype=float)
    eta += rows["site"].astype(str).map(truth["site_effects"]).to_numpy(dtype=float)
    np.testing.assert_allclose(expit(eta), rows["p_true"], rtol=1e-9)
    trainees = rows[rows["row_status"] != "duplicate"]
    assert abs(trainees["p_true"].mean() - truth["target_positive_rate"]) < 1e-6
    se = np.sqrt((trainees["p_true"] * (1 - trainees["p_true"])).sum()) / len(trainees)
    assert abs(trainees["positive_drawn"].mean() - trainees["p_true"].mean()) < 4 * se


def test_coefficient_overrides_and_bad_names():
    export = generate_export(seed=1, trainees_per_year=200, coefficients={"qpv": -1.5}, messy=False)
    assert export.truth["coefficients"]["qpv"] == -1.5
    with pytest.raises(Exception, match="inconnus"):
        generate_export(seed=1, trainees_per_year=200, coefficients={"qpv_typo": 1.0})


# --------------------------------------------------------------------------
# Calibration on the published national figures
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def national():
    return generate_export(seed=2024, trainees_per_year=4_000)


def test_network_size(national):
    geo = network_geography()
    assert geo["region"].nunique() == 13 and geo["school"].nunique() == 55 and 145 <= len(geo) <= 160
    assert geo["site"].is_unique
    assert national.rows["site"].nunique() == len(geo)
    assert "E2C Grand Clermont – site de Vichy" in set(geo["site"])
    shares = national.rows["region"].value_counts(normalize=True)
    assert shares.max() < 0.2 and shares.min() > 0.02


def test_profile_matches_national_figures(national):
    r = national.rows[national.rows["row_status"] == "valid"]
    share = lambda mask: float(np.mean(mask))  # noqa: E731
    assert 0.45 <= share(r["sex"] == "F") <= 0.55
    assert 0.19 <= share(r["age_at_entry"] < 18) <= 0.31
    assert 0.01 <= share(r["age_at_entry"] >= 26) <= 0.10
    assert r["age_at_entry"].between(16, 30).all() and 19 <= r["age_at_entry"].mean() <= 20.5
    assert 0.30 <= share(r["qpv"]) <= 0.37
    assert 0.07 <= share(r["rural"]) <= 0.13
    assert 0.10 <= share(r["nationality"] == "hors_ue") <= 0.14
    assert 0.01 <= share(r["nationality"] == "ue") <= 0.03
    assert 0.04 <= share(r["disability"]) <= 0.07
    assert 0.87 <= share(r["education_level"] == "infra_3") <= 0.93
    assert share(r["education_level"] == "niveau_4") > 0.01
    assert 0.55 <= share(r["referrer"] == "mission_locale") <= 0.67
    assert 0.04 <= share(r["referrer"] == "france_travail") <= 0.08
    assert 0.18 <= share(r["referrer"] == "candidature_spontanee") <= 0.26
    assert r["weeks_in_company"].between(0, 20).all() and 6 <= r["weeks_in_company"].mean() <= 11


def test_parcours_and_exits_match_national_figures(national):
    raw, rows = national.raw, national.rows
    valid = rows["row_status"].eq("valid").to_numpy()
    frame = _outcome_frame(raw)[valid]
    entry = _dates(raw["date_entree"])[valid]
    r = rows[valid]
    days = (frame["exit_date"] - entry).dt.days
    assert 150 <= days.mean() <= 210 and days.quantile(0.9) > 250  # about 6 months, some longer
    last = r["cohort_year"] == r["cohort_year"].max()
    assert 0.1 <= frame["exit_date"][last.to_numpy()].isna().mean() <= 0.5  # last cohort: still in the programme
    assert frame["exit_date"][(r["cohort_year"] < r["cohort_year"].max() - 1).to_numpy()].notna().all()
    months = entry.dt.month.value_counts(normalize=True)
    assert months.min() > 0.02  # entries all year round
    pe = positive_exit(frame)
    assert 0.55 <= pe.mean() <= 0.65  # over exits with a known outcome
    known = pe.notna().to_numpy()
    reasons = frame["exit_reason"][known]
    assert 0.15 <= reasons.isin(schema.INTERRUPTION_CODES).mean() <= 0.25
    category = frame["exit_reason"].map(schema.EXIT_CATEGORY_OF)[pe.fillna(False).to_numpy(dtype=bool)]
    mix = category.value_counts(normalize=True)
    assert 0.30 <= mix["job"] <= 0.40 and 0.20 <= mix["work_study"] <= 0.30 and 0.35 <= mix["training"] <= 0.45
    # Covariate missingness: a few percent, at random
    for col in ("niveau_formation", "qpv", "rqth", "nationalite"):
        assert 0.01 <= raw.loc[valid, col].isna().mean() <= 0.07, col


def test_missingness_is_independent_of_the_outcome(national):
    rows, raw = national.rows, national.raw
    known = rows["row_status"].eq("valid") & rows["outcome_status"].eq("known")
    masked = raw.loc[known, "niveau_formation"].isna()
    y = rows.loc[known, "positive_drawn"]
    p_masked, p_seen = y[masked].mean(), y[~masked].mean()
    se = np.sqrt(y.mean() * (1 - y.mean()) * (1 / masked.sum() + 1 / (~masked).sum()))
    assert abs(p_masked - p_seen) < 4 * se


# --------------------------------------------------------------------------
# Invalid rows, duplicates, identifiers
# --------------------------------------------------------------------------
def test_planted_invalid_rows_and_duplicates_are_counted_and_real(messy):
    raw, rows, counts = messy.raw, messy.rows, messy.truth["counts"]
    status = rows["row_status"]
    assert counts["rows"] == len(raw)
    assert counts["duplicate_rows"] == (status == "duplicate").sum() == round(0.005 * 12_000)
    assert counts["invalid_total"] == round(0.015 * 12_000)
    for kind, n in counts["invalid_rows"].items():
        assert (status == kind).sum() == n > 0, kind
    assert counts["expected_kept_rows"] == (status == "valid").sum()
    assert counts["expected_kept_rows"] == len(raw) - counts["invalid_total"] - counts["duplicate_rows"]

    # Exact duplicates are later copies of earlier rows, and the only ones.
    np.testing.assert_array_equal(raw.duplicated(keep="first").to_numpy(), (status == "duplicate").to_numpy())

    # Each invalid row breaks its rule; valid rows break none.
    entry = _dates(raw["date_entree"])
    exit_ = _dates(raw["date_sortie"])
    age = entry.dt.year - _birth_year(raw["annee_naissance"])
    region_ok = _codes(raw["region"], schema.REGION_ALIASES).notna()
    broken = {
        "missing_id": raw["id_stagiaire"].isna(),
        "unknown_region": ~region_ok,
        "invalid_entry_date": entry.isna(),
        "exit_before_entry": exit_ < entry,
        "age_out_of_range": ~age.between(15, 40),
    }
    for kind, mask in broken.items():
        mask = mask.fillna(False).to_numpy(dtype=bool)
        np.testing.assert_array_equal(mask & status.isin(["valid", "duplicate"]).to_numpy(), False, err_msg=kind)
        assert mask[(status == kind).to_numpy()].all(), kind
    assert raw.loc[status.eq("valid"), "id_stagiaire"].is_unique


def test_identifier_columns_are_fake(messy):
    raw = messy.raw
    assert raw["email"].str.match(r"^[a-z\-]+\.[a-z\-]+\d*@example\.(com|org|net)$").all()
    phones = raw["telephone"].dropna()
    assert 0 < len(phones) < len(raw)
    assert phones.str.match(r"^(06 39 98|\+33 6 39 98) \d{2} \d{2}$").all()
    nir = raw["num_secu"].dropna()
    assert 0 < len(nir) and nir.str.match(r"^[12]\d{14}$").all()
    body, key = nir.str[:13].astype("int64"), nir.str[13:].astype("int64")
    assert ((97 - body % 97) == key).all()
    assert (nir.str[5:7] == "99").all() and (nir.str[7:8] == "9").all()  # country code 9xx: unused by INSEE
    assert raw["nom"].notna().all() and raw["prenom"].notna().all()


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def test_write_export_csv_cp1252_round_trips(tmp_path):
    path = write_export(tmp_path, seed=3, trainees_per_year=300)
    assert path == tmp_path / f"{DEFAULT_EXPORT_NAME}.csv"
    text = path.read_bytes()
    text.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        text.decode("utf-8")  # really Windows-1252 (accents are single bytes)
    assert text.splitlines()[0].decode("cp1252").startswith("id_stagiaire;region;ecole;site;sexe")
    back = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str)
    original = generate_export(seed=3, trainees_per_year=300).raw
    pd.testing.assert_frame_equal(back, original, check_dtype=False)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 3 and truth["file"]["encoding"] == "cp1252" and truth["file"]["sep"] == ";"
    rows = pd.read_parquet(tmp_path / "truth_rows.parquet")
    assert len(rows) == len(back) and rows["source_row"].tolist() == list(range(1, len(back) + 1))


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_write_export_other_formats(tmp_path, fmt):
    path = write_export(tmp_path, seed=5, fmt=fmt, trainees_per_year=60)
    back = pd.read_excel(path, dtype=str) if fmt == "xlsx" else pd.read_parquet(path)
    original = generate_export(seed=5, trainees_per_year=60).raw
    assert list(back.columns) == list(original.columns) and len(back) == len(original)
    assert back["id_stagiaire"].fillna("").tolist() == original["id_stagiaire"].fillna("").tolist()
    if fmt == "xlsx":  # dd/mm/yyyy cells are real Excel dates; ISO cells (some schools) stay text
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True).active
        column = list(original.columns).index("date_entree") + 1
        cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=column, max_col=column)]
        kinds = {(c.is_date, isinstance(c.value, str)) for c in cells if c.value is not None}
        assert (True, False) in kinds and (False, True) in kinds
        dates = [c.value.date() for c in cells if c.is_date]
        expected = pd.to_datetime(original["date_entree"], format="%d/%m/%Y", errors="coerce").dropna().dt.date
        assert dates == expected.tolist()


def test_write_export_utf8_and_comma(tmp_path):
    path = write_export(tmp_path, seed=5, trainees_per_year=60, encoding="utf-8-sig", sep=",", messy=False)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, sep=",", encoding="utf-8-sig", dtype=str)
    assert len(back) == len(generate_export(seed=5, trainees_per_year=60, messy=False).raw)


def test_default_export_path_generates_once_and_regenerates_when_stale(tmp_path, monkeypatch):
    import toolkit.synth as synth

    calls = []
    real_write = synth.write_export

    def tiny_write(directory, **kwargs):  # the real writer, on a tiny export
        calls.append(directory)
        return real_write(directory, trainees_per_year=50, **kwargs)

    monkeypatch.setattr(synth, "write_export", tiny_write)
    monkeypatch.setattr(synth, "_default_stamp", lambda: {"version": GENERATOR_VERSION, "seed": DEFAULT_SEED})
    first = default_export_path(tmp_path)
    assert first == tmp_path / f"{DEFAULT_EXPORT_NAME}.csv" and first.is_file() and len(calls) == 1
    mtime = first.stat().st_mtime_ns
    assert default_export_path(tmp_path) == first and len(calls) == 1 and first.stat().st_mtime_ns == mtime
    truth_path = tmp_path / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    truth["version"] = "0"  # written by an older generator
    truth_path.write_text(json.dumps(truth), encoding="utf-8")
    default_export_path(tmp_path)
    assert len(calls) == 2
    truth_path.unlink()
    default_export_path(tmp_path)
    assert len(calls) == 3


def test_default_stamp_matches_what_the_generator_records():
    from toolkit.synth import _default_stamp

    stamp = _default_stamp()
    export = generate_export(trainees_per_year=100)
    assert export.truth["settings"].keys() == stamp["settings"].keys()
    assert {k: v for k, v in export.truth["settings"].items() if k != "trainees_per_year"} == {
        k: v for k, v in stamp["settings"].items() if k != "trainees_per_year"
    }


# --------------------------------------------------------------------------
# Comparison cohort
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def comparison():
    return generate_comparison(seed=4, n_e2c=1_500, n_comparison=3_000)


def test_comparison_groups_outcome_and_contract(comparison):
    raw, rows, truth = comparison.raw, comparison.rows, comparison.truth
    group = _codes(raw["groupe"], schema.GROUP_ALIASES)
    assert (group == np.where(rows["treated"], "e2c", "comparaison")).all()
    assert truth["n_treated"] == 1_500 == rows["treated"].sum() and truth["n_control"] == 3_000
    assert set(schema.REQUIRED_RAW_COLUMNS) <= set(raw.columns)
    got = positive_exit(_outcome_frame(raw))
    assert got.notna().all()
    np.testing.assert_array_equal(got.to_numpy(dtype=bool), rows["positive_drawn"])
    # Same horizon after a comparable start date in both groups.
    horizon = _dates(raw["date_suivi"]) - _dates(raw["date_entree"])
    assert horizon.dt.days.between(365, 366).all()
    assert raw.loc[~rows["treated"], "ecole"].str.startswith("Mission locale").all()


def test_comparison_truth_effects(comparison):
    rows, truth = comparison.rows, comparison.truth
    treated = rows["treated"]
    att = float((rows["p1"] - rows["p0"])[treated].mean())
    assert truth["att"] == pytest.approx(att)
    b, beta = truth["outcome"]["intercept"], truth["outcome"]["coefficients"]
    lin = (
        b
        + beta["sex[M]"] * rows["sex"].eq("M")
        + beta["age_at_entry"] * rows["age_at_entry"]
        + beta["qpv"] * rows["qpv"]
        + beta["disability"] * rows["disability"]
        + rows["education_level"].astype(str).map(lambda v: beta.get(f"education_level[{v}]", 0.0)).astype(float)
        + rows["nationality"].astype(str).map(lambda v: beta.get(f"nationality[{v}]", 0.0)).astype(float)
    )
    np.testing.assert_allclose(expit(lin), rows["p0"], rtol=1e-9)
    np.testing.assert_allclose(expit(lin + truth["true_effect_logit"]), rows["p1"], rtol=1e-9)
    assert 0.05 < truth["att"] < 0.2 and abs(truth["att_population"] - truth["att"]) < 0.02
    # Selection on observables: E2C entrants are less qualified, so the naive difference understates the effect.
    low = rows["education_level"].eq("infra_3")
    assert low[treated].mean() > low[~treated].mean() + 0.1
    assert truth["naive_difference"] < truth["att"]


def test_comparison_selection_model_is_recovered_by_a_logit_fit(comparison):
    import statsmodels.formula.api as smf

    rows = comparison.rows.assign(
        t=lambda d: d["treated"].astype(int),
        y=lambda d: d["positive_drawn"].astype(int),
        male=lambda d: d["sex"].eq("M").astype(int),
        qpv=lambda d: d["qpv"].astype(int),
        disability=lambda d: d["disability"].astype(int),
    )
    formula = "male + age_at_entry + C(education_level, Treatment('infra_3')) + qpv + disability"
    fit = smf.logit(f"t ~ {formula}", data=rows).fit(disp=0)
    gamma = comparison.truth["propensity"]
    for name, param in (
        ("qpv", "qpv"),
        ("age_at_entry", "age_at_entry"),
        ("education_level[niveau_4]", "C(education_level, Treatment('infra_3'))[T.niveau_4]"),
    ):
        assert abs(fit.params[param] - gamma["coefficients"][name]) < 4 * fit.bse[param], name
    out = smf.logit(f"y ~ t + {formula}", data=rows).fit(disp=0)
    assert abs(out.params["t"] - comparison.truth["true_effect_logit"]) < 4 * out.bse["t"]


def test_comparison_is_deterministic_and_messy_option(comparison):
    again = generate_comparison(seed=4, n_e2c=1_500, n_comparison=3_000)
    pd.testing.assert_frame_equal(again.raw, comparison.raw)
    messy = generate_comparison(seed=4, n_e2c=300, n_comparison=300, messy=True)
    assert _codes(messy.raw["groupe"], schema.GROUP_ALIASES).notna().all()
    assert messy.raw["groupe"].nunique() > 2
    np.testing.assert_array_equal(
        positive_exit(_outcome_frame(messy.raw)).to_numpy(dtype=bool), messy.rows["positive_drawn"]
    )


# --------------------------------------------------------------------------
# Integration with the cleaning layer (clean_export)
# --------------------------------------------------------------------------
def test_clean_export_keeps_rejects_and_recovers_the_truth(messy):
    import toolkit.cleaning as cleaning

    result = cleaning.clean_export(messy.raw)
    rows, counts = messy.rows, messy.truth["counts"]
    assert len(result.data) == counts["expected_kept_rows"]
    assert len(result.rejected) == counts["invalid_total"] + counts["duplicate_rows"]
    kept_rows = rows.loc[rows["row_status"] == "valid", "source_row"]
    assert sorted(result.data["source_row"]) == sorted(kept_rows)
    rejected = rows.set_index("source_row").loc[result.rejected["source_row"], "row_status"]
    np.testing.assert_array_equal(rejected.to_numpy(), result.rejected["reason_code"].to_numpy())
    assert {k: v for k, v in result.summary["rejected_by_reason"].items() if v} == {
        **{k: v for k, v in counts["invalid_rows"].items() if v},
        "duplicate": counts["duplicate_rows"],
    }
    assert not set(IDENTIFIERS) & set(result.data.columns)
    truth = rows.set_index("source_row").loc[result.data["source_row"]]
    got = result.data["positive_exit"].reset_index(drop=True)
    expected = truth["positive_exit"].reset_index(drop=True)
    assert got.isna().equals(expected.isna())
    np.testing.assert_array_equal(got.dropna().to_numpy(dtype=bool), expected.dropna().to_numpy(dtype=bool))


def test_birth_date_options():
    column = generate_export(seed=2, trainees_per_year=200, birth_dates="column")
    assert "date_naissance" in column.raw.columns and "annee_naissance" not in column.raw.columns
    valid = column.rows["row_status"].eq("valid").to_numpy()
    born = _dates(column.raw["date_naissance"])[valid]
    np.testing.assert_array_equal(born.dt.year, (column.rows["cohort_year"] - column.rows["age_at_entry"])[valid])
    years = generate_export(seed=2, trainees_per_year=200, birth_dates="year")
    assert years.raw["annee_naissance"].dropna().str.fullmatch(r"\d{4}").all()
    with pytest.raises(Exception, match="birth_dates"):
        generate_export(seed=2, trainees_per_year=10, birth_dates="exact")


def test_clean_export_reads_a_written_csv_file(tmp_path):
    import toolkit.cleaning as cleaning

    path = write_export(tmp_path, seed=13, trainees_per_year=300, birth_dates="column")
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    rows = pd.read_parquet(tmp_path / "truth_rows.parquet").set_index("source_row")
    result = cleaning.clean_export(path)
    assert len(result.data) == truth["counts"]["expected_kept_rows"]
    assert len(result.rejected) == truth["counts"]["invalid_total"] + truth["counts"]["duplicate_rows"]
    expected = rows.loc[result.data["source_row"], "positive_exit"].reset_index(drop=True)
    got = result.data["positive_exit"].reset_index(drop=True)
    assert got.isna().equals(expected.isna()) and (got.dropna() == expected.dropna()).all()
    assert "date_naissance" not in result.data.columns
    assert result.data["birth_year"].notna().all()


def test_logit_fit_on_the_cleaned_export_recovers_the_true_coefficients():
    """No site effects: a complete-case logit on the cleaned export is unbiased for the truth
    (unknown outcomes, censoring and masking are independent of the outcome given X)."""
    import statsmodels.formula.api as smf

    import toolkit.cleaning as cleaning

    export = generate_export(seed=21, trainees_per_year=5_000, site_sd=0, planted=False)
    data = cleaning.clean_export(export.raw).data
    data = data[data["positive_exit"].notna()]
    frame = pd.DataFrame(
        {
            "y": data["positive_exit"].astype(int),
            "male": data["sex"].eq("M").astype(float),
            "age_at_entry": data["age_at_entry"].astype(float),
            "education_level": data["education_level"].astype(object),
            "qpv": data["qpv"].astype(float),
            "disability": data["disability"].astype(float),
            "nationality": data["nationality"].astype(object),
            "weeks_in_company": data["weeks_in_company"].astype(float),
            "cohort_year": data["cohort_year"].astype(int),
            "region": data["region"].astype(object),
        }
    ).dropna()
    fit = smf.logit(
        "y ~ male + age_at_entry + C(education_level, Treatment('infra_3')) + qpv + disability"
        " + C(nationality, Treatment('francaise')) + weeks_in_company + C(cohort_year)"
        " + C(region, Treatment('Auvergne-Rhône-Alpes'))",
        frame,
    ).fit(disp=0)
    truth = export.truth["coefficients"]
    plain = {
        "Intercept": export.truth["intercept"],
        "male": truth["sex[M]"],
        "age_at_entry": truth["age_at_entry"],
        "qpv": truth["qpv"],
        "disability": truth["disability"],
        "weeks_in_company": truth["weeks_in_company"],
    }
    z = []
    for param in fit.params.index:
        if param in plain:
            true_value = plain[param]
        else:  # "C(region, Treatment(...))[T.Bretagne]" -> "region[Bretagne]"
            variable = param[2 : param.index(",") if "," in param else param.index(")")]
            true_value = truth[f"{variable}[{param.split('[T.')[1][:-1]}]"]
        z.append((fit.params[param] - true_value) / fit.bse[param])
    z = np.asarray(z)
    assert len(z) == len(truth) + 1
    assert np.abs(z).max() < 4 and np.mean(z**2) < 2.0
