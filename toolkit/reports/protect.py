"""Disclosure control of a batch's content: the one place where the pattern of hidden cells is chosen.

:func:`protect_publication` sees every page of the batch as data (tables and
figure data, with the cell key of every count and the ratio behind every
share, rate and O/E) and records what is hidden in the publication:

* counts in ``publication.hidden`` (a :class:`~toolkit.disclosure.CellKey` is
  hidden on every page where it appears, so a count shown on one page cannot
  give away the same count hidden on another);
* ratios in :attr:`ReportPublication.hidden_ratios`.

Today it applies the per-table rules of :func:`toolkit.disclosure.suppress_counts`
(primary, secondary and complement suppression, rates on small counts) and,
for observed / expected ratios, the fair-comparison rule (at least ``min_cell``
exits and no outcome with 1 to ``min_cell`` - 1 exits). Rendering only asks
:meth:`ReportPublication.is_hidden` and :meth:`ReportPublication.ratio_hidden`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..disclosure import CellKey, Publication, Ratio, suppress_counts
from .content import FigureData, Page, Table

__all__ = ["ReportPublication", "protect_publication", "oe_publishable", "ratio_id"]


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
            "hidden": _encode(sorted(self.hidden)),
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


def protect_publication(
    publication: ReportPublication, pages: Iterable[Page], min_cell: int, *, frame: pd.DataFrame | None = None
) -> ReportPublication:
    """Choose the hidden cells of every page of the batch, and record them in ``publication``.

    The per-table rules run first (they also withhold the O/E of rare outcomes). With the batch's
    trainee-level ``frame``, :func:`toolkit.disclosure.protect_publication` then completes the pattern over
    the whole publication (linked tables) until the attacker's linear-programming audit finds every hidden
    cell protected; it raises :class:`~toolkit.disclosure.DisclosureError`, naming the cell, otherwise.
    """
    publication.min_cell = int(min_cell)
    for page in pages:
        for section in page.sections:
            for block in section.blocks:
                if isinstance(block, (Table, FigureData)) and block.protection:
                    _protect_block(publication, block, min_cell)
    if frame is not None:
        from ..disclosure import protect_publication as protect_linked

        publication.protection = protect_linked(publication, frame, int(min_cell))
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
