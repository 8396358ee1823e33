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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from .errors import E2CError, SchemaError
from .i18n import LANGUAGES, N_, _, current_language, use_language
from .indicators import _is_in

__all__ = ["EsfIndicator", "ESF_INDICATORS", "esf_indicators", "esf_unsupported", "NON_BINARY_NOTE"]


class _ByLanguage(Mapping):
    """One message, looked up by language code (``NOTE["en"]``) for callers that index by language."""

    def __init__(self, message: str):
        self.message = message

    def __getitem__(self, lang: str) -> str:
        with use_language(lang):
            return _(self.message)

    def __iter__(self):
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


NON_BINARY_NOTE = _ByLanguage(
    N_(
        "Le sexe est enregistré F/M dans les exports des écoles : les participants non binaires ne sont "
        "pas collectés (colonne « non binaire » non renseignée)."
    )
)


@dataclass(frozen=True)
class EsfIndicator:
    code: str
    kind: str  # "output" (at entry) or "immediate_result" (at exit)
    code_confirmed: bool
    label: str  # French source text, translated by toolkit.i18n
    definition: str  # French source text
    source_columns: tuple[str, ...]


ESF_INDICATORS: tuple[EsfIndicator, ...] = (
    EsfIndicator(
        "EECO01",
        "output",
        True,
        N_("Nombre total de participants"),
        N_("Tous les stagiaires E2C du périmètre."),
        ("trainee_id",),
    ),
    EsfIndicator(
        "EECO06",
        "output",
        True,
        N_("Participants de moins de 18 ans"),
        N_(
            "Âge à l'entrée inférieur à 18 ans (âge = année d'entrée − année de naissance : peut dépasser "
            "l'âge exact d'un an)."
        ),
        ("age_at_entry",),
    ),
    EsfIndicator(
        "EECO07",
        "output",
        True,
        N_("Participants âgés de 18 à 29 ans"),
        N_("Âge à l'entrée de 18 à 29 ans inclus (même approximation de l'âge)."),
        ("age_at_entry",),
    ),
    EsfIndicator(
        "EECO09",
        "output",
        False,
        N_("Participants de niveau CITE 0 à 2"),
        N_("Niveau de formation infra 3 (sans CAP/BEP : anciens niveaux VI, V bis)."),
        ("education_level",),
    ),
    EsfIndicator(
        "EECO10",
        "output",
        False,
        N_("Participants de niveau CITE 3 ou 4"),
        N_(
            "Niveaux 3 (CAP/BEP) et 4 (bac). L'ancien niveau IV compte aussi les élèves sortis de terminale "
            "sans le bac : le niveau atteint peut être surestimé."
        ),
        ("education_level",),
    ),
    EsfIndicator(
        "EECO11",
        "output",
        False,
        N_("Participants de niveau CITE 5 à 8"),
        N_("Niveau 5 et plus (bac+2 et au-delà), rare parmi les stagiaires des E2C."),
        ("education_level",),
    ),
    EsfIndicator(
        "EECO12",
        "output",
        True,
        N_("Participants handicapés"),
        N_(
            "Reconnaissance de la qualité de travailleur handicapé (RQTH) : définition nationale, plus "
            "étroite que toute situation de handicap."
        ),
        ("disability",),
    ),
    EsfIndicator(
        "EECO13",
        "output",
        False,
        N_("Ressortissants de pays tiers"),
        N_("Nationalité hors Union européenne."),
        ("nationality",),
    ),
    EsfIndicator(
        "EECO17",
        "output",
        False,
        N_("Participants issus de zones rurales"),
        N_("Réside en zone rurale selon l'export de l'école."),
        ("rural",),
    ),
    EsfIndicator(
        "EECR02",
        "immediate_result",
        False,
        N_("Participants suivant un enseignement ou une formation à la sortie"),
        N_("Sortie vers une formation (qualifiante ou pré-qualifiante) commencée au plus 28 jours après la sortie."),
        ("exit_date", "exit_reason", "exit_category", "outcome_start"),
    ),
    EsfIndicator(
        "EECR04",
        "immediate_result",
        True,
        N_("Participants exerçant un emploi, y compris à titre indépendant, à la sortie"),
        N_(
            "Sortie vers un emploi (CDI, CDD, intérim, contrat aidé, création d'entreprise) ou un contrat "
            "en alternance, commencé au plus 28 jours après la sortie."
        ),
        ("exit_date", "exit_reason", "exit_category", "outcome_start"),
    ),
    EsfIndicator(
        "EECR01",
        "immediate_result",
        True,
        N_("Participants à la recherche d'un emploi à la sortie"),
        N_("Motif de sortie « recherche d'emploi ». Exclusif de EECR04."),
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
        raise E2CError(_("esf_indicators : attendu un DataFrame canonique, reçu {kind}.", kind=type(data).__name__))
    missing = [c for c in _NEEDED if c not in data.columns]
    if missing:
        raise SchemaError(_("esf_indicators : colonnes canoniques absentes : {v0}.", v0=", ".join(missing)))


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


def esf_indicators(
    data: pd.DataFrame, lang: str | None = None, *, scope: str = "all", within_days: int = 28
) -> pd.DataFrame:
    """The ESF+ common participant indicators the data support, by sex.

    Parameters
    ----------
    data : DataFrame
        Canonical frame, already restricted to the period to report.
    lang : {"fr", "en"}, optional
        Language of ``indicator``, ``definition`` and ``base`` (default: the current language).
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
    with use_language(lang or current_language()):
        return _esf_indicators(data, scope, within_days)


def _esf_indicators(data: pd.DataFrame, scope: str, within_days: int) -> pd.DataFrame:
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
                "indicator": _(indicator.label),
                "women": int((counted & women).sum()),
                "men": int((counted & men).sum()),
                "sex_unknown": int((counted & ~women & ~men).sum()),
                "non_binary": pd.NA,
                "total": int(counted.sum()),
                "unknown": int((unknown & base).sum()),
                "base": _base_label(indicator.kind),
                "n_base": int(base.sum()),
                "definition": _(indicator.definition),
                "source_columns": ", ".join(("sex", *indicator.source_columns)),
            }
        )
    table = pd.DataFrame(rows)
    for column in ("women", "men", "sex_unknown", "total", "unknown", "n_base"):
        table[column] = table[column].astype("int64")
    table["non_binary"] = table["non_binary"].astype("Int64")
    table.attrs.update(scope=scope, n_participants=len(participants), note=_(NON_BINARY_NOTE.message))
    return table


def _participants(data: pd.DataFrame, scope: str) -> pd.DataFrame:
    keep = np.ones(len(data), dtype=bool)
    if "group" in data.columns:
        keep &= data["group"].isna().to_numpy() | _is_in(data["group"], ["e2c"])
    if scope == "esf_cofunded":
        if "esf_cofunded" not in data.columns:
            raise SchemaError(
                _("esf_indicators : la colonne 'esf_cofunded' est absente, le périmètre 'esf_cofunded' est impossible.")
            )
        keep &= data["esf_cofunded"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    elif scope != "all":
        raise E2CError(_("esf_indicators : périmètre inconnu {scope!r} ('all' ou 'esf_cofunded').", scope=scope))
    return data.loc[keep]


def _base_label(kind: str) -> str:
    return _("Participants") if kind == "output" else _("Participants sortis")


_UNSUPPORTED: tuple[tuple[str, bool, str, str], ...] = (  # code, code confirmed, label, reason
    (
        "EECO02",
        True,
        N_("Chômeurs, y compris de longue durée"),
        N_(
            "La situation vis-à-vis de l'emploi à l'entrée n'est pas dans l'export ; être orienté par "
            "France Travail ne prouve pas l'inscription comme demandeur d'emploi."
        ),
    ),
    (
        "EECO03",
        False,
        N_("Chômeurs de longue durée"),
        N_("Ni la situation ni la durée de chômage à l'entrée ne sont exportées."),
    ),
    ("EECO04", False, N_("Personnes inactives"), N_("Situation vis-à-vis de l'emploi à l'entrée non exportée.")),
    (
        "EECO05",
        False,
        N_("Personnes exerçant un emploi, y compris indépendants"),
        N_("Situation vis-à-vis de l'emploi à l'entrée non exportée."),
    ),
    (
        "EECO08",
        False,
        N_("Participants de 55 ans et plus"),
        N_("Sans objet : le nettoyage ne garde que les âges de 15 à 40 ans, le compte serait nul par construction."),
    ),
    (
        "EECO14",
        False,
        N_("Participants d'origine étrangère"),
        N_("Non collecté (donnée sensible) ; la nationalité ne renseigne pas l'origine."),
    ),
    (
        "EECO15",
        False,
        N_("Participants issus de minorités"),
        N_("Non collecté : donnée sensible au sens du RGPD (art. 9)."),
    ),
    (
        "EECO16",
        False,
        N_("Personnes sans domicile ou exclues du logement"),
        N_("La situation de logement n'est pas exportée."),
    ),
    (
        "EECR03",
        True,
        N_("Participants obtenant une qualification à la sortie"),
        N_("Les certifications obtenues pendant le parcours ne sont pas exportées."),
    ),
    (
        "—",
        False,
        N_("Résultats à plus long terme (6 mois après la sortie) : emploi, situation améliorée"),
        N_(
            "Pas d'enquête systématique à 6 mois : la date de suivi et la fin de situation ne couvrent pas "
            "tous les sortants."
        ),
    ),
    ("—", False, N_("Ventilation « non binaire »"), N_("Le sexe est enregistré F/M dans les exports.")),
)


def esf_unsupported(lang: str | None = None) -> pd.DataFrame:
    """ESF+ participant indicators the data cannot support, with the reason.

    Returns
    -------
    DataFrame
        ``code`` ("—" when none applies), ``code_confirmed``, ``indicator``
        and ``reason`` (both in ``lang``).
    """
    with use_language(lang or current_language()):
        return pd.DataFrame(
            [
                {"code": code, "code_confirmed": confirmed, "indicator": _(label), "reason": _(reason)}
                for code, confirmed, label, reason in _UNSUPPORTED
            ]
        )
