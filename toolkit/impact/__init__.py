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

from .diagnostics import Overlap
from .estimators import METHODS, estimate_att, estimate_att_by
from .frame import ImpactFrame, load_impact_frame
from .prepare import DEFAULT_IMPACT_COVARIATES, PROCESS_COLUMNS
from .results import ATTResult
from .sensitivity import RosenbaumBounds, Sensitivity, e_value, rosenbaum_bounds

__all__ = [
    "ATTResult",
    "Overlap",
    "Sensitivity",
    "RosenbaumBounds",
    "ImpactFrame",
    "METHODS",
    "estimate_att",
    "estimate_att_by",
    "e_value",
    "rosenbaum_bounds",
    "load_impact_frame",
    "DEFAULT_IMPACT_COVARIATES",
    "PROCESS_COLUMNS",
]


def __getattr__(name: str):
    # The report text moved to toolkit.reports.impact_section; the old name still works
    # (imported on demand: the reports depend on the estimators, not the reverse).
    if name == "impact_section":
        from ..reports.impact_section import impact_section

        return impact_section
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
