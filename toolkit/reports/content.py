"""Report content as data: tables, sentences, figure data, no HTML.

A page is a list of :class:`Section`; a section is a list of blocks:

* :class:`Msg` — a sentence: a French message (the gettext msgid) and its
  arguments as data (:class:`Num` numbers, :class:`Code` canonical codes,
  nested messages, or literal text from the data). It is translated and
  formatted only when rendered, so the same content serves both languages;
* :class:`Table` — a tidy DataFrame and column specs; every count cell has
  its :class:`~toolkit.disclosure.CellKey` in :attr:`Table.keys`, every
  share or rate its :class:`~toolkit.disclosure.Ratio`;
* :class:`FigureData` — what a figure plots (only published units), drawn
  by :mod:`toolkit.plots` when the page is rendered;
* :class:`Cards` and :class:`Definitions` — key-figure cards and a
  definition list, made of messages;
* :class:`Alert` — a box for the first screen (unknown-outcome alerts);
* :class:`Verdict` — the summary a page opens with (``id="synthese"``):
  a few sentences and, on the index, the table of regions;
* :class:`Banner` — the "fictitious data" banner of pages made from
  synthetic data.

Everything here can be written to JSON and read back (:func:`dumps`,
:func:`loads`): the batch computes every page's content in the parent
process, disclosure control sees every number, then each kernel only loads
and renders its page.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..disclosure import CellKey, Ratio

__all__ = [
    "Msg",
    "Num",
    "Code",
    "Column",
    "Table",
    "FigureData",
    "Cards",
    "Card",
    "Header",
    "Contents",
    "Definitions",
    "Alert",
    "Link",
    "Heading",
    "Section",
    "Page",
    "dumps",
    "loads",
    "Verdict",
    "Banner",
]


@dataclass(frozen=True)
class Num:
    """A number in a sentence: ``kind`` is ``int``, ``pct``, ``number`` or ``year``.

    ``key`` (a count) or ``ratio`` (a share, rate or O/E) say which published
    cell the number is: when that cell is hidden, the sentence is not shown.
    """

    value: float | int | None
    kind: str = "int"
    decimals: int = 1
    key: CellKey | None = None
    ratio: Ratio | None = None


@dataclass(frozen=True)
class Code:
    """A canonical code, shown as its label in the page's language."""

    column: str
    code: Any


@dataclass(frozen=True)
class Msg:
    """A sentence or a short text: French message and arguments (rendered as ``_(text, **args)``).

    ``plural`` and ``count`` make it an ``ngettext`` message. ``fallback`` is
    shown instead when one of the sentence's numbers is hidden, or one of the
    cells or ratios in ``requires`` (``None``: nothing is shown). ``role`` is
    a rendering hint (``p``, ``note``, ``reading``).
    """

    text: str
    args: dict = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None
    fallback: Msg | None = None
    role: str = "p"
    requires: tuple = ()


@dataclass
class Heading:
    """A section (level 2) or sub-section (level 3) title with its anchor."""

    text: Msg
    anchor: str
    level: int = 2


@dataclass
class Column:
    """How one column of a :class:`Table` is shown.

    ``kind``: ``label`` (row header, text from the data or a :class:`Msg`),
    ``code`` (canonical code of ``code_column`` shown as its label), ``text``,
    ``msg``, ``int`` (a count: its cell key is in ``Table.keys``), ``pct``,
    ``number``, ``rate_ci`` (rate with ``ci_low``/``ci_high``), ``limits``
    (``lower``/``upper`` columns named in ``pair``).
    ``follows``: the column whose hidden state this one shares (a rate's
    interval, an O/E's reading); a share or rate follows its ratio.
    """

    name: str
    header: Msg
    kind: str = "text"
    decimals: int = 1
    code_column: str | None = None
    follows: str | None = None
    pair: tuple[str, str] | None = None


@dataclass
class Table:
    """A published table: tidy data, column specs, and the cell behind every number.

    ``keys``: {column: list of CellKey (or None) per row} for count columns;
    ``ratios``: {column: list of Ratio (or None) per row} for shares, rates
    and O/E. ``protection`` holds the arguments of the per-table suppression
    rule (:mod:`.protect`) until batch-wide protection replaces it.
    """

    id: str
    caption: Msg
    columns: list[Column]
    data: pd.DataFrame
    keys: dict[str, list] = field(default_factory=dict)
    ratios: dict[str, list] = field(default_factory=dict)
    note: Msg | None = None
    protection: dict = field(default_factory=dict)


@dataclass
class FigureData:
    """What a figure plots, as data; ``kind`` names the :mod:`toolkit.plots` function that draws it.

    ``points``: the units drawn (already limited to what the tables publish);
    ``reference``: the national reference; ``params``: titles and options;
    ``keys``: the ratio (or cell key) behind each point, so that a point whose
    value a table hides is not drawn; ``protection``: a rule for units that
    only the figure publishes (the regions compared).
    """

    kind: str
    points: pd.DataFrame
    alt: Msg
    caption: Msg
    reference: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)
    keys: list = field(default_factory=list)
    protection: dict = field(default_factory=dict)


@dataclass
class Header:
    """A page's title block: kicker, title (text from the data or a message), subtitle, provenance line."""

    kicker: Msg
    title: Msg
    subtitle: Msg
    meta: Msg


@dataclass
class Contents:
    """The table of contents: (anchor, title) pairs."""

    items: list[tuple[str, Msg]]


@dataclass
class Card:
    label: Msg
    value: Num | Msg
    detail: Msg | None = None
    national: Msg | None = None


@dataclass
class Cards:
    cards: list[Card]
    counts: bool = True


@dataclass
class Definitions:
    """A definition list (methods and provenance): (term, definition) messages."""

    items: list[tuple[Msg, Msg]]


@dataclass
class Alert:
    """A box on the first screen of a page: a title and one message per alert."""

    title: Msg
    items: list[Msg]


@dataclass
class Link:
    """A link to a file published beside the page (``href`` relative to it), e.g. the ESF+ CSV."""

    href: str
    text: Msg
    note: Msg | None = None


@dataclass
class Section:
    """One section of a page: its name (the notebook calls one section per cell) and its blocks."""

    name: str
    blocks: list = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[FigureData]:
        return [b for b in self.blocks if isinstance(b, FigureData)]


@dataclass
class Page:
    """Every section of one page, with what the header needs."""

    id: str
    title: Msg
    sections: list[Section]
    meta: dict = field(default_factory=dict)

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        return Section(name)


@dataclass
class Verdict:
    """The summary a page opens with: a title, sentences a funder can quote, then other blocks (a table)."""

    title: Msg
    items: list[Msg]
    blocks: list = field(default_factory=list)
    anchor: str = "synthese"


@dataclass
class Banner:
    """A banner at the top of a page (``kind`` ``synthetic``: the data are fictitious)."""

    text: Msg
    kind: str = "synthetic"


# --------------------------------------------------------------------------
# JSON, both ways
# --------------------------------------------------------------------------
_TYPES = {
    cls.__name__: cls
    for cls in (
        Num,
        Code,
        Msg,
        Header,
        Contents,
        Heading,
        Column,
        Table,
        FigureData,
        Card,
        Cards,
        Definitions,
        Alert,
        Link,
        Section,
        Page,
        Ratio,
        Verdict,
        Banner,
    )
}


def _encode(value: Any) -> Any:
    if isinstance(value, CellKey):
        return {"__key__": [value.population, [list(pair) for pair in value.where]]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **fields}
    if isinstance(value, pd.DataFrame):
        columns = [[_encode(v) for v in value.iloc[:, j].to_numpy(dtype=object)] for j in range(value.shape[1])]
        rows = [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(value))]
        return {"__frame__": {"columns": [str(c) for c in value.columns], "data": rows}}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__key__" in value:
        population, where = value["__key__"]
        return CellKey(
            population, tuple((str(k), tuple(map(str, v)) if isinstance(v, list) else str(v)) for k, v in where)
        )
    if "__frame__" in value:
        spec = value["__frame__"]
        frame = pd.DataFrame(_decode(spec["data"]), columns=spec["columns"], dtype=object)
        return frame.infer_objects()
    if "__type__" in value:
        cls = _TYPES[value["__type__"]]
        fields = {k: _decode(v) for k, v in value.items() if k != "__type__"}
        if cls is Column and fields.get("pair") is not None:
            fields["pair"] = tuple(fields["pair"])
        if cls in (Definitions, Contents):
            fields["items"] = [tuple(i) for i in fields["items"]]
        if cls is Msg:
            fields["requires"] = tuple(fields.get("requires", ()))
        return cls(**fields)
    return {k: _decode(v) for k, v in value.items()}


def dumps(value: Any) -> str:
    """Content (a page, a section, any block) as JSON text."""
    return json.dumps(_encode(value), ensure_ascii=False)


def loads(text: str) -> Any:
    """Content back from :func:`dumps`."""
    return _decode(json.loads(text))
