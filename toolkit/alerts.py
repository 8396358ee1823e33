"""Alerts about unknown outcomes: the checks that stop a biased rate from being published silently.

A positive-exit rate is computed over the exits whose outcome is known. When
many outcomes are unknown, or when the exits of a type that can be positive
(job, work-study, training) are unknown much more often than the others, the
known exits are no longer a fair sample and the rate is biased (typically
towards zero when the situation dates are missing). This module measures that
and returns *alerts*: plain records ``{"code", "message", ...}`` that the
cleaning result, the reports and ``manifest.json`` carry.

Thresholds (:data:`UNKNOWN_SHARE_ALERT`, :data:`GAP_ALERT_POINTS`,
:data:`WITHHOLD_SHARE`):

* ``unknown_share``: more than 20 % of exits have an unknown outcome;
* ``unknown_gap``: exits of a positive type are unknown at least 10 points
  more often than the other exits with a known reason;
* an alerted rate is published with a caution, and withheld altogether when
  more than 50 % of exits are unknown (:func:`rate_status`).
* ``definition_needs_data``: the definition needs columns the export lacks
  (:func:`missing_data_alert`), with the number of exits made unknown.
"""

from __future__ import annotations

import pandas as pd

from .definitions import Definition, get_definition
from .i18n import N_, _

__all__ = [
    "UNKNOWN_SHARE_ALERT",
    "GAP_ALERT_POINTS",
    "WITHHOLD_SHARE",
    "unknown_by_category",
    "outcome_alerts",
    "missing_data_alert",
    "rate_status",
    "alerts_by",
]

UNKNOWN_SHARE_ALERT = 0.20
GAP_ALERT_POINTS = 10.0
WITHHOLD_SHARE = 0.50
_POSITIVE_CATEGORIES = ("job", "work_study", "training")
# The alerts' sentences, also rendered from the records' figures in a report page's language.
SHARE_TEXT = N_("Issue inconnue pour {share} % des sorties ({what}) : au-delà de {limit} %, le taux peut être biaisé.")
GAP_TEXT = N_(
    "Les sorties vers un emploi, une alternance ou une formation ont une issue inconnue {a} % du temps, contre "
    "{b} % pour les autres sorties ({what}) : le taux est biaisé vers le bas."
)


def _pct(share: float) -> str:
    return f"{100 * share:.1f}".replace(".", ",") if share == share else "–"


def _exited(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["exit_date"].notna()]


def unknown_by_category(frame: pd.DataFrame, outcome: str = "positive_exit") -> pd.DataFrame:
    """Share of exits with an unknown outcome, by exit category.

    Returns
    -------
    DataFrame
        One row per exit category present: ``exit_category``, ``n_exits``,
        ``n_unknown``, ``share_unknown`` (0 to 1).
    """
    exits = _exited(frame)
    category = exits["exit_category"].astype("object").fillna("unknown")
    unknown = exits[outcome].isna().to_numpy()
    table = (
        pd.DataFrame({"exit_category": category.to_numpy(), "unknown": unknown})
        .groupby("exit_category", sort=False)["unknown"]
        .agg(n_exits="size", n_unknown="sum")
        .reset_index()
    )
    table["n_unknown"] = table["n_unknown"].astype("int64")
    table["share_unknown"] = table["n_unknown"] / table["n_exits"]
    return table


def outcome_alerts(frame: pd.DataFrame, outcome: str = "positive_exit", definition=None) -> list[dict]:
    """Alerts on the unknown outcomes of the exits in ``frame`` (see the module docstring).

    Returns
    -------
    list of dict
        ``{"code", "message", "outcome", "share_unknown", "n_exits"}`` records;
        empty when there is nothing to say (or no exit).
    """
    exits = _exited(frame)
    n = len(exits)
    if n == 0 or outcome not in exits.columns:
        return []
    unknown = exits[outcome].isna().to_numpy()
    share = float(unknown.mean())
    which = _("sortie positive après suivi") if outcome == "positive_exit_follow_up" else _("sortie positive")
    base = {"outcome": outcome, "share_unknown": round(share, 4), "n_exits": int(n)}
    alerts = []
    if share > UNKNOWN_SHARE_ALERT:
        alerts.append(
            {
                "code": "unknown_share",
                "message": _(
                    SHARE_TEXT,
                    share=_pct(share),
                    what=which,
                    limit=int(UNKNOWN_SHARE_ALERT * 100),
                ),
                **base,
            }
        )
    d = get_definition(definition or frame.attrs.get("definition"))
    reason = exits["exit_reason"].astype("object")
    positive_type = reason.isin(list(d.qualifying)).to_numpy()
    other = (reason.notna() & (reason != "inconnu")).to_numpy() & ~positive_type
    if positive_type.any() and other.any():
        gap = 100 * (unknown[positive_type].mean() - unknown[other].mean())
        if gap >= GAP_ALERT_POINTS:
            alerts.append(
                {
                    "code": "unknown_gap",
                    "message": _(
                        GAP_TEXT,
                        a=_pct(unknown[positive_type].mean()),
                        b=_pct(unknown[other].mean()),
                        what=which,
                    ),
                    **base,
                    "gap_points": round(float(gap), 1),
                    "share_positive_type": float(unknown[positive_type].mean()),
                    "share_other": float(unknown[other].mean()),
                }
            )
    return alerts


def missing_data_alert(frame: pd.DataFrame, present_raw: set[str], definition: Definition) -> dict | None:
    """An alert when the definition needs situation dates the export lacks, with the exits made unknown.

    ``present_raw`` holds the contract columns the export (or its situations
    table) provides.
    """
    needs_duration = any(m > 0 for m in definition.qualifying.values())
    if not needs_duration:
        return None
    missing = [c for c in ("date_debut_situation", "date_fin_situation") if c not in present_raw]
    if "date_fin_situation" in missing and "date_suivi" in present_raw:
        missing.remove("date_fin_situation")  # the last confirmation stands in for the end of a running situation
    if not missing:
        return None
    exits = _exited(frame)
    reason = exits["exit_reason"].astype("object")
    months = reason.map(definition.qualifying).fillna(-1).to_numpy(dtype=float)
    n_unknown = int(((months > 0) & exits["positive_exit"].isna().to_numpy()).sum())
    return {
        "code": "definition_needs_data",
        "message": _(
            "La définition « {definition} » exige une durée de situation, mais l'export n'a pas la ou les "
            "colonnes {columns} : {n} sortie(s) vers un emploi, une alternance ou une formation deviennent "
            "d'issue inconnue.",
            definition=definition.name,
            columns=", ".join(missing),
            n=n_unknown,
        ),
        "columns": missing,
        "n_unknown": n_unknown,
    }


def rate_status(alerts: list[dict], outcome: str = "positive_exit") -> str:
    """``"ok"``, ``"caution"`` (an alert on this outcome) or ``"withheld"`` (over 50 % unknown)."""
    mine = [a for a in alerts if a.get("outcome") == outcome]
    if any(a.get("share_unknown", 0) > WITHHOLD_SHARE for a in mine):
        return "withheld"
    return "caution" if mine else "ok"


def alerts_by(frame: pd.DataFrame, column: str, definition=None) -> dict[str, list[dict]]:
    """``{value of column: alerts}`` for each group (for instance per region), both timings."""
    out: dict[str, list[dict]] = {}
    outcomes = [c for c in ("positive_exit", "positive_exit_follow_up") if c in frame.columns]
    for value, group in frame.groupby(column, observed=True, sort=False):
        found = []
        for outcome in outcomes:
            if outcome == "positive_exit_follow_up" and group[outcome].isna().all():
                continue  # no situations table: this timing is not published at all
            found += outcome_alerts(group, outcome, definition)
        out[str(value)] = found
    return out
