"""Sensitivity to hidden confounding: the E-value (VanderWeele & Ding 2017) and Rosenbaum bounds
for matched pairs on a binary outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import InputError, SchemaError
from ..i18n import _
from .prepare import _binary_codes

_EPS = 1e-12

__all__ = ["RosenbaumBounds", "Sensitivity", "e_value", "rosenbaum_bounds"]


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
                _(
                    "e_value : pour une différence de risques, baseline (risque sans traitement, entre 0 et "
                    "1) est requis."
                )
            )
        to_rr = lambda v: max(baseline + v, _EPS) / baseline  # noqa: E731
    elif scale == "SMD":
        if sd is None or not sd > 0:
            raise InputError(
                _("e_value : pour une différence de moyennes, sd (écart-type du résultat, > 0) est requis.")
            )
        to_rr = lambda v: float(np.exp(0.91 * v / sd))  # noqa: E731
    else:
        raise InputError(_("e_value : échelle inconnue {scale!r} (RR, OR, RD ou SMD).", scale=scale))
    values = [estimate] + [v for v in (ci_low, ci_high) if v is not None]
    if scale in ("RR", "OR") and any(v <= 0 for v in values):
        raise InputError(_("e_value : un rapport de risques ou de cotes doit être strictement positif."))
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
    if not isinstance(pairs, pd.DataFrame):  # an ATTResult of matching
        if pairs.pairs is None:
            raise InputError(_("rosenbaum_bounds : le résultat ne vient pas d'un appariement (method='matching')."))
        if pairs.n_neighbors != 1:
            raise InputError(_("rosenbaum_bounds : il faut un appariement 1:1 (n_neighbors=1)."))
        if pairs.outcome_type != "binary":
            raise InputError(_("rosenbaum_bounds : le résultat doit être binaire."))
        if pairs.replace and pairs.pairs["control_index"].duplicated().any():
            note = (
                "Appariement avec remise : certains témoins servent plusieurs fois, les paires ne sont pas "
                "indépendantes et les bornes sont approximatives."
            )
        pairs = pairs.pairs
    for col in ("y_treated", "y_control"):
        if col not in pairs.columns:
            raise SchemaError(_("rosenbaum_bounds : colonne {col!r} absente.", col=col))
    yt = _binary_codes(pairs["y_treated"], "y_treated")
    yc = _binary_codes(pairs["y_control"], "y_control")
    n_plus = int(((yt == 1) & (yc == 0)).sum())
    n_minus = int(((yt == 0) & (yc == 1)).sum())
    d = n_plus + n_minus
    if alternative == "auto":
        alternative = "greater" if n_plus >= n_minus else "less"
    if alternative not in ("greater", "less"):
        raise InputError(_("rosenbaum_bounds : alternative inconnue {alternative!r}.", alternative=alternative))
    stat = n_plus if alternative == "greater" else n_minus
    gammas = np.asarray(
        gammas if gammas is not None else [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.5, 3], dtype=float
    )
    if (gammas < 1).any():
        raise InputError(_("rosenbaum_bounds : Γ doit être ≥ 1."))

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
