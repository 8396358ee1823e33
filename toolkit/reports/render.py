"""Rendering: content blocks to HTML through autoescaped Jinja2 templates, in the current language.

The templates (``toolkit/reports/templates/``, shipped as package data) get
text only: every message is translated and every number formatted here
(:class:`~toolkit.reports.words.Words`), and autoescape makes any text from
the data (a site called ``<script>`` or ``{{ x }}``) appear literally.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..i18n import _
from .content import Alert, Cards, Contents, Definitions, FigureData, Header, Heading, Link, Msg, Section, Table
from .figures import DrawnFigure, draw_figure
from .words import Words

__all__ = ["Rendered", "environment", "render_section", "render_blocks"]

_NUMERIC = ("int", "pct", "number", "rate_ci", "limits")


def environment() -> Environment:
    """The Jinja2 environment of the report templates (autoescaped everywhere)."""
    return Environment(
        loader=PackageLoader("toolkit.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=False,
    )


_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = environment()
    return _ENV


@dataclass
class Rendered:
    """A rendered section: its HTML, the figures drawn (with their data) and its tables' cell texts."""

    html: str
    figures: list[DrawnFigure] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return self.html

    def __add__(self, other: Rendered) -> Rendered:
        return Rendered(self.html + other.html, self.figures + other.figures, {**self.tables, **other.tables})


def render_section(
    section: Section, words: Words, *, links: Mapping | None = None, skip_anchors: tuple[str, ...] = ()
) -> Rendered:
    """One section as HTML. ``links``: {region: (ok, href)} for the index's report column."""
    return render_blocks(section.blocks, words, links=links, skip_anchors=skip_anchors)


def render_blocks(blocks, words: Words, *, links: Mapping | None = None, skip_anchors=()) -> Rendered:
    from .content import Verdict  # the summary a page opens with (imported here: one hunk in this module)

    views: list[dict] = []
    figures: list[DrawnFigure] = []
    tables: dict[str, pd.DataFrame] = {}
    for block in blocks:
        if isinstance(block, Msg):
            text = words.msg(block)
            if text is None:
                continue
            if block.role == "reading":
                if views and views[-1]["type"] == "reading":
                    views[-1]["paragraphs"].append(text)
                else:
                    views.append({"type": "reading", "paragraphs": [text]})
            else:
                views.append({"type": "para", "role": block.role, "text": text})
        elif isinstance(block, Table):
            view = _table_view(block, words, links or {})
            tables[block.id] = _published(block, view)
            views.append(view)
        elif isinstance(block, Verdict):  # the summary a page opens with: its sentences and blocks, wrapped
            inner = render_blocks(block.blocks, words, links=links, skip_anchors=skip_anchors)
            figures += inner.figures
            tables |= inner.tables
            items = [t for t in (words.msg(m) for m in block.items) if t]
            views.append(
                {"type": "verdict", "anchor": block.anchor, "title": words.text(block.title), "items": items}
                | {"inner": Markup(inner.html)}
            )
        elif isinstance(block, FigureData):
            drawn = draw_figure(block, words)
            figures.append(drawn)
            views.append({"type": "figure", **drawn.__dict__})
        else:
            views.append(_simple_view(block, words, skip_anchors))
    html = _env().get_template("section.html.j2").render(blocks=views)
    return Rendered(html, figures, tables)


def _published(table: Table, view: dict) -> pd.DataFrame:
    """The cell texts of a rendered table, with what a disclosure check needs in ``attrs``."""
    frame = pd.DataFrame({h["text"]: [row[i]["text"] for row in view["rows"]] for i, h in enumerate(view["headers"])})
    rule = table.protection
    frame.attrs["count_cols"] = [h["text"] for h, c in zip(view["headers"], table.columns) if c.kind == "int"]
    frame.attrs["rows_additive"] = bool(rule.get("rows_additive", True)) if rule.get("counts") else False
    frame.attrs["cols_additive"] = bool(rule.get("cols_additive", False))
    return frame


def _simple_view(block, words: Words, skip_anchors) -> dict:
    from .content import Banner  # the synthetic-data banner

    text = words.text
    if isinstance(block, Header):
        return {
            "type": "header",
            "kicker": text(block.kicker),
            "title": text(block.title),
            "subtitle": text(block.subtitle),
            "meta": text(block.meta),
        }
    if isinstance(block, Contents):
        items = [(a, text(t)) for a, t in block.items if a not in skip_anchors]
        return {"type": "toc", "title": _("Sommaire"), "items": items}
    if isinstance(block, Heading):
        return {"type": "heading", "level": block.level, "anchor": block.anchor, "text": text(block.text)}
    if isinstance(block, Cards):
        cards = [
            {
                "label": text(c.label),
                "value": text(c.value),
                "detail": text(c.detail) if c.detail else "",
                "national": text(c.national) if c.national is not None else None,
            }
            for c in block.cards
        ]
        return {"type": "cards", "counts": block.counts, "cards": cards}
    if isinstance(block, Banner):
        return {"type": "banner", "kind": block.kind, "text": text(block.text)}
    if isinstance(block, Alert):
        return {"type": "alert", "title": text(block.title), "items": [text(m) for m in block.items]}
    if isinstance(block, Link):
        return {"type": "link", "href": block.href, "text": text(block.text), "note": text(block.note)}
    if isinstance(block, Definitions):
        items = [(text(term), text(value), text(term) == "SHA-256") for term, value in block.items]
        return {"type": "definitions", "items": items}
    raise TypeError(f"unknown content block {type(block).__name__}")


def _table_view(table: Table, words: Words, links: Mapping) -> dict:
    data = table.data
    headers = [{"text": words.text(c.header), "num": c.kind in _NUMERIC} for c in table.columns]
    hidden = {c.name: _hidden_column(table, c.name, words) for c in table.columns}
    for c in table.columns:  # a column that follows another is hidden with it
        if c.follows is not None and c.follows in hidden:
            hidden[c.name] = [a or b for a, b in zip(hidden[c.name], hidden[c.follows])]
    rows = []
    for i in range(len(data)):
        row = []
        for j, column in enumerate(table.columns):
            row.append(_cell(table, column, i, j == 0, hidden[column.name][i], words, links))
        rows.append(row)
    return {
        "type": "table",
        "caption": words.text(table.caption),
        "headers": headers,
        "rows": rows,
        "note": words.text(table.note) if table.note is not None else "",
    }


def _hidden_column(table: Table, name: str, words: Words) -> list[bool]:
    if name in table.keys:
        return [words.hidden(k) for k in table.keys[name]]
    if name in table.ratios:
        return [words.hidden(r) for r in table.ratios[name]]
    return [False] * len(table.data)


def _cell(table: Table, column, i: int, first: bool, hidden: bool, words: Words, links: Mapping) -> dict:
    data, kind = table.data, column.kind
    value = data[column.name].iat[i]
    classes = []
    if kind in _NUMERIC and kind != "limits":
        classes.append("num")
    if kind == "int":
        classes.append("count")
    title = ""
    if hidden:
        classes.append("suppressed")
        text = words.marker(value, kind == "int")
        title = words.marker_title(value, kind == "int")
    else:
        text = _cell_text(data, column, i, value, words)
    if kind == "link":
        return _link_cell(value, links)
    if kind == "limits":
        classes.append("num")
    parts = []
    if kind == "rate_ci" and not hidden and " [" in text:  # on a phone the interval may go under the rate
        rate, interval = text.split(" [", 1)
        parts, classes = [rate, "[" + interval], [*classes, "ci"]
    cell = {"header": first and kind in ("label", "code"), "text": text, "classes": " ".join(classes), "title": title}
    return {**cell, "parts": parts}


def _cell_text(data: pd.DataFrame, column, i: int, value, words: Words) -> str:
    from .content import Code, Num

    kind = column.kind
    if kind in ("int", "pct", "number"):
        if value is None or pd.isna(value):
            return words.number(Num(value, kind, column.decimals)) if kind != "int" else ""
        return words.number(Num(value, kind, column.decimals))
    if kind == "rate_ci":
        return words.number(Num([value, data["ci_low"].iat[i], data["ci_high"].iat[i]], "rate_ci", column.decimals))
    if kind == "limits":
        low, high = (data[c].iat[i] for c in column.pair)
        if pd.isna(low) or pd.isna(high):
            return ""
        return f"{words.decimal(low, column.decimals)} – {words.decimal(high, column.decimals)}"
    if kind == "code":
        return words.code(Code(column.code_column, value))
    return words.text(value)


def _link_cell(region, links: Mapping) -> dict:
    status = links.get(region)
    if status is None:
        return {"header": False, "text": _("non demandé"), "classes": "", "title": ""}
    ok, href = status
    if ok:
        return {
            "header": False,
            "text": _("Lire le rapport"),
            "href": href,
            "hidden_text": region,
            "classes": "",
            "title": "",
        }
    return {"header": False, "text": _("échec de production"), "classes": "status-failed", "title": ""}
