"""Deciding a file's format from its bytes, never from its name.

The name only matters when it contradicts the content (a ``.csv`` that is a ZIP): that is an
error naming both, because the submitter's tool most likely saved the wrong thing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from gateway.readers.problems import FileProblem

CSV, XLSX, XML = "csv", "xlsx", "xml"

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
    """Which kind of ZIP: an XLSX, a macro-enabled or OpenDocument workbook, or none."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and "content.xml" in names:
                raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".ods"])
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise FileProblem.of(
                    "E-FILE-FORMAT", "The file is a ZIP archive but not an Excel workbook.",
                    hint="Upload the CSV, XLSX or XML file itself, not an archive.")
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                raise FileProblem.of("E-FILE-UNSAFE-ZIP",
                                     "The workbook's content-type list is implausibly large.")
            if b"macroEnabled" in archive.read(info):
                raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".xlsm"])
    except zipfile.BadZipFile:
        raise FileProblem.of("E-FILE-MALFORMED", "The workbook is damaged (not a readable ZIP).",
                             hint="Save the workbook again from Excel and upload the new copy."
                             ) from None
    return XLSX


def sniff(path: Path, head: bytes, display_name: str) -> str:
    """The format of the file (``csv``, ``xlsx`` or ``xml``) or a ``FileProblem``."""
    suffix = Path(display_name).suffix.lower()
    if suffix in _UNSUPPORTED_WORKBOOK_SUFFIXES:
        raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[suffix])
    if head.startswith(b"PK\x03\x04"):
        found = _zip_kind(path)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unsupported(_UNSUPPORTED_WORKBOOK_SUFFIXES[".xls"])
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem.of(
            "E-FILE-ENCODING", "The file is UTF-16 text; the gateway reads UTF-8.",
            hint="In Excel choose Save As > CSV UTF-8 (Comma delimited).", line=1)
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
