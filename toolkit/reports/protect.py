"""Disclosure control of a batch's content: the one place where the pattern of hidden cells is chosen.

:func:`protect_publication` sees every page of the batch as data (tables and
figure data, with the cell key of every count and the ratio behind every
share, rate and O/E) and records what is hidden in the publication:

* counts in ``publication.hidden`` (a :class:`~toolkit.disclosure.CellKey` is
  hidden on every page where it appears, so a count shown on one page cannot
  give away the same count hidden on another);
* ratios in :attr:`ReportPublication.hidden_ratios`.

It applies the per-table rules of :func:`toolkit.disclosure.suppress_counts`
(primary, secondary and complement suppression, rates on small counts) and,
for observed / expected ratios, the fair-comparison rule (at least ``min_cell``
exits and no outcome with 1 to ``min_cell`` - 1 exits); with the batch's
trainee-level frame (every published batch), the linked-table protection of
:func:`toolkit.disclosure.protect_publication` completes the pattern over the
whole publication. :func:`audit_gate` then plays the attacker on the batch as
it will be published. Rendering only asks :meth:`ReportPublication.is_hidden`
and :meth:`ReportPublication.ratio_hidden`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..disclosure import CellKey, DisclosureError, Publication, Ratio, suppress_counts
from ..disclosure.protect import LAST_RESORT
from ..i18n import _, ngettext
from .content import Code, FigureData, Msg, Page, Table

__all__ = [
    "ReportPublication",
    "protect_publication",
    "oe_publishable",
    "ratio_id",
    "audit_gate",
    "cell_place",
    "key_figures",
    "report_costs",
]

# The key figures: what a funder reads first on a region's page (the headline cards and table) and on the
# index, for each region and for the country.
KEY_FIGURES = ("entries", "exits", "known", "positive")
# Added to a key figure's cost: a last resort for the linked protection, which hides one only when no other
# cell protects the failing quantity.
KEY_FIGURE_COST = LAST_RESORT


def ratio_id(ratio: Ratio) -> tuple:
    """What a ratio is, wherever it is published (its location left out)."""
    denominator = ratio.denominator
    if not isinstance(denominator, CellKey):  # a published constant (NaN, None after JSON: unknown)
        denominator = None if denominator is None or denominator != denominator else round(float(denominator), 9)
    return (ratio.numerator, denominator, ratio.decimals, ratio.scale)


@dataclass
class ReportPublication(Publication):
    """A :class:`~toolkit.disclosure.Publication` that also records hidden ratios (a rate hidden
    because its denominator is small, an O/E hidden because an outcome is rare)."""

    hidden_ratios: set = field(default_factory=set)
    min_cell: int = 11

    def hide_ratio(self, ratio: Ratio) -> None:
        self.hidden_ratios.add(ratio_id(ratio))

    def ratio_hidden(self, ratio: Ratio | None) -> bool:
        if ratio is None:
            return False
        return super().ratio_hidden(ratio) or ratio_id(ratio) in self.hidden_ratios

    def to_json(self) -> dict:
        """What a kernel needs to render: the hidden cells and ratios (not the counts)."""
        from .content import _encode

        return {
            "min_cell": self.min_cell,
            "hidden": _encode(sorted(self.hidden, key=str)),
            "hidden_ratios": _encode([list(r) for r in sorted(self.hidden_ratios, key=str)]),
        }

    @classmethod
    def from_json(cls, data: dict) -> ReportPublication:
        from .content import _decode

        ratios = {(r[0], r[1], r[2], r[3]) for r in _decode(data["hidden_ratios"])}
        return cls(hidden=set(_decode(data["hidden"])), hidden_ratios=ratios, min_cell=int(data["min_cell"]))


def oe_publishable(n, observed, min_cell: int) -> np.ndarray:
    """Units whose O/E may be shown: at least ``min_cell`` exits and no outcome (positive or
    not) with 1 to ``min_cell`` - 1 exits, since observed = O/E x expected."""
    n = np.asarray(n, dtype=float)
    observed = np.asarray(observed, dtype=float)
    failures = n - observed
    return (n >= min_cell) & ~((observed > 0) & (observed < min_cell)) & ~((failures > 0) & (failures < min_cell))


def key_figures(publication: Publication) -> set[CellKey]:
    """The key figures among the publication's counts: entries, exits, known exits and positive exits of the
    country and of each region (no other filter)."""
    return {
        k
        for k in publication.counts
        if k.population in KEY_FIGURES and (not k.where or (len(k.where) == 1 and k.where[0][0] == "region"))
    }


def report_costs(publication: Publication) -> dict[CellKey, float]:
    """The cost of hiding each count of a batch, for the linked protection: its value in trainees times the
    number of places it is published (the numbers a reader loses on the pages), plus :data:`KEY_FIGURE_COST`
    for a key figure (:func:`key_figures`), which is then hidden only when no other cell protects."""
    costs = {k: float(v) * max(len(publication.appearances.get(k, ())), 1) for k, v in publication.counts.items()}
    for key in key_figures(publication):
        costs[key] += KEY_FIGURE_COST
    return costs


def protect_publication(
    publication: ReportPublication,
    pages: Iterable[Page],
    min_cell: int,
    *,
    frame: pd.DataFrame | None = None,
    table_rules: bool = True,
    other: pd.DataFrame | None = None,
    costs=report_costs,
) -> ReportPublication:
    """Choose the hidden cells of every page of the batch, and record them in ``publication``.

    The per-table rules run first (they also withhold the O/E of rare outcomes). With the batch's
    trainee-level ``frame``, :func:`toolkit.disclosure.protect_publication` then completes the pattern over
    the whole publication (linked tables) until the attacker's linear-programming audit finds every hidden
    cell protected; it raises :class:`~toolkit.disclosure.DisclosureError`, naming the cell, otherwise.
    ``table_rules=False`` leaves the per-table count rules out (the O/E rule still applies): the linked
    protection alone then chooses the secondary cells. ``other``: the impact design's flagged rows when the
    pages publish an impact section (:func:`.impact_cells.impact_rows`). ``costs``: the cost of hiding each
    count, as a function of the publication (:func:`report_costs`: the key figures are spared); ``None``: the
    value in trainees.
    """
    publication.min_cell = int(min_cell)
    pages = list(pages)
    for page in pages:
        for section in page.sections:
            for block in section.blocks:
                if isinstance(block, (Table, FigureData)) and block.protection:
                    if table_rules or block.protection.get("rule") == "oe":
                        _protect_block(publication, block, min_cell)
    if frame is not None:
        from ..disclosure import protect_publication as protect_linked

        try:
            cost = costs(publication) if costs is not None else None
            publication.protection = protect_linked(publication, frame, int(min_cell), other=other, cost=cost)
        except DisclosureError as exc:  # no pattern protects every cell: the batch is refused, the cell named
            where = re.sub(r"\(([^()]+/[^()]+/\d+/[^()]+)\)", lambda m: f"({cell_place(m.group(1), pages)})", str(exc))
            raise DisclosureError(_("Publication refusée, aucune page n’est écrite : {reason}", reason=where)) from exc
    return publication


def _protect_block(publication: ReportPublication, block: Table | FigureData, min_cell: int) -> None:
    rule = dict(block.protection)
    if rule.pop("rule", "table") == "oe":
        _protect_oe(publication, block, min_cell, **rule)
        return
    table = block  # per-table suppression of counts, rates and shares
    counts = rule.pop("counts")
    if _nothing_to_hide(table.data, counts, rule, min_cell):
        return
    result = suppress_counts(table.data, counts, min_cell, **rule)
    mask = result.suppressed.reset_index(drop=True)
    for column, keys in table.keys.items():
        if column in mask.columns:
            publication.hidden.update(k for k, hide in zip(keys, mask[column]) if hide and k is not None)
    for column, ratios in table.ratios.items():
        if column in mask.columns:
            for ratio, hide in zip(ratios, mask[column]):
                if hide and ratio is not None:
                    publication.hide_ratio(ratio)


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _nothing_to_hide(data: pd.DataFrame, counts: list[str], rule: dict, min_cell: int) -> bool:
    """True when :func:`suppress_counts` would hide nothing: no count from 1 to ``min_cell`` - 1, no
    rate on fewer than ``min_cell`` and none whose complement (denominator - numerator) is from 1 to
    ``min_cell`` - 1 (the common case of a large region, checked first because suppression is slow)."""
    if rule.get("suppress_zeros"):
        return False
    values = np.column_stack([_numbers(data[c]) for c in counts]) if counts else np.zeros((len(data), 0))
    if ((values > 0) & (values < min_cell)).any() or np.isnan(values).any():
        return False
    for numerator, denominator in (rule.get("rates") or {}).values():
        if denominator is None:
            continue
        total = np.nan_to_num(_numbers(data[denominator]), nan=0.0)
        if (total < min_cell).any():  # a rate on fewer than min_cell (zero included) is not shown
            return False
        rest = total - _numbers(data[numerator])
        if rule.get("complement", True) and ((rest > 0) & (rest < min_cell)).any():
            return False
    return True


def _protect_oe(publication, block, min_cell: int, n: str, observed: str, ratio: str, key: str | None = None):
    data = block.data if isinstance(block, Table) else block.points
    ok = oe_publishable(data[n], data[observed], min_cell)
    ratios = block.ratios[ratio] if isinstance(block, Table) else block.keys
    for r, shown in zip(ratios, ok):
        if not shown and r is not None:
            publication.hide_ratio(r)
    if key is not None and isinstance(block, Table):
        small = pd.to_numeric(data[n], errors="coerce").to_numpy() < min_cell
        publication.hidden.update(k for k, hide in zip(block.keys[key], small) if hide and k is not None)


# --------------------------------------------------------------------------
# The gate: the attacker's audit of the batch as it will be published
# --------------------------------------------------------------------------
# Up to this many hidden cells the gate computes every interval exactly (default data: 216 hidden cells,
# 4.5 s exact against 4.7 s with witnesses; a 5,910-trainee export: 1,568 hidden, 64 s against 7 s).
EXACT_UP_TO = 600


def audit_gate(
    publication: ReportPublication,
    pages: Iterable[Page],
    frame: pd.DataFrame,
    min_cell: int,
    *,
    exact: bool | None = None,
) -> dict:
    """Play the attacker on everything the batch publishes (every page, the index, the figures' data), after
    protection and before any page is written.

    The audit (:func:`toolkit.disclosure.audit_publication`) assumes one neutral marker: all a reader knows of
    a hidden cell is that it is at least 1 (zeros are published). ``exact``: compute every interval with its
    own LP (slower; the summary's narrowest and widest intervals are then exact for every hidden cell);
    ``None``: exact when at most :data:`EXACT_UP_TO` cells are hidden.

    Returns the summary recorded in the manifest (no hidden value in it): ``cells``, ``hidden``,
    ``share_hidden``, ``ratios``, ``hidden_ratios``, ``quantities`` (hidden cells and small differences
    audited), ``narrowest`` / ``widest`` (the attacker's interval for a hidden cell, in values, among the
    intervals computed exactly; ``"inf"`` when they are all unbounded, ``None`` when none was), ``lp``,
    ``seconds``.

    Raises
    ------
    DisclosureError
        A hidden cell (or a small difference of two published counts) that the attacker pins down more
        narrowly than the protection standard allows; the message names its page, table, row and column.
    """
    from ..disclosure import audit_publication

    start = time.perf_counter()
    if exact is None:
        exact = len(publication.hidden) <= EXACT_UP_TO
    protection = getattr(publication, "protection", None)  # the relations protection found: the same keys
    relations = protection.system.relations if protection is not None and protection.system is not None else None
    result = audit_publication(
        publication, frame, int(min_cell), markers="neutral", exact=exact, raise_on_failure=False, relations=relations
    )
    seconds = time.perf_counter() - start
    if result.failures:
        raise DisclosureError(_failure_message(publication, result, list(pages)))
    return _summary(publication, result, seconds)


def _summary(publication: ReportPublication, result, seconds: float) -> dict:
    counted = set(publication.counts)
    hidden = publication.hidden & counted
    widths = [
        t.high - t.low + 1
        for t in result.intervals
        if t.name[0] == "cell" and not (math.isnan(t.low) or math.isnan(t.high))
    ]
    finite = [w for w in widths if math.isfinite(w)]
    return {
        "cells": len(counted),
        "hidden": len(hidden),
        "share_hidden": round(len(hidden) / max(len(counted), 1), 4),
        "ratios": len(publication.ratios),
        "hidden_ratios": sum(publication.ratio_hidden(r) for r in publication.ratios),
        "quantities": len(result.intervals),
        "intervals_exact": len(widths),
        "narrowest_interval_values": (int(min(finite)) if finite else "inf") if widths else None,
        "widest_interval_values": (int(max(finite)) if finite else None) if len(finite) == len(widths) else "inf",
        "lp": int(result.n_lp),
        "seconds": round(seconds, 3),
    }


def _failure_message(publication: ReportPublication, result, pages: list[Page]) -> str:
    failure = result.failures[0]
    keys = result.system.keys
    kind, first, *rest = failure.name
    place = cell_place(publication.appearances.get(keys[first], ["?"])[0], pages)
    if kind == "cell":
        what = _("la cellule masquée « {place} »", place=place)
    elif kind == "pair":
        other = cell_place(publication.appearances.get(keys[rest[0]], ["?"])[0], pages)
        what = _("la différence entre « {place} » et « {other} »", place=place, other=other)
    else:
        what = _("le reste non publié de « {place} »", place=place)
    return _(
        "Publication refusée, aucune page n’est écrite : {what} se déduit des pages du lot entre {low} et {high}, "
        "ce que la norme de protection n’admet pas. {count}",
        what=what,
        low=_bound(failure.low),
        high=_bound(failure.high),
        count=ngettext(
            "{n} quantité insuffisamment protégée.",
            "{n} quantités insuffisamment protégées.",
            len(result.failures),
        ),
    )


def _bound(x: float) -> str:
    return "∞" if x == math.inf else ("?" if x != x else str(int(x)))


def cell_place(location: str, pages: Iterable[Page]) -> str:
    """A registered location (``page/table/row/column``) as a reader finds it: page › table › row › column,
    with the table's caption, the row's label and the column's header in the current language."""
    from .words import Words

    parts = location.split("/")
    if len(parts) != 4 or not parts[2].isdigit():
        return " › ".join(parts)
    page_name, table_id, row, column = parts[0], parts[1], int(parts[2]), parts[3]
    table = next(
        (
            b
            for p in pages
            if p.id == page_name
            for s in p.sections
            for b in s.blocks
            if isinstance(b, Table) and b.id == table_id
        ),
        None,
    )
    if table is None or row >= len(table.data):
        return " › ".join(parts)
    words = Words(ReportPublication(), 1)
    label = next((c for c in table.columns if c.kind in ("label", "code")), None)
    row_text = str(row + 1)
    if label is not None:
        value = table.data[label.name].iat[row]
        row_text = words.code(Code(label.code_column, value)) if label.kind == "code" else words.text(value)
    header = next((c.header for c in table.columns if c.name == column), None)
    column_text = words.text(header) if isinstance(header, Msg) else column
    page_text = _("index") if page_name == "index" else page_name
    return " › ".join([page_text, words.text(table.caption), str(row_text), column_text])
