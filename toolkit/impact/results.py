"""The result of an impact estimate (:class:`ATTResult`) with its tidy summary and sensitivity."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .diagnostics import Overlap
from .sensitivity import Sensitivity, e_value, rosenbaum_bounds

__all__ = ["ATTResult"]


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

    def display_table(self, raw_names: bool = False) -> pd.DataFrame:
        """The estimate as a two-column text table, as in the reports (effect in points for a binary
        outcome); the field names only with ``raw_names=True``."""
        from ..display import impact_table

        return impact_table(self, raw_names)

    def _repr_html_(self) -> str:
        from ..display import html_table
        from ..i18n import _
        from .claims import assess, verdict_label

        claims = assess(self, self.sensitivity())
        notes = [_("Lecture : {verdict}.", verdict=verdict_label(claims))] + list(self.notes)
        return html_table(self.display_table(), _("Effet estimé sur les stagiaires (ATT)"), notes)

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
