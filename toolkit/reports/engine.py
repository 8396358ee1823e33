"""Running the region notebooks: one fresh kernel per region, several at once,
stoppable at any moment.

Design. A kernel is already a separate process, so the batch needs no
process pool: worker *threads* in the calling process each drive one
papermill execution at a time (papermill -> nbclient -> jupyter_client), and
the kernels do the work in parallel. Nothing here forks the Python
interpreter: kernels are started by jupyter_client (``subprocess`` with
``exec``, or ``CreateProcess`` on Windows), so the same code runs on Linux,
macOS and Windows, and a batch works unchanged under the ``spawn`` start
method. Two engines choose how kernels start:

* ``portable``: the kernelspec ``python3`` with jupyter_client's default
  ``LocalProvisioner`` (a new interpreter per region, everywhere);
* ``fast`` (Linux): a kernelspec whose ``metadata.kernel_provisioner`` names
  :class:`toolkit.reports.kernels.ZygoteProvisioner`, which forks each new
  kernel from a pre-imported process and falls back to the portable launch
  when that process is not ready in time or has failed.

Interrupts. Every kernel manager registers itself in a :class:`KernelRegistry`
as soon as its kernel is launched. When the batch is interrupted (Ctrl-C,
SIGTERM, any exception in the caller), :meth:`KernelRegistry.kill_all` kills
every kernel at once and refuses any kernel launched afterwards; the worker
threads are daemons that take no new job once the batch is stopped.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReportError
from ..i18n import _

__all__ = [
    "ENGINES",
    "KERNEL_NAME",
    "RegionJob",
    "RegionResult",
    "KernelRegistry",
    "default_engine",
    "check_engine",
    "run_jobs",
    "SINGLE_THREAD_ENV",
    "BatchInterrupted",
    "stop_on_signals",
    "shielded",
    "kernel_env",
]

ENGINES = ("portable", "fast")
KERNEL_NAME = "python3"  # jupyter_client runs "python" kernelspecs with sys.executable
KERNEL_START_TIMEOUT_S = 60
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
    "MPLBACKEND": "agg",
}


def default_engine() -> str:
    """``fast`` where kernels can be forked from a pre-imported process (Linux), else ``portable``."""
    return "fast" if sys.platform.startswith("linux") else "portable"


def check_engine(engine: str | None) -> str:
    """The engine's name, the platform default for ``None``, or a clear error."""
    if engine is None:
        return default_engine()
    if engine not in ENGINES:
        raise ReportError(_("Moteur inconnu : {engine!r} (« portable » ou « fast »).", engine=engine))
    if engine == "fast" and not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return "portable"  # forking after numpy and matplotlib are imported is Linux-only here
    return engine


class BatchInterrupted(KeyboardInterrupt):
    """The batch was stopped by a signal (SIGINT or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------
# Signals and the kernels' environment
# --------------------------------------------------------------------------
@contextmanager
def stop_on_signals():
    """SIGINT and SIGTERM raise :class:`BatchInterrupted` in the main thread, so
    that every ``finally`` runs (kernels killed, work folder removed).

    A signal that lands inside an import or a C extension can come out as
    another exception (``ImportError: initialization failed``): once a signal
    has been received, whatever ends the block is reported as the interrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def interrupt(signum, _frame):
        received.append(signum)
        raise BatchInterrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except BatchInterrupted:
        raise
    except BaseException as exc:
        if received:
            raise BatchInterrupted(received[0]) from exc
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def shielded():
    """A second Ctrl-C (or SIGTERM) must not cut the clean-up short: both wait until it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _f: pending.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            raise BatchInterrupted(pending[0])


@contextmanager
def kernel_env():
    """Kernels inherit one BLAS thread each, no warnings, the agg backend (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    os.environ.update(SINGLE_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------
# Jobs and results
# --------------------------------------------------------------------------
@dataclass
class RegionJob:
    """One notebook execution: what to run, with which parameters, and where."""

    key: str  # file-name slug
    label: str  # region name for people
    parameters: dict
    notebook: Path  # executed notebook (in the private work folder)
    html: Path  # published page
    cwd: Path  # kernel working directory
    lang: str = "fr"
    title: str = ""


@dataclass
class RegionResult:
    """Outcome of one region.

    ``status`` is ``"ok"``, ``"failed"`` or ``"interrupted"``; ``error`` says
    why; ``html`` and ``sha256`` are set once the page is published.
    ``notebook`` is the executed notebook in the private work folder (it
    exists after the batch only with ``keep_work``).
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


# --------------------------------------------------------------------------
# Kernels of one batch
# --------------------------------------------------------------------------
class KernelRegistry:
    """The kernels one batch has started, so that an interrupt can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: set = set()
        self.stopped = False

    def add(self, km) -> None:
        with self._lock:
            if not self.stopped:
                self._managers.add(km)
                return
        kill_kernel(km)  # launched after the batch was stopped

    def discard(self, km) -> None:
        with self._lock:
            self._managers.discard(km)

    def kill_all(self) -> int:
        """Stop the batch: kill every kernel now, refuse new ones. Returns how many were killed."""
        with self._lock:
            self.stopped = True
            managers, self._managers = list(self._managers), set()
        for km in managers:
            kill_kernel(km)
        return len(managers)

    def manager_class(self):
        """An ``AsyncKernelManager`` subclass that registers its kernels here
        (papermill passes it to nbclient as ``kernel_manager_class``)."""
        from jupyter_client.manager import AsyncKernelManager

        registry = self

        class BatchKernelManager(AsyncKernelManager):
            async def _launch_kernel(self, kernel_cmd, **kw):
                if registry.stopped:
                    raise KeyboardInterrupt
                await AsyncKernelManager._launch_kernel(self, kernel_cmd, **kw)
                registry.add(self)

            async def cleanup_resources(self, restart: bool = False) -> None:
                registry.discard(self)
                await AsyncKernelManager.cleanup_resources(self, restart=restart)

        return BatchKernelManager


def kill_kernel(km) -> None:
    """Kill a kernel at once, from any thread (SIGKILL to its process group, or its process)."""
    provisioner = getattr(km, "provisioner", None)
    if provisioner is None:
        return
    kill_now = getattr(provisioner, "kill_now", None)
    if kill_now is not None:
        kill_now()
        return
    pgid, process = getattr(provisioner, "pgid", None), getattr(provisioner, "process", None)
    try:
        if pgid and hasattr(os, "killpg"):
            os.killpg(pgid, signal.SIGKILL)
        elif process is not None:
            process.kill()
    except OSError:
        pass  # already gone


# --------------------------------------------------------------------------
# Running the jobs
# --------------------------------------------------------------------------
def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    text = f"{ename}: {evalue}".strip()
    if not isinstance(exc, ReportError) and not hasattr(exc, "ename"):
        text += " | " + traceback.format_exc(limit=3).strip().splitlines()[-1]
    return text


def _execute(job: RegionJob, template: str, kernel_name: str, timeout: float, km_class) -> None:
    import papermill as pm

    job.cwd.mkdir(parents=True, exist_ok=True)
    job.notebook.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        template,
        str(job.notebook),
        parameters=job.parameters,
        kernel_name=kernel_name,
        # Not papermill's ``cwd``: it changes the working folder of the whole process,
        # which threads share. nbclient starts the kernel in ``resources.metadata.path``.
        resources={"metadata": {"path": str(job.cwd)}},
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        start_timeout=KERNEL_START_TIMEOUT_S,
        execution_timeout=timeout,
        kernel_manager_class=km_class,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel chatter on the console
    )


def _worker(tasks: queue.Queue, done: queue.Queue, run: Callable[[RegionJob], RegionResult], registry) -> None:
    while not registry.stopped:
        try:
            job = tasks.get_nowait()
        except queue.Empty:
            return
        done.put(run(job))


def run_jobs(
    template: str,
    jobs: Sequence[RegionJob],
    *,
    workers: int,
    kernel_name: str,
    timeout: float,
    render: Callable[[RegionJob], bytes],
    registry: KernelRegistry | None = None,
) -> Iterator[tuple[RegionResult, bytes | None]]:
    """Execute ``template`` for every job, ``workers`` at a time; yield each
    result with its page (``render(job)``, or ``None`` on failure) as it ends.

    Runs in the caller's process: worker threads, one kernel process each.
    The caller publishes the pages. If the caller stops iterating (an
    interrupt, an error), every kernel is killed and no new one starts.
    """
    if workers < 1:
        raise ReportError(_("jobs doit être au moins 1 (reçu : {n}).", n=workers))
    registry = registry or KernelRegistry()
    km_class = registry.manager_class()
    import logging

    # Everything the worker threads import is imported here first, in one thread: a module that a
    # thread is still importing is visible, half-initialised, to the others through sys.modules
    # (matplotlib, saving the index figure meanwhile, probes IPython that way and failed).
    import IPython  # noqa: F401
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    logging.getLogger("papermill").setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)

    def run(job: RegionJob) -> tuple[RegionResult, bytes | None]:
        started = time.perf_counter()
        result = RegionResult(
            region=job.label, slug=job.key, status="failed", notebook=str(job.notebook), kernel=kernel_name
        )
        page = None
        try:
            _execute(job, template, kernel_name, timeout, km_class)
            page = render(job)
            result.status = "ok"
        except BaseException as exc:  # one region's failure must not stop the others
            result.error = _error_text(exc)
            if registry.stopped:
                result.status = "interrupted"
        result.seconds = round(time.perf_counter() - started, 3)
        return result, page

    tasks: queue.Queue = queue.Queue()
    for job in jobs:
        tasks.put(job)
    done: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_worker, args=(tasks, done, run, registry), name=f"e2c-region-{i}", daemon=True)
        for i in range(min(workers, len(jobs)))
    ]
    for thread in threads:  # started now: the caller may do other work before it collects
        thread.start()
    return _collect(done, threads, len(jobs), registry)


def _collect(done: queue.Queue, threads: list, n: int, registry: KernelRegistry):
    finished = 0
    try:
        while finished < n:
            try:
                item = done.get(timeout=0.2)
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and done.empty():
                    raise ReportError(_("Les exécutions des régions se sont arrêtées sans résultat.")) from None
                continue
            finished += 1
            yield item
    finally:
        if finished < n:
            registry.kill_all()  # the threads end on their own once their kernel is dead: a short grace only
            deadline = time.monotonic() + 0.5
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
