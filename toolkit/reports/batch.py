"""Per-region funder reports: national work once, then one papermill run per
region in a process pool, each converted in-process to an offline HTML page.

Layout of a batch (``out`` defaults to ``config.REPORTS_DIR``)::

    <out>/<period>/<region-slug>.html   one page per region
    <out>/<period>/index.html           national summary, regions compared, links
    <out>/<period>/manifest.json        parameters, input SHA-256, checksums, timings, status
    <out>/_work/<period>/national/      national results the region notebooks read
    <out>/_work/<period>/<slug>/        each region's working directory and executed notebook

The work folder sits beside the published folder, not in it: the period folder
holds only what may be sent to a funder.

Speed (see ``benchmarks/bench_reports.py`` and ``/work/shared/papermill-notes.md``):

* the process pool is forked first, and its workers import papermill and
  nbconvert while the parent does the national work;
* each worker runs with one BLAS thread so two workers do not fight over the cores;
* each region gets a fresh kernel (no state carried over between regions: a
  privacy rule), started with the interpreter running the toolkit;
* HTML is produced in the worker with nbconvert's ``HTMLExporter`` and the
  ``templates/e2c_html`` template (no code, no prompts, no stderr, no script,
  nothing fetched from the network).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..config import DEFAULT_MIN_CELL, REPORTS_DIR, TEMPLATES_DIR
from ..errors import ReportError

__all__ = [
    "REPORT_TEMPLATE",
    "HTML_TEMPLATE",
    "KERNEL_NAME",
    "RegionJob",
    "RegionResult",
    "BatchResult",
    "check_parameters_tag",
    "check_offline_html",
    "notebook_to_html",
    "html_page",
    "start_pool",
    "stop_pool",
    "run_batch",
    "write_manifest",
    "resolve_regions",
    "build_reports",
]

REPORT_TEMPLATE = TEMPLATES_DIR / "region_report.ipynb"
HTML_TEMPLATE = "e2c_html"  # folder in templates/
KERNEL_NAME = "python3"  # jupyter_client runs "python" kernelspecs with sys.executable
CELL_TIMEOUT_S = 300
KERNEL_START_TIMEOUT_S = 60
_SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
    "MPLBACKEND": "agg",
}


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass
class RegionJob:
    """One notebook execution: what to run, with which parameters, and where."""

    key: str  # file-name slug
    label: str  # region name for people
    parameters: dict
    notebook: Path  # executed notebook
    html: Path  # published page
    cwd: Path  # kernel working directory
    lang: str = "fr"
    title: str = ""


@dataclass
class RegionResult:
    """Outcome of one region.

    ``status`` is ``"ok"`` or ``"failed"``; ``error`` says why it failed;
    ``notebook`` is the executed notebook (kept for inspection either way);
    ``html`` and ``sha256`` are set when the page was written.
    """

    region: str
    slug: str
    status: str
    notebook: str
    html: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    seconds: float = 0.0
    error: str | None = None
    kernel: str | None = None
    alerts: list = field(default_factory=list)  # unknown-outcome alerts of the region ({"code", "message"})

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class BatchResult:
    """A batch of reports: where they are and how each region went."""

    out_dir: Path
    period: str
    regions: list[RegionResult]
    index: Path | None = None
    manifest: Path | None = None
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.regions)

    @property
    def failed(self) -> list[RegionResult]:
        return [r for r in self.regions if not r.ok]


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------
def check_parameters_tag(template: str | os.PathLike) -> list[str]:
    """Make sure the template has exactly one ``parameters``-tagged code cell.

    Without it papermill only logs a message and injects the values at the top,
    where the defaults then overwrite them: a report would silently show
    another region. Returns the names assigned in the parameters cell.
    """
    path = Path(template)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} : modèle de rapport illisible ({exc}).") from exc
    tagged = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1 or tagged[0].get("cell_type") != "code":
        raise ReportError(
            f"{path} : le modèle doit avoir exactement une cellule de code étiquetée « parameters » "
            f"(trouvé : {len(tagged)}). Sans elle, papermill écrirait les paramètres au mauvais endroit."
        )
    source = tagged[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    return re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", source, flags=re.MULTILINE)


_NETWORK = re.compile(
    r"<script\b|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//|"
    r"<(?:img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|data)\s*=\s*[\"']?(?:https?:)?//|"
    r"@import|url\(\s*[\"']?(?:https?:)?//",
    flags=re.IGNORECASE,
)


def check_offline_html(html: str, where: str = "") -> None:
    """Raise ReportError if the page runs a script or loads anything from the network."""
    match = _NETWORK.search(html)
    if match:
        raise ReportError(f"{where} : la page chargerait une ressource externe ou un script ({match.group(0)!r}).")


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------
_EXPORTER = None


def _exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(
            template_name=HTML_TEMPLATE,
            extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    return _EXPORTER


def _render(nb, *, lang: str, title: str, where: str) -> str:
    resources = {"e2c": {"lang": lang, "title": title, "version": __version__}}
    html, _ = _exporter().from_notebook_node(nb, resources=resources)
    check_offline_html(html, where)
    return html


def notebook_to_html(
    notebook: str | os.PathLike, html_path: str | os.PathLike, *, lang: str = "fr", title: str = ""
) -> str:
    """Convert an executed notebook to an offline report page; returns its SHA-256."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    html = _render(nb, lang=lang, title=title, where=str(notebook))
    data = html.encode("utf-8")
    Path(html_path).write_bytes(data)
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


# --------------------------------------------------------------------------
# Running notebooks
# --------------------------------------------------------------------------
_FAST_KERNEL: tuple[str, str] | None = None  # (kernel name, zygote socket) in each pool worker


def _init_worker(fast_kernel: tuple[str, str] | None = None) -> None:
    """Pool initialiser: one BLAS thread per kernel, the heavy imports done
    once per worker (overlapping the parent's national work), and the name of
    the zygote's kernelspec when fast kernels are on."""
    global _FAST_KERNEL
    os.environ.update(_SINGLE_THREAD_ENV)
    _FAST_KERNEL = fast_kernel
    import logging

    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    logging.getLogger("papermill").setLevel(logging.WARNING)
    _exporter()


def _fast_kernel_ready(timeout: float = 120.0) -> str | None:
    """The zygote's kernel name once its socket is up (it binds after preloading)."""
    if _FAST_KERNEL is None:
        return None
    name, sock = _FAST_KERNEL
    deadline = time.monotonic() + timeout
    while not os.path.exists(sock):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return name


def _run_one(job: RegionJob, template: str, kernel_name: str, timeout: float) -> RegionResult:
    import papermill as pm

    started = time.perf_counter()
    job.cwd.mkdir(parents=True, exist_ok=True)
    job.notebook.parent.mkdir(parents=True, exist_ok=True)
    result = RegionResult(region=job.label, slug=job.key, status="failed", notebook=str(job.notebook))
    if kernel_name == KERNEL_NAME and (fast := _fast_kernel_ready()):
        kernel_name = fast  # same interpreter, modules pre-imported, still a new process per region
    result.kernel = kernel_name
    try:
        pm.execute_notebook(
            template,
            str(job.notebook),
            parameters=job.parameters,
            kernel_name=kernel_name,
            cwd=str(job.cwd),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            start_timeout=KERNEL_START_TIMEOUT_S,
            execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel chatter on the console
        )
        sha = notebook_to_html(job.notebook, job.html, lang=job.lang, title=job.title or job.label)
        result.status = "ok"
        result.html = str(job.html)
        result.sha256 = sha
        result.bytes = job.html.stat().st_size
    except Exception as exc:  # one region's failure must not stop the others
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = getattr(exc, "evalue", str(exc))
        result.error = f"{ename}: {evalue}".strip()
        if not isinstance(exc, (ReportError,)) and not hasattr(exc, "ename"):
            result.error += " | " + traceback.format_exc(limit=3).strip().splitlines()[-1]
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _run_star(args) -> RegionResult:
    return _run_one(*args)


def start_pool(jobs: int = 2, fast_kernels: bool = True):
    """Fork the worker pool now, before any kernel starts (papermill pitfall 9).

    With ``fast_kernels``, one zygote (:mod:`toolkit._kernel_zygote`) starts
    first and pre-imports the report's modules while the caller does other
    work; every worker forks its regions' kernels from it. Stop both with
    :func:`stop_pool`.
    """
    if jobs < 1:
        raise ReportError(f"jobs doit être au moins 1 (reçu : {jobs}).")
    zygote = None
    if fast_kernels:
        from .._kernel_zygote import Zygote

        zygote = Zygote(env=_SINGLE_THREAD_ENV)
        zygote.register()  # JUPYTER_PATH, inherited by the workers
    context = multiprocessing.get_context("fork")
    fast = (zygote.kernel_name, zygote.socket) if zygote else None
    pool = context.Pool(processes=jobs, initializer=_init_worker, initargs=(fast,))
    pool.e2c_zygote = zygote
    return pool


def stop_pool(pool) -> None:
    """Close the pool, wait for its workers, stop its zygote."""
    pool.close()
    pool.join()
    zygote = getattr(pool, "e2c_zygote", None)
    if zygote is not None:
        zygote.stop()


def run_batch(
    template: str | os.PathLike,
    jobs: Sequence[RegionJob],
    *,
    pool=None,
    workers: int = 2,
    kernel_name: str = KERNEL_NAME,
    timeout: float = CELL_TIMEOUT_S,
    progress: bool = True,
    description: str = "Rapports",
    fast_kernels: bool = True,
    while_running=None,
) -> list[RegionResult]:
    """Execute ``template`` once per job, in parallel, and convert each to HTML.

    A failing job is returned with ``status="failed"``, its error and the path
    of its executed notebook; the other jobs go on. Results come back in the
    order of ``jobs``. ``while_running``: a callable run in this process once
    the jobs are handed to the pool (work that does not need their results).
    """
    template = str(Path(template).resolve())
    check_parameters_tag(template)
    own_pool = pool is None
    pool = pool or start_pool(workers, fast_kernels)
    tasks = [(job, template, kernel_name, timeout) for job in jobs]
    results: dict[str, RegionResult] = {}
    try:
        pending = pool.imap_unordered(_run_star, tasks)
        if while_running is not None:
            while_running()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(tasks), desc=description, unit="région")
        for res in pending:
            results[res.slug] = res
            if bar is not None:
                bar.set_postfix_str(f"{res.region} : {'ok' if res.ok else 'échec'}")
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if own_pool:
            stop_pool(pool)
    return [results[job.key] for job in jobs]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    path: str | os.PathLike,
    *,
    period: str,
    parameters: Mapping,
    results: Iterable[RegionResult],
    input_info: Mapping | None = None,
    template: str | os.PathLike | None = None,
    timings: Mapping | None = None,
    index: str | os.PathLike | None = None,
) -> Path:
    """Write ``manifest.json``: parameters, input SHA-256, toolkit version,
    template checksum, checksum/timing/status of every page."""
    path = Path(path)
    base = path.parent
    regions = []
    for r in results:
        entry = asdict(r)
        if r.html:
            entry["html"] = os.path.relpath(r.html, base)
        regions.append(entry)
    manifest = {
        "toolkit_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": period,
        "parameters": dict(parameters),
        "input": dict(input_info or {}),
        "template": ({"path": str(template), "sha256": _sha256_file(Path(template))} if template else None),
        "timings_s": dict(timings or {}),
        "status": "ok" if all(r["status"] == "ok" for r in regions) else "failed",
        "n_ok": sum(r["status"] == "ok" for r in regions),
        "n_failed": sum(r["status"] != "ok" for r in regions),
        "regions": regions,
        "index": ({"path": os.path.relpath(index, base), "sha256": _sha256_file(Path(index))} if index else None),
    }
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# The national batch
# --------------------------------------------------------------------------
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
    kernel_name: str = KERNEL_NAME,
    timeout: float = CELL_TIMEOUT_S,
    comparison: str | os.PathLike | None = None,
    fast_kernels: bool = True,
    mapping=None,
    situations=None,
) -> BatchResult:
    """Make every region's funder report, the index page and the manifest.

    Parameters
    ----------
    data : path or DataFrame, optional
        A raw export (CSV/XLSX/Parquet) or a raw-contract frame. Default: the
        one export in ``data/raw/``, else the synthetic national default.
    out : path, optional
        Reports folder (default ``config.REPORTS_DIR``).
    regions : list of str, optional
        Region names, slugs or INSEE codes (default: every region in the data).
    jobs : int, default 2
        Parallel notebook executions.
    definition : str, optional
        Positive-exit definition (``projet`` by default).
    lang : {"fr", "en"}
    min_cell : int, default 11
        Smallest published count.
    period : str, optional
        Folder name and report period (default: the span of cohort years).
    progress : bool
        Show a progress bar.
    template, kernel_name, timeout
        The notebook template, the Jupyter kernel and the per-cell timeout in
        seconds.
    keep_work : bool, default False
        Keep the national work folder (``<out>/_work/<period>/national``). By
        default it is deleted after the batch, even a failed one: its tables
        are aggregates before suppression. The executed region notebooks stay
        in ``<out>/_work/<period>/<slug>/`` (they hold only published output).
    comparison : path, optional
        An impact design (raw contract with a ``groupe`` column): each report
        then has an impact section (:func:`toolkit.impact.impact_section`).
    fast_kernels : bool, default True
        Fork each region's fresh kernel from a pre-imported zygote
        (:mod:`toolkit._kernel_zygote`) instead of starting Python and
        importing everything again; False starts ordinary ``python3`` kernels.
    mapping, situations : path, optional
        The school's mapping file and the situations table of a two-table
        export (see :mod:`toolkit.mapping_file`); ``data`` may also be the
        Parquet that ``e2c clean --out`` writes (:mod:`toolkit.cleaned_io`).

    Returns
    -------
    BatchResult
        ``out_dir`` (the period folder), ``period``, ``regions`` (one
        :class:`RegionResult` each), ``index``, ``manifest``, ``timings``.
    """
    from . import sections

    min_cell = DEFAULT_MIN_CELL if min_cell is None else int(min_cell)
    jobs = 2 if jobs is None else int(jobs)
    lang = lang or "fr"
    if min_cell < 1:
        raise ReportError(f"min_cell doit être au moins 1 (reçu : {min_cell}).")
    if lang not in ("fr", "en"):
        raise ReportError(f"Langue inconnue : {lang!r} ('fr' ou 'en').")
    template = Path(template or REPORT_TEMPLATE)
    declared = check_parameters_tag(template)
    t0 = time.perf_counter()
    pool = start_pool(jobs, fast_kernels)  # before any kernel; warms up while we do the national work
    impact_rows: Path | None = None
    national = None
    try:
        out_root = Path(out) if out is not None else REPORTS_DIR
        national = sections.prepare_national(
            data,
            out_root / "_work",
            definition=definition,
            lang=lang,
            min_cell=min_cell,
            period=period,
            mapping=mapping,
            situations=situations,
        )
        t_national = time.perf_counter() - t0
        period = national.period
        out_dir = out_root / period
        out_dir.mkdir(parents=True, exist_ok=True)
        names = resolve_regions(regions, national.regions)
        from ..schema import REGION_BY_NAME

        parameters = {
            "work_dir": str(national.work_dir),
            "data_path": national.input_info.get("name", ""),
            "period": period,
            "definition": national.definition,
            "lang": lang,
            "min_cell": int(min_cell),
            "comparison_path": (
                str(impact_rows := sections.prepare_impact(comparison, national.work_dir, national.definition))
                if comparison
                else ""
            ),
        }
        batch = []
        for name in names:
            slug = REGION_BY_NAME[name].slug
            params = {"region": name, **parameters}
            batch.append(
                RegionJob(
                    key=slug,
                    label=name,
                    parameters={k: v for k, v in params.items() if k in declared},
                    notebook=national.work_dir.parent / slug / f"{slug}.ipynb",
                    html=out_dir / f"{slug}.html",
                    cwd=national.work_dir.parent / slug,
                    lang=lang,
                    title=sections.report_title(name, period, lang),
                )
            )
        t1 = time.perf_counter()
        figure: list[str] = []
        results = run_batch(
            template,
            batch,
            pool=pool,
            kernel_name=kernel_name,
            timeout=timeout,
            progress=progress,
            description="Rapports" if lang == "fr" else "Reports",
            while_running=lambda: figure.append(sections.index_figure(national, lang)),
        )
        t_batch = time.perf_counter() - t1
    finally:
        stop_pool(pool)
        if impact_rows is not None:  # trainee-level rows: not kept, even when the batch fails
            Path(impact_rows).unlink(missing_ok=True)
        if national is not None and not keep_work:
            # The national tables are aggregates *before* suppression: load what the index needs,
            # then remove them so that nothing under `out` holds an unsuppressed small count.
            national.tables, national.sites, national.region_comparison  # noqa: B018
            shutil.rmtree(national.work_dir, ignore_errors=True)
    index = out_dir / "index.html"
    body = sections.index_body(national, results, lang=lang, figure=figure[0] if figure else None)
    index.write_text(html_page(body, lang=lang, title=sections.index_title(period, lang)), encoding="utf-8")
    timings = {
        "national": round(t_national, 3),
        "regions": round(t_batch, 3),
        "total": round(time.perf_counter() - t0, 3),
    }
    for r in results:  # each region's alerts go in manifest.json
        r.alerts = [
            {"code": a["code"], "message": a["message"]} for a in national.meta.get("alerts", {}).get(r.region, [])
        ]
    manifest = write_manifest(
        out_dir / "manifest.json",
        period=period,
        parameters={
            "regions": names,
            "jobs": jobs,
            "definition": national.definition,
            "lang": lang,
            "min_cell": int(min_cell),
            "kernel": kernel_name,
            "cell_timeout_s": timeout,
            "comparison": str(comparison) if comparison else None,
            "fast_kernels": fast_kernels,
            "mapping": str(mapping) if mapping else None,
            "situations": str(situations) if situations is not None else None,
        },
        results=results,
        input_info=national.input_info,
        template=template,
        timings=timings,
        index=index,
    )
    return BatchResult(out_dir=out_dir, period=period, regions=results, index=index, manifest=manifest, timings=timings)
