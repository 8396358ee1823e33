"""What a batch publishes, as cells: the one input of disclosure control.

The report content layer registers every number it will publish, for every
page of a batch (each region's page and the index), *before* anything is
rendered:

* a **count** of trainees is a :class:`CellKey`: the population counted
  (``"entries"``, ``"exits"``, ``"known"``, ``"positive"``, ``"category:job"``...)
  and the filters that select them on the canonical frame, as canonical column
  names and canonical codes (``region="Bretagne"``, ``sex="F"``), never
  display labels. The same key on two pages is the same cell: that is how
  tables are linked;
* a **ratio** (a share, a rate, an O/E, a confidence bound) says which count it
  is computed from and how it is rounded on the page, because a rounded share
  still narrows its numerator and denominator.

Disclosure control then chooses which cells to hide over the whole
publication, and the renderer asks :meth:`Publication.is_hidden` for each cell
it shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["CellKey", "Ratio", "Publication", "MISSING"]

# The filter value that selects trainees with no value in a column ("Non renseigné").
MISSING = "NA"


def _code(value: object) -> str | tuple[str, ...]:
    """A filter value as the canonical code string; a list, tuple or set selects any of its codes."""
    if isinstance(value, (list, tuple, set, frozenset)):
        codes = sorted({str(_code(v)) for v in value})
        return codes[0] if len(codes) == 1 else tuple(codes)
    if value is MISSING or (not isinstance(value, str) and value != value):  # NaN / NA
        return MISSING
    try:
        import pandas as pd

        if value is pd.NA:
            return MISSING
    except ImportError:  # pragma: no cover
        pass
    return str(value)


@dataclass(frozen=True, order=True)
class CellKey:
    """Which trainees a published count counts.

    Attributes
    ----------
    population : str
        ``"entries"`` (parcours that entered in the period), ``"exits"``,
        ``"known"`` (exits whose outcome is known), ``"positive"``,
        ``"category:<code>"`` (exits of one exit category), ``"unknown"``...
    where : tuple of (column, value)
        Filters on the canonical frame, sorted by column; values are the
        canonical codes as strings, :data:`MISSING` for "no value", or a
        tuple of codes for "any of these" (a merged category, "26+" made of
        two age bands). ``()`` is the whole population.
    """

    population: str
    where: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, population: str, **where: object) -> CellKey:
        """``CellKey.of("positive", region="Bretagne", sex="F")``; ``None`` filters are left out.

        A missing value (``pd.NA``, NaN or :data:`MISSING`) selects the trainees with no value;
        a list or tuple selects any of its codes.
        """
        return cls(population, tuple(sorted((k, _code(v)) for k, v in where.items() if v is not None)))

    def refine(self, **where: object) -> CellKey:
        """The same population with more filters."""
        return CellKey.of(self.population, **dict(self.where), **where)

    def __str__(self) -> str:
        filters = ", ".join(f"{k}={'|'.join(v) if isinstance(v, tuple) else v}" for k, v in self.where)
        return f"{self.population}[{filters}]"


@dataclass(frozen=True)
class Ratio:
    """A published number computed from counts: ``scale * numerator / denominator``.

    ``denominator`` is another cell, or a published constant (the expected
    count of a fair comparison: O/E times E gives O back). ``decimals`` is the
    rounding shown on the page: the shown value ``v`` tells the reader that the
    exact ratio lies in ``[v - 0.5 * 10**-decimals, v + 0.5 * 10**-decimals]``.
    """

    numerator: CellKey
    denominator: CellKey | float
    decimals: int
    scale: float = 100.0
    location: str = ""


@dataclass
class Publication:
    """Every count and ratio a batch publishes, where each appears, and which are hidden."""

    counts: dict[CellKey, int] = field(default_factory=dict)
    appearances: dict[CellKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    ratios: list[Ratio] = field(default_factory=list)
    hidden: set[CellKey] = field(default_factory=set)
    hidden_ratios: set[Ratio] = field(default_factory=set)

    def add_count(self, key: CellKey, value: int, location: str) -> CellKey:
        """Register a published count (``location``: page, table, row and column, for messages)."""
        value = int(value)
        known = self.counts.setdefault(key, value)
        if known != value:
            raise ValueError(f"{key} is published as {known} and as {value} ({location})")
        self.appearances[key].append(location)
        return key

    def add_ratio(
        self,
        numerator: CellKey,
        denominator: CellKey | float,
        *,
        decimals: int,
        scale: float = 100.0,
        location: str = "",
    ) -> Ratio:
        """Register a published ratio; its numerator (and denominator cell) must be registered counts."""
        ratio = Ratio(numerator, denominator, int(decimals), float(scale), location)
        self.ratios.append(ratio)
        return ratio

    def is_hidden(self, key: CellKey) -> bool:
        return key in self.hidden

    def ratio_hidden(self, ratio: Ratio) -> bool:
        """A ratio is not shown when it is withheld itself, or when its numerator or its denominator cell is
        hidden (a figure point, a confidence bound or a sentence built on it is not shown either)."""
        return (
            ratio in self.hidden_ratios
            or ratio.numerator in self.hidden
            or (isinstance(ratio.denominator, CellKey) and ratio.denominator in self.hidden)
        )
