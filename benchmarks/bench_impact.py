"""Impact estimators: bias and CI coverage on simulated designs with a known
effect, the LaLonde NSW/CPS benchmark, and timings.

Usage: ``.venv/bin/python benchmarks/bench_impact.py [n_replicates]`` (default 200).
Needs the dev extra (``causaldata``) for the LaLonde part. Figures go to
docs/impact.md by hand.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_impact import (  # noqa: E402  (the test module's simulator is the reference design)
    COVARIATES,
    LALONDE_COVARIATES,
    LALONDE_PS,
    TRUE_LOGIT_EFFECT,
    TRUE_MEAN_EFFECT,
    simulate,
)

from toolkit.impact import estimate_att  # noqa: E402


def true_att_binary(n: int = 2_000_000) -> float:
    from scipy.special import expit

    rng = np.random.default_rng(12345)
    age = rng.integers(16, 26, n).astype(float)
    male, infra, qpv = rng.random(n) < 0.5, rng.random(n) < 0.5, rng.random(n) < 0.35
    t = rng.random(n) < expit(-0.8 - 0.15 * (age - 20) + 0.4 * male + 0.6 * infra + 0.7 * qpv)
    eta = 0.2 + 0.1 * (age - 20) - 0.3 * male - 0.8 * infra - 0.5 * qpv
    return float((expit(eta + TRUE_LOGIT_EFFECT) - expit(eta))[t].mean())


def coverage(n_rep: int) -> pd.DataFrame:
    truth_b = true_att_binary()
    rows = []
    for outcome, truth, binary in [("binary", truth_b, True), ("continuous", TRUE_MEAN_EFFECT, False)]:
        for method, kwargs in [("aipw", {}), ("ipw", {}), ("matching", {}), ("matching", {"replace": False})]:
            est, se, cov = [], [], 0
            start = time.perf_counter()
            for seed in range(1000, 1000 + n_rep):
                res = estimate_att(
                    simulate(3000, seed, binary), "treated", "positive_exit", COVARIATES, method=method, **kwargs
                )
                est.append(res.estimate)
                se.append(res.se)
                cov += res.ci_low <= truth <= res.ci_high
            elapsed = (time.perf_counter() - start) / n_rep
            est = np.array(est)
            rows.append(
                {
                    "outcome": outcome,
                    "method": method + ("" if kwargs.get("replace", True) else " (no repl.)"),
                    "truth": truth,
                    "mean_estimate": est.mean(),
                    "bias": est.mean() - truth,
                    "mc_se_bias": est.std(ddof=1) / np.sqrt(n_rep),
                    "sd": est.std(ddof=1),
                    "mean_se": np.mean(se),
                    "coverage": cov / n_rep,
                    "seconds_per_fit": elapsed,
                }
            )
    return pd.DataFrame(rows)


def lalonde() -> pd.DataFrame:
    import causaldata

    nsw = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    cps = causaldata.cps_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    experimental = nsw.loc[nsw.treat == 1, "re78"].mean() - nsw.loc[nsw.treat == 0, "re78"].mean()
    obs = pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True)
    obs["u74"], obs["u75"] = (obs.re74 == 0).astype(float), (obs.re75 == 0).astype(float)
    rows = [
        {"spec": "experimental (NSW treated vs NSW controls)", "estimate": experimental},
        {
            "spec": "naive (NSW treated vs CPS)",
            "estimate": obs.loc[obs.treat == 1, "re78"].mean() - obs.loc[obs.treat == 0, "re78"].mean(),
        },
    ]
    for method in ("aipw", "ipw", "matching"):
        for label, formula in (("main effects", None), ("Dehejia-Wahba terms", LALONDE_PS)):
            for option, kwargs in (
                ("", {}),
                ("common support", {"common_support": True}),
                ("trim 0.01", {"trim": 0.01}),
            ):
                start = time.perf_counter()
                res = estimate_att(
                    obs, "treat", "re78", LALONDE_COVARIATES, method=method, ps_formula=formula, **kwargs
                )
                rows.append(
                    {
                        "spec": f"{method}, {label}" + (f", {option}" if option else ""),
                        "estimate": res.estimate,
                        "se": res.se,
                        "ci_low": res.ci_low,
                        "ci_high": res.ci_high,
                        "n_treated": res.n_treated,
                        "n_control": res.n_control,
                        "ess_control": res.ess_control,
                        "max_smd_after": res.balance["smd_after"].abs().max(),
                        "seconds": time.perf_counter() - start,
                    }
                )
    out = pd.DataFrame(rows)
    out["minus_experimental"] = out["estimate"] - experimental
    return out


if __name__ == "__main__":
    n_rep = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    start = time.perf_counter()
    print(f"Simulated designs: n = 3000 per replicate, {n_rep} replicates")
    print(coverage(n_rep).round(4).to_string(index=False))
    print(f"({time.perf_counter() - start:.1f} s)\n")
    try:
        print("LaLonde NSW treated vs CPS controls (re78, 1978 dollars)")
        print(lalonde().round(1).to_string(index=False))
    except ImportError:
        print("causaldata not installed: LaLonde benchmark skipped (pip install -e .[dev]).")
