"""Atomic file writes: a temporary file in the same folder, fsync, then ``os.replace``.

Any OS error on the way (disk full, file size limit, read-only file system, a parent that is a file) comes
out as :class:`WriteError`: still an :class:`OSError`, and a :class:`~munet.errors.MunetError` whose one-line
message names the file and the fix, so every CLI reports it without a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from munet.errors import MunetError

#: errno -> the fix named in a :class:`WriteError` message.
_FIXES = {
    errno.ENOSPC: "the disk is full: free space or choose another output folder",
    errno.EDQUOT: "the disk quota is used up: free space or choose another output folder",
    errno.EFBIG: "the file size limit is reached (ulimit -f): raise it or choose another output folder",
    errno.EROFS: "the file system is read-only: choose another output folder",
    errno.EACCES: "permission denied: make the folder writable or choose another one",
    errno.EPERM: "permission denied: make the folder writable or choose another one",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter output path",
}


class WriteError(MunetError, OSError):
    """Writing an output failed; ``str()`` is one line naming the file and the fix, ``errno`` is kept."""

    def __init__(self, message: str, errno_: int | None = None, path: Path | None = None) -> None:
        super().__init__(message)
        self.errno = errno_
        self.path = path


def write_error(exc: OSError, path: str | os.PathLike[str], what: str = "cannot write") -> WriteError:
    """Turn ``exc``, raised while writing ``path``, into a :class:`WriteError` naming ``path`` and the fix."""
    if isinstance(exc, WriteError):
        return exc
    path = Path(path)
    reason = exc.strerror or str(exc) or type(exc).__name__
    fix = _FIXES.get(exc.errno or 0, "check the output folder")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        fix = f"{blocker} is a file, not a folder: choose another output folder" if blocker else fix
    return WriteError(f"{path}: {what} ({reason}); {fix}", exc.errno, path)


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p path``; :class:`WriteError` (naming ``path`` and the fix) when it cannot be made."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, path, "cannot create this folder") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left untouched; an :class:`OSError`
    comes out as :class:`WriteError` naming ``path``.
    The temporary name keeps the final suffix so libraries that look at it still work, and
    the file gets the usual permissions (0666 minus the umask), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    make_dirs(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise write_error(exc, path) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        raise write_error(exc, path) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _current_umask() -> int:
    """The process umask, read once (``os.umask`` can only be read by setting it, which races threads)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def jsonable(obj: Any) -> Any:
    """``obj`` with paths, NumPy scalars/arrays and tuples made JSON-ready (non-finite floats -> None)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    if hasattr(obj, "tolist"):  # NumPy arrays and scalars (without importing NumPy here)
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON, atomically; NumPy scalars and paths are converted."""
    path = Path(path)
    write_text_atomic(path, json.dumps(jsonable(data), indent=2) + "\n")
    return path
