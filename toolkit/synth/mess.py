"""Rendering the mess of real exports: each school's habits (date formats, label spellings, id styles),
label variants and noise, fake identifier columns, invalid rows."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema
from .core import _INVALID_KINDS, _draw
from .network import _strip_accents
from .truth import _UNRECOGNISED_EXIT_LABELS

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
# Profile, outcome model and exit mix (calibrated on the published national figures)


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


def _render_columns(rng, geo, habits, messy: bool, noise: float, x: dict) -> dict[str, np.ndarray]:
    """The raw-contract columns as each school's information system writes them (object arrays).

    ``x`` holds one array per trainee, in export order: ``site``, ``school``, ``year``, ``entry``,
    ``male``, ``birth``, ``education``, ``qpv``, ``rural``, ``disability``, ``nationality``,
    ``referrer``, ``company_days``, ``internships``, ``esf``, ``exit_day``, ``reason``, ``s_date``,
    ``e_date``, ``f_date``, and ``masked`` (column -> mask of the values left blank).
    """
    cols = _render_profile(rng, geo, habits, messy, noise, x)
    cols.update(_render_parcours(rng, habits, messy, noise, x))
    return cols


def _render_profile(rng, geo, habits, messy: bool, noise: float, x: dict) -> dict[str, np.ndarray]:
    """Identifier, place and profile columns."""
    site, school, year, masked = x["site"], x["school"], x["year"], x["masked"]
    n = site.size
    date_style = habits["date_style"][school]
    cols: dict[str, np.ndarray] = {}
    cols["id_stagiaire"] = _trainee_ids(geo, school, year, x["entry"], habits)
    cols["region"] = _render(
        site, np.zeros(n, dtype=np.int64), [_region_labels(geo, habits["region"])], rng, noise, _region_noise_pools(geo)
    )
    cols["ecole"] = geo["school"].to_numpy(dtype=object)[site]
    cols["site"] = geo["site"].to_numpy(dtype=object)[site]
    sex_table = [[[f], [m]] for (f, m), _ in _SEX_STYLES]
    cols["sexe"] = _render(
        x["male"].astype(np.int64),
        habits["sex"][school],
        sex_table,
        rng,
        noise,
        [_messy_forms(schema.SEX_VARIANTS[c]) for c in schema.SEX_CODES],
    )
    birth = x["birth"]
    birth_day = (birth - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, size=n)
    birth_style = np.minimum(date_style, 1)  # a full birth date is written dd/mm/yyyy or yyyy-mm-dd
    cols["annee_naissance"] = np.where(
        habits["birth_date"][school] == 1, _format_dates(birth_day, birth_style), _year_strings()[birth]
    )
    edu_style = np.where(habits["edu"][school] == 1, 2, np.where(year < habits["edu_switch"][school], 0, 1))
    if not messy:
        edu_style[:] = 1
    cols["niveau_formation"] = _render(
        np.where(masked["education_level"], -1, x["education"]),
        edu_style,
        [_EDUCATION_STYLE_LABELS[k] for k in ("old", "new", "words")],
        rng,
        noise,
        [_messy_forms(schema.EDUCATION_VARIANTS[c]) for c in schema.EDUCATION_LEVELS],
    )
    for raw_name, canon in (("qpv", "qpv"), ("zone_rurale", "rural"), ("rqth", "disability")):
        codes = np.where(masked[canon], -1, x[canon].astype(np.int64))
        cols[raw_name] = _render(codes, habits["bool"][school], _BOOL_TABLE, rng, noise, _bool_pools())
    cols["nationalite"] = _render(
        np.where(masked["nationality"], -1, x["nationality"]),
        habits["nationality"][school],
        _NATIONALITY_STYLE_LABELS,
        rng,
        noise,
        [_messy_forms(schema.NATIONALITY_VARIANTS[c][:7]) for c in schema.NATIONALITY_CODES],
    )
    cols["prescripteur"] = _render(
        np.where(masked["referrer"], -1, x["referrer"]),
        habits["referrer"][school],
        _REFERRER_STYLE_LABELS,
        rng,
        noise,
        [_messy_forms(schema.REFERRER_VARIANTS[c]) for c in schema.REFERRER_CODES],
    )
    return cols


def _render_parcours(rng, habits, messy: bool, noise: float, x: dict) -> dict[str, np.ndarray]:
    """Dates, exit, placements and ESF columns."""
    school, masked = x["school"], x["masked"]
    date_style = habits["date_style"][school]
    cols: dict[str, np.ndarray] = {}
    cols["date_entree"] = _format_dates(x["entry"], date_style)
    cols["date_sortie"] = _format_dates(x["exit_day"], date_style)
    cols["motif_sortie"] = _exit_labels(x["reason"], rng, noise, messy)
    cols["date_debut_situation"] = _format_dates(x["s_date"], date_style)
    cols["date_fin_situation"] = _format_dates(x["e_date"], date_style)
    cols["date_suivi"] = _format_dates(x["f_date"], date_style)
    cols["semaines_entreprise"] = _weeks_strings(
        x["company_days"], habits["decimal_dot"][school] == 1, masked["weeks_in_company"]
    )
    cols["nb_stages"] = _lookup_strings(
        x["internships"], np.asarray([str(i) for i in range(21)], dtype=object), masked["n_internships"]
    )
    esf_codes = np.where(masked["esf_cofunded"], -1, x["esf"].astype(np.int64))
    cols["cofinancement_fse"] = _render(esf_codes, habits["bool"][school], _BOOL_TABLE, rng, noise, _bool_pools())
    return cols


_BOOL_TABLE = [[[f], [t]] for (t, f), _ in _BOOL_STYLES]


def _bool_pools() -> list[list[str]]:
    return [_messy_forms(["non", "Non", "N", "0", "faux", "NON"]), _messy_forms(["oui", "Oui", "O", "1", "vrai"])]


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


_UNKNOWN_REGION_LABELS = ("Inconnue", "Région 99", "XX", "Atlantide", "Outre-mer", "Non affectée")
_BAD_DATES = ("31/02/2021", "2021-13-05", "32/01/2020", "00/00/0000", "n.c.", "15/15/2022", None)


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
