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


class Utf8Scan:
    """Checks UTF-8 block by block, as the bytes are read for hashing, so a text upload is
    read from disk once; remembers the byte offset and line of the first invalid byte."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0
        self._lines = 0
        self.error: tuple[int, int] | None = None  # (byte offset, line)

    def feed(self, block: bytes, final: bool = False, newlines: int | None = None) -> None:
        """The next block of the file (``final`` with the last, possibly empty, one);
        ``newlines`` is its count of line feeds when the caller has counted them already."""
        if self.error is not None:
            return  # a binary upload (XLSX) stops being decoded at its first odd byte
        pending = len(self._decoder.getstate()[0])  # an unfinished sequence from the last block
        try:
            self._decoder.decode(block, final=final)
        except UnicodeDecodeError as err:
            in_block = max(err.start - pending, 0)
            self.error = (self._offset + err.start - pending,
                          self._lines + block[:in_block].count(b"\n") + 1)
            return
        self._offset += len(block)
        self._lines += block.count(b"\n") if newlines is None else newlines


def check_utf8(path: Path, scan: Utf8Scan | None = None, format: str = "csv") -> None:
    """Raise ``E-FILE-ENCODING`` with the byte offset and line of the first invalid byte;
    ``scan`` is the result of the pass that hashed the file (otherwise the file is read);
    ``format`` (as sniffed) chooses the advice."""
    if scan is None:
        scan = Utf8Scan()
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                scan.feed(block)
        scan.feed(b"", final=True)
    if scan.error is not None:
        raise _encoding_problem(path, *scan.error, format)


def _encoding_problem(path: Path, offset: int, line: int, format: str) -> FileProblem:
    message = f"The file is not valid UTF-8: byte {offset:,} (line {line}) is not UTF-8."
    hint = "Export the file again as UTF-8 text."
    if _looks_like_cp1252(path):
        if format == "xml":
            message += " It looks like Windows-1252; export the XML as UTF-8."
            hint = ("Export the XML again with the encoding set to UTF-8, then upload the new "
                    "file.")
        else:
            message += " It looks like Windows-1252; save as CSV UTF-8."
            hint = ("In Excel choose File > Save As > CSV UTF-8 (Comma delimited) (*.csv), "
                    "then upload the new file.")
    return FileProblem.of("E-FILE-ENCODING", message, hint=hint, line=line)
