"""The report engine under faults: the portable path never forks the
interpreter, a crashing kernel, a zygote that dies or hangs (the fast path
falls back), SIGINT and SIGTERM at several points of a batch run in a
subprocess (stopped within 5 s, no process left, nothing left on disk, a
rerun succeeds), and two batches into the same folder."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from test_batch import toy_jobs, toy_template

from toolkit.errors import ReportError
from toolkit.reports import build_reports, kernels, run_batch
from toolkit.reports import engine as engine_module

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find processes")


# --------------------------------------------------------------------------
# In-process: engines and faults
# --------------------------------------------------------------------------
def test_engine_choice():
    assert engine_module.check_engine("portable") == "portable"
    assert engine_module.check_engine(None) == engine_module.default_engine() == "fast"  # on Linux
    with pytest.raises(ReportError, match="portable"):
        engine_module.check_engine("turbo")


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_fast_engine_is_portable_off_linux(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    assert engine_module.default_engine() == "portable"
    assert engine_module.check_engine("fast") == "portable"  # asked for, but forking is unsafe or absent there


def test_portable_engine_never_forks_the_interpreter(tmp_path, monkeypatch):
    """What spawn-only systems (Windows, macOS) allow: kernels are started by exec, never by os.fork."""

    def no_fork():
        raise AssertionError("os.fork called: this would fail under the spawn start method")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(os, "forkpty", no_fork, raising=False)
    template = toy_template(tmp_path / "toy.ipynb")
    (tmp_path / "out").mkdir()
    results = run_batch(
        template, toy_jobs(tmp_path, {"a": False, "b": False, "c": False}), progress=False, engine="portable"
    )
    assert [r.status for r in results] == ["ok", "ok", "ok"], [r.error for r in results]
    pids = {Path(r.html).read_text().split('<p id="pid">')[1].split("<")[0] for r in results}
    assert len(pids) == 3 and str(os.getpid()) not in pids  # three fresh processes


@pytest.mark.parametrize("engine", ["portable", "fast"])
def test_a_crashing_kernel_fails_its_region_only(tmp_path, engine):
    template = toy_template(tmp_path / "toy.ipynb")
    (tmp_path / "out").mkdir()
    jobs = toy_jobs(tmp_path, {"alpha": False, "crash": False, "gamma": False})
    jobs[1].parameters["crash"] = True  # os._exit in a cell
    started = time.perf_counter()
    results = run_batch(template, jobs, workers=2, progress=False, timeout=60, engine=engine)
    assert time.perf_counter() - started < 60
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert "DeadKernel" in results[1].error or "died" in results[1].error, results[1].error
    assert results[1].html is None and not (tmp_path / "out" / "crash.html").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["alpha.html", "gamma.html"]


@pytest.mark.parametrize(
    ("command", "timeout", "said"),
    [
        (("-c", "import sys; sys.exit('preload failed: No module named seaborn_x')"), 20.0, "seaborn_x"),
        (("-c", "import time; time.sleep(60)"), 1.5, "not ready after 1.5 s"),
    ],
    ids=["dies", "hangs"],
)
def test_a_failing_zygote_falls_back_to_the_portable_path(tmp_path, monkeypatch, caplog, command, timeout, said):
    monkeypatch.setattr(kernels, "ZYGOTE_COMMAND", command)
    monkeypatch.setattr(kernels, "READY_TIMEOUT_S", timeout)
    template = toy_template(tmp_path / "toy.ipynb")
    (tmp_path / "out").mkdir()
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="toolkit.reports"):
        results = run_batch(template, toy_jobs(tmp_path, {"a": False, "b": False}), progress=False, engine="fast")
    elapsed = time.perf_counter() - started
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert all(r.kernel.endswith("(fallback: portable)") for r in results)
    assert said in caplog.text  # the zygote's own error, or why it was given up
    assert elapsed < timeout + 30  # seconds, not minutes per region


# --------------------------------------------------------------------------
# Signals: a batch in a subprocess
# --------------------------------------------------------------------------
TOY_BATCH = """
import json, sys
from toolkit.reports import BatchInterrupted, build_reports
from toolkit.synth import generate_export
out, template, engine, sleep = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
raw = generate_export(seed=5, trainees_per_year=300).raw
import nbformat
nb = nbformat.read(template, as_version=4)
for cell in nb.cells:
    if "parameters" in cell.metadata.get("tags", []):
        cell.source = cell.source.replace("sleep = 0.0", f"sleep = {sleep}")
nbformat.write(nb, template)
try:
    r = build_reports(raw, out=out, regions=["Bretagne", "Occitanie", "Grand Est"], template=template,
                      progress=False, engine=engine)
except BatchInterrupted as exc:  # as the command line does
    import gc
    gc.freeze()
    sys.exit(128 + exc.signum)
print(json.dumps({"ok": r.ok}))
"""


def _marked(mark: str, exclude: int) -> list[int]:
    """Processes whose environment carries ``mark`` (the batch's descendants, re-parented or not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            if mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class Batch:
    """A batch in a subprocess with a private TMPDIR and a marker in its environment."""

    def __init__(self, tmp_path: Path, argv: list[str]):
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.flags = tmp_path / "flags"
        self.flags.mkdir(exist_ok=True)
        self.mark = f"E2C_TEST_MARK={uuid.uuid4().hex}"
        env = {**os.environ, "TMPDIR": str(self.tmp), "E2C_TEST_FLAGS": str(self.flags)}
        env["E2C_TEST_MARK"] = self.mark.split("=")[1]
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_for(self, condition, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, self.proc.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the batch never reached the point to interrupt"
            time.sleep(0.05)

    def workspaces(self) -> list[Path]:
        return list(self.tmp.glob("e2c-work-*"))

    def stop(self, signum: int) -> tuple[int, float, str]:
        """Send ``signum``; the exit status, seconds to exit, stderr. Fails if processes remain after 5 s."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        try:
            _, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill_all()
            pytest.fail("the batch did not stop within 5 s")
        elapsed = time.monotonic() - sent
        while _marked(self.mark, self.proc.pid) and time.monotonic() - sent < 5:
            time.sleep(0.05)
        left = _marked(self.mark, self.proc.pid)
        self.kill_all()
        assert not left, f"processes left running: {left}"
        return self.proc.returncode, elapsed, err.decode()

    def kill_all(self) -> None:
        for pid in [*_marked(self.mark, -1), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _assert_nothing_unsuppressed_left(batch: Batch, out: Path) -> None:
    assert not batch.workspaces(), "private work folder left behind"
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    for name in files:
        # published files only: pages, the manifest, the ESF+ CSVs (written with the page's hidden cells)
        assert name == ".e2c-batch.lock" or name.endswith((".html", "/manifest.json", "-fse.csv")), files
        assert not Path(name).name.startswith(".") or name == ".e2c-batch.lock", files  # no page fragment


def _toy(tmp_path: Path, out: Path, engine: str, sleep: float) -> Batch:
    template = toy_template(tmp_path / f"toy-{uuid.uuid4().hex[:6]}.ipynb")
    return Batch(tmp_path, [sys.executable, "-c", TOY_BATCH, str(out), str(template), engine, str(sleep)])


@pytest.mark.parametrize(
    ("engine", "when", "signum"),
    [
        ("portable", "regions", signal.SIGINT),
        ("fast", "regions", signal.SIGINT),
        ("fast", "national", signal.SIGINT),
        ("portable", "national", signal.SIGTERM),
        ("portable", "regions", signal.SIGTERM),
        ("fast", "regions", signal.SIGTERM),
    ],
)
def test_a_signal_stops_the_batch_within_5_s_and_leaves_nothing(tmp_path, engine, when, signum):
    out = tmp_path / "out"
    batch = _toy(tmp_path, out, engine, sleep=60)
    if when == "national":
        batch.wait_for(lambda: batch.workspaces())
        time.sleep(0.3)
    else:
        batch.wait_for(lambda: len(list(batch.flags.iterdir())) >= 2)  # two kernels inside a cell
    status, elapsed, err = batch.stop(signum)
    assert status == 128 + signum, err[-2000:]
    assert elapsed < 5
    assert "Traceback" not in err
    _assert_nothing_unsuppressed_left(batch, out)
    if when == "regions":
        manifest = json.loads(next(out.glob("*/manifest.json")).read_text(encoding="utf-8"))
        assert manifest["status"] == "interrupted" and manifest["finished"] == []
        assert {r["status"] for r in manifest["regions"]} == {"interrupted"}


def test_a_rerun_after_an_interrupt_succeeds(tmp_path):
    out = tmp_path / "out"
    first = _toy(tmp_path, out, "fast", sleep=60)
    first.wait_for(lambda: len(list(first.flags.iterdir())) >= 1)
    assert first.stop(signal.SIGINT)[0] == 130
    again = _toy(tmp_path, out, "fast", sleep=0)
    stdout, err = again.proc.communicate(timeout=180)
    assert again.proc.returncode == 0, err.decode()[-2000:]
    assert json.loads(stdout.decode().strip().splitlines()[-1]) == {"ok": True}
    manifest = json.loads(next(out.glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and sorted(manifest["finished"]) == ["bretagne", "grand-est", "occitanie"]
    _assert_nothing_unsuppressed_left(again, out)


def test_real_template_interrupted_while_rendering(tmp_path):
    """The real report template on a small export, through the command line: Ctrl-C while kernels render."""
    from toolkit.synth import write_export

    export = write_export(tmp_path / "data", seed=7, trainees_per_year=400)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "toolkit.cli", "reports", "--quiet", "--data", str(export), "--out", str(out)]
    batch = Batch(tmp_path, [*argv, "--regions", "Bretagne", "Occitanie", "Normandie", "Grand Est"])

    def rendering() -> bool:  # a region's working folder <period>/<slug> exists: its kernel is starting or running
        return any(p.is_dir() and p.name != "national" for w in batch.workspaces() for p in w.glob("[0-9]*/*"))

    batch.wait_for(rendering, timeout=180)
    time.sleep(1.0)
    status, elapsed, err = batch.stop(signal.SIGINT)
    assert status == 130 and elapsed < 5, err[-2000:]
    assert "Interrompu" in err and "Traceback" not in err
    _assert_nothing_unsuppressed_left(batch, out)


def test_two_batches_into_one_folder(tmp_path):
    """The second is refused with a clear message; once the first is killed (a stale lock), a batch runs."""
    out = tmp_path / "out"
    first = _toy(tmp_path, out, "portable", sleep=60)
    first.wait_for(lambda: len(list(first.flags.iterdir())) >= 1)
    template = toy_template(tmp_path / "second.ipynb")
    from toolkit.synth import generate_export

    raw = generate_export(seed=5, trainees_per_year=300).raw
    with pytest.raises(ReportError, match=r"autre lot de rapports \(processus \d+\)") as refused:
        build_reports(raw, out=out, regions=["Bretagne"], template=template, progress=False, engine="portable")
    assert str(out) in str(refused.value) and "--out" in str(refused.value)
    first.proc.send_signal(signal.SIGKILL)  # dies holding the lock: the lock goes with it
    first.proc.wait(timeout=5)
    first.kill_all()
    result = build_reports(raw, out=out, regions=["Bretagne"], template=template, progress=False, engine="portable")
    assert result.ok
