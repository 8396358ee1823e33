"""Seeded synthetic trainee exports with a known data-generating process.

The generator writes what a national E2C export looks like (the raw contract of
:mod:`toolkit.schema`, French headers, every value a string) and keeps the
truth beside it, so that cleaning, indicators and models can be tested against
known answers.

The data-generating process
---------------------------
* A fixed, fictitious network: 13 regions (12 metropolitan and La Réunion),
  55 schools, 156 sites. Site sizes, intake mix and school habits (date format,
  label spellings...) are drawn from the seed.
* Trainee profiles calibrated on ``/work/shared/domain.md``: about 50 % women,
  ages 16-30 (about a quarter minors), 33 % QPV, 10 % rural, 12 % non-EU,
  2 % EU, 5 % RQTH, about 90 % below CAP/BEP, referred mostly by the Mission
  locale. Entries all year round; a parcours lasts about 6 months.
* Positive exit (the project definition) drawn for every trainee from::

      logit P(positive_exit) = intercept + sum_k beta_k x_k + u_site

  with neutral covariate names (``sex[M]``, ``age_at_entry``,
  ``education_level[niveau_3]``... ``cohort_year[<year>]``, ``region[<name>]``),
  site random intercepts ``u_site ~ N(0, site_sd)`` and a few planted sites set
  to +/- ``planted_effect``. The intercept is solved so that the mean
  probability is ``target_positive_rate``.
* The drawn outcome is written into ``motif_sortie`` and the situation dates so
  that :func:`toolkit.definitions.positive_exit` ('projet') gives it back
  exactly, for every exit whose outcome is known. Some exits have an unknown
  outcome: a few percent at random (planted) and the exits too recent for the
  situation to have been confirmed at the extraction date (censored); both are
  independent of the outcome given the covariates.
* Covariates are then masked completely at random (MCAR), so complete-case fits
  stay unbiased.
* ``messy=True`` adds the mess of real exports: label variants, old region names
  and INSEE codes, old and new education levels, mixed date formats, decimal
  commas, boolean spellings, invalid rows, exact duplicates and identifier
  columns with fake values (``nom``, ``prenom``, ``email``, ``telephone``,
  ``num_secu``).

Fake identifiers are built so that they cannot belong to anyone: random
first-name/surname pairs, e-mails at the reserved ``example.*`` domains, phone
numbers in the ARCEP range reserved for fiction (06 39 98 xx xx), and
NIR-like numbers with a valid key but a "born abroad" country code (99 9xx)
that INSEE does not use.
"""

from __future__ import annotations

import inspect
import json
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import brentq
from scipy.special import expit

from . import schema
from .config import SYNTH_DATA_DIR
from .errors import E2CError

__all__ = [
    "SynthExport",
    "GENERATOR_VERSION",
    "DEFAULT_SEED",
    "DEFAULT_YEARS",
    "DEFAULT_EXPORT_NAME",
    "network_geography",
    "generate_export",
    "generate_comparison",
    "write_export",
    "default_export_path",
    "COMPARISON_COVARIATES",
]

GENERATOR_VERSION = "4"  # bump when the output for a given seed and settings changes
DEFAULT_SEED = 2024
DEFAULT_YEARS: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023, 2024)
DEFAULT_EXPORT_NAME = "export_e2c_synthetique"
NAT = np.datetime64("NaT", "D")


@dataclass
class SynthExport:
    """A synthetic export and its truth.

    Attributes
    ----------
    raw : DataFrame
        The export in the raw contract: French headers, every value a string
        (missing = NA), rows in export order (``source_row`` = position + 1).
    truth : dict
        JSON-safe description of the data-generating process and of what was
        planted: ``intercept``, ``coefficients``, ``site_sd``, ``site_effects``,
        ``planted_sites``, ``seed``, ``settings``, ``counts``...
    rows : DataFrame
        One row per raw row: ``source_row``, ``id_stagiaire``, ``row_status``
        ('valid', 'duplicate' or the invalid kind), ``outcome_status``
        ('in_programme', 'known', 'unknown_planted', 'unknown_censored'),
        ``unknown_kind``, ``positive_drawn`` (the Bernoulli draw),
        ``positive_exit`` (the value cleaning must recover: the draw when known,
        else NA), ``p_true``, and the true (unmasked) covariates.
    """

    raw: pd.DataFrame
    truth: dict
    rows: pd.DataFrame


# --------------------------------------------------------------------------
# The fictitious network: region | school | pre-2016 region | sites (towns)
# --------------------------------------------------------------------------
_GEOGRAPHY = """
Auvergne-Rhône-Alpes | E2C Grand Clermont | Auvergne | Clermont-Ferrand, Vichy, Thiers, Issoire
Auvergne-Rhône-Alpes | E2C Lyon Métropole | Rhône-Alpes | Lyon, Vénissieux, Villeurbanne, Vaulx-en-Velin
Auvergne-Rhône-Alpes | E2C Loire Forez | Rhône-Alpes | Saint-Étienne, Roanne, Firminy
Auvergne-Rhône-Alpes | E2C Isère Dauphiné | Rhône-Alpes | Grenoble, Vienne, Voiron
Auvergne-Rhône-Alpes | E2C Savoie Léman | Rhône-Alpes | Chambéry, Annecy
Auvergne-Rhône-Alpes | E2C Drôme Ardèche | Rhône-Alpes | Valence, Montélimar
Bourgogne-Franche-Comté | E2C Bourgogne Nord | Bourgogne | Dijon, Auxerre, Sens
Bourgogne-Franche-Comté | E2C Doubs Territoire | Franche-Comté | Besançon, Montbéliard, Belfort
Bourgogne-Franche-Comté | E2C Saône Mâconnais | Bourgogne | Chalon-sur-Saône, Mâcon
Bretagne | E2C Haute-Bretagne | | Rennes, Saint-Brieuc, Saint-Malo
Bretagne | E2C Finistère Iroise | | Brest, Quimper
Centre-Val de Loire | E2C Orléanais | Centre | Orléans, Blois, Montargis
Centre-Val de Loire | E2C Touraine Berry | Centre | Tours, Bourges, Châteauroux
Centre-Val de Loire | E2C Eure-et-Loir | Centre | Chartres, Dreux
Grand Est | E2C Alsace Rhin | Alsace | Strasbourg, Mulhouse, Colmar
Grand Est | E2C Moselle Nord | Lorraine | Metz, Thionville, Forbach
Grand Est | E2C Lorraine Sud | Lorraine | Nancy, Épinal
Grand Est | E2C Champagne Ardenne | Champagne-Ardenne | Reims, Troyes, Charleville-Mézières
Grand Est | E2C Meuse Haute-Marne | Lorraine | Verdun, Saint-Dizier, Chaumont
Hauts-de-France | E2C Grand Lille | Nord-Pas-de-Calais | Lille, Roubaix, Tourcoing, Villeneuve-d'Ascq
Hauts-de-France | E2C Artois Gohelle | Nord-Pas-de-Calais | Lens, Béthune, Arras
Hauts-de-France | E2C Côte d'Opale | Nord-Pas-de-Calais | Calais, Boulogne-sur-Mer, Dunkerque
Hauts-de-France | E2C Hainaut Sambre | Nord-Pas-de-Calais | Valenciennes, Maubeuge, Denain
Hauts-de-France | E2C Somme Picardie | Picardie | Amiens, Abbeville
Hauts-de-France | E2C Oise Vallées | Picardie | Beauvais, Creil, Compiègne
Hauts-de-France | E2C Aisne Thiérache | Picardie | Saint-Quentin, Soissons
Île-de-France | E2C Paris Nord-Est | | Paris 19e, Paris 13e, Paris 18e
Île-de-France | E2C Seine-Saint-Denis Avenir | | Saint-Denis, Clichy-sous-Bois, Bobigny, Aubervilliers
Île-de-France | E2C Val-de-Marne Bords de Seine | | Créteil, Champigny-sur-Marne, Vitry-sur-Seine
Île-de-France | E2C Essonne Centre | | Évry-Courcouronnes, Grigny, Massy
Île-de-France | E2C Yvelines Seine Aval | | Mantes-la-Jolie, Trappes, Les Mureaux
Île-de-France | E2C Val-d'Oise Cergy | | Cergy, Sarcelles, Argenteuil
Île-de-France | E2C Seine-et-Marne Brie | | Meaux, Melun, Torcy
Normandie | E2C Vallée de Seine | Haute-Normandie | Rouen, Le Havre, Évreux
Normandie | E2C Calvados Pays d'Auge | Basse-Normandie | Caen, Lisieux
Normandie | E2C Cotentin Bocage | Basse-Normandie | Cherbourg-en-Cotentin, Alençon, Saint-Lô
Nouvelle-Aquitaine | E2C Gironde Estuaire | Aquitaine | Bordeaux, Libourne, Lormont
Nouvelle-Aquitaine | E2C Limousin Vienne | Limousin | Limoges, Brive-la-Gaillarde
Nouvelle-Aquitaine | E2C Poitou Marais | Poitou-Charentes | Poitiers, Châtellerault, Niort
Nouvelle-Aquitaine | E2C Charentes Océan | Poitou-Charentes | Angoulême, La Rochelle
Nouvelle-Aquitaine | E2C Adour Béarn | Aquitaine | Pau, Bayonne, Mont-de-Marsan
Occitanie | E2C Toulouse Garonne | Midi-Pyrénées | Toulouse, Colomiers
Occitanie | E2C Hérault Littoral | Languedoc-Roussillon | Montpellier, Béziers, Sète
Occitanie | E2C Gard Cévennes | Languedoc-Roussillon | Nîmes, Alès
Occitanie | E2C Pyrénées Méditerranée | Languedoc-Roussillon | Perpignan, Narbonne, Carcassonne
Occitanie | E2C Quercy Tarn Bigorre | Midi-Pyrénées | Montauban, Albi, Tarbes, Rodez
Pays de la Loire | E2C Estuaire de la Loire | | Nantes, Saint-Nazaire, Rezé
Pays de la Loire | E2C Maine Mayenne | | Le Mans, Laval
Pays de la Loire | E2C Anjou Vendée | | Angers, Cholet, La Roche-sur-Yon
Provence-Alpes-Côte d'Azur | E2C Marseille Provence | | Marseille 3e, Marseille 14e, Marseille 15e, Aubagne
Provence-Alpes-Côte d'Azur | E2C Var Méditerranée | | Toulon, La Seyne-sur-Mer, Draguignan
Provence-Alpes-Côte d'Azur | E2C Riviera Côte d'Azur | | Nice, Cannes, Grasse
Provence-Alpes-Côte d'Azur | E2C Vaucluse Ventoux | | Avignon, Carpentras
Provence-Alpes-Côte d'Azur | E2C Pays d'Arles Crau | | Arles, Salon-de-Provence
La Réunion | E2C Réunion Océan Indien | | Saint-Denis, Le Port, Saint-Pierre, Saint-Benoît
"""

# Share of trainees by region (sums to 1): larger where the network is larger.
_REGION_SHARES = {
    "Auvergne-Rhône-Alpes": 0.11,
    "Bourgogne-Franche-Comté": 0.04,
    "Bretagne": 0.03,
    "Centre-Val de Loire": 0.04,
    "Grand Est": 0.09,
    "Hauts-de-France": 0.13,
    "Île-de-France": 0.14,
    "Normandie": 0.05,
    "Nouvelle-Aquitaine": 0.08,
    "Occitanie": 0.10,
    "Pays de la Loire": 0.04,
    "Provence-Alpes-Côte d'Azur": 0.10,
    "La Réunion": 0.05,
}


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _of_town(town: str) -> str:
    """'de Vichy', "d'Issoire", 'du Havre', 'des Mureaux' (French elision and contraction)."""
    if town.startswith("Le "):
        return "du " + town[3:]
    if town.startswith("Les "):
        return "des " + town[4:]
    if _strip_accents(town[0]).upper() in "AEIOUY":
        return "d'" + town
    return "de " + town


def _site_label(school: str, town: str) -> str:
    """'E2C Grand Clermont – site de Vichy'."""
    return f"{school} – site {_of_town(town)}"


@lru_cache(maxsize=1)
def network_geography() -> pd.DataFrame:
    """The fixed fictitious network, one row per site.

    Returns
    -------
    DataFrame
        ``region`` (official 2016 name), ``former_region`` (pre-2016 region of
        the school, '' when the region was not merged), ``school``, ``site``
        (``"<school> – site de <town>"``), ``town``, ``main_site`` (first site
        of the school), ``school_index``, ``region_share`` (share of the
        national intake).
    """
    records = []
    for school_index, line in enumerate(ln for ln in _GEOGRAPHY.strip().splitlines() if ln.strip()):
        region, school, former, towns = (part.strip() for part in line.split("|"))
        for k, town in enumerate(t.strip() for t in towns.split(",")):
            records.append((region, former, school, _site_label(school, town), town, k == 0, school_index))
    geo = pd.DataFrame(
        records, columns=["region", "former_region", "school", "site", "town", "main_site", "school_index"]
    )
    geo["region_share"] = geo["region"].map(_REGION_SHARES)
    return geo


# --------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------
def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """``days + months`` calendar months, clipped to the month end (as pandas DateOffset)."""
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    month_length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day_of_month, month_length - 1)
    return np.where(np.isnat(days), NAT, out)


def _draw(rng: np.random.Generator, probs, size: int) -> np.ndarray:
    """Categorical draw: indices 0..len(probs)-1 with the given (normalised) weights."""
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _bernoulli(rng: np.random.Generator, p, size: int) -> np.ndarray:
    return rng.random(size) < p


_DATE_BASE = np.datetime64("1940-01-01", "D")


_DATE_STYLES = ("dmy", "iso", "excel_serial")  # dd/mm/yyyy, yyyy-mm-dd, Excel serial (days since 1899-12-30)


@lru_cache(maxsize=1)
def _date_strings() -> np.ndarray:
    """Every day 1940-2045 in each date style, shape (3, days) (formatting by lookup is fast)."""
    days = pd.date_range("1940-01-01", "2045-12-31", freq="D")
    serial = (days.to_numpy().astype("datetime64[D]") - np.datetime64("1899-12-30", "D")).astype(np.int64)
    return np.stack(
        [
            np.asarray(days.strftime("%d/%m/%Y"), dtype=object),
            np.asarray(days.strftime("%Y-%m-%d"), dtype=object),
            np.asarray([str(v) for v in serial], dtype=object),
        ]
    )


@lru_cache(maxsize=1)
def _year_strings() -> np.ndarray:
    return np.asarray([str(y) for y in range(3000)], dtype=object)


def _format_dates(days: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Dates as text in each row's style (index into ``_DATE_STYLES``); NaT gives None."""
    out = np.full(days.shape, None, dtype=object)
    ok = ~np.isnat(days)
    out[ok] = _date_strings()[style[ok], (days[ok] - _DATE_BASE).astype(np.int64)]
    return out


def _string_frame(columns: dict[str, np.ndarray], order: np.ndarray | None = None) -> pd.DataFrame:
    """Object arrays of str/None to a DataFrame of pandas strings, rows taken in ``order``.

    Going through pyarrow directly is about three times faster than ``astype('str')``.
    """
    take = None if order is None else pa.array(order)
    out = {}
    for name, values in columns.items():
        arrow = values if isinstance(values, pa.Array) else pa.array(values, type=pa.large_string(), from_pandas=True)
        out[name] = pd.array(arrow if take is None else arrow.take(take), dtype="str")
    return pd.DataFrame(out)


def _lookup_strings(values: np.ndarray, table: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = table[values]
    if missing is not None and missing.any():
        out = out.copy()
        out[missing] = None
    return out


def _messy_forms(variants) -> list[str]:
    """Spellings of each variant as found in exports: case, accents, stray spaces."""
    forms = []
    for v in variants:
        forms += [v, v.upper(), v.lower(), _strip_accents(v), f" {v}", f"{v} ", f"{v}  "]
    return list(dict.fromkeys(forms))


def _render(codes: np.ndarray, styles: np.ndarray, table, rng, noise: float = 0.0, noise_pools=None) -> np.ndarray:
    """Labels for integer codes (-1 = missing) under per-row styles.

    ``table[style][code]`` is a list of candidate labels (repeat one to weight
    it); with probability ``noise`` a cell gets any spelling from
    ``noise_pools[code]`` instead.
    """
    out = np.full(codes.shape, None, dtype=object)
    for s, per_code in enumerate(table):
        in_style = styles == s
        for c, labels in enumerate(per_code):
            sel = np.flatnonzero(in_style & (codes == c))
            if sel.size:
                out[sel] = np.asarray(labels, dtype=object)[rng.integers(len(labels), size=sel.size)]
    if noise > 0 and noise_pools is not None:
        noisy = (codes >= 0) & (rng.random(codes.size) < noise)
        for c, pool in enumerate(noise_pools):
            sel = np.flatnonzero(noisy & (codes == c))
            if sel.size:
                out[sel] = np.asarray(pool, dtype=object)[rng.integers(len(pool), size=sel.size)]
    return out


# --------------------------------------------------------------------------
# Profile, outcome model and exit mix (calibrated on domain.md)
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
# --------------------------------------------------------------------------
_SEX_STYLES = [  # (F label, M label), weights
    (("F", "M"), 0.45),
    (("F", "H"), 0.15),
    (("Femme", "Homme"), 0.2),
    (("2", "1"), 0.1),
    (("Féminin", "Masculin"), 0.1),
]
_BOOL_STYLES = [
    (("oui", "non"), 0.25),
    (("Oui", "Non"), 0.25),
    (("OUI", "NON"), 0.1),
    (("O", "N"), 0.15),
    (("1", "0"), 0.15),
    (("vrai", "faux"), 0.05),
    (("Vrai", "Faux"), 0.03),
    (("yes", "no"), 0.02),
]
_EDUCATION_STYLE_LABELS = {  # style -> code -> candidate labels
    "old": [["VI", "V bis", "Infra V", "Vbis", "VI"], ["V", "Niveau V"], ["IV", "Niveau IV"], ["III", "Niveau III"]],
    "new": [["Niveau 2", "Niveau 2", "Niveau 1", "Infra 3"], ["Niveau 3"], ["Niveau 4"], ["Niveau 5", "Niveau 6"]],
    "words": [
        ["Sans diplôme", "Sans diplôme", "Brevet", "CFG", "Aucun diplôme", "Brevet des collèges"],
        ["CAP", "BEP", "CAP/BEP"],
        ["Bac", "Baccalauréat", "Bac pro"],
        ["BTS", "Licence", "Bac+2"],
    ],
}
_NATIONALITY_STYLE_LABELS = [
    [["Française"], ["UE"], ["Hors UE"]],
    [["Français", "France"], ["Portugal", "Roumanie", "Espagne", "Italie", "Belgique", "Pologne"], ["Pays tiers"]],
    [["FR"], ["Union européenne"], ["Hors-UE"]],
]
_REFERRER_STYLE_LABELS = [
    [
        ["Mission locale"],
        ["France Travail"],
        ["Candidature spontanée"],
        ["PLIE"],
        ["Autre", "Cap emploi", "ASE", "PJJ", "Association", "Service social"],
    ],
    [
        ["ML"],
        ["Pôle emploi", "Pôle emploi", "France Travail"],
        ["Spontané", "Spontanée", "Bouche à oreille"],
        ["PLIE"],
        ["Autres", "Éducation nationale", "SPIP"],
    ],
]


def _school_habits(rng, n_schools: int, messy: bool) -> dict[str, np.ndarray]:
    """How each school's information system writes things (all zeros = tidy export)."""
    if not messy:
        zeros = np.zeros(n_schools, dtype=np.int64)
        return {
            k: zeros
            for k in (
                "region",
                "sex",
                "bool",
                "edu",
                "nationality",
                "referrer",
                "id",
                "date_style",
                "decimal_dot",
                "birth_date",
                "phone",
                "nir",
            )
        } | {"edu_switch": zeros + 9999}
    habits = {
        "region": _draw(rng, (0.55, 0.10, 0.10, 0.20, 0.05), n_schools),
        "sex": _draw(rng, [w for _, w in _SEX_STYLES], n_schools),
        "bool": _draw(rng, [w for _, w in _BOOL_STYLES], n_schools),
        "edu": _draw(rng, (0.6, 0.4), n_schools),  # 0: old levels then new ones, 1: words
        "edu_switch": rng.integers(2019, 2024, size=n_schools),  # year the school adopted the 2019 nomenclature
        "nationality": _draw(rng, (0.6, 0.25, 0.15), n_schools),
        "referrer": _draw(rng, (0.6, 0.4), n_schools),
        "id": _draw(rng, (0.5, 0.3, 0.2), n_schools),
        "date_style": _draw(rng, (0.80, 0.15, 0.05), n_schools),
        "decimal_dot": (rng.random(n_schools) < 0.2).astype(np.int64),
        "birth_date": (rng.random(n_schools) < 0.1).astype(np.int64),
        "phone": (rng.random(n_schools) < 0.3).astype(np.int64),
        "nir": (rng.random(n_schools) < 0.1).astype(np.int64),
    }
    return habits


def _region_labels(geo: pd.DataFrame, style: np.ndarray) -> list[list[str]]:
    """Candidate region labels per site, following its school's habit."""
    by_name = {r.name: r for r in schema.REGIONS}
    labels = []
    for region, former, school_style in zip(geo["region"], geo["former_region"], style[geo["school_index"]]):
        r = by_name[region]
        if school_style == 1:
            labels.append(
                [_strip_accents(region).upper(), region.upper(), _strip_accents(region), region.replace("-", " ")]
            )
        elif school_style == 2:
            labels.append([r.insee, r.insee.lstrip("0")] if r.insee.startswith("0") else [r.insee])
        elif school_style == 3 and former:
            labels.append([former])
        elif school_style == 4 and (r.extra_aliases or r.slug):
            labels.append([*(r.extra_aliases or ()), r.slug])
        else:
            labels.append([region])
    return labels


def _region_noise_pools(geo: pd.DataFrame) -> list[list[str]]:
    """Any spelling of each site's region: 2016 name, INSEE code, slug, pre-2016 names, abbreviations."""
    by_name = {r.name: r for r in schema.REGIONS}
    return [
        _messy_forms([r.name, r.name.replace("-", " "), r.insee, r.slug, *r.former, *r.extra_aliases])
        for r in (by_name[name] for name in geo["region"])
    ]


_FIRST_NAMES_F = (
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Camille",
    "Inès",
    "Sarah",
    "Jade",
    "Lina",
    "Océane",
    "Laura",
    "Clara",
    "Yasmine",
    "Fatoumata",
    "Aïcha",
    "Nour",
    "Maëlys",
    "Lou",
    "Anaïs",
    "Mélissa",
    "Kenza",
    "Louna",
    "Wendy",
    "Marine",
    "Justine",
    "Amandine",
    "Cindy",
    "Héloïse",
    "Salomé",
    "Zoé",
)
_FIRST_NAMES_M = (
    "Lucas",
    "Enzo",
    "Nathan",
    "Mathis",
    "Hugo",
    "Théo",
    "Louis",
    "Yanis",
    "Kylian",
    "Rayan",
    "Mohamed",
    "Adam",
    "Ethan",
    "Noah",
    "Gabriel",
    "Jules",
    "Maël",
    "Sacha",
    "Bilal",
    "Ibrahim",
    "Mamadou",
    "Kevin",
    "Dylan",
    "Anthony",
    "Jordan",
    "Jérémy",
    "Loïc",
    "Samuel",
    "Axel",
    "Mehdi",
)
_SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Diallo",
    "Traoré",
    "Benali",
    "Haddad",
    "Nguyen",
    "Da Silva",
    "Ferreira",
    "Hoarau",
    "Payet",
    "Grondin",
)


_SEP = {sep: pa.scalar(sep, type=pa.large_string()) for sep in ("", " ")}


def _identifier_columns(rng, n, male, birth, school, habits) -> dict[str, pa.Array]:
    """Fake direct identifiers that a careless export would carry (never real people).

    Built with pyarrow string kernels (table lookups and element-wise joins):
    at 1,000,000 rows Python string concatenation would dominate the run time.
    """

    def table(values) -> pa.Array:
        return pa.array(list(values), type=pa.large_string())

    def pick(values, idx) -> pa.Array:
        return table(values).take(pa.array(idx))

    firsts = [*_FIRST_NAMES_F, *_FIRST_NAMES_M]
    first_idx = np.where(
        male, len(_FIRST_NAMES_F) + rng.integers(len(_FIRST_NAMES_M), size=n), rng.integers(len(_FIRST_NAMES_F), size=n)
    )
    s_idx = rng.integers(len(_SURNAMES), size=n) + np.where(rng.random(n) < 0.5, len(_SURNAMES), 0)
    first = pick(firsts, first_idx)
    surname = pick([*_SURNAMES, *(x.upper() for x in _SURNAMES)], s_idx)
    ascii_first = pick([_strip_accents(x).lower() for x in firsts], first_idx)
    ascii_last = pick(["." + _strip_accents(x).lower().replace(" ", "") for x in _SURNAMES] * 2, s_idx)
    digits = pick([f"{i:02d}" for i in range(100)] + [""] * 100, rng.integers(200, size=n))
    domain = pick(["@example.com", "@example.org", "@example.net"], rng.integers(3, size=n))
    email = pc.binary_join_element_wise(ascii_first, ascii_last, digits, domain, _SEP[""])

    two = [f"{i:02d}" for i in range(100)]
    prefix = pick(["06 39 98", "+33 6 39 98"], (rng.random(n) >= 0.7).astype(np.int64))
    phone = pc.binary_join_element_wise(
        prefix, pick(two, rng.integers(100, size=n)), pick(two, rng.integers(100, size=n)), _SEP[" "]
    )
    none = pa.scalar(None, type=pa.large_string())
    phone = pc.if_else(pa.array(habits["phone"][school] == 1), phone, none)

    # NIR-like: sex, yy, mm, "99" + country code 9xx (unused by INSEE), order, valid key.
    mm = rng.integers(1, 13, size=n)
    body = (
        (np.where(male, 1, 2).astype(np.int64) * 10**12)
        + (birth % 100) * 10**10
        + mm * 10**8
        + 99 * 10**6
        + rng.integers(900, 990, size=n) * 10**3
        + rng.integers(1, 1000, size=n)
    )
    key = 97 - body % 97  # 1..97
    nir = pc.binary_join_element_wise(
        pc.cast(pa.array(body), pa.large_string()), pick([f"{i:02d}" for i in range(98)], key), _SEP[""]
    )
    nir = pc.if_else(pa.array(habits["nir"][school] == 1), nir, none)
    return {"nom": surname, "prenom": first, "email": email, "telephone": phone, "num_secu": nir}


def _render_columns(
    rng,
    geo,
    habits,
    messy,
    noise,
    *,
    site,
    school,
    year,
    entry,
    male,
    birth,
    education,
    qpv,
    rural,
    disability,
    nationality,
    referrer,
    company_days,
    internships,
    esf,
    masked,
    exit_day,
    reason,
    s_date,
    e_date,
    f_date,
) -> dict[str, np.ndarray]:
    """The raw-contract columns as each school's information system writes them (object arrays)."""
    n = site.size
    date_style = habits["date_style"][school]
    cols: dict[str, np.ndarray] = {}
    cols["id_stagiaire"] = _trainee_ids(geo, school, year, entry, habits)
    cols["region"] = _render(
        site, np.zeros(n, dtype=np.int64), [_region_labels(geo, habits["region"])], rng, noise, _region_noise_pools(geo)
    )
    cols["ecole"] = geo["school"].to_numpy(dtype=object)[site]
    cols["site"] = geo["site"].to_numpy(dtype=object)[site]
    sex_table = [[[f], [m]] for (f, m), _ in _SEX_STYLES]
    cols["sexe"] = _render(
        male.astype(np.int64),
        habits["sex"][school],
        sex_table,
        rng,
        noise,
        [_messy_forms(schema.SEX_VARIANTS[c]) for c in schema.SEX_CODES],
    )
    birth_day = (birth - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, size=n)
    birth_style = np.minimum(date_style, 1)  # a full birth date is written dd/mm/yyyy or yyyy-mm-dd
    cols["annee_naissance"] = np.where(
        habits["birth_date"][school] == 1, _format_dates(birth_day, birth_style), _year_strings()[birth]
    )
    edu_style = np.where(habits["edu"][school] == 1, 2, np.where(year < habits["edu_switch"][school], 0, 1))
    if not messy:
        edu_style[:] = 1
    edu_codes = np.where(masked["education_level"], -1, education)
    cols["niveau_formation"] = _render(
        edu_codes,
        edu_style,
        [_EDUCATION_STYLE_LABELS[k] for k in ("old", "new", "words")],
        rng,
        noise,
        [_messy_forms(schema.EDUCATION_VARIANTS[c]) for c in schema.EDUCATION_LEVELS],
    )
    bool_table = [[[f], [t]] for (t, f), _ in _BOOL_STYLES]
    bool_pools = [_messy_forms(["non", "Non", "N", "0", "faux", "NON"]), _messy_forms(["oui", "Oui", "O", "1", "vrai"])]
    for raw_name, values, canon in (
        ("qpv", qpv, "qpv"),
        ("zone_rurale", rural, "rural"),
        ("rqth", disability, "disability"),
    ):
        codes = np.where(masked[canon], -1, values.astype(np.int64))
        cols[raw_name] = _render(codes, habits["bool"][school], bool_table, rng, noise, bool_pools)
    nat_codes = np.where(masked["nationality"], -1, nationality)
    cols["nationalite"] = _render(
        nat_codes,
        habits["nationality"][school],
        _NATIONALITY_STYLE_LABELS,
        rng,
        noise,
        [_messy_forms(schema.NATIONALITY_VARIANTS[c][:7]) for c in schema.NATIONALITY_CODES],
    )
    ref_codes = np.where(masked["referrer"], -1, referrer)
    cols["prescripteur"] = _render(
        ref_codes,
        habits["referrer"][school],
        _REFERRER_STYLE_LABELS,
        rng,
        noise,
        [_messy_forms(schema.REFERRER_VARIANTS[c]) for c in schema.REFERRER_CODES],
    )
    cols["date_entree"] = _format_dates(entry, date_style)
    cols["date_sortie"] = _format_dates(exit_day, date_style)
    cols["motif_sortie"] = _exit_labels(reason, rng, noise, messy)
    cols["date_debut_situation"] = _format_dates(s_date, date_style)
    cols["date_fin_situation"] = _format_dates(e_date, date_style)
    cols["date_suivi"] = _format_dates(f_date, date_style)
    cols["semaines_entreprise"] = _weeks_strings(
        company_days, habits["decimal_dot"][school] == 1, masked["weeks_in_company"]
    )
    cols["nb_stages"] = _lookup_strings(
        internships, np.asarray([str(i) for i in range(21)], dtype=object), masked["n_internships"]
    )
    esf_codes = np.where(masked["esf_cofunded"], -1, esf.astype(np.int64))
    cols["cofinancement_fse"] = _render(esf_codes, habits["bool"][school], bool_table, rng, noise, bool_pools)
    return cols


def _plant_invalid_rows(rng, cols, n_invalid, *, exited, entry, year, school, habits) -> dict[str, np.ndarray]:
    """Break ``n_invalid`` rows in place, one problem each, in equal shares of the kinds cleaning rejects.

    Returns the row indices by kind.
    """
    n = entry.size
    per_kind = np.full(len(_INVALID_KINDS), n_invalid // len(_INVALID_KINDS))
    per_kind[: n_invalid % len(_INVALID_KINDS)] += 1
    backwards = rng.choice(np.flatnonzero(exited), size=min(per_kind[3], int(exited.sum())), replace=False)
    free = np.ones(n, dtype=bool)
    free[backwards] = False
    others = rng.choice(np.flatnonzero(free), size=int(per_kind.sum() - per_kind[3]), replace=False)
    bounds = np.cumsum([0, per_kind[0], per_kind[1], per_kind[2]])
    groups = {
        "missing_id": others[bounds[0] : bounds[1]],
        "unknown_region": others[bounds[1] : bounds[2]],
        "invalid_entry_date": others[bounds[2] : bounds[3]],
        "exit_before_entry": backwards,
        "age_out_of_range": others[bounds[3] :],
    }

    def pick(labels, size):
        return np.asarray(labels, dtype=object)[rng.integers(len(labels), size=size)]

    cols["id_stagiaire"][groups["missing_id"]] = None
    g = groups["unknown_region"]
    cols["region"][g] = pick(_UNKNOWN_REGION_LABELS, g.size)
    g = groups["invalid_entry_date"]
    cols["date_entree"][g] = pick(_BAD_DATES, g.size)
    g = groups["exit_before_entry"]
    date_style = habits["date_style"][school]
    cols["date_sortie"][g] = _format_dates(entry[g] - rng.integers(1, 121, size=g.size), date_style[g])
    g = groups["age_out_of_range"]
    bad_age = np.where(rng.random(g.size) < 0.5, rng.integers(8, 15, size=g.size), rng.integers(41, 71, size=g.size))
    bad_birth = year[g] - bad_age
    bad_day = (bad_birth - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, size=g.size)
    cols["annee_naissance"][g] = np.where(
        habits["birth_date"][school[g]] == 1,
        _format_dates(bad_day, np.minimum(date_style[g], 1)),
        _year_strings()[bad_birth],
    )
    return groups


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
            raise E2CError(f"generate_export : coefficients inconnus : {sorted(unknown_names)}.")
        coef.update({k: float(v) for k, v in overrides.items()})
    return coef


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------
_INVALID_KINDS = ("missing_id", "unknown_region", "invalid_entry_date", "exit_before_entry", "age_out_of_range")
_ROW_STATUSES = ("valid", "duplicate", *_INVALID_KINDS)
_OUTCOME_STATUSES = ("in_programme", "known", "unknown_planted", "unknown_censored")
_UNKNOWN_REGION_LABELS = ("Inconnue", "Région 99", "XX", "Atlantide", "Outre-mer", "Non affectée")
_BAD_DATES = ("31/02/2021", "2021-13-05", "32/01/2020", "00/00/0000", "n.c.", "15/15/2022", None)


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
        raise E2CError("generate_export : il faut au moins une année et un stagiaire par an.")
    if birth_dates not in ("mixed", "year", "column"):
        raise E2CError(f"generate_export : birth_dates={birth_dates!r} ; valeurs possibles : mixed, year, column.")
    rng = np.random.default_rng(seed)
    geo = network_geography()
    n_sites = len(geo)
    n_schools = int(geo["school_index"].max()) + 1
    n = trainees_per_year * len(years)
    extraction = np.datetime64(extraction_date or f"{years[-1] + 1}-03-31", "D")

    # Sites: sizes and intake mix
    weight = rng.gamma(4.0, 1.0, n_sites) * np.where(geo["main_site"], 2.0, 1.0)
    weight = weight / geo.assign(w=weight).groupby("region")["w"].transform("sum").to_numpy()
    weight = weight * geo["region_share"].to_numpy()
    weight = weight / weight.sum()
    p_qpv_site = expit(np.log(0.33 / 0.67) + rng.normal(0, 0.6, n_sites))
    p_rural_site = expit(np.log(0.15 / 0.85) + rng.normal(0, 0.8, n_sites) + np.where(geo["main_site"], -0.8, 0.4))
    duration_factor = np.where(rng.random(n_schools) < 0.2, rng.uniform(1.3, 1.6, n_schools), 1.0)
    esf_rate = np.where(rng.random(n_schools) < 0.6, 0.9, 0.0)

    # Trainees
    year = np.repeat(np.asarray(years), trainees_per_year)
    site = rng.choice(n_sites, size=n, p=weight)
    school = geo["school_index"].to_numpy()[site]
    region_names = [r for r in schema.REGION_NAMES if r in set(geo["region"])]
    region = pd.Categorical(geo["region"], categories=region_names).codes[site]
    month = (year - 1970) * 12 + _draw(rng, _MONTH_WEIGHTS, n)
    first_day = month.astype("datetime64[M]").astype("datetime64[D]")
    month_days = ((month + 1).astype("datetime64[M]").astype("datetime64[D]") - first_day).astype(np.int64)
    entry = first_day + np.floor(rng.random(n) * month_days).astype(np.int64)

    male = rng.random(n) < 0.5
    age = _AGES[_draw(rng, _AGE_WEIGHTS, n)]
    birth = year - age
    education = _draw(rng, _EDUCATION_WEIGHTS, n)
    qpv = _bernoulli(rng, p_qpv_site[site], n)
    rural = ~qpv & _bernoulli(rng, p_rural_site[site], n)
    disability = _bernoulli(rng, 0.05, n)
    nationality = _draw(rng, _NATIONALITY_WEIGHTS, n)
    referrer = np.where(age >= 26, _draw(rng, _REFERRER_WEIGHTS_26_PLUS, n), _draw(rng, _REFERRER_WEIGHTS, n))
    company_days = np.minimum(np.round(rng.gamma(3.0, 15.0, n)), 100).astype(np.int64)
    company_days[rng.random(n) < 0.04] = 0
    weeks = company_days / 5.0  # exact multiples of 0.2 weeks
    internships = np.where(company_days == 0, 0, np.minimum(1 + rng.poisson(weeks / 5.0), 8))
    esf = _bernoulli(rng, esf_rate[school], n)

    # Positive-exit model
    coef = _coefficients(rng, years, region_names, coefficients)
    u_site = rng.normal(0, site_sd, n_sites) if site_sd > 0 else np.zeros(n_sites)
    better: list[str] = []
    worse: list[str] = []
    if planted and n_planted > 0:
        expected = weight * n
        eligible = np.flatnonzero(expected >= np.median(expected))
        chosen = rng.choice(eligible, size=2 * n_planted, replace=False)
        u_site[chosen[:n_planted]] = planted_effect
        u_site[chosen[n_planted:]] = -planted_effect
        better = [geo["site"].iloc[i] for i in chosen[:n_planted]]
        worse = [geo["site"].iloc[i] for i in chosen[n_planted:]]

    eta = (
        coef["sex[M]"] * male
        + coef["age_at_entry"] * age
        + coef["qpv"] * qpv
        + coef["disability"] * disability
        + coef["weeks_in_company"] * weeks
        + np.array([0.0] + [coef[f"education_level[{e}]"] for e in schema.EDUCATION_LEVELS[1:]])[education]
        + np.array([0.0] + [coef[f"nationality[{c}]"] for c in schema.NATIONALITY_CODES[1:]])[nationality]
        + np.array([0.0] + [coef[f"cohort_year[{y}]"] for y in years[1:]])[np.searchsorted(years, year)]
        + np.array([0.0] + [coef[f"region[{r}]"] for r in region_names[1:]])[region]
        + u_site[site]
    )
    intercept = brentq(lambda b: expit(b + eta).mean() - target_positive_rate, -20, 20, xtol=1e-10)
    p_true = expit(intercept + eta)
    positive = rng.random(n) < p_true

    # Parcours, exit and what is known at the extraction date
    share = rng.uniform(0.40, 0.55, n)
    duration = np.maximum(np.round((weeks * 7 / share + rng.gamma(2.0, 20.0, n)) * duration_factor[school]), 14)
    exit_day = entry + duration.astype(np.int64)
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
        male=male,
    )
    exit_day = np.where(exited, exit_day, NAT)

    # MCAR masking, after the outcome is drawn
    scale = missing_share / 0.03
    masked = {col: rng.random(n) < share_ * scale for col, share_ in _MASKED_COLUMNS.items()}

    truth_rows = pd.DataFrame(
        {
            "id_stagiaire": pd.Series(np.full(n, None, dtype=object), dtype=object),
            "row_status": pd.Categorical(np.full(n, "valid", dtype=object), categories=_ROW_STATUSES),
            "outcome_status": pd.Categorical.from_codes(
                np.select([~exited, known, censored], [0, 1, 3], 2), categories=_OUTCOME_STATUSES
            ),
            "unknown_kind": pd.Categorical(unknown_kind, categories=[*_UNKNOWN_KINDS, "censored"]),
            "positive_drawn": positive,
            "positive_exit": pd.array(np.where(known, positive, False), dtype="boolean"),
            "p_true": p_true,
            "region": pd.Categorical.from_codes(region, categories=region_names),
            "school": pd.Categorical.from_codes(school, categories=list(geo["school"].unique())),
            "site": pd.Categorical.from_codes(site, categories=list(geo["site"])),
            "cohort_year": year,
            "entry_date": entry,
            "sex": pd.Categorical.from_codes(male.astype(np.int8), categories=list(schema.SEX_CODES)),
            "age_at_entry": age,
            "education_level": pd.Categorical.from_codes(education, categories=list(schema.EDUCATION_LEVELS)),
            "qpv": qpv,
            "rural": rural,
            "disability": disability,
            "nationality": pd.Categorical.from_codes(nationality, categories=list(schema.NATIONALITY_CODES)),
            "referrer": pd.Categorical.from_codes(referrer, categories=list(schema.REFERRER_CODES)),
            "weeks_in_company": weeks,
            "n_internships": internships,
            "esf_cofunded": esf,
        }
    )
    truth_rows.loc[~known, "positive_exit"] = pd.NA

    # Export order: by school, then entry date (rendering then runs in file order)
    order = np.lexsort((rng.random(n), entry, school))
    (
        site,
        school,
        year,
        entry,
        male,
        birth,
        education,
        qpv,
        rural,
        disability,
        nationality,
        referrer,
        company_days,
        internships,
        esf,
        exit_day,
        exited,
        reason,
        s_date,
        e_date,
        f_date,
    ) = (
        a[order]
        for a in (
            site,
            school,
            year,
            entry,
            male,
            birth,
            education,
            qpv,
            rural,
            disability,
            nationality,
            referrer,
            company_days,
            internships,
            esf,
            exit_day,
            exited,
            reason,
            s_date,
            e_date,
            f_date,
        )
    )
    masked = {k: v[order] for k, v in masked.items()}
    truth_rows = truth_rows.iloc[order].reset_index(drop=True)

    # Writing it as the schools do
    habits = _school_habits(rng, n_schools, messy)
    if birth_dates != "mixed":
        habits["birth_date"] = np.full(n_schools, int(birth_dates == "column"))
    noise = label_noise if messy else 0.0
    cols = _render_columns(
        rng,
        geo,
        habits,
        messy,
        noise,
        site=site,
        school=school,
        year=year,
        entry=entry,
        male=male,
        birth=birth,
        education=education,
        qpv=qpv,
        rural=rural,
        disability=disability,
        nationality=nationality,
        referrer=referrer,
        company_days=company_days,
        internships=internships,
        esf=esf,
        masked=masked,
        exit_day=exit_day,
        reason=reason,
        s_date=s_date,
        e_date=e_date,
        f_date=f_date,
    )
    id_cols = _identifier_columns(rng, n, male, birth, school, habits) if (messy and identifiers) else {}

    # Invalid rows: one problem each
    invalid_counts = dict.fromkeys(_INVALID_KINDS, 0)
    if messy and invalid_share > 0:
        groups = _plant_invalid_rows(
            rng,
            cols,
            int(round(invalid_share * n)),
            exited=exited,
            entry=entry,
            year=year,
            school=school,
            habits=habits,
        )
        for kind, g in groups.items():
            truth_rows.loc[g, "row_status"] = kind
            invalid_counts[kind] = int(g.size)
    truth_rows["id_stagiaire"] = cols["id_stagiaire"]

    # Exact duplicates of valid rows, each right after its original (a double entry)
    origin = np.arange(n)
    if messy and duplicate_share > 0:
        valid = np.flatnonzero(truth_rows["row_status"].to_numpy() == "valid")
        copies = rng.choice(valid, size=int(round(duplicate_share * n)), replace=False)
        origin = np.sort(np.concatenate([origin, copies]))
    names = [c.name for c in schema.RAW_COLUMNS if c.name in cols]
    raw = _string_frame({**{name: cols[name] for name in names}, **id_cols}, origin)
    if birth_dates == "column":
        raw = raw.rename(columns={"annee_naissance": "date_naissance"})
    rows = truth_rows.iloc[origin].reset_index(drop=True)
    is_copy = pd.Series(origin).duplicated().to_numpy()
    rows.loc[is_copy, "row_status"] = "duplicate"
    rows.insert(0, "source_row", np.arange(1, len(rows) + 1))

    truth = _truth(
        settings=settings,
        seed=seed,
        coef=coef,
        intercept=intercept,
        site_sd=site_sd,
        geo=geo,
        u_site=u_site,
        better=better,
        worse=worse,
        planted_effect=planted_effect if planted else 0.0,
        rows=rows,
        region_names=region_names,
        years=years,
        extraction=extraction,
        invalid_counts=invalid_counts,
        id_cols=list(id_cols),
        masked_shares={k: round(v * scale, 4) for k, v in _MASKED_COLUMNS.items()},
    )
    return SynthExport(raw=raw, truth=truth, rows=rows)


# --------------------------------------------------------------------------
# Column writers
# --------------------------------------------------------------------------
def _settings(func, arguments: dict) -> dict:
    """Every argument of ``func`` (defaults included), JSON-safe."""
    names = inspect.signature(func).parameters
    return _json_safe({k: arguments[k] for k in names if k in arguments})


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _trainee_ids(geo: pd.DataFrame, school: np.ndarray, year: np.ndarray, entry: np.ndarray, habits) -> np.ndarray:
    """School information-system ids, unique nationally: 'CLE00-2019-00045', '101900045' or 'CLE001900045'."""
    n = school.size
    key = school.astype(np.int64) * 10_000 + year
    order = np.lexsort((entry, key))
    starts = np.r_[0, np.flatnonzero(np.diff(key[order])) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n) - group_start + 1
    seq_str = np.asarray([f"{i:05d}" for i in range(int(seq.max()) + 1)], dtype=object)[seq]
    schools = geo.drop_duplicates("school_index").sort_values("school_index")["school"]
    codes = np.asarray(
        [_strip_accents(name.split()[-1]).upper()[:3] + f"{k:02d}" for k, name in enumerate(schools)], dtype=object
    )
    year_str = np.asarray([str(y) for y in range(10_000)], dtype=object)[year]
    yy = np.asarray([f"{y % 100:02d}" for y in range(10_000)], dtype=object)[year]
    style = habits["id"][school]
    numeric = np.asarray([str(10 + k) for k in range(len(codes))], dtype=object)[school] + yy + seq_str
    return np.where(
        style == 0,
        codes[school] + "-" + year_str + "-" + seq_str,
        np.where(style == 1, numeric, codes[school] + yy + seq_str),
    )


def _exit_labels(reason: np.ndarray, rng, noise: float, messy: bool) -> np.ndarray:
    """Exit labels: the variants of each reason (the first one more often); -2 = a label no one can read."""
    candidates = []
    for r in schema.EXIT_REASONS:
        variants = list(r.variants) or [r.code]
        candidates.append([variants[0]] * 3 + variants[1:] if messy else [variants[0]])
    pools = [_messy_forms(list(r.variants) or [r.code]) for r in schema.EXIT_REASONS]
    out = _render(reason, np.zeros(reason.size, dtype=np.int64), [candidates], rng, noise, pools)
    unreadable = np.flatnonzero(reason == -2)
    labels = np.asarray(_UNRECOGNISED_EXIT_LABELS, dtype=object)
    out[unreadable] = labels[rng.integers(labels.size, size=unreadable.size)]
    return out


@lru_cache(maxsize=2)
def _weeks_table(dot: bool) -> np.ndarray:
    sep = "." if dot else ","
    return np.asarray([str(t // 10) if t % 10 == 0 else f"{t // 10}{sep}{t % 10}" for t in range(201)], dtype=object)


def _weeks_strings(company_days: np.ndarray, dot: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Weeks in company (working days / 5) with a decimal comma, or a dot in some schools."""
    tenths = company_days * 2
    out = np.where(dot, _weeks_table(True)[tenths], _weeks_table(False)[tenths])
    out[missing] = None
    return out


def _truth(
    *,
    settings,
    seed,
    coef,
    intercept,
    site_sd,
    geo,
    u_site,
    better,
    worse,
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
        "intercept": float(intercept),
        "coefficients": {k: float(v) for k, v in coef.items()},
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
        "site_effects": {site: float(u) for site, u in zip(geo["site"], u_site)},
        "planted_sites": {"better": better, "worse": worse},
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
# Writing exports
# --------------------------------------------------------------------------
_SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


def write_export(
    directory: str | os.PathLike = SYNTH_DATA_DIR,
    *,
    seed: int = DEFAULT_SEED,
    fmt: str = "csv",
    encoding: str = "cp1252",
    sep: str = ";",
    name: str = DEFAULT_EXPORT_NAME,
    comparison: bool = False,
    **kwargs,
) -> Path:
    """Generate an export and write it, with ``truth.json`` and ``truth_rows.parquet`` beside it.

    One export per directory: writing again replaces the export and its truth.

    Parameters
    ----------
    directory : path
        Output folder (created if needed); default ``data/synthetic/``.
    seed : int
        Generator seed.
    fmt : {'csv', 'xlsx', 'parquet'}
        File format. CSV is written as Excel does in France: ``;`` separator and
        Windows-1252 by default.
    encoding : str
        CSV encoding ('cp1252' by default; 'utf-8' or 'utf-8-sig' for a BOM).
    sep : str
        CSV separator (';' by default; ',' or '\\t' also read by the toolkit).
    name : str
        File name without suffix.
    comparison : bool
        Write :func:`generate_comparison` (with a ``groupe`` column) instead of
        :func:`generate_export`.
    **kwargs
        Passed to the generator (``trainees_per_year``, ``years``, ``messy``...).

    Returns
    -------
    Path
        The export file.
    """
    if fmt not in _SUFFIX:
        raise E2CError(f"Format inconnu : {fmt!r}. Formats possibles : {', '.join(_SUFFIX)}.")
    export = generate_comparison(seed=seed, **kwargs) if comparison else generate_export(seed=seed, **kwargs)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}{_SUFFIX[fmt]}"
    tmp = directory / f".{name}.{os.getpid()}.tmp{_SUFFIX[fmt]}"
    if fmt == "csv":
        try:
            export.raw.to_csv(tmp, sep=sep, index=False, encoding=encoding)
        except UnicodeEncodeError as exc:  # pragma: no cover - every generated label is cp1252-safe
            tmp.unlink(missing_ok=True)
            raise E2CError(f"{path} : encodage {encoding} impossible ({exc}).") from exc
    elif fmt == "xlsx":
        _with_excel_dates(export.raw).to_excel(tmp, index=False, sheet_name="Export", engine="openpyxl")
    else:
        export.raw.to_parquet(tmp, index=False)
    truth = dict(export.truth)
    truth["file"] = {
        "name": path.name,
        "format": fmt,
        "encoding": encoding if fmt == "csv" else None,
        "sep": sep if fmt == "csv" else None,
    }
    rows_tmp = directory / f".truth_rows.{os.getpid()}.tmp.parquet"
    export.rows.to_parquet(rows_tmp, index=False)
    truth_tmp = directory / f".truth.{os.getpid()}.tmp.json"
    truth_tmp.write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    os.replace(rows_tmp, directory / "truth_rows.parquet")
    os.replace(truth_tmp, directory / "truth.json")
    return path


def _with_excel_dates(raw: pd.DataFrame) -> pd.DataFrame:
    """dd/mm/yyyy cells of the date columns as real Excel dates, as a spreadsheet would hold them;
    ISO-formatted cells (some schools) and broken dates stay text."""
    out = raw.copy()
    for col in (c.name for c in schema.RAW_COLUMNS if c.kind == "date" and c.name in raw.columns):
        parsed = pd.to_datetime(raw[col], format="%d/%m/%Y", errors="coerce")
        ok = parsed.notna().to_numpy()
        values = raw[col].to_numpy(dtype=object, na_value=None)
        values[ok] = parsed[ok].dt.to_pydatetime()
        out[col] = pd.Series(values, index=raw.index, dtype=object)
    return out


def _default_stamp() -> dict:
    settings = _settings(
        generate_export, {name: p.default for name, p in inspect.signature(generate_export).parameters.items()}
    )
    settings["seed"] = DEFAULT_SEED
    return {
        "version": GENERATOR_VERSION,
        "seed": DEFAULT_SEED,
        "settings": settings,
        "file": {"name": f"{DEFAULT_EXPORT_NAME}.csv", "format": "csv", "encoding": "cp1252", "sep": ";"},
    }


def default_export_path(directory: str | os.PathLike = SYNTH_DATA_DIR) -> Path:
    """The synthetic national default export, generated on first use and reused after.

    It is regenerated when ``truth.json`` is missing or was written by another
    generator version, seed or settings.

    Returns
    -------
    Path
        ``data/synthetic/export_e2c_synthetique.csv`` (semicolon, Windows-1252).
    """
    directory = Path(directory)
    path = directory / f"{DEFAULT_EXPORT_NAME}.csv"
    truth_path = directory / "truth.json"
    expected = _default_stamp()
    if path.is_file() and truth_path.is_file():
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            truth = {}
        if all(truth.get(k) == v for k, v in expected.items()):
            return path
    return write_export(directory)


# --------------------------------------------------------------------------
# Comparison cohort for impact designs
# --------------------------------------------------------------------------
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
        raise E2CError("generate_comparison : il faut au moins un jeune dans chaque groupe.")
    rng = np.random.default_rng(seed)
    gamma = dict(_PROPENSITY_COEFFICIENTS) | {k: float(v) for k, v in (propensity or {}).items()}
    beta = dict(_COMPARISON_OUTCOME_COEFFICIENTS) | {k: float(v) for k, v in (outcome or {}).items()}
    for name, given in (("propensity", propensity), ("outcome", outcome)):
        wrong = set(given or ()) - set(_PROPENSITY_COEFFICIENTS)
        if wrong:
            raise E2CError(f"generate_comparison : coefficients inconnus dans {name} : {sorted(wrong)}.")

    # Pool and selection into the E2C
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
        raise E2CError("generate_comparison : réservoir trop petit, augmentez pool_treated_share.")
    keep = rng.permutation(np.concatenate([t_idx, c_idx]))
    x = {k: v[keep] for k, v in pool.items()}
    treated = treated_pool[keep]
    n = keep.size
    # Sampling on T keeps gamma and shifts the intercept by the log ratio of sampling fractions.
    a_sample = a + np.log(n_e2c / treated_pool.sum()) - np.log(n_comparison / (~treated_pool).sum())
    p0 = expit(b + lin_y[keep])
    p1 = expit(b + lin_y[keep] + true_effect_logit)
    positive = rng.random(n) < np.where(treated, p1, p0)

    population = {}
    if population_draws > 0:
        big = _draw_pool(np.random.default_rng([seed, 1]), population_draws)
        e = expit(a + _linear(gamma, big))
        q0 = expit(b + _linear(beta, big))
        q1 = expit(b + _linear(beta, big) + true_effect_logit)
        population = {
            "att_population": float(np.sum(e * (q1 - q0)) / np.sum(e)),
            "ate_population": float(np.mean(q1 - q0)),
        }

    # Places, dates and outcome at the horizon
    geo = network_geography()
    weight = geo["region_share"].to_numpy() / geo.groupby("region")["site"].transform("size").to_numpy()
    site = rng.choice(len(geo), size=n, p=weight / weight.sum())
    school = geo["school_index"].to_numpy()[site]
    year = np.asarray(years)[rng.integers(len(years), size=n)]
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    year_days = ((year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - first).astype(np.int64)
    entry = first + np.floor(rng.random(n) * year_days).astype(np.int64)
    exit_day = entry + rng.integers(120, 241, size=n)
    start = exit_day + rng.integers(0, 46, size=n)
    horizon = _add_months(entry, horizon_months)
    if np.any(_add_months(start, 2) + 1 > horizon):
        raise E2CError("generate_comparison : horizon trop court pour observer une situation de plus de 2 mois.")
    everyone = np.ones(n, dtype=bool)
    nobody = np.zeros(n, dtype=bool)
    reason, s_date, e_date, f_date, _ = _encode_outcomes(
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
    f_date = horizon  # everyone's situation is observed at the same horizon after the start date

    company_days = np.minimum(np.round(rng.gamma(3.0, 15.0, n)), 100).astype(np.int64)
    internships = np.where(company_days == 0, 0, np.minimum(1 + rng.poisson(company_days / 25.0), 8))
    referrer = np.where(treated, _draw(rng, _REFERRER_WEIGHTS, n), 0)
    rural = rng.random(n) < 0.10
    esf = rng.random(n) < 0.5
    not_applicable = ~treated
    masked = {k: np.zeros(n, dtype=bool) for k in _MASKED_COLUMNS}
    for k in ("weeks_in_company", "n_internships", "esf_cofunded"):
        masked[k] = not_applicable
    n_schools = int(geo["school_index"].max()) + 1
    habits = _school_habits(rng, n_schools, messy)
    noise = label_noise if messy else 0.0
    birth = year - x["age"]
    cols = _render_columns(
        rng,
        geo,
        habits,
        messy,
        noise,
        site=site,
        school=school,
        year=year,
        entry=entry,
        male=x["male"],
        birth=birth,
        education=x["education"],
        qpv=x["qpv"],
        rural=rural,
        disability=x["disability"],
        nationality=x["nationality"],
        referrer=referrer,
        company_days=company_days,
        internships=internships,
        esf=esf,
        masked=masked,
        exit_day=exit_day,
        reason=reason,
        s_date=s_date,
        e_date=e_date,
        f_date=f_date,
    )
    mission_locale = np.asarray([f"Mission locale {_of_town(t)}" for t in geo["town"]], dtype=object)[site]
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

    rows = pd.DataFrame(
        {
            "source_row": np.arange(1, n + 1),
            "id_stagiaire": cols["id_stagiaire"],
            "treated": treated,
            "propensity": expit(a_sample + lin_t[keep]),
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
    truth = _json_safe(
        {
            "generator": "toolkit.synth.generate_comparison",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "settings": settings,
            "design": "selection on observables: P(E2C | X) logistic in the covariates; outcome logistic in X and T",
            "covariates": list(COMPARISON_COVARIATES),
            "reference_levels": {"sex": "F", "education_level": "infra_3", "nationality": "francaise"},
            "propensity": {"intercept": float(a_sample), "intercept_pool": float(a), "coefficients": gamma},
            "outcome": {"intercept": float(b), "coefficients": beta, "treatment": float(true_effect_logit)},
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
