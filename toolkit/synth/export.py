"""Generating a national export (:func:`generate_export`) and writing it with its truth
(:func:`write_export`, :func:`default_export_path`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from ..errors import E2CError
from ..i18n import _
from .core import (
    _INVALID_KINDS,
    DEFAULT_SEED,
    DEFAULT_YEARS,
    SynthExport,
    _settings,
)
from .identifiers import _identifier_columns
from .mess import _plant_invalid_rows, _render_columns, _school_habits, _string_frame
from .network import network_geography
from .truth import (
    _MASKED_COLUMNS,
    _draw_parcours,
    _draw_positive_exits,
    _draw_sites,
    _draw_trainees,
    _truth,
    _truth_rows,
)

__all__ = ["generate_export"]


def generate_export(
    seed: int = DEFAULT_SEED,
    years: tuple[int, ...] = DEFAULT_YEARS,
    trainees_per_year: int = 15_000,
    *,
    messy: bool = True,
    site_sd: float = 0.3,
    planted: bool = True,
    n_planted: int = 3,
    planted_effect: float = 1.0,
    target_positive_rate: float = 0.60,
    coefficients: dict[str, float] | None = None,
    unknown_share: float = 0.03,
    missing_share: float = 0.03,
    invalid_share: float = 0.015,
    duplicate_share: float = 0.005,
    identifiers: bool = True,
    label_noise: float = 0.05,
    birth_dates: str = "mixed",
    extraction_date: str | None = None,
) -> SynthExport:
    """Generate a synthetic national export with a known positive-exit model.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; same seed and settings give the
        same export, byte for byte.
    years : tuple of int
        Cohort (entry) years; the first is the reference of ``cohort_year``.
    trainees_per_year : int
        Trainees entering each year (the network has about 15,000).
    messy : bool
        Reproduce the mess of real exports (label variants, mixed formats,
        invalid rows, duplicates, identifier columns). ``False`` gives a tidy
        export with canonical French labels and dd/mm/yyyy dates.
    site_sd : float
        Standard deviation of the site random intercepts (logit scale); 0 for none.
    planted : bool
        Plant ``n_planted`` clearly better and ``n_planted`` clearly worse
        sites, with ``u_site = +/- planted_effect``, among the larger sites.
    target_positive_rate : float
        Mean probability of a positive exit; the intercept is solved to reach it.
    coefficients : dict, optional
        Overrides of the default coefficients, by neutral name.
    unknown_share : float
        Share of exits whose outcome is made unknown at random (besides the
        exits too recent to be known at the extraction date).
    missing_share : float
        Scale of the MCAR covariate missingness (0.03 gives 2-5 % by column).
    invalid_share, duplicate_share : float
        Share of invalid rows (one problem each) and of exact duplicates
        (only when ``messy``).
    identifiers : bool
        Add the fake identifier columns (only when ``messy``).
    label_noise : float
        Share of categorical cells written with a random spelling (only when ``messy``).
    birth_dates : {'mixed', 'year', 'column'}
        'mixed': some schools (when ``messy``) write a full birth date in
        ``annee_naissance``; 'year': years only; 'column': the export has an
        exact ``date_naissance`` column instead of ``annee_naissance``.
    extraction_date : str, optional
        Date of the export (ISO); default 31 March after the last cohort year.
        Later exits are still in the programme.

    Returns
    -------
    SynthExport
        ``raw`` (the export), ``truth`` (dict) and ``rows`` (per-row truth).
    """
    settings = _settings(generate_export, locals())
    years = tuple(sorted({int(y) for y in years}))
    if not years or trainees_per_year < 1:
        raise E2CError(_("generate_export : il faut au moins une année et un stagiaire par an."))
    if birth_dates not in ("mixed", "year", "column"):
        raise E2CError(
            _(
                "generate_export : birth_dates={birth_dates!r} ; valeurs possibles : mixed, year, column.",
                birth_dates=birth_dates,
            )
        )
    rng = np.random.default_rng(seed)
    geo = network_geography()
    n_schools = int(geo["school_index"].max()) + 1
    extraction = np.datetime64(extraction_date or f"{years[-1] + 1}-03-31", "D")
    # The data-generating process (truth.py), then the rendering of the mess (mess.py): the steps run in
    # this order because each draws from the same generator.
    sites = _draw_sites(rng, geo, n_schools)
    x = _draw_trainees(rng, geo, sites, years, trainees_per_year)
    model = _draw_positive_exits(
        rng,
        geo,
        sites,
        x,
        years,
        coefficients=coefficients,
        site_sd=site_sd,
        planted=planted,
        n_planted=n_planted,
        planted_effect=planted_effect,
        target_positive_rate=target_positive_rate,
    )
    parcours = _draw_parcours(rng, x, sites, model["positive"], extraction, unknown_share)
    scale = missing_share / 0.03  # MCAR masking, after the outcome is drawn
    masked = {col: rng.random(x["n"]) < share * scale for col, share in _MASKED_COLUMNS.items()}
    truth_rows = _truth_rows(geo, x, model, parcours)
    habits_options = {"birth_dates": birth_dates, "label_noise": label_noise, "identifiers": identifiers}
    shares = {"invalid": invalid_share, "duplicate": duplicate_share}
    raw, rows, invalid_counts, id_cols = _render_export(
        rng, geo, n_schools, {**x, **parcours}, masked, truth_rows, messy, habits_options, shares
    )
    truth = _truth(
        settings=settings,
        seed=seed,
        model=model,
        site_sd=site_sd,
        geo=geo,
        planted_effect=planted_effect if planted else 0.0,
        rows=rows,
        region_names=x["region_names"],
        years=years,
        extraction=extraction,
        invalid_counts=invalid_counts,
        id_cols=list(id_cols),
        masked_shares={k: round(v * scale, 4) for k, v in _MASKED_COLUMNS.items()},
    )
    return SynthExport(raw=raw, truth=truth, rows=rows)


_EXPORT_ARRAYS = (
    "site school year entry male birth education qpv rural disability nationality referrer company_days "
    "internships esf exit_day exited reason s_date e_date f_date"
).split()


def _render_export(rng, geo, n_schools, x, masked, truth_rows, messy, options, shares):
    """Sort the trainees in export order, write them as the schools do, plant invalid rows and duplicates.

    Returns the raw export, the per-row truth, the invalid-row counts by kind and the identifier columns.
    """
    n = x["n"]
    order = np.lexsort((rng.random(n), x["entry"], x["school"]))  # by school, then entry date
    y = {k: x[k][order] for k in _EXPORT_ARRAYS}
    y["masked"] = {k: v[order] for k, v in masked.items()}
    truth_rows = truth_rows.iloc[order].reset_index(drop=True)
    habits = _school_habits(rng, n_schools, messy)
    if options["birth_dates"] != "mixed":
        habits["birth_date"] = np.full(n_schools, int(options["birth_dates"] == "column"))
    cols = _render_columns(rng, geo, habits, messy, options["label_noise"] if messy else 0.0, y)
    id_cols = (
        _identifier_columns(rng, n, y["male"], y["birth"], y["school"], habits)
        if (messy and options["identifiers"])
        else {}
    )
    invalid_counts = dict.fromkeys(_INVALID_KINDS, 0)
    if messy and shares["invalid"] > 0:  # one problem each
        groups = _plant_invalid_rows(
            rng,
            cols,
            int(round(shares["invalid"] * n)),
            exited=y["exited"],
            entry=y["entry"],
            year=y["year"],
            school=y["school"],
            habits=habits,
        )
        for kind, g in groups.items():
            truth_rows.loc[g, "row_status"] = kind
            invalid_counts[kind] = int(g.size)
    truth_rows["id_stagiaire"] = cols["id_stagiaire"]
    origin = np.arange(n)  # exact duplicates of valid rows, each right after its original (a double entry)
    if messy and shares["duplicate"] > 0:
        valid = np.flatnonzero(truth_rows["row_status"].to_numpy() == "valid")
        copies = rng.choice(valid, size=int(round(shares["duplicate"] * n)), replace=False)
        origin = np.sort(np.concatenate([origin, copies]))
    names = [c.name for c in schema.RAW_COLUMNS if c.name in cols]
    raw = _string_frame({**{name: cols[name] for name in names}, **id_cols}, origin)
    if options["birth_dates"] == "column":
        raw = raw.rename(columns={"annee_naissance": "date_naissance"})
    rows = truth_rows.iloc[origin].reset_index(drop=True)
    rows.loc[pd.Series(origin).duplicated().to_numpy(), "row_status"] = "duplicate"
    rows.insert(0, "source_row", np.arange(1, len(rows) + 1))
    return raw, rows, invalid_counts, id_cols


# --------------------------------------------------------------------------
# Column writers
