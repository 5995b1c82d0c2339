"""The files a user names are read only when they can end: a device is refused, not read for ever."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DEVICE = "a device, not a file (name a regular file, a folder of them or a pipe)"


class NotAFile(OSError):
    """A path that names a character or block device: /dev/zero never ends, a terminal waits."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.EINVAL, DEVICE, str(path))


def refuse_device(path: str | Path) -> None:
    """Raise NotAFile when `path` is a device (after symbolic links); anything else is left to the
    open that follows, which reports a missing or unreadable file itself."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise NotAFile(path)
