"""Refusing ZIP bombs before a workbook is unpacked, from the central directory alone."""

from __future__ import annotations

import zipfile
from pathlib import Path

from gateway.readers.limits import MIB, Limits
from gateway.readers.problems import FileProblem


def check_workbook_archive(path: Path, size: int, limits: Limits) -> None:
    """Reject a workbook whose declared sizes or compression ratios exceed the limits.

    The central directory's sizes are what a decompressor trusts, so they are checked first; a
    member that later inflates past its declared size fails the ZIP CRC check in the reader.
    """
    if size > limits.max_xlsx_bytes:
        raise FileProblem.of(
            "E-FILE-TOO-LARGE", f"The workbook is {size / MIB:,.1f} MiB; workbooks up to "
            f"{limits.max_xlsx_bytes / MIB:,.0f} MiB are accepted.",
            hint="Send a file this large as CSV, or split it.")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > limits.max_xlsx_entries:
            raise FileProblem.of("E-FILE-UNSAFE-ZIP",
                                 f"The workbook holds {len(members):,} parts; at most "
                                 f"{limits.max_xlsx_entries:,} are accepted.")
        unpacked = 0
        for member in members:
            unpacked += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > MIB and ratio > limits.max_xlsx_ratio:
                raise FileProblem.of(
                    "E-FILE-UNSAFE-ZIP", f"A part of the workbook compresses {ratio:,.0f} to 1, "
                    f"above the {limits.max_xlsx_ratio} to 1 accepted; it looks like a ZIP bomb.",
                    hint="Remove empty formatted rows and columns, or send the data as CSV.")
        if unpacked > limits.max_xlsx_unpacked_bytes:
            raise FileProblem.of(
                "E-FILE-TOO-LARGE", f"The workbook unpacks to {unpacked / MIB:,.0f} MiB; at most "
                f"{limits.max_xlsx_unpacked_bytes / MIB:,.0f} MiB are accepted.",
                hint="Send a file this large as CSV, or split it.")
