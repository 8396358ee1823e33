"""A comparison cohort for impact designs: young people followed by the Mission locale, entering an
E2C with selection on observables, with the true effect of the programme."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from .. import schema
from ..errors import E2CError
from ..i18n import _
from .core import DEFAULT_SEED, GENERATOR_VERSION, SynthExport, _add_months, _draw, _json_safe, _settings
from .mess import _messy_forms, _render, _render_columns, _school_habits, _string_frame
from .network import _of_town, network_geography
from .truth import _MASKED_COLUMNS, _REFERRER_WEIGHTS, _encode_outcomes

__all__ = ["generate_comparison", "COMPARISON_COVARIATES"]

# Young people followed by the Mission locale, before any E2C entry.
_POOL_AGES = np.arange(16, 26)
_POOL_AGE_WEIGHTS = np.array([8, 10, 14, 14, 13, 11, 9, 8, 7, 6])
_POOL_EDUCATION_WEIGHTS = np.array([0.70, 0.15, 0.12, 0.03])
_POOL_NATIONALITY_WEIGHTS = np.array([0.87, 0.02, 0.11])
_PROPENSITY_COEFFICIENTS = {  # who enters an E2C: younger, less qualified, QPV, non-EU...
    "sex[M]": 0.10,
    "age_at_entry": -0.10,
    "education_level[niveau_3]": -0.60,
    "education_level[niveau_4]": -1.00,
    "education_level[niveau_5_plus]": -1.30,
    "qpv": 0.50,
    "disability": 0.30,
    "nationality[ue]": 0.0,
    "nationality[hors_ue]": 0.30,
}
_COMPARISON_OUTCOME_COEFFICIENTS = {
    "sex[M]": -0.10,
    "age_at_entry": 0.04,
    "education_level[niveau_3]": 0.40,
    "education_level[niveau_4]": 0.60,
    "education_level[niveau_5_plus]": 0.70,
    "qpv": -0.30,
    "disability": -0.40,
    "nationality[ue]": -0.05,
    "nationality[hors_ue]": -0.25,
}
COMPARISON_COVARIATES = ("sex", "age_at_entry", "education_level", "qpv", "disability", "nationality")


def _draw_pool(rng, size: int) -> dict[str, np.ndarray]:
    return {
        "male": rng.random(size) < 0.5,
        "age": _POOL_AGES[_draw(rng, _POOL_AGE_WEIGHTS, size)],
        "education": _draw(rng, _POOL_EDUCATION_WEIGHTS, size),
        "qpv": rng.random(size) < 0.25,
        "disability": rng.random(size) < 0.05,
        "nationality": _draw(rng, _POOL_NATIONALITY_WEIGHTS, size),
    }


def _linear(coef: dict[str, float], x: dict[str, np.ndarray]) -> np.ndarray:
    """x·beta for the comparison covariates, with the neutral coefficient names."""
    edu = np.array([0.0] + [coef[f"education_level[{e}]"] for e in schema.EDUCATION_LEVELS[1:]])
    nat = np.array([0.0] + [coef[f"nationality[{c}]"] for c in schema.NATIONALITY_CODES[1:]])
    return (
        coef["sex[M]"] * x["male"]
        + coef["age_at_entry"] * x["age"]
        + edu[x["education"]]
        + coef["qpv"] * x["qpv"]
        + coef["disability"] * x["disability"]
        + nat[x["nationality"]]
    )


def generate_comparison(
    seed: int = DEFAULT_SEED,
    n_e2c: int = 2_000,
    n_comparison: int = 4_000,
    true_effect_logit: float = 0.5,
    *,
    years: tuple[int, ...] = (2022, 2023),
    horizon_months: int = 12,
    pool_treated_share: float = 0.3,
    control_positive_rate: float = 0.45,
    propensity: dict[str, float] | None = None,
    outcome: dict[str, float] | None = None,
    messy: bool = False,
    label_noise: float = 0.05,
    population_draws: int = 200_000,
) -> SynthExport:
    """Generate E2C trainees and a comparison cohort with selection on observables.

    A pool of young people followed by the Mission locale is drawn; each enters
    an E2C with ``logit P(E2C | X) = a + gamma·X`` (younger, less qualified,
    QPV... more likely), and the first ``n_e2c`` entrants and ``n_comparison``
    non-entrants are kept (exact group sizes; sampling on the group keeps the
    slopes ``gamma`` and shifts the intercept, recorded in the truth). The
    outcome, a positive exit under the project definition observed
    ``horizon_months`` after the (comparable) start date ``date_entree``,
    follows ``logit P(Y | X, T) = b + beta·X + tau·T``, and is written in the raw
    fields so that cleaning gives it back exactly (no unknown outcome).

    Parameters
    ----------
    seed : int
        Generator seed.
    n_e2c, n_comparison : int
        Group sizes (exact).
    true_effect_logit : float
        ``tau``, the effect of an E2C parcours on the log-odds of a positive exit.
    years : tuple of int
        Years of the start dates.
    horizon_months : int
        The outcome is observed (``date_suivi``) this many months after ``date_entree``, in both groups.
    pool_treated_share : float
        Share of the pool entering an E2C (fixes ``a``).
    control_positive_rate : float
        Mean untreated probability of a positive exit in the pool (fixes ``b``).
    propensity, outcome : dict, optional
        Overrides of ``gamma`` and ``beta`` by neutral name.
    messy : bool
        Messy labels and formats as in :func:`generate_export` (no invalid
        rows, duplicates or identifiers here).
    population_draws : int
        Size of the large draw giving the population ATT (0 to skip).

    Returns
    -------
    SynthExport
        ``raw``: the raw contract plus ``groupe`` ('E2C' / 'Comparaison').
        Comparison youths have ``ecole`` = ``site`` = 'Mission locale de <town>',
        ``prescripteur`` 'Mission locale' and no company weeks, placements or
        ESF flag (not applicable). ``truth``: ``att`` (finite-sample conditional
        ATT: mean over the treated of p1 - p0), ``att_population``,
        ``ate_population``, ``naive_difference``, ``propensity`` and
        ``outcome`` (intercepts and coefficients), ``true_effect_logit``.
        ``rows``: ``source_row``, ``id_stagiaire``, ``treated``,
        ``propensity``, ``p0``, ``p1``, ``positive_drawn``, ``positive_exit``
        and the covariates.
    """
    settings = _settings(generate_comparison, locals())
    if n_e2c < 1 or n_comparison < 1:
        raise E2CError(_("generate_comparison : il faut au moins un jeune dans chaque groupe."))
    rng = np.random.default_rng(seed)
    gamma = dict(_PROPENSITY_COEFFICIENTS) | {k: float(v) for k, v in (propensity or {}).items()}
    beta = dict(_COMPARISON_OUTCOME_COEFFICIENTS) | {k: float(v) for k, v in (outcome or {}).items()}
    for name, given in (("propensity", propensity), ("outcome", outcome)):
        wrong = set(given or ()) - set(_PROPENSITY_COEFFICIENTS)
        if wrong:
            raise E2CError(
                _("generate_comparison : coefficients inconnus dans {name} : {v1}.", name=name, v1=sorted(wrong))
            )
    sel = _select(rng, gamma, beta, n_e2c, n_comparison, pool_treated_share, control_positive_rate)
    x, treated = sel["x"], sel["treated"]
    p0 = expit(sel["b"] + sel["lin_y"])
    p1 = expit(sel["b"] + sel["lin_y"] + true_effect_logit)
    positive = rng.random(treated.size) < np.where(treated, p1, p0)
    population = _population_effects(seed, sel, gamma, beta, true_effect_logit, population_draws)
    geo = network_geography()
    x.update(_places_and_dates(rng, geo, treated, positive, x, years, horizon_months))
    raw, ids = _render_comparison(rng, geo, treated, x, messy, label_noise)
    rows = _comparison_rows(x, treated, ids, expit(sel["a_sample"] + sel["lin_t"]), p0, p1, positive)
    truth = _json_safe(
        {
            "generator": "toolkit.synth.generate_comparison",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "settings": settings,
            "design": "selection on observables: P(E2C | X) logistic in the covariates; outcome logistic in X and T",
            "covariates": list(COMPARISON_COVARIATES),
            "reference_levels": {"sex": "F", "education_level": "infra_3", "nationality": "francaise"},
            "propensity": {
                "intercept": float(sel["a_sample"]),
                "intercept_pool": float(sel["a"]),
                "coefficients": gamma,
            },
            "outcome": {"intercept": float(sel["b"]), "coefficients": beta, "treatment": float(true_effect_logit)},
            "true_effect_logit": float(true_effect_logit),
            "att": float(np.mean(p1[treated] - p0[treated])),
            **population,
            "naive_difference": float(positive[treated].mean() - positive[~treated].mean()),
            "n_treated": int(treated.sum()),
            "n_control": int((~treated).sum()),
            "outcome_horizon_months": horizon_months,
            "definition": "projet",
        }
    )
    return SynthExport(raw=raw, truth=truth, rows=rows)


def _select(rng, gamma, beta, n_e2c, n_comparison, pool_treated_share, control_positive_rate) -> dict:
    """Draw the pool, select into the E2C, keep the first ``n_e2c`` entrants and ``n_comparison`` others."""
    size = int(1.3 * max(n_e2c / pool_treated_share, n_comparison / (1 - pool_treated_share))) + 100
    pool = _draw_pool(rng, size)
    lin_t = _linear(gamma, pool)
    a = brentq(lambda v: expit(v + lin_t).mean() - pool_treated_share, -30, 30, xtol=1e-10)
    treated_pool = rng.random(size) < expit(a + lin_t)
    lin_y = _linear(beta, pool)
    b = brentq(lambda v: expit(v + lin_y).mean() - control_positive_rate, -30, 30, xtol=1e-10)
    t_idx = np.flatnonzero(treated_pool)[:n_e2c]
    c_idx = np.flatnonzero(~treated_pool)[:n_comparison]
    if t_idx.size < n_e2c or c_idx.size < n_comparison:  # pragma: no cover - the pool is 30 % larger than needed
        raise E2CError(_("generate_comparison : réservoir trop petit, augmentez pool_treated_share."))
    keep = rng.permutation(np.concatenate([t_idx, c_idx]))
    # Sampling on T keeps gamma and shifts the intercept by the log ratio of sampling fractions.
    a_sample = a + np.log(n_e2c / treated_pool.sum()) - np.log(n_comparison / (~treated_pool).sum())
    return {
        "x": {k: v[keep] for k, v in pool.items()},
        "treated": treated_pool[keep],
        "a": a,
        "b": b,
        "a_sample": a_sample,
        "lin_t": lin_t[keep],
        "lin_y": lin_y[keep],
    }


def _population_effects(seed, sel, gamma, beta, tau, draws: int) -> dict:
    """Population ATT and ATE from a large separate draw (its own generator: the export does not change)."""
    if draws <= 0:
        return {}
    big = _draw_pool(np.random.default_rng([seed, 1]), draws)
    e = expit(sel["a"] + _linear(gamma, big))
    q0 = expit(sel["b"] + _linear(beta, big))
    q1 = expit(sel["b"] + _linear(beta, big) + tau)
    return {
        "att_population": float(np.sum(e * (q1 - q0)) / np.sum(e)),
        "ate_population": float(np.mean(q1 - q0)),
    }


def _places_and_dates(rng, geo, treated, positive, x, years, horizon_months) -> dict:
    """Sites, start dates, the situation at the horizon, and the E2C-only fields (placements, ESF)."""
    n = treated.size
    weight = geo["region_share"].to_numpy() / geo.groupby("region")["site"].transform("size").to_numpy()
    site = rng.choice(len(geo), size=n, p=weight / weight.sum())
    year = np.asarray(years)[rng.integers(len(years), size=n)]
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    year_days = ((year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - first).astype(np.int64)
    entry = first + np.floor(rng.random(n) * year_days).astype(np.int64)
    exit_day = entry + rng.integers(120, 241, size=n)
    start = exit_day + rng.integers(0, 46, size=n)
    horizon = _add_months(entry, horizon_months)
    if np.any(_add_months(start, 2) + 1 > horizon):
        raise E2CError(_("generate_comparison : horizon trop court pour observer une situation de plus de 2 mois."))
    everyone, nobody = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    reason, s_date, e_date, _end, _kind = _encode_outcomes(
        rng,
        exited=everyone,
        known=everyone,
        positive=positive,
        unknown=nobody,
        censored=nobody,
        start=start,
        cap=horizon,
        male=x["male"],
        interruptible=treated,
    )
    company_days = np.minimum(np.round(rng.gamma(3.0, 15.0, n)), 100).astype(np.int64)
    internships = np.where(company_days == 0, 0, np.minimum(1 + rng.poisson(company_days / 25.0), 8))
    referrer = np.where(treated, _draw(rng, _REFERRER_WEIGHTS, n), 0)
    rural = rng.random(n) < 0.10
    esf = rng.random(n) < 0.5
    masked = {k: np.zeros(n, dtype=bool) for k in _MASKED_COLUMNS}
    for k in ("weeks_in_company", "n_internships", "esf_cofunded"):
        masked[k] = ~treated  # not applicable outside the E2C
    return dict(
        site=site,
        school=geo["school_index"].to_numpy()[site],
        year=year,
        entry=entry,
        birth=year - x["age"],
        rural=rural,
        referrer=referrer,
        company_days=company_days,
        internships=internships,
        esf=esf,
        masked=masked,
        exit_day=exit_day,
        reason=reason,
        s_date=s_date,
        e_date=e_date,
        f_date=horizon,
    )  # everyone's situation is observed at the same horizon after the start date


def _render_comparison(rng, geo, treated, x, messy: bool, label_noise: float):
    """The raw export (with ``groupe``) and the ids; comparison youths are placed at the Mission locale."""
    n = treated.size
    habits = _school_habits(rng, int(geo["school_index"].max()) + 1, messy)
    noise = label_noise if messy else 0.0
    cols = _render_columns(rng, geo, habits, messy, noise, x)
    mission_locale = np.asarray([f"Mission locale {_of_town(t)}" for t in geo["town"]], dtype=object)[x["site"]]
    cols["ecole"] = np.where(treated, cols["ecole"], mission_locale)
    cols["site"] = np.where(treated, cols["site"], mission_locale)
    ids = cols["id_stagiaire"]
    cols["id_stagiaire"] = np.where(treated, ids, "ML-" + ids.astype(str).astype(object))
    group_table = [[["Comparaison"], ["E2C"]]]
    if messy:
        group_table = [
            [["Comparaison", "Comparaison", "Témoin", "Groupe témoin"], ["E2C", "E2C", "Ecole de la 2e chance"]]
        ]
    cols["groupe"] = _render(
        treated.astype(np.int64),
        np.zeros(n, dtype=np.int64),
        group_table,
        rng,
        noise,
        [_messy_forms(schema.GROUP_VARIANTS[c]) for c in ("comparaison", "e2c")],
    )
    raw = _string_frame({c.name: cols[c.name] for c in schema.RAW_COLUMNS if c.name in cols})
    return raw, cols["id_stagiaire"]


def _comparison_rows(x, treated, ids, propensity, p0, p1, positive) -> pd.DataFrame:
    """Per-row truth: group, true propensity, both potential-outcome probabilities, the draw, covariates."""
    rows = pd.DataFrame(
        {
            "source_row": np.arange(1, treated.size + 1),
            "id_stagiaire": ids,
            "treated": treated,
            "propensity": propensity,
            "p0": p0,
            "p1": p1,
            "positive_drawn": positive,
            "positive_exit": pd.array(positive, dtype="boolean"),
            "sex": pd.Categorical.from_codes(x["male"].astype(np.int8), categories=list(schema.SEX_CODES)),
            "age_at_entry": x["age"],
            "education_level": pd.Categorical.from_codes(x["education"], categories=list(schema.EDUCATION_LEVELS)),
            "qpv": x["qpv"],
            "disability": x["disability"],
            "nationality": pd.Categorical.from_codes(x["nationality"], categories=list(schema.NATIONALITY_CODES)),
        }
    )
    return rows
