"""Where crimecheck keeps what it can rebuild, and how: a private folder of plain-data files.

The compiled lexicon (checker.narrative.cache) and parsed YAML files (checker.read.yamlio) are kept
here so that a new process does not parse them again. The folder is ``$CRIMECHECK_CACHE_DIR``, else
``$XDG_CACHE_HOME/crimecheck``, else ``~/.cache/crimecheck``; ``CRIMECHECK_CACHE_DIR=off`` turns
caching off. A file is used only when this user owns it and the folder and no one else can write
to either: another local user must not be able to plant data that checks differently. Reading
and writing are best effort: a missing, foreign or damaged file is a miss, a failed write is
skipped, and the caller then does the work itself. A lock file (``held``) lets processes that
would make the same costly file at once (an audit's workers) make it once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: nothing is held there
    fcntl = None  # type: ignore[assignment]


def cache_dir() -> Path | None:
    """Where cached files are kept, or None when caching is off."""
    chosen = os.environ.get("CRIMECHECK_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crimecheck"


def read_private(name: str) -> bytes | None:
    """The bytes of the cached file ``name``, or None (caching off, missing, or not private)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / name
    try:
        for part in (folder, path):
            st = part.lstat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
        return path.read_bytes()
    except OSError:
        return None


def write_private(name: str, blob: bytes) -> None:
    """Keep ``blob`` as the cached file ``name``, atomically, readable by this user only (best
    effort: when it cannot be written, nothing is kept)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=folder)  # created 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


@contextmanager
def held(name: str) -> Iterator[None]:
    """Hold the lock file ``name`` in the cache folder while the block runs, waiting for another
    process that holds it: two processes about to make the same costly file make it once. Best
    effort: with caching off, no folder, or no file locks, the block runs without it."""
    folder = cache_dir()
    fd = -1
    if folder is not None and fcntl is not None:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = folder.lstat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:  # a folder others could plant a lock in
                raise PermissionError(folder)
            fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed, or when the process ends
        except OSError:
            if fd >= 0:
                os.close(fd)
            fd = -1
    try:
        yield
    finally:
        if fd >= 0:
            os.close(fd)
