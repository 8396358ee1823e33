"""Speed and memory of the positive-exit model and the fair comparison on
1,000,000 exits.

Usage: ``.venv/bin/python benchmarks/bench_models.py [n_exits]`` (default 1,000,000).

Exits are simulated directly in the canonical frame (tests/simulate_canonical.py:
known logistic truth, 150 sites, 3 % MCAR missingness per covariate, 5 % unknown
outcomes), which is much faster than generating a raw export and cleaning it.
Prints wall-clock times and the peak resident memory after each step.
Figures go to benchmarks/README.md (section "Models and fair comparison").
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from simulate_canonical import TRUE_COEFFICIENTS, simulate_exits  # noqa: E402

from toolkit.compare import compare_units, fit_expected_model  # noqa: E402
from toolkit.models import fit_multilevel, fit_positive_exit  # noqa: E402
from toolkit.plots.funnel import funnel_plot  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def step(name: str, func):
    start = time.perf_counter()
    value = func()
    print(f"{name:<48} {time.perf_counter() - start:8.2f} s   peak RSS {peak_mib():8.0f} MiB", flush=True)
    return value


def main(n: int) -> None:
    print(f"{n:,} simulated exits, 150 sites; peak RSS at start {peak_mib():.0f} MiB")
    data, truth = step("simulate canonical exits", lambda: simulate_exits(n, seed=2024, n_sites=150, site_sd=0.3))
    model = step("fit_positive_exit (default, clustered by site)", lambda: fit_positive_exit(data))
    step("  .auc + .calibration + slope/intercept", lambda: (model.auc, model.calibration, model.calibration_slope))
    step("  .predict(data) on every row", lambda: model.predict(data))
    expected = step("fit_expected_model (national intake model)", lambda: fit_expected_model(data))
    sites = step("compare_units(by='site', expected=...)", lambda: compare_units(data, "site", expected=expected))
    step("compare_units(by='school', expected=...)", lambda: compare_units(data, "school", expected=expected))
    step("compare_units(by='region', expected=...)", lambda: compare_units(data, "region", expected=expected))
    step("funnel_plot(sites, highlight_region=...)", lambda: funnel_plot(sites, highlight_region="Bretagne"))
    step("  .marginal_effects (analytic delta method)", lambda: model.marginal_effects)
    sub = data.sample(20_000, random_state=1)
    mm = step("fit_multilevel on 20,000 exits (VB)", lambda: fit_multilevel(sub))
    print()
    print(
        f"exits used: {model.n:,} of {model.missing['rows_with_known_outcome']:,} with a known outcome "
        f"({model.missing['rows_dropped']:,} with a missing covariate)"
    )
    est = model.coef_ci
    true = {"Intercept": truth["intercept"], **TRUE_COEFFICIENTS}
    worst = max(abs(est.loc[k, "coef"] - v) for k, v in true.items())
    print(
        f"largest |estimate - truth| over {len(true)} coefficients: {worst:.3f} (site_sd=0.3 is not in the "
        "fixed-effects model: marginal coefficients are attenuated)"
    )
    print(
        f"apparent AUC {model.auc:.3f}; site comparison: phi {sites.attrs['phi']:.2f}, "
        f"tau2 {sites.attrs['tau2']:.4f}, flagged at 99.8 %: {(sites['flag998'] != 'within').sum()} of {len(sites)}"
    )
    u = np.array([truth["site_effects"][s] for s in mm.site_effects["site"]])
    print(
        f"multilevel (20k): site_sd {mm.site_sd:.3f} (truth 0.3), "
        f"corr(site effects, truth) {np.corrcoef(mm.site_effects['effect'], u)[0, 1]:.3f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
