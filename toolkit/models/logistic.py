"""The fixed-effects logistic model of a positive exit (:func:`fit_positive_exit`): standard errors
clustered by site, odds ratios, average marginal effects, performance, missing-data account."""

from __future__ import annotations

import re
import warnings
from functools import cached_property

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from .. import schema
from ..definitions import Definition, resolve_outcome
from ..design import formula_variables
from ..errors import ModelError
from ..formatting import column_label
from ..i18n import _, current_language, ngettext, use_language
from .performance import ModelPerformance, _performance
from .prepare import (
    MISSING_LEVEL,
    OUTCOME,
    PARCOURS_COVARIATES,
    ModelWarning,
    _Design,
    _handle_problems,
    _huge_terms,
    _missing_table,
    _prepare,
    _separated_levels,
    neutral_name,
)


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
        y, _definition = resolve_outcome(
            data, definition if definition is not None else self.definition, what="predict"
        )
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
                _(
                    "Validation croisée : estimation difficile dans au moins un pli, AUC et calibration hors "
                    "échantillon à lire avec prudence ({problems}).",
                    problems=" ; ".join(trouble[:3]),
                ),
                ModelWarning,
                stacklevel=2,
            )
        return _performance(y, predicted)

    def display_table(self, raw_names: bool = False) -> pd.DataFrame:
        """Odds ratios and average marginal effects (points) as text, as in the reports; the toolkit's
        term names only with ``raw_names=True``."""
        from ..display import model_table

        return model_table(self, raw_names)

    def _repr_html_(self) -> str:
        from ..display import html_table
        from ..formatting import fmt_int, fmt_number

        caption = _(
            "Modèle logistique des sorties positives : {n} sorties à l'issue connue",
            n=fmt_int(self.n),
        )
        during = [c for c in PARCOURS_COVARIATES if c in re.findall(r"\w+", self.formula)]
        if during:  # the separate analysis must not be mistaken for the model of characteristics at entry
            caption = _(
                "Modèle logistique des sorties positives, avec une variable mesurée pendant le parcours ({names}) : "
                "{n} sorties à l'issue connue",
                names=", ".join(column_label(c) for c in during),
                n=fmt_int(self.n),
            )
        notes = [
            _(
                "Rapports de cotes et effets marginaux moyens (en points de probabilité) : des associations "
                "« toutes choses égales par ailleurs », pas des effets causaux. AUC apparente : {auc}.",
                auc=fmt_number(self.auc, decimals=3),
            )
        ]
        dropped = int(self.missing.get("rows_dropped", 0) or 0)
        if dropped:
            notes.append(
                ngettext(
                    "{k} sortie écartée pour une caractéristique manquante.",
                    "{k} sorties écartées pour une caractéristique manquante.",
                    dropped,
                    k=fmt_int(dropped),
                )
            )
        return html_table(self.display_table(), caption, notes)

    def missing_table(self, lang: str | None = None) -> pd.DataFrame:
        """Missing values by column (see :func:`fit_positive_exit`), in the current language or ``lang``."""
        return _missing_table(self.missing, lang)

    def summary_table(self, lang: str | None = None) -> pd.DataFrame:
        """Odds ratios for display: a readable label per term, numbers unformatted.

        Columns (in the current language, or ``lang``): Variable, Rapport de cotes, IC 95 % bas,
        IC 95 % haut, p.
        """
        table = self.odds_ratios.drop(index="Intercept", errors="ignore")
        with use_language(lang or current_language()):
            return pd.DataFrame(
                {
                    _("Variable"): [term_label(t, self._design) for t in table.index],
                    _("Rapport de cotes"): table["odds_ratio"].to_numpy(),
                    _("IC 95 % bas"): table["ci_low"].to_numpy(),
                    _("IC 95 % haut"): table["ci_high"].to_numpy(),
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


def term_label(term: str, design: _Design | None, lang: str | None = None) -> str:
    """Readable label of a neutral term name, in the current language or ``lang``, e.g.
    ``education_level[niveau_4]`` -> "Niveau de formation : Niveau 4 (bac) (réf. Infra niveau 3 ...)"."""
    lang = lang or current_language()
    with use_language(lang):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[(.*)\]", term)
        if m:
            col, level = m.groups()
            value = _("Non renseigné") if level == MISSING_LEVEL else schema.label(col, level, lang)
            if design is not None and design.levels.get(col):
                reference = schema.label(col, design.levels[col][0], lang)
                return _(
                    "{name} : {value} (réf. {reference})", name=column_label(col), value=value, reference=reference
                )
            return _("{name} : {value}", name=column_label(col), value=value)
        if term.endswith("_missing"):
            return _("{name} : non renseigné", name=column_label(term[: -len("_missing")]))
        if term == "Intercept":
            return _("Constante")
        return column_label(term)


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
            problems.append(_("séparation parfaite signalée par statsmodels ({exc})", exc=exc))
            return None
        except np.linalg.LinAlgError as exc:
            problems.append(_("matrice singulière pendant l'estimation ({exc})", exc=exc))
            return None
    for w in caught:
        if issubclass(w.category, PerfectSeparationWarning):
            problems.append(_("séparation parfaite ou quasi complète signalée par statsmodels"))
        elif issubclass(w.category, ConvergenceWarning):
            problems.append(_("non-convergence signalée par statsmodels ({message})", message=w.message))
        elif issubclass(w.category, HessianInversionWarning):
            problems.append(_("matrice hessienne non inversible"))
        elif issubclass(w.category, RuntimeWarning) and "overflow" in str(w.message):
            problems.append(_("dépassement numérique pendant l'estimation ({message})", message=w.message))
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
        :data:`DEFAULT_COVARIATES`: characteristics known at entry (sex, age at entry,
        education level, QPV, disability, nationality), cohort year and region. Variables
        measured during the parcours (:data:`PARCOURS_COVARIATES`, weeks in company) are
        never in the default: pass them in ``covariates`` for a separate analysis.
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
        warnings.warn(_("Modèle de sortie positive : {notes}.", notes=" ; ".join(notes)), ModelWarning, stacklevel=2)
    problems: list[str] = []
    if len(frame) == 0:
        raise ModelError(_("Aucune sortie ne reste après retrait des covariables manquantes : modèle impossible."))
    y = frame[OUTCOME].to_numpy()
    if y.min() == y.max():
        raise ModelError(_("Toutes les sorties retenues ont la même issue : le modèle ne peut pas être estimé."))
    used = formula_variables(formula, frame.columns, exclude=OUTCOME)
    separated = _separated_levels(frame, y, design, used)
    if separated:
        problems.append(_("séparation quasi complète pour {terms}", terms=", ".join(separated)))
    groups = None
    if cluster is not None:
        groups = pd.factorize(frame[cluster].cat.codes.to_numpy())[0]
    if problems and strict:
        _handle_problems(problems, strict, "Le modèle de sortie positive")
    results = _fit_logit(frame.drop(columns=[cluster] if cluster else []), formula, groups, maxiter, problems)
    if results is not None:
        if not results.mle_retvals.get("converged", True):
            if not any("non-convergence" in p for p in problems):
                problems.append(_("non-convergence après {maxiter} itérations", maxiter=maxiter))
        exog = results.model.exog
        rank = np.linalg.matrix_rank(exog.T @ exog)
        if rank < exog.shape[1]:
            problems.append(
                _(
                    "plan d'expérience singulier (rang {rank} pour {v1} termes : colinéarité)",
                    rank=rank,
                    v1=exog.shape[1],
                )
            )
        names = pd.Index([neutral_name(t) for t in results.params.index])
        huge = _huge_terms(
            pd.Series(results.params.to_numpy(), index=names),
            pd.Series(np.sqrt(np.abs(np.diag(results.normalized_cov_params))), index=names),
        )
        if huge:
            problems.append(
                _("coefficients ou erreurs-types démesurés (séparation probable) : {terms}", terms=", ".join(huge))
            )
    if results is None and not problems:
        problems.append(_("estimation impossible"))
    _handle_problems(problems, strict, "Le modèle de sortie positive")
    if results is None:
        raise ModelError(
            _("Le modèle de sortie positive n'a pas pu être estimé : {problems}.", problems="; ".join(problems))
        )
    return PositiveExitModel(results, formula, design, d, missing_info, cluster, y, problems, notes)
