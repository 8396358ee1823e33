"""What the batch and the report notebook call: content is computed once (:mod:`.build`), rendered here.

The notebook ``templates/region_report.ipynb`` sets the language once
(:func:`toolkit.i18n.set_language`), calls :meth:`RegionReport.load` (which
only reads the region's page content and the batch's hidden cells, written
by :func:`prepare_national` before any kernel ran) and then one method per
section, each returning a :class:`~toolkit.reports.render.Rendered` shown as
HTML. The batch calls :func:`prepare_national`, :func:`prepare_impact`,
:func:`report_title`, :func:`index_title`, :func:`index_figure` and
:func:`index_body`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import E2CError
from ..i18n import N_, _, use_language
from .build import BatchContent, build_content, load_page, prepare_national, region_page
from .content import FigureData, Heading, Msg, Page
from .national import NationalWork, load_impact_rows, prepare_impact
from .protect import ReportPublication
from .region_content import SECTION_TITLES
from .render import Rendered, render_blocks, render_section
from .words import Words

__all__ = [
    "NationalWork",
    "BatchContent",
    "prepare_national",
    "prepare_impact",
    "build_content",
    "region_page",
    "RegionReport",
    "report_title",
    "index_title",
    "index_figure",
    "index_body",
]


def report_title(region: str, period: str, lang: str | None = None) -> str:
    """A region page's title (``lang``: the batch's language, default the current one)."""
    with use_language(lang) if lang else _same():
        return _("E2C {region} : rapport {period}", region=region, period=period)


def index_title(period: str, lang: str | None = None) -> str:
    with use_language(lang) if lang else _same():
        return _("Rapports E2C par région, {period}", period=period)


class _same:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _index(national) -> tuple[Page, ReportPublication]:
    content = getattr(national, "content", None)
    if content is not None:
        return content.index, content.publication
    return load_page(national.work_dir, None)


def index_figure(national, lang: str | None = None) -> str:
    """The index page's figure (the regions compared at equal intake) as HTML ("" when there is none:
    no expected model could be fitted, and the page says why)."""
    page, publication = _index(national)
    figure = next((b for s in page.sections for b in s.blocks if isinstance(b, FigureData)), None)
    if figure is None:
        return ""
    with use_language(lang) if lang else _same():
        return render_blocks([figure], Words(publication, publication.min_cell)).html


def index_body(national, results, lang: str | None = None, figure: str | None = None) -> str:
    """The index page: national summary, the regions compared fairly, a link to every report.

    ``results``: the batch's region results (``region``, ``ok``, ``html``); ``figure``: the HTML of
    :func:`index_figure` when already drawn.
    """
    page, publication = _index(national)
    links = {r.region: (bool(r.ok), Path(r.html).name) for r in results}
    with use_language(lang) if lang else _same():
        words = Words(publication, publication.min_cell)
        html = ""
        for section in page.sections:
            blocks = section.blocks
            if figure is not None and any(isinstance(b, FigureData) for b in blocks):
                i = next(i for i, b in enumerate(blocks) if isinstance(b, FigureData))
                html += render_blocks(blocks[:i], words).html + figure
                html += render_blocks(blocks[i + 1 :], words, links=links).html
            else:
                html += render_section(section, words, links=links).html
        return html


@dataclass
class RegionReport:
    """A region's page, loaded from the content the batch computed; one method per section."""

    page: Page
    publication: ReportPublication
    comparison_path: str = ""

    @classmethod
    def load(cls, work_dir: str | Path, region: str, *, comparison_path: str = "", **_ignored) -> RegionReport:
        page, publication = load_page(work_dir, region)
        return cls(page, publication, str(comparison_path or ""))

    @property
    def region(self) -> str:
        return self.page.meta["region"]

    @property
    def min_cell(self) -> int:
        return int(self.publication.min_cell)

    def _render(self, name: str) -> Rendered:
        skip = () if self.comparison_path else ("impact",)
        return render_section(self.page.section(name), Words(self.publication, self.min_cell), skip_anchors=skip)

    def title_block(self) -> Rendered:
        return self._render("title_block")

    def contents(self) -> Rendered:
        return self._render("contents")

    def headline(self) -> Rendered:
        return self._render("headline")

    def profile(self) -> Rendered:
        return self._render("profile")

    def exits(self) -> Rendered:
        return self._render("exits")

    def trend(self) -> Rendered:
        return self._render("trend")

    def fair_comparison(self) -> Rendered:
        return self._render("fair_comparison")

    def esf(self) -> Rendered:
        return self._render("esf")

    def glossary(self) -> Rendered:
        return self._render("glossary")

    def quality(self) -> Rendered:
        return self._render("quality")

    def methods(self) -> Rendered:
        return self._render("methods")

    def impact(self) -> Rendered:
        """Shown only when comparison data are supplied: the estimated effect within the region."""
        if not self.comparison_path:
            return Rendered("")
        from ..i18n import current_language
        from ..impact import load_impact_frame
        from .impact_cells import NO_ESTIMATE, hidden_flags, withheld_reason
        from .impact_section import impact_section

        words = Words(self.publication, self.min_cell)
        heading = render_blocks([Heading(SECTION_TITLES["impact"], "impact")], words).html
        hidden = hidden_flags(self.publication, self.region)
        withheld = withheld_reason(self.page.meta, hidden)
        if withheld is not None:
            return Rendered(heading + render_blocks([withheld], words).html)
        try:
            if str(self.comparison_path).endswith(".parquet"):  # cleaned once by prepare_impact
                frame, covariates = load_impact_rows(self.comparison_path)
            else:
                design = load_impact_frame(self.comparison_path, definition=self.page.meta.get("definition"))
                frame, covariates = design.analysis_data(), [c for c in design.covariates if c != "region"]
            frame = frame[frame["region"].astype("object") == self.region]
            out = impact_section(
                frame, covariates, lang=current_language(), min_cell=self.min_cell, figures=True, hidden=hidden
            )
        except E2CError:  # the reason may hold a count of a few rows (a level found in one group only): not shown
            return Rendered(heading + render_blocks([NO_ESTIMATE], words).html)
        body = _impact_rendered(out, words)
        return Rendered(heading + body.html, body.figures, body.tables)

    def all_sections(self) -> list[Rendered]:
        """Every section in page order (the plain-Python path and tests use it)."""
        names = ["title_block", "contents", "headline", "profile", "exits", "trend", "fair_comparison", "esf"]
        return [*(getattr(self, n)() for n in names), self.impact(), self.glossary(), self.quality(), self.methods()]


def _impact_rendered(out: dict, words: Words) -> Rendered:
    """The impact estimate's sentences, table and balance figure (text made by the impact section)."""
    import pandas as pd

    from .content import Column, Table

    blocks: list = [Msg("{text}", {"text": p}, role="reading") for p in out["text"]]
    summary = out["summary"].reset_index(drop=True)
    columns = [
        Column(str(c), Msg("{name}", {"name": str(c)}), "label" if i == 0 else "text")
        for i, c in enumerate(summary.columns)
    ]
    blocks.append(Table("impact", Msg(N_("Estimation de l’effet")), columns, pd.DataFrame(summary)))
    rendered = render_blocks(blocks, words)
    html = rendered.html
    love = out["figures"].get("love")
    if love is not None:
        from .figures import svg_data_uri

        src, width, height = svg_data_uri(love)  # vector, like every other figure of the page
        alt = getattr(love, "alt_text", None) or _(
            "Graphique d’équilibre : écarts standardisés des caractéristiques avant et après pondération."
        )
        view = {
            "src": src,
            "alt": alt,
            "width": width,
            "height": height,
            "caption": _("Équilibre des caractéristiques entre stagiaires et groupe de comparaison."),
        }
        from .render import _env

        html += _env().from_string('{% import "blocks.html.j2" as r %}{{ r.figure(b) }}').render(b=view)
    return Rendered(html, rendered.figures, rendered.tables)
