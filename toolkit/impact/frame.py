"""Loading an impact design: one file with a ``groupe`` column, or an E2C file and a comparison file,
cleaned the same way into one analysis frame (:class:`ImpactFrame`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..cleaning import clean_export
from ..definitions import get_definition
from ..errors import InputError
from ..i18n import _
from .prepare import DEFAULT_IMPACT_COVARIATES

__all__ = ["ImpactFrame", "load_impact_frame"]


@dataclass(repr=False)
class ImpactFrame:
    """One analysis frame for an impact design.

    Attributes
    ----------
    data : DataFrame
        Every cleaned row of both groups (nothing dropped): the canonical
        columns, plus ``source_file`` (name of the file the row came from),
        ``treated`` (1 = E2C, 0 = comparison) and ``outcome`` (positive exit
        as 0/1 float, NaN when not known). When ``cohort_year`` is a default
        covariate it is turned into text, so that it enters the models as a
        cohort effect rather than a linear trend.
    covariates : list of str
        Default adjustment set: characteristics fixed at entry that are
        observed in both groups and vary (see :data:`DEFAULT_IMPACT_COVARIATES`),
        plus ``region`` and ``cohort_year`` when the data hold several.
    outcome_report : DataFrame
        Index ``group`` (e2c / comparaison); columns ``n``, ``n_outcome_known``,
        ``n_outcome_missing``, ``share_outcome_missing``, ``median_follow_up_months``
        (entry to last follow-up, a check that both groups are observed at
        the same horizon).
    excluded_covariates : dict
        Default covariates left out, with the reason.
    cleaning : list
        The :class:`CleanResult` of each file (rejected rows, warnings).
    rejected : dict
        Rows rejected by the cleaning, by file name (details in ``cleaning``).
    definition : str
        Name of the positive-exit definition.
    """

    data: pd.DataFrame
    covariates: list[str]
    outcome_report: pd.DataFrame
    excluded_covariates: dict
    cleaning: list
    definition: str
    rejected: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n = self.data.groupby("group", observed=True).size().to_dict()
        known = int(self.data["outcome"].notna().sum())
        return (
            f"ImpactFrame(rows={len(self.data)}, by group={n}, outcome known={known}, "
            f"covariates={self.covariates}, definition={self.definition!r})"
        )

    def analysis_data(self) -> pd.DataFrame:
        """Rows with a known outcome (those without are counted in ``outcome_report``)."""
        return self.data.loc[self.data["outcome"].notna()]


def _clean(source, definition, key):
    if isinstance(source, pd.DataFrame):
        return clean_export(source, definition=definition, key=key)
    return clean_export(Path(source), definition=definition, key=key)


def load_impact_frame(e2c_source, comparison_source=None, *, definition=None, key=None) -> ImpactFrame:
    """Load an impact design (one file with a ``groupe`` column, or an E2C file
    and a comparison file) into one analysis frame.

    Each file goes through :func:`toolkit.cleaning.clean_export` (same raw
    contract, same positive-exit definition, so the outcome is measured the
    same way in both groups). With two files, every row of the comparison
    file is a comparison unit: its ``groupe`` column may be absent, or say
    ``Comparaison``; a row marked E2C there is an error. Rows without a known
    outcome are kept and counted, never dropped silently.

    Parameters
    ----------
    e2c_source : path or DataFrame
        The E2C export, or the whole design when it has a ``groupe`` column.
    comparison_source : path or DataFrame, optional
        The comparison cohort.
    definition : str or Definition, optional
        Positive-exit definition (default: the project's).
    key : bytes or str, optional
        Pseudonymisation key, passed to ``clean_export``.

    Returns
    -------
    ImpactFrame
    """
    d = get_definition(definition)
    first = _clean(e2c_source, d, key)
    results = [first]
    frames = [first.data.assign(source_file=first.source_name or "e2c")]
    if comparison_source is not None:
        if (first.data["group"] == "comparaison").any():
            row = first.data.loc[first.data["group"] == "comparaison", "source_row"].iloc[0]
            raise InputError(
                _(
                    "{source_name} : la ligne {row} est marquée « comparaison » alors qu'un fichier de "
                    "comparaison distinct est fourni. Fournissez un seul fichier avec la colonne groupe, ou "
                    "deux fichiers séparés.",
                    source_name=first.source_name,
                    row=row,
                )
            )
        second = _clean(comparison_source, d, key)
        group = second.data["group"]
        if (group == "comparaison").any() and (group == "e2c").any():
            row = second.data.loc[group == "e2c", "source_row"].iloc[0]
            raise InputError(
                _(
                    "{source_name} : la ligne {row} est marquée « E2C » dans le fichier de comparaison.",
                    source_name=second.source_name,
                    row=row,
                )
            )
        comp = second.data.assign(
            group=pd.Categorical(["comparaison"] * len(second.data), categories=first.data["group"].cat.categories)
        )
        results.append(second)
        frames.append(comp.assign(source_file=second.source_name or "comparaison"))
    data = pd.concat(frames, ignore_index=True)
    data["group"] = data["group"].astype(first.data["group"].dtype)
    if data["group"].isna().any():
        raise InputError(
            _("Groupe manquant (ni E2C ni comparaison) pour certaines lignes : vérifiez la colonne groupe.")
        )
    data["treated"] = (data["group"] == "e2c").astype(int)
    if data["treated"].nunique() < 2:
        raise InputError(
            _(
                "Les données ne contiennent qu'un groupe : il faut des stagiaires E2C et un groupe de "
                "comparaison (colonne groupe, ou un second fichier)."
            )
        )
    data["outcome"] = data["positive_exit"].astype("Float64").astype(float)

    report = _outcome_report(data)
    covariates, excluded = _default_covariates(data)
    rejected = {(r.source_name or f"fichier {i + 1}"): len(r.rejected) for i, r in enumerate(results)}
    return ImpactFrame(
        data=data,
        covariates=covariates,
        outcome_report=report,
        excluded_covariates=excluded,
        cleaning=results,
        definition=d.name,
        rejected=rejected,
    )


def _outcome_report(data: pd.DataFrame) -> pd.DataFrame:
    """Outcome known and missing, and median follow-up, by group."""
    follow = (pd.to_datetime(data["follow_up_date"]) - pd.to_datetime(data["entry_date"])).dt.days / 30.4375
    report = pd.DataFrame(
        {
            "n": data.groupby("group", observed=True).size(),
            "n_outcome_known": data["outcome"].notna().groupby(data["group"], observed=True).sum(),
            "median_follow_up_months": follow.groupby(data["group"], observed=True).median(),
        }
    )
    report["n_outcome_missing"] = report["n"] - report["n_outcome_known"]
    report["share_outcome_missing"] = report["n_outcome_missing"] / report["n"]
    report = report[["n", "n_outcome_known", "n_outcome_missing", "share_outcome_missing", "median_follow_up_months"]]
    return report


def _default_covariates(data: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """The default adjustment set observed in both groups, and the covariates left out with the reason;
    ``cohort_year`` becomes text in ``data`` (a cohort effect, not a linear trend)."""
    covariates, excluded = [], {}
    candidates = list(DEFAULT_IMPACT_COVARIATES) + ["region", "cohort_year"]
    for col in candidates:
        observed = data[col].notna().groupby(data["treated"]).mean()
        if (observed < 0.5).any():
            excluded[col] = _("non renseignée pour la moitié au moins d'un groupe")
        elif data[col].nunique(dropna=True) < 2:
            if col not in ("region", "cohort_year"):
                excluded[col] = _("une seule valeur")
        else:
            covariates.append(col)
    if "cohort_year" in covariates:  # a cohort effect, not a linear trend
        data["cohort_year"] = data["cohort_year"].astype("string")
    return covariates, excluded
