"""Atomic file writes: a temporary name in the same folder, then a rename."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import PushforwardError


def check_writable(path: str | os.PathLike, *, force: bool) -> Path:
    """Fail early (one line) if ``path`` cannot take a file: it exists without ``force``, it is a
    folder or a device, or its folder is not writable."""
    path = Path(path)
    if path.is_dir():
        raise PushforwardError(f"{path}: is a folder; give a file name inside it")
    if path.exists() and not force:
        raise PushforwardError(f"{path}: already exists; pass --force (force=True) to overwrite")
    if path.exists() and not path.is_file():
        raise PushforwardError(f"{path}: not a regular file (a device or a pipe); write to a "
                               "file, or leave out --out to write to standard output")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise PushforwardError(f"{path}: cannot write, {parent} is not a folder")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise PushforwardError(f"{path}: cannot write, folder {parent} is not writable")
    return path


def check_space(path: str | os.PathLike, nbytes: int) -> None:
    """Refuse up front a file of at least ``nbytes`` that the disk under ``path`` cannot hold.

    Example:
        >>> check_space(".", 10**30)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: .: needs at least 1e+18 TB, only ... free in .; ...
    """
    path = Path(path)
    folder = path.parent if not path.is_dir() else path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # no figure for this file system: the write itself will say
    if nbytes > free:
        raise PushforwardError(f"{path}: needs at least {_size(nbytes)}, only {_size(free)} free "
                               f"in {folder}; draw fewer rows or write elsewhere")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


#: Temporary files are named ``.NAME.PID.RANDOM.tmp``: the pid tells a dead writer's leftovers.
_TMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def clean_stale(folder: Path) -> None:
    """Remove temporary files left by writers that died (their pid no longer runs)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for p in entries:
        m = _TMP.match(p.name)
        if m and not _alive(int(m["pid"])):
            with contextlib.suppress(OSError):
                p.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Any OSError while writing (a full disk, a file too large, a folder in the way) becomes one
    :class:`PushforwardError` line naming ``path`` and the reason, and the temporary file is
    removed: ``path`` is either the complete new file or untouched. Leftovers of writers that
    were killed are removed first.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_path(d / "a.txt") as tmp:
        ...     _ = tmp.write_text("done")
        >>> (d / "a.txt").read_text()
        'done'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=path.parent)
    except OSError as e:
        raise PushforwardError(f"{path}: cannot write ({_reason(e)})") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise PushforwardError(f"{path}: cannot write ({_reason(e)}); nothing was written"
                               ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _reason(e: OSError) -> str:
    if e.strerror:
        return e.strerror
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode())


# ------------------------------------------------------------------------ one writer per folder
_held: dict[Path, tuple[int, int]] = {}  # folder -> (fd, depth): re-entrant within a process

LOCK_FILE = ".pushforward.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while a model or a run is written into it.

    A second process gets one line: "FOLDER is being written by another process (pid N)".
    The lock is ``fcntl.flock`` on ``FOLDER/.pushforward.lock``: the system drops it when its
    holder dies, so a killed run never leaves a stale lock; the file is removed on release.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> with folder_lock(d), folder_lock(d):  # re-entrant in one process
        ...     pass
    """
    folder = Path(folder).absolute()
    if folder in _held:
        fd, depth = _held[folder]
        _held[folder] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[folder]
            _held[folder] = (fd, depth - 1)
        return
    created = not folder.exists()
    fd = _acquire(folder)
    _held[folder] = (fd, 1)
    try:
        yield
    finally:
        del _held[folder]
        with contextlib.suppress(OSError):
            (folder / LOCK_FILE).unlink()
        os.close(fd)
        if created:  # a run that failed before writing anything leaves no empty folder
            with contextlib.suppress(OSError):
                folder.rmdir()


def _acquire(folder: Path) -> int:
    import fcntl

    lock = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PushforwardError(f"{folder}: cannot write ({_reason(e)})") from None
    for _ in range(10):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise PushforwardError(f"{folder}: cannot write ({_reason(e)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise PushforwardError(f"{folder}: is being written by another process (pid {pid});"
                                   " wait for it, or choose another folder") from None
        # the holder before us may have removed the file after we opened it: lock the live one
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)
    raise PushforwardError(f"{folder}: could not lock it for writing; try again")
