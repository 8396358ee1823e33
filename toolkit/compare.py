"""Fair comparison of regions, schools and sites: indirect standardisation
against a national model of intake, with funnel-plot control limits.

A unit's raw positive-exit rate mixes what the unit does with whom it takes
in. Here the *expected* positive exits of a unit are the sum, over its exits,
of the probability that a trainee with the same characteristics has a positive
exit nationally (:func:`fit_expected_model`). A unit doing as well as the
country with its own intake has observed / expected (O/E) close to 1.

The control limits say how far from 1 an O/E ratio can fall by chance alone,
given the unit's size; the overdispersion adjustment widens them for the
unexplained spread between units that is always present in real data, so that
only units that stand out from *that* are flagged (Spiegelhalter 2005;
Spiegelhalter et al. 2012). Units are returned in alphabetical order, never
ranked: a funnel plot replaces league tables.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import mstats

from .definitions import Definition, resolve_outcome
from .errors import ModelError, SchemaError
from .i18n import _
from .models import ModelWarning, PositiveExitModel, fit_positive_exit
from .models.prepare import DEFAULT_COVARIATES

__all__ = [
    "DEFAULT_EXPECTED_COVARIATES",
    "ExpectedModel",
    "ComparisonTable",
    "fit_expected_model",
    "compare_units",
    "funnel_limits",
]

# The positive-exit model's characteristics at entry, without the region: the expected rate of a unit is what the
# country achieves with the same intake, wherever the unit is.
DEFAULT_EXPECTED_COVARIATES: tuple[str, ...] = tuple(c for c in DEFAULT_COVARIATES if c != "region")
UNITS = ("site", "school", "region")
LEVELS = {"95": 0.95, "998": 0.998}


@dataclass
class ExpectedModel:
    """The national model of intake used to compute expected positive exits.

    Attributes
    ----------
    model : the underlying :class:`~toolkit.models.PositiveExitModel` (no clustering,
        missing strategy ``"indicator"``).
    covariates : tuple of the intake columns used.
    include_region : bool, whether the region is a covariate.
    national_rate : float, observed positive-exit rate over the exits with a
        known outcome the model was fitted on.
    n : int, exits with a known outcome used.
    definition : Definition of a positive exit.
    """

    model: PositiveExitModel
    covariates: tuple[str, ...]
    include_region: bool
    national_rate: float
    n: int
    definition: Definition

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Expected probability of a positive exit for each row (NaN only for a
        category never seen in the national data)."""
        return self.model.predict(data)


class ComparisonTable(pd.DataFrame):
    """The table of :func:`compare_units`: a DataFrame that shows itself in JupyterLab as a French
    table formatted as in the reports. Any operation on it (selection, sorting...) gives a plain
    DataFrame; :func:`toolkit.display.comparison_table` formats those too."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def display_table(self, raw_names: bool = False) -> pd.DataFrame:
        """The comparison as text (units in alphabetical order); column names of the toolkit only
        with ``raw_names=True``."""
        from .display import comparison_table

        return comparison_table(self, raw_names)

    def _repr_html_(self) -> str:
        from .display import comparison_caption, html_table

        caption, notes = comparison_caption(self.attrs)
        return html_table(self.display_table(), caption, notes)


def fit_expected_model(
    data: pd.DataFrame,
    covariates=None,
    include_region: bool = False,
    definition: str | Definition | None = None,
    *,
    strict: bool = True,
) -> ExpectedModel:
    """Fit the national model of intake characteristics, once, for reuse.

    A logistic regression of a positive exit on intake characteristics only
    (default :data:`DEFAULT_EXPECTED_COVARIATES`: sex, age at entry, education
    level, QPV, disability, nationality, cohort year). It leaves out the unit's
    identity (site, school) and, unless ``include_region=True``, the region;
    it leaves out weeks in company too, as these measure what the unit does,
    not whom it takes in.

    Missing covariates (strategy ``"indicator"``): a missing categorical gets
    its own ``missing`` level, a missing boolean or number is filled (most
    frequent value / national median) with a ``<column>_missing`` 0/1 term; a
    column with fewer than 30 missing values just gets its most frequent value
    (median), since a tiny level of its own could be perfectly separated. So
    every exit with a known outcome has an expected value and no exit drops out
    of a unit's count; the counts by column and the handling used are in
    ``.model.missing``.

    Returns
    -------
    ExpectedModel
    """
    cols = tuple(covariates) if covariates is not None else DEFAULT_EXPECTED_COVARIATES
    cols = tuple(c for c in cols if c not in ("site", "school") and (include_region or c != "region"))
    if include_region and "region" not in cols:
        cols = cols + ("region",)
    model = fit_positive_exit(
        data, cluster=None, definition=definition, covariates=list(cols), missing="indicator", strict=strict
    )
    y, d = resolve_outcome(data, definition, what="compare_units")
    rate = float(y.dropna().astype(float).mean())
    return ExpectedModel(model, cols, include_region, rate, model.n, d)


def funnel_limits(
    expected, variance, *, target: float = 1.0, tau2: float = 0.0, phi: float = 1.0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of an indirectly standardised ratio O/E (normal approximation).

    ``expected`` = E = Σ p and ``variance`` = V = Σ p(1 − p) over the unit's exits;
    ``s = √V / E`` is the null SD of O/E. Limits are ``target ± z · √(phi · s² + tau2)``,
    z the two-sided normal quantile of ``level``; the lower limit is truncated at 0.

    Returns
    -------
    (lower, upper) : two float arrays.
    """
    expected = np.asarray(expected, dtype=float)
    variance = np.asarray(variance, dtype=float)
    s2 = variance / expected**2
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(phi * s2 + tau2)
    return np.maximum(target - half, 0.0), target + half


def compare_units(
    data: pd.DataFrame,
    by: str = "site",
    expected: ExpectedModel | None = None,
    overdispersion: str | None = "additive",
    winsor: float = 0.1,
    definition: str | Definition | None = None,
) -> pd.DataFrame:
    """Risk-adjusted comparison of units by indirect standardisation, with
    funnel-plot control limits.

    For unit i with exits j (known outcome) and national-model probabilities p_ij:

    * O_i = Σ y_ij (observed positive exits), E_i = Σ p_ij (expected),
      V_i = Σ p_ij (1 − p_ij) (variance of O_i if the unit performs as the nation);
    * O/E ratio SR_i = O_i / E_i; risk-adjusted rate = SR_i × national rate;
    * null SD of SR_i: s_i = √V_i / E_i; z-score z_i = (SR_i − 1) / s_i = (O_i − E_i) / √V_i
      (normal approximation, as in Spiegelhalter 2005 for indirectly standardised ratios,
      with the exact Bernoulli-sum variance instead of the Poisson one);
    * overdispersion (Spiegelhalter 2005, §8; Spiegelhalter et al. 2012): the z-scores are
      winsorised at ``winsor`` in each tail (``scipy.stats.mstats.winsorize``), giving
      φ̂ = (1/I) Σ z_w² over the I units;

      - ``"multiplicative"``: limits 1 ± z_α √φ s_i, with φ = max(φ̂, 1);
      - ``"additive"`` (default; random effects, DerSimonian–Laird style):
        τ̂² = max(0, (I φ̂ − (I − 1)) / (Σ w_i − Σ w_i² / Σ w_i)), w_i = 1 / s_i²,
        limits 1 ± z_α √(s_i² + τ̂²);
      - ``None``: limits 1 ± z_α s_i;

    * z_α = 1.960 (95 %) and 3.090 (99.8 %); lower limits truncated at 0. A unit is
      ``'above'`` / ``'below'`` when its O/E lies outside the limits, else ``'within'``.
      The normal approximation is good once V_i reaches about 10 (a few dozen exits);
      for smaller units the flags are approximate, one more reason to hide units under
      the publication threshold (``min_n`` of the funnel plot).

    References: D. J. Spiegelhalter (2005), "Funnel plots for comparing institutional
    performance", Statistics in Medicine 24:1185–1202; D. J. Spiegelhalter, C. Sherlaw-Johnson,
    M. Bardsley et al. (2012), "Statistical methods for healthcare regulation: rating,
    screening and surveillance", JRSS A 175:1–47.

    Parameters
    ----------
    data : canonical frame of the units to compare (usually national).
    by : ``"site"``, ``"school"`` or ``"region"``.
    expected : an :class:`ExpectedModel` fitted once (e.g. nationally); fitted on ``data`` if None.
    overdispersion : ``"additive"`` (default), ``"multiplicative"`` or None.
    winsor : fraction winsorised in each tail to estimate the overdispersion.
    definition : positive-exit definition (default: the expected model's).

    Returns
    -------
    DataFrame, one row per unit, in alphabetical order (not a ranking):
        ``<by>`` (unit name); ``region`` (sites and schools: the region of most of
        their exits); ``school`` (sites only); ``n`` (exits with a known outcome);
        ``n_unknown_outcome`` (exits whose outcome is unknown, not used);
        ``observed``; ``expected``; ``oe_ratio``; ``observed_rate`` (O / n, raw);
        ``adjusted_rate`` (O/E × national rate); ``se`` (null SD of O/E, s_i);
        ``z``; ``z_adjusted`` (z after the overdispersion adjustment);
        ``lower95``, ``upper95``, ``lower998``, ``upper998`` (O/E scale);
        ``flag95``, ``flag998`` (``'above'``, ``'below'``, ``'within'``).
        ``.attrs``: ``by``, ``method`` (overdispersion), ``phi``, ``tau2``,
        ``winsor``, ``n_units``, ``national_rate``, ``definition``,
        ``covariates`` (of the expected model), ``units_without_known_outcome``
        (units left out because none of their exits has a known outcome).
    """
    _check_options(data, by, overdispersion, winsor)
    if expected is None:
        expected = fit_expected_model(data, definition=definition)
    if by == "region" and expected.include_region:
        raise ModelError(
            _(
                "Comparer des régions avec un modèle attendu qui contient la région annulerait les "
                "écarts à comparer : ajustez le modèle sans la région."
            )
        )
    y, d = resolve_outcome(data, definition if definition is not None else expected.definition, what="compare_units")
    if d.name != expected.definition.name:
        raise ModelError(
            _(
                "Le modèle attendu a été ajusté avec la définition « {name} » ; la comparaison demande « "
                "{name1} ». Ajustez le modèle attendu avec la même définition.",
                name=expected.definition.name,
                name1=d.name,
            )
        )
    known, codes, names, p = _expected_values(data, by, y, expected)
    table, no_outcome = _unit_counts(data, by, y, known, codes, names, p, expected.national_rate)
    phi, tau2 = overdispersion_estimates(table["z"].to_numpy(), table["se"].to_numpy(), winsor)
    phi_used = max(phi, 1.0) if overdispersion == "multiplicative" else 1.0
    tau2_used = tau2 if overdispersion == "additive" else 0.0
    table["z_adjusted"] = (table["oe_ratio"] - 1) / np.sqrt(phi_used * table["se"] ** 2 + tau2_used)
    for suffix, level in LEVELS.items():
        low, high = funnel_limits(table["expected"], table["variance"], phi=phi_used, tau2=tau2_used, level=level)
        table[f"lower{suffix}"], table[f"upper{suffix}"] = low, high
        table[f"flag{suffix}"] = np.where(
            table["oe_ratio"] > high, "above", np.where(table["oe_ratio"] < low, "below", "within")
        )
    table = ComparisonTable(_unit_labels(table.drop(columns="variance").reset_index(), data.loc[known], by))
    table.attrs.update(
        {
            "by": by,
            "method": overdispersion,
            "phi": float(phi),
            "tau2": float(tau2),
            "phi_used": float(phi_used),
            "tau2_used": float(tau2_used),
            "winsor": winsor,
            "n_units": int(len(table)),
            "national_rate": expected.national_rate,
            "definition": d.name,
            "covariates": list(expected.covariates),
            "units_without_known_outcome": no_outcome,
        }
    )
    return table


def _check_options(data: pd.DataFrame, by: str, overdispersion, winsor: float) -> None:
    if by not in UNITS:
        raise SchemaError(_("Unité de comparaison inconnue : {by!r} (site, school ou region).", by=by))
    if by not in data.columns:
        raise SchemaError(_("Colonne {by!r} absente du tableau : comparaison impossible.", by=by))
    if overdispersion not in ("additive", "multiplicative", None):
        raise ModelError(
            _(
                "Ajustement de surdispersion inconnu : {overdispersion!r} (additive, multiplicative ou None).",
                overdispersion=overdispersion,
            )
        )
    if not 0 <= winsor < 0.5:
        raise ModelError(_("winsor doit être compris entre 0 et 0,5 (reçu {winsor!r}).", winsor=winsor))


def _expected_values(data: pd.DataFrame, by: str, y: pd.Series, expected: ExpectedModel):
    """Rows with a known outcome, unit codes and names, and the expected probability of each known exit."""
    known = y.notna().to_numpy()
    codes, names = pd.factorize(data[by], use_na_sentinel=True)
    names = pd.Index([str(v) for v in names], dtype=object)
    if (known & (codes < 0)).any():
        rows = np.flatnonzero(known & (codes < 0))
        raise SchemaError(
            _(
                "Colonne {by!r} non renseignée pour {v1} sortie(s) (lignes {v2}…).",
                by=by,
                v1=len(rows),
                v2=", ".join(map(str, data.index[rows[:5]])),
            )
        )
    rows = data.loc[known]
    p = expected.predict(rows).to_numpy()
    if np.isnan(p).any():
        bad = int(np.isnan(p).sum())
        raise ModelError(
            _(
                "{bad} sortie(s) sans valeur attendue : une modalité absente des données du modèle "
                "national (par exemple une année ou une région nouvelle). Réajustez le modèle attendu "
                "sur des données qui la contiennent.",
                bad=bad,
            )
        )
    return known, codes, names, p


def _unit_counts(data, by, y, known, codes, names, p, national_rate: float):
    """Observed, expected and null variance by unit, O/E and its z; units with no known outcome apart."""
    unit_codes = codes[known]
    size = len(names)
    table = pd.DataFrame(
        {
            "n": np.bincount(unit_codes, minlength=size),
            "observed": np.bincount(unit_codes, weights=y[known].astype(float).to_numpy(), minlength=size),
            "expected": np.bincount(unit_codes, weights=p, minlength=size),
            "variance": np.bincount(unit_codes, weights=p * (1 - p), minlength=size),
        },
        index=pd.Index(names, name=by),
    )
    no_outcome = sorted(table.index[table["n"] == 0])  # only unknown outcomes: cannot be compared
    table = table[table["n"] > 0].sort_index()
    left = data["exit_date"].notna().to_numpy() if "exit_date" in data.columns else np.ones(len(data), dtype=bool)
    unknown_mask = left & ~known & (codes >= 0)
    unknown = pd.Series(np.bincount(codes[unknown_mask], minlength=size), index=names).reindex(table.index)
    table.insert(1, "n_unknown_outcome", unknown.astype(int))
    table["observed"] = table["observed"].astype(int)
    table["oe_ratio"] = table["observed"] / table["expected"]
    table["observed_rate"] = table["observed"] / table["n"]
    table["adjusted_rate"] = table["oe_ratio"] * national_rate
    table["se"] = np.sqrt(table["variance"]) / table["expected"]
    table["z"] = (table["oe_ratio"] - 1) / table["se"]
    return table, no_outcome


def _unit_labels(table: pd.DataFrame, known_rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """The region (and school) of each site or school; a warning for site names shared by several schools."""
    if by in ("site", "school"):
        table.insert(1, "region", _main_value(known_rows, by, "region").reindex(table[by]).to_numpy())
    if by == "site" and "school" in known_rows.columns:
        table.insert(2, "school", _main_value(known_rows, by, "school").reindex(table[by]).to_numpy())
        shared = _shared_names(known_rows, by, "school")
        if shared:
            warnings.warn(
                _(
                    "Site(s) portant le même nom dans plusieurs écoles, comparés comme un seul site : {v0}. "
                    "Renommez-les (par ex. « école – site ») pour les distinguer.",
                    v0=", ".join(shared[:10]),
                ),
                ModelWarning,
                stacklevel=3,
            )
    return table


def overdispersion_estimates(z, se, winsor: float = 0.1) -> tuple[float, float]:
    """φ̂ (mean squared winsorised z-score) and the additive τ̂² (see :func:`compare_units`)."""
    z = np.asarray(z, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(z) & np.isfinite(se) & (se > 0)
    z, se = z[ok], se[ok]
    count = len(z)
    if count < 2:
        return float("nan"), 0.0
    zw = np.asarray(mstats.winsorize(z, limits=(winsor, winsor)), dtype=float) if winsor > 0 else z
    phi = float(np.mean(zw**2))
    w = 1 / se**2
    denominator = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (count * phi - (count - 1)) / denominator) if denominator > 0 else 0.0
    return phi, float(tau2)


def _shared_names(data: pd.DataFrame, by: str, column: str) -> list[str]:
    """Units (e.g. site names) that appear under more than one value of ``column`` (school)."""
    pairs = pd.DataFrame({"u": pd.factorize(data[by])[0], "v": pd.factorize(data[column])[0]}).drop_duplicates()
    names = pd.factorize(data[by])[1]
    counts = pairs[pairs["v"] >= 0].groupby("u").size()
    return sorted(str(names[u]) for u in counts.index[counts > 1] if u >= 0)


def _main_value(data: pd.DataFrame, by: str, column: str) -> pd.Series:
    """For each unit, the most frequent value of ``column`` among its rows."""
    unit_codes, units = pd.factorize(data[by])
    value_codes, values = pd.factorize(data[column])
    ok = (unit_codes >= 0) & (value_codes >= 0)
    counts = pd.DataFrame({"u": unit_codes[ok], "v": value_codes[ok]}).value_counts()
    top = counts.reset_index().drop_duplicates(subset="u", keep="first")  # value_counts sorts by count
    return pd.Series([str(values[v]) for v in top["v"]], index=pd.Index([str(units[u]) for u in top["u"]]))
