"""Performance measures of a probability model, usable on any outcome / probability pair: AUC
(Mann-Whitney), calibration table, calibration slope and intercept."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
)


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
