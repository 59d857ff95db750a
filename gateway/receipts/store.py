"""Writing receipts durably: temp file, fsync, ``os.replace``, fsync of the folder.

A reader of the receipts folder (the submitter over SFTP, or a crash-restarted daemon) sees
either no receipt or a whole one, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Rendered:
    """A receipt's text and JSON files as bytes, made where the receipt was made (a daemon's
    worker), so that the process writing them durably only writes bytes."""

    text: bytes
    json: bytes


def render_receipt(receipt: Receipt, catalog: Catalog | None = None) -> Rendered:
    """The bytes ``write_receipt_body`` and ``write_receipt_mark`` would write for ``receipt``
    (its findings get their hints first, as there)."""
    receipt.findings.give_hints(catalog or Catalog(), receipt.file.format)
    return Rendered(render_text(receipt, catalog).encode("utf-8"), _json_bytes(receipt))


def write_receipt_body(receipt: Receipt, folder: Path, catalog: Catalog | None = None,
                       document: Path | None = None, writer: str = "", *,
                       sync_folder: bool = True, rendered: Rendered | None = None) -> None:
    """The first half of ``write_receipt``: the annotated copy and the text receipt, each file
    fsynced; without ``sync_folder`` the caller fsyncs the folder before the JSON is written.
    ``rendered``: the receipt's bytes made already (``render_receipt``)."""
    folder.mkdir(parents=True, exist_ok=True)
    if rendered is None:
        receipt.findings.give_hints(catalog or Catalog(), receipt.file.format)
    _write_annotated(receipt, document, folder, writer, sync_folder)
    text = rendered.text if rendered is not None else render_text(receipt, catalog).encode(
        "utf-8")
    atomic_write(receipt_paths(receipt, folder)[1], text, writer=writer,
                 sync_folder=sync_folder)


def write_receipt_mark(receipt: Receipt, folder: Path, writer: str = "", *,
                       sync_folder: bool = True, rendered: Rendered | None = None) -> Path:
    """The second half of ``write_receipt``: the JSON receipt, whose presence marks the
    receipt complete (a restarted daemon goes on from it)."""
    json_path = receipt_paths(receipt, folder)[0]
    document = rendered.json if rendered is not None else _json_bytes(receipt)
    atomic_write(json_path, document, writer=writer, sync_folder=sync_folder)
    return json_path


def _json_bytes(receipt: Receipt) -> bytes:
    return (json.dumps(receipt.as_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


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
