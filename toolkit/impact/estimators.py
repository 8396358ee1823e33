"""The ATT estimators (odds weighting, doubly robust AIPW, propensity-score matching), their standard
errors and bootstrap, and the effect within subgroups."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from ..config import DEFAULT_MIN_CELL
from ..design import design_matrix, formula_rhs
from ..errors import E2CError, InputError, ModelError, SchemaError
from ..i18n import _
from ..models import ModelWarning
from .diagnostics import _balance, _kish, _overlap, _pooled_sd
from .matching import _matching
from .prepare import _balance_matrix, _default_rhs, _prepare
from .results import ATTResult

__all__ = ["METHODS", "estimate_att", "estimate_att_by"]

METHODS = ("aipw", "ipw", "matching")
_EPS = 1e-12


def _fit_logit(y: np.ndarray, x: np.ndarray, what: str) -> np.ndarray:
    """Logistic regression coefficients (statsmodels GLM Binomial), ModelError when untrustworthy."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = sm.GLM(y, x, family=sm.families.Binomial()).fit(maxiter=100)
        except PerfectSeparationWarning:
            raise ModelError(
                _(
                    "{what} : séparation parfaite (une combinaison de covariables prédit exactement le "
                    "groupe). Les groupes ne se recouvrent pas : simplifiez le modèle ou restreignez "
                    "l'échantillon.",
                    what=what,
                )
            ) from None
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelError(_("{what} : échec de l'estimation ({exc}).", what=what, exc=exc)) from None
    if not res.converged:
        raise ModelError(_("{what} : l'estimation n'a pas convergé.", what=what))
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
                _(
                    "Covariable {col!r} : {v1} n'existe que chez les traités ({n} ligne(s)) ; aucun témoin "
                    "ne leur ressemble. Retirez ces lignes, regroupez ce niveau avec un autre, ou utilisez "
                    "common_support=True.",
                    col=col,
                    v1=", ".join(map(str, alone)),
                    n=n,
                )
            )


def _point(
    t, y, work, ps_rhs, out_rhs, method, outcome_type, trim, common_support, caliper, replace, n_neighbors, with_se=True
):
    """Everything that depends on the sample: restriction, PS fit, estimate, SE.

    Returns a dict with the estimate, its SE (influence function or
    Abadie–Imbens), the first-fit propensity, the retained mask and the row weights.
    """
    x = design_matrix(ps_rhs, work, _("modèle de score de propension"))
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
        raise ModelError(
            _("Après restriction (troncature / support commun), il reste trop peu de traités ou de témoins.")
        )
    tk, yk = t[keep], y[keep]
    xk, pk = x, p
    if not keep.all():  # refit on the retained sample: the estimand is the ATT on that sample
        wk = work.loc[keep]
        for col in wk.columns:
            if isinstance(wk[col].dtype, pd.CategoricalDtype):
                wk[col] = wk[col].cat.remove_unused_categories()
        xk = design_matrix(ps_rhs, wk, _("modèle de score de propension"))
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
        z = design_matrix(out_rhs, wk, _("modèle de résultat")) if method == "aipw" else None
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
        raise InputError(
            _("Méthode inconnue : {method!r}. Méthodes disponibles : {v1}.", method=method, v1=", ".join(METHODS))
        )
    if trim is not None and not 0 < trim < 0.5:
        raise InputError(_("trim doit être compris entre 0 et 0,5 (reçu {trim!r}).", trim=trim))
    if n_neighbors < 1:
        raise InputError(_("n_neighbors doit valoir au moins 1."))
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    work, t, y, outcome_type, missing, n_missing = _prepare(df, treatment, outcome, covariates, outcome_type)
    ps_rhs = formula_rhs(ps_formula, _default_rhs(work, covariates))
    out_rhs = formula_rhs(outcome_formula, ps_rhs)
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
        boot, se, ci_low, ci_high = _bootstrap(t, y, work, args, bootstrap, seed, level, notes)
        ci_method = f"bootstrap (B={bootstrap}, percentile)"
        if method == "matching" and replace:
            notes.append(_("Le bootstrap n'est pas valide pour l'appariement avec remise (Abadie & Imbens 2008)."))
    else:
        se = fit["se"]
        ci_low, ci_high = fit["att"] - z_crit * se, fit["att"] + z_crit * se
        ci_method = "Abadie-Imbens" if method == "matching" else "influence function"

    return _result(
        fit,
        t,
        y,
        work,
        covariates,
        notes,
        se=se,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        ci_method=ci_method,
        method=method,
        outcome_type=outcome_type,
        treatment=treatment,
        outcome=outcome,
        level=level,
        missing=missing,
        n_missing=n_missing,
        ps_formula=ps_rhs,
        replace=replace,
        n_neighbors=n_neighbors,
        bootstrap_estimates=boot,
    )


def _result(fit, t, y, work, covariates, notes, **fields) -> ATTResult:
    """The :class:`ATTResult` of a point fit: counts, means, balance and overlap on the analysis sample."""
    weights = fit["weights"]
    used_t = (t == 1) & (weights > 0)
    used_c = (t == 0) & (weights > 0)
    mean_treated = float(y[used_t].mean())
    pairs = _pairs_frame(fit["pairs"], work.index, y) if fit["pairs"] is not None else None
    if fit["unmatched"]:
        notes.append(_("{v0} traité(s) sans témoin dans le caliper : exclus de l'estimation.", v0=fit["unmatched"]))
    balance = _balance(_balance_matrix(work, covariates), t, weights)
    return ATTResult(
        **fields,
        estimate=fit["att"],
        n_treated=int(used_t.sum()),
        n_control=int(used_c.sum()),
        ess_control=_kish(weights[t == 0]),
        balance=balance,
        overlap=_overlap(fit["p"], t),
        covariates=covariates,
        mean_treated=mean_treated,
        mean_control_counterfactual=mean_treated - fit["att"],
        naive=float(y[t == 1].mean() - y[t == 0].mean()),
        sd_outcome_control=float(np.std(y[t == 0], ddof=1)),
        trimmed=fit["trimmed"],
        outside_support=fit["outside"],
        unmatched_treated=fit["unmatched"],
        propensity=pd.Series(fit["p"], index=work.index, name="propensity"),
        weights=pd.Series(weights, index=work.index, name="weight"),
        pairs=pairs,
        caliper_logit=fit["caliper_abs"],
        notes=notes,
    )


def _bootstrap(t, y, work, args, bootstrap: int, seed, level: float, notes: list[str]):
    """Percentile bootstrap within each group, the whole procedure re-run on each replicate.

    Returns the estimates, their SD and the percentile interval; failed replicates are noted."""
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
        notes.append(
            _(
                "{failed} réplication(s) bootstrap sur {bootstrap} n'ont pas pu être estimées.",
                failed=failed,
                bootstrap=bootstrap,
            )
        )
    ok = boot[~np.isnan(boot)]
    ci_low, ci_high = (float(v) for v in np.quantile(ok, [0.5 - level / 2, 0.5 + level / 2]))
    return boot, float(np.std(ok, ddof=1)), ci_low, ci_high


def _pairs_frame(pr: pd.DataFrame, index: pd.Index, y: np.ndarray) -> pd.DataFrame:
    """Matched pairs by row label of the input, with both outcomes."""
    t_pos, c_pos = pr["t_pos"].to_numpy(), pr["c_pos"].to_numpy()
    return pd.DataFrame(
        {
            "treated_index": index[t_pos],
            "control_index": index[c_pos],
            "distance": pr["distance"].to_numpy(),
            "rank": pr["rank"].to_numpy(dtype=int),
            "y_treated": y[t_pos],
            "y_control": y[c_pos],
        }
    )


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
        raise SchemaError(_("Colonne {by!r} absente des données.", by=by))
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
        warnings.warn(
            _(
                "{n_missing} unité(s) sans valeur pour {by!r} : dans aucun sous-groupe (comptées dans "
                "l'effet global seulement).",
                n_missing=n_missing,
                by=by,
            ),
            ModelWarning,
            stacklevel=2,
        )
    return out
