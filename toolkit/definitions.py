"""Definitions of a positive exit, as named presets, and their vectorised
computation on the canonical frame.

A definition says, for each exit reason, whether it can be positive and how
long the situation must have lasted (strictly more than N calendar months).
``min_months = 0`` means the situation counts as soon as it is entered: no
start date or duration is needed.

Presets
-------
``projet`` (default)
    The project's rule: a job (any employment contract, subsidised contract or
    business creation), a work-study contract, or a training (qualifying or
    not) that lasted more than 2 months.
``reseau_2017``
    The network's 2017 definition (La Croix, 21/10/2017): qualifying or
    diploma training (with or without alternance), a job of more than
    6 months, or a subsidised contract. A CDD under 2 months (here: any CDD
    not over 6 months), service civique and pre-qualifying training do not count.
``reseau_2023``
    The network's 2023 definition (AFP, 05/04/2024): employment from a CDD of
    more than 3 months, alternance, qualifying training. Short contracts and
    service civique do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import E2CError, SchemaError
from .i18n import N_, _, current_language, use_language
from .schema import EXIT_REASONS

__all__ = [
    "Definition",
    "DEFINITIONS",
    "DEFAULT_DEFINITION",
    "OUTCOME_COLUMNS",
    "get_definition",
    "positive_exit",
    "resolve_outcome",
]

# The canonical columns a positive exit is computed from.
OUTCOME_COLUMNS = ("exit_date", "exit_reason", "outcome_start", "outcome_end", "follow_up_date")


@dataclass(frozen=True)
class Definition:
    """A positive-exit definition: its name, its label and description (French, translated by
    :mod:`toolkit.i18n`), and the minimum duration of each exit reason that can be positive."""

    name: str
    title: str  # short label, French source text
    description: str  # the rule in full, French source text
    min_months: tuple[tuple[str, int], ...]  # (exit_reason code, strict minimum months); absent = never positive
    immediate_days: int = 28  # situations table: the situation at exit starts within this many days of it
    follow_up_months: int = 12  # situations table: positive_exit_follow_up looks this many months after exit

    @property
    def qualifying(self) -> dict[str, int]:
        return dict(self.min_months)

    def label(self, lang: str | None = None) -> str:
        """The short label in ``lang`` (default: the current language)."""
        with use_language(lang or current_language()):
            return _(self.title)

    def text(self, lang: str | None = None) -> str:
        """The rule in full in ``lang`` (default: the current language)."""
        with use_language(lang or current_language()):
            return _(self.description)


_JOBS = [r.code for r in EXIT_REASONS if r.category == "job"]
_WORK_STUDY = [r.code for r in EXIT_REASONS if r.category == "work_study"]
_TRAINING = [r.code for r in EXIT_REASONS if r.category == "training"]

PROJET = Definition(
    name="projet",
    title=N_("Définition du projet (emploi ou formation de plus de 2 mois)"),
    description=N_(
        "Une sortie est positive lorsque le jeune occupe un emploi (tout contrat de travail, contrat aidé "
        "ou création d'entreprise), un contrat en alternance ou une formation (qualifiante ou non) qui a duré "
        "plus de 2 mois : la fin de la situation (ou, si elle est en cours, sa dernière confirmation) est "
        "postérieure de plus de 2 mois calendaires à son début. Exactement 2 mois ne suffit pas. Le taux est "
        "calculé sur les sorties dont l'issue est connue."
    ),
    min_months=tuple((code, 2) for code in _JOBS + _WORK_STUDY + _TRAINING),
)

RESEAU_2017 = Definition(
    name="reseau_2017",
    title=N_("Définition du Réseau E2C (2017)"),
    description=N_(
        "Définition du Réseau en 2017 : formation qualifiante ou diplômante (en alternance ou non), emploi de "
        "plus de 6 mois ou contrat aidé. Les CDD courts, le service civique et les formations pré-qualifiantes "
        "ne comptent pas."
    ),
    min_months=(
        ("formation_qualifiante", 0),
        ("apprentissage", 0),
        ("contrat_professionnalisation", 0),
        ("alternance", 0),
        ("contrat_aide", 0),
        ("cdi", 0),
        ("cdd_6_mois_plus", 0),
        ("cdd", 6),
        ("interim", 6),
        ("emploi", 6),
        ("creation_entreprise", 6),
    ),
)

RESEAU_2023 = Definition(
    name="reseau_2023",
    title=N_("Définition du Réseau E2C (2023)"),
    description=N_(
        "Définition du Réseau en 2023 : emploi à partir d'un CDD de plus de 3 mois, alternance (apprentissage "
        "ou contrat de professionnalisation), formation qualifiante. Les contrats courts et le service civique "
        "ne comptent pas."
    ),
    min_months=(
        ("formation_qualifiante", 0),
        ("apprentissage", 0),
        ("contrat_professionnalisation", 0),
        ("alternance", 0),
        ("cdi", 0),
        ("cdd_6_mois_plus", 0),
        ("cdd", 3),
        ("interim", 3),
        ("emploi", 3),
        ("contrat_aide", 3),
        ("creation_entreprise", 3),
    ),
)

DEFINITIONS: dict[str, Definition] = {d.name: d for d in (PROJET, RESEAU_2017, RESEAU_2023)}
DEFAULT_DEFINITION = PROJET


def get_definition(definition: str | Definition | None = None) -> Definition:
    """Resolve a preset name (or a Definition) to a Definition; None gives the project default."""
    if definition is None:
        return DEFAULT_DEFINITION
    if isinstance(definition, Definition):
        return definition
    try:
        return DEFINITIONS[str(definition)]
    except KeyError:
        known = ", ".join(DEFINITIONS)
        raise E2CError(
            _(
                "Définition de sortie positive inconnue : {definition!r}. Définitions disponibles : {known}.",
                definition=definition,
                known=known,
            )
        ) from None


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``days`` (datetime64[D]) plus ``months`` calendar months, clipped to the
    end of the target month (31 Dec + 2 months = 28/29 Feb), as
    ``pandas.DateOffset(months=...)`` does; NaT stays NaT."""
    month = days.astype("datetime64[M]")
    into_month = days - month.astype("datetime64[D]")
    target = month + months.astype("timedelta64[M]")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    return target.astype("datetime64[D]") + np.minimum(into_month, length - np.timedelta64(1, "D"))


def _reason_months(reason: pd.Series, d: Definition) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the definition's minimum months (-1 = never positive) and
    whether the reason is unknown (missing or 'inconnu'). Works on the
    categorical codes when it can, so the cost does not grow with string length."""
    if isinstance(reason.dtype, pd.CategoricalDtype):
        categories = reason.cat.categories.astype(str)
        codes = reason.cat.codes.to_numpy()
        per_category = np.array([d.qualifying.get(c, -1) for c in categories] + [-1])
        unknown_category = np.append(categories == "inconnu", True)
        return per_category[codes], unknown_category[codes]  # code -1 (NA) takes the appended slot
    text = reason.astype("string")
    months = text.map(d.qualifying).astype("Float64").fillna(-1).to_numpy(dtype=float).astype(int)
    unknown = (text.isna() | (text == "inconnu")).to_numpy(dtype=bool)
    return months, unknown


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]")


def positive_exit(frame: pd.DataFrame, definition: str | Definition | None = None) -> pd.Series:
    """Vectorised positive-exit flag (nullable boolean) on a canonical frame.

    Needs the columns ``exit_date``, ``exit_reason``, ``outcome_start``,
    ``outcome_end`` and ``follow_up_date``.

    * NA: not left yet; unknown exit reason; a qualifying situation with a
      duration rule but no start date; a running situation last confirmed
      ``min_months`` or less after it started (or never confirmed).
    * True: a qualifying reason whose situation lasted strictly more than
      ``min_months`` calendar months (end = ``outcome_end``, else
      ``follow_up_date``), or any qualifying reason with ``min_months = 0``.
    * False: every other exit.
    """
    d = get_definition(definition)
    left = frame["exit_date"].notna().to_numpy()
    months, unknown_reason = _reason_months(frame["exit_reason"], d)
    qualifies = months >= 0
    needs_duration = months > 0

    ended = _days(frame["outcome_end"])
    end = np.where(np.isnat(ended), _days(frame["follow_up_date"]), ended)
    threshold = _add_months(_days(frame["outcome_start"]), np.maximum(months, 0))

    lasted = end > threshold  # False where either side is NaT
    known_short = ~np.isnat(ended) & (ended <= threshold)

    result = pd.array(qualifies & (~needs_duration | lasted), dtype="boolean")
    result[needs_duration & ~lasted & ~known_short] = pd.NA  # no start, or running and not yet long enough
    result[unknown_reason | ~left] = pd.NA
    return pd.Series(result, index=frame.index, name="positive_exit")


def _recorded(data: pd.DataFrame) -> tuple[object, Definition | None]:
    """What ``data.attrs["definition"]`` holds (a Definition, a name or None) and the Definition it names
    (None when nothing is recorded or the name is not a preset)."""
    recorded = data.attrs.get("definition")
    if isinstance(recorded, Definition):
        return recorded, recorded
    return recorded, DEFINITIONS.get(str(recorded)) if recorded is not None else None


def _column_is(recorded: object, known: Definition | None, d: Definition) -> bool:
    """Whether the frame's ``positive_exit`` column was computed under ``d``."""
    if recorded is None:  # not recorded: taken as the project default, as when no definition is asked for
        return d == DEFAULT_DEFINITION
    if known is not None:
        return known == d
    return str(recorded) == d.name  # a custom definition recorded by name, handed back by the caller


def resolve_outcome(
    data: pd.DataFrame, definition: str | Definition | None = None, *, what: str = "positive_exit"
) -> tuple[pd.Series, Definition]:
    """The positive-exit flag (nullable boolean) under ``definition``, and the Definition used.

    The one rule of every analysis (indicators, models, comparison):

    * ``definition=None``: the frame's ``positive_exit`` column, computed at cleaning under the
      definition recorded in ``data.attrs["definition"]`` (a preset name or a Definition; the project
      default when nothing is recorded). Without the column, it is computed under that definition.
    * An explicit definition: the column when it was computed under that same definition (an
      unrecorded column counts as the project default's), else recomputed from the exit reason and
      dates (:data:`OUTCOME_COLUMNS`).

    Raises
    ------
    E2CError
        ``data`` is not a DataFrame; or the frame was cleaned under a custom definition recorded by
        name only and none is given (pass the Definition itself).
    SchemaError
        A recomputation is needed and exit columns are missing.
    """
    if not isinstance(data, pd.DataFrame):
        raise E2CError(
            _(
                "{what} : attendu un DataFrame canonique (CleanResult.data), reçu {kind}.",
                what=what,
                kind=type(data).__name__,
            )
        )
    recorded, known = _recorded(data)
    if definition is None:
        if recorded is not None and known is None:
            raise E2CError(
                _(
                    "{what} : le tableau a été nettoyé avec la définition « {name} », qui n'est pas une "
                    "définition prédéfinie. Passez-la à la fonction (definition=...).",
                    what=what,
                    name=recorded,
                )
            )
        d = known or DEFAULT_DEFINITION
        if "positive_exit" in data.columns:
            return data["positive_exit"].astype("boolean"), d
    else:
        d = get_definition(definition)
        if "positive_exit" in data.columns and _column_is(recorded, known, d):
            return data["positive_exit"].astype("boolean"), d
    absent = [c for c in OUTCOME_COLUMNS if c not in data.columns]
    if absent:
        raise SchemaError(
            _(
                "{what} : impossible d'appliquer la définition « {name} », colonnes absentes du tableau : "
                "{columns}. Passez le tableau nettoyé par toolkit.clean_export (CleanResult.data).",
                what=what,
                name=d.name,
                columns=", ".join(absent),
            )
        )
    return positive_exit(data, d), d
