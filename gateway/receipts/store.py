"""Writing receipts durably: temp file, fsync, ``os.replace``, fsync of the folder.

A reader of the receipts folder (the submitter over SFTP, or a crash-restarted daemon) sees
either no receipt or a whole one, never half of one.
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.contract.catalog import Catalog
from gateway.receipts.annotated import annotate
from gateway.receipts.atomic import atomic_write
from gateway.receipts.model import Receipt
from gateway.receipts.text import render_text


def receipt_paths(receipt: Receipt, folder: Path) -> tuple[Path, Path]:
    """``<submission_id>.<file name>.receipt.json`` and ``.receipt.txt``: sortable by time and
    recognisable by the uploaded name."""
    stem = f"{receipt.submission_id}.{receipt.file.name}"
    return folder / f"{stem}.receipt.json", folder / f"{stem}.receipt.txt"


def write_receipt(receipt: Receipt, folder: Path, catalog: Catalog | None = None,
                  document: Path | None = None, writer: str = "") -> tuple[Path, Path]:
    """Write the receipt's annotated copy (made now from ``document``, the uploaded file, when
    the receipt does not carry one yet), then the text receipt, and the JSON last: the JSON's
    presence marks completion."""
    write_receipt_body(receipt, folder, catalog, document, writer)
    return write_receipt_mark(receipt, folder, writer), receipt_paths(receipt, folder)[1]


def write_receipt_body(receipt: Receipt, folder: Path, catalog: Catalog | None = None,
                       document: Path | None = None, writer: str = "", *,
                       sync_folder: bool = True) -> None:
    """The first half of ``write_receipt``: the annotated copy and the text receipt, each file
    fsynced; without ``sync_folder`` the caller fsyncs the folder before the JSON is written."""
    folder.mkdir(parents=True, exist_ok=True)
    receipt.findings.give_hints(catalog or Catalog(), receipt.file.format)
    _write_annotated(receipt, document, folder, writer, sync_folder)
    atomic_write(receipt_paths(receipt, folder)[1],
                 render_text(receipt, catalog).encode("utf-8"), writer=writer,
                 sync_folder=sync_folder)


def write_receipt_mark(receipt: Receipt, folder: Path, writer: str = "", *,
                       sync_folder: bool = True) -> Path:
    """The second half of ``write_receipt``: the JSON receipt, whose presence marks the
    receipt complete (a restarted daemon goes on from it)."""
    json_path = receipt_paths(receipt, folder)[0]
    document = json.dumps(receipt.as_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write(json_path, document.encode("utf-8"), writer=writer, sync_folder=sync_folder)
    return json_path


def _write_annotated(receipt: Receipt, document: Path | None, folder: Path,
                     writer: str = "", sync_folder: bool = True) -> Path | None:
    """``<submission_id>.<file name>.annotated.xlsx`` (tables) or ``.findings.csv`` (XML)."""
    if receipt.annotation is None and document is not None:
        annotate(receipt, document)
    if receipt.annotation is None:
        return None
    path = folder / f"{receipt.submission_id}.{receipt.file.name}{receipt.annotation.suffix}"
    atomic_write(path, receipt.annotation.data, writer=writer, sync_folder=sync_folder)
    return path
