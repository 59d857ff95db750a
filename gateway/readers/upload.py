"""Opening an upload: the checks every file gets before any parser sees a byte of it."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from gateway.contract.records import Document
from gateway.readers.encoding import check_utf8
from gateway.readers.limits import MIB, Limits
from gateway.readers.problems import FileProblem
from gateway.readers.scan import ContentScan, check_text
from gateway.readers.sniff import CSV, XLSX, sniff
from gateway.readers.tables import CsvDocument, XlsxDocument
from gateway.readers.xml_safe import XmlDocument
from gateway.readers.zipcheck import check_workbook_archive

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,200}")


@dataclass(frozen=True)
class UploadFacts:
    """Size and content hash, known even for a file that is rejected unread."""

    bytes: int
    sha256: str
    head: bytes
    scan: ContentScan | None = None  # the checks made while hashing (text formats use them)


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise FileProblem.of(
            "E-FILE-NAME", "The file name may use only letters, digits, '.', '-' and '_' and "
            "be at most 200 characters long.", hint="Rename the file and upload it again.")


def inspect_upload(path: Path, limits: Limits) -> UploadFacts:
    """Refuse links and special files without reading them, then hash the content.

    ``O_NOFOLLOW`` and the link count are checked on the opened descriptor, so the file cannot be
    swapped for a link between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        if Path(path).is_symlink():
            raise FileProblem.of("E-FILE-NOT-REGULAR", "The upload is a symbolic link; it was "
                                 "not read.", hint="Upload the file itself.") from None
        raise FileProblem.of("E-FILE-NOT-REGULAR", f"The upload cannot be opened "
                             f"({err.strerror}).") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem.of("E-FILE-NOT-REGULAR", "The upload is not a regular file; it "
                                 "was not read.", hint="Upload the file itself.")
        if info.st_nlink > 1:
            raise FileProblem.of("E-FILE-NOT-REGULAR", "The upload is a hard link to another "
                                 "file; it was not read.", hint="Upload a copy of the file.")
        if info.st_size > limits.max_file_bytes:
            raise FileProblem.of("E-FILE-TOO-LARGE", f"The file is {info.st_size / MIB:,.0f} MiB;"
                                 f" files up to {limits.max_file_bytes / MIB:,.0f} MiB are "
                                 "accepted.", hint="Split the submission into smaller files.")
        digest = hashlib.sha256()
        scan = ContentScan(limits)
        head = handle.read(8192)
        digest.update(head)
        scan.feed(head)
        while block := handle.read(1 << 20):
            digest.update(block)
            scan.feed(block)
        scan.feed(b"", final=True)
    return UploadFacts(bytes=info.st_size, sha256=digest.hexdigest(), head=head, scan=scan)


def open_document(path: Path, display_name: str, facts: UploadFacts, limits: Limits) -> Document:
    """Sniff the format and open the matching document, with the format's own safety checks."""
    if facts.bytes == 0:
        raise FileProblem.of("E-FILE-EMPTY", "The file is empty (0 bytes).",
                             hint="Upload the file again; the transfer may have failed.")
    found = sniff(path, facts.head, display_name)
    try:
        if found == XLSX:
            archive = check_workbook_archive(path, facts.bytes, limits)
            return XlsxDocument(path, limits, arrow=archive.fastexcel_reads_alike,
                                texts_read_as_empty=archive.texts_read_as_empty)
        check_text(found, facts.scan, limits)
        check_utf8(path, facts.scan.utf8 if facts.scan else None, found)
        if found == CSV:
            return CsvDocument(path, limits)
        return XmlDocument(path, limits)
    except FileProblem as problem:  # the format was recognised: the receipt says which
        problem.format = problem.format or found
        raise
