"""Where a report batch writes, and how, so that an interrupted or failing
batch leaves nothing unsuppressed and nothing half-written.

* :class:`Workspace`: a private temporary folder (mode 0700, outside the
  reports folder) for the national work files (aggregates *before*
  suppression), the impact design's rows and the executed notebooks. It is
  removed on every exit path: normal end, error, Ctrl-C, SIGTERM, and at
  interpreter exit as a last resort.
* :func:`prepare_out`: the reports folder checked before any work starts (a
  file, a read-only folder, a folder that cannot be created: a clear error
  that names the path and the fix).
* :func:`write_atomic`: a page is written to a temporary file beside it, then
  renamed; a reader never sees half a page, a full disk leaves no fragment.
* :class:`BatchLock`: two batches into the same reports folder at once; the
  second is refused with a clear message. The lock is held by the operating
  system (``fcntl.flock`` or ``msvcrt.locking``), so the lock of a process
  that died is released with it and never blocks a later run.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import ReportError
from ..i18n import _

__all__ = ["Workspace", "BatchLock", "prepare_out", "write_atomic", "path_error", "LOCK_NAME"]

LOCK_NAME = ".e2c-batch.lock"
_LIVE: set[Path] = set()  # workspaces of this process not removed yet
_fsync = os.fsync


def path_error(exc: OSError, path: str | os.PathLike) -> ReportError:
    """A toolkit error for an operating-system failure on ``path``: what happened and the fix."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return ReportError(
            _("{path} : disque plein. Libérez de la place ou choisissez un autre dossier (--out).", path=path)
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ReportError(
            _(
                "{path} : écriture refusée (droits ou disque en lecture seule). "
                "Choisissez un dossier où vous pouvez écrire (--out).",
                path=path,
            )
        )
    if code in (errno.ENOTDIR, errno.EEXIST):
        return ReportError(_("{path} : un fichier occupe cet emplacement. Indiquez un dossier (--out).", path=path))
    return ReportError(_("{path} : écriture impossible ({reason}).", path=path, reason=exc.strerror or exc))


# --------------------------------------------------------------------------
# The private work folder
# --------------------------------------------------------------------------
class Workspace:
    """A private temporary folder for one batch (mode 0700, in the system's
    temporary folder, never under the reports folder). Use as a context
    manager or call :meth:`remove`; ``keep=True`` leaves it for inspection."""

    def __init__(self, keep: bool = False):
        try:
            self.path = Path(tempfile.mkdtemp(prefix="e2c-work-")).resolve()
        except OSError as exc:
            raise path_error(exc, tempfile.gettempdir()) from exc
        os.chmod(self.path, stat.S_IRWXU)
        self.keep = keep
        _LIVE.add(self.path)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def subdir(self, *parts: str) -> Path:
        path = self.path.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove(self) -> None:
        """Delete the folder and everything in it (unless ``keep``)."""
        _LIVE.discard(self.path)
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


@atexit.register
def _remove_leftovers() -> None:  # pragma: no cover - last resort
    for path in list(_LIVE):
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------
# The reports folder
# --------------------------------------------------------------------------
def prepare_out(out: str | os.PathLike) -> Path:
    """The reports folder as an absolute path, created if needed and checked writable.

    A relative path is taken from the current folder (kernels run elsewhere,
    so nothing downstream may see a relative path).
    """
    path = Path(os.path.abspath(os.path.expanduser(str(out))))
    if path.exists() and not path.is_dir():
        raise ReportError(
            _("{path} : c'est un fichier, pas un dossier. Indiquez un dossier pour les rapports (--out).", path=path)
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".e2c-probe-", delete=True)
        probe.close()
    except FileExistsError as exc:  # a parent is a file
        raise path_error(exc, path) from exc
    except NotADirectoryError as exc:
        raise path_error(exc, path) from exc
    except OSError as exc:
        raise path_error(exc, path) from exc
    return path


def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` with a toolkit error instead of a traceback."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise path_error(exc, path) from exc
    return path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    On failure (full disk, permissions) the temporary file is removed and a
    toolkit error names ``path``; an existing page is left as it was.
    """
    path = Path(path)
    fd, tmp = -1, ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            _fsync(handle.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise path_error(exc, path) from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------
# One batch at a time per reports folder
# --------------------------------------------------------------------------
class BatchLock:
    """An exclusive, non-blocking lock on ``<out>/.e2c-batch.lock``.

    A second batch into the same folder gets a :class:`ReportError` naming the
    folder and the other process. The operating system releases the lock when
    its holder ends, even killed, so a stale lock file never blocks.
    """

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK_NAME
        self._handle = None

    def acquire(self) -> BatchLock:
        try:
            handle = open(self.path, "a+b")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise path_error(exc, self.path) from exc
        if not _try_lock(handle):
            try:
                handle.seek(0)
                holder = handle.read(64).decode("ascii", "replace").strip() or "?"
            except OSError:  # Windows: the locked byte cannot be read
                holder = "?"
            handle.close()
            raise ReportError(
                _(
                    "{out} : un autre lot de rapports (processus {pid}) écrit déjà dans ce dossier. "
                    "Attendez qu'il finisse ou choisissez un autre dossier (--out).",
                    out=self.path.parent,
                    pid=holder,
                )
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode("ascii"))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            _unlock(self._handle)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> BatchLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle) -> None:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(handle) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
