"""Profiling an export's columns and matching its headers to the contract, for the proposed mapping.

A column is profiled on its distinct values only (the :data:`SAMPLE` most
frequent are examined for dates and numbers, the :data:`LABEL_SAMPLE` most
frequent for labels): what type it looks like (date, year, region, sex
code, education level, exit label, yes/no, number, identifier, text). A
header is matched to a contract column on its name (normalised; the
contract's variants and the synonyms below; fuzzy similarity; the prefixes
information systems use: ``DT_``, ``DATE_``, ``NUM_``, ``NO_``, ``AN_``,
``NIV_``, ``LIB_``, ``CD_``/``CODE_``) and on its content. Each contract column
gets the best remaining header (greedy on the combined score), with a
confidence and a reason.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from .i18n import N_, _, current_language
from .io import label_table
from .mapping_labels import CLASSIFIED_COLUMNS, classify_label
from .schema import RAW_COLUMNS, RAW_HEADER_ALIASES, SITUATION_COLUMNS, normalise_key

__all__ = ["ColumnProfile", "profile_column", "header_tokens", "name_score", "match_columns", "SAMPLE"]

SAMPLE = 500
LABEL_SAMPLE = 100
_PREFIXES = {
    "dt": "date",
    "dte": "date",
    "d": "date",
    "num": "numero",
    "no": "numero",
    "n": "numero",
    "nro": "numero",
    "an": "annee",
    "annee": "annee",
    "niv": "niveau",
    "lib": "",
    "libelle": "",
    "cd": "code",
    "cod": "code",
    "code": "code",
    "naiss": "naissance",
    "sit": "situation",
    "deb": "debut",
    "etab": "etablissement",
    "nat": "nationalite",
    "presc": "prescripteur",
    "sexe": "sexe",
    "motif": "motif",
    "nb": "nombre",
    "form": "formation",
    "fin": "fin",
    "sem": "semaines",
}
# Synonyms seen in information systems, beside the contract's own variants.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_stagiaire": (
        "numero jeune",
        "numero stagiaire",
        "numero dossier",
        "matricule",
        "identifiant jeune",
        "id beneficiaire",
        "numero beneficiaire",
        "code jeune",
        "ref jeune",
    ),
    "region": ("region administrative", "code region", "region"),
    "ecole": ("etablissement", "nom e2c", "ecole", "structure", "nom ecole", "code ecole"),
    "site": ("antenne", "site formation", "lieu formation", "antenne de formation", "site"),
    "sexe": ("genre", "civilite", "sexe", "code sexe"),
    "annee_naissance": ("annee naissance", "annee de naissance du jeune", "naissance"),
    "niveau_formation": ("niveau scolaire", "niveau formation", "niveau etudes", "niveau entree", "diplome"),
    "qpv": ("quartier prioritaire", "habite en qpv", "qpv"),
    "rqth": ("rqth", "handicap"),
    "date_entree": ("date entree", "date arrivee", "date integration", "entree"),
    "date_sortie": ("date sortie", "date depart", "date fin parcours", "sortie"),
    "motif_sortie": (
        "situation sortie",
        "situation a la sortie",
        "motif sortie",
        "type sortie",
        "situation",
        "issue parcours",
    ),
    "date_debut_situation": ("date debut situation", "debut situation"),
    "date_fin_situation": ("date fin situation", "fin situation"),
    "date_suivi": ("date suivi", "dernier contact", "date contact", "date confirmation"),
    "type_situation": ("situation", "type situation", "libelle situation", "nature situation"),
}
_KIND_OF = {c.name: c.kind for c in RAW_COLUMNS} | {c.name: c.kind for c in SITUATION_COLUMNS}
_CODED = {*CLASSIFIED_COLUMNS, "groupe"}


@dataclass
class ColumnProfile:
    """What a column looks like: its kind, distinct count, and (never for identifiers) its labels with counts."""

    header: str
    kind: str
    n_distinct: int
    n_filled: int
    shares: dict[str, float] = field(default_factory=dict)  # share of sampled values of each content type
    values: list[tuple[str, int]] = field(default_factory=list)  # (label, count), most frequent first
    identifier: str | None = None  # identifier kind: values never shown


def header_tokens(header: object) -> list[str]:
    """Words of a header, the information-system prefixes expanded (``DT_ENTREE`` -> date entree)."""
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"([a-z])([0-9])", r"\1 \2", text)
    tokens = re.findall(r"[a-z]+|\d+", text)
    out = []
    for i, t in enumerate(tokens):
        if t in _PREFIXES and (i == 0 or t not in {"d", "n", "an", "no"}):
            if _PREFIXES[t]:
                out.append(_PREFIXES[t])
        elif t not in {"de", "du", "d", "la", "le", "l", "a", "en", "des"}:
            out.append(t)
    return out


@functools.lru_cache(maxsize=64)
def _alias_phrases(column: str) -> tuple[tuple[str, frozenset, str], ...]:
    """(phrase, its words, its matching key) for every name of a contract column."""
    keys = [k for k, v in RAW_HEADER_ALIASES.items() if v == column]
    phrases = [" ".join(header_tokens(c.replace("_", " "))) for c in [column, *_variant_texts(column)]]
    unique = dict.fromkeys([*phrases, *_SYNONYMS.get(column, ()), *keys])
    return tuple((p, frozenset(p.split()), normalise_key(p)) for p in unique if p.split())


def _variant_texts(column: str) -> tuple[str, ...]:
    for c in (*RAW_COLUMNS, *SITUATION_COLUMNS):
        if c.name == column:
            return tuple(v.replace("_", " ") for v in c.variants)
    return ()


def name_score(header: str, column: str) -> tuple[float, str]:
    """(0 to 1, reason) similarity of a header to a contract column's names."""
    return _name_score(str(header), column, current_language())


_FUZZY = 0.7  # weight of a spelling-only similarity; it counts only when the spelling is very close


@functools.lru_cache(maxsize=65536)
def _name_score(header: str, column: str, _lang: str) -> tuple[float, str]:
    key = normalise_key(header)
    if RAW_HEADER_ALIASES.get(key) == column:
        return 1.0, _("nom connu")
    tokens = frozenset(header_tokens(header))
    joined_key = normalise_key(" ".join(header_tokens(header)))
    best, why = 0.0, ""
    for phrase, ptoks, pkey in _alias_phrases(column):
        if pkey == joined_key:
            return 0.95, _("nom reconnu après abréviations")
        common = len(tokens & ptoks)
        if common:
            score = common / len(tokens | ptoks)
        else:
            la, lb = len(joined_key), len(pkey)
            bound = 2 * min(la, lb) / (la + lb) if la + lb else 0.0  # no ratio can exceed it
            if _FUZZY * bound <= max(best, 0.5) or joined_key[:2] != pkey[:2]:  # typos, not other words
                continue
            score = _FUZZY * difflib.SequenceMatcher(None, joined_key, pkey).ratio()
        if score > best:
            best, why = score, _("nom proche de « {phrase} »", phrase=phrase)
    return best, why


def profile_column(header: str, values: np.ndarray, counts: np.ndarray, identifier: str | None) -> ColumnProfile:
    """Profile of one column from its distinct values and their row counts."""
    from .cleaning import parse_dates, parse_numbers

    order = np.argsort(-counts, kind="stable")
    values, counts = np.asarray(values, dtype=object)[order], counts[order]
    n_distinct, n_filled = len(values), int(counts.sum())
    if identifier is not None:
        return ColumnProfile(header, N_("identifiant"), n_distinct, n_filled, identifier=identifier)
    sample = values[:SAMPLE]  # the most frequent distinct values
    digits = np.array([any(ch.isdigit() for ch in str(v)) for v in sample], dtype=bool)
    dates = np.zeros(len(sample), dtype=bool)
    if digits.mean() >= 0.5 if len(sample) else False:  # a date has digits: spare the parser the labels
        dates[digits] = ~np.isnat(parse_dates(sample[digits]))
    numbers = parse_numbers(sample)
    shares = {
        "date": float(dates.mean()) if len(sample) else 0.0,
        "year": float(np.mean((numbers >= 1940) & (numbers <= 2015) & (numbers == np.floor(numbers)))),
        "number": float(np.mean(~np.isnan(numbers))),
    }
    # Labels: on the LABEL_SAMPLE most frequent values, and not for a column of dates.
    texts = [str(v).strip() for v in values[:LABEL_SAMPLE]] if shares["date"] < 0.8 else []
    keys = [normalise_key(t) for t in texts]
    n = max(len(texts), 1)
    for column in ("region", "sexe", "niveau_formation", "qpv", "motif_sortie", "prescripteur", "nationalite"):
        table = label_table(column)
        known = [k in table or classify_label(column, t)[0] is not None for k, t in zip(keys, texts)]
        shares[column] = sum(known) / n
    if len(sample) and len(np.unique(sample)) == len(sample) and n_distinct > 0.9 * n_filled and n_filled > 20:
        shares["unique"] = 1.0
    kind = _kind(shares, n_distinct)
    shown = [(str(v), int(c)) for v, c in zip(values[:50], counts[:50])]
    return ColumnProfile(header, kind, n_distinct, n_filled, shares, shown)


def _kind(shares: dict[str, float], n_distinct: int) -> str:
    if shares.get("unique"):
        return N_("identifiant interne")
    if shares["date"] >= 0.8:
        return N_("date")
    if shares["year"] >= 0.8:
        return N_("année")
    if n_distinct <= 3 and shares["qpv"] >= 0.8:
        return N_("oui/non")
    if n_distinct <= 6 and shares["sexe"] >= 0.8:
        return N_("sexe")
    if shares["region"] >= 0.8:
        return N_("région")
    if shares["motif_sortie"] >= 0.6 and n_distinct >= 4:
        return N_("libellé de sortie")
    if shares["niveau_formation"] >= 0.8:
        return N_("niveau de formation")
    if shares["number"] >= 0.8:
        return N_("nombre")
    return N_("texte")


def content_score(profile: ColumnProfile, column: str) -> float:
    """0 to 1: how well the column's content fits the contract column (0.5 when content says nothing)."""
    if profile.identifier is not None:
        return 0.0
    s = profile.shares
    kind = _KIND_OF.get(column)
    if column in ("id_stagiaire",):
        return 1.0 if s.get("unique") or profile.n_distinct > 0.5 * max(profile.n_filled, 1) else 0.3
    if kind == "date":
        return s["date"]
    if kind == "year":
        return max(s["year"], 0.8 * s["date"])
    if column in ("motif_sortie", "type_situation"):
        return s["motif_sortie"]
    if column in ("qpv", "zone_rurale", "rqth", "cofinancement_fse"):
        return s["qpv"] if profile.n_distinct <= 4 else 0.0
    if column in s:
        return s[column]
    if kind in ("number", "integer"):
        return s["number"]
    return 0.5 if s["date"] < 0.5 and s["number"] < 0.5 else 0.2


def match_columns(profiles: list[ColumnProfile], columns: list[str], given: dict[str, str] | None = None):
    """Greedy assignment of headers to contract columns.

    Returns
    -------
    list of (column, header or None, confidence 0-1, reason)
        One entry per contract column, in ``columns`` order.
    """
    given = {normalise_key(k): v for k, v in (given or {}).items()}
    scored = []
    for p in profiles:
        for column in columns:
            if given.get(normalise_key(p.header)) == column:
                scored.append((2.0, column, p.header, _("en-tête reconnu")))
                continue
            name, why = name_score(p.header, column)
            content = content_score(p, column)
            score = 0.65 * name + 0.35 * content
            if name < 0.5 and content >= 0.9 and column in _CODED | {"annee_naissance"}:
                score = max(score, 0.55 + 0.1 * name)  # content alone is strong evidence for coded columns
                why = _("contenu reconnu")
            elif name >= 0.5:
                why = f"{why} ; " + _("contenu {pct} % conforme", pct=round(100 * content))
            if score >= 0.5:
                scored.append((score, column, p.header, why))
    scored.sort(key=lambda t: -t[0])
    taken_columns: dict[str, tuple] = {}
    taken_headers: set[str] = set()
    for score, column, header, why in scored:
        if column in taken_columns or header in taken_headers:
            continue
        taken_columns[column] = (header, min(score, 1.0), why)
        taken_headers.add(header)
    return [(c, *taken_columns.get(c, (None, 0.0, ""))) for c in columns]


def suggest(header: str, columns) -> tuple[str | None, float]:
    """The contract column a header most resembles by name, and the similarity (for 'ignored column' notes)."""
    best, score = None, 0.0
    for column in columns:
        s, _why = name_score(header, column)
        if s > score:
            best, score = column, s
    return (best, score) if score >= 0.5 else (None, score)
