"""A stand-in pipeline that keeps memory after a file on request, to test worker recycling.

A file whose first word is ``GROW`` leaves the worker holding that many MiB (as a big file leaves
Python's heap); every receipt counts the worker's process id as its records, so a test can tell
which process validated which file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from gateway.receipts.model import FileFacts, Receipt, new_submission_id, utc_now_text

_KEPT: list[bytearray] = []


def validate_file(path: Path, *, submitter: str, display_name: str | None = None,
                  received_at: str | None = None, submission_id: str | None = None,
                  options: Mapping[str, str] | None = None) -> Receipt:
    data = path.read_bytes()
    words = data.split()
    if words[:1] == [b"GROW"]:
        block = bytearray(int(words[1]) * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just mapped
        _KEPT.append(block)
    return Receipt(
        submission_id=submission_id or new_submission_id(), submitter=submitter,
        file=FileFacts(name=display_name or path.name, bytes=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), format="csv",
                       received_at=received_at or utc_now_text()),
        records=os.getpid())
