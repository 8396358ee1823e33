"""A small, fast simulator of canonical-frame exits with a known logistic truth,
for the model and comparison tests (helper module, not a test file).

logit P(positive exit) = intercept + beta . x + u_site, with u_site ~ N(0, site_sd)
plus planted offsets; covariates are masked completely at random *after* the
outcome is drawn (so complete-case fits stay unbiased); some exits have an
unknown outcome (NA) and are not used by the models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit import schema

REGIONS = ("Auvergne-Rhône-Alpes", "Bretagne", "Hauts-de-France", "Occitanie")
YEARS = (2021, 2022, 2023)

TRUE_INTERCEPT = -1.0
TRUE_COEFFICIENTS = {
    "sex[M]": -0.15,
    "education_level[niveau_3]": 0.35,
    "education_level[niveau_4]": 0.55,
    "education_level[niveau_5_plus]": 0.7,
    "nationality[ue]": 0.1,
    "nationality[hors_ue]": -0.25,
    "cohort_year[2022]": 0.1,
    "cohort_year[2023]": -0.1,
    "region[Bretagne]": 0.2,
    "region[Hauts-de-France]": -0.2,
    "region[Occitanie]": 0.05,
    "age_at_entry": 0.04,
    "qpv": -0.3,
    "disability": -0.45,
    "weeks_in_company": 0.05,
}


def simulate_exits(
    n: int = 4000,
    seed: int = 0,
    n_sites: int = 40,
    site_sd: float = 0.0,
    planted: dict[str, float] | None = None,
    missing_rate: float = 0.03,
    unknown_rate: float = 0.05,
    coefficients: dict[str, float] | None = None,
    intercept: float = TRUE_INTERCEPT,
) -> tuple[pd.DataFrame, dict]:
    """Canonical-like exits and the truth dict (``intercept``, ``coefficients``,
    ``site_effects``, ``site_sd``). ``planted`` maps a site index ("site_07") to a
    logit offset added to its random effect."""
    rng = np.random.default_rng(seed)
    beta = dict(TRUE_COEFFICIENTS if coefficients is None else coefficients)
    sites = np.array([f"site_{i:02d}" for i in range(n_sites)])
    site_region = np.array(REGIONS)[np.arange(n_sites) % len(REGIONS)]
    site_school = np.array([f"ecole_{i // 2:02d}" for i in range(n_sites)])
    u = rng.normal(0.0, site_sd, n_sites) if site_sd > 0 else np.zeros(n_sites)
    for name, offset in (planted or {}).items():
        u[int(np.flatnonzero(sites == name)[0])] += offset
    s = rng.integers(0, n_sites, n)

    sex = rng.choice(["F", "M"], n)
    age = rng.integers(16, 27, n)
    edu = rng.choice(schema.EDUCATION_LEVELS, n, p=[0.6, 0.25, 0.12, 0.03])
    nat = rng.choice(schema.NATIONALITY_CODES, n, p=[0.82, 0.05, 0.13])
    qpv = rng.random(n) < 0.33
    disability = rng.random(n) < 0.06
    weeks = np.round(rng.gamma(3.0, 3.0, n), 1)
    year = rng.choice(YEARS, n)
    region = site_region[s]

    eta = np.full(n, intercept) + u[s]
    eta += beta["sex[M]"] * (sex == "M") + beta["age_at_entry"] * age
    for lvl in schema.EDUCATION_LEVELS[1:]:
        eta += beta[f"education_level[{lvl}]"] * (edu == lvl)
    for lvl in schema.NATIONALITY_CODES[1:]:
        eta += beta[f"nationality[{lvl}]"] * (nat == lvl)
    for y in YEARS[1:]:
        eta += beta[f"cohort_year[{y}]"] * (year == y)
    for r in REGIONS[1:]:
        eta += beta[f"region[{r}]"] * (region == r)
    eta += beta["qpv"] * qpv + beta["disability"] * disability + beta["weeks_in_company"] * weeks
    outcome = rng.random(n) < 1 / (1 + np.exp(-eta))

    def masked(values, dtype):
        out = pd.array(values, dtype=dtype)
        out[rng.random(n) < missing_rate] = pd.NA
        return out

    frame = pd.DataFrame(
        {
            "trainee_id": pd.array([f"t{i}" for i in range(n)], dtype="string"),
            "region": pd.Categorical(region, categories=schema.REGION_NAMES),
            "school": pd.Categorical(site_school[s]),
            "site": pd.Categorical(sites[s]),
            "sex": pd.Categorical(sex, categories=schema.SEX_CODES),
            "age_at_entry": masked(age, "Int64"),
            "education_level": pd.Categorical(masked(edu, "string"), categories=schema.EDUCATION_LEVELS),
            "qpv": masked(qpv, "boolean"),
            "disability": masked(disability, "boolean"),
            "nationality": pd.Categorical(masked(nat, "string"), categories=schema.NATIONALITY_CODES),
            "weeks_in_company": masked(weeks, "Float64"),
            "cohort_year": pd.array(year, dtype="Int64"),
            "positive_exit": pd.array(outcome, dtype="boolean"),
        }
    )
    frame.loc[rng.random(n) < unknown_rate, "positive_exit"] = pd.NA
    truth = {
        "intercept": intercept,
        "coefficients": beta,
        "site_sd": site_sd,
        "site_effects": dict(zip(sites, u)),
        "eta": eta,
    }
    return frame, truth
