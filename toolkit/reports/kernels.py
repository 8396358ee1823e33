"""Fast fresh kernels (Linux): a jupyter_client kernel provisioner that forks
each region's new kernel from a pre-imported "zygote" process.

Why: a report kernel spends most of its life starting Python and importing
pandas, matplotlib, seaborn, scipy and the toolkit. Reusing one kernel for
several regions would save that, but state could carry over from one region
to the next (a privacy rule forbids it). A zygote gives both: it imports
everything once, never runs report code and holds no data, and each region
gets a *new process* forked from it, whose only inheritance is imported
modules.

How it plugs into Jupyter: through the supported hook for starting kernel
processes, a kernel provisioner (:class:`ZygoteProvisioner`, registered under
the entry-point group ``jupyter_client.kernel_provisioners`` in
``pyproject.toml``, and registered in-process by :meth:`Zygote.register` so
that a source checkout works without reinstalling). :class:`Zygote` writes a
kernelspec whose ``metadata.kernel_provisioner`` names it. jupyter_client
writes the connection file as usual; the provisioner asks the zygote, over a
Unix socket, to fork a kernel with that connection file, working folder and
environment.

Faults: the provisioner waits for the zygote's readiness with a timeout; a
zygote that dies or never becomes ready is reported once (its own error
output, kept in a log file, is quoted) and every kernel from then on starts
the portable way (``LocalProvisioner``), within seconds. A forked kernel
exits when the batch process that asked for it is gone.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Float, Unicode

__all__ = ["Zygote", "ZygoteProvisioner", "PROVISIONER_NAME", "serve"]

PROVISIONER_NAME = "e2c-zygote-provisioner"
_ENTRY_POINT = "toolkit.reports.kernels:ZygoteProvisioner"
_GROUP = "jupyter_client.kernel_provisioners"
READY_TIMEOUT_S = 20.0
ZYGOTE_COMMAND = ("-m", "toolkit.reports.kernels")  # run with sys.executable, then the socket path
PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "seaborn",
    "scipy.stats",
    "IPython.display",
    "ipykernel.kernelapp",
    "toolkit.reports",
    "toolkit.plots",
    "toolkit.formatting",
    "toolkit.disclosure",
    "toolkit.schema",
)
_ZYGOTES: dict[str, Zygote] = {}  # socket path -> zygote of this process
log = logging.getLogger("toolkit.reports")


# --------------------------------------------------------------------------
# The zygote process
# --------------------------------------------------------------------------
def _watch(pid: int, on_exit) -> None:
    """Call ``on_exit`` once process ``pid`` has gone (polling, daemon thread)."""

    def run():
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                on_exit()
                return
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=run, daemon=True).start()


def _warm_fonts() -> None:
    """Draw a small figure once so that glyph and font caches are inherited."""
    import toolkit.plots as plots

    plots.set_theme("fr")
    fig, ax = plots.new_figure(figsize=(2, 1))
    ax.set_title("Éé 0,1 %")
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend()
    fig.savefig(os.devnull, format="png")


def _child(request: dict, server: socket.socket) -> None:
    """In the forked process: become a fresh IPython kernel (never returns)."""
    try:
        server.close()
        os.setsid()  # its own process group, as jupyter_client gives a kernel
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request.get("cwd") or os.getcwd())
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        _watch(int(request["watch"]), lambda: os._exit(1))  # the batch is gone: so is its kernel
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=list(request["argv"]))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(0)


def serve(path: str) -> None:
    """Run the zygote: preload, then fork one kernel per request on the socket ``path``.

    Errors go to stderr (the batch keeps them in a log file and quotes them).
    """
    import matplotlib

    matplotlib.use("agg")
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_fonts()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped at once
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    server.listen(16)
    os.rename(path + ".tmp", path)  # the socket appears only when ready to serve
    _watch(os.getppid(), lambda: os._exit(0))  # the batch that started us is gone
    while True:
        conn, _ = server.accept()
        with conn:
            line = conn.makefile("r", encoding="utf-8").readline()
            request = json.loads(line) if line else {}
            if request.get("stop") or not request:
                return
            pid = os.fork()
            if pid == 0:
                conn.close()
                _child(request, server)
            conn.sendall((json.dumps({"pid": pid}) + "\n").encode("utf-8"))


def _short_private_dir() -> str:
    """A new private folder (mode 0700) whose path leaves room for a Unix socket name
    (at most 107 bytes on Linux): the temporary folder, else ``/tmp``."""
    for base in (None, "/tmp"):
        try:
            path = tempfile.mkdtemp(prefix="e2c-z-", dir=base)
        except OSError:
            continue
        if len(os.fsencode(path)) <= 80 or base == "/tmp":
            return path
        os.rmdir(path)
    return tempfile.mkdtemp(prefix="e2c-z-")  # too long: the zygote will fail to bind, and say so


class Zygote:
    """A zygote process, its kernelspec and its log, in ``folder`` (one per batch).

    Start it early (it preloads while the batch does its national work);
    :attr:`kernel_name` is the kernelspec to run notebooks with.
    """

    def __init__(self, folder: str | os.PathLike, env: dict | None = None, ready_timeout: float | None = None):
        # ``folder``: kernelspec and log; the socket lives in a short private folder of its own
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._socket_dir = _short_private_dir()
        self.socket = os.path.join(self._socket_dir, "zygote.sock")
        self.log_path = self.folder / "zygote.log"
        self.kernel_name = f"e2c-fast-{os.getpid()}-{id(self) & 0xFFFFFF:06x}"
        self.error: str | None = None
        self.forks = 0
        self._lock = threading.Lock()
        self._jupyter_path: str | None = None
        ready_timeout = READY_TIMEOUT_S if ready_timeout is None else ready_timeout
        spec_dir = self.folder / "kernels" / self.kernel_name
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "E2C (fast fresh kernel)",
            "language": "python",
            "metadata": {
                "kernel_provisioner": {
                    "provisioner_name": PROVISIONER_NAME,
                    "config": {"socket": self.socket, "ready_timeout": ready_timeout},
                }
            },
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, *ZYGOTE_COMMAND, self.socket],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # a terminal's Ctrl-C is the batch's to handle
            )
        _ZYGOTES[self.socket] = self

    # -- readiness and faults ------------------------------------------------
    def wait_ready(self, timeout: float) -> bool:
        """True once the zygote serves; False (and :attr:`error` set) if it died or is not ready in time."""
        deadline = time.monotonic() + timeout
        while True:
            if self.error is not None:
                return False
            if os.path.exists(self.socket):
                return True
            if self.process.poll() is not None:
                self.fail(f"the zygote exited with status {self.process.returncode} while preloading")
                return False
            if time.monotonic() > deadline:
                self.fail(f"the zygote was not ready after {timeout:g} s")
                return False
            time.sleep(0.02)

    def fail(self, reason: str) -> None:
        """Give up on the zygote (once): say why, with its own error output, and stop it."""
        with self._lock:
            if self.error is not None:
                return
            tail = ""
            try:
                tail = self.log_path.read_text(encoding="utf-8", errors="replace").strip()[-1500:]
            except OSError:
                pass
            self.error = reason + (f": {tail}" if tail else "")
        log.warning("fast kernels unavailable, using the portable path: %s", self.error)
        if self.process.poll() is None:
            self.process.kill()

    def fork(self, argv: list[str], cwd: str | None, env: dict | None) -> int:
        """Ask the zygote for a new kernel; its process id."""
        request = {"argv": argv, "cwd": cwd, "env": dict(env or os.environ), "watch": os.getpid()}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(self.socket)
            conn.sendall((json.dumps(request) + "\n").encode("utf-8"))
            reply = conn.makefile("r", encoding="utf-8").readline()
        pid = int(json.loads(reply)["pid"])
        self.forks += 1
        return pid

    # -- registration ----------------------------------------------------------
    def register(self) -> None:
        """Make the kernelspec and the provisioner visible to jupyter_client in this process."""
        from importlib.metadata import EntryPoint

        from jupyter_client.provisioning.factory import KernelProvisionerFactory

        factory = KernelProvisionerFactory.instance()
        if PROVISIONER_NAME not in factory.provisioners:  # source checkout without reinstall
            factory.provisioners[PROVISIONER_NAME] = EntryPoint(PROVISIONER_NAME, _ENTRY_POINT, _GROUP)
        self._jupyter_path = os.environ.get("JUPYTER_PATH")
        parts = [str(self.folder), *(p for p in (self._jupyter_path or "").split(os.pathsep) if p)]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(parts)

    def stop(self) -> None:
        """Stop the zygote and take its kernelspec off ``JUPYTER_PATH`` (the folder is the caller's)."""
        _ZYGOTES.pop(self.socket, None)
        if self._jupyter_path is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = self._jupyter_path
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        shutil.rmtree(self._socket_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# The provisioner
# --------------------------------------------------------------------------
class ZygoteProvisioner(LocalProvisioner):
    """Starts a kernel by forking it from the batch's zygote; the portable
    ``LocalProvisioner`` launch when the zygote is missing, failed or slow."""

    socket = Unicode("", config=True, help="Unix socket of the zygote to fork kernels from.")
    ready_timeout = Float(READY_TIMEOUT_S, config=True, help="Seconds to wait for the zygote's readiness.")
    forked_pid: int | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        zygote = _ZYGOTES.get(self.socket)
        if zygote is not None and cmd[1:3] == ["-m", "ipykernel_launcher"]:
            if await asyncio.to_thread(zygote.wait_ready, self.ready_timeout):
                try:
                    pid = await asyncio.to_thread(zygote.fork, cmd[3:], str(kwargs.get("cwd") or ""), kwargs.get("env"))
                except (OSError, ValueError, KeyError) as exc:
                    zygote.fail(f"the zygote did not fork a kernel ({exc})")
                else:
                    self.forked_pid = self.pid = self.pgid = pid
                    self.cwd = kwargs.get("cwd")
                    return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    @property
    def has_process(self) -> bool:
        return self.forked_pid is not None or self.process is not None

    async def poll(self) -> int | None:
        if self.forked_pid is None:
            return await super().poll()
        try:
            os.kill(self.forked_pid, 0)
        except ProcessLookupError:
            return 0
        except PermissionError:
            pass
        return None

    async def wait(self) -> int | None:
        if self.forked_pid is None:
            return await super().wait()
        while await self.poll() is None:
            await asyncio.sleep(0.05)
        self.forked_pid = None
        return 0

    async def send_signal(self, signum: int) -> None:
        if self.forked_pid is None:
            return await super().send_signal(signum)
        try:
            os.killpg(self.forked_pid, signum)
        except OSError:
            try:
                os.kill(self.forked_pid, signum)
            except ProcessLookupError:
                pass

    async def kill(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)

    def kill_now(self) -> None:
        """Kill the kernel at once, from any thread (the batch's interrupt path)."""
        pid = self.forked_pid or self.pgid
        try:
            if pid:
                os.killpg(pid, signal.SIGKILL)
            elif self.process is not None:
                self.process.kill()
        except OSError:
            pass


if __name__ == "__main__":  # the zygote process: python -m toolkit.reports.kernels SOCKET
    serve(sys.argv[1])
