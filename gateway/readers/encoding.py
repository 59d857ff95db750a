"""Checking that a text upload is UTF-8, streaming, and saying where and why it is not."""

from __future__ import annotations

import codecs
from pathlib import Path

from gateway.readers.problems import FileProblem

BOM = b"\xef\xbb\xbf"
_BLOCK = 1 << 20


def _looks_like_cp1252(path: Path) -> bool:
    """True when the whole file decodes as Windows-1252 (Excel's "CSV (Comma delimited)")."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
    except UnicodeDecodeError:
        return False
    return True


def check_utf8(path: Path) -> None:
    """Raise ``E-FILE-ENCODING`` with the byte offset and line of the first invalid byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lines_before = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            pending = len(decoder.getstate()[0])  # an unfinished sequence from the last block
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as err:
                in_block = max(err.start - pending, 0)
                _raise_encoding(path, offset + err.start - pending,
                                lines_before + block[:in_block].count(b"\n") + 1)
            if not block:
                return
            offset += len(block)
            lines_before += block.count(b"\n")


def _raise_encoding(path: Path, offset: int, line: int) -> None:
    if _looks_like_cp1252(path):
        message = (f"The file is not valid UTF-8: byte {offset:,} (line {line}) is not UTF-8. "
                   "It looks like Windows-1252; save as CSV UTF-8.")
        hint = ("In Excel choose File > Save As > CSV UTF-8 (Comma delimited) (*.csv), "
                "then upload the new file.")
    else:
        message = f"The file is not valid UTF-8: byte {offset:,} (line {line}) is not UTF-8."
        hint = "Export the file again as UTF-8 text."
    raise FileProblem.of("E-FILE-ENCODING", message, hint=hint, line=line)
