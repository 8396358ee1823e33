"""Impact estimation against a comparison group: the average effect of the
programme on its trainees (ATT), with balance, overlap and sensitivity
diagnostics.

Design
------
Selection on observables: once the covariates are accounted for, entering an
E2C is as good as random. Nothing in the data can prove this; the sensitivity
analysis (:func:`e_value`, :func:`rosenbaum_bounds`) says how strong a hidden
confounder would have to be to explain the estimate away.

Estimators (all for the ATT, the average effect on the treated)
--------------------------------------------------------------
``ipw``
    Odds weighting: treated weight 1, control weight p/(1−p) with p the
    estimated propensity score, normalised within the control group (Hájek).
``aipw`` (default)
    Doubly robust: an outcome model fitted on the controls (logistic for a
    binary outcome, OLS for a continuous one) predicts m0(x); the estimate is
    mean_T(Y − m0) − Σ_C w (Y − m0) / Σ_C w with the odds weights w. It is
    consistent when either the propensity model or the outcome model is right.
``matching``
    Nearest neighbour matching on the logit of the propensity score, within a
    caliper of ``caliper`` standard deviations of the logit (pooled SD,
    sqrt((s²_t + s²_c)/2), Austin 2011), with or without replacement, with
    ``n_neighbors`` controls per treated unit. Without replacement the
    matching is greedy "closest pair first": in rounds, every unmatched
    treated unit asks for its nearest free control, and a control wanted by
    several goes to the closest one.

Standard errors
---------------
* Weighting (``ipw``, ``aipw``): influence function from the stacked
  estimating equations (M-estimation), which accounts for the estimation of
  the propensity score and of the outcome model.
* Matching: Abadie & Imbens (2006) variance for the population ATT, with the
  conditional outcome variance estimated from the nearest control on the
  logit propensity score; it treats the propensity score as known (Abadie &
  Imbens 2016 show the correction for an estimated score can go either way
  for the ATT).
* ``bootstrap=B`` (any method): B resamples drawn within each group, the whole
  procedure (propensity model included) re-run on each; the SE is the SD of
  the B estimates and the CI the percentile interval. The bootstrap is not
  valid for nearest-neighbour matching with replacement (Abadie & Imbens 2008):
  prefer the default variance there.

Balance
-------
The standardised mean difference of a covariate is (mean_t − mean_c) / s with
s = sqrt((s²_t + s²_c)/2), the pooled SD of the *unadjusted* analysis sample;
the same s is used before and after adjustment, so that a change in SMD is a
change in means, not in the yardstick. Categorical covariates get one row per
level (``education_level[niveau_3]``), booleans are 0/1.

Variables measured during the programme (``weeks_in_company``,
``n_internships``, exit information) must never be covariates: the comparison
group has no placements, and adjusting for a consequence of treatment biases
the estimate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.spatial import cKDTree

from .config import DEFAULT_MIN_CELL
from .errors import E2CError, InputError, ModelError, SchemaError

__all__ = [
    "ATTResult",
    "Overlap",
    "Sensitivity",
    "RosenbaumBounds",
    "ImpactFrame",
    "estimate_att",
    "estimate_att_by",
    "e_value",
    "rosenbaum_bounds",
    "load_impact_frame",
    "impact_section",
    "DEFAULT_IMPACT_COVARIATES",
    "PROCESS_COLUMNS",
]

METHODS = ("aipw", "ipw", "matching")

# Default adjustment set for E2C designs: characteristics fixed at entry.
DEFAULT_IMPACT_COVARIATES: tuple[str, ...] = (
    "sex",
    "age_at_entry",
    "education_level",
    "qpv",
    "rural",
    "disability",
    "nationality",
)
# Measured during or after the programme: never covariates of an impact model.
PROCESS_COLUMNS: tuple[str, ...] = (
    "weeks_in_company",
    "n_internships",
    "exit_date",
    "exit_reason",
    "exit_category",
    "outcome_start",
    "outcome_end",
    "follow_up_date",
    "positive_exit",
)

_OVERLAP_QUANTILES = (0.0, 0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0)
_EPS = 1e-12


# --------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------
@dataclass
class Overlap:
    """Propensity-score overlap between the groups (analysis sample, before any restriction).

    Attributes
    ----------
    quantiles : DataFrame
        Index ``quantile`` (0, 0.01, ..., 1); columns ``treated`` and
        ``control``: propensity-score quantiles by group.
    histogram : DataFrame
        Columns ``bin_left``, ``bin_right`` (20 equal bins on [0, 1]),
        ``treated`` and ``control``: share of each group in the bin.
    support : tuple of float
        Common support (min/max rule): [max(min p_t, min p_c), min(max p_t, max p_c)].
    outside : DataFrame
        Index ``treated``/``control``; columns ``n``, ``n_outside``,
        ``share_outside``: units whose score falls outside the common support.
    share_outside_support : float
        Share of all units outside the common support.
    """

    quantiles: pd.DataFrame
    histogram: pd.DataFrame
    support: tuple[float, float]
    outside: pd.DataFrame
    share_outside_support: float


@dataclass
class RosenbaumBounds:
    """Rosenbaum bounds for matched pairs with a binary outcome.

    Attributes
    ----------
    table : DataFrame
        Columns ``gamma``, ``p_upper`` (upper bound of the one-sided p-value
        under hidden bias Γ), ``p_lower`` (lower bound), ``significant``
        (``p_upper <= alpha``).
    gamma_critical : float
        Smallest Γ at which the upper-bound p-value reaches ``alpha`` (the
        result is no longer significant); 1.0 when it is not significant even
        without hidden bias.
    n_pairs, n_discordant, discordant_treated, discordant_control : int
        Pairs used; discordant pairs; those where only the treated unit has
        the outcome; those where only the control has it.
    alternative : str
        ``"greater"`` (tests a positive effect) or ``"less"``.
    alpha : float
    note : str
        Caveat (e.g. controls reused by matching with replacement).
    """

    table: pd.DataFrame
    gamma_critical: float
    n_pairs: int
    n_discordant: int
    discordant_treated: int
    discordant_control: int
    alternative: str
    alpha: float
    note: str = ""


@dataclass
class Sensitivity:
    """Sensitivity to hidden confounding of an :class:`ATTResult`.

    ``e_value`` is the output of :func:`e_value` (a Series); ``rosenbaum`` a
    :class:`RosenbaumBounds` (matching on a binary outcome with one control
    per treated unit) or ``None``.
    """

    e_value: pd.Series
    rosenbaum: RosenbaumBounds | None
    scale: str


@dataclass(repr=False)
class ATTResult:
    """Average effect of the treatment on the treated, with its diagnostics.

    Attributes
    ----------
    estimate, se, ci_low, ci_high : float
        ATT, standard error and confidence interval (level ``level``). For a
        binary outcome the ATT is a difference of proportions (0–1 scale).
    ci_method : str
        ``"influence function"``, ``"Abadie-Imbens"`` or
        ``"bootstrap (B=..., percentile)"``.
    n_treated, n_control : int
        Treated units and controls that enter the estimate (after trimming,
        common-support restriction, caliper). For matching, ``n_control`` is
        the number of distinct matched controls.
    ess_control : float
        Kish effective sample size of the weighted controls, (Σw)²/Σw².
    balance : DataFrame
        One row per covariate (index: covariate, categorical levels as
        ``name[level]``). Columns ``mean_treated`` (analysis sample),
        ``mean_control`` (unweighted), ``mean_treated_after`` (treated units
        kept), ``mean_control_weighted``, ``smd_before``, ``smd_after``,
        ``var_ratio_before``, ``var_ratio_after`` (treated / control variance).
    overlap : Overlap
    method, outcome_type : str
        ``method`` in aipw/ipw/matching; ``outcome_type`` binary/continuous.
    mean_treated, mean_control_counterfactual, naive : float
        Mean outcome of the treated kept; the adjusted counterfactual mean
        (mean_treated − estimate); the unadjusted difference in means on the
        analysis sample.
    trimmed, outside_support : dict
        Units dropped by weight trimming and by the common-support restriction
        (keys ``treated``, ``control``); zeros when the option is off.
    unmatched_treated : int
        Treated units without a control within the caliper (matching).
    missing : Series
        Rows dropped because of a missing treatment, outcome or covariate,
        counted by column (a row may count in several); ``n_missing`` rows in all.
    propensity : Series
        Estimated propensity score of every analysed row (first fit, before
        restriction), indexed like the input.
    weights : Series
        Weight of each row in the final estimate (treated 1 or 0, controls the
        normalised-to-n_treated odds or matching weights, 0 when dropped).
    pairs : DataFrame or None
        Matching only: ``treated_index``, ``control_index``, ``distance``
        (on the logit scale), ``rank`` (1 = nearest), ``y_treated``,
        ``y_control``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    n_treated: int
    n_control: int
    ess_control: float
    balance: pd.DataFrame
    overlap: Overlap
    method: str
    outcome_type: str
    treatment: str
    outcome: str
    covariates: list[str]
    level: float
    mean_treated: float
    mean_control_counterfactual: float
    naive: float
    sd_outcome_control: float
    trimmed: dict
    outside_support: dict
    unmatched_treated: int
    missing: pd.Series
    n_missing: int
    propensity: pd.Series
    weights: pd.Series
    pairs: pd.DataFrame | None = None
    ps_formula: str = ""
    caliper_logit: float | None = None
    replace: bool = True
    n_neighbors: int = 1
    bootstrap_estimates: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"ATTResult(method={self.method!r}, outcome_type={self.outcome_type!r}, "
            f"estimate={self.estimate:.4g}, se={self.se:.4g}, "
            f"ci=[{self.ci_low:.4g}, {self.ci_high:.4g}] ({self.ci_method}), n_treated={self.n_treated}, "
            f"n_control={self.n_control}, ess_control={self.ess_control:.1f})"
        )

    def summary(self) -> pd.DataFrame:
        """One-row tidy table: ``method``, ``outcome_type``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``ci_method``, ``n_treated``, ``n_control``,
        ``ess_control``, ``mean_treated``, ``mean_control_counterfactual``,
        ``naive``, ``max_abs_smd_before``, ``max_abs_smd_after``."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "outcome_type": self.outcome_type,
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "ci_method": self.ci_method,
                    "n_treated": self.n_treated,
                    "n_control": self.n_control,
                    "ess_control": self.ess_control,
                    "mean_treated": self.mean_treated,
                    "mean_control_counterfactual": self.mean_control_counterfactual,
                    "naive": self.naive,
                    "max_abs_smd_before": float(self.balance["smd_before"].abs().max()),
                    "max_abs_smd_after": float(self.balance["smd_after"].abs().max()),
                }
            ]
        )

    def sensitivity(self, gammas=None, alpha: float = 0.05) -> Sensitivity:
        """E-value (always) and Rosenbaum bounds (matching, binary outcome, one control per treated).

        Binary outcome: the risk difference is converted to a risk ratio with
        the counterfactual risk of the treated (``mean_control_counterfactual``)
        as baseline. Continuous outcome: the effect is standardised by the SD
        of the outcome among the controls and converted with RR ≈ exp(0.91·d)
        (VanderWeele & Ding 2017).
        """
        if self.outcome_type == "binary":
            ev = e_value(
                self.estimate, self.ci_low, self.ci_high, scale="RD", baseline=self.mean_control_counterfactual
            )
            scale = "RD"
        else:
            ev = e_value(self.estimate, self.ci_low, self.ci_high, scale="SMD", sd=self.sd_outcome_control)
            scale = "SMD"
        bounds = None
        if self.method == "matching" and self.outcome_type == "binary" and self.n_neighbors == 1:
            bounds = rosenbaum_bounds(self, gammas=gammas, alpha=alpha)
        return Sensitivity(e_value=ev, rosenbaum=bounds, scale=scale)


# --------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------
def _is_categorical(series: pd.Series) -> bool:
    return (
        isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series) or series.dtype == object
    )


def _binary_codes(series: pd.Series, column: str) -> np.ndarray:
    """0/1 float array from a bool / boolean / 0-1 numeric column (no missing values)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(bool).to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(series):
        raise InputError(f"Colonne {column!r} : valeurs 0/1 ou vrai/faux attendues, type {series.dtype} reçu.")
    values = series.to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = series.index[np.argmax(bad)]
        raise InputError(f"Colonne {column!r}, ligne {row} : valeur {series.iloc[np.argmax(bad)]!r} ; 0 ou 1 attendu.")
    return values


def _prepare(df: pd.DataFrame, treatment: str, outcome: str, covariates, outcome_type: str | None):
    """Check columns, drop (and count) incomplete rows, convert types.

    Returns the working frame (covariates converted: booleans and numbers as
    float, text as categorical without unused levels), t, y, outcome type, the
    per-column missing counts and the number of rows dropped.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError("estimate_att : un DataFrame est attendu.")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise InputError("estimate_att : au moins une covariable est nécessaire.")
    for col in [treatment, outcome, *covariates]:
        if col not in df.columns:
            raise SchemaError(f"Colonne {col!r} absente des données (colonnes : {', '.join(map(str, df.columns))}).")
    bad = sorted(set(covariates) & set(PROCESS_COLUMNS))
    if bad:
        raise InputError(
            f"Covariable(s) {', '.join(bad)} mesurée(s) pendant ou après le parcours : elles ne peuvent pas "
            "servir d'ajustement (le groupe de comparaison n'a pas de parcours)."
        )
    used = [treatment, outcome, *covariates]
    na = df[used].isna()
    missing = na.sum()
    keep = ~na.any(axis=1)
    data = df.loc[keep, used]
    if len(data) == 0:
        raise InputError("estimate_att : aucune ligne complète (traitement, résultat et covariables).")
    t = _binary_codes(data[treatment], treatment)
    y_raw = data[outcome]
    binary_like = pd.api.types.is_bool_dtype(y_raw) or (
        pd.api.types.is_numeric_dtype(y_raw) and np.isin(y_raw.to_numpy(dtype=float), (0.0, 1.0)).all()
    )
    if outcome_type is None:
        outcome_type = "binary" if binary_like else "continuous"
    if outcome_type not in ("binary", "continuous"):
        raise InputError(f"outcome_type inconnu : {outcome_type!r} ('binary' ou 'continuous').")
    if outcome_type == "binary":
        y = _binary_codes(y_raw, outcome)
    else:
        if not pd.api.types.is_numeric_dtype(y_raw) and not pd.api.types.is_bool_dtype(y_raw):
            raise InputError(f"Colonne {outcome!r} : résultat numérique attendu, type {y_raw.dtype} reçu.")
        y = y_raw.to_numpy(dtype=float)
    n_t, n_c = int(t.sum()), int((1 - t).sum())
    if n_t < 2 or n_c < 2:
        raise ModelError(f"Trop peu d'observations complètes : {n_t} traité(s), {n_c} témoin(s).")
    work = pd.DataFrame(index=data.index)
    for col in covariates:
        s = data[col]
        if pd.api.types.is_bool_dtype(s):
            work[col] = s.astype(bool).astype(float)
        elif _is_categorical(s):
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            work[col] = cat.cat.remove_unused_categories()
        elif pd.api.types.is_numeric_dtype(s):
            work[col] = s.astype(float)
        else:
            raise InputError(f"Covariable {col!r} : type {s.dtype} non pris en charge.")
    return work, t, y, outcome_type, missing[missing > 0].astype(int), int((~keep).sum())


def _default_rhs(work: pd.DataFrame, covariates: list[str]) -> str:
    terms = []
    for col in covariates:
        name = col if col.isidentifier() else f"`{col}`"
        terms.append(f"C({name})" if isinstance(work[col].dtype, pd.CategoricalDtype) else name)
    return " + ".join(terms)


def _rhs(formula: str | None, default: str) -> str:
    if not formula:
        return default
    return formula.split("~", 1)[1].strip() if "~" in formula else formula.strip()


def _design(rhs: str, work: pd.DataFrame, what: str) -> np.ndarray:
    import formulaic

    try:
        matrix = formulaic.model_matrix(rhs, work, na_action="raise")
    except Exception as exc:  # formulaic raises many kinds; all are user formula errors here
        raise InputError(
            f"Formule du {what} illisible ({rhs!r}) : {exc}. Les variables de la formule doivent figurer "
            "parmi les covariables."
        ) from None
    x = np.asarray(matrix, dtype=float)
    if "Intercept" not in matrix.columns:
        x = np.column_stack([np.ones(len(x)), x])
    return x


def _balance_matrix(work: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Covariates as numbers, one column per level for categorical covariates."""
    cols = {}
    for col in covariates:
        s = work[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            for i, level in enumerate(s.cat.categories):
                cols[f"{col}[{level}]"] = (codes == i).astype(float)
        else:
            cols[col] = s.to_numpy(dtype=float)
    return pd.DataFrame(cols, index=work.index)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
def _fit_logit(y: np.ndarray, x: np.ndarray, what: str) -> np.ndarray:
    """Logistic regression coefficients (statsmodels GLM Binomial), ModelError when untrustworthy."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = sm.GLM(y, x, family=sm.families.Binomial()).fit(maxiter=100)
        except PerfectSeparationWarning:
            raise ModelError(
                f"{what} : séparation parfaite (une combinaison de covariables prédit exactement le groupe). "
                "Les groupes ne se recouvrent pas : simplifiez le modèle ou restreignez l'échantillon."
            ) from None
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelError(f"{what} : échec de l'estimation ({exc}).") from None
    if not res.converged:
        raise ModelError(f"{what} : l'estimation n'a pas convergé.")
    return np.asarray(res.params, dtype=float)


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _fit_outcome(y: np.ndarray, z: np.ndarray, controls: np.ndarray, outcome_type: str):
    """Outcome model on the controls. Returns (m0, dm0) over all rows: prediction and d m0 / d(linear index)."""
    if outcome_type == "binary":
        gamma = _fit_logit(y[controls], z[controls], "Modèle de résultat (témoins)")
        m0 = _expit(z @ gamma)
        return m0, m0 * (1 - m0)
    gamma, *_ = np.linalg.lstsq(z[controls], y[controls], rcond=None)
    return z @ gamma, np.ones(len(y))


# --------------------------------------------------------------------------
# Estimators (arrays in, numbers out)
# --------------------------------------------------------------------------
def _weighting(t, y, x, p, z, outcome_type, with_if=True):
    """IPW (z None) or AIPW estimate of the ATT and its influence function.

    Stacked estimating equations: logistic score X(T − p) for β, outcome
    score (1−T)Z(Y − m0) for γ, T(r − τ1) and (1−T)w(r − τ0) with
    r = Y − m0 and w = exp(Xβ). The influence function of τ1 − τ0 includes
    the estimation effects of β and γ.
    """
    n = len(t)
    c = 1.0 - t
    w = np.where(t == 1, 1.0, p / (1 - p))
    if z is not None:
        m0, dm0 = _fit_outcome(y, z, c == 1, outcome_type)
    else:
        m0, dm0 = np.zeros(n), None
    r = y - m0
    tau1 = np.sum(t * r) / np.sum(t)
    tau0 = np.sum(c * w * r) / np.sum(c * w)
    att = tau1 - tau0
    if not with_if:
        return att, None, w
    e_t, e_w = t.mean(), (c * w).mean()
    s_beta = x * (t - p)[:, None]
    b_beta = (x * (p * (1 - p))[:, None]).T @ x / n
    if_beta = s_beta @ np.linalg.pinv(b_beta)
    h = ((c * w * (r - tau0))[:, None] * x).mean(axis=0)
    if1 = t * (r - tau1)
    if0 = c * w * (r - tau0) + if_beta @ h
    if z is not None:
        s_gamma = z * (c * (y - m0))[:, None]
        b_gamma = (z * (c * dm0)[:, None]).T @ z / n
        if_gamma = s_gamma @ np.linalg.pinv(b_gamma)
        if1 = if1 + if_gamma @ (-(z * (t * dm0)[:, None]).mean(axis=0))
        if0 = if0 + if_gamma @ (-(z * (c * w * dm0)[:, None]).mean(axis=0))
    influence = if1 / e_t - if0 / e_w
    return att, influence, w


def _pooled_sd(values: np.ndarray, t: np.ndarray) -> float:
    return float(np.sqrt((np.var(values[t == 1], ddof=1) + np.var(values[t == 0], ddof=1)) / 2))


_TIE_TOL = 1e-9  # logit-score differences below this are ties (identical covariate patterns)


def _ranges(sorted_values: np.ndarray, centre: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) positions of the sorted values within radius (plus the tie tolerance) of each centre."""
    lo = np.searchsorted(sorted_values, centre - radius - _TIE_TOL, side="left")
    hi = np.searchsorted(sorted_values, centre + radius + _TIE_TOL, side="right")
    return lo, hi


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position) for every position in each [lo, hi) range, vectorised."""
    sizes = hi - lo
    owner = np.repeat(np.arange(len(lo)), sizes)
    starts = np.repeat(lo - np.cumsum(np.concatenate([[0], sizes[:-1]])), sizes)
    return owner, starts + np.arange(sizes.sum())


def _match(lp: np.ndarray, t: np.ndarray, caliper_abs: float, k: int, replace: bool) -> pd.DataFrame:
    """Nearest-neighbour matches on the logit propensity score (positions into lp).

    With replacement, ties at the k-th distance are all kept (Abadie & Imbens
    2006), so the result does not depend on the row order. Returns columns
    ``t_pos``, ``c_pos``, ``distance``, ``rank``.
    """
    t_pos = np.flatnonzero(t == 1)
    c_pos = np.flatnonzero(t == 0)
    bound = caliper_abs if np.isfinite(caliper_abs) else np.inf
    if replace:
        order = np.argsort(lp[c_pos], kind="stable")
        c_sorted, lp_sorted = c_pos[order], lp[c_pos][order]
        kk = min(k, len(c_pos))
        dist, _ = cKDTree(lp_sorted[:, None]).query(lp[t_pos, None], k=kk)
        dist = dist.reshape(len(t_pos), kk)
        matched = dist[:, 0] <= bound + _TIE_TOL
        radius = np.minimum(dist[matched, -1], bound)
        lo, hi = _ranges(lp_sorted, lp[t_pos[matched]], radius)
        owner, pos = _expand(lo, hi)
        pairs = pd.DataFrame(
            {
                "t_pos": t_pos[matched][owner],
                "c_pos": c_sorted[pos],
                "distance": np.abs(lp[t_pos[matched]][owner] - lp_sorted[pos]),
            }
        )
        pairs["rank"] = pairs.groupby("t_pos")["distance"].rank(method="min").astype(int)
        return pairs
    free = np.ones(len(c_pos), dtype=bool)
    found = []
    for rank in range(1, k + 1):
        waiting = np.arange(len(t_pos))
        while len(waiting) and free.any():
            avail = np.flatnonzero(free)
            tree = cKDTree(lp[c_pos[avail], None])
            dist, idx = tree.query(lp[t_pos[waiting], None], k=1, distance_upper_bound=bound + _TIE_TOL)
            has = idx < len(avail)
            waiting, dist, idx = waiting[has], dist[has], idx[has]
            if not len(waiting):
                break
            cand = pd.DataFrame({"w": waiting, "c": avail[idx], "d": dist})
            winners = cand.sort_values(["c", "d", "w"], kind="stable").drop_duplicates("c")
            free[winners["c"].to_numpy()] = False
            found.append(
                pd.DataFrame(
                    {
                        "t_pos": t_pos[winners["w"].to_numpy()],
                        "c_pos": c_pos[winners["c"].to_numpy()],
                        "distance": winners["d"].to_numpy(),
                        "rank": rank,
                    }
                )
            )
            waiting = np.setdiff1d(waiting, winners["w"].to_numpy())
    if not found:
        return pd.DataFrame(
            {
                "t_pos": np.array([], int),
                "c_pos": np.array([], int),
                "distance": np.array([], float),
                "rank": np.array([], int),
            }
        )
    return pd.concat(found, ignore_index=True)


def _control_variance(lp: np.ndarray, y: np.ndarray, c_pos: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Conditional outcome variance of each used control, from its nearest other controls
    (all ties kept): σ² = J/(J+1)·(Y_j − mean of the J nearest)² (Abadie & Imbens 2006)."""
    if len(c_pos) < 2:
        return np.zeros(len(used))
    order = np.argsort(lp[c_pos], kind="stable")
    lp_sorted, y_sorted = lp[c_pos][order], y[c_pos][order]
    dist, _ = cKDTree(lp_sorted[:, None]).query(lp[used, None], k=2)
    lo, hi = _ranges(lp_sorted, lp[used], dist[:, 1])
    csum = np.concatenate([[0.0], np.cumsum(y_sorted)])
    j = (hi - lo - 1).astype(float)  # the range holds the unit itself
    mean_others = (csum[hi] - csum[lo] - y[used]) / j
    return j / (j + 1) * (y[used] - mean_others) ** 2


def _matching(t, y, lp, caliper_abs, k, replace, with_se=True):
    """Matching ATT, Abadie–Imbens SE and the row weights (treated 1/0, controls Σ 1/k_i)."""
    n = len(t)
    pairs = _match(lp, t, caliper_abs, k, replace)
    if pairs.empty:
        raise ModelError("Appariement : aucun traité n'a de témoin dans le caliper. Élargissez le caliper.")
    k_i = pairs.groupby("t_pos")["c_pos"].transform("size").to_numpy(dtype=float)
    a = 1.0 / k_i
    weights = np.zeros(n)
    matched_t = np.unique(pairs["t_pos"].to_numpy())
    weights[matched_t] = 1.0
    np.add.at(weights, pairs["c_pos"].to_numpy(), a)
    y0_hat = np.zeros(n)
    np.add.at(y0_hat, pairs["t_pos"].to_numpy(), a * y[pairs["c_pos"].to_numpy()])
    n1 = len(matched_t)
    diffs = y[matched_t] - y0_hat[matched_t]
    att = float(diffs.mean())
    se = np.nan
    if with_se:
        # K'(j) = Σ_i a_ij²; conditional variance of a control from its nearest other controls.
        k2 = np.zeros(n)
        np.add.at(k2, pairs["c_pos"].to_numpy(), a**2)
        c_pos = np.flatnonzero(t == 0)
        used = c_pos[weights[c_pos] > 0]
        sigma2 = _control_variance(lp, y, c_pos, used)
        var = (np.sum((diffs - att) ** 2) + np.sum((weights[used] ** 2 - k2[used]) * sigma2)) / n1**2
        se = float(np.sqrt(var))
    return att, se, weights, pairs, n1


# --------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------
def _weighted_mean_var(values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means and (reliability-weighted, unbiased) variances of each column."""
    wn = w / w.sum()
    mean = wn @ values
    denom = 1.0 - np.sum(wn**2)
    var = (wn @ (values - mean) ** 2) / denom if denom > 0 else np.full(values.shape[1], np.nan)
    return mean, var


def _balance(bmat: pd.DataFrame, t: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    values = bmat.to_numpy(dtype=float)
    xt, xc = values[t == 1], values[t == 0]
    mt, mc = xt.mean(axis=0), xc.mean(axis=0)
    vt, vc = xt.var(axis=0, ddof=1), xc.var(axis=0, ddof=1)
    sd = np.sqrt((vt + vc) / 2)
    wt, wc = weights[t == 1], weights[t == 0]
    mt_a, vt_a = _weighted_mean_var(xt[wt > 0], wt[wt > 0])
    mc_a, vc_a = _weighted_mean_var(xc[wc > 0], wc[wc > 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "mean_treated": mt,
                "mean_control": mc,
                "mean_treated_after": mt_a,
                "mean_control_weighted": mc_a,
                "smd_before": np.where(sd > 0, (mt - mc) / sd, 0.0),
                "smd_after": np.where(sd > 0, (mt_a - mc_a) / sd, 0.0),
                "var_ratio_before": vt / vc,
                "var_ratio_after": vt_a / vc_a,
            },
            index=pd.Index(bmat.columns, name="covariate"),
        )
    return out


def _overlap(p: np.ndarray, t: np.ndarray) -> Overlap:
    pt, pc = p[t == 1], p[t == 0]
    q = pd.DataFrame(
        {"treated": np.quantile(pt, _OVERLAP_QUANTILES), "control": np.quantile(pc, _OVERLAP_QUANTILES)},
        index=pd.Index(_OVERLAP_QUANTILES, name="quantile"),
    )
    edges = np.linspace(0, 1, 21)
    hist = pd.DataFrame(
        {
            "bin_left": edges[:-1],
            "bin_right": edges[1:],
            "treated": np.histogram(pt, edges)[0] / len(pt),
            "control": np.histogram(pc, edges)[0] / len(pc),
        }
    )
    low, high = max(pt.min(), pc.min()), min(pt.max(), pc.max())
    out_t = int(((pt < low) | (pt > high)).sum())
    out_c = int(((pc < low) | (pc > high)).sum())
    outside = pd.DataFrame(
        {"n": [len(pt), len(pc)], "n_outside": [out_t, out_c]}, index=pd.Index(["treated", "control"], name="group")
    )
    outside["share_outside"] = outside["n_outside"] / outside["n"]
    return Overlap(
        quantiles=q,
        histogram=hist,
        support=(float(low), float(high)),
        outside=outside,
        share_outside_support=(out_t + out_c) / len(p),
    )


def _kish(w: np.ndarray) -> float:
    w = w[w > 0]
    return float(w.sum() ** 2 / np.sum(w**2)) if len(w) else 0.0


# --------------------------------------------------------------------------
# Public estimator
# --------------------------------------------------------------------------
def _check_treated_levels(work: pd.DataFrame, t: np.ndarray) -> None:
    """A category present among treated units but in no control has no counterfactual: refuse it loudly."""
    for col in work.columns:
        s = work[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            continue
        in_t = pd.unique(s[t == 1].dropna())
        in_c = set(pd.unique(s[t == 0].dropna()))
        alone = [level for level in in_t if level not in in_c]
        if alone:
            n = int(s[t == 1].isin(alone).sum())
            raise ModelError(
                f"Covariable {col!r} : {', '.join(map(str, alone))} n'existe que chez les traités ({n} ligne(s)) ; "
                "aucun témoin ne leur ressemble. Retirez ces lignes, regroupez ce niveau avec un autre, ou "
                "utilisez common_support=True."
            )


def _point(
    t, y, work, ps_rhs, out_rhs, method, outcome_type, trim, common_support, caliper, replace, n_neighbors, with_se=True
):
    """Everything that depends on the sample: restriction, PS fit, estimate, SE.

    Returns a dict with the estimate, its SE (influence function or
    Abadie–Imbens), the first-fit propensity, the retained mask and the row weights.
    """
    x = _design(ps_rhs, work, "modèle de score de propension")
    p = np.clip(_expit(x @ _fit_logit(t, x, "Modèle de score de propension")), _EPS, 1 - _EPS)
    keep = np.ones(len(t), dtype=bool)
    trimmed = {"treated": 0, "control": 0}
    outside = {"treated": 0, "control": 0}
    if trim is not None:
        cut = (p < trim) | (p > 1 - trim)
        trimmed = {"treated": int((cut & (t == 1)).sum()), "control": int((cut & (t == 0)).sum())}
        keep &= ~cut
    if common_support:
        low, high = max(p[t == 1].min(), p[t == 0].min()), min(p[t == 1].max(), p[t == 0].max())
        cut = ((p < low) | (p > high)) & keep
        outside = {"treated": int((cut & (t == 1)).sum()), "control": int((cut & (t == 0)).sum())}
        keep &= ~cut
    if t[keep].sum() < 2 or (1 - t[keep]).sum() < 2:
        raise ModelError("Après restriction (troncature / support commun), il reste trop peu de traités ou de témoins.")
    tk, yk = t[keep], y[keep]
    xk, pk = x, p
    if not keep.all():  # refit on the retained sample: the estimand is the ATT on that sample
        wk = work.loc[keep]
        for col in wk.columns:
            if isinstance(wk[col].dtype, pd.CategoricalDtype):
                wk[col] = wk[col].cat.remove_unused_categories()
        xk = _design(ps_rhs, wk, "modèle de score de propension")
        pk = np.clip(_expit(xk @ _fit_logit(tk, xk, "Modèle de score de propension")), _EPS, 1 - _EPS)
    else:
        wk = work
    _check_treated_levels(wk, tk)
    weights = np.zeros(len(t))
    out = {
        "p": p,
        "keep": keep,
        "trimmed": trimmed,
        "outside": outside,
        "pairs": None,
        "unmatched": 0,
        "caliper_abs": None,
    }
    if method == "matching":
        lp = np.log(pk / (1 - pk))
        caliper_abs = caliper * _pooled_sd(lp, tk) if caliper is not None else np.inf
        att, se, wsub, pairs, n1 = _matching(tk, yk, lp, caliper_abs, n_neighbors, replace, with_se)
        pos = np.flatnonzero(keep)
        pairs["t_pos"], pairs["c_pos"] = pos[pairs["t_pos"].to_numpy()], pos[pairs["c_pos"].to_numpy()]
        out.update(pairs=pairs, unmatched=int(tk.sum()) - n1, caliper_abs=float(caliper_abs))
    else:
        z = _design(out_rhs, wk, "modèle de résultat") if method == "aipw" else None
        att, influence, wsub = _weighting(tk, yk, xk, pk, z, outcome_type, with_if=with_se)
        se = float(np.sqrt(np.sum(influence**2)) / len(tk)) if with_se else np.nan
        wsub = wsub.copy()
        wsub[tk == 0] *= tk.sum() / wsub[tk == 0].sum()  # controls' weights sum to n_treated
    weights[keep] = wsub
    out.update(att=float(att), se=se, weights=weights)
    return out


def estimate_att(
    df: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates,
    method: str = "aipw",
    ps_formula: str | None = None,
    outcome_formula: str | None = None,
    trim: float | None = None,
    common_support: bool = False,
    caliper: float | None = 0.2,
    replace: bool = True,
    n_neighbors: int = 1,
    bootstrap: int = 0,
    seed: int | None = None,
    level: float = 0.95,
    outcome_type: str | None = None,
) -> ATTResult:
    """Average treatment effect on the treated (ATT) with balance and overlap diagnostics.

    Parameters
    ----------
    df : DataFrame
        One row per person, treated and comparison units together.
    treatment : str
        0/1 (or boolean) column, 1 = treated (E2C trainee).
    outcome : str
        Binary (0/1, boolean) or continuous outcome column.
    covariates : list of str
        Characteristics measured before treatment. Categorical (text or
        category dtype) covariates are expanded into indicators.
    method : {"aipw", "ipw", "matching"}
        See the module docstring.
    ps_formula : str, optional
        Right-hand side (or ``"treated ~ ..."``) of the propensity model, in
        formula syntax: ``"bs(age_at_entry, df=4) + C(education_level) + qpv:sex"``,
        ``"age + I(age**2)"``. Only covariates may appear. Default: main
        effects of the covariates.
    outcome_formula : str, optional
        Right-hand side of the AIPW outcome model; defaults to the propensity
        model's right-hand side.
    trim : float, optional
        Trims extreme weights: units whose propensity score lies outside
        [trim, 1 − trim] are dropped (Crump et al. 2009); for controls this
        caps the odds weight at (1 − trim)/trim. Counts in ``.trimmed``.
    common_support : bool
        Drop units outside the common support of the propensity score
        (min/max rule). Counts in ``.outside_support``. After either
        restriction the propensity model is refitted on the units kept, and the
        estimand is the ATT among the treated kept.
    caliper : float or None
        Matching caliper in SDs of the logit propensity score (pooled SD);
        ``None``: no caliper.
    replace : bool
        Matching with (default) or without replacement.
    n_neighbors : int
        Controls per treated unit in matching.
    bootstrap : int
        0 (default): analytic SE (influence function; Abadie–Imbens for
        matching). B > 0: percentile bootstrap with B replicates drawn within
        each group.
    seed : int, optional
        Seed of the bootstrap.
    level : float
        Confidence level (0.95).
    outcome_type : {"binary", "continuous"}, optional
        Detected from the values when omitted.

    Returns
    -------
    ATTResult
        See :class:`ATTResult` for every attribute.

    Raises
    ------
    SchemaError
        A named column is missing.
    InputError
        A bad value (treatment not 0/1, non-numeric outcome, unreadable
        formula, post-treatment covariate).
    ModelError
        Too few complete rows, perfect separation, no match in the caliper.
    """
    if method not in METHODS:
        raise InputError(f"Méthode inconnue : {method!r}. Méthodes disponibles : {', '.join(METHODS)}.")
    if trim is not None and not 0 < trim < 0.5:
        raise InputError(f"trim doit être compris entre 0 et 0,5 (reçu {trim!r}).")
    if n_neighbors < 1:
        raise InputError("n_neighbors doit valoir au moins 1.")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    work, t, y, outcome_type, missing, n_missing = _prepare(df, treatment, outcome, covariates, outcome_type)
    ps_rhs = _rhs(ps_formula, _default_rhs(work, covariates))
    out_rhs = _rhs(outcome_formula, ps_rhs)
    args = dict(
        ps_rhs=ps_rhs,
        out_rhs=out_rhs,
        method=method,
        outcome_type=outcome_type,
        trim=trim,
        common_support=common_support,
        caliper=caliper,
        replace=replace,
        n_neighbors=n_neighbors,
    )
    fit = _point(t, y, work, with_se=bootstrap == 0, **args)
    z_crit = stats.norm.ppf(0.5 + level / 2)
    notes = []
    boot = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        pos_t, pos_c = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
        boot = np.full(bootstrap, np.nan)
        for b in range(bootstrap):
            rows = np.concatenate([rng.choice(pos_t, len(pos_t)), rng.choice(pos_c, len(pos_c))])
            try:
                boot[b] = _point(t[rows], y[rows], work.iloc[rows].reset_index(drop=True), with_se=False, **args)["att"]
            except ModelError:
                pass  # a replicate where the model cannot be fitted: counted below
        failed = int(np.isnan(boot).sum())
        if failed:
            notes.append(f"{failed} réplication(s) bootstrap sur {bootstrap} n'ont pas pu être estimées.")
        ok = boot[~np.isnan(boot)]
        se = float(np.std(ok, ddof=1))
        ci_low, ci_high = (float(v) for v in np.quantile(ok, [0.5 - level / 2, 0.5 + level / 2]))
        ci_method = f"bootstrap (B={bootstrap}, percentile)"
        if method == "matching" and replace:
            notes.append("Le bootstrap n'est pas valide pour l'appariement avec remise (Abadie & Imbens 2008).")
    else:
        se = fit["se"]
        ci_low, ci_high = fit["att"] - z_crit * se, fit["att"] + z_crit * se
        ci_method = "Abadie-Imbens" if method == "matching" else "influence function"

    weights = fit["weights"]
    used_t = (t == 1) & (weights > 0)
    used_c = (t == 0) & (weights > 0)
    mean_treated = float(y[used_t].mean())
    pairs = None
    if fit["pairs"] is not None:
        pr = fit["pairs"]
        pairs = pd.DataFrame(
            {
                "treated_index": work.index[pr["t_pos"].to_numpy()],
                "control_index": work.index[pr["c_pos"].to_numpy()],
                "distance": pr["distance"].to_numpy(),
                "rank": pr["rank"].to_numpy(dtype=int),
                "y_treated": y[pr["t_pos"].to_numpy()],
                "y_control": y[pr["c_pos"].to_numpy()],
            }
        )
        if fit["unmatched"]:
            notes.append(f"{fit['unmatched']} traité(s) sans témoin dans le caliper : exclus de l'estimation.")
    balance = _balance(_balance_matrix(work, covariates), t, weights)
    return ATTResult(
        estimate=fit["att"],
        se=se,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        ci_method=ci_method,
        n_treated=int(used_t.sum()),
        n_control=int(used_c.sum()),
        ess_control=_kish(weights[t == 0]),
        balance=balance,
        overlap=_overlap(fit["p"], t),
        method=method,
        outcome_type=outcome_type,
        treatment=treatment,
        outcome=outcome,
        covariates=covariates,
        level=level,
        mean_treated=mean_treated,
        mean_control_counterfactual=mean_treated - fit["att"],
        naive=float(y[t == 1].mean() - y[t == 0].mean()),
        sd_outcome_control=float(np.std(y[t == 0], ddof=1)),
        trimmed=fit["trimmed"],
        outside_support=fit["outside"],
        unmatched_treated=fit["unmatched"],
        missing=missing,
        n_missing=n_missing,
        propensity=pd.Series(fit["p"], index=work.index, name="propensity"),
        weights=pd.Series(weights, index=work.index, name="weight"),
        pairs=pairs,
        ps_formula=ps_rhs,
        caliper_logit=fit["caliper_abs"],
        replace=replace,
        n_neighbors=n_neighbors,
        bootstrap_estimates=boot,
        notes=notes,
    )


# --------------------------------------------------------------------------
# Sensitivity to hidden confounding
# --------------------------------------------------------------------------
def _e_value_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele & Ding 2017): RR + sqrt(RR(RR − 1)), RR taken ≥ 1."""
    if not np.isfinite(rr):
        return np.inf
    rr = 1.0 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1.0)))


def e_value(
    estimate: float,
    ci_low: float | None = None,
    ci_high: float | None = None,
    scale: str = "RR",
    baseline: float | None = None,
    sd: float | None = None,
    rare: bool = False,
) -> pd.Series:
    """E-value of an estimate and of the confidence bound nearer the null.

    The E-value is the minimum strength of association, on the risk-ratio
    scale, that a hidden confounder would need with both the treatment and
    the outcome to explain the estimate away (VanderWeele & Ding 2017):
    E = RR + sqrt(RR(RR − 1)) for RR ≥ 1 (RR < 1 is inverted first). For the
    CI, the bound nearer the null is used; when the CI contains the null the
    E-value is 1.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        The effect and its CI on ``scale`` (CI optional).
    scale : {"RR", "OR", "RD", "SMD"}
        ``RR``: risk ratio. ``OR``: odds ratio, taken as RR when ``rare`` is
        true, else converted with RR ≈ sqrt(OR) (VanderWeele 2017, common
        outcome). ``RD``: risk difference on a binary outcome, converted to
        RR = (p0 + RD) / p0 with ``baseline`` p0 the risk without treatment
        (for an ATT: the counterfactual risk of the treated); p0 is treated
        as known, so the CI's E-value ignores its uncertainty. ``SMD``:
        difference in means divided by ``sd`` (the outcome's SD), converted
        with RR ≈ exp(0.91·d) (VanderWeele & Ding 2017).
    baseline : float
        Required for ``RD``: risk in the untreated state, in (0, 1).
    sd : float
        Required for ``SMD`` when the estimate is a raw difference in means;
        use ``sd=1`` when the estimate is already standardised.
    rare : bool
        For ``OR`` only: the outcome is rare (under 15 %).

    Returns
    -------
    Series
        ``rr`` (estimate on the risk-ratio scale), ``rr_ci_low``,
        ``rr_ci_high``, ``e_value`` (for the estimate), ``e_value_ci`` (for the
        CI bound nearer the null; NaN without a CI).
    """
    scale = scale.upper()
    if scale == "RR":
        to_rr = lambda v: v  # noqa: E731
    elif scale == "OR":
        to_rr = (lambda v: v) if rare else np.sqrt
    elif scale == "RD":
        if baseline is None or not 0 < baseline < 1:
            raise InputError(
                "e_value : pour une différence de risques, baseline (risque sans traitement, entre 0 et 1) est requis."
            )
        to_rr = lambda v: max(baseline + v, _EPS) / baseline  # noqa: E731
    elif scale == "SMD":
        if sd is None or not sd > 0:
            raise InputError("e_value : pour une différence de moyennes, sd (écart-type du résultat, > 0) est requis.")
        to_rr = lambda v: float(np.exp(0.91 * v / sd))  # noqa: E731
    else:
        raise InputError(f"e_value : échelle inconnue {scale!r} (RR, OR, RD ou SMD).")
    values = [estimate] + [v for v in (ci_low, ci_high) if v is not None]
    if scale in ("RR", "OR") and any(v <= 0 for v in values):
        raise InputError("e_value : un rapport de risques ou de cotes doit être strictement positif.")
    rr = float(to_rr(estimate))
    out = {"rr": rr, "rr_ci_low": np.nan, "rr_ci_high": np.nan, "e_value": _e_value_rr(rr), "e_value_ci": np.nan}
    if ci_low is not None and ci_high is not None:
        lo, hi = float(to_rr(ci_low)), float(to_rr(ci_high))
        out["rr_ci_low"], out["rr_ci_high"] = lo, hi
        if lo <= 1 <= hi:
            out["e_value_ci"] = 1.0
        else:
            out["e_value_ci"] = _e_value_rr(lo if rr > 1 else hi)
    return pd.Series(out, name="e_value")


def rosenbaum_bounds(pairs, gammas=None, alpha: float = 0.05, alternative: str = "auto") -> RosenbaumBounds:
    """Rosenbaum bounds for matched pairs on a binary outcome (McNemar-type sign test).

    Among discordant pairs (only one member has the outcome), under no effect
    and hidden bias at most Γ, the number of pairs where the treated member
    has the outcome is stochastically between Bin(D, 1/(1+Γ)) and
    Bin(D, Γ/(1+Γ)) (Rosenbaum 2002, §4.3). The upper bound of the one-sided
    p-value is P(Bin(D, Γ/(1+Γ)) ≥ T); Γ = 1 gives the exact McNemar test.

    Parameters
    ----------
    pairs : ATTResult or DataFrame
        A matching result with one control per treated unit, or a frame with
        columns ``y_treated`` and ``y_control`` (0/1), one row per pair.
    gammas : sequence of float, optional
        Default 1, 1.1, ..., 2, 2.5, 3.
    alpha : float
        Significance level for ``significant`` and ``gamma_critical``.
    alternative : {"auto", "greater", "less"}
        ``greater`` tests a positive effect; ``auto`` follows the sign of the
        discordant counts.

    Returns
    -------
    RosenbaumBounds
    """
    note = ""
    if isinstance(pairs, ATTResult):
        if pairs.pairs is None:
            raise InputError("rosenbaum_bounds : le résultat ne vient pas d'un appariement (method='matching').")
        if pairs.n_neighbors != 1:
            raise InputError("rosenbaum_bounds : il faut un appariement 1:1 (n_neighbors=1).")
        if pairs.outcome_type != "binary":
            raise InputError("rosenbaum_bounds : le résultat doit être binaire.")
        if pairs.replace and pairs.pairs["control_index"].duplicated().any():
            note = (
                "Appariement avec remise : certains témoins servent plusieurs fois, les paires ne sont pas "
                "indépendantes et les bornes sont approximatives."
            )
        pairs = pairs.pairs
    for col in ("y_treated", "y_control"):
        if col not in pairs.columns:
            raise SchemaError(f"rosenbaum_bounds : colonne {col!r} absente.")
    yt = _binary_codes(pairs["y_treated"], "y_treated")
    yc = _binary_codes(pairs["y_control"], "y_control")
    n_plus = int(((yt == 1) & (yc == 0)).sum())
    n_minus = int(((yt == 0) & (yc == 1)).sum())
    d = n_plus + n_minus
    if alternative == "auto":
        alternative = "greater" if n_plus >= n_minus else "less"
    if alternative not in ("greater", "less"):
        raise InputError(f"rosenbaum_bounds : alternative inconnue {alternative!r}.")
    stat = n_plus if alternative == "greater" else n_minus
    gammas = np.asarray(
        gammas if gammas is not None else [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.5, 3], dtype=float
    )
    if (gammas < 1).any():
        raise InputError("rosenbaum_bounds : Γ doit être ≥ 1.")

    def p_upper(g):
        return stats.binom.sf(stat - 1, d, g / (1 + g)) if d else 1.0

    table = pd.DataFrame(
        {
            "gamma": gammas,
            "p_upper": [p_upper(g) for g in gammas],
            "p_lower": [stats.binom.sf(stat - 1, d, 1 / (1 + g)) if d else 1.0 for g in gammas],
        }
    )
    table["significant"] = table["p_upper"] <= alpha
    if p_upper(1.0) > alpha:
        gamma_critical = 1.0
    else:
        hi = 2.0
        while p_upper(hi) <= alpha and hi < 1e6:
            hi *= 2
        gamma_critical = float(optimize.brentq(lambda g: p_upper(g) - alpha, 1.0, hi)) if hi < 1e6 else np.inf
    return RosenbaumBounds(
        table=table,
        gamma_critical=gamma_critical,
        n_pairs=len(pairs),
        n_discordant=d,
        discordant_treated=n_plus,
        discordant_control=n_minus,
        alternative=alternative,
        alpha=alpha,
        note=note,
    )


# --------------------------------------------------------------------------
# Effects by subgroup
# --------------------------------------------------------------------------
def estimate_att_by(
    df: pd.DataFrame, by: str, treatment: str, outcome: str, covariates, *, min_cell: int = DEFAULT_MIN_CELL, **kwargs
) -> pd.DataFrame:
    """The ATT within each level of ``by`` (region, sex, age band...), for a forest plot.

    ``by`` is removed from the covariates inside each subgroup. A subgroup
    with fewer than ``min_cell`` treated units or controls is not estimated
    (``status = "suppressed"``): too small to publish and to estimate. A
    subgroup where the models cannot be fitted gets ``status = "error"`` and
    the reason in ``message``.

    Returns
    -------
    DataFrame
        One row per level: ``by`` (the level), ``n_treated``, ``n_control``
        (units in the subgroup with complete data), ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``ess_control``, ``status``
        (ok / suppressed / error), ``message``. ``.attrs["n_missing_by"]``:
        units whose ``by`` is missing, in no subgroup (a ModelWarning says so).
    """
    if by not in df.columns:
        raise SchemaError(f"Colonne {by!r} absente des données.")
    covariates = [c for c in ([covariates] if isinstance(covariates, str) else covariates) if c != by]
    rows = []
    for level, sub in df.groupby(by, observed=True, sort=True):
        complete = sub[[treatment, outcome, *covariates]].dropna()
        t = complete[treatment].astype(float)
        row = {
            "by": level,
            "n_treated": int((t == 1).sum()),
            "n_control": int((t == 0).sum()),
            "estimate": np.nan,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "ess_control": np.nan,
            "status": "ok",
            "message": "",
        }
        if min(row["n_treated"], row["n_control"]) < min_cell:
            row["status"] = "suppressed"
            row["message"] = f"moins de {min_cell} traités ou témoins"
        else:
            try:
                res = estimate_att(sub, treatment, outcome, covariates, **kwargs)
                row.update(
                    estimate=res.estimate,
                    se=res.se,
                    ci_low=res.ci_low,
                    ci_high=res.ci_high,
                    ess_control=res.ess_control,
                )
            except E2CError as exc:
                row.update(status="error", message=str(exc))
        rows.append(row)
    out = pd.DataFrame(rows)
    # Units whose level is unknown fall in no subgroup: count them and say so.
    out.attrs["n_missing_by"] = n_missing = int(df[by].isna().sum())
    if n_missing:
        from .models import ModelWarning

        warnings.warn(
            f"{n_missing} unité(s) sans valeur pour {by!r} : dans aucun sous-groupe (comptées dans "
            "l'effet global seulement).",
            ModelWarning,
            stacklevel=2,
        )
    return out


# --------------------------------------------------------------------------
# Loading an impact design
# --------------------------------------------------------------------------
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
        return (
            f"ImpactFrame(rows={len(self.data)}, by group={n}, outcome known={int(self.data['outcome'].notna().sum())}, "
            f"covariates={self.covariates}, definition={self.definition!r})"
        )

    def analysis_data(self) -> pd.DataFrame:
        """Rows with a known outcome (those without are counted in ``outcome_report``)."""
        return self.data.loc[self.data["outcome"].notna()]


def _clean(source, definition, key):
    from .cleaning import clean_export

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
    from .definitions import get_definition

    d = get_definition(definition)
    first = _clean(e2c_source, d, key)
    results = [first]
    frames = [first.data.assign(source_file=first.source_name or "e2c")]
    if comparison_source is not None:
        if (first.data["group"] == "comparaison").any():
            row = first.data.loc[first.data["group"] == "comparaison", "source_row"].iloc[0]
            raise InputError(
                f"{first.source_name} : la ligne {row} est marquée « comparaison » alors qu'un fichier de "
                "comparaison distinct est fourni. Fournissez un seul fichier avec la colonne groupe, ou deux "
                "fichiers séparés."
            )
        second = _clean(comparison_source, d, key)
        group = second.data["group"]
        if (group == "comparaison").any() and (group == "e2c").any():
            row = second.data.loc[group == "e2c", "source_row"].iloc[0]
            raise InputError(
                f"{second.source_name} : la ligne {row} est marquée « E2C » dans le fichier de comparaison."
            )
        comp = second.data.assign(
            group=pd.Categorical(["comparaison"] * len(second.data), categories=first.data["group"].cat.categories)
        )
        results.append(second)
        frames.append(comp.assign(source_file=second.source_name or "comparaison"))
    data = pd.concat(frames, ignore_index=True)
    data["group"] = data["group"].astype(first.data["group"].dtype)
    if data["group"].isna().any():
        raise InputError("Groupe manquant (ni E2C ni comparaison) pour certaines lignes : vérifiez la colonne groupe.")
    data["treated"] = (data["group"] == "e2c").astype(int)
    if data["treated"].nunique() < 2:
        raise InputError(
            "Les données ne contiennent qu'un groupe : il faut des stagiaires E2C et un groupe de comparaison "
            "(colonne groupe, ou un second fichier)."
        )
    data["outcome"] = data["positive_exit"].astype("Float64").astype(float)

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

    covariates, excluded = [], {}
    candidates = list(DEFAULT_IMPACT_COVARIATES) + ["region", "cohort_year"]
    for col in candidates:
        observed = data[col].notna().groupby(data["treated"]).mean()
        if (observed < 0.5).any():
            excluded[col] = "non renseignée pour la moitié au moins d'un groupe"
        elif data[col].nunique(dropna=True) < 2:
            if col not in ("region", "cohort_year"):
                excluded[col] = "une seule valeur"
        else:
            covariates.append(col)
    if "cohort_year" in covariates:  # a cohort effect, not a linear trend
        data["cohort_year"] = data["cohort_year"].astype("string")
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


# --------------------------------------------------------------------------
# Report / notebook section
# --------------------------------------------------------------------------
_SECTION_TEXT = {
    "fr": {
        "indicator": "Indicateur",
        "value": "Valeur",
        "effect": "Effet estimé sur les stagiaires (points de sorties positives)",
        "effect_cont": "Effet estimé sur les stagiaires",
        "ci": "Intervalle de confiance à {level} %",
        "ci_method": "Calcul de l'intervalle",
        "rate_t": "Taux de sorties positives des stagiaires E2C",
        "rate_c": "Taux estimé pour les mêmes jeunes sans E2C",
        "naive": "Différence brute (sans ajustement)",
        "n_t": "Stagiaires E2C analysés",
        "n_c": "Jeunes du groupe de comparaison analysés",
        "ess": "Taille effective du groupe de comparaison pondéré",
        "method": "Méthode",
        "smd": "Écart standardisé maximal (avant → après ajustement)",
        "methods": {
            "aipw": "Doublement robuste (AIPW)",
            "ipw": "Pondération par le score de propension",
            "matching": "Appariement sur le score de propension",
        },
        "covariate": "Caractéristique",
        "mean_t": "E2C",
        "mean_c": "Comparaison (brut)",
        "mean_cw": "Comparaison (ajusté)",
        "smd_b": "Écart standardisé avant",
        "smd_a": "Écart standardisé après",
        "measure": "Mesure",
        "ev": "E-value de l'estimation",
        "ev_ci": "E-value de la borne de l'IC la plus proche de 0",
        "gamma": "Γ de Rosenbaum à partir duquel l'effet n'est plus significatif",
        "summary": (
            "Les stagiaires E2C analysés ont un taux de sorties positives de {rate_t}. Des jeunes du groupe "
            "de comparaison au profil comparable (mêmes caractéristiques à l'entrée) ont un taux ajusté de "
            "{rate_c}. L'effet estimé de l'E2C sur ses stagiaires est de {effect} points [{low} à {high}]."
        ),
        "caveat": (
            "Cette estimation suppose que les deux groupes ne diffèrent que par les caractéristiques prises en "
            "compte ({covariates}). Un facteur non observé (motivation, soutien familial…) pourrait la "
            "biaiser : il faudrait qu'il soit associé à l'entrée en E2C et aux sorties positives par un "
            "rapport de risques d'au moins {ev} pour annuler l'effet estimé."
        ),
    },
    "en": {
        "indicator": "Indicator",
        "value": "Value",
        "effect": "Estimated effect on trainees (percentage points of positive exits)",
        "effect_cont": "Estimated effect on trainees",
        "ci": "{level}% confidence interval",
        "ci_method": "Interval computed by",
        "rate_t": "Positive-exit rate of E2C trainees",
        "rate_c": "Estimated rate of the same young people without the E2C",
        "naive": "Raw difference (unadjusted)",
        "n_t": "E2C trainees analysed",
        "n_c": "Comparison-group young people analysed",
        "ess": "Effective size of the weighted comparison group",
        "method": "Method",
        "smd": "Largest standardised difference (before → after adjustment)",
        "methods": {
            "aipw": "Doubly robust (AIPW)",
            "ipw": "Propensity-score weighting",
            "matching": "Propensity-score matching",
        },
        "covariate": "Characteristic",
        "mean_t": "E2C",
        "mean_c": "Comparison (raw)",
        "mean_cw": "Comparison (adjusted)",
        "smd_b": "Standardised difference before",
        "smd_a": "Standardised difference after",
        "measure": "Measure",
        "ev": "E-value of the estimate",
        "ev_ci": "E-value of the CI bound nearer 0",
        "gamma": "Rosenbaum Γ at which the effect stops being significant",
        "summary": (
            "The E2C trainees analysed have a positive-exit rate of {rate_t}. Comparison-group young people "
            "with a comparable profile (same characteristics at entry) have an adjusted rate of {rate_c}. "
            "The estimated effect of the E2C on its trainees is {effect} points [{low} to {high}]."
        ),
        "caveat": (
            "This estimate assumes the two groups differ only by the characteristics accounted for "
            "({covariates}). An unobserved factor (motivation, family support…) could bias it: it would "
            "need a risk ratio of at least {ev} with both entering an E2C and positive exits to explain the "
            "estimated effect away."
        ),
    },
}


def _ci_method_label(ci_method: str, lang: str) -> str:
    if lang != "fr":
        return ci_method
    return (
        ci_method.replace("influence function", "fonction d'influence")
        .replace("percentile", "percentiles")
        .replace("B=", "B\u00a0=\u00a0")
    )


def impact_section(
    data,
    covariates=None,
    *,
    treatment: str = "treated",
    outcome: str = "outcome",
    method: str = "aipw",
    by: str | None = None,
    lang: str = "fr",
    min_cell: int = DEFAULT_MIN_CELL,
    figures: bool = True,
    **kwargs,
) -> dict:
    """Everything the impact section of a report or notebook shows, ready to display.

    Parameters
    ----------
    data : ImpactFrame or DataFrame
        A :func:`load_impact_frame` result, or an analysis frame with the
        ``treatment`` and ``outcome`` columns.
    covariates : list of str, optional
        Defaults to ``data.covariates`` for an ImpactFrame.
    method : str
        Estimator (see :func:`estimate_att`); other keyword arguments go to it.
    by : str, optional
        Also estimate the effect within each level of this column (e.g. ``"region"``).
    lang : {"fr", "en"}
    min_cell : int
        Below this many treated units or controls, no estimate is produced.
    figures : bool
        Draw the figures (love plot, overlap, effects by subgroup when ``by``).

    Returns
    -------
    dict
        ``result`` (ATTResult), ``summary`` (display table: indicator, value),
        ``balance`` (display table, one row per covariate level),
        ``sensitivity`` (display table), ``by`` (tidy table of
        :func:`estimate_att_by`, or None), ``figures`` (dict of
        ``love``, ``overlap``, ``effects`` figures), ``text`` (a summary
        sentence and the caveat, in ``lang``).

    Raises
    ------
    ModelError
        Fewer than ``min_cell`` treated units or controls, or models that cannot be fitted.
    """
    from .formatting import fmt_int, fmt_number, fmt_pct

    text = _SECTION_TEXT[lang] if lang in _SECTION_TEXT else None
    if text is None:
        raise E2CError(f"Langue inconnue : {lang!r}. Langues disponibles : 'fr', 'en'.")
    if isinstance(data, ImpactFrame):
        covariates = covariates or data.covariates
        frame = data.analysis_data()
    else:
        frame = data
        if covariates is None:
            raise InputError("impact_section : indiquez les covariables (ou passez un ImpactFrame).")
    if treatment in frame.columns:  # cheap check first: no model fit for a group far too small
        counts = (
            frame.loc[frame[outcome].notna(), treatment].astype(float).value_counts()
            if outcome in frame.columns
            else pd.Series(dtype=float)
        )
        if min(counts.get(1.0, 0), counts.get(0.0, 0)) < min_cell:
            raise ModelError(f"Moins de {min_cell} stagiaires ou jeunes de comparaison : pas d'estimation publiable.")
    res = estimate_att(frame, treatment, outcome, covariates, method=method, **kwargs)
    if min(res.n_treated, res.n_control) < min_cell:
        raise ModelError(f"Moins de {min_cell} stagiaires ou jeunes de comparaison : pas d'estimation publiable.")
    binary = res.outcome_type == "binary"
    scale = 100.0 if binary else 1.0

    def signed(v):
        s = fmt_number(v * scale, lang, 1)
        return ("+" + s) if v > 0 else s

    level = fmt_int(res.level * 100, lang)
    rows = [
        (text["effect"] if binary else text["effect_cont"], signed(res.estimate)),
        (
            text["ci"].format(level=level),
            f"{signed(res.ci_low)} à {signed(res.ci_high)}"
            if lang == "fr"
            else f"{signed(res.ci_low)} to {signed(res.ci_high)}",
        ),
        (text["ci_method"], _ci_method_label(res.ci_method, lang)),
    ]
    if binary:
        rows += [
            (text["rate_t"], fmt_pct(res.mean_treated, lang)),
            (text["rate_c"], fmt_pct(res.mean_control_counterfactual, lang)),
        ]
    rows += [
        (text["naive"], signed(res.naive)),
        (text["n_t"], fmt_int(res.n_treated, lang)),
        (text["n_c"], fmt_int(res.n_control, lang)),
        (text["ess"], fmt_int(res.ess_control, lang)),
        (text["method"], text["methods"][res.method]),
        (
            text["smd"],
            f"{fmt_number(res.balance['smd_before'].abs().max(), lang, 2)} → "
            f"{fmt_number(res.balance['smd_after'].abs().max(), lang, 2)}",
        ),
    ]
    summary = pd.DataFrame(rows, columns=[text["indicator"], text["value"]])

    from .plots.impact import covariate_label

    bal = res.balance
    balance = pd.DataFrame(
        {
            text["covariate"]: [covariate_label(str(c), lang) for c in bal.index],
            text["mean_t"]: fmt_number(bal["mean_treated"], lang, 2).to_numpy(),
            text["mean_c"]: fmt_number(bal["mean_control"], lang, 2).to_numpy(),
            text["mean_cw"]: fmt_number(bal["mean_control_weighted"], lang, 2).to_numpy(),
            text["smd_b"]: fmt_number(bal["smd_before"], lang, 2).to_numpy(),
            text["smd_a"]: fmt_number(bal["smd_after"], lang, 2).to_numpy(),
        }
    )
    sens = res.sensitivity()
    srows = [
        (text["ev"], fmt_number(sens.e_value["e_value"], lang, 2)),
        (text["ev_ci"], fmt_number(sens.e_value["e_value_ci"], lang, 2)),
    ]
    if sens.rosenbaum is not None:
        srows.append((text["gamma"], fmt_number(sens.rosenbaum.gamma_critical, lang, 2)))
    sensitivity = pd.DataFrame(srows, columns=[text["measure"], text["value"]])

    by_table = (
        estimate_att_by(frame, by, treatment, outcome, covariates, method=method, min_cell=min_cell, **kwargs)
        if by
        else None
    )
    figs = {}
    if figures:
        from .plots.impact import effects_plot, love_plot, overlap_plot

        figs["love"] = love_plot(res, lang=lang)
        figs["overlap"] = overlap_plot(res, lang=lang)
        if by_table is not None:
            from .formatting import column_label as _label

            title = (
                f"Effet estimé sur les stagiaires, par {_label(by, 'fr').lower()}"
                if lang == "fr"
                else f"Estimated effect on trainees, by {_label(by, 'en').lower()}"
            )
            figs["effects"] = effects_plot(
                by_table,
                overall=res,
                lang=lang,
                percent=binary,
                title=title,
                label_column=by if by in ("region", "sex", "education_level") else None,
            )
    from .formatting import column_label

    rate = (lambda v: fmt_pct(v, lang)) if binary else (lambda v: fmt_number(v, lang, 1))
    paragraph = text["summary"].format(
        rate_t=rate(res.mean_treated),
        rate_c=rate(res.mean_control_counterfactual),
        effect=signed(res.estimate),
        low=signed(res.ci_low),
        high=signed(res.ci_high),
    )
    names = [column_label(c, lang) for c in covariates]
    names = [n[0].lower() + n[1:] if len(n) > 1 and n[1].islower() else n for n in names]  # keep QPV, RQTH
    caveat = text["caveat"].format(covariates=", ".join(names), ev=fmt_number(sens.e_value["e_value"], lang, 2))
    return {
        "result": res,
        "summary": summary,
        "balance": balance,
        "sensitivity": sensitivity,
        "by": by_table,
        "figures": figs,
        "text": [paragraph, caveat],
    }
