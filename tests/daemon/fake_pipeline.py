"""A stand-in pipeline for daemon tests, selected with ``[workers] pipeline``.

It behaves by the file's first word so a test can make a worker crash, raise, sleep or run out
of memory on purpose, or remember a key (``REMEMBER key``) and ask for one remembered from an
accepted file (``KNOWN key``) as a family's reference data; anything else is accepted at once,
which keeps the intake and durability tests fast and independent of the measure families.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from pathlib import Path

from gateway.contract.findings import Finding
from gateway.contract.reference import ReferenceWrite
from gateway.receipts.model import FileFacts, Receipt, new_submission_id, utc_now_text
from gateway.site.reference.store import Location, reference_view

KEYS = "test/keys"


def validate_file(path: Path, *, submitter: str, display_name: str | None = None,
                  received_at: str | None = None, submission_id: str | None = None,
                  options: Mapping[str, str] | None = None,
                  ledger: Location | None = None, registry: object = None,
                  policy: object = None) -> Receipt:
    data = path.read_bytes()
    word = data.split(maxsplit=1)[0] if data.strip() else b""
    if word == b"CRASH":
        os._exit(70)
    if word == b"RAISE":
        raise ValueError("a message that quotes a cell: SECRET-VALUE-IN-EXCEPTION")
    if word == b"HOG":
        hog = bytearray(8 * 1024 * 1024 * 1024)
        del hog
    if word == b"SLEEP":
        time.sleep(float(data.split()[1]))
    receipt = Receipt(
        submission_id=submission_id or new_submission_id(), submitter=submitter,
        file=FileFacts(name=display_name or path.name, bytes=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), format="csv",
                       received_at=received_at or utc_now_text()),
        records=data.count(b"\n"))
    if word == b"REJECT":
        receipt.reject("record", Finding("E-RECORD-TYPE", "rejected on request", row=2,
                                         value=data.decode(errors="replace")))
    if word == b"REMEMBER":
        receipt.reference_writes = [ReferenceWrite(KEYS, {data.split()[1].decode(): submitter})]
    if word == b"KNOWN" and reference_view(ledger).get(KEYS, data.split()[1].decode()) is None:
        receipt.reject("file", Finding("E-RULE-CONSISTENCY", "never remembered", row=1))
    return receipt
