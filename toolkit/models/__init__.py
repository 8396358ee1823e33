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

from .logistic import PositiveExitModel, average_marginal_effects, fit_positive_exit
from .multilevel import MultilevelModel, fit_multilevel
from .performance import auc_mann_whitney, calibration_slope_intercept, calibration_table
from .prepare import DEFAULT_COVARIATES, PARCOURS_COVARIATES, ModelWarning, neutral_name

__all__ = [
    "DEFAULT_COVARIATES",
    "PARCOURS_COVARIATES",
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
