"""What the national work of the reports computes about unknown outcomes and the second timing.

* :func:`national_extras`: the alerts per region and for the country, and the
  positive-exit rate after follow-up per region when the data have it (a
  situations table), computed with the same indicator as the rate at the end
  of the parcours on the ``positive_exit_follow_up`` column.
* :func:`withheld`: whether a region's (or the country's) rate is not to be
  published (more than half of the exits with an unknown outcome).
* :func:`units_without_model`: the comparison table of sites or regions when no
  model could be fitted (counts, no ratio).

The pages show them as content (:mod:`toolkit.reports.alert_content`).
"""

from __future__ import annotations

import pandas as pd

from .alerts import alerts_by, outcome_alerts, rate_status

__all__ = ["national_extras", "withheld", "units_without_model"]


def _follow_up_rates(frame: pd.DataFrame, definition) -> dict:
    from .indicators import positive_exit_rates

    swapped = frame.assign(positive_exit=frame["positive_exit_follow_up"])
    swapped.attrs = dict(frame.attrs)
    by_region = positive_exit_rates(swapped, "region", definition=None)
    national = positive_exit_rates(swapped, definition=None).iloc[0]
    keep = ["n_known", "n_positive", "rate", "ci_low", "ci_high"]
    out = {str(r["region"]): {k: r[k] for k in keep} for _i, r in by_region.iterrows()}
    out["_national"] = {k: national[k] for k in keep}
    return {k: {c: (None if pd.isna(v) else float(v)) for c, v in row.items()} for k, row in out.items()}


def national_extras(frame: pd.DataFrame, definition) -> dict:
    """``{"alerts": {region: [...]}, "national_alerts": [...], "follow_up": {region or "_national": rate}}``."""
    has_follow_up = "positive_exit_follow_up" in frame.columns and frame["positive_exit_follow_up"].notna().any()
    national = outcome_alerts(frame, "positive_exit", definition)
    if has_follow_up:
        national += outcome_alerts(frame, "positive_exit_follow_up", definition)
    return {
        "alerts": alerts_by(frame, "region", definition),
        "national_alerts": national,
        "follow_up": _follow_up_rates(frame, definition) if has_follow_up else {},
    }


def withheld(meta: dict, region: str | None) -> bool:
    """True when the rate at the end of the parcours of ``region`` (None: the country) is not to be published."""
    alerts = meta.get("national_alerts", []) if region is None else meta.get("alerts", {}).get(region, [])
    return rate_status(alerts, "positive_exit") == "withheld"


def units_without_model(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The comparison table of ``unit`` (site or region) when no model could be fitted: counts, no ratio.

    Same columns as :func:`toolkit.compare.compare_units`'s output that the reports read; the observed
    and expected counts, the ratio and its limits are missing, the reading is empty.
    """
    exits = frame[frame["exit_date"].notna() & frame["positive_exit"].notna()]
    keys = ["region", "site"] if unit == "site" else ["region"]
    counts = exits.groupby([exits[k].astype("object") for k in keys]).size()
    out = counts.rename("n").reset_index()
    for column in ("observed", "expected", "oe_ratio", "lower95", "upper95"):
        out[column] = float("nan")
    out["flag95"] = ""
    return out
