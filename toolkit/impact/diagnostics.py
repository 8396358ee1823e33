"""Diagnostics of an impact estimate: covariate balance (standardised mean differences, variance
ratios) and propensity-score overlap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Overlap"]

_OVERLAP_QUANTILES = (0.0, 0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0)


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


def _pooled_sd(values: np.ndarray, t: np.ndarray) -> float:
    return float(np.sqrt((np.var(values[t == 1], ddof=1) + np.var(values[t == 0], ddof=1)) / 2))


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
