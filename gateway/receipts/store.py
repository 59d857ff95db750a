"""Writing receipts durably: temp file, fsync, ``os.replace``, fsync of the folder.

A reader of the receipts folder (the submitter over SFTP, or a crash-restarted daemon) sees
either no receipt or a whole one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from gateway.catalog import Catalog
from gateway.receipts.model import Receipt
from gateway.receipts.text import render_text

TEMP_PREFIX = ".tmp-"


def atomic_write(path: Path, data: bytes, mode: int = 0o644, writer: str = "") -> None:
    """Write ``data`` to ``path`` so that it appears whole or not at all, and survives a crash.
    The temporary name carries ``writer`` (a daemon id), so that on a shared folder only the
    leftovers of a dead writer are removed, never a live one's file in the middle of its write."""
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
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename or create inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def receipt_paths(receipt: Receipt, folder: Path) -> tuple[Path, Path]:
    """``<submission_id>.<file name>.receipt.json`` and ``.receipt.txt``: sortable by time and
    recognisable by the uploaded name."""
    stem = f"{receipt.submission_id}.{receipt.file.name}"
    return folder / f"{stem}.receipt.json", folder / f"{stem}.receipt.txt"


def write_receipt(receipt: Receipt, folder: Path, catalog: Catalog | None = None,
                  writer: str = "") -> tuple[Path, Path]:
    """Write the text receipt first and the JSON last: the JSON's presence marks completion."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, text_path = receipt_paths(receipt, folder)
    atomic_write(text_path, render_text(receipt, catalog).encode("utf-8"), writer=writer)
    document = json.dumps(receipt.as_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write(json_path, document.encode("utf-8"), writer=writer)
    return json_path, text_path
