"""The multilevel model: the same fixed effects with site random intercepts
(``BinomialBayesMixedGLM``, variational Bayes), giving shrunken site effects."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
)

from ..definitions import Definition
from ..errors import ModelError
from ..i18n import _
from .prepare import OUTCOME, ModelWarning, _prepare, neutral_name


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
    frame, design, d, formula, missing_info, notes = _prepare(
        data, formula, covariates, group, definition, "complete_case"
    )
    if notes:
        warnings.warn(_("Modèle multiniveau : {notes}.", notes=" ; ".join(notes)), ModelWarning, stacklevel=2)
    if len(frame) == 0 or frame[OUTCOME].nunique() < 2:
        raise ModelError(_("Modèle multiniveau impossible : pas assez de sorties d'issues différentes."))
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
        notes.append(
            _(
                "optimiseur arrêté par la précision numérique, gradient maximal {gradient:.2g} (accepté)",
                gradient=gradient,
            )
        )
        bad = [b for b in bad if "VB fitting did not converge" not in b]
    if bad:
        raise ModelError(
            _("Le modèle multiniveau (bayésien variationnel) n'a pas convergé : {problems}.", problems=" ; ".join(bad))
        )
    _uncentre_intercept(results, list(model.exog_names), centred)
    effects = _site_effects(results, group, sites, counts)
    model_out = MultilevelModel(results, formula, d, missing_info, group, effects)
    model_out.notes = notes
    return model_out


def _uncentre_intercept(results, names: list[str], centred: dict[str, float]) -> None:
    """Move the intercept back to uncentred covariates (mean and SD), in place."""
    if "Intercept" not in names or not centred:
        return
    i0 = names.index("Intercept")
    shift = sum(results.fe_mean[names.index(c)] * m for c, m in centred.items() if c in names)
    var = sum((results.fe_sd[names.index(c)] * m) ** 2 for c, m in centred.items() if c in names)
    results.fe_mean[i0] -= shift
    results.fe_sd[i0] = np.sqrt(results.fe_sd[i0] ** 2 + var)


def _site_effects(results, group: str, sites: pd.Categorical, counts: pd.Series) -> pd.DataFrame:
    """Posterior mean and SD of each site's random intercept, with its 95 % interval and size."""
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
    return effects
