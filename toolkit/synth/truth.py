"""The data-generating process: who enters which site, their profile, the true positive-exit model
(coefficients, site effects, planted sites), the parcours and exits, what is known at the extraction
date, and the truth written beside an export."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from .. import schema
from ..errors import E2CError
from ..i18n import _
from .core import _OUTCOME_STATUSES, _ROW_STATUSES, GENERATOR_VERSION, NAT, _add_months, _bernoulli, _draw, _json_safe

# --------------------------------------------------------------------------
_AGES = np.arange(16, 31)
# 16-17: 24 % minors; mean about 19.8; 6 % aged 26 or more.
_AGE_WEIGHTS = np.array([10, 14, 15, 13, 11, 9, 7, 6, 5, 4, 2, 1.5, 1, 0.8, 0.7])
_EDUCATION_WEIGHTS = np.array([0.905, 0.06, 0.03, 0.005])  # infra_3, niveau_3, niveau_4, niveau_5_plus
_NATIONALITY_WEIGHTS = np.array([0.86, 0.02, 0.12])  # francaise, ue, hors_ue
_REFERRER_WEIGHTS = np.array([0.60, 0.06, 0.22, 0.04, 0.08])  # ML, France Travail, spontaneous, PLIE, other
_REFERRER_WEIGHTS_26_PLUS = np.array([0.25, 0.15, 0.15, 0.35, 0.10])  # adults come through PLIE more often
_MONTH_WEIGHTS = np.array([1.1, 1.0, 1.1, 1.0, 0.9, 0.8, 0.5, 0.3, 1.3, 1.3, 1.1, 0.7])

_DEFAULT_COEFFICIENTS = {
    "sex[M]": -0.10,
    "age_at_entry": 0.03,
    "education_level[niveau_3]": 0.35,
    "education_level[niveau_4]": 0.55,
    "education_level[niveau_5_plus]": 0.60,
    "qpv": -0.25,
    "disability": -0.30,
    "nationality[ue]": -0.05,
    "nationality[hors_ue]": -0.20,
    "weeks_in_company": 0.06,
}
# Year effects echo the published national rates (63 % 2019 ... 61 % 2024; 2020: lockdowns).
_YEAR_EFFECTS = {2019: 0.0, 2020: -0.15, 2021: 0.05, 2022: 0.0, 2023: -0.03, 2024: -0.08}
_REGION_EFFECT_SD = 0.15

_CODE_INDEX = {code: i for i, code in enumerate(schema.EXIT_REASON_CODES)}
_QUALIFYING = [r.code for r in schema.EXIT_REASONS if r.category in ("job", "work_study", "training")]
# Among positives: job 35 %, work-study 25 %, training 40 %.
_POSITIVE_MIX = {
    "cdi": 0.35 * 0.15,
    "cdd": 0.35 * 0.30,
    "cdd_6_mois_plus": 0.35 * 0.10,
    "cdd_moins_6_mois": 0.35 * 0.10,
    "interim": 0.35 * 0.17,
    "contrat_aide": 0.35 * 0.08,
    "creation_entreprise": 0.35 * 0.03,
    "emploi": 0.35 * 0.07,
    "apprentissage": 0.25 * 0.60,
    "contrat_professionnalisation": 0.25 * 0.25,
    "alternance": 0.25 * 0.15,
    "formation_qualifiante": 0.40 * 0.65,
    "formation_prequalifiante": 0.40 * 0.35,
}
_INTERRUPTION_MIX = {"abandon": 0.45, "exclusion": 0.15, "demenagement": 0.15, "maladie": 0.15, "maternite": 0.10}
_OTHER_NEGATIVE_MIX = {
    "sans_solution": 0.25,
    "recherche_emploi": 0.35,
    "service_civique": 0.12,
    "retour_mission_locale": 0.18,
    "autre": 0.10,
}
# Among negative exits: interruptions, qualifying situations that lasted 2 months or less, other exits.
_NEGATIVE_KINDS = (0.52, 0.14, 0.34)
_UNRECOGNISED_EXIT_LABELS = (
    "En attente",
    "Situation à préciser",
    "Voir référent",
    "NSP",
    "Perdu de vue",
    "Non communiqué",
)
_UNKNOWN_KINDS = ("no_start_date", "confirmed_too_early", "unrecognised_label")

_MASKED_COLUMNS = {  # canonical covariate: share masked completely at random (scaled by missing_share / 0.03)
    "education_level": 0.03,
    "qpv": 0.04,
    "rural": 0.05,
    "disability": 0.05,
    "nationality": 0.02,
    "referrer": 0.03,
    "weeks_in_company": 0.02,
    "n_internships": 0.02,
    "esf_cofunded": 0.03,
}


def _choose_codes(rng, mix: dict[str, float], size: int) -> np.ndarray:
    codes = np.array([_CODE_INDEX[c] for c in mix])
    return codes[_draw(rng, list(mix.values()), size)]


# --------------------------------------------------------------------------
# Outcome encoding: motif and situation dates that give back the drawn outcome
# --------------------------------------------------------------------------
def _encode_outcomes(rng, *, exited, known, positive, unknown, censored, start, cap, male, interruptible=None):
    """Exit reason codes (-1 empty, -2 unrecognised label) and situation dates.

    * known positive: a qualifying situation lasting strictly more than 2
      calendar months (ended, or still running and confirmed later);
    * known negative: an interruption, a qualifying situation that lasted 2
      months or less (a quarter exactly 2 months), or a non-qualifying exit;
    * unknown (planted): no start date, confirmed too early, or a label no one
      can read;
    * censored: nothing recorded yet, or a running situation not yet
      confirmed for more than 2 months.

    ``cap`` is the last date anything can be recorded (the extraction date, or
    one date per row). Rows not ``interruptible`` (comparison youths) get the
    other negative exits instead of an interruption.
    """
    n = exited.size
    reason = np.full(n, -1, dtype=np.int64)
    s_date = np.full(n, NAT)
    e_date = np.full(n, NAT)
    f_date = np.full(n, NAT)
    unknown_kind = np.full(n, None, dtype=object)
    threshold = _add_months(start, 2)
    cap = np.broadcast_to(np.asarray(cap, dtype="datetime64[D]"), start.shape)
    room = np.where(np.isnat(threshold), 0, (cap - threshold).astype("timedelta64[D]").astype(np.int64))

    # Known positives
    kp = np.flatnonzero(known & positive)
    reason[kp] = _choose_codes(rng, _POSITIVE_MIX, kp.size)
    s_date[kp] = start[kp]
    length = 1 + np.floor(rng.random(kp.size) * np.minimum(room[kp], 365)).astype(np.int64)
    when = threshold[kp] + length
    running = rng.random(kp.size) < 0.4
    e_date[kp[~running]] = when[~running]
    f_date[kp[running]] = when[running]

    # Known negatives
    kn = np.flatnonzero(known & ~positive)
    kind = _draw(rng, _NEGATIVE_KINDS, kn.size)
    if interruptible is not None:
        kind = np.where((kind == 0) & ~interruptible[kn], 2, kind)
    inter = kn[kind == 0]
    reason[inter] = _choose_codes(rng, _INTERRUPTION_MIX, inter.size)
    reason[inter[(reason[inter] == _CODE_INDEX["maternite"]) & male[inter]]] = _CODE_INDEX["maladie"]
    short = kn[kind == 1]
    reason[short] = _choose_codes(rng, _POSITIVE_MIX, short.size)
    s_date[short] = start[short]
    back = np.where(rng.random(short.size) < 0.25, 0, rng.integers(1, 45, size=short.size))
    e_date[short] = threshold[short] - back
    confirmed_later = rng.random(short.size) < 0.3  # ended, confirmed after 2 months: still not positive
    later = short[confirmed_later]
    f_date[later] = threshold[later] + rng.integers(1, 15, size=later.size)
    other = kn[kind == 2]
    reason[other] = _choose_codes(rng, _OTHER_NEGATIVE_MIX, other.size)
    civic = other[(reason[other] == _CODE_INDEX["service_civique"]) & (rng.random(other.size) < 0.7)]
    s_date[civic] = start[civic]
    f_date[civic] = threshold[civic] + rng.integers(1, 15, size=civic.size)

    # Unknown outcome, planted at random
    pu = np.flatnonzero(unknown)
    ukind = _draw(rng, (0.35, 0.35, 0.30), pu.size)
    unknown_kind[pu] = np.asarray(_UNKNOWN_KINDS, dtype=object)[ukind]
    no_start = pu[ukind == 0]
    reason[no_start] = _choose_codes(rng, _POSITIVE_MIX, no_start.size)
    with_end = no_start[rng.random(no_start.size) < 0.5]
    e_date[with_end] = threshold[with_end] + rng.integers(1, 15, size=with_end.size)
    early = pu[ukind == 1]
    reason[early] = _choose_codes(rng, _POSITIVE_MIX, early.size)
    s_date[early] = start[early]
    never = rng.random(early.size) < 0.2
    back = np.where(rng.random(early.size) < 0.3, 0, rng.integers(1, 40, size=early.size))
    f_date[early[~never]] = threshold[early[~never]] - back[~never]
    unreadable = pu[ukind == 2]
    reason[unreadable] = np.where(rng.random(unreadable.size) < 0.6, -2, _CODE_INDEX["inconnu"])

    # Censored: too recent to know
    cz = np.flatnonzero(censored)
    unknown_kind[cz] = "censored"
    begun = cz[(start[cz] <= cap[cz]) & (rng.random(cz.size) < 0.5)]
    reason[begun] = _choose_codes(rng, _POSITIVE_MIX, begun.size)
    s_date[begun] = start[begun]
    last = np.minimum(threshold[begun], cap[begun])
    span = (last - start[begun]).astype("timedelta64[D]").astype(np.int64)
    f_date[begun] = start[begun] + np.floor(rng.random(begun.size) * (span + 1)).astype(np.int64)
    return reason, s_date, e_date, f_date, unknown_kind


# --------------------------------------------------------------------------
# School habits (messy exports)


def _coefficients(rng, years, region_names, overrides) -> dict[str, float]:
    """The true coefficients by neutral name: defaults, year effects echoing the published rates,
    region effects drawn from N(0, 0.15), then the caller's overrides."""
    coef = dict(_DEFAULT_COEFFICIENTS)
    for y in years[1:]:
        if y in _YEAR_EFFECTS and years[0] in _YEAR_EFFECTS:
            coef[f"cohort_year[{y}]"] = _YEAR_EFFECTS[y] - _YEAR_EFFECTS[years[0]]
        else:
            coef[f"cohort_year[{y}]"] = round(float(rng.normal(0, 0.1)), 4)
    region_draw = np.round(rng.normal(0, _REGION_EFFECT_SD, len(region_names)), 4)
    for k, name in enumerate(region_names[1:], start=1):
        coef[f"region[{name}]"] = float(region_draw[k])
    if overrides:
        unknown_names = set(overrides) - set(coef)
        if unknown_names:
            raise E2CError(_("generate_export : coefficients inconnus : {v0}.", v0=sorted(unknown_names)))
        coef.update({k: float(v) for k, v in overrides.items()})
    return coef


# --------------------------------------------------------------------------


def _truth(
    *,
    settings,
    seed,
    model,
    site_sd,
    geo,
    planted_effect,
    rows,
    region_names,
    years,
    extraction,
    invalid_counts,
    id_cols,
    masked_shares,
) -> dict:
    status = rows["row_status"].to_numpy()
    kept = rows[status == "valid"]
    outcome = kept["outcome_status"].value_counts()
    known = kept["outcome_status"] == "known"
    exits = int((kept["outcome_status"] != "in_programme").sum())
    truth = {
        "generator": "toolkit.synth.generate_export",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "settings": settings,
        "model": "logit P(positive_exit) = intercept + sum(coefficients[k] * x[k]) + site_effects[site]",
        "intercept": float(model["intercept"]),
        "coefficients": {k: float(v) for k, v in model["coef"].items()},
        "reference_levels": {
            "sex": "F",
            "education_level": "infra_3",
            "nationality": "francaise",
            "cohort_year": int(years[0]),
            "region": region_names[0],
        },
        "covariate_scales": {
            "age_at_entry": "years (entry year minus birth year)",
            "weeks_in_company": "weeks (working days / 5)",
            "qpv": "0/1",
            "disability": "0/1",
        },
        "site_sd": float(site_sd),
        "site_effects": {site: float(u) for site, u in zip(geo["site"], model["u_site"])},
        "planted_sites": {"better": model["better"], "worse": model["worse"]},
        "planted_effect": float(planted_effect),
        "target_positive_rate": settings["target_positive_rate"],
        "extraction_date": str(extraction),
        "definition": "projet",
        "geography": {
            "regions": len(region_names),
            "schools": int(geo["school"].nunique()),
            "sites": len(geo),
        },
        "masked_shares": masked_shares,
        "identifier_columns": id_cols,
        "counts": {
            "rows": len(rows),
            "trainees": int((status != "duplicate").sum()),
            "duplicate_rows": int((status == "duplicate").sum()),
            "invalid_rows": invalid_counts,
            "invalid_total": int(sum(invalid_counts.values())),
            "expected_kept_rows": len(kept),
            "in_programme": int(outcome.get("in_programme", 0)),
            "exits": exits,
            "known_outcome": int(known.sum()),
            "unknown_planted": int(outcome.get("unknown_planted", 0)),
            "unknown_censored": int(outcome.get("unknown_censored", 0)),
            "positive_exits": int(kept.loc[known, "positive_drawn"].sum()),
        },
        "notes": (
            "Counts of exits, outcomes and positives are over the rows cleaning must keep (row_status 'valid'). "
            "Per-row truth is in SynthExport.rows (truth_rows.parquet next to a written export)."
        ),
    }
    return _json_safe(truth)


# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The steps of generate_export, in the order they draw from the generator
# (the order is part of the output: same seed, same export, byte for byte)
# --------------------------------------------------------------------------
def _draw_sites(rng, geo: pd.DataFrame, n_schools: int) -> dict[str, np.ndarray]:
    """Site sizes (share of the national intake), intake mix, and school-level parcours habits."""
    n_sites = len(geo)
    weight = rng.gamma(4.0, 1.0, n_sites) * np.where(geo["main_site"], 2.0, 1.0)
    weight = weight / geo.assign(w=weight).groupby("region")["w"].transform("sum").to_numpy()
    weight = weight * geo["region_share"].to_numpy()
    weight = weight / weight.sum()
    p_qpv_site = expit(np.log(0.33 / 0.67) + rng.normal(0, 0.6, n_sites))
    p_rural_site = expit(np.log(0.15 / 0.85) + rng.normal(0, 0.8, n_sites) + np.where(geo["main_site"], -0.8, 0.4))
    duration_factor = np.where(rng.random(n_schools) < 0.2, rng.uniform(1.3, 1.6, n_schools), 1.0)
    esf_rate = np.where(rng.random(n_schools) < 0.6, 0.9, 0.0)
    return {
        "weight": weight,
        "p_qpv": p_qpv_site,
        "p_rural": p_rural_site,
        "duration_factor": duration_factor,
        "esf_rate": esf_rate,
    }


def _draw_trainees(rng, geo: pd.DataFrame, sites: dict, years: tuple[int, ...], per_year: int) -> dict:
    """Every trainee's site, entry date and profile (true values, before any masking)."""
    n = per_year * len(years)
    year = np.repeat(np.asarray(years), per_year)
    site = rng.choice(len(geo), size=n, p=sites["weight"])
    school = geo["school_index"].to_numpy()[site]
    region_names = [r for r in schema.REGION_NAMES if r in set(geo["region"])]
    region = pd.Categorical(geo["region"], categories=region_names).codes[site]
    month = (year - 1970) * 12 + _draw(rng, _MONTH_WEIGHTS, n)
    first_day = month.astype("datetime64[M]").astype("datetime64[D]")
    month_days = ((month + 1).astype("datetime64[M]").astype("datetime64[D]") - first_day).astype(np.int64)
    entry = first_day + np.floor(rng.random(n) * month_days).astype(np.int64)
    male = rng.random(n) < 0.5
    age = _AGES[_draw(rng, _AGE_WEIGHTS, n)]
    education = _draw(rng, _EDUCATION_WEIGHTS, n)
    qpv = _bernoulli(rng, sites["p_qpv"][site], n)
    rural = ~qpv & _bernoulli(rng, sites["p_rural"][site], n)
    disability = _bernoulli(rng, 0.05, n)
    nationality = _draw(rng, _NATIONALITY_WEIGHTS, n)
    referrer = np.where(age >= 26, _draw(rng, _REFERRER_WEIGHTS_26_PLUS, n), _draw(rng, _REFERRER_WEIGHTS, n))
    company_days = np.minimum(np.round(rng.gamma(3.0, 15.0, n)), 100).astype(np.int64)
    company_days[rng.random(n) < 0.04] = 0
    weeks = company_days / 5.0  # exact multiples of 0.2 weeks
    internships = np.where(company_days == 0, 0, np.minimum(1 + rng.poisson(weeks / 5.0), 8))
    esf = _bernoulli(rng, sites["esf_rate"][school], n)
    return {
        "n": n,
        "region_names": region_names,
        **dict(site=site, school=school, year=year, region=region, entry=entry, male=male, age=age),
        **dict(birth=year - age, education=education, qpv=qpv, rural=rural, disability=disability),
        **dict(nationality=nationality, referrer=referrer, company_days=company_days, weeks=weeks),
        **dict(internships=internships, esf=esf),
    }


def _linear_predictor(coef: dict, x: dict, years: tuple[int, ...], u_site: np.ndarray) -> np.ndarray:
    """The logit of a positive exit without its intercept, with the neutral coefficient names."""
    return (
        coef["sex[M]"] * x["male"]
        + coef["age_at_entry"] * x["age"]
        + coef["qpv"] * x["qpv"]
        + coef["disability"] * x["disability"]
        + coef["weeks_in_company"] * x["weeks"]
        + np.array([0.0] + [coef[f"education_level[{e}]"] for e in schema.EDUCATION_LEVELS[1:]])[x["education"]]
        + np.array([0.0] + [coef[f"nationality[{c}]"] for c in schema.NATIONALITY_CODES[1:]])[x["nationality"]]
        + np.array([0.0] + [coef[f"cohort_year[{y}]"] for y in years[1:]])[np.searchsorted(years, x["year"])]
        + np.array([0.0] + [coef[f"region[{r}]"] for r in x["region_names"][1:]])[x["region"]]
        + u_site[x["site"]]
    )


def _draw_positive_exits(rng, geo, sites, x, years, *, coefficients, site_sd, planted, n_planted, planted_effect,
                         target_positive_rate) -> dict:  # fmt: skip
    """The true model (coefficients, site effects, planted sites, intercept) and every trainee's drawn outcome."""
    n_sites = len(geo)
    coef = _coefficients(rng, years, x["region_names"], coefficients)
    u_site = rng.normal(0, site_sd, n_sites) if site_sd > 0 else np.zeros(n_sites)
    better: list[str] = []
    worse: list[str] = []
    if planted and n_planted > 0:
        expected = sites["weight"] * x["n"]
        eligible = np.flatnonzero(expected >= np.median(expected))
        chosen = rng.choice(eligible, size=2 * n_planted, replace=False)
        u_site[chosen[:n_planted]] = planted_effect
        u_site[chosen[n_planted:]] = -planted_effect
        better = [geo["site"].iloc[i] for i in chosen[:n_planted]]
        worse = [geo["site"].iloc[i] for i in chosen[n_planted:]]
    eta = _linear_predictor(coef, x, years, u_site)
    intercept = brentq(lambda b: expit(b + eta).mean() - target_positive_rate, -20, 20, xtol=1e-10)
    p_true = expit(intercept + eta)
    positive = rng.random(x["n"]) < p_true
    return dict(coef=coef, u_site=u_site, better=better, worse=worse, intercept=intercept, p_true=p_true,
                positive=positive)  # fmt: skip


def _draw_parcours(rng, x: dict, sites: dict, positive: np.ndarray, extraction, unknown_share: float) -> dict:
    """Parcours length, exit, the situation after it, and what is known at the extraction date."""
    n, weeks = x["n"], x["weeks"]
    share = rng.uniform(0.40, 0.55, n)
    duration = np.maximum(
        np.round((weeks * 7 / share + rng.gamma(2.0, 20.0, n)) * sites["duration_factor"][x["school"]]), 14
    )
    exit_day = x["entry"] + duration.astype(np.int64)
    exited = exit_day <= extraction
    start = exit_day + rng.integers(0, 46, size=n)
    threshold = _add_months(start, 2)
    censored = exited & (threshold + 14 > extraction)
    unknown = exited & ~censored & (rng.random(n) < unknown_share)
    known = exited & ~censored & ~unknown
    reason, s_date, e_date, f_date, unknown_kind = _encode_outcomes(
        rng,
        exited=exited,
        known=known,
        positive=positive,
        unknown=unknown,
        censored=censored,
        start=np.where(exited, start, NAT),
        cap=extraction,
        male=x["male"],
    )
    return dict(exit_day=np.where(exited, exit_day, NAT), exited=exited, known=known, censored=censored,
                unknown_kind=unknown_kind, reason=reason, s_date=s_date, e_date=e_date, f_date=f_date)  # fmt: skip


def _truth_rows(geo: pd.DataFrame, x: dict, model: dict, parcours: dict) -> pd.DataFrame:
    """One row per trainee: statuses, the drawn outcome, its probability and the true covariates."""
    n, exited, known = x["n"], parcours["exited"], parcours["known"]
    rows = pd.DataFrame(
        {
            "id_stagiaire": pd.Series(np.full(n, None, dtype=object), dtype=object),
            "row_status": pd.Categorical(np.full(n, "valid", dtype=object), categories=_ROW_STATUSES),
            "outcome_status": pd.Categorical.from_codes(
                np.select([~exited, known, parcours["censored"]], [0, 1, 3], 2), categories=_OUTCOME_STATUSES
            ),
            "unknown_kind": pd.Categorical(parcours["unknown_kind"], categories=[*_UNKNOWN_KINDS, "censored"]),
            "positive_drawn": model["positive"],
            "positive_exit": pd.array(np.where(known, model["positive"], False), dtype="boolean"),
            "p_true": model["p_true"],
            "region": pd.Categorical.from_codes(x["region"], categories=x["region_names"]),
            "school": pd.Categorical.from_codes(x["school"], categories=list(geo["school"].unique())),
            "site": pd.Categorical.from_codes(x["site"], categories=list(geo["site"])),
            "cohort_year": x["year"],
            "entry_date": x["entry"],
            "sex": pd.Categorical.from_codes(x["male"].astype(np.int8), categories=list(schema.SEX_CODES)),
            "age_at_entry": x["age"],
            "education_level": pd.Categorical.from_codes(x["education"], categories=list(schema.EDUCATION_LEVELS)),
            "qpv": x["qpv"],
            "rural": x["rural"],
            "disability": x["disability"],
            "nationality": pd.Categorical.from_codes(x["nationality"], categories=list(schema.NATIONALITY_CODES)),
            "referrer": pd.Categorical.from_codes(x["referrer"], categories=list(schema.REFERRER_CODES)),
            "weeks_in_company": x["weeks"],
            "n_internships": x["internships"],
            "esf_cofunded": x["esf"],
        }
    )
    rows.loc[~known, "positive_exit"] = pd.NA
    return rows
