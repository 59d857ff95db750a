"""Writing a file so that it appears whole or not at all, and survives a crash.

Apart from ``store`` (which writes receipts with it) so that ``gateway validate`` can write the
receipt files a daemon's warm process made without importing what judging needs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def atomic_write(path: Path, data: bytes, mode: int = 0o644, writer: str = "", *,
                 sync_folder: bool = True) -> None:
    """Write ``data`` to ``path`` so that it appears whole or not at all, and survives a crash.
    The temporary name carries ``writer`` (a daemon id), so that on a shared folder only the
    leftovers of a dead writer are removed, never a live one's file in the middle of its write.
    Without ``sync_folder`` the caller makes the rename durable (``fsync_dir``), once for
    several files written into the same folder."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{writer}." if writer else TEMP_PREFIX,
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_folder:
        fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename or create inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
