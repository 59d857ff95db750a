"""The core's record reader for table files, answering after every family (``trylast``).

Families whose files are CSV or XLSX tables need no reader of their own: the header already
names the fields, and rows carry their sheet positions.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.contract.hooks import hookimpl
from gateway.contract.records import Document, RecordBatch, Route
from gateway.readers.tables import TableDocument


@hookimpl(trylast=True)
def gateway_read_records(route: Route, document: Document) -> Iterator[RecordBatch] | None:
    if isinstance(document, TableDocument):
        return document.batches(document.limits.batch_rows)
    return None
