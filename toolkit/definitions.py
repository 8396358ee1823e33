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

from .errors import E2CError
from .schema import EXIT_REASONS

__all__ = ["Definition", "DEFINITIONS", "DEFAULT_DEFINITION", "get_definition", "positive_exit"]


@dataclass(frozen=True)
class Definition:
    name: str
    label_fr: str
    label_en: str
    text_fr: str
    text_en: str
    min_months: tuple[tuple[str, int], ...]  # (exit_reason code, strict minimum months); absent = never positive
    immediate_days: int = 28  # situations table: the situation at exit starts within this many days of it
    follow_up_months: int = 12  # situations table: positive_exit_follow_up looks this many months after exit

    @property
    def qualifying(self) -> dict[str, int]:
        return dict(self.min_months)

    def label(self, lang: str = "fr") -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def text(self, lang: str = "fr") -> str:
        return self.text_fr if lang == "fr" else self.text_en


_JOBS = [r.code for r in EXIT_REASONS if r.category == "job"]
_WORK_STUDY = [r.code for r in EXIT_REASONS if r.category == "work_study"]
_TRAINING = [r.code for r in EXIT_REASONS if r.category == "training"]

PROJET = Definition(
    name="projet",
    label_fr="Définition du projet (emploi ou formation de plus de 2 mois)",
    label_en="Project definition (job or training lasting more than 2 months)",
    text_fr=(
        "Une sortie est positive lorsque le jeune occupe un emploi (tout contrat de travail, contrat aidé "
        "ou création d'entreprise), un contrat en alternance ou une formation (qualifiante ou non) qui a duré "
        "plus de 2 mois : la fin de la situation (ou, si elle est en cours, sa dernière confirmation) est "
        "postérieure de plus de 2 mois calendaires à son début. Exactement 2 mois ne suffit pas. Le taux est "
        "calculé sur les sorties dont l'issue est connue."
    ),
    text_en=(
        "An exit is positive when the young person holds a job (any employment contract, subsidised contract "
        "or business creation), a work-study contract or a training (qualifying or not) that lasted more than "
        "2 months: the end of the situation (or, when it is ongoing, its last confirmation) is more than 2 "
        "calendar months after its start. Exactly 2 months is not enough. The rate is computed over exits "
        "with a known outcome."
    ),
    min_months=tuple((code, 2) for code in _JOBS + _WORK_STUDY + _TRAINING),
)

RESEAU_2017 = Definition(
    name="reseau_2017",
    label_fr="Définition du Réseau E2C (2017)",
    label_en="E2C network definition (2017)",
    text_fr=(
        "Définition du Réseau en 2017 : formation qualifiante ou diplômante (en alternance ou non), emploi de "
        "plus de 6 mois ou contrat aidé. Les CDD courts, le service civique et les formations pré-qualifiantes "
        "ne comptent pas."
    ),
    text_en=(
        "The network's 2017 definition: qualifying or diploma training (with or without work-study), a job of "
        "more than 6 months, or a subsidised contract. Short fixed-term contracts, civic service and "
        "pre-qualifying training do not count."
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
    label_fr="Définition du Réseau E2C (2023)",
    label_en="E2C network definition (2023)",
    text_fr=(
        "Définition du Réseau en 2023 : emploi à partir d'un CDD de plus de 3 mois, alternance (apprentissage "
        "ou contrat de professionnalisation), formation qualifiante. Les contrats courts et le service civique "
        "ne comptent pas."
    ),
    text_en=(
        "The network's 2023 definition: employment from a fixed-term contract of more than 3 months, "
        "work-study (apprenticeship or professionalisation contract), qualifying training. Short contracts "
        "and civic service do not count."
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
            f"Définition de sortie positive inconnue : {definition!r}. Définitions disponibles : {known}."
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
