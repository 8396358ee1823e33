"""The published national benchmarks of the E2C network (rates by year, exit mix, trainee profile),
to set beside a region's or a school's indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import E2CError
from .i18n import _

__all__ = ["NATIONAL_BENCHMARKS", "national_rate", "with_national"]


_SRC_RATES = (
    "Réseau E2C France, taux nationaux publiés (rapports d'activité et presse, rassemblés dans le dossier du projet)"
)
_SRC_FOLLOWUP = "Réseau E2C France : taux en fin de parcours puis après un suivi jusqu'à 12 mois"
_SRC_MIX = "Réseau E2C France, chiffres 2024 (dossier du projet)"
_SRC_PROFILE = "Réseau E2C France, profil national des stagiaires 2013–2023 (dossier du projet)"


def _benchmark_rates() -> pd.DataFrame:
    rows = [
        # year, rate, timing, headline, network definition in force
        (2008, 0.62, "non_precise", True),
        (2011, 0.58, "non_precise", True),
        (2015, 0.59, "non_precise", True),
        (2016, 0.55, "fin_parcours", False),
        (2016, 0.62, "avec_suivi", True),
        (2018, 0.60, "non_precise", True),
        (2019, 0.55, "fin_parcours", False),
        (2019, 0.63, "avec_suivi", True),
        (2021, 0.64, "non_precise", True),
        (2022, 0.63, "non_precise", True),
        (2023, 0.62, "non_precise", True),
        (2024, 0.61, "non_precise", True),
    ]
    frame = pd.DataFrame(rows, columns=["year", "rate", "timing", "headline"])
    frame["network_definition"] = np.select(
        [frame["year"] < 2017, frame["year"] < 2023], ["avant_2017", "reseau_2017"], "reseau_2023"
    )
    frame["source"] = np.where(frame["timing"] == "non_precise", _SRC_RATES, _SRC_FOLLOWUP)
    return frame


NATIONAL_BENCHMARKS: dict[str, pd.DataFrame] = {
    # Published national positive-exit rates. `timing`: "fin_parcours" (at the
    # end of the parcours), "avec_suivi" (after a follow-up of up to 12 months)
    # or "non_precise" (the publication does not say). `headline`: the one
    # figure per year set beside local rates. `network_definition`: the
    # network definition presumably in force that year (an inference from the
    # 2017 and 2023 press descriptions, not a documented fact).
    "rates": _benchmark_rates(),
    # Exit mix published for 2024. The network's "training" is qualifying
    # training only, while the toolkit's `training` category also holds
    # pre-qualifying training; "other" was not published.
    "exit_mix": pd.DataFrame(
        {
            "year": [2024, 2024, 2024],
            "category": ["job", "work_study", "training"],
            "share": [0.20, 0.16, 0.25],
            "note": ["Emploi", "Alternance", "Formation qualifiante uniquement"],
            "source": [_SRC_MIX] * 3,
        }
    ),
    # National trainee profile, 2013–2023, as a published range (low == high
    # when a single value was published). `indicator` names the canonical
    # column and code it compares with.
    "profile": pd.DataFrame(
        [
            ("sex", "F", "Femmes", 0.50, 0.50),
            ("qpv", "True", "Résident QPV", 0.30, 0.37),
            ("rural", "True", "Zone rurale", 0.10, 0.10),
            ("nationality", "hors_ue", "Nationalité hors UE", 0.12, 0.12),
            ("disability", "True", "RQTH", 0.04, 0.07),
            ("age_band", "16-17", "Mineurs (16–17 ans)", 0.19, 0.31),
            ("education_level", "infra_3", "Sans CAP/BEP", 0.91, 0.91),
            ("referrer", "mission_locale", "Orientés par la Mission locale", 0.55, 0.67),
            ("referrer", "france_travail", "Orientés par France Travail", 0.06, 0.06),
            ("referrer", "candidature_spontanee", "Candidatures spontanées", 0.22, 0.22),
        ],
        columns=["column", "code", "label_fr", "low", "high"],
    ).assign(period="2013–2023", approximate=True, source=_SRC_PROFILE),
    # Interruptions as a share of exits (published figure: about 22 %, counted apart
    # by the network, unconfirmed as a formal rule).
    "interruptions": pd.DataFrame(
        {"indicator": ["interruption_share"], "share": [0.22], "confirmed": [False], "source": [_SRC_RATES]}
    ),
}


def national_rate(year: int | None = None) -> pd.Series:
    """The headline national positive-exit rate of ``year`` (default: the latest published).

    Returns
    -------
    Series
        ``year``, ``rate``, ``timing``, ``headline``, ``network_definition``,
        ``source`` of that year's headline figure.

    Raises
    ------
    E2CError
        If no figure was published for ``year``.
    """
    rates = NATIONAL_BENCHMARKS["rates"]
    headline = rates[rates["headline"]]
    if year is None:
        return headline.sort_values("year").iloc[-1].copy()
    match = headline[headline["year"] == int(year)]
    if match.empty:
        years = ", ".join(str(y) for y in headline["year"])
        raise E2CError(
            _("Aucun taux national publié pour {year}. Années disponibles : {years}.", year=year, years=years)
        )
    return match.iloc[0].copy()


def with_national(table: pd.DataFrame, *, year: int | None = None, year_column: str | None = None) -> pd.DataFrame:
    """Set the national published figure beside every local one.

    For a rates table (a ``rate`` column): the headline national rate of the
    row's year when ``year_column`` (``cohort_year`` or ``exit_year``) is
    given or present in the table (NaN for years with no published figure),
    else the rate of ``year`` (default: the latest published year).

    For an exit-mix table (``category`` and ``share`` columns): the 2024
    published share of the category (NaN for ``other`` and ``unknown``).

    Returns
    -------
    DataFrame
        ``table`` plus ``national`` (proportion), ``national_year``,
        ``national_timing`` (rates only) and ``national_source``.

    Notes
    -----
    National figures use the network's definitions and denominators
    (usually trainees who finished a full parcours), which differ from the
    project's: they are context, not a like-for-like comparison.
    """
    out = table.copy()
    if "category" in out.columns and "share" in out.columns:
        mix = NATIONAL_BENCHMARKS["exit_mix"].set_index("category")
        category = out["category"].astype("object")
        out["national"] = category.map(mix["share"]).astype("float64")
        out["national_year"] = category.map(mix["year"]).astype("Int64")
        out["national_source"] = category.map(mix["source"])
        return out
    if "rate" not in out.columns:
        raise E2CError(_("with_national : le tableau doit contenir une colonne 'rate' ou 'category' et 'share'."))
    rates = NATIONAL_BENCHMARKS["rates"]
    headline = rates[rates["headline"]].set_index("year")
    if year_column is None and year is None:
        year_column = next((c for c in ("cohort_year", "exit_year") if c in out.columns), None)
    if year_column is not None:
        years = out[year_column].astype("Int64")
        out["national"] = years.map(headline["rate"]).astype("float64")
        out["national_year"] = years.where(years.isin(headline.index))
        out["national_timing"] = years.map(headline["timing"])
        out["national_source"] = years.map(headline["source"])
        return out
    figure = national_rate(year)
    out["national"] = float(figure["rate"])
    out["national_year"] = pd.array([int(figure["year"])] * len(out), dtype="Int64")
    out["national_timing"] = figure["timing"]
    out["national_source"] = figure["source"]
    return out
