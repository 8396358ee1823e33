"""Per-region funder reports: national work once, then one fresh kernel per
region renders its page, several at once (:mod:`.engine`), each page
converted in-process to offline HTML and published only when complete.

Layout of a batch (``out`` defaults to ``config.REPORTS_DIR``)::

    <out>/<period>/<region-slug>.html   one page per region
    <out>/<period>/index.html           national summary, regions compared, links
    <out>/<period>/manifest.json        parameters, input SHA-256, checksums, timings, status
    <out>/<period>/*.pdf                with ``pdf=True``: each page printed to A4 (:mod:`.pdf`)
    <out>/.e2c-batch.lock               held while a batch writes into <out>

Everything else lives in a private temporary folder (mode 0700, outside
``out``, :class:`.workspace.Workspace`): the national work files (aggregates
*before* suppression), the impact design's rows, the kernels' working folders
and the executed notebooks. It is removed on every exit path, Ctrl-C and
SIGTERM included. A page is written to a temporary file and renamed, so a
reader never sees half a page; ``manifest.json`` says which regions finished.
A failed run removes the folders it created and left empty.

Speed (``benchmarks/bench_reports.py``): the fast engine's zygote (or nothing,
on the portable engine) starts before the national work and preloads while
it runs; kernels run with one BLAS thread each so that parallel regions do
not fight over the cores; HTML is produced with nbconvert's ``HTMLExporter``
and the ``templates/e2c_html`` template (no code, no prompts, no stderr, no
script, nothing fetched from the network).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..config import DEFAULT_MIN_CELL, REPORTS_DIR, TEMPLATES_DIR
from ..errors import ReportError
from ..i18n import _, use_language
from .checks import check_offline_html, check_parameters_tag
from .engine import (
    ENGINES,
    KERNEL_NAME,
    SINGLE_THREAD_ENV,
    BatchInterrupted,
    KernelRegistry,
    RegionJob,
    RegionResult,
    check_engine,
    default_engine,
    kernel_env,
    run_jobs,
    shielded,
    stop_on_signals,
)
from .manifest import interrupted_manifest, write_manifest
from .pdf import print_pages, running_css
from .workspace import BatchLock, Workspace, ensure_dir, path_error, prepare_out, write_atomic

__all__ = [
    "REPORT_TEMPLATE",
    "HTML_TEMPLATE",
    "KERNEL_NAME",
    "ENGINES",
    "RegionJob",
    "RegionResult",
    "BatchResult",
    "BatchInterrupted",
    "check_parameters_tag",
    "check_offline_html",
    "default_engine",
    "notebook_to_html",
    "html_page",
    "run_batch",
    "write_manifest",
    "resolve_regions",
    "build_reports",
]

REPORT_TEMPLATE = TEMPLATES_DIR / "region_report.ipynb"
HTML_TEMPLATE = "e2c_html"  # folder in templates/
CELL_TIMEOUT_S = 300


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass
class BatchResult:
    """A batch of reports: where they are and how each region went.

    ``work_dir``: the private work folder, only when it was kept (``keep_work``).
    ``pdfs``: the PDF copies written (``pdf=True``); ``pdf_error``: why they were not, if so.
    """

    out_dir: Path
    period: str
    regions: list[RegionResult]
    index: Path | None = None
    manifest: Path | None = None
    timings: dict = field(default_factory=dict)
    engine: str = ""
    work_dir: Path | None = None
    pdfs: list[Path] = field(default_factory=list)
    pdf_error: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.regions)

    @property
    def failed(self) -> list[RegionResult]:
        return [r for r in self.regions if not r.ok]


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------
_LOCAL = threading.local()  # one exporter per thread: regions are converted in parallel


def _exporter():
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = _LOCAL.exporter = HTMLExporter(
            template_name=HTML_TEMPLATE,
            extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    return exporter


def _render(nb, *, lang: str, title: str, where: str) -> str:
    outputs = (o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    page_css = running_css(title, "".join(t if isinstance(t, str) else "".join(t) for t in outputs))
    resources = {"e2c": {"lang": lang, "title": title, "version": __version__, "page_css": page_css}}
    html, _resources = _exporter().from_notebook_node(nb, resources=resources)
    check_offline_html(html, where)
    return html


def _page_of(job: RegionJob) -> bytes:
    """A region's page from its executed notebook (run in the worker thread)."""
    import nbformat

    nb = nbformat.read(str(job.notebook), as_version=4)
    return _render(nb, lang=job.lang, title=job.title or job.label, where=job.label).encode("utf-8")


def notebook_to_html(
    notebook: str | os.PathLike, html_path: str | os.PathLike, *, lang: str = "fr", title: str = ""
) -> str:
    """Convert an executed notebook to an offline report page (written atomically); returns its SHA-256."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    data = _render(nb, lang=lang, title=title, where=str(notebook)).encode("utf-8")
    write_atomic(html_path, data)
    return hashlib.sha256(data).hexdigest()


def html_page(body: str, *, lang: str = "fr", title: str = "") -> str:
    """A whole page around ``body`` with the same skeleton and style as the
    region reports (the index page uses it)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": body})]
    nb.cells = [cell]
    return _render(nb, lang=lang, title=title, where=title or "page")


def _start_engine(engine: str, folder: Path):
    """The fast engine's zygote (preloading from now on), or ``None`` for the portable engine."""
    if engine != "fast":
        return None
    from .kernels import Zygote

    zygote = Zygote(folder, env=SINGLE_THREAD_ENV)
    zygote.register()
    return zygote


# --------------------------------------------------------------------------
# Running a batch of notebooks
# --------------------------------------------------------------------------
def run_batch(
    template: str | os.PathLike,
    jobs: Sequence[RegionJob],
    *,
    workers: int = 2,
    kernel_name: str | None = None,
    timeout: float = CELL_TIMEOUT_S,
    progress: bool = True,
    description: str | None = None,
    engine: str | None = None,
    while_running=None,
    collected: dict | None = None,
) -> list[RegionResult]:
    """Execute ``template`` once per job, ``workers`` at a time, and publish each page.

    Every job runs in a fresh kernel. A failing job is returned with
    ``status="failed"`` and its error; the other jobs go on. A page is
    written only when complete (temporary file, then rename). Results come
    back in the order of ``jobs``; ``collected`` (a dict) receives them as
    they finish, so that a caller interrupted midway knows which finished.
    ``while_running``: a callable run in this thread once the jobs have
    started. ``engine``: ``portable`` or ``fast`` (default: the platform's);
    ignored when ``kernel_name`` is given.
    """
    template = str(Path(template).resolve())
    check_parameters_tag(template)
    results = {} if collected is None else collected
    zygote, folder = None, None
    if kernel_name is None:
        engine = check_engine(engine)
        if engine == "fast":
            folder = Workspace()
            zygote = _start_engine(engine, folder.path)
        kernel_name = zygote.kernel_name if zygote else KERNEL_NAME
    registry = KernelRegistry()
    bar = None
    try:
        with kernel_env():
            running = run_jobs(
                template,
                jobs,
                workers=workers,
                kernel_name=kernel_name,
                timeout=timeout,
                render=_page_of,
                registry=registry,
            )
            if while_running is not None:
                while_running()
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(jobs), desc=description or _("Rapports"), unit=_("région"))
            by_key = {job.key: job for job in jobs}
            for result, page in running:
                if page is not None:
                    _publish(by_key[result.slug], result, page)
                results[result.slug] = result
                if bar is not None:
                    outcome = _("ok") if result.ok else _("échec")
                    bar.set_postfix_str(f"{result.region} : {outcome}")
                    bar.update(1)
    finally:
        with shielded():
            registry.kill_all() if len(results) < len(jobs) else None
            if bar is not None:
                bar.close()
            if zygote is not None:
                if zygote.error:
                    for r in results.values():
                        r.kernel = f"{r.kernel} (fallback: portable)"
                zygote.stop()
                folder.remove()
    return [results[job.key] for job in jobs]


def _publish(job: RegionJob, result: RegionResult, page: bytes) -> None:
    write_atomic(job.html, page)
    result.html = str(job.html)
    result.sha256 = hashlib.sha256(page).hexdigest()
    result.bytes = len(page)


def resolve_regions(regions: Iterable[str] | None, present: Sequence[str]) -> list[str]:
    """Official region names from names, slugs, INSEE codes or former names.

    ``None`` gives every region present in the data, in ``schema.REGION_NAMES``
    order.
    """
    from ..schema import REGION_ALIASES, REGION_NAMES, normalise_key

    if regions is None:
        return [r for r in REGION_NAMES if r in set(present)]
    if isinstance(regions, str):
        regions = [regions]
    out: list[str] = []
    for given in regions:
        name = REGION_ALIASES.get(normalise_key(given))
        if name is None:
            raise ReportError(f"Région inconnue : {given!r}. Exemples valides : « Bretagne », « 53 », « grand-est ».")
        if name not in present:
            raise ReportError(f"Région {name!r} absente des données : pas de rapport possible.")
        if name not in out:
            out.append(name)
    return out


# --------------------------------------------------------------------------
# The content layer: every call the batch makes into it, here and nowhere else
# --------------------------------------------------------------------------
def _content_national(data, work_root: Path, **options):
    """National work once (aggregates before suppression), saved under ``work_root`` (the private folder)."""
    from . import sections

    return sections.prepare_national(data, work_root, **options)


def _content_impact(comparison, national) -> Path:
    """The impact design's rows for the regions' impact sections, saved beside the national work (already
    by :func:`~.build.prepare_national`, which protects the impact sections' counts with the rest)."""
    from . import sections

    saved = getattr(national, "impact_path", None)
    return saved if saved is not None else sections.prepare_impact(comparison, national.work_dir, national.definition)


def _content_report_title(region: str, period: str, lang: str) -> str:
    from . import sections

    return sections.report_title(region, period, lang)


def _content_index_figure(national, lang: str) -> str:
    from . import sections

    return sections.index_figure(national, lang)


def _content_index_page(national, results, lang: str, figure: str | None) -> bytes:
    from . import sections

    body = sections.index_body(national, results, lang=lang, figure=figure)
    return html_page(body, lang=lang, title=sections.index_title(national.period, lang)).encode("utf-8")


# --------------------------------------------------------------------------
# The national batch
# --------------------------------------------------------------------------
def _region_jobs(names, national, out_dir: Path, period: str, lang: str, parameters: dict, declared) -> list[RegionJob]:
    from ..schema import REGION_BY_NAME

    jobs = []
    for name in names:
        slug = REGION_BY_NAME[name].slug
        params = {"region": name, **parameters}
        work = national.work_dir.parent / slug  # private work folder, never under `out`
        jobs.append(
            RegionJob(
                key=slug,
                label=name,
                parameters={k: v for k, v in params.items() if k in declared},
                notebook=work / f"{slug}.ipynb",
                html=out_dir / f"{slug}.html",
                cwd=work,
                lang=lang,
                title=_content_report_title(name, period, lang),
            )
        )
    return jobs


def _tidy_out(out_root: Path, out_dir: Path) -> None:
    """Remove what an earlier, interrupted or older batch may have left under ``out``:
    page fragments (``.<page>.*.part``) and the former in-place work folder
    ``<out>/_work`` (national tables before suppression)."""
    import shutil

    for part in out_dir.glob(".*.part"):
        part.unlink(missing_ok=True)
    legacy = out_root / "_work"
    if legacy.is_dir():
        shutil.rmtree(legacy, ignore_errors=True)


def build_reports(
    data=None,
    out=None,
    regions=None,
    jobs: int = 2,
    definition=None,
    lang: str = "fr",
    min_cell: int = DEFAULT_MIN_CELL,
    period=None,
    progress: bool = True,
    *,
    template: str | os.PathLike | None = None,
    keep_work: bool = False,
    kernel_name: str | None = None,
    timeout: float = CELL_TIMEOUT_S,
    comparison: str | os.PathLike | None = None,
    engine: str | None = None,
    fast_kernels: bool | None = None,
    mapping=None,
    situations=None,
    pdf: bool = False,
) -> BatchResult:
    """Make every region's funder report, the index page and the manifest.

    Parameters
    ----------
    data : path or DataFrame, optional
        A raw export (CSV/XLSX/Parquet) or a raw-contract frame. Default: the
        one export in ``data/raw/``, else the synthetic national default.
    out : path, optional
        Reports folder (default ``config.REPORTS_DIR``; relative to the current folder).
    regions : list of str, optional
        Region names, slugs or INSEE codes (default: every region in the data).
    jobs : int, default 2
        Regions rendered at once (one kernel each).
    definition, lang, min_cell, period
        Positive-exit definition (``projet``), ``fr``/``en``, smallest published
        count (11), report period (default: the span of cohort years).
    progress, template, timeout, kernel_name
        A progress bar; the notebook template, the per-cell timeout in seconds, a Jupyter
        kernel to use instead of the engine's.
    engine : {"portable", "fast"}, optional
        How fresh kernels start (:mod:`toolkit.reports.engine`): ``portable``
        everywhere, ``fast`` on Linux (falls back to ``portable`` if it fails).
        Default: ``fast`` where supported. ``fast_kernels``: its former name.
    keep_work : bool, default False
        Keep the private work folder (national tables before suppression,
        executed notebooks) for inspection: ``BatchResult.work_dir``.
    comparison : path, optional
        An impact design (raw contract with a ``groupe`` column): each report
        then has an impact section.
    mapping, situations : path, optional
        The school's mapping file and the situations table of a two-table export.
    pdf : bool, default False
        Also print every page to an A4 PDF beside it (:func:`.pdf.write_pdfs`, Chromium through
        Playwright). Without Chromium the HTML pages are still written and ``pdf_error`` says
        what to install.

    Returns
    -------
    BatchResult

    Raises
    ------
    ReportError
        Bad parameters, an unusable ``out`` (a file, read-only, full disk),
        another batch writing into ``out``.
    BatchInterrupted
        SIGINT or SIGTERM, once every kernel is stopped and the work folder
        removed; the pages already published stay, ``manifest.json`` says which.
    """
    from ..i18n import check_lang

    with use_language(check_lang(lang or "fr")) as lang:
        min_cell = DEFAULT_MIN_CELL if min_cell is None else int(min_cell)
        if min_cell < 1:
            raise ReportError(_("min_cell doit être au moins 1 (reçu : {n}).", n=min_cell))
        if fast_kernels is not None and engine is None:
            engine = "fast" if fast_kernels else "portable"
        opts = {"engine": check_engine(engine), "timeout": timeout, "comparison": comparison, "pdf": bool(pdf)}
        opts["sources"] = {k: v for k, v in (("mapping", mapping), ("situations", situations)) if v is not None}
        opts["template"] = Path(template or REPORT_TEMPLATE).resolve()
        opts["declared"] = check_parameters_tag(opts["template"])
        out_path = Path(os.path.abspath(os.path.expanduser(str(out if out is not None else REPORTS_DIR))))
        opts["created"] = [] if out_path.exists() else [out_path]  # folders this run made: removed if left empty
        out_root = prepare_out(out_path)
        args = (data, out_root, regions, jobs, definition, lang, min_cell, period, progress)
        try:
            return _locked_build(args, keep_work, kernel_name, opts)
        except BaseException:
            with shielded():
                _remove_empty(opts["created"])
            raise


def _locked_build(args: tuple, keep_work: bool, kernel_name: str | None, opts: dict) -> BatchResult:
    """The batch, holding the reports folder's lock, with its private work folder and
    its engine; both are removed on every way out (signals raise, so ``finally`` runs)."""
    data, out_root, *rest = args
    with stop_on_signals(), BatchLock(out_root):
        workspace = Workspace(keep=keep_work)
        zygote = None
        try:
            if kernel_name is None:  # the zygote preloads during the national work
                zygote = _start_engine(opts["engine"], workspace.subdir("kernels"))
            opts["zygote"] = zygote
            opts["kernel_name"] = kernel_name or (zygote.kernel_name if zygote else KERNEL_NAME)
            return _build(data, out_root, workspace, *rest, **opts)
        finally:
            with shielded():
                if zygote is not None:
                    zygote.stop()
                workspace.remove()


def _build(data, out_root, workspace, regions, jobs, definition, lang, min_cell, period, progress, **opts):
    t0 = time.perf_counter()
    try:
        national = _content_national(
            data, workspace.path, definition=definition, lang=lang, min_cell=min_cell, period=period,
            comparison=opts["comparison"], **opts["sources"],
        )  # fmt: skip
    except OSError as exc:  # the private work folder: full or unwritable temporary folder
        raise path_error(exc, workspace.path) from exc
    t_national = time.perf_counter() - t0
    if not (out_root / national.period).exists():
        opts["created"].append(out_root / national.period)
    out_dir = ensure_dir(out_root / national.period)
    _tidy_out(out_root, out_dir)
    names = resolve_regions(regions, national.regions)
    comparison = opts["comparison"]
    parameters = {
        "work_dir": str(national.work_dir),
        "data_path": national.input_info.get("name", ""),
        "period": national.period,
        "definition": national.definition,
        "lang": lang,
        "min_cell": int(min_cell),
        "comparison_path": (str(_content_impact(comparison, national)) if comparison else ""),
    }
    batch = _region_jobs(names, national, out_dir, national.period, lang, parameters, opts["declared"])
    recorded = {
        "regions": names,
        "jobs": jobs,
        "definition": national.definition,
        "lang": lang,
        "min_cell": int(min_cell),
        "engine": opts["engine"],
        "kernel": opts["kernel_name"],
        "cell_timeout_s": opts["timeout"],
        "comparison": str(comparison) if comparison else None,
        **{k: str(v) for k, v in opts["sources"].items()},
    }
    t1 = time.perf_counter()
    opts["progress"] = progress
    figure: list[str] = []
    collected: dict[str, RegionResult] = {}
    try:
        results = run_batch(
            opts["template"], batch, workers=jobs, kernel_name=opts["kernel_name"], timeout=opts["timeout"],
            progress=progress, collected=collected,
            while_running=lambda: figure.append(_content_index_figure(national, lang)),
        )  # fmt: skip
    except KeyboardInterrupt:
        with shielded():
            interrupted_manifest(out_dir, names, batch, collected, recorded, national)
        raise
    timings = {"national": round(t_national, 3), "regions": round(time.perf_counter() - t1, 3)}
    return _finish(national, results, out_dir, workspace, recorded, timings, figure, t0, opts)


def _finish(national, results, out_dir, workspace, recorded, timings, figure, t0, opts) -> BatchResult:
    """The index page and the manifest, once every region has ended."""
    zygote = opts["zygote"]
    if zygote is not None and zygote.error:  # the fast engine fell back: said in the manifest
        recorded["engine_fallback"] = zygote.error
    alerts = national.meta.get("alerts", {})
    for result in results:  # each region's alerts go in manifest.json
        result.alerts = [{"code": a["code"], "message": a["message"]} for a in alerts.get(result.region, [])]
        if result.ok:  # the ESF+ CSV beside the page, hidden cells as on the page
            from .esf_content import write_region_esf_csv

            write_region_esf_csv(national, result.region, out_dir)
        if not workspace.keep:  # the executed notebooks go with the private work folder
            result.notebook = ""
    lang, period = recorded["lang"], national.period
    index = out_dir / "index.html"
    write_atomic(index, _content_index_page(national, results, lang, figure[0] if figure else None))
    timings["total"] = round(time.perf_counter() - t0, 3)
    manifest = write_manifest(
        out_dir / "manifest.json", period=period, parameters=recorded, results=results,
        input_info=national.input_info, template=opts["template"], timings=timings, index=index,
        disclosure=national.content.audit,  # the audit gate's summary (cells, hidden, intervals, seconds)
    )  # fmt: skip
    batch = BatchResult(
        out_dir=out_dir, period=period, regions=results, index=index, manifest=manifest, timings=timings,
        engine=opts["engine"], work_dir=workspace.path if workspace.keep else None,
    )  # fmt: skip
    if opts["pdf"]:  # regions, then the index; without Chromium the HTML stays and pdf_error says why
        pages = [Path(r.html) for r in results if r.ok and r.html] + [index]
        batch.pdfs, batch.pdf_error, batch.timings["pdf"] = print_pages(pages, progress=opts["progress"])
    return batch


def _remove_empty(folders: list[Path]) -> None:
    """After a failed run: remove the folders it created that hold nothing (the reports folder
    counts as empty when only its lock file is left), deepest first."""
    from .workspace import LOCK_NAME

    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            if {p.name for p in folder.iterdir()} <= {LOCK_NAME}:
                (folder / LOCK_NAME).unlink(missing_ok=True)
                folder.rmdir()
        except OSError:
            pass
