"""The single source of truth for the raw-export contract, the canonical frame
and every category code and label.

Every other module (reading, cleaning, synthetic data, indicators, reports, the
generated data dictionary) refers to the definitions here; nothing else spells
out a column name list or a code list.

Vocabulary
----------
* *raw column*: a column of a school's export, named in French as the schools
  name it (``id_stagiaire``, ``date_entree`` ...).
* *canonical column*: a column of :attr:`CleanResult.data`, in English
  snake_case (``trainee_id``, ``entry_date`` ...).
* *code*: the canonical value of a categorical column (``'niveau_3'``,
  ``'cdi'`` ...). Labels for people (French and English) live beside each code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from .i18n import _, current_language, use_language

__all__ = [
    "normalise_key",
    "RawColumn",
    "RAW_COLUMNS",
    "RAW_BY_NAME",
    "REQUIRED_RAW_COLUMNS",
    "CanonicalColumn",
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "Region",
    "REGIONS",
    "REGION_NAMES",
    "REGION_ALIASES",
    "SEX_CODES",
    "SEX_VARIANTS",
    "SEX_ALIASES",
    "EDUCATION_LEVELS",
    "EDUCATION_VARIANTS",
    "EDUCATION_ALIASES",
    "ExitReason",
    "EXIT_REASONS",
    "EXIT_REASON_CODES",
    "EXIT_ALIASES",
    "EXIT_CATEGORIES",
    "NATIONALITY_CODES",
    "NATIONALITY_VARIANTS",
    "NATIONALITY_ALIASES",
    "REFERRER_CODES",
    "REFERRER_VARIANTS",
    "REFERRER_ALIASES",
    "BOOLEAN_ALIASES",
    "GROUP_CODES",
    "GROUP_VARIANTS",
    "GROUP_ALIASES",
    "AGE_BANDS",
    "age_band",
    "label",
    "empty_canonical_frame",
]


# --------------------------------------------------------------------------
# Matching keys
# --------------------------------------------------------------------------
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_key(text: object) -> str:
    """Key used to match headers and labels: lower case, no accents, and no
    spaces, hyphens, underscores, apostrophes or other punctuation.

    >>> normalise_key("  Date d'entrée ") == normalise_key("DATE_D_ENTREE")
    True
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NON_ALNUM.sub("", ascii_only)


def _aliases(mapping: dict[str, list[str]]) -> dict[str, str]:
    """Invert {code: [variants]} into {normalised variant: code}, refusing clashes."""
    out: dict[str, str] = {}
    for code, variants in mapping.items():
        for variant in variants:
            key = normalise_key(variant)
            if key in out and out[key] != code:
                raise ValueError(f"alias {variant!r} maps to both {out[key]!r} and {code!r}")
            out[key] = code
    return out


# --------------------------------------------------------------------------
# Labels for people
# --------------------------------------------------------------------------
_LABELS: dict[str, dict[str, tuple[str, str]]] = {}


def _register_labels(column: str, labels: dict[str, tuple[str, str]]) -> None:
    _LABELS[column] = labels


def label(column: str, code: object, lang: str | None = None) -> str:
    """Human label of a canonical code in the current language (:func:`toolkit.i18n.current_language`), or ``lang``.

    The (French, English) pairs registered beside each code are the one
    source of truth for codes and labels; unknown or missing codes give
    "Non renseigné" ("Not stated").
    """
    with use_language(lang or current_language()) as chosen:
        if code is None or code is pd.NA or (isinstance(code, float) and code != code):
            return _("Non renseigné")
        if isinstance(code, bool) or column in {"qpv", "rural", "disability", "esf_cofunded", "positive_exit"}:
            return _("Oui") if code else _("Non")
    pair = _LABELS.get(column, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if chosen == "fr" else pair[1]


# --------------------------------------------------------------------------
# Regions (2016 reform) with INSEE codes and pre-2016 names
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    name: str  # official name since 2016, with accents
    insee: str  # INSEE region code
    slug: str  # file-name friendly
    former: tuple[str, ...] = ()  # pre-2016 regions merged into it
    extra_aliases: tuple[str, ...] = ()


REGIONS: tuple[Region, ...] = (
    Region("Auvergne-Rhône-Alpes", "84", "auvergne-rhone-alpes", ("Auvergne", "Rhône-Alpes"), ("ARA", "AURA")),
    Region("Bourgogne-Franche-Comté", "27", "bourgogne-franche-comte", ("Bourgogne", "Franche-Comté"), ("BFC",)),
    Region("Bretagne", "53", "bretagne"),
    Region("Centre-Val de Loire", "24", "centre-val-de-loire", ("Centre",), ("CVL", "Région Centre")),
    Region("Corse", "94", "corse"),
    Region(
        "Grand Est",
        "44",
        "grand-est",
        ("Alsace", "Lorraine", "Champagne-Ardenne"),
        ("ACAL", "Alsace-Champagne-Ardenne-Lorraine"),
    ),
    Region(
        "Hauts-de-France",
        "32",
        "hauts-de-france",
        ("Nord-Pas-de-Calais", "Picardie"),
        ("HDF", "Nord-Pas-de-Calais-Picardie"),
    ),
    Region("Île-de-France", "11", "ile-de-france", (), ("IDF",)),
    Region("Normandie", "28", "normandie", ("Haute-Normandie", "Basse-Normandie")),
    Region(
        "Nouvelle-Aquitaine",
        "75",
        "nouvelle-aquitaine",
        ("Aquitaine", "Limousin", "Poitou-Charentes"),
        ("ALPC", "Aquitaine-Limousin-Poitou-Charentes"),
    ),
    Region(
        "Occitanie",
        "76",
        "occitanie",
        ("Languedoc-Roussillon", "Midi-Pyrénées"),
        ("LRMP", "Languedoc-Roussillon-Midi-Pyrénées"),
    ),
    Region("Pays de la Loire", "52", "pays-de-la-loire", (), ("PDL",)),
    Region("Provence-Alpes-Côte d'Azur", "93", "provence-alpes-cote-d-azur", (), ("PACA", "Région Sud", "Sud")),
    Region("Guadeloupe", "01", "guadeloupe"),
    Region("Martinique", "02", "martinique"),
    Region("Guyane", "03", "guyane"),
    Region("La Réunion", "04", "la-reunion", (), ("Réunion",)),
    Region("Mayotte", "06", "mayotte"),
)
REGION_NAMES: tuple[str, ...] = tuple(r.name for r in REGIONS)
REGION_BY_NAME: dict[str, Region] = {r.name: r for r in REGIONS}

REGION_ALIASES: dict[str, str] = _aliases(
    {r.name: [r.name, r.insee, r.insee.lstrip("0"), r.slug, *r.former, *r.extra_aliases] for r in REGIONS}
)

# --------------------------------------------------------------------------
# Sex
# --------------------------------------------------------------------------
SEX_CODES: tuple[str, ...] = ("F", "M")
SEX_VARIANTS: dict[str, list[str]] = {
    "F": ["F", "Femme", "2", "Féminin", "Female", "W"],
    "M": ["M", "H", "Homme", "1", "Masculin", "Male"],
}
SEX_ALIASES: dict[str, str] = _aliases(SEX_VARIANTS)
_register_labels("sex", {"F": ("Femmes", "Women"), "M": ("Hommes", "Men")})

# --------------------------------------------------------------------------
# Education level (2019 nomenclature, décret 2019-14; old Roman levels mapped)
# --------------------------------------------------------------------------
EDUCATION_LEVELS: tuple[str, ...] = ("infra_3", "niveau_3", "niveau_4", "niveau_5_plus")
EDUCATION_VARIANTS: dict[str, list[str]] = {
    "infra_3": [
        "VI",
        "V bis",
        "Vbis",
        "Infra V",
        "Infra-V",
        "Niveau VI",
        "Niveau V bis",
        "Niveau Vbis",
        "Niveau infra V",
        "Niveau 1",
        "Niveau 2",
        "N1",
        "N2",
        "1",
        "2",
        "Sans diplôme",
        "Aucun diplôme",
        "Sans qualification",
        "Brevet",
        "DNB",
        "Brevet des collèges",
        "CFG",
        "Infra 3",
        "Infra niveau 3",
    ],
    "niveau_3": [
        "V",
        "Niveau V",
        "Niveau 3",
        "N3",
        "3",
        "CAP",
        "BEP",
        "CAP/BEP",
        "CAP-BEP",
        "CAP BEP",
    ],
    "niveau_4": [
        "IV",
        "Niveau IV",
        "Niveau 4",
        "N4",
        "4",
        "Bac",
        "Baccalauréat",
        "Bac pro",
        "Baccalauréat professionnel",
        "BP",
    ],
    "niveau_5_plus": [
        "III",
        "II",
        "I",
        "Niveau III",
        "Niveau II",
        "Niveau I",
        "Niveau 5",
        "Niveau 6",
        "Niveau 7",
        "Niveau 8",
        "N5",
        "N6",
        "N7",
        "N8",
        "5",
        "6",
        "7",
        "8",
        "Bac+2",
        "BTS",
        "DUT",
        "Licence",
        "Master",
        "Niveau 5 et plus",
        "Niveau 5+",
    ],
}
EDUCATION_ALIASES: dict[str, str] = _aliases(EDUCATION_VARIANTS)
_register_labels(
    "education_level",
    {
        "infra_3": ("Infra niveau 3 (sans CAP/BEP)", "Below level 3 (no CAP/BEP)"),
        "niveau_3": ("Niveau 3 (CAP/BEP)", "Level 3 (CAP/BEP)"),
        "niveau_4": ("Niveau 4 (bac)", "Level 4 (baccalauréat)"),
        "niveau_5_plus": ("Niveau 5 et plus", "Level 5 and above"),
    },
)
# ISCED 2011 mapping for ESF+ indicators (infra_3 and niveau_3 are ISCED 0-2 /
# 3 respectively: a CAP/BEP is ISCED 3 (upper secondary, vocational).
EDUCATION_ISCED: dict[str, str] = {
    "infra_3": "isced_0_2",
    "niveau_3": "isced_3_4",
    "niveau_4": "isced_3_4",
    "niveau_5_plus": "isced_5_8",
}
_register_labels(
    "isced",
    {
        "isced_0_2": ("CITE 0 à 2 (premier cycle du secondaire ou moins)", "ISCED 0-2 (lower secondary or less)"),
        "isced_3_4": (
            "CITE 3 ou 4 (second cycle du secondaire, post-secondaire)",
            "ISCED 3-4 (upper secondary, post-secondary)",
        ),
        "isced_5_8": ("CITE 5 à 8 (enseignement supérieur)", "ISCED 5-8 (tertiary)"),
    },
)

# --------------------------------------------------------------------------
# Exit reasons and categories
# --------------------------------------------------------------------------
EXIT_CATEGORIES: tuple[str, ...] = ("job", "work_study", "training", "other", "unknown")
_register_labels(
    "exit_category",
    {
        "job": ("Emploi", "Job"),
        "work_study": ("Alternance", "Work-study"),
        "training": ("Formation", "Training"),
        "other": ("Autre sortie", "Other exit"),
        "unknown": ("Sortie non renseignée", "Unknown exit"),
    },
)


@dataclass(frozen=True)
class ExitReason:
    code: str
    category: str  # one of EXIT_CATEGORIES
    label_fr: str
    label_en: str
    variants: tuple[str, ...] = ()
    interruption: bool = False  # left before the end of the parcours
    qualifying_training: bool = False  # training that leads to a qualification


EXIT_REASONS: tuple[ExitReason, ...] = (
    # Jobs
    ExitReason("cdi", "job", "CDI", "Permanent contract (CDI)", ("CDI", "Contrat à durée indéterminée", "Emploi CDI")),
    ExitReason("cdd", "job", "CDD", "Fixed-term contract (CDD)", ("CDD", "Contrat à durée déterminée", "Emploi CDD")),
    ExitReason(
        "cdd_6_mois_plus",
        "job",
        "CDD de plus de 6 mois",
        "Fixed-term contract over 6 months",
        ("CDD de plus de 6 mois", "CDD plus de 6 mois", "CDD 6 mois et plus", "CDD de 6 mois et plus"),
    ),
    ExitReason(
        "cdd_moins_6_mois",
        "job",
        "CDD de moins de 6 mois",
        "Fixed-term contract under 6 months",
        ("CDD moins de 6 mois", "CDD de moins de 6 mois"),
    ),
    ExitReason(
        "interim",
        "job",
        "Intérim",
        "Temporary agency work",
        ("Intérim", "Interim", "Travail temporaire", "Mission d'intérim"),
    ),
    ExitReason(
        "contrat_aide",
        "job",
        "Contrat aidé (PEC, CUI)",
        "Subsidised contract (PEC, CUI)",
        (
            "Contrat aidé",
            "Contrat aide",
            "PEC",
            "Parcours emploi compétences",
            "CUI",
            "CUI-CAE",
            "CAE",
            "Emploi d'avenir",
            "Contrat unique d'insertion",
        ),
    ),
    ExitReason(
        "creation_entreprise",
        "job",
        "Création d'entreprise",
        "Business creation (self-employment)",
        (
            "Création d'entreprise",
            "Creation entreprise",
            "Auto-entrepreneur",
            "Micro-entreprise",
            "Création d'activité",
        ),
    ),
    ExitReason(
        "emploi",
        "job",
        "Emploi (autre)",
        "Job (other)",
        ("Emploi", "Emploi durable", "Emploi salarié", "IAE", "Emploi IAE"),
    ),
    # Work-study
    ExitReason(
        "apprentissage",
        "work_study",
        "Contrat d'apprentissage",
        "Apprenticeship",
        ("Contrat d'apprentissage", "Apprentissage", "Apprenti"),
    ),
    ExitReason(
        "contrat_professionnalisation",
        "work_study",
        "Contrat de professionnalisation",
        "Professionalisation contract",
        ("Contrat de professionnalisation", "Contrat pro", "Professionnalisation"),
    ),
    ExitReason(
        "alternance", "work_study", "Alternance", "Work-study (unspecified)", ("Alternance", "Formation en alternance")
    ),
    # Training
    ExitReason(
        "formation_qualifiante",
        "training",
        "Formation qualifiante, certifiante ou diplômante",
        "Qualifying, certifying or diploma training",
        (
            "Formation qualifiante",
            "Formation certifiante",
            "Formation diplômante",
            "Formation qualifiante / certifiante / diplômante",
            "Formation diplomante",
            "Reprise d'études",
            "Retour en formation initiale",
        ),
        qualifying_training=True,
    ),
    ExitReason(
        "formation_prequalifiante",
        "training",
        "Formation pré-qualifiante",
        "Pre-qualifying training",
        (
            "Formation pré-qualifiante",
            "Formation préqualifiante",
            "Formation pre-qualifiante",
            "Formation prequalifiante",
            "Formation",
            "Formation non qualifiante",
        ),
    ),
    # Other exits
    ExitReason("service_civique", "other", "Service civique", "Civic service", ("Service civique",)),
    ExitReason("sans_solution", "other", "Sans solution", "No solution", ("Sans solution", "Aucune solution")),
    ExitReason(
        "recherche_emploi",
        "other",
        "Recherche d'emploi",
        "Job searching",
        ("Recherche d'emploi", "Demandeur d'emploi", "En recherche d'emploi", "Recherche emploi"),
    ),
    ExitReason(
        "retour_mission_locale",
        "other",
        "Retour Mission locale",
        "Back to the Mission locale",
        ("Retour Mission locale", "Retour ML", "Retour en Mission locale"),
    ),
    ExitReason("abandon", "other", "Abandon", "Drop-out", ("Abandon", "Démission"), interruption=True),
    ExitReason("exclusion", "other", "Exclusion", "Exclusion", ("Exclusion", "Renvoi", "Exclu"), interruption=True),
    ExitReason(
        "demenagement", "other", "Déménagement", "Moved away", ("Déménagement", "Demenagement"), interruption=True
    ),
    ExitReason("maladie", "other", "Maladie", "Illness", ("Maladie", "Raison de santé", "Santé"), interruption=True),
    ExitReason(
        "maternite", "other", "Maternité", "Maternity", ("Maternité", "Maternite", "Grossesse"), interruption=True
    ),
    ExitReason("autre", "other", "Autre", "Other", ("Autre", "Autres", "Divers")),
    ExitReason(
        "inconnu",
        "unknown",
        "Non renseigné ou non reconnu",
        "Not stated or not recognised",
        ("Inconnu", "Non renseigné", "NR", "?"),
    ),
)
EXIT_REASON_CODES: tuple[str, ...] = tuple(r.code for r in EXIT_REASONS)
EXIT_REASON_BY_CODE: dict[str, ExitReason] = {r.code: r for r in EXIT_REASONS}
EXIT_ALIASES: dict[str, str] = _aliases({r.code: [r.code, *r.variants] for r in EXIT_REASONS})
EXIT_CATEGORY_OF: dict[str, str] = {r.code: r.category for r in EXIT_REASONS}
INTERRUPTION_CODES: frozenset[str] = frozenset(r.code for r in EXIT_REASONS if r.interruption)
_register_labels("exit_reason", {r.code: (r.label_fr, r.label_en) for r in EXIT_REASONS})

# --------------------------------------------------------------------------
# Nationality, referrer, booleans, comparison group
# --------------------------------------------------------------------------
NATIONALITY_CODES: tuple[str, ...] = ("francaise", "ue", "hors_ue")
_EU_COUNTRIES = [
    "Allemagne",
    "Allemande",
    "Autriche",
    "Belgique",
    "Belge",
    "Bulgarie",
    "Bulgare",
    "Chypre",
    "Croatie",
    "Danemark",
    "Espagne",
    "Espagnole",
    "Estonie",
    "Finlande",
    "Grèce",
    "Hongrie",
    "Irlande",
    "Italie",
    "Italienne",
    "Lettonie",
    "Lituanie",
    "Luxembourg",
    "Malte",
    "Pays-Bas",
    "Pologne",
    "Polonaise",
    "Portugal",
    "Portugaise",
    "Roumanie",
    "Roumaine",
    "Slovaquie",
    "Slovénie",
    "Suède",
    "Tchéquie",
]
NATIONALITY_VARIANTS: dict[str, list[str]] = {
    "francaise": ["Française", "Francaise", "Français", "France", "FR", "FRA", "Nationalité française"],
    "ue": ["UE", "Union européenne", "Ressortissant UE", "EU", "European Union", "Européenne", *_EU_COUNTRIES],
    "hors_ue": [
        "Hors UE",
        "Hors-UE",
        "Non UE",
        "Extra-UE",
        "Pays tiers",
        "Ressortissant pays tiers",
        "Third country",
        "Non-EU",
        "Étrangère hors UE",
        "Etranger hors UE",
    ],
}
NATIONALITY_ALIASES: dict[str, str] = _aliases(NATIONALITY_VARIANTS)
_register_labels(
    "nationality",
    {
        "francaise": ("Française", "French"),
        "ue": ("Autre pays de l'UE", "Other EU country"),
        "hors_ue": ("Hors UE (pays tiers)", "Non-EU (third country)"),
    },
)

REFERRER_CODES: tuple[str, ...] = ("mission_locale", "france_travail", "candidature_spontanee", "plie", "autre")
REFERRER_VARIANTS: dict[str, list[str]] = {
    "mission_locale": ["Mission locale", "ML", "Missions locales"],
    "france_travail": ["France Travail", "Pôle emploi", "Pole emploi", "PE", "FT", "ANPE"],
    "candidature_spontanee": [
        "Candidature spontanée",
        "Spontané",
        "Spontanée",
        "Candidature libre",
        "Bouche à oreille",
    ],
    "plie": ["PLIE", "Plan local pour l'insertion et l'emploi"],
    "autre": [
        "Autre",
        "Autres",
        "Cap emploi",
        "Éducation nationale",
        "ASE",
        "PJJ",
        "SPIP",
        "Association",
        "Service social",
        "Prescripteur autre",
    ],
}
REFERRER_ALIASES: dict[str, str] = _aliases(REFERRER_VARIANTS)
_register_labels(
    "referrer",
    {
        "mission_locale": ("Mission locale", "Mission locale (youth employment centre)"),
        "france_travail": ("France Travail (ex-Pôle emploi)", "France Travail (public employment service)"),
        "candidature_spontanee": ("Candidature spontanée", "Self-referral"),
        "plie": ("PLIE", "PLIE (local inclusion plan)"),
        "autre": ("Autre prescripteur", "Other referrer"),
    },
)

BOOLEAN_ALIASES: dict[str, bool] = {
    normalise_key(v): True for v in ["oui", "o", "1", "vrai", "yes", "y", "true", "x", "1.0"]
} | {normalise_key(v): False for v in ["non", "n", "0", "faux", "no", "false", "0.0"]}

# Comparison designs (impact evaluation): the optional raw column `groupe`.
GROUP_CODES: tuple[str, ...] = ("e2c", "comparaison")
GROUP_VARIANTS: dict[str, list[str]] = {
    "e2c": ["E2C", "Ecole de la 2e chance", "École de la deuxième chance", "Traité", "Traitement", "Treated", "1"],
    "comparaison": ["Comparaison", "Témoin", "Groupe témoin", "Contrôle", "Control", "Comparison", "0"],
}
GROUP_ALIASES: dict[str, str] = _aliases(GROUP_VARIANTS)
_register_labels("group", {"e2c": ("E2C", "E2C"), "comparaison": ("Groupe de comparaison", "Comparison group")})

# --------------------------------------------------------------------------
# Age bands used in every table
# --------------------------------------------------------------------------
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("16-17", 0, 17),
    ("18-21", 18, 21),
    ("22-25", 22, 25),
    ("26+", 26, 200),
)
_register_labels(
    "age_band",
    {
        b[0]: (b[0].replace("26+", "26 ans et plus").replace("-", " à ") + ("" if b[0] == "26+" else " ans"), b[0])
        for b in AGE_BANDS
    },
)


def age_band(age: pd.Series) -> pd.Series:
    """Vectorised age band ('16-17', '18-21', '22-25', '26+') as an ordered categorical."""
    edges = [-1] + [b[2] for b in AGE_BANDS]
    return pd.cut(age.astype("Float64"), bins=edges, labels=[b[0] for b in AGE_BANDS], ordered=True)


# --------------------------------------------------------------------------
# The raw-export contract
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class RawColumn:
    name: str  # name in the contract (French, as schools write it)
    canonical: str | None  # canonical column it feeds (None: used only to derive others)
    kind: str  # 'id' | 'text' | 'category' | 'date' | 'year' | 'bool' | 'number' | 'integer'
    required: bool
    description_fr: str
    description_en: str
    variants: tuple[str, ...] = ()  # other header spellings seen in exports
    allowed: str = ""  # human description of the accepted values


RAW_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn(
        "id_stagiaire",
        "trainee_id",
        "id",
        True,
        "Identifiant du stagiaire dans le système d'information de l'école (pseudonymisé à la lecture).",
        "Trainee identifier in the school's information system (pseudonymised on reading).",
        ("identifiant", "id", "num_stagiaire", "numero_stagiaire", "code_stagiaire", "id_jeune"),
    ),
    RawColumn(
        "region",
        "region",
        "category",
        True,
        "Région de l'école : nom 2016, ancien nom (avant 2016) ou code INSEE.",
        "School's region: 2016 name, pre-2016 name or INSEE code.",
        ("nom_region", "code_region", "region_ecole"),
        "Noms officiels 2016, anciens noms, codes INSEE "
        "(84, 27, 53, 24, 44, 32, 11, 28, 75, 76, 52, 93, 94, 01-04, 06)",
    ),
    RawColumn(
        "ecole",
        "school",
        "text",
        True,
        "Nom de l'école (E2C).",
        "School name (E2C).",
        ("e2c", "nom_ecole", "etablissement", "structure"),
    ),
    RawColumn(
        "site",
        "site",
        "text",
        False,
        "Site de formation ; à défaut, l'école.",
        "Training site; defaults to the school.",
        ("nom_site", "antenne", "lieu"),
    ),
    RawColumn(
        "sexe",
        "sex",
        "category",
        True,
        "Sexe du stagiaire.",
        "Trainee's sex.",
        ("genre", "civilite"),
        "F, Femme, 2 / M, H, Homme, 1",
    ),
    RawColumn(
        "annee_naissance",
        "birth_year",
        "year",
        True,
        "Année de naissance (une date de naissance complète est réduite à l'année).",
        "Birth year (a full birth date is reduced to the year).",
        ("annee_de_naissance", "an_naissance", "naissance"),
    ),
    RawColumn(
        "niveau_formation",
        "education_level",
        "category",
        False,
        "Niveau de formation à l'entrée (anciens niveaux VI à III ou nouveaux niveaux 1 à 8, ou diplôme).",
        "Education level at entry (old levels VI to III, new levels 1 to 8, or diploma).",
        ("niveau", "niveau_scolaire", "niveau_d_etudes", "niveau_etudes", "diplome"),
        "VI, V bis, Infra V, V, IV, III ; Niveau 1 à 8 ; Sans diplôme, CAP, BEP, Bac",
    ),
    RawColumn(
        "qpv",
        "qpv",
        "bool",
        False,
        "Réside dans un quartier prioritaire de la politique de la ville.",
        "Lives in a priority neighbourhood (QPV).",
        ("quartier_prioritaire", "resident_qpv"),
        "oui/non, O/N, 1/0, vrai/faux, yes/no ; vide = inconnu",
    ),
    RawColumn(
        "zone_rurale",
        "rural",
        "bool",
        False,
        "Réside en zone rurale.",
        "Lives in a rural area.",
        ("rural", "zrr", "zone_rural"),
        "oui/non ; vide = inconnu",
    ),
    RawColumn(
        "rqth",
        "disability",
        "bool",
        False,
        "Reconnaissance de la qualité de travailleur handicapé.",
        "Recognised disability (RQTH).",
        ("handicap", "travailleur_handicape"),
        "oui/non ; vide = inconnu",
    ),
    RawColumn(
        "nationalite",
        "nationality",
        "category",
        False,
        "Nationalité (française, UE, hors UE, ou pays).",
        "Nationality (French, EU, non-EU, or country).",
        ("nationalité",),
        "Française, UE, Hors UE, ou un pays",
    ),
    RawColumn(
        "prescripteur",
        "referrer",
        "category",
        False,
        "Prescripteur (qui a orienté le jeune).",
        "Referrer (who sent the young person).",
        ("orienteur", "orientation", "origine"),
        "Mission locale, France Travail / Pôle emploi, Candidature spontanée, PLIE, Autre",
    ),
    RawColumn(
        "date_entree",
        "entry_date",
        "date",
        True,
        "Date d'entrée dans le parcours.",
        "Programme entry date.",
        ("date_d_entree", "entree", "date_debut_parcours"),
        "jj/mm/aaaa, aaaa-mm-jj ou date Excel",
    ),
    RawColumn(
        "date_sortie",
        "exit_date",
        "date",
        False,
        "Date de sortie (vide = encore en parcours).",
        "Exit date (empty = still in the programme).",
        ("date_de_sortie", "sortie", "date_fin_parcours"),
        "jj/mm/aaaa, aaaa-mm-jj ou date Excel",
    ),
    RawColumn(
        "motif_sortie",
        "exit_reason",
        "category",
        False,
        "Situation ou motif de sortie.",
        "Exit situation or reason.",
        ("motif_de_sortie", "situation_sortie", "type_sortie"),
        "CDI, CDD, Intérim, Contrat aidé, Apprentissage, Formation qualifiante, … (voir la liste)",
    ),
    RawColumn(
        "date_debut_situation",
        "outcome_start",
        "date",
        False,
        "Début de la situation après la sortie.",
        "Start of the situation after exit.",
        ("debut_situation", "date_debut_sortie"),
    ),
    RawColumn(
        "date_fin_situation",
        "outcome_end",
        "date",
        False,
        "Fin de la situation (vide = situation en cours).",
        "End of the situation (empty = ongoing).",
        ("fin_situation", "date_fin_sortie"),
    ),
    RawColumn(
        "date_suivi",
        "follow_up_date",
        "date",
        False,
        "Date à laquelle la situation a été confirmée pour la dernière fois.",
        "Date the situation was last confirmed.",
        ("date_de_suivi", "date_dernier_suivi", "suivi"),
    ),
    RawColumn(
        "semaines_entreprise",
        "weeks_in_company",
        "number",
        False,
        "Nombre de semaines en entreprise (stages) ; virgule décimale acceptée.",
        "Weeks spent in companies (placements); decimal comma accepted.",
        ("nb_semaines_entreprise", "semaines_stage", "duree_stages_semaines"),
    ),
    RawColumn(
        "nb_stages",
        "n_internships",
        "integer",
        False,
        "Nombre de stages en entreprise.",
        "Number of company placements.",
        ("nombre_stages", "nb_de_stages"),
    ),
    RawColumn(
        "cofinancement_fse",
        "esf_cofunded",
        "bool",
        False,
        "Parcours cofinancé par le FSE/FSE+.",
        "Parcours co-funded by the ESF/ESF+.",
        ("fse", "cofinance_fse", "financement_fse"),
    ),
    RawColumn(
        "groupe",
        "group",
        "category",
        False,
        "Pour une évaluation d'impact : E2C ou comparaison (absent = E2C).",
        "For an impact evaluation: E2C or comparison (absent = E2C).",
        ("groupe_evaluation", "cohorte"),
    ),
)
RAW_BY_NAME: dict[str, RawColumn] = {c.name: c for c in RAW_COLUMNS}
REQUIRED_RAW_COLUMNS: tuple[str, ...] = tuple(c.name for c in RAW_COLUMNS if c.required)
RAW_HEADER_ALIASES: dict[str, str] = _aliases({c.name: [c.name, *c.variants] for c in RAW_COLUMNS})

# The situations table of a two-table export (one row per situation after exit; see toolkit.situations).
SITUATION_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn(
        "id_stagiaire",
        None,
        "id",
        True,
        "Identifiant du stagiaire.",
        "Trainee identifier.",
        ("identifiant", "id", "num_stagiaire", "numero_stagiaire", "id_jeune"),
    ),
    RawColumn(
        "type_situation",
        None,
        "category",
        True,
        "Type de situation (libellés des motifs de sortie).",
        "Situation type (exit-reason labels).",
        ("situation", "lib_situation", "motif_sortie", "type"),
    ),
    RawColumn(
        "date_debut_situation",
        None,
        "date",
        True,
        "Début de la situation.",
        "Situation start.",
        ("debut_situation", "date_debut", "debut"),
    ),
    RawColumn(
        "date_fin_situation",
        None,
        "date",
        False,
        "Fin de la situation (vide = en cours).",
        "Situation end (empty = ongoing).",
        ("fin_situation", "date_fin", "fin"),
    ),
    RawColumn(
        "date_suivi",
        None,
        "date",
        False,
        "Date de confirmation de la situation.",
        "Date the situation was confirmed.",
        ("date_de_suivi", "date_confirmation", "suivi"),
    ),
)
SITUATION_HEADER_ALIASES: dict[str, str] = _aliases({c.name: [c.name, *c.variants] for c in SITUATION_COLUMNS})


# --------------------------------------------------------------------------
# The canonical frame
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class CanonicalColumn:
    name: str
    dtype: object  # a pandas dtype or dtype string
    description_en: str
    label_fr: str
    label_en: str
    source: tuple[str, ...] = field(default=())  # raw columns it comes from


def _cat(codes) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(codes))


CANONICAL_COLUMNS: tuple[CanonicalColumn, ...] = (
    CanonicalColumn(
        "source_row",
        "int64",
        "1-based data row number in the input file (header excluded).",
        "Ligne source",
        "Source row",
    ),
    CanonicalColumn(
        "trainee_id",
        "string",
        "Keyed pseudonym (HMAC-SHA256) of the input trainee id.",
        "Pseudonyme du stagiaire",
        "Trainee pseudonym",
        ("id_stagiaire",),
    ),
    CanonicalColumn("region", _cat(REGION_NAMES), "Official 2016 region name.", "Région", "Region", ("region",)),
    CanonicalColumn("school", "category", "School (E2C) name as exported, trimmed.", "École", "School", ("ecole",)),
    CanonicalColumn("site", "category", "Training site; the school when not given.", "Site", "Site", ("site", "ecole")),
    CanonicalColumn("sex", _cat(SEX_CODES), "'F' or 'M'.", "Sexe", "Sex", ("sexe",)),
    CanonicalColumn("birth_year", "Int64", "Birth year.", "Année de naissance", "Birth year", ("annee_naissance",)),
    CanonicalColumn(
        "age_at_entry",
        "Int64",
        "Entry year minus birth year (15 to 40 kept).",
        "Âge à l'entrée",
        "Age at entry",
        ("annee_naissance", "date_entree"),
    ),
    CanonicalColumn(
        "education_level",
        _cat(EDUCATION_LEVELS),
        "Education level at entry (2019 nomenclature).",
        "Niveau de formation",
        "Education level",
        ("niveau_formation",),
    ),
    CanonicalColumn("qpv", "boolean", "Lives in a QPV (NA = unknown).", "Résident QPV", "Lives in a QPV", ("qpv",)),
    CanonicalColumn(
        "rural", "boolean", "Lives in a rural area (NA = unknown).", "Zone rurale", "Rural area", ("zone_rurale",)
    ),
    CanonicalColumn(
        "disability",
        "boolean",
        "Recognised disability, RQTH (NA = unknown).",
        "RQTH",
        "Recognised disability",
        ("rqth",),
    ),
    CanonicalColumn(
        "nationality",
        _cat(NATIONALITY_CODES),
        "'francaise', 'ue' or 'hors_ue'.",
        "Nationalité",
        "Nationality",
        ("nationalite",),
    ),
    CanonicalColumn(
        "referrer",
        _cat(REFERRER_CODES),
        "Who referred the young person.",
        "Prescripteur",
        "Referrer",
        ("prescripteur",),
    ),
    CanonicalColumn(
        "entry_date", "datetime64[ns]", "Programme entry date.", "Date d'entrée", "Entry date", ("date_entree",)
    ),
    CanonicalColumn(
        "exit_date",
        "datetime64[ns]",
        "Exit date (NaT = still in the programme).",
        "Date de sortie",
        "Exit date",
        ("date_sortie",),
    ),
    CanonicalColumn(
        "exit_reason",
        _cat(EXIT_REASON_CODES),
        "Canonical exit reason code (NA = no exit yet).",
        "Motif de sortie",
        "Exit reason",
        ("motif_sortie",),
    ),
    CanonicalColumn(
        "exit_category",
        _cat(EXIT_CATEGORIES),
        "job / work_study / training / other / unknown.",
        "Type de sortie",
        "Exit type",
        ("motif_sortie",),
    ),
    CanonicalColumn(
        "outcome_start",
        "datetime64[ns]",
        "Start of the situation after exit.",
        "Début de la situation",
        "Situation start",
        ("date_debut_situation",),
    ),
    CanonicalColumn(
        "outcome_end",
        "datetime64[ns]",
        "End of the situation (NaT = ongoing or unknown).",
        "Fin de la situation",
        "Situation end",
        ("date_fin_situation",),
    ),
    CanonicalColumn(
        "follow_up_date",
        "datetime64[ns]",
        "Date the situation was last confirmed.",
        "Date de suivi",
        "Follow-up date",
        ("date_suivi",),
    ),
    CanonicalColumn(
        "weeks_in_company",
        "Float64",
        "Weeks in company placements.",
        "Semaines en entreprise",
        "Weeks in company",
        ("semaines_entreprise",),
    ),
    CanonicalColumn(
        "n_internships",
        "Int64",
        "Number of company placements.",
        "Nombre de stages",
        "Number of placements",
        ("nb_stages",),
    ),
    CanonicalColumn(
        "esf_cofunded",
        "boolean",
        "Co-funded by the ESF/ESF+ (NA = unknown).",
        "Cofinancement FSE",
        "ESF co-funding",
        ("cofinancement_fse",),
    ),
    CanonicalColumn(
        "group",
        _cat(GROUP_CODES),
        "'e2c' (default) or 'comparaison' for impact designs.",
        "Groupe",
        "Group",
        ("groupe",),
    ),
    CanonicalColumn(
        "cohort_year", "Int64", "Calendar year of entry.", "Année d'entrée", "Cohort year", ("date_entree",)
    ),
    CanonicalColumn(
        "positive_exit",
        "boolean",
        "Positive exit under the definition used (NA = not yet left or not determinable).",
        "Sortie positive",
        "Positive exit",
        ("motif_sortie", "date_debut_situation", "date_fin_situation", "date_suivi"),
    ),
    CanonicalColumn(
        "positive_exit_follow_up",
        "boolean",
        "Positive exit after follow-up: a qualifying situation starting within the definition's follow-up "
        "window (12 months) of exit, from a situations table (NA = window not elapsed, no situation "
        "recorded, or no situations table).",
        "Sortie positive après suivi",
        "Positive exit after follow-up",
        ("type_situation", "date_debut_situation", "date_fin_situation", "date_suivi"),
    ),
)
CANONICAL_DTYPES: dict[str, object] = {c.name: c.dtype for c in CANONICAL_COLUMNS}
CANONICAL_BY_NAME: dict[str, CanonicalColumn] = {c.name: c for c in CANONICAL_COLUMNS}


def empty_canonical_frame() -> pd.DataFrame:
    """A zero-row frame with every canonical column and dtype."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in CANONICAL_DTYPES.items()})


# --------------------------------------------------------------------------
# Label tables of the coded raw columns (what the cleaning step recognises)
# --------------------------------------------------------------------------
# Coded raw columns: their canonical codes and label aliases ({normalised label: code}).
_BOOLEAN_CODES = ("0", "1")
_BOOLEAN_LABELS = {k: str(int(v)) for k, v in BOOLEAN_ALIASES.items()}
CODED_COLUMNS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "region": (REGION_NAMES, REGION_ALIASES),
    "sexe": (SEX_CODES, SEX_ALIASES),
    "niveau_formation": (EDUCATION_LEVELS, EDUCATION_ALIASES),
    "qpv": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "zone_rurale": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "rqth": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "cofinancement_fse": (_BOOLEAN_CODES, _BOOLEAN_LABELS),
    "nationalite": (NATIONALITY_CODES, NATIONALITY_ALIASES),
    "prescripteur": (REFERRER_CODES, REFERRER_ALIASES),
    "motif_sortie": (EXIT_REASON_CODES, EXIT_ALIASES),
    "groupe": (GROUP_CODES, GROUP_ALIASES),
}


def label_table(column: str) -> dict[str, int]:
    """{normalised label: position in the column's codes}; each canonical code is its own label too."""
    codes, aliases = CODED_COLUMNS[column]
    position = {c: i for i, c in enumerate(codes)}
    table = {normalise_key(c): position[c] for c in codes}
    table.update({k: position[c] for k, c in aliases.items()})
    return table
