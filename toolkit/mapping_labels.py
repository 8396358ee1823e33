"""Classifying a school's own labels onto the contract's codes, for the proposed mapping.

A label that the cleaning rules already recognise needs nothing. The others
are classified by ordered rules on their words, after the abbreviations that
information systems use are expanded (``CDI_TP``, ``APPRENTI_BTP``,
``FORM_CERTIF``, ``C.D.I.``). A label that no rule claims stays unclassified:
it is listed for the evaluator, never guessed.

The exit-reason rules are ordered so that the dangerous near-misses cannot
become a job: searching, waiting, a promise or a project ("Recherche
d'emploi", "En recherche de CDI", "Promesse d'embauche", "Projet de création")
are checked before any job word, and "non qualifiante" before "qualifiante".
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .i18n import N_
from .schema import NATIONALITY_ALIASES, REGION_ALIASES, normalise_key

__all__ = ["words", "classify_label", "CLASSIFIED_COLUMNS"]

_EXPAND = {
    "form": "formation",
    "forma": "formation",
    "certif": "certifiante",
    "qualif": "qualifiante",
    "prequalif": "prequalifiante",
    "apprenti": "apprentissage",
    "app": "apprentissage",
    "pro": "professionnalisation",
    "prof": "professionnalisation",
    "ct": "contrat",
    "cont": "contrat",
    "rech": "recherche",
    "dem": "demandeur",
    "ml": "missionlocale",
    "pe": "poleemploi",
    "ft": "francetravail",
    "serv": "service",
    "civ": "civique",
    "entr": "entreprise",
    "crea": "creation",
}
_JOINED = (
    ("mission locale", "missionlocale"),
    ("pole emploi", "poleemploi"),
    ("france travail", "francetravail"),
    ("temps plein", "tempsplein"),
    ("temps partiel", "tempspartiel"),
    ("pre qualifiante", "prequalifiante"),
    ("non qualifiante", "nonqualifiante"),
    ("service civique", "servicecivique"),
    ("contrat aide", "contrataide"),
    ("emploi d avenir", "emploiavenir"),
    ("reprise d etudes", "repriseetudes"),
    ("formation initiale", "formationinitiale"),
)


def words(label: object) -> list[str]:
    """Lower-case ASCII words of a label, abbreviations expanded, dotted acronyms joined (C.D.I. -> cdi)."""
    text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii").lower()
    tokens = re.findall(r"[a-z]+|\d+", text)
    joined: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        if run:
            joined.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if t:
            joined.append(t)
    expanded = " ".join(_EXPAND.get(t, t) for t in joined)
    for phrase, token in _JOINED:
        expanded = re.sub(rf"\b{phrase}\b", token, expanded)
    return expanded.split()


def _has(ws: list[str], *stems: str) -> bool:
    return any(w.startswith(s) for w in ws for s in stems)


# (test, code, reason): the first test that matches wins.
_EXIT_RULES: tuple = (
    (
        lambda w: _has(w, "recherche", "demandeur", "chomage", "inscrit"),
        "recherche_emploi",
        N_("recherche, pas un emploi"),
    ),
    (lambda w: _has(w, "promesse", "projet", "attente", "entretien", "candidat", "fin"), None, N_("intention ou fin")),
    (lambda w: _has(w, "sans", "aucun", "inactif", "inactivite") or "pas" in w, "sans_solution", N_("sans solution")),
    (lambda w: _has(w, "abandon", "demission", "demissionne"), "abandon", N_("abandon")),
    (lambda w: _has(w, "exclu", "renvoi", "renvoye", "disciplin"), "exclusion", N_("exclusion")),
    (lambda w: _has(w, "demenag"), "demenagement", N_("déménagement")),
    (lambda w: _has(w, "matern", "grossesse", "parental"), "maternite", N_("maternité")),
    (lambda w: _has(w, "maladie", "sante", "hospital"), "maladie", N_("santé")),
    (lambda w: _has(w, "incarcer", "deces", "justice"), "autre", N_("autre motif d'arrêt")),
    (lambda w: _has(w, "apprenti"), "apprentissage", N_("apprentissage")),
    (lambda w: _has(w, "professionnalisation"), "contrat_professionnalisation", N_("contrat de professionnalisation")),
    (lambda w: _has(w, "alternance"), "alternance", N_("alternance")),
    (
        lambda w: _has(w, "nonqualifiante", "prequalifiante", "remise", "remobilis", "savoirs"),
        "formation_prequalifiante",
        N_("formation non qualifiante"),
    ),
    (
        lambda w: _has(
            w,
            "qualifiante",
            "certifiante",
            "diplom",
            "afpa",
            "greta",
            "titre",
            "repriseetudes",
            "formationinitiale",
            "lycee",
            "cap",
            "bac",
            "bts",
            "cfa",
        ),
        "formation_qualifiante",
        N_("formation qualifiante"),
    ),
    (lambda w: _has(w, "formation", "stage"), "formation_prequalifiante", N_("formation sans précision")),
    (lambda w: _has(w, "servicecivique", "volontariat"), "service_civique", N_("service civique")),
    (lambda w: _has(w, "missionlocale"), "retour_mission_locale", N_("retour Mission locale")),
    (lambda w: _has(w, "cdi"), "cdi", N_("CDI")),
    (lambda w: _has(w, "cdd") and _has(w, "moins"), "cdd_moins_6_mois", N_("CDD de moins de 6 mois")),
    (
        lambda w: _has(w, "cdd") and _months(w) is not None and _months(w) >= 6,
        "cdd_6_mois_plus",
        N_("CDD de 6 mois et plus"),
    ),
    (lambda w: _has(w, "cdd") and _months(w) is not None, "cdd_moins_6_mois", N_("CDD de moins de 6 mois")),
    (lambda w: _has(w, "cdd"), "cdd", N_("CDD")),
    (lambda w: _has(w, "interim", "temporaire", "ett", "mission"), "interim", N_("intérim")),
    (lambda w: _has(w, "contrataide", "pec", "cui", "cae", "emploiavenir", "aide"), "contrat_aide", N_("contrat aidé")),
    (
        lambda w: _has(w, "creation", "entrepreneur", "micro", "independant", "freelance"),
        "creation_entreprise",
        N_("création d'activité"),
    ),
    (
        lambda w: _has(w, "emploi", "embauche", "salarie", "travail", "job", "iae", "insertion", "poste"),
        "emploi",
        N_("emploi sans précision"),
    ),
    (lambda w: _has(w, "inconnu", "nr", "renseigne", "nsp"), "inconnu", N_("non renseigné")),
    (lambda w: _has(w, "autre", "divers"), "autre", N_("autre")),
)


def _months(ws: list[str]) -> int | None:
    for i, w in enumerate(ws[:-1]):
        if w.isdigit() and ws[i + 1].startswith("mois"):
            return int(w)
    return None


_SEX = (
    (("f", "fem", "femme", "fille", "mme", "madame", "mlle", "mademoiselle", "feminin"), "F"),
    (("m", "h", "hom", "homme", "garcon", "mr", "monsieur", "masculin", "masc"), "M"),
)
_ROMAN = {
    "vi": "infra_3",
    "vbis": "infra_3",
    "v": "niveau_3",
    "iv": "niveau_4",
    "iii": "niveau_5_plus",
    "ii": "niveau_5_plus",
    "i": "niveau_5_plus",
}
_NEW = {
    "1": "infra_3",
    "2": "infra_3",
    "3": "niveau_3",
    "4": "niveau_4",
    "5": "niveau_5_plus",
    "6": "niveau_5_plus",
    "7": "niveau_5_plus",
    "8": "niveau_5_plus",
}


def _education(ws: list[str]) -> tuple[str | None, str]:
    core = [w for w in ws if w not in {"niveau", "niv", "n", "nv", "level"}]
    key = "".join(core)
    if key in _ROMAN:
        return _ROMAN[key], N_("ancien niveau (chiffres romains)")
    if key in _NEW:
        return _NEW[key], N_("niveau (nomenclature 2019)")
    if _has(ws, "sans", "aucun", "college", "brevet", "dnb", "cfg", "3e", "troisieme", "infra"):
        return "infra_3", N_("sans diplôme ou brevet")
    if _has(ws, "cap", "bep"):
        return "niveau_3", N_("CAP/BEP")
    if _has(ws, "bac") and not _has(ws, "2", "3", "5"):
        return "niveau_4", N_("bac")
    if _has(ws, "bts", "dut", "licence", "master", "superieur", "bac"):
        return "niveau_5_plus", N_("études supérieures")
    return None, ""


def _boolean(ws: list[str]) -> tuple[str | None, str]:
    if _has(ws, "hors", "non", "pas", "aucun", "sans"):
        return "non", N_("négation")
    if _has(ws, "oui", "qpv", "quartier", "rqth", "reconnu", "fse", "rural", "zrr", "handicap"):
        return "oui", N_("mot affirmatif")
    return None, ""


_REGION_KEYS = tuple(sorted((a for a in REGION_ALIASES if len(a) >= 4), key=len, reverse=True))


def _region(label: str) -> tuple[str | None, str]:
    key = normalise_key(label)
    for alias in _REGION_KEYS:
        if alias in key:
            return REGION_ALIASES[alias], N_("nom de région dans le libellé")
    text = str(label).strip()
    digits = re.findall(r"(?<![A-Za-z0-9])\d{2}(?![A-Za-z0-9])", text) or re.findall(r"^[A-Za-z]{1,3}\s*(\d{2})$", text)
    for d in digits:
        if d in REGION_ALIASES:
            return REGION_ALIASES[d], N_("code INSEE dans le libellé")
    return None, ""


def _referrer(ws: list[str]) -> tuple[str | None, str]:
    if _has(ws, "missionlocale"):
        return "mission_locale", N_("Mission locale")
    if _has(ws, "poleemploi", "francetravail", "anpe"):
        return "france_travail", N_("France Travail")
    if _has(ws, "spontan", "libre", "oreille", "famille", "ami"):
        return "candidature_spontanee", N_("candidature spontanée")
    if _has(ws, "plie"):
        return "plie", N_("PLIE")
    return None, ""


def _nationality(label: str, ws: list[str]) -> tuple[str | None, str]:
    if _has(ws, "hors", "etranger", "tiers", "extra"):
        return "hors_ue", N_("hors UE")
    if _has(ws, "franc"):
        return "francaise", N_("française")
    key = normalise_key(label)
    for alias, code in NATIONALITY_ALIASES.items():
        if code == "ue" and len(alias) >= 5 and alias in key:
            return "ue", N_("pays de l'UE")
    return None, ""


def classify_label(column: str, label: object) -> tuple[str | None, str]:
    """(code, reason) for one label of a coded contract column; (None, "") when no rule claims it."""
    return _classify(column, str(label))


@functools.lru_cache(maxsize=65536)
def _classify(column: str, label: str) -> tuple[str | None, str]:
    ws = words(label)
    if not ws:
        return None, ""
    if column == "motif_sortie":
        for test, code, reason in _EXIT_RULES:
            if test(ws):
                return code, reason
        return None, ""
    if column == "sexe":
        first = ws[0]
        for variants, code in _SEX:
            if first in variants:
                return code, N_("civilité ou initiale")
        return None, ""
    if column == "niveau_formation":
        return _education(ws)
    if column in {"qpv", "zone_rurale", "rqth", "cofinancement_fse"}:
        return _boolean(ws)
    if column == "region":
        return _region(str(label))
    if column == "prescripteur":
        return _referrer(ws)
    if column == "nationalite":
        return _nationality(str(label), ws)
    return None, ""


CLASSIFIED_COLUMNS = (
    "region",
    "sexe",
    "niveau_formation",
    "qpv",
    "zone_rurale",
    "rqth",
    "cofinancement_fse",
    "nationalite",
    "prescripteur",
    "motif_sortie",
)
