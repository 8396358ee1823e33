"""ESF+ common participant indicators that the canonical frame supports
(Regulation (EU) 2021/1057, Annex I), and the list of those it cannot support.

Every indicator is a count of participants, broken down by sex: women, men,
sex not stated, total. ESF+ also asks for non-binary participants; E2C
exports record sex as F/M only, so the ``non_binary`` column is NA ("not
collected"), never 0.

Scope and conventions
---------------------
* Participants are the E2C trainees of the frame (rows of the comparison
  group of an impact design are left out). ``scope="esf_cofunded"`` keeps
  only parcours flagged as ESF/ESF+ co-funded (``esf_cofunded`` True);
  callers filter the period (entries of the year, exits of the year...)
  before calling.
* Outputs count participants at entry; immediate results count participants
  who left (``exit_date`` set).
* ``unknown`` counts participants of the base whose characteristic is not
  known (e.g. no age for EECO06); they are counted in no indicator.
* Codes: EECO01, EECO02, EECO06, EECO07, EECO12, EECR01, EECR03 and EECR04
  are given by the project's domain brief. The others (EECO09–EECO11 ISCED,
  EECO13 third-country nationals, EECO17 rural, EECR02 education or
  training) are from the Regulation's numbering as we understand it and are
  marked ``code_confirmed = False``: check them against the managing
  authority's list before filing.

Immediate results: how exit reasons map
---------------------------------------
The three results are mutually exclusive, each leaver in at most one:

* **EECR04 in employment, including self-employment**: exit category
  ``job`` (CDI, CDD, interim, subsidised contract, business creation, other
  job) and ``work_study`` (apprenticeship and professionalisation contracts
  are employment contracts);
* **EECR02 in education or training**: exit category ``training``
  (qualifying and pre-qualifying training);
* **EECR01 job searching**: exit reason ``recherche_emploi`` only ("sans
  solution", "retour Mission locale" do not say the person is searching);
* a situation that started more than 28 days after leaving (``outcome_start``
  later than ``exit_date`` + 28 days) is not an immediate result; when the
  start date is missing, the situation recorded at exit is taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from .errors import E2CError, SchemaError
from .indicators import _is_in

__all__ = ["EsfIndicator", "ESF_INDICATORS", "esf_indicators", "esf_unsupported", "NON_BINARY_NOTE"]

NON_BINARY_NOTE: dict[str, str] = {
    "fr": "Le sexe est enregistré F/M dans les exports des écoles : les participants non binaires ne sont "
    "pas collectés (colonne « non binaire » non renseignée).",
    "en": "Exports record sex as F/M: non-binary participants are not collected (the non-binary column is "
    "not available).",
}


@dataclass(frozen=True)
class EsfIndicator:
    code: str
    kind: str  # "output" (at entry) or "immediate_result" (at exit)
    code_confirmed: bool
    label_fr: str
    label_en: str
    definition_fr: str
    definition_en: str
    source_columns: tuple[str, ...]


ESF_INDICATORS: tuple[EsfIndicator, ...] = (
    EsfIndicator(
        "EECO01",
        "output",
        True,
        "Nombre total de participants",
        "Total number of participants",
        "Tous les stagiaires E2C du périmètre.",
        "Every E2C trainee in scope.",
        ("trainee_id",),
    ),
    EsfIndicator(
        "EECO06",
        "output",
        True,
        "Participants de moins de 18 ans",
        "Participants below 18 years of age",
        "Âge à l'entrée inférieur à 18 ans (âge = année d'entrée − année de naissance : peut dépasser "
        "l'âge exact d'un an).",
        "Age at entry below 18 (age = entry year − birth year: may exceed the exact age by one year).",
        ("age_at_entry",),
    ),
    EsfIndicator(
        "EECO07",
        "output",
        True,
        "Participants âgés de 18 à 29 ans",
        "Participants aged 18 to 29",
        "Âge à l'entrée de 18 à 29 ans inclus (même approximation de l'âge).",
        "Age at entry from 18 to 29 inclusive (same age approximation).",
        ("age_at_entry",),
    ),
    EsfIndicator(
        "EECO09",
        "output",
        False,
        "Participants de niveau CITE 0 à 2",
        "Participants with lower secondary education or less (ISCED 0-2)",
        "Niveau de formation infra 3 (sans CAP/BEP : anciens niveaux VI, V bis).",
        "Education level below 3 (no CAP/BEP: old levels VI, V bis).",
        ("education_level",),
    ),
    EsfIndicator(
        "EECO10",
        "output",
        False,
        "Participants de niveau CITE 3 ou 4",
        "Participants with upper secondary (ISCED 3) or post-secondary (ISCED 4) education",
        "Niveaux 3 (CAP/BEP) et 4 (bac). L'ancien niveau IV compte aussi les élèves sortis de terminale "
        "sans le bac : le niveau atteint peut être surestimé.",
        "Levels 3 (CAP/BEP) and 4 (baccalauréat). The old level IV also includes pupils who left the "
        "final year without the bac: attainment may be overstated.",
        ("education_level",),
    ),
    EsfIndicator(
        "EECO11",
        "output",
        False,
        "Participants de niveau CITE 5 à 8",
        "Participants with tertiary education (ISCED 5-8)",
        "Niveau 5 et plus (bac+2 et au-delà) : rare dans le public des E2C, à vérifier.",
        "Level 5 and above (two years after the bac or more): rare among E2C trainees, worth checking.",
        ("education_level",),
    ),
    EsfIndicator(
        "EECO12",
        "output",
        True,
        "Participants handicapés",
        "Participants with disabilities",
        "Reconnaissance de la qualité de travailleur handicapé (RQTH) : définition nationale, plus "
        "étroite que toute situation de handicap.",
        "Recognised disabled worker status (RQTH): a national definition, narrower than any disability.",
        ("disability",),
    ),
    EsfIndicator(
        "EECO13",
        "output",
        False,
        "Ressortissants de pays tiers",
        "Third-country nationals",
        "Nationalité hors Union européenne.",
        "Nationality outside the European Union.",
        ("nationality",),
    ),
    EsfIndicator(
        "EECO17",
        "output",
        False,
        "Participants issus de zones rurales",
        "Participants from rural areas",
        "Réside en zone rurale selon l'export de l'école.",
        "Lives in a rural area according to the school's export.",
        ("rural",),
    ),
    EsfIndicator(
        "EECR02",
        "immediate_result",
        False,
        "Participants suivant un enseignement ou une formation à la sortie",
        "Participants in education or training upon leaving",
        "Sortie vers une formation (qualifiante ou pré-qualifiante) commencée au plus 28 jours après la sortie.",
        "Left for a training (qualifying or pre-qualifying) starting within 28 days.",
        ("exit_date", "exit_reason", "exit_category", "outcome_start"),
    ),
    EsfIndicator(
        "EECR04",
        "immediate_result",
        True,
        "Participants exerçant un emploi, y compris à titre indépendant, à la sortie",
        "Participants in employment, including self-employment, upon leaving",
        "Sortie vers un emploi (CDI, CDD, intérim, contrat aidé, création d'entreprise) ou un contrat en "
        "alternance, commencé au plus 28 jours après la sortie.",
        "Left for a job (permanent, fixed-term, agency, subsidised, business creation) or a work-study "
        "contract starting within 28 days.",
        ("exit_date", "exit_reason", "exit_category", "outcome_start"),
    ),
    EsfIndicator(
        "EECR01",
        "immediate_result",
        True,
        "Participants à la recherche d'un emploi à la sortie",
        "Participants engaged in job searching upon leaving",
        "Motif de sortie « recherche d'emploi ». Exclusif de EECR04.",
        "Exit reason 'job searching'. Mutually exclusive with EECR04.",
        ("exit_date", "exit_reason"),
    ),
)

_OUTPUT_ROWS = ("EECO01", "EECO06", "EECO07", "EECO09", "EECO10", "EECO11", "EECO12", "EECO13", "EECO17")
_NEEDED = (
    "sex",
    "age_at_entry",
    "education_level",
    "disability",
    "nationality",
    "rural",
    "exit_date",
    "exit_reason",
    "exit_category",
    "outcome_start",
)


def _check(data: pd.DataFrame) -> None:
    if not isinstance(data, pd.DataFrame):
        raise E2CError(f"esf_indicators : attendu un DataFrame canonique, reçu {type(data).__name__}.")
    missing = [c for c in _NEEDED if c not in data.columns]
    if missing:
        raise SchemaError(f"esf_indicators : colonnes canoniques absentes : {', '.join(missing)}.")


def _flags(data: pd.DataFrame, within_days: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each indicator: (in base, counted, characteristic unknown), boolean arrays per participant."""
    n = len(data)
    everyone = np.ones(n, dtype=bool)
    age = data["age_at_entry"].astype("Float64")
    age_known = age.notna().to_numpy()
    age_np = age.to_numpy(dtype=float, na_value=np.nan)
    isced = data["education_level"].astype("object").map(schema.EDUCATION_ISCED)
    isced_known = isced.notna().to_numpy()

    def true_of(column: str) -> tuple[np.ndarray, np.ndarray]:
        values = data[column].astype("boolean")
        return values.fillna(False).to_numpy(dtype=bool), values.isna().to_numpy()

    disability, disability_unknown = true_of("disability")
    rural, rural_unknown = true_of("rural")
    nationality = data["nationality"]

    left = data["exit_date"].notna().to_numpy()
    category = data["exit_category"]
    reason = data["exit_reason"]
    exit_unknown = left & (reason.isna().to_numpy() | _is_in(reason, ["inconnu"]) | _is_in(category, ["unknown"]))
    start = pd.to_datetime(data["outcome_start"])
    late = (start > pd.to_datetime(data["exit_date"]) + pd.Timedelta(days=within_days)).to_numpy()
    timely = left & ~late & ~exit_unknown
    employment = timely & _is_in(category, ["job", "work_study"])
    training = timely & _is_in(category, ["training"])
    searching = timely & _is_in(reason, ["recherche_emploi"])

    return {
        "EECO01": (everyone, everyone, np.zeros(n, dtype=bool)),
        "EECO06": (everyone, age_known & (age_np < 18), ~age_known),
        "EECO07": (everyone, age_known & (age_np >= 18) & (age_np <= 29), ~age_known),
        "EECO09": (everyone, (isced == "isced_0_2").to_numpy(), ~isced_known),
        "EECO10": (everyone, (isced == "isced_3_4").to_numpy(), ~isced_known),
        "EECO11": (everyone, (isced == "isced_5_8").to_numpy(), ~isced_known),
        "EECO12": (everyone, disability, disability_unknown),
        "EECO13": (everyone, _is_in(nationality, ["hors_ue"]), nationality.isna().to_numpy()),
        "EECO17": (everyone, rural, rural_unknown),
        "EECR02": (left, training, exit_unknown),
        "EECR04": (left, employment, exit_unknown),
        "EECR01": (left, searching, exit_unknown),
    }


def esf_indicators(data: pd.DataFrame, lang: str = "fr", *, scope: str = "all", within_days: int = 28) -> pd.DataFrame:
    """The ESF+ common participant indicators the data support, by sex.

    Parameters
    ----------
    data : DataFrame
        Canonical frame, already restricted to the period to report.
    lang : {"fr", "en"}
        Language of ``indicator``, ``definition`` and ``base``.
    scope : {"all", "esf_cofunded"}
        All E2C participants, or only those whose parcours is flagged as
        ESF/ESF+ co-funded (``esf_cofunded`` True; unknown flags left out).
    within_days : int
        An immediate result must start within this many days of leaving
        (28 in the Regulation).

    Returns
    -------
    DataFrame
        One row per indicator (outputs first, then immediate results):

        * ``code``: ESF+ code; ``code_confirmed``: False when the code was
          not confirmed by the project's sources;
        * ``kind``: ``"output"`` or ``"immediate_result"``;
        * ``indicator``: its name in ``lang``;
        * ``women``, ``men``, ``sex_unknown``: participants counted, by sex;
        * ``non_binary``: NA (not collected, see :data:`NON_BINARY_NOTE`);
        * ``total``: participants counted (``women + men + sex_unknown``);
        * ``unknown``: participants of the base whose characteristic is not
          recorded (counted in no indicator);
        * ``base``: who the indicator counts among (all participants, or
          participants who left) and ``n_base`` their number;
        * ``definition``: how the count is made, in ``lang``;
        * ``source_columns``: canonical columns used, comma-separated.

        ``df.attrs`` holds ``scope``, ``n_participants`` and ``note``.
    """
    if lang not in ("fr", "en"):
        raise E2CError(f"Langue inconnue : {lang!r}. Langues disponibles : 'fr', 'en'.")
    _check(data)
    participants = _participants(data, scope)
    women = _is_in(participants["sex"], ["F"])
    men = _is_in(participants["sex"], ["M"])
    flags = _flags(participants, within_days)
    rows = []
    for indicator in ESF_INDICATORS:
        base, counted, unknown = flags[indicator.code]
        counted = counted & base
        rows.append(
            {
                "code": indicator.code,
                "code_confirmed": indicator.code_confirmed,
                "kind": indicator.kind,
                "indicator": indicator.label_fr if lang == "fr" else indicator.label_en,
                "women": int((counted & women).sum()),
                "men": int((counted & men).sum()),
                "sex_unknown": int((counted & ~women & ~men).sum()),
                "non_binary": pd.NA,
                "total": int(counted.sum()),
                "unknown": int((unknown & base).sum()),
                "base": _base_label(indicator.kind, lang),
                "n_base": int(base.sum()),
                "definition": indicator.definition_fr if lang == "fr" else indicator.definition_en,
                "source_columns": ", ".join(("sex", *indicator.source_columns)),
            }
        )
    table = pd.DataFrame(rows)
    for column in ("women", "men", "sex_unknown", "total", "unknown", "n_base"):
        table[column] = table[column].astype("int64")
    table["non_binary"] = table["non_binary"].astype("Int64")
    table.attrs.update(scope=scope, n_participants=len(participants), note=NON_BINARY_NOTE[lang])
    return table


def _participants(data: pd.DataFrame, scope: str) -> pd.DataFrame:
    keep = np.ones(len(data), dtype=bool)
    if "group" in data.columns:
        keep &= data["group"].isna().to_numpy() | _is_in(data["group"], ["e2c"])
    if scope == "esf_cofunded":
        if "esf_cofunded" not in data.columns:
            raise SchemaError(
                "esf_indicators : la colonne 'esf_cofunded' est absente, le périmètre 'esf_cofunded' est impossible."
            )
        keep &= data["esf_cofunded"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    elif scope != "all":
        raise E2CError(f"esf_indicators : périmètre inconnu {scope!r} ('all' ou 'esf_cofunded').")
    return data.loc[keep]


def _base_label(kind: str, lang: str) -> str:
    if kind == "output":
        return "Participants"  # same word in both languages
    return "Participants sortis" if lang == "fr" else "Participants who left"


_UNSUPPORTED: tuple[tuple[str, bool, str, str, str, str], ...] = (
    # code, code confirmed, label fr, label en, reason fr, reason en
    (
        "EECO02",
        True,
        "Chômeurs, y compris de longue durée",
        "Unemployed, including long-term unemployed",
        "La situation vis-à-vis de l'emploi à l'entrée n'est pas dans l'export ; être orienté par France Travail ne "
        "prouve pas l'inscription comme demandeur d'emploi.",
        "Employment status at entry is not exported; a referral by France Travail does not prove registration as "
        "unemployed.",
    ),
    (
        "EECO03",
        False,
        "Chômeurs de longue durée",
        "Long-term unemployed",
        "Ni la situation ni la durée de chômage à l'entrée ne sont exportées.",
        "Neither employment status nor unemployment duration at entry is exported.",
    ),
    (
        "EECO04",
        False,
        "Personnes inactives",
        "Inactive",
        "Situation vis-à-vis de l'emploi à l'entrée non exportée.",
        "Employment status at entry is not exported.",
    ),
    (
        "EECO05",
        False,
        "Personnes exerçant un emploi, y compris indépendants",
        "Employed, including self-employed",
        "Situation vis-à-vis de l'emploi à l'entrée non exportée.",
        "Employment status at entry is not exported.",
    ),
    (
        "EECO08",
        False,
        "Participants de 55 ans et plus",
        "Participants aged 55 and above",
        "Sans objet : le nettoyage ne garde que les âges de 15 à 40 ans, le compte serait nul par construction.",
        "Not applicable: cleaning keeps ages 15 to 40, so the count would be zero by construction.",
    ),
    (
        "EECO14",
        False,
        "Participants d'origine étrangère",
        "Participants with a foreign background",
        "Non collecté (donnée sensible) ; la nationalité ne renseigne pas l'origine.",
        "Not collected (sensitive data); nationality does not tell background.",
    ),
    (
        "EECO15",
        False,
        "Participants issus de minorités",
        "Participants from minorities",
        "Non collecté : donnée sensible au sens du RGPD (art. 9).",
        "Not collected: special-category data (GDPR art. 9).",
    ),
    (
        "EECO16",
        False,
        "Personnes sans domicile ou exclues du logement",
        "Homeless or affected by housing exclusion",
        "La situation de logement n'est pas exportée.",
        "Housing situation is not exported.",
    ),
    (
        "EECR03",
        True,
        "Participants obtenant une qualification à la sortie",
        "Participants gaining a qualification upon leaving",
        "Les certifications obtenues pendant le parcours ne sont pas exportées.",
        "Qualifications gained during the parcours are not exported.",
    ),
    (
        "—",
        False,
        "Résultats à plus long terme (6 mois après la sortie) : emploi, situation améliorée",
        "Longer-term results (6 months after leaving): employment, better labour-market situation",
        "Pas d'enquête systématique à 6 mois : la date de suivi et la fin de situation ne couvrent pas tous les "
        "sortants (codes non confirmés).",
        "No systematic survey at 6 months: follow-up and situation end dates do not cover every leaver (codes "
        "unconfirmed).",
    ),
    (
        "—",
        False,
        "Ventilation « non binaire »",
        "Non-binary breakdown",
        "Le sexe est enregistré F/M dans les exports.",
        "Exports record sex as F/M only.",
    ),
)


def esf_unsupported(lang: str = "fr") -> pd.DataFrame:
    """ESF+ participant indicators the data cannot support, with the reason.

    Returns
    -------
    DataFrame
        ``code`` ("—" when none applies), ``code_confirmed``, ``indicator``
        and ``reason`` (both in ``lang``).
    """
    if lang not in ("fr", "en"):
        raise E2CError(f"Langue inconnue : {lang!r}. Langues disponibles : 'fr', 'en'.")
    fr = lang == "fr"
    return pd.DataFrame(
        [
            {
                "code": code,
                "code_confirmed": confirmed,
                "indicator": lab_fr if fr else lab_en,
                "reason": why_fr if fr else why_en,
            }
            for code, confirmed, lab_fr, lab_en, why_fr, why_en in _UNSUPPORTED
        ]
    )
