"""Deciding a file's format from its bytes, never from its name.

The name only matters when it contradicts the content (a ``.csv`` that is a ZIP): that is an
error naming both, because the submitter's tool most likely saved the wrong thing.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import olefile

from gateway.readers.problems import FileProblem

CSV, XLSX, XML = "csv", "xlsx", "xml"
_ARCHIVE = "zip"  # a ZIP that is no workbook: never a format the gateway reads

_UNSUPPORTED_WORKBOOK_SUFFIXES = {".xls": "an Excel 97-2003 workbook (.xls)",
                                  ".xlsm": "a macro-enabled workbook (.xlsm)",
                                  ".ods": "an OpenDocument spreadsheet (.ods)"}
_SUFFIX_FORMAT = {".csv": CSV, ".txt": CSV, ".xlsx": XLSX, ".xml": XML}
_FORMAT_WORDS = {CSV: "CSV text", XLSX: "an Excel workbook (XLSX)", XML: "XML"}


def _unsupported(what: str) -> FileProblem:
    return FileProblem.of(
        "E-FILE-UNSUPPORTED-WORKBOOK",
        f"The file is {what}. The gateway accepts .xlsx workbooks, CSV and XML.",
        hint="Open it in Excel and choose File > Save As > Excel Workbook (.xlsx).")


def _zip_kind(path: Path) -> str:
    """Which kind of ZIP: an XLSX, a macro-enabled or OpenDocument workbook, or a plain archive
    (``_ARCHIVE``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and "content.xml" in names:
                raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".ods"])
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return _ARCHIVE
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                raise FileProblem.of("E-FILE-UNSAFE-ZIP",
                                     "The workbook's content-type list is implausibly large.")
            if b"macroEnabled" in archive.read(info):
                raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".xlsm"])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error):
        raise FileProblem.of("E-FILE-MALFORMED", "The workbook is damaged (not a readable ZIP).",
                             hint="Save the workbook again from Excel and upload the new copy."
                             ) from None
    return XLSX


def _archive_problem(suffix: str) -> FileProblem:
    """A plain ZIP archive: named as CSV or XML it is a mismatch that names both (a tool that
    compressed the export, or a file renamed by hand); otherwise simply not a format we read."""
    expected = _SUFFIX_FORMAT.get(suffix)
    if expected in (CSV, XML):
        return FileProblem.of(
            "E-FILE-FORMAT-MISMATCH",
            f"The file is named {suffix} but its content is a ZIP archive, not "
            f"{_FORMAT_WORDS[expected]}.",
            hint=f"Unpack the archive and upload the {suffix} file inside it, or save the data "
                 f"again as {_FORMAT_WORDS[expected]}.")
    return FileProblem.of("E-FILE-FORMAT", "The file is a ZIP archive but not an Excel workbook.",
                          hint="Upload the CSV, XLSX or XML file itself, not an archive.")


def _ole_kind(path: Path) -> FileProblem:
    """An OLE compound file: a password-protected workbook of any age (Office keeps an encrypted
    .xlsx as an ``EncryptedPackage`` stream in one), or an Excel 97-2003 workbook."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            encrypted = ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo")
    except Exception:  # olefile raises several types for damaged files
        encrypted = False
    if encrypted:
        return FileProblem.of(
            "E-FILE-ENCRYPTED", "The workbook is password-protected (encrypted), so the gateway "
            "cannot read it.", hint="Open it in Excel, choose File > Info > Protect Workbook > "
            "Encrypt with Password, delete the password, save, and upload the saved file.")
    return _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".xls"])


def _utf16(head: bytes) -> bool:
    """UTF-16 text, with or without a byte-order mark: ASCII text in UTF-16 has a zero byte in
    every other position and none in the others."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    even, odd = head[0:512:2], head[1:512:2]
    return len(odd) >= 4 and ((odd.count(0) > 0.6 * len(odd) and not even.count(0))
                              or (even.count(0) > 0.6 * len(even) and not odd.count(0)))


def sniff(path: Path, head: bytes, display_name: str) -> str:
    """The format of the file (``csv``, ``xlsx`` or ``xml``) or a ``FileProblem``."""
    suffix = Path(display_name).suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _ole_kind(path)
    if suffix in _UNSUPPORTED_WORKBOOK_SUFFIXES:
        raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[suffix])
    if head.startswith(b"PK\x03\x04"):
        found = _zip_kind(path)
        if found == _ARCHIVE:
            raise _archive_problem(suffix)
    elif _utf16(head):
        xml = head.replace(b"\x00", b"").lstrip(b"\xff\xfe").lstrip().startswith(b"<")
        raise FileProblem.of(
            "E-FILE-ENCODING", "The file is UTF-16 text; the gateway reads UTF-8.", line=1,
            hint="Export the XML again with encoding UTF-8." if xml else
                 "In Excel choose Save As > CSV UTF-8 (Comma delimited).")
    elif b"\x00" in head:
        raise FileProblem.of("E-FILE-FORMAT", "The file is binary, not CSV, XLSX or XML.",
                             hint="Save the file as CSV UTF-8, XLSX or XML.")
    elif head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        found = XML
    else:
        found = CSV
    expected = _SUFFIX_FORMAT.get(suffix)
    if expected and expected != found and not (expected == CSV and suffix == ".txt"):
        problem = FileProblem.of(
            "E-FILE-FORMAT-MISMATCH",
            f"The file is named {suffix} but its content is {_FORMAT_WORDS[found]}, "
            f"not {_FORMAT_WORDS[expected]}.",
            hint=f"Save it as {_FORMAT_WORDS[expected]}, or rename it to end in "
                 f".{found}.")
        problem.format = found  # the content's format, as recognised
        raise problem
    return found
