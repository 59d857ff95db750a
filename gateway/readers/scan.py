"""What one pass over an upload's bytes learns, while the same blocks are being hashed.

Every check here runs over the whole file, block by block, at memory-search speed: the first
invalid UTF-8 byte, the first NUL byte, the first line longer than the line cap, and the number of
XML tags. A text format consults the result before any parser sees the file, so a binary file, a
200 MB line or ten million elements are answered in the time it takes to hash them.
"""

from __future__ import annotations

import re

from gateway.readers.encoding import Utf8Scan
from gateway.readers.limits import MIB, Limits
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import CSV, XML


class ContentScan:
    """Feed it the file's blocks in order (``final`` with the last, possibly empty, one)."""

    def __init__(self, limits: Limits) -> None:
        self.utf8 = Utf8Scan()
        self._max_line = limits.max_line_bytes
        self._offset = 0
        self._lines = 0  # line breaks before the current block
        self._line_bytes = 0  # bytes of the current line before the current block
        self._ended_with_lt = False
        self._markup: bool | None = None  # XML-looking (decided on the first block)
        self._cr = False  # carriage returns end lines (the first block has one)
        self.nul: tuple[int, int] | None = None  # (byte offset, line) of the first NUL byte
        self.long_line: int | None = None  # the first line longer than the cap
        self.tags = 0  # '<' not followed by '/': start tags, comments, PIs, declarations

    def feed(self, block: bytes, final: bool = False) -> None:
        newlines = block.count(b"\n")
        self.utf8.feed(block, final=final, newlines=newlines)
        if not block:
            return
        if self._markup is None:  # decided on the first block
            self._markup = block.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")
            self._cr = b"\r" in block
        if self.nul is None and b"\x00" in block:
            at = block.index(b"\x00")
            self.nul = (self._offset + at, self._lines + block.count(b"\n", 0, at) + 1)
        if self.long_line is None:
            self._check_line_lengths(block)
        if self._markup:  # only XML is counted: the two-byte count costs on large CSV files
            self.tags += block.count(b"<") - block.count(b"</")
            if self._ended_with_lt and block.startswith(b"/"):
                self.tags -= 1  # a "</" split between two blocks
            self._ended_with_lt = block.endswith(b"<")
        self._offset += len(block)
        self._lines += newlines

    def _check_line_lengths(self, block: bytes) -> None:
        """Only a line that runs over a block boundary can exceed a cap of a block or more.
        In a file whose first block has a CR, CR counts as a line break too (old Mac files), so
        such a file is not one long line; other files are spared the search for CRs."""
        found = (block.find(b"\n"), block.find(b"\r")) if self._cr else (block.find(b"\n"),)
        breaks = [at for at in found if at >= 0]
        if not breaks:
            self._line_bytes += len(block)
        else:
            if self._line_bytes + min(breaks) > self._max_line:
                self.long_line = self._lines + 1
                return
            if len(block) > self._max_line:  # a cap below the block size: look inside
                inner = re.split(rb"\r\n|\r|\n", block[min(breaks):])
                for number, line in enumerate(inner[1:-1]):
                    if len(line) > self._max_line:
                        self.long_line = self._lines + 2 + number
                        return
            last = max(block.rfind(b"\n"), block.rfind(b"\r") if self._cr else -1)
            self._line_bytes = len(block) - last - 1
        if self._line_bytes > self._max_line:
            self.long_line = self._lines + block.count(b"\n") + 1


def cap_text(count: int, unit: str = "bytes") -> str:
    """A cap as people read it: "1 MiB", "2,000 characters"."""
    if unit == "bytes" and count % MIB == 0:
        return f"{count // MIB:,} MiB"
    return f"{count:,} {unit}"


def check_text(found: str, scan: ContentScan | None, limits: Limits) -> None:
    """Refuse a CSV or XML upload for what the hashing pass saw: a NUL byte anywhere, a CSV
    line over the line cap, an XML file with more tags than the element cap. (Invalid UTF-8 is
    ``check_utf8``'s, which can tell Windows-1252 apart.)"""
    if scan is None or found not in (CSV, XML):
        return
    if scan.nul is not None:
        offset, line = scan.nul
        raise FileProblem.of(
            "E-FILE-FORMAT", f"Byte {offset:,} (line {line:,}) is a NUL byte, which text files "
            "never contain: the file is binary or damaged, not CSV or XML.", line=line,
            hint="Export the file again as CSV UTF-8 or XML and upload the new file.")
    if found == CSV and scan.long_line is not None:
        line = scan.long_line
        raise FileProblem.of(
            "E-FILE-LIMIT", f"Line {line:,} is longer than the {cap_text(limits.max_line_bytes)} "
            "a line may have.", line=line,
            hint="A cell holds far too much text, or the file is not a CSV export; export the "
                 "file again from the source system.")
    if found == XML and scan.tags > limits.max_xml_elements:
        raise FileProblem.of(
            "E-FILE-LIMIT", f"The XML has more than {limits.max_xml_elements:,} elements, the most "
            "a file may have.", hint="Split the submission into smaller files.")
