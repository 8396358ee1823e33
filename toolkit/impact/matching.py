"""Nearest-neighbour matching on the logit propensity score, with or without replacement, and the
Abadie-Imbens variance of the matching estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import ModelError
from ..i18n import _

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
        dist, _idx = cKDTree(lp_sorted[:, None]).query(lp[t_pos, None], k=kk)
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
    dist, _idx = cKDTree(lp_sorted[:, None]).query(lp[used, None], k=2)
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
        raise ModelError(_("Appariement : aucun traité n'a de témoin dans le caliper. Élargissez le caliper."))
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
