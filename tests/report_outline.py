"""A normalised outline of a report page, for the HTML snapshot tests (helper module, not a test file).

The outline keeps what a reader gets: headings, sentences, every table cell text, figure alt texts and
captions, definition lists and links, the synthetic-data banner and where a section with an id (the summary)
starts; it drops markup, base64 images and the generation date.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd

_BLOCKS = {"h1", "h2", "h3", "h4", "p", "caption", "th", "td", "dt", "dd", "figcaption", "li", "footer", "a"}


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "banner-synthetic" in (attrs.get("class") or ""):
            self.stack.append(("div", ["banner: "]))
        elif tag == "section" and attrs.get("id"):
            self.lines.append(f"section: #{attrs['id']} .{attrs.get('class', '')}")
        elif tag == "img":
            self.lines.append(f"img alt: {attrs.get('alt', '')}")
        elif tag == "tr":
            self.row = []
        elif tag in _BLOCKS and tag != "a":
            self.stack.append((tag, []))
        elif tag == "a" and attrs.get("href", "").startswith("#") is False:
            self.lines.append(f"link: {attrs.get('href', '')}")

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.lines.append("row: " + " | ".join(self.row))
            self.row = None
        elif tag == "div" and self.stack and self.stack[-1][0] == "div":
            self.lines.append(re.sub(r"\s+", " ", "".join(self.stack.pop()[1])).strip())
        elif tag in _BLOCKS and tag != "a" and self.stack and self.stack[-1][0] == tag:
            name, parts = self.stack.pop()
            text = re.sub(r"\s+", " ", "".join(parts)).strip()
            if self.stack:  # nested block (a <p> inside a <td>): give the text to the parent
                self.stack[-1][1].append(text)
            elif name in ("th", "td") and self.row is not None:
                self.row.append(text)
            else:
                self.lines.append(f"{name}: {text}")

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][1].append(data)


def outline(html: str, *, dates: tuple[str, ...] = ()) -> list[str]:
    """The page's text lines, dates replaced by ``<DATE>``."""
    parser = _Outline()
    parser.feed(html)
    parser.close()
    lines = parser.lines
    for date in dates:
        lines = [line.replace(date, "<DATE>") for line in lines]
    return lines


def points_text(points: pd.DataFrame) -> list[str]:
    """A figure's plotted data as JSON lines (one per point)."""
    frame = points.reset_index(drop=True).astype(object).where(points.notna(), None)
    return [json.dumps(row, ensure_ascii=False, default=str) for row in frame.to_dict(orient="records")]
