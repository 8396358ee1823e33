"""What a page says about unknown outcomes, the rate after follow-up and a missing model, as content.

The national work records the unknown-outcome alerts of every region and of
the country, the rate after follow-up when the data have a situations table,
and ``{"skipped": reason}`` as the model when none could be fitted
(:mod:`toolkit.report_alerts`). Here they become blocks:

* :func:`alert_banner`: the alerts as a box for the first screen;
* :func:`key_figure_cards`: the rate card with a caution when an alert
  concerns it, "not published" over 50 % unknown; the card of the rate after
  follow-up beside the rate at the end of the parcours, each saying which it is;
* :func:`withhold_rates`: a withheld rate hidden in every table of the batch
  (its positive counts hidden in the publication, so every rate built on them is);
* :func:`model_skipped`: the sentence that replaces a model-based block.
"""

from __future__ import annotations

from ..alerts import GAP_TEXT, SHARE_TEXT, UNKNOWN_SHARE_ALERT, rate_status
from ..disclosure import CellKey
from ..i18n import N_
from ..report_alerts import withheld
from .builder import PageBuilder
from .content import Alert, Card, Cards, Msg, Num

__all__ = [
    "alerts_of",
    "alert_banner",
    "key_figure_cards",
    "withheld_note",
    "withhold_rates",
    "skipped_reason",
    "model_skipped",
]

ALERT_TITLE = N_("Attention : données incomplètes sur l’issue des sorties")
FOLLOW_UP = "positive_exit_follow_up"


def alerts_of(meta: dict, region: str | None) -> list[dict]:
    """The alerts of ``region`` (None: the country) recorded by the national work."""
    return list(meta.get("national_alerts", []) if region is None else meta.get("alerts", {}).get(region, []))


def alert_banner(alerts: list[dict]) -> list[Alert]:
    """The alerts as one box (none when there is no alert)."""
    if not alerts:
        return []
    return [Alert(Msg(ALERT_TITLE), [_alert_msg(a) for a in alerts])]


def _alert_msg(alert: dict) -> Msg:
    """An alert's sentence from its figures, so that it reads in the page's language."""
    what = Msg(N_("sortie positive après suivi") if alert.get("outcome") == FOLLOW_UP else N_("sortie positive"))
    if alert["code"] == "unknown_share" and "share_unknown" in alert:
        share = Num(100 * alert["share_unknown"], "number", 1)
        return Msg(SHARE_TEXT, {"share": share, "what": what, "limit": int(UNKNOWN_SHARE_ALERT * 100)})
    if alert["code"] == "unknown_gap" and "share_other" in alert:
        a, b = (Num(100 * alert[k], "number", 1) for k in ("share_positive_type", "share_other"))
        return Msg(GAP_TEXT, {"a": a, "b": b, "what": what})
    return Msg("{message}", {"message": alert["message"]})


def _rate_card(card: Card, status: str, national_withheld: bool) -> Card:
    """A rate card under the alerts: unchanged, with a caution, or withheld."""
    national = Msg(N_("National : non publié")) if national_withheld and card.national is not None else card.national
    if status == "withheld":
        return Card(
            card.label,
            Msg(N_("non publié")),
            Msg(N_("plus de la moitié des sorties ont une issue inconnue")),
            national,
        )
    if status == "caution":
        caution = Msg(N_("à lire avec prudence (voir l’alerte)"))
        detail = (
            Msg(N_("{detail} — à lire avec prudence (voir l’alerte)"), {"detail": card.detail}, fallback=caution)
            if card.detail is not None
            else caution
        )
        return Card(card.label, Msg(N_("{rate} ⚠"), {"rate": card.value}, role="marker"), detail, national)
    return Card(card.label, card.value, card.detail, national)


def key_figure_cards(
    cards: Cards, meta: dict, region: str | None, builder: PageBuilder, *, rate_index: int = 2
) -> Cards:
    """The key figures under the alerts of ``region`` (None: the country), with the rate after follow-up
    beside the rate at the end of the parcours when the data support both."""
    alerts = alerts_of(meta, region)
    national_withheld = region is not None and withheld(meta, None)
    items = list(cards.cards)
    rate = _rate_card(items[rate_index], rate_status(alerts, "positive_exit"), national_withheld)
    follow_up = _follow_up_card(meta, region, builder, alerts)
    if follow_up is not None:
        rate.label = Msg(N_("{label} (fin de parcours)"), {"label": rate.label})
        items[rate_index] = rate
        items.insert(rate_index + 1, follow_up)
    else:
        items[rate_index] = rate
    return Cards(items, cards.counts)


def _follow_up_card(meta: dict, region: str | None, builder: PageBuilder, alerts: list[dict]) -> Card | None:
    """The card of the rate after follow-up, or None when the data do not have it."""
    rates = meta.get("follow_up") or {}
    mine, nat = rates.get(region if region is not None else "_national"), rates.get("_national")
    if not mine or not mine.get("n_known"):
        return None
    label = Msg(N_("Sorties positives après suivi ({months} mois)"), {"months": int(meta.get("follow_up_months", 12))})
    value = _follow_up_value(mine, region, builder)
    national = None
    if region is not None and nat and nat.get("n_known"):
        national = Msg(N_("National : {value}"), {"value": _follow_up_value(nat, None, builder)}, role="marker")
    return _rate_card(Card(label, value, None, national), rate_status(alerts, FOLLOW_UP), False)


def _follow_up_value(row: dict, region: str | None, builder: PageBuilder) -> Num | Msg:
    """The rate after follow-up, its counts and ratio registered; a dash when an outcome is too small."""
    n, k, min_cell = int(row["n_known"]), int(row.get("n_positive") or 0), builder.min_cell
    if n < min_cell or k < min_cell or n - k < min_cell or row.get("rate") is None:
        return Msg("—")
    where = f"cards/follow_up/{region or 'national'}"
    known = builder.count(CellKey.of("known_follow_up", region=region), n, f"{where}/known")
    positive = builder.count(CellKey.of("positive_follow_up", region=region), k, f"{where}/positive")
    return Num(row["rate"], "pct", ratio=builder.ratio(positive, known, 1, f"{where}/rate"))


def withheld_note(meta: dict, region: str) -> list[Msg]:
    """Under the key figures of a region whose rate is withheld: why its positive exits and rates are hidden."""
    if not withheld(meta, region):
        return []
    text = N_(
        "Les sorties positives et les taux de la région ne sont publiés dans aucun tableau de ce rapport : plus de "
        "la moitié des sorties ont une issue inconnue."
    )
    return [Msg(text, role="note")]


def withhold_rates(publication, meta: dict, regions) -> None:
    """Hide the positive exits (hence every rate built on them) of each region, and of the country,
    whose rate is withheld (over 50 % unknown outcomes): on every page of the batch."""
    scopes = [r for r in regions if withheld(meta, r)] + ([None] if withheld(meta, None) else [])
    if not scopes:
        return
    for key in list(publication.counts):
        if key.population != "positive":
            continue
        region = dict(key.where).get("region")
        if region in scopes or (None in scopes and region is None):
            publication.hidden.add(key)


def skipped_reason(meta: dict) -> str | None:
    """Why the national work fitted no expected model (None when it did)."""
    return (meta.get("model") or {}).get("skipped")


def model_skipped(reason: str, role: str = "note") -> Msg:
    """The sentence that replaces a model-based block."""
    return Msg(N_("Section non produite : {reason}"), {"reason": reason}, role=role)
