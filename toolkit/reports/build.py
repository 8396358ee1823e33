"""A batch's content, computed once in the parent process before any kernel runs.

:func:`prepare_national` does the national work (:mod:`.national`), builds
the content of every region's page and of the index (:mod:`.region_content`,
:mod:`.fair_content`, :mod:`.index_content`), registering every published
count and ratio in one :class:`~toolkit.reports.protect.ReportPublication`;
then :func:`~toolkit.reports.protect.protect_publication` chooses the hidden
cells over the whole batch; last, the pages and the hidden cells are written
as JSON under ``<work_dir>/content/``. A region's kernel only loads its page
and renders it (:mod:`.sections`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DEFAULT_MIN_CELL
from ..errors import ReportError
from ..i18n import N_, _
from .alert_content import withhold_rates
from .builder import PageBuilder
from .content import Page, dumps, loads
from .esf_content import esf_section
from .fair_content import fair_section, methods_section, quality_section
from .impact_cells import impact_rows, register_impact
from .index_content import index_content
from .national import NationalWork, compute_national, prepare_impact
from .protect import ReportPublication, audit_gate, protect_publication
from .region_content import (
    RegionContext,
    contents_section,
    exits_section,
    glossary_section,
    headline_section,
    profile_section,
    title_section,
    trend_section,
)

__all__ = ["BatchContent", "prepare_national", "region_page", "build_content", "load_page", "CONTENT_DIR"]

CONTENT_DIR = "content"
SECTIONS = (
    title_section,
    contents_section,
    headline_section,
    profile_section,
    exits_section,
    trend_section,
    fair_section,
    esf_section,
    glossary_section,
    quality_section,
    methods_section,
)


@dataclass
class BatchContent:
    """Every page of a batch and what is hidden on them."""

    pages: dict[str, Page]
    index: Page
    publication: ReportPublication
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    audit: dict = field(default_factory=dict)  # the attacker's audit summary (:func:`.protect.audit_gate`)


def region_page(national: NationalWork, region: str, builder: PageBuilder, *, comparison: bool = False) -> Page:
    """Every section of one region's page, its cells registered with ``builder``."""
    ctx = RegionContext(national, region, builder, national.input_info.get("name", ""), comparison)
    sections = [make(ctx) for make in SECTIONS]
    return Page(
        region,
        _report_title_msg(region, national.period),
        sections,
        meta={
            "region": region,
            "period": national.period,
            "min_cell": builder.min_cell,
            "definition": national.definition,
        },
    )


def _report_title_msg(region: str, period: str):
    from .content import Msg

    return Msg(N_("E2C {region} : rapport {period}"), {"region": region, "period": period})


def build_content(
    national: NationalWork,
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    comparison: bool = False,
    linked: bool = True,
    impact_path=None,
) -> BatchContent:
    """The content of every region with at least ``min_cell`` trainees and of the index, protected and audited.

    ``linked`` (the default): the hidden cells are chosen over the whole publication (linked tables,
    :func:`toolkit.disclosure.protect_publication`) and the attacker's audit (:func:`.protect.audit_gate`)
    then checks every page of the batch as it will be published; its summary is ``BatchContent.audit``.
    ``linked=False`` applies the per-table rules only, with no audit: for tests and benchmarks, never for a
    batch that is published. ``impact_path``: the impact design's rows (:func:`.national.prepare_impact`);
    each region's estimate is then run here and its counts are protected with the rest
    (:mod:`.impact_cells`).

    Raises
    ------
    DisclosureError
        The audit finds a hidden cell that the published pages pin down (the message names the cell).
    """
    t0 = time.perf_counter()
    publication = ReportPublication(min_cell=int(min_cell))
    pages, skipped = {}, {}
    for region in national.regions:
        entries = int(national.region_table("flows", region)["n_entries"].sum())
        if entries < min_cell:
            skipped[region] = (
                f"Région {region!r} : {entries} stagiaire(s), moins que le seuil de {min_cell} : "
                "pas de rapport publiable."
            )
            continue
        pages[region] = region_page(
            national, region, PageBuilder(publication, region, int(min_cell)), comparison=comparison
        )
    index = index_content(national, PageBuilder(publication, "index", int(min_cell)))
    everything = [*pages.values(), index]
    impact = None
    if impact_path is not None:  # the impact sections' counts, protected with the rest
        impact, _failed = impact_rows(impact_path, list(pages), int(min_cell))
        for region, page in pages.items():
            register_impact(PageBuilder(publication, region, int(min_cell)), region, impact)
            page.meta["impact_protected"] = True  # the kernel prints impact counts only for such a page
    # Linked-table protection and the attacker's audit need the trainee-level frame, kept in memory when the
    # national work was just computed.
    frame = getattr(national, "frame", None) if linked else None
    if linked and frame is None:
        raise ReportError(_("Protection des cellules impossible : les données individuelles du lot sont absentes."))
    # Linked protection chooses the secondary cells itself (measured: the per-table rules first hid one cell
    # more on a 5,900-trainee export and took longer); the O/E rule of the fair comparison still applies.
    protect_publication(publication, everything, int(min_cell), frame=frame, table_rules=frame is None, other=impact)
    audit = audit_gate(publication, everything, frame, int(min_cell)) if linked else {}
    # Over 50 % unknown outcomes: no rate published. Withholding hides more cells after the audit: hiding
    # only widens the attacker's intervals of the audited cells, and a withheld count (0 or at least
    # min_cell: smaller ones are hidden and audited already) is hidden for its quality, not for secrecy.
    withhold_rates(publication, national.meta, national.regions)
    return BatchContent(pages, index, publication, skipped, time.perf_counter() - t0, audit)


def save_content(content: BatchContent, work_dir: Path) -> Path:
    """Write every page and the hidden cells as JSON (``content/pages.json`` maps regions to files)."""
    folder = Path(work_dir) / CONTENT_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = {}
    for i, (region, page) in enumerate(content.pages.items()):
        files[region] = f"region_{i:02d}.json"
        (folder / files[region]).write_text(dumps(page), encoding="utf-8")
    (folder / "index.json").write_text(dumps(content.index), encoding="utf-8")
    (folder / "publication.json").write_text(
        json.dumps(content.publication.to_json(), ensure_ascii=False), encoding="utf-8"
    )
    (folder / "pages.json").write_text(
        json.dumps({"pages": files, "skipped": content.skipped}, ensure_ascii=False), encoding="utf-8"
    )
    return folder


def load_page(work_dir: str | Path, region: str | None) -> tuple[Page, ReportPublication]:
    """One page (``None``: the index) and the batch's hidden cells, as a kernel reads them."""
    folder = Path(work_dir) / CONTENT_DIR
    try:
        listing = json.loads((folder / "pages.json").read_text(encoding="utf-8"))
        publication = ReportPublication.from_json(json.loads((folder / "publication.json").read_text("utf-8")))
    except OSError as exc:
        raise ReportError(f"{work_dir} : résultats nationaux introuvables ({exc}). Lancez build_reports.") from exc
    if region is None:
        name = "index.json"
    elif region in listing["skipped"]:
        raise ReportError(listing["skipped"][region])
    elif region not in listing["pages"]:
        raise ReportError(f"Région {region!r} absente des données nationales préparées.")
    else:
        name = listing["pages"][region]
    return loads((folder / name).read_text(encoding="utf-8")), publication


def prepare_national(
    data=None,
    work_root: str | Path | None = None,
    *,
    definition=None,
    lang: str = "fr",
    min_cell: int = DEFAULT_MIN_CELL,
    period=None,
    progress: bool = False,
    comparison=None,
    mapping=None,
    situations=None,
) -> NationalWork:
    """The national work and every page's content, before any kernel runs.

    ``lang`` is accepted for the batch's call and not used: content is the
    same in every language, words are chosen when a page is rendered.
    ``data`` is a raw export (cleaned with ``mapping`` and ``situations``
    when given) or the Parquet that ``e2c clean --out`` writes. ``comparison``: the impact design's file,
    whose name and SHA-256 go in ``national.meta["comparison"]`` (the pages' provenance).
    Returns the :class:`NationalWork`, its ``content`` (:class:`BatchContent`)
    set and written under ``work_dir``. Raises :class:`~toolkit.disclosure.DisclosureError`
    (nothing written) when the batch fails the attacker's audit (:func:`build_content`).
    """
    national = compute_national(
        data,
        work_root,
        definition=definition,
        min_cell=min_cell,
        period=period,
        progress=progress,
        mapping=mapping,
        situations=situations,
    )
    if comparison:  # the comparison file's name and SHA-256, for the pages' provenance
        from .manifest import file_provenance

        national.meta["comparison"] = file_provenance(comparison)
        # cleaned once, before protection: every region's estimate is run here and its counts protected
        national.impact_path = prepare_impact(comparison, national.work_dir, national.definition)
    national.content = build_content(
        national, min_cell, comparison=bool(comparison), impact_path=getattr(national, "impact_path", None)
    )
    save_content(national.content, national.work_dir)
    return national
