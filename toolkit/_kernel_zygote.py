"""Fast fresh kernels for the report batch: a pre-imported "zygote" process
forks one new IPython kernel per region.

Why: a report kernel spends most of its life starting Python and importing
pandas, matplotlib, seaborn, scipy and the toolkit (about 2.5 s of a ~4 s run
on the project's machine, see ``benchmarks/bench_reports.py``). Reusing one
kernel for several regions would save that, but state could carry over from
one region to the next. A zygote gives both: it imports everything once, never
runs any user code and holds no data, and each region gets a *new process*
forked from it: a fresh kernel whose only inheritance is imported modules.

How it plugs into Jupyter: a kernelspec whose command is
``toolkit/_zygote_client.py`` (stdlib only, starts in ~30 ms). jupyter_client
launches the client as if it were the kernel; the client asks the zygote over
a Unix socket to fork a kernel with the same connection file, working
directory and environment, forwards interrupts and termination to it, and
exits when it ends. The kernel watches the client and exits if the client
disappears. If the zygote cannot be reached, the client execs an ordinary
``ipykernel_launcher``, so a report never depends on this optimisation.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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
    "toolkit.reports.sections",
    "toolkit.plots",
    "toolkit.plots.funnel",
    "toolkit.formatting",
    "toolkit.disclosure",
    "toolkit.schema",
)
CLIENT = Path(__file__).with_name("_zygote_client.py")


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
    """Draw a small figure once so glyph and font caches are inherited."""
    from matplotlib.figure import Figure

    import toolkit.plots as plots

    plots.set_theme("fr")
    fig, ax = plots.new_figure(figsize=(2, 1))
    ax.set_title("Éé 0,1 %")
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend()
    fig.savefig(os.devnull, format="png")
    Figure()


def _child(request: dict) -> None:
    """In the forked process: become a fresh IPython kernel (never returns)."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request.get("cwd") or os.getcwd())
        os.environ.clear()
        os.environ.update(request.get("env", {}))
        _watch(int(request["client"]), lambda: os._exit(1))
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=list(request["argv"]))
    finally:
        os._exit(0)


def serve(path: str) -> None:
    """Run the zygote: preload, then fork one kernel per request on ``path``."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
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
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        with conn:
            line = conn.makefile("r", encoding="utf-8").readline()
            request = json.loads(line) if line else {}
            if request.get("stop") or not request:
                return
            pid = os.fork()
            if pid == 0:
                server.close()
                conn.close()
                _child(request)
            conn.sendall((json.dumps({"pid": pid}) + "\n").encode("utf-8"))


class Zygote:
    """A zygote process and the kernelspec that reaches it (one per batch)."""

    def __init__(self, env: dict | None = None, timeout: float = 120.0):
        self.folder = Path(tempfile.mkdtemp(prefix="e2c-zygote-"))
        self.socket = str(self.folder / "zygote.sock")
        self.kernel_name = f"e2c-fork-{os.getpid()}-{self.folder.name[-8:]}"
        spec_dir = self.folder / "kernels" / self.kernel_name
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, str(CLIENT), self.socket, "-f", "{connection_file}"],
            "display_name": "E2C (fast fresh kernel)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"from toolkit._kernel_zygote import serve; serve({self.socket!r})"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            text=True,
        )
        self._timeout = timeout
        self._ready = False

    def wait_ready(self) -> bool:
        """Block until the zygote has preloaded (True) or failed (False)."""
        if not self._ready and self.process.poll() is None:
            line = self.process.stdout.readline()
            self._ready = line.strip() == "ready"
        return self._ready

    def register(self) -> None:
        """Make the kernelspec visible to jupyter_client in this process."""
        paths = os.environ.get("JUPYTER_PATH", "")
        if str(self.folder) not in paths.split(os.pathsep):
            os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(self.folder), paths) if p)

    def stop(self) -> None:
        """Stop the zygote, delete its kernelspec and take it off JUPYTER_PATH."""
        paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != str(self.folder)]
        if paths:
            os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
        else:
            os.environ.pop("JUPYTER_PATH", None)
        if self.process.poll() is None:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket)
                    s.sendall(b'{"stop": true}\n')
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        for path in sorted(self.folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() or path.is_socket() else path.rmdir()
        self.folder.rmdir()
