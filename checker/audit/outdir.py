"""A report directory on a disk other users share: made privately, put in place in one rename.

The files are written into a new directory that only the owner can enter (mode 0700, made by
mkdtemp under a name nobody can guess), each created exclusively and never through a symbolic
link (O_EXCL | O_NOFOLLOW, mode 0600). When the report is whole, the directory takes the place of
--out in one rename; an older report there is swapped out in the same step (renameat2 with
RENAME_EXCHANGE) and then deleted. A lock beside --out lets one audit at a time write it. On any
failure, and on SIGTERM, the unfinished directory is removed: no partial case data is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from checker.core.errors import CheckerError, Problem

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class ReportDir:
    """The private directory a report is written into, and the lock on its --out."""

    def __init__(self, target: Path, names: tuple[str, ...]) -> None:
        where = str(target)
        target = Path(os.path.abspath(target))  # `report/` and `.` name the directory itself
        self.target = target
        self.names = names
        if target.is_symlink():
            raise CheckerError([Problem("--out is a symbolic link: give the directory itself", file=where)])
        if target.exists() and not target.is_dir():
            raise CheckerError([Problem("--out must be a directory", file=where)])
        if target.is_dir():
            others = sorted(p.name for p in target.iterdir() if p.name not in names)
            if others:
                msg = f"--out holds other files than a report ({', '.join(others[:3])}); give a new directory"
                raise CheckerError([Problem(msg, file=where)])
        parent = target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(parent / f".{target.name}.lock", where)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
        except OSError as exc:
            # mkdir says "File exists" of a parent that is a file: name that file instead
            blocking = next((a for a in reversed(target.parents) if a.exists() and not a.is_dir()), None)
            why = f"{blocking} is a file, not a folder" if blocking is not None else exc.strerror
            raise CheckerError([Problem(f"cannot write the report here: {why}", file=where)]) from None

    def create(self, name: str, encoding: str, newline: str | None = None) -> IO[str]:
        """A new file of the report, only for its owner, never through a link."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.staging / name, flags, 0o600)
        return open(fd, "w", encoding=encoding, newline=newline)

    def create_binary(self, name: str) -> IO[bytes]:
        """As `create`, for a binary file (report.xlsx)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.staging / name, flags, 0o600)
        return open(fd, "wb")

    def commit(self) -> None:
        """Put the report in place in one step; an older one there is swapped out and deleted."""
        try:
            if not self.target.exists():
                os.rename(self.staging, self.target)
            elif _exchange(self.staging, self.target):
                shutil.rmtree(self.staging)  # the older report, now under the private name
            else:  # no renameat2 (not Linux): two renames, never a mix of two reports
                old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".old", dir=self.staging.parent))
                os.rename(self.target, old / "report")
                os.rename(self.staging, self.target)
                shutil.rmtree(old)
        finally:
            self.release()

    def abort(self) -> None:
        """Remove everything written; the report in place, if any, is left as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the file releases the lock
            self._lock = None


def _lock(path: Path, where: str) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CheckerError(
            [Problem("another audit is writing this report; wait for it to finish", file=where)]
        ) from None
    return fd


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux renameat2); False when the system cannot."""
    with contextlib.suppress(OSError, AttributeError):
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return True
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(b))
    return False
