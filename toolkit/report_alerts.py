"""What the reports show of the unknown-outcome alerts and of the second timing.

* :func:`national_extras` (national work): the alerts per region and for the
  country, and the positive-exit rate after follow-up per region when the data
  have it (a situations table), computed with the same indicator as the rate
  at the end of the parcours on the ``positive_exit_follow_up`` column.
* :func:`alert_banner`: the alerts as a box for the first screen of a report.
* :func:`rate_card`: the value and note of a rate card: the rate with a
  caution when an alert concerns it, "not published" above 50 % unknown.
* :func:`follow_up_card`: the card of the rate after follow-up.
* :func:`model_skipped`: the sentence that replaces a model-based section
  when the model could not be fitted.
"""

from __future__ import annotations

import html as _html

import pandas as pd

from .alerts import alerts_by, outcome_alerts, rate_status
from .i18n import _

__all__ = [
    "national_extras",
    "alert_banner",
    "rate_card",
    "follow_up_card",
    "withheld",
    "units_without_model",
    "withhold",
    "end_of_parcours",
    "model_skipped",
    "model_skipped_text",
]


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


def alert_banner(alerts: list[dict]) -> str:
    """HTML box listing the alerts (empty string when there is none)."""
    if not alerts:
        return ""
    items = "".join(f"<li>{_html.escape(a['message'])}</li>" for a in alerts)
    title = _html.escape(_("Attention : données incomplètes sur l'issue des sorties"))
    return f'<div class="alert" role="alert"><p><strong>{title}</strong></p><ul>{items}</ul></div>'


def rate_card(alerts: list[dict], value: str, note: str, outcome: str = "positive_exit") -> tuple[str, str]:
    """(value, note) of a rate card under the alerts: unchanged, with a caution, or withheld."""
    status = rate_status(alerts, outcome)
    if status == "withheld":
        return _("non publié"), _("plus de la moitié des sorties ont une issue inconnue")
    if status == "caution":
        return f"{value} ⚠", (note + " — " if note else "") + _("à lire avec prudence (voir l'alerte)")
    return value, note


def follow_up_card(meta: dict, region: str, alerts: list[dict], min_cell: int, lang: str):
    """(label, value, note, national) of the rate after follow-up, or None when the data do not have it."""
    from .formatting import fmt_pct

    rates = meta.get("follow_up") or {}
    mine, nat = rates.get(region), rates.get("_national")
    if not mine or not mine.get("n_known"):
        return None

    def shown(row) -> str:
        n, k = row.get("n_known") or 0, row.get("n_positive") or 0
        if n < min_cell or k < min_cell or n - k < min_cell or row.get("rate") is None:
            return "—"
        return fmt_pct(row["rate"], lang)

    value, note = rate_card(alerts, shown(mine), "", "positive_exit_follow_up")
    months = meta.get("follow_up_months", 12)
    label = _("Sorties positives après suivi ({months} mois)", months=months)
    national = _("National : {value}", value=shown(nat)) if nat else ""
    return label, value, note, national


def withheld(meta: dict, region: str | None) -> bool:
    """True when the rate at the end of the parcours of ``region`` (None: the country) is not to be published."""
    alerts = meta.get("national_alerts", []) if region is None else meta.get("alerts", {}).get(region, [])
    return rate_status(alerts, "positive_exit") == "withheld"


def withhold(hidden: pd.DataFrame, meta: dict, rows: dict) -> None:
    """Mark the rate cells (rate, CI, positives) of withheld rows as not published, in place.

    ``hidden`` is a table's ``suppressed`` mask; ``rows`` maps its row labels to a region (None: the country).
    """
    columns = [c for c in ("n_positive", "rate", "ci_low", "ci_high") if c in hidden.columns]
    for row, region in rows.items():
        if withheld(meta, region):
            hidden.loc[row, columns] = True


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


def end_of_parcours(label: str) -> str:
    """The label of the rate at the end of the parcours, when the rate after follow-up is shown beside it."""
    return _("{label} (fin de parcours)", label=label)


def model_skipped_text(reason: str) -> str:
    """The sentence saying why a model-based section is left out."""
    return _("Section non produite : {reason}", reason=reason)


def model_skipped(reason: str) -> str:
    """HTML paragraph saying why a model-based section is left out."""
    return f'<p class="note">{_html.escape(model_skipped_text(reason))}</p>'
