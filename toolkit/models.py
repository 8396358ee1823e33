"""Models of positive exits.

* :func:`fit_positive_exit`: logistic regression (statsmodels formula API) of a
  positive exit on the trainee's characteristics, with standard errors
  clustered by site, odds ratios, average marginal effects, discrimination
  (AUC), calibration, and an explicit account of missing covariates.
* :func:`fit_multilevel`: the same fixed effects with site random intercepts
  (``BinomialBayesMixedGLM``, variational Bayes), giving shrunken site effects.

Coefficients are named neutrally, as in the synthetic truth:
``sex[M]``, ``age_at_entry``, ``education_level[niveau_3]``, ``qpv``,
``nationality[hors_ue]``, ``weeks_in_company``, ``cohort_year[2021]``,
``region[Bretagne]``... References: sex F, education infra_3, nationality
francaise, the first cohort year present, the first region of
``schema.REGION_NAMES`` present.

No silent failures: perfect or quasi-complete separation, non-convergence,
a singular design and non-finite estimates raise :class:`~toolkit.errors.ModelError`
with a French message naming the problem (and the terms, when they can be
identified), or, with ``strict=False``, are listed in ``.problems`` and
announced by a :class:`ModelWarning`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from . import schema
from .definitions import Definition, resolve_outcome
from .design import formula_variables
from .errors import ModelError, SchemaError

__all__ = [
    "DEFAULT_COVARIATES",
    "ModelWarning",
    "PositiveExitModel",
    "MultilevelModel",
    "fit_positive_exit",
    "fit_multilevel",
    "auc_mann_whitney",
    "calibration_table",
    "calibration_slope_intercept",
    "average_marginal_effects",
    "neutral_name",
]

OUTCOME = "positive_exit"

DEFAULT_COVARIATES: tuple[str, ...] = (
    "sex",
    "age_at_entry",
    "education_level",
    "qpv",
    "disability",
    "nationality",
    "weeks_in_company",
    "cohort_year",
    "region",
)

# Category order = reference first (Treatment coding uses the first level).
_CATEGORY_ORDER: dict[str, tuple] = {
    "sex": schema.SEX_CODES,
    "education_level": schema.EDUCATION_LEVELS,
    "nationality": schema.NATIONALITY_CODES,
    "region": schema.REGION_NAMES,
    "referrer": schema.REFERRER_CODES,
}
_BOOLEANS = {"qpv", "rural", "disability", "esf_cofunded"}
_NUMERICS = {"age_at_entry", "weeks_in_company", "n_internships", "birth_year"}
MISSING_LEVEL = "missing"  # extra level for missing categoricals (strategy 'indicator')
MIN_MISSING_LEVEL = 30  # fewer missing values than this get the most frequent value instead (strategy 'indicator')

# Beyond these a logit coefficient or its (model-based) standard error means the
# maximum-likelihood estimate does not really exist (odds ratio > 20 000).
_HUGE_COEF = 10.0
_HUGE_SE = 25.0

_SEVERE = (PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning)


class ModelWarning(UserWarning):
    """A model was fitted with ``strict=False`` despite a problem listed in ``.problems``."""


# --------------------------------------------------------------------------
# Preparing model-ready data
# --------------------------------------------------------------------------
def _levels_present(column: str, values: pd.Series) -> list:
    present = pd.unique(values.dropna())
    if column == "cohort_year":
        return sorted(int(v) for v in present)
    order = _CATEGORY_ORDER.get(column)
    if order is None and isinstance(values.dtype, pd.CategoricalDtype):
        order = tuple(values.cat.categories)
    if order is None:
        return sorted(str(v) for v in present)
    present_set = {str(v) for v in present}
    return [c for c in order if str(c) in present_set]


def _kind(column: str, values: pd.Series) -> str:
    if column in _BOOLEANS or pd.api.types.is_bool_dtype(values.dtype):
        return "boolean"
    if column == "cohort_year" or column in _CATEGORY_ORDER or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if column in _NUMERICS or pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric"
    return "categorical"


def _as_float(values: pd.Series) -> np.ndarray:
    """Numbers or booleans (nullable or not) as a float array with NaN for missing."""
    textual = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
    if isinstance(values.dtype, pd.CategoricalDtype) or textual:
        values = pd.to_numeric(values.astype("string"), errors="coerce")
    return pd.array(values, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)


def _text_key(value) -> str:
    """Text of a level as used in names: integral numbers without '.0' (cohort years)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _level_codes(values: pd.Series, level_text: list[str], fill_level: str | None = None) -> np.ndarray:
    """Position of each value in ``level_text`` (-1: unknown level, or missing
    without a ``missing`` level or ``fill_level``), by factorising first so that
    only the distinct values are converted to text."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position = {t: i for i, t in enumerate(level_text)}
    missing_to = position.get(fill_level if fill_level is not None else MISSING_LEVEL, -1)
    lookup = np.array([position.get(_text_key(u), -1) for u in uniques] + [missing_to], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the last entry


@dataclass
class _Design:
    """How raw canonical columns become model-ready columns (fixed at fit time)."""

    covariates: list[str]
    missing: str  # 'complete_case' or 'indicator'
    kinds: dict[str, str] = field(default_factory=dict)
    levels: dict[str, list] = field(default_factory=dict)  # categorical levels, reference first
    fill: dict[str, float] = field(default_factory=dict)  # numeric / 0-1 fill value (strategy 'indicator')
    indicators: list[str] = field(default_factory=list)  # `<col>_missing` columns created
    fill_level: dict[str, str] = field(default_factory=dict)  # categorical: level given to rare missing values
    imputed: dict[str, int] = field(default_factory=dict)  # columns whose few missing values were filled

    @classmethod
    def learn(cls, data: pd.DataFrame, covariates, missing: str) -> _Design:
        design = cls(list(covariates), missing)
        for col in design.covariates:
            values = data[col]
            kind = design.kinds[col] = _kind(col, values)
            n_missing = int(values.isna().sum())
            # Too few missing values for a level of their own (it could be separated, all
            # positive or all not): give them the most frequent value (median for numbers).
            rare = missing == "indicator" and 0 < n_missing < MIN_MISSING_LEVEL
            if rare:
                design.imputed[col] = n_missing
            if kind == "categorical":
                levels = _levels_present(col, values)
                if rare:
                    design.fill_level[col] = _text_key(values.mode(dropna=True).iloc[0])
                elif missing == "indicator" and n_missing:
                    levels = levels + [MISSING_LEVEL]
                design.levels[col] = levels
            elif missing == "indicator" and n_missing:
                numbers = pd.Series(_as_float(values))
                design.fill[col] = float(numbers.median() if kind == "numeric" else numbers.mode().iloc[0])
                if not rare:
                    design.indicators.append(f"{col}_missing")
        return design

    def transform(self, data: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """Model-ready frame (float / pandas Categorical with object categories) and
        a boolean Series: row has every covariate (after the missing strategy)."""
        out = {}
        usable = np.ones(len(data), dtype=bool)
        for col in self.covariates:
            values = data[col]
            kind = self.kinds[col]
            if kind == "categorical":
                codes = _level_codes(values, [str(v) for v in self.levels[col]], self.fill_level.get(col))
                usable &= codes >= 0
                out[col] = pd.Categorical.from_codes(
                    codes, categories=pd.Index([str(v) for v in self.levels[col]], dtype=object)
                )
            else:
                num = _as_float(values)
                if col in self.fill:
                    absent = np.isnan(num)
                    if f"{col}_missing" in self.indicators:
                        out[f"{col}_missing"] = absent.astype(float)
                    num = np.where(absent, self.fill[col], num)
                usable &= ~np.isnan(num)
                out[col] = num
        frame = pd.DataFrame(out, index=data.index)
        return frame, pd.Series(usable, index=data.index)

    def rhs_terms(self) -> list[str]:
        terms = []
        for col in self.covariates:
            terms.append(col)
            if f"{col}_missing" in self.indicators:
                terms.append(f"{col}_missing")
        return terms


def neutral_name(term: str) -> str:
    """patsy term name -> neutral name: ``sex[T.M]`` and ``C(sex, Treatment('F'))[T.M]`` -> ``sex[M]``."""
    m = re.fullmatch(r"C\(\s*([A-Za-z_][A-Za-z0-9_]*)[^\[]*\)\[T\.(.*)\]", term)
    if m:
        return f"{m.group(1)}[{m.group(2)}]"
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[T\.(.*)\]", term)
    if m:
        return f"{m.group(1)}[{m.group(2)}]"
    return term


def _separated_levels(frame: pd.DataFrame, y: np.ndarray, design: _Design, used: list[str]) -> list[str]:
    """Categorical levels / binary covariate values whose outcomes are all equal
    (quasi-complete separation: their maximum-likelihood coefficient is infinite)."""
    out = []
    ys = pd.Series(y, index=frame.index)
    for col in used:
        kind = design.kinds.get(col, "numeric")
        if kind == "categorical":
            key = frame[col]
        elif kind == "boolean" or col.endswith("_missing"):
            key = frame[col]
        else:
            continue
        grouped = ys.groupby(key, observed=True).agg(["sum", "count"])
        bad = grouped[(grouped["sum"] == 0) | (grouped["sum"] == grouped["count"])]
        for level, row in bad.iterrows():
            what = "toutes positives" if row["sum"] == row["count"] else "toutes non positives"
            name = f"{col}[{level}]" if kind == "categorical" else f"{col}={level:g}"
            out.append(f"{name} ({int(row['count'])} sortie(s), {what})")
    return out


def _huge_terms(params: pd.Series, bse: pd.Series) -> list[str]:
    bad = (~np.isfinite(params)) | (~np.isfinite(bse)) | (params.abs() > _HUGE_COEF) | (bse > _HUGE_SE)
    names = params.index[bad.to_numpy()]
    listed = [f"{name} (coef. {params[name]:.3g}, e.-t. {bse[name]:.3g})" for name in names[:6]]
    if len(names) > 6:
        listed.append(f"et {len(names) - 6} autre(s) terme(s)")
    return listed


def _handle_problems(problems: list[str], strict: bool, what: str) -> None:
    if not problems:
        return
    problems[:] = list(dict.fromkeys(problems))  # the same warning can fire at every iteration
    text = "; ".join(problems)
    if strict:
        raise ModelError(
            f"{what} ne peut pas être estimé de façon fiable : {text}. Regroupez ou retirez les modalités "
            "en cause, simplifiez la formule, ou relancez avec strict=False pour obtenir les estimations "
            "avec ces problèmes signalés."
        )
    warnings.warn(f"{what} : résultats à ne pas utiliser tels quels : {text}.", ModelWarning, stacklevel=3)


def _prepare(data, formula, covariates, cluster, definition, missing):
    """Rows with a known outcome, model-ready columns, missing-data accounting and formula."""
    if not isinstance(data, pd.DataFrame):
        raise SchemaError("Le modèle attend un tableau canonique (pandas DataFrame).")
    if missing not in ("complete_case", "indicator"):
        raise ModelError(f"Stratégie de données manquantes inconnue : {missing!r} (complete_case ou indicator).")
    y_all, d = resolve_outcome(data, definition, what="fit_positive_exit")
    known = y_all.notna().to_numpy()
    rows = data.loc[known]
    if formula is not None:
        covariates = formula_variables(formula, data.columns, exclude=OUTCOME)
    covariates = list(covariates if covariates is not None else DEFAULT_COVARIATES)
    absent = [c for c in covariates if c not in data.columns]
    if cluster is not None and cluster not in data.columns:
        absent.append(cluster)
    if absent:
        raise SchemaError(f"Colonnes absentes du tableau pour le modèle : {', '.join(absent)}.")
    notes = []
    if formula is None:
        # Drop terms that cannot be estimated at all, and say so.
        kept = []
        for col in covariates:
            values = rows[col]
            if values.notna().sum() == 0:
                notes.append(f"{col} retirée du modèle : jamais renseignée")
            elif values.dropna().nunique() < 2:
                notes.append(f"{col} retirée du modèle : une seule valeur observée")
            else:
                kept.append(col)
        covariates = kept
    if len(rows) == 0:
        raise ModelError("Aucune sortie dont l'issue est connue : le modèle ne peut pas être estimé.")

    design = _Design.learn(rows, covariates, missing)
    frame, usable = design.transform(rows)
    frame[OUTCOME] = y_all[known].astype("Float64").to_numpy(dtype=float)
    by_column = {c: int(rows[c].isna().sum()) for c in covariates}
    if cluster is not None:
        codes, uniques = pd.factorize(rows[cluster], use_na_sentinel=True)
        frame[cluster] = pd.Categorical.from_codes(codes, categories=pd.Index([str(u) for u in uniques], dtype=object))
        by_column[cluster] = int((codes < 0).sum())
        usable &= codes >= 0
    dropped = int((~usable).sum())
    missing_info = {
        "strategy": missing,
        "rows_with_known_outcome": int(len(rows)),
        "rows_used": int(usable.sum()),
        "rows_dropped": dropped,
        "by_column": by_column,
    }
    if missing == "indicator":
        missing_info["indicator_columns"] = list(design.indicators) + [
            f"{c}[{MISSING_LEVEL}]" for c, lv in design.levels.items() if MISSING_LEVEL in lv
        ]
        missing_info["imputed_most_frequent"] = dict(design.imputed)
    frame = frame.loc[usable.to_numpy()]
    if formula is None:
        formula = f"{OUTCOME} ~ " + " + ".join(design.rhs_terms()) if design.covariates else f"{OUTCOME} ~ 1"
    return frame, design, d, formula, missing_info, notes


def _missing_table(missing: dict, lang: str = "fr") -> pd.DataFrame:
    """Missing values by column among the exits with a known outcome.

    Columns (fr / en): Variable, Valeurs manquantes / Missing values, Part / Share
    (of the exits with a known outcome); the strategy and the rows left out are
    in ``.attrs``.
    """
    fr = lang == "fr"
    labels = {c.name: (c.label_fr if fr else c.label_en) for c in schema.CANONICAL_COLUMNS}
    total = max(missing["rows_with_known_outcome"], 1)
    table = pd.DataFrame(
        {
            "Variable": [labels.get(c, c) for c in missing["by_column"]],
            "Valeurs manquantes" if fr else "Missing values": list(missing["by_column"].values()),
        },
        index=pd.Index(list(missing["by_column"]), name="column"),
    )
    table["Part" if fr else "Share"] = table.iloc[:, 1] / total
    table.attrs.update({k: missing[k] for k in ("strategy", "rows_with_known_outcome", "rows_used", "rows_dropped")})
    return table


# --------------------------------------------------------------------------
# Performance measures (usable on any outcome / probability pair)
# --------------------------------------------------------------------------
def auc_mann_whitney(y, p) -> float:
    """Area under the ROC curve by the Mann–Whitney rank formula (ties count 1/2).

    AUC = (R1 − n1(n1 + 1)/2) / (n1·n0), with R1 the sum of the mid-ranks of
    the predicted probabilities of the n1 positive outcomes.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    n1 = float((y == 1).sum())
    n0 = float((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(p)
    r1 = ranks[y == 1].sum()
    return float((r1 - n1 * (n1 + 1) / 2) / (n1 * n0))


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Observed against predicted by decile of predicted probability.

    Returns
    -------
    DataFrame, one row per decile (fewer when predictions tie):
        decile (1 = lowest predictions), n, mean_predicted, observed_rate,
        ci_low, ci_high (Wilson 95 % interval of the observed rate).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(y) & np.isfinite(p)
    frame = pd.DataFrame({"y": y[ok], "p": p[ok]})
    frame["decile"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False) + 1
    table = frame.groupby("decile").agg(n=("y", "size"), mean_predicted=("p", "mean"), positives=("y", "sum"))
    table["observed_rate"] = table["positives"] / table["n"]
    low, high = proportion_confint(table["positives"].to_numpy(), table["n"].to_numpy(), alpha=0.05, method="wilson")
    table["ci_low"], table["ci_high"] = low, high
    return table.drop(columns="positives").reset_index()


def calibration_slope_intercept(y, p) -> tuple[float, float]:
    """Logistic recalibration (Cox 1958): slope of ``y ~ logit(p)``, and the
    intercept of ``y ~ 1`` with ``logit(p)`` as offset (calibration-in-the-large).

    Perfect calibration gives slope 1 and intercept 0. On the data a logistic
    model was fitted to, both hold exactly by construction; evaluate on new data.
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    ok = np.isfinite(y) & np.isfinite(p)
    y, lp = y[ok], np.log(p[ok] / (1 - p[ok]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit().params[1]
        intercept = sm.GLM(y, np.ones_like(y), family=sm.families.Binomial(), offset=lp).fit().params[0]
    return float(slope), float(intercept)


@dataclass(frozen=True)
class ModelPerformance:
    """Discrimination and calibration of predictions against observed outcomes."""

    n: int
    auc: float
    calibration: pd.DataFrame
    calibration_slope: float
    calibration_intercept: float


def _performance(y, p) -> ModelPerformance:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(y) & np.isfinite(p)
    slope, intercept = calibration_slope_intercept(y[ok], p[ok])
    return ModelPerformance(
        int(ok.sum()), auc_mann_whitney(y[ok], p[ok]), calibration_table(y[ok], p[ok]), slope, intercept
    )


# --------------------------------------------------------------------------
# Fixed-effects logistic model
# --------------------------------------------------------------------------
class PositiveExitModel:
    """A fitted logistic model of positive exits.

    Attributes
    ----------
    results : statsmodels ``LogitResults`` (cluster-robust covariance when clustered).
    formula : str, the patsy formula fitted.
    definition : Definition of a positive exit used for the outcome.
    n : int, exits used in the fit. ``n_clusters``: number of clusters (sites).
    cluster : str or None, the clustering column.
    odds_ratios : DataFrame indexed by neutral term names (``Intercept`` first),
        columns ``coef``, ``se`` (cluster-robust), ``odds_ratio``, ``ci_low``,
        ``ci_high`` (95 % CI of the odds ratio), ``p_value``.
    missing : dict with ``strategy``, ``rows_with_known_outcome``, ``rows_used``,
        ``rows_dropped`` and ``by_column`` {column: missing values among exits
        with a known outcome}; ``missing_table(lang)`` shows it as a table.
    problems : list of str, problems found (only non-empty with ``strict=False``).
    notes : list of str, terms dropped before fitting and other remarks.
    """

    def __init__(self, results, formula, design, definition, missing, cluster, y, problems, notes):
        self.results = results
        self.formula = formula
        self._design = design
        self.definition = definition
        self.missing = missing
        self.cluster = cluster
        self.problems = problems
        self.notes = notes
        self._y = np.asarray(y, dtype=float)
        self.n = int(results.nobs)
        self.n_clusters = int(results.cov_kwds["groups"].max() + 1) if cluster is not None else None
        names = [neutral_name(t) for t in results.params.index]
        self.terms = names
        params = results.params.to_numpy()
        bse = results.bse.to_numpy()
        ci = results.conf_int(0.05).to_numpy()
        self.odds_ratios = pd.DataFrame(
            {
                "coef": params,
                "se": bse,
                "odds_ratio": np.exp(params),
                "ci_low": np.exp(ci[:, 0]),
                "ci_high": np.exp(ci[:, 1]),
                "p_value": results.pvalues.to_numpy(),
            },
            index=pd.Index(names, name="term"),
        )

    def __repr__(self) -> str:
        return (
            f"PositiveExitModel(n={self.n}, terms={len(self.terms)}, definition={self.definition.name!r}, "
            f"problems={len(self.problems)})"
        )

    @property
    def coef_ci(self) -> pd.DataFrame:
        """95 % CIs of the logit coefficients (columns ``coef``, ``ci_low``, ``ci_high``)."""
        ci = self.results.conf_int(0.05).to_numpy()
        return pd.DataFrame(
            {"coef": self.results.params.to_numpy(), "ci_low": ci[:, 0], "ci_high": ci[:, 1]},
            index=self.odds_ratios.index,
        )

    @cached_property
    def marginal_effects(self) -> pd.DataFrame:
        """Average marginal effects on the probability scale, with 95 % CIs from the
        model's (cluster-robust) covariance by the delta method.

        The same quantities as statsmodels ``get_margeff(at="overall", dummy=True)``
        (tested against it): the mean over exits of ∂p/∂x for numeric terms, and of
        p(x_j = 1) − p(x_j = 0) for 0/1 terms (dummies, booleans). Computed here with
        analytic gradients, because statsmodels' numerical Jacobian needs about
        n × terms² work and several GiB of memory on a national file (1M exits).

        Returns
        -------
        DataFrame indexed by neutral term names (intercept excluded), columns
        ``ame``, ``se``, ``z``, ``p_value``, ``ci_low``, ``ci_high`` (95 %).
        """
        return average_marginal_effects(self.results)

    @cached_property
    def fitted(self) -> np.ndarray:
        return np.asarray(self.results.predict(), dtype=float)

    @cached_property
    def _apparent(self) -> ModelPerformance:
        return _performance(self._y, self.fitted)

    @property
    def auc(self) -> float:
        """Apparent AUC (on the fitting data), Mann–Whitney formula."""
        return self._apparent.auc

    @property
    def calibration(self) -> pd.DataFrame:
        """Apparent calibration by decile (see :func:`calibration_table`)."""
        return self._apparent.calibration

    @property
    def calibration_slope(self) -> float:
        """Apparent calibration slope (1 by construction in-sample; use :meth:`cross_validate`
        or :meth:`evaluate` on new data for an informative value)."""
        return self._apparent.calibration_slope

    @property
    def calibration_intercept(self) -> float:
        """Apparent calibration intercept (0 by construction in-sample)."""
        return self._apparent.calibration_intercept

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Predicted probability of a positive exit for every row of ``data``
        (index kept). Rows with a missing covariate or a level unseen in the fit
        get NaN; no row is dropped."""
        frame, usable = self._design.transform(data)
        out = pd.Series(np.nan, index=data.index, name="p_positive_exit")
        if usable.any():
            out[usable.to_numpy()] = np.asarray(self.results.predict(frame.loc[usable.to_numpy()]), dtype=float)
        return out

    def evaluate(self, data: pd.DataFrame, definition=None) -> ModelPerformance:
        """AUC and calibration on other data (e.g. a later cohort or a hold-out sample)."""
        y, _ = resolve_outcome(data, definition if definition is not None else self.definition, what="predict")
        p = self.predict(data)
        yv = y.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return _performance(yv, p.to_numpy())

    def cross_validate(self, folds: int = 5, seed: int = 0) -> ModelPerformance:
        """AUC and calibration from out-of-fold predictions (k-fold cross-validation
        on the exits used in the fit, same design). Unlike the apparent
        ``.calibration_slope`` (1 by construction), this shows over-fitting: a
        slope below 1 means predictions too extreme for new trainees."""
        X = np.asarray(self.results.model.exog, dtype=float)
        y = self._y
        fold = np.random.default_rng(seed).permutation(len(y)) % folds
        predicted = np.empty(len(y))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for k in range(folds):
                test = fold == k
                params = sm.Logit(y[~test], X[~test]).fit(disp=0, start_params=self.results.params.to_numpy()).params
                predicted[test] = 1 / (1 + np.exp(-(X[test] @ params)))
        # A fold that separates or does not converge gives unreliable out-of-fold figures: say so.
        trouble = sorted(
            {
                str(w.message).splitlines()[0]
                for w in caught
                if issubclass(
                    w.category, (ConvergenceWarning, PerfectSeparationWarning, HessianInversionWarning, RuntimeWarning)
                )
            }
        )
        if trouble:
            warnings.warn(
                "Validation croisée : estimation difficile dans au moins un pli, AUC et calibration hors "
                "échantillon à lire avec prudence (" + " ; ".join(trouble[:3]) + ").",
                ModelWarning,
                stacklevel=2,
            )
        return _performance(y, predicted)

    def missing_table(self, lang: str = "fr") -> pd.DataFrame:
        return _missing_table(self.missing, lang)

    def summary_table(self, lang: str = "fr") -> pd.DataFrame:
        """Odds ratios for display: a readable label per term, numbers unformatted.

        Columns (fr / en): Variable, Rapport de cotes / Odds ratio, IC 95 % bas /
        95% CI low, IC 95 % haut / 95% CI high, p.
        """
        fr = lang == "fr"
        table = self.odds_ratios.drop(index="Intercept", errors="ignore")
        labels = [term_label(t, self._design, lang) for t in table.index]
        return pd.DataFrame(
            {
                "Variable": labels,
                "Rapport de cotes" if fr else "Odds ratio": table["odds_ratio"].to_numpy(),
                "IC 95 % bas" if fr else "95% CI low": table["ci_low"].to_numpy(),
                "IC 95 % haut" if fr else "95% CI high": table["ci_high"].to_numpy(),
                "p": table["p_value"].to_numpy(),
            },
            index=table.index,
        )


def average_marginal_effects(results, alpha: float = 0.05) -> pd.DataFrame:
    """Average marginal effects of a fitted statsmodels ``Logit`` (see
    :attr:`PositiveExitModel.marginal_effects`): analytic delta method, 0/1 columns
    as discrete changes, every other column as a derivative."""
    X = np.asarray(results.model.exog, dtype=float)
    beta = np.asarray(results.params, dtype=float)
    cov = np.asarray(results.cov_params(), dtype=float)
    names = list(results.model.exog_names)
    eta = X @ beta
    p = 1 / (1 + np.exp(-eta))
    slope = p * (1 - p)
    n = len(X)
    rows, ame, grads = [], [], []
    for j, name in enumerate(names):
        column = X[:, j]
        if np.ptp(column) == 0:  # the intercept
            continue
        if np.isin(column, (0.0, 1.0)).all():
            p1 = 1 / (1 + np.exp(-(eta + beta[j] * (1 - column))))
            p0 = 1 / (1 + np.exp(-(eta - beta[j] * column)))
            s1, s0 = p1 * (1 - p1), p0 * (1 - p0)
            grad = (s1 - s0) @ X / n
            grad[j] = s1.mean()  # d/d beta_j of p(x_j=1) - p(x_j=0): x_j is 1, resp. 0
            value = float((p1 - p0).mean())
        else:
            grad = beta[j] * ((slope * (1 - 2 * p)) @ X) / n
            grad[j] += slope.mean()
            value = float(beta[j] * slope.mean())
        rows.append(neutral_name(name))
        ame.append(value)
        grads.append(grad)
    G = np.array(grads)
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, cov, G))
    ame = np.array(ame)
    z = ame / se
    q = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "ame": ame,
            "se": se,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": ame - q * se,
            "ci_high": ame + q * se,
        },
        index=pd.Index(rows, name="term"),
    )


def term_label(term: str, design: _Design | None, lang: str = "fr") -> str:
    """Readable label of a neutral term name, e.g. ``education_level[niveau_4]`` ->
    "Niveau de formation : Niveau 4 (bac) (réf. Infra niveau 3 ...)"."""
    fr = lang == "fr"
    column_label = {c.name: (c.label_fr if fr else c.label_en) for c in schema.CANONICAL_COLUMNS}
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[(.*)\]", term)
    if m:
        col, level = m.groups()
        name = column_label.get(col, col)
        lvl = ("Non renseigné" if fr else "Not stated") if level == MISSING_LEVEL else schema.label(col, level, lang)
        ref = ""
        if design is not None and design.levels.get(col):
            ref_code = design.levels[col][0]
            ref = f" ({'réf.' if fr else 'ref.'} {schema.label(col, ref_code, lang)})"
        return f"{name} : {lvl}{ref}" if fr else f"{name}: {lvl}{ref}"
    if term.endswith("_missing"):
        base = column_label.get(term[: -len("_missing")], term)
        return f"{base} : non renseigné" if fr else f"{base}: not stated"
    if term == "Intercept":
        return "Constante" if fr else "Intercept"
    return column_label.get(term, term)


def _fit_logit(frame, formula, groups, maxiter, problems):
    """Fit with every statsmodels warning captured and turned into a problem."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.logit(formula, frame)
            fit_kw = {"disp": 0, "maxiter": maxiter}
            if groups is not None:
                fit_kw.update(cov_type="cluster", cov_kwds={"groups": groups})
            results = model.fit(**fit_kw)
        except PerfectSeparationError as exc:  # older statsmodels raise instead of warning
            problems.append(f"séparation parfaite signalée par statsmodels ({exc})")
            return None
        except np.linalg.LinAlgError as exc:
            problems.append(f"matrice singulière pendant l'estimation ({exc})")
            return None
    for w in caught:
        if issubclass(w.category, PerfectSeparationWarning):
            problems.append("séparation parfaite ou quasi complète signalée par statsmodels")
        elif issubclass(w.category, ConvergenceWarning):
            problems.append(f"non-convergence signalée par statsmodels ({w.message})")
        elif issubclass(w.category, HessianInversionWarning):
            problems.append("matrice hessienne non inversible")
        elif issubclass(w.category, RuntimeWarning) and "overflow" in str(w.message):
            problems.append(f"dépassement numérique pendant l'estimation ({w.message})")
        else:
            warnings.warn(w.message, w.category, stacklevel=3)
    return results


def fit_positive_exit(
    data: pd.DataFrame,
    formula: str | None = None,
    cluster: str | None = "site",
    definition: str | Definition | None = None,
    *,
    covariates=None,
    missing: str = "complete_case",
    strict: bool = True,
    maxiter: int = 50,
) -> PositiveExitModel:
    """Logistic regression of a positive exit on trainee characteristics.

    Fitted on exits with a known outcome (``positive_exit`` not NA under
    ``definition``), by maximum likelihood (statsmodels ``logit``, Newton),
    with standard errors clustered by ``cluster`` (``cov_type="cluster"``;
    ``cluster=None`` gives model-based errors).

    Parameters
    ----------
    data : canonical frame (``CleanResult.data``).
    formula : patsy formula, optional. Default: ``positive_exit ~`` the
        :data:`DEFAULT_COVARIATES` (sex, age at entry, education level, QPV,
        disability, nationality, weeks in company, cohort year, region).
        Covariates with a single observed value (e.g. region in a one-region
        file) are dropped and listed in ``.notes``. The columns named in a custom
        formula are converted the same way (categoricals reference-first,
        booleans to 0/1).
    cluster : column of the clusters for robust standard errors (default: site).
    definition : positive-exit definition; None uses the frame's ``positive_exit``.
    covariates : list of columns, optional, instead of the default list.
    missing : ``"complete_case"`` (default): exits with any missing covariate are
        left out, and counted in ``.missing`` (overall and by column);
        ``"indicator"``: missing categoricals get a ``missing`` level and missing
        booleans / numbers are filled (most frequent value / median) with a
        ``<column>_missing`` 0/1 term; a column with fewer than ``MIN_MISSING_LEVEL``
        (30) missing values gets its most frequent value (median) and no term of its
        own, so a tiny level cannot be separated; ``.missing["imputed_most_frequent"]``
        lists those columns and counts.
    strict : True (default) raises :class:`ModelError` on separation,
        non-convergence, a singular design or non-finite / huge estimates;
        False records them in ``.problems`` and warns (:class:`ModelWarning`).
    maxiter : Newton iterations allowed.

    Returns
    -------
    PositiveExitModel
    """
    frame, design, d, formula, missing_info, notes = _prepare(data, formula, covariates, cluster, definition, missing)
    if notes:
        warnings.warn("Modèle de sortie positive : " + " ; ".join(notes) + ".", ModelWarning, stacklevel=2)
    problems: list[str] = []
    if len(frame) == 0:
        raise ModelError("Aucune sortie ne reste après retrait des covariables manquantes : modèle impossible.")
    y = frame[OUTCOME].to_numpy()
    if y.min() == y.max():
        raise ModelError("Toutes les sorties retenues ont la même issue : le modèle ne peut pas être estimé.")
    used = formula_variables(formula, frame.columns, exclude=OUTCOME)
    separated = _separated_levels(frame, y, design, used)
    if separated:
        problems.append("séparation quasi complète pour " + ", ".join(separated))
    groups = None
    if cluster is not None:
        groups = pd.factorize(frame[cluster].cat.codes.to_numpy())[0]
    if problems and strict:
        _handle_problems(problems, strict, "Le modèle de sortie positive")
    results = _fit_logit(frame.drop(columns=[cluster] if cluster else []), formula, groups, maxiter, problems)
    if results is not None:
        if not results.mle_retvals.get("converged", True):
            if not any("non-convergence" in p for p in problems):
                problems.append(f"non-convergence après {maxiter} itérations")
        exog = results.model.exog
        rank = np.linalg.matrix_rank(exog.T @ exog)
        if rank < exog.shape[1]:
            problems.append(f"plan d'expérience singulier (rang {rank} pour {exog.shape[1]} termes : colinéarité)")
        names = pd.Index([neutral_name(t) for t in results.params.index])
        huge = _huge_terms(
            pd.Series(results.params.to_numpy(), index=names),
            pd.Series(np.sqrt(np.abs(np.diag(results.normalized_cov_params))), index=names),
        )
        if huge:
            problems.append("coefficients ou erreurs-types démesurés (séparation probable) : " + ", ".join(huge))
    if results is None and not problems:
        problems.append("estimation impossible")
    _handle_problems(problems, strict, "Le modèle de sortie positive")
    if results is None:
        raise ModelError("Le modèle de sortie positive n'a pas pu être estimé : " + "; ".join(problems) + ".")
    return PositiveExitModel(results, formula, design, d, missing_info, cluster, y, problems, notes)


# --------------------------------------------------------------------------
# Multilevel model: site random intercepts (variational Bayes)
# --------------------------------------------------------------------------
class MultilevelModel:
    """Logistic model with random intercepts by ``group`` fitted by variational Bayes.

    Attributes
    ----------
    results : statsmodels ``BayesMixedGLMResults`` (from ``fit_vb``).
    fixed_effects : DataFrame indexed by neutral term names, columns ``coef``
        (posterior mean), ``sd`` (posterior SD), ``odds_ratio``, ``ci_low``,
        ``ci_high`` (95 % credible interval of the odds ratio, normal approximation).
    site_effects : DataFrame, one row per group: ``<group>`` (name), ``n``
        (exits used), ``effect`` (posterior mean of the random intercept, logit
        scale, shrunk towards 0), ``sd`` (its posterior SD), ``ci_low``,
        ``ci_high`` (95 %).
    site_sd : float, the estimated SD of the random intercepts (posterior mean
        of the log-SD, exponentiated).
    n, formula, definition, missing, group, method, notes (remarks on the fit).
    """

    method = "variational Bayes (BinomialBayesMixedGLM.fit_vb, mean-field Gaussian)"

    def __init__(self, results, formula, definition, missing, group, site_effects):
        self.results = results
        self.formula = formula
        self.definition = definition
        self.missing = missing
        self.group = group
        self.n = int(len(results.model.endog))
        names = [neutral_name(t) for t in results.model.exog_names]
        mean, sd = results.fe_mean, results.fe_sd
        z = stats.norm.ppf(0.975)
        self.fixed_effects = pd.DataFrame(
            {
                "coef": mean,
                "sd": sd,
                "odds_ratio": np.exp(mean),
                "ci_low": np.exp(mean - z * sd),
                "ci_high": np.exp(mean + z * sd),
            },
            index=pd.Index(names, name="term"),
        )
        self.site_effects = site_effects
        self.site_sd = float(np.exp(results.vcp_mean[0]))

    def __repr__(self) -> str:
        return f"MultilevelModel(n={self.n}, groups={len(self.site_effects)}, site_sd={self.site_sd:.3f})"


def fit_multilevel(
    data: pd.DataFrame,
    formula: str | None = None,
    group: str = "site",
    definition: str | Definition | None = None,
    *,
    covariates=None,
    vcp_p: float = 1.0,
    fe_p: float = 2.0,
    seed: int = 0,
    maxiter: int | None = None,
    gtol: float = 1e-3,
) -> MultilevelModel:
    """Logistic model of a positive exit with random intercepts by site.

    Fitted with statsmodels ``BinomialBayesMixedGLM.fit_vb``: a **variational
    Bayes** (mean-field Gaussian) approximation of the posterior, with normal
    priors (SD ``fe_p``) on the fixed effects and on the log-SD of the site
    intercepts (SD ``vcp_p``). Posterior SDs from variational Bayes tend to be
    somewhat too small; the shrunken site effects are meant for ranking-free
    description, not for testing. Missing covariates: complete case (counted in
    ``.missing``). The fixed part is the same as :func:`fit_positive_exit`.
    Numeric and 0/1 columns are centred for the fit (the intercept is moved
    back afterwards). The ELBO is optimised by BFGS with gradient tolerance
    ``gtol`` (the ELBO is a sum over exits, so 1e-3 is tight). If the optimiser
    does not converge, :class:`ModelError` is raised (``maxiter`` caps its
    iterations); a stop on floating-point precision with a gradient under
    10 × ``gtol`` is accepted and recorded in ``.notes``.

    Cost: a few hundred BFGS iterations, each a pass over the data; about
    1 s for 6,000 exits and 1–2 minutes for 30,000 on a shared 2-core machine.
    For national files, fit on the region's data or a random sample of exits.

    Returns
    -------
    MultilevelModel
    """
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    frame, design, d, formula, missing_info, notes = _prepare(
        data, formula, covariates, group, definition, "complete_case"
    )
    if notes:
        warnings.warn("Modèle multiniveau : " + " ; ".join(notes) + ".", ModelWarning, stacklevel=2)
    if len(frame) == 0 or frame[OUTCOME].nunique() < 2:
        raise ModelError("Modèle multiniveau impossible : pas assez de sorties d'issues différentes.")
    sites = pd.Categorical(frame[group]).remove_unused_categories()
    frame["_group"] = sites.codes
    counts = pd.Series(sites.codes).value_counts().sort_index()
    # Centre the numeric and 0/1 columns: the mean-field approximation ignores the
    # posterior correlation between the intercept and uncentred covariates, which
    # stalls the optimiser and shrinks their posterior SDs. Undone below.
    centred = {
        c: float(frame[c].mean())
        for c in frame.columns
        if c not in (OUTCOME, group, "_group") and not isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    for c, mean in centred.items():
        frame[c] = frame[c] - mean
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BinomialBayesMixedGLM.from_formula(
            formula, {group: "0 + C(_group)"}, frame.drop(columns=[group]), vcp_p=vcp_p, fe_p=fe_p
        )
        options = {"gtol": gtol} | ({} if maxiter is None else {"maxiter": maxiter})
        results = model.fit_vb(rng=seed, minim_opts=options)
    bad = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, (ConvergenceWarning, RuntimeWarning)))
    )
    retvals = results.optim_retvals
    gradient = float(np.max(np.abs(retvals.jac))) if getattr(retvals, "jac", None) is not None else np.inf
    notes = list(notes)
    if bad and "precision loss" in str(getattr(retvals, "message", "")) and gradient < 10 * gtol:
        # BFGS stopped on floating-point precision with the gradient already near zero:
        # the optimum is reached; say so rather than fail.
        notes.append(f"optimiseur arrêté par la précision numérique, gradient maximal {gradient:.2g} (accepté)")
        bad = [b for b in bad if "VB fitting did not converge" not in b]
    if bad:
        raise ModelError("Le modèle multiniveau (bayésien variationnel) n'a pas convergé : " + " ; ".join(bad) + ".")
    names = list(model.exog_names)
    if "Intercept" in names and centred:
        i0 = names.index("Intercept")
        shift = sum(results.fe_mean[names.index(c)] * m for c, m in centred.items() if c in names)
        var = sum((results.fe_sd[names.index(c)] * m) ** 2 for c, m in centred.items() if c in names)
        results.fe_mean[i0] -= shift
        results.fe_sd[i0] = np.sqrt(results.fe_sd[i0] ** 2 + var)
    re_frame = results.random_effects(group)
    codes = [int(re.search(r"\[(?:T\.)?(-?\d+)\]", name).group(1)) for name in re_frame.index]
    z = stats.norm.ppf(0.975)
    effects = pd.DataFrame(
        {
            group: np.asarray(sites.categories)[codes],
            "n": counts.reindex(codes).to_numpy(),
            "effect": re_frame["Mean"].to_numpy(),
            "sd": re_frame["SD"].to_numpy(),
        }
    )
    effects["ci_low"] = effects["effect"] - z * effects["sd"]
    effects["ci_high"] = effects["effect"] + z * effects["sd"]
    model_out = MultilevelModel(results, formula, d, missing_info, group, effects)
    model_out.notes = notes
    return model_out
