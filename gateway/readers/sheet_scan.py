"""A worksheet's used area and its kinds of texts, read from its XML before a reader opens it.

calamine, behind both workbook readers, holds a sheet as a dense grid from its first to its
last used row and column. It places each cell element (local name ``c``, whatever its namespace
prefix) by the last ``r`` attribute among its first ``r``/``s``/``t`` attributes, or, for a cell
without one, right of the cell before it, in the row that the last ``<row r="...">`` and the
rows ended since name. One reference such as XFD1048576 makes it allocate half a terabyte and
abort, so the area (counted from A1) is capped before the reader runs (``zipcheck``).

Reading every reference in Python cost a third of a second per 100,000 rows, so a sheet is read
in one of two ways:

- ``SheetScan``, the usual form: every cell tag starts ``<c r="`` with a plain reference, as
  Excel, LibreOffice, openpyxl and xlsxwriter write it. Each chunk is searched once by RE2
  (Arrow's regular-expression kernel, a DFA whose cost does not grow with the number of cells)
  for anything that is not a plain cell within the widest column and the last row seen so far;
  the last cell of a chunk without such a thing gives the chunk's last row, and a chunk with one
  is read in Python. Anything outside the usual form -- a cell without a reference, a reference
  not first or given twice, a namespace prefix, a reference in lower case, with four letters
  or a leading zero -- sets ``unusual``, and the caller reads the sheet again with:
- ``ExactScan``, which follows calamine's placing (a row at a time where its cells have no
  reference or one ordinary reference each, tag by tag otherwise; slower, such sheets are rare). It
  calls a sheet ``unreadable`` where it could be misled: a comment, CDATA section or processing
  instruction among the cells, or a cell or row tag it cannot read whole.

Both also say whether a cell may be a text that fastexcel's type inference takes for an empty
cell (``texts``): an inline text, or a value that does not start as a number does (a formula's
text, an error value, a text without a type). ``SharedTextsScan`` says it of the table of texts.
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache

from gateway.contract.lazy import lazy_module

pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")

_TAIL = 64  # bytes of the chunk before kept, so no plain reference is split between two

# Cell tags outside the usual form (valid both for Python's re and for RE2).
_UNUSUAL = (
    rb":c[\s/>]"  # a cell element with a namespace prefix
    rb"|<c(?:[>/]|\s\s|[\t\r\n\f]|\s[^r]|\sr[^=]|\sr=[^\"])"  # a cell tag not starting r="
    rb'|<c r="(?:[^A-Z]|[A-Z]{4}|[A-Z]{1,3}(?:[^A-Z1-9]|[1-9][0-9]{0,6}[^0-9"]|[1-9][0-9]{7}))'
    rb"|[\"']\s*r\s*="  # an r attribute after another attribute: a second reference
)
# A value fastexcel's inference may take for an empty cell: see the module's docstring.
_TEXT = rb"(?:<|:)(?:v>(?:[^0-9<-]|-[^0-9]|-?[0-9]+\.#)|v[\s/]|is[\s>/])"
_NOTHING = rb"\b\B"  # matches nowhere, in RE2 (which has no lookahead) as in Python
_PLAIN_LAST = re.compile(rb'<c r="[A-Z]{1,3}([1-9][0-9]{0,6})"')
_LAST_CELLS = 4096  # bytes at a chunk's end read for its last cells' rows


class SheetScan:
    """The usual form of a sheet, chunk by chunk (see the module's docstring)."""

    def __init__(self) -> None:
        self.last_row = 0
        self.last_column = 0  # 1-based
        self.unusual = False
        self.texts = False
        self._tail = b""

    def feed(self, text: bytes) -> None:
        if self.unusual:
            return
        window = self._tail + text
        self._tail = window[-_TAIL:]
        # the rows of the last cells (the very last tag may be cut off by the chunk's end)
        last = _PLAIN_LAST.findall(window, max(len(window) - _LAST_CELLS, 0))
        row = max(self.last_row, max(map(int, last), default=0))
        if _re2_finds(_beyond(self.last_column, row, not self.texts), window):
            self._explain(window, row)
        if not self.unusual:
            self.last_row = max(self.last_row, row)

    def _explain(self, window: bytes, row: int) -> None:
        """The chunk holds something the fast search looks for: which, and the references
        beyond the widest column and the last row (in Python)."""
        if _re2_finds(_UNUSUAL.decode("ascii"), window):
            self.unusual = True
            return
        if not self.texts and _re2_finds(_TEXT.decode("ascii"), window):
            self.texts = True
        wider = _python(rb'<c r="(%s)[0-9]' % _letters_beyond(self.last_column))
        for letters in set(wider.findall(window)):
            self.last_column = max(self.last_column, _column_number(letters))
        lower = _python(rb'<c r="[A-Z]{1,3}(%s)"' % _digits_beyond(row))
        for digits in set(lower.findall(window)):
            self.last_row = max(self.last_row, int(digits))


def _beyond(column: int, row: int, texts: bool) -> str:
    """What the fast search looks for: an unusual cell tag, a plain reference right of
    ``column`` or below ``row``, and (if ``texts``) a value that may be such a text."""
    parts = [_UNUSUAL, rb'<c r="(?:%s)[0-9]' % _letters_beyond(column),
             rb'<c r="[A-Z]{1,3}(?:%s)"' % _digits_beyond(row)]
    if texts:
        parts.append(_TEXT)
    return b"|".join(parts).decode("ascii")


def _re2_finds(pattern: str, text: bytes) -> bool:
    """Whether RE2 finds ``pattern`` in ``text``, each byte one (Latin-1) character."""
    return bool(pc.match_substring_regex(_one_value(text), pattern)[0].as_py())


def _one_value(text: bytes) -> pa.Array:
    """``text`` as a one-value binary array, wrapped, not copied."""
    return pa.Array.from_buffers(pa.binary(), 1, [
        None, pa.py_buffer(struct.pack("<ii", 0, len(text))), pa.py_buffer(text)])


@lru_cache(maxsize=64)
def _python(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


def _letters_beyond(column: int) -> bytes:
    """Column letters (one to three, upper case) naming a column right of ``column``."""
    if column <= 0:
        return rb"[A-Z]{1,3}"
    if column >= _column_number(b"ZZZ"):
        return _NOTHING
    return _greater(column_letters(column), b"A", b"Z", 3)


def _digits_beyond(row: int) -> bytes:
    """Row numbers (one to seven digits, no leading zero) greater than ``row``."""
    if row <= 0:
        return rb"[1-9][0-9]{0,6}"
    if row >= 9_999_999:
        return _NOTHING
    return _greater(str(row).encode(), b"0", b"9", 7)


def _greater(word: bytes, low: bytes, high: bytes, longest: int) -> bytes:
    """An alternation of the words over ``low``-``high`` (no leading ``low`` for digits) that
    come after ``word`` in the order of their values: longer ones, or as long and larger."""
    size = len(word)
    first = b"1" if low == b"0" else low
    options = []
    if size < longest:
        options.append(b"[%s-%s][%s-%s]{%d,%d}" % (first, high, low, high, size, longest - 1))
    for i in range(size):
        if word[i] < high[0]:
            rest = b"[%s-%s]{%d}" % (low, high, size - i - 1) if i < size - 1 else b""
            options.append(re.escape(word[:i]) + b"[%c-%s]" % (word[i] + 1, high) + rest)
    return b"|".join(options) or _NOTHING


def column_letters(number: int) -> bytes:
    """A 1-based column number as its letters (1 -> A, 27 -> AA)."""
    letters = b""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = bytes([65 + rest]) + letters
    return letters


def _column_number(letters: bytes) -> int:
    """Column letters (either case, as calamine reads them) as a 1-based number."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


# -- the exact reading -----------------------------------------------------------------------

_SPACE = rb" \t\r\n"  # what ends an element's name for the XML reader
_ATTRIBUTE_SPACE = b" \t\n\x0c\r"  # what calamine skips around attributes
_LONGEST_TAG = 256 * 1026  # what _TAG reads at most
_HOLD = _LONGEST_TAG + 4096  # bytes left for the next chunk, so every tag is read whole
_PREFIX = rb"(?:[^\s<>/=\"']{0,64}:)?"
_END_OF_NAME = rb"(?=[%s/>])" % _SPACE
# a tag's attributes and its end (group 2); absent when the tag is longer than this reads
_REST = rb"(?:((?:[^>\"']|\"[^\"]{0,1024}\"|'[^']{0,1024}'){0,256})>)?"
# A cell's or row's start tag, or a row's end tag (group 1: the name, "/row" for the end).
_TAG = re.compile(rb"<" + _PREFIX + rb"(c|row|/" + _PREFIX + rb"row)" + _END_OF_NAME + _REST)
_ROW_TAG = re.compile(rb"<" + _PREFIX + rb"(row|/" + _PREFIX + rb"row)" + _END_OF_NAME + _REST)
# the same without namespace prefixes, much faster (for windows without ":row")
_PLAIN_ROW_TAG = re.compile(rb"<(row|/row)" + _END_OF_NAME + _REST)
_CELL_START = re.compile(rb"<c[%s/>]" % _SPACE)
# A cell tag with one plain reference, after at most two s or t attributes (so calamine, which
# stops at the third r, s or t, takes it), among attributes Excel writes.
_OTHER = rb'(?:[ \t\r\n]+(?:cm|vm|ph)="[^"<>]*")*'
_ORDINARY_CELL = re.compile(
    rb'<c' + _OTHER + rb'(?:[ \t\r\n]+[st]="[^"<>]*"' + _OTHER + rb'){0,2}'
    rb'[ \t\r\n]+r="([A-Z]{1,3})([1-9][0-9]{0,6})"'
    rb'(?:[ \t\r\n]+(?:s|t|cm|vm|ph)="[^"<>]*")*[ \t\r\n]*/?>')
_MAYBE_REFERENCE = re.compile(rb"r[\s]*=|:c[\s/>]")  # an r attribute, or a prefixed cell
_HIDDEN = re.compile(rb"<[!?]")  # a comment, CDATA section or processing instruction
_REFERENCE = re.compile(rb"([A-Za-z]+)([0-9]+)")
_ROW_NUMBER = re.compile(rb"[A-Za-z]*([0-9]+)")


class ExactScan:
    """Any form of a sheet, read as calamine reads it (see the module's docstring); fed the
    XML from its start, chunk by chunk, then ``finish``."""

    def __init__(self) -> None:
        self.last_row = 0
        self.last_column = 0  # 1-based
        self.texts = False
        self.unreadable = False
        self._row_index = 0  # 0-based, as calamine counts
        self._column_index = 0
        self._carry = b""
        self._in_cells = False

    def feed(self, text: bytes, final: bool = False) -> None:
        if self.unreadable:
            return
        data = self._carry + text
        end = len(data) if final else len(data) - _HOLD
        if end <= 0:
            self._carry = data
            return
        if not self.texts and _python(_TEXT).search(data, 0, end + _TAIL):
            self.texts = True
        start = 0
        if not self._in_cells:  # what comes before the cells holds the prolog and comments
            found = data.find(b"<sheetData", 0, end + _TAIL)
            if found < 0:
                self._carry = data[max(end - _TAIL, 0):]
                return
            self._in_cells, start = True, found
        if _HIDDEN.search(data, start, min(end + _TAIL, len(data))):
            self.unreadable = True
            return
        done = start
        rows = _ROW_TAG if data.find(b":row", start) >= 0 else _PLAIN_ROW_TAG
        for tag in rows.finditer(data, start):
            if tag.start() >= end:
                break
            if tag.group(2) is None or not self._row_cells(data, done, tag.start()):
                self.unreadable = True  # a tag longer than _TAG reads, or cut off
                return
            self._read(*tag.groups())
            done = tag.end()
        for tag in _TAG.finditer(data, done):  # the cells after the last row tag
            if tag.start() >= end:
                break
            if tag.group(2) is None:
                self.unreadable = True
                return
            self._read(*tag.groups())
            done = tag.end()
        self._carry = data[max(end, done):]

    def _row_cells(self, data: bytes, start: int, end: int) -> bool:
        """The cells between two row tags; False if a tag cannot be read whole. Cells without
        any reference, and cells each with one ordinary reference, are read a row at once."""
        plain = data.find(b"r", start, end) < 0 and data.find(b":c", start, end) < 0
        if not plain:
            ordinary = _ORDINARY_CELL.findall(data, start, end)
            if ordinary and len(ordinary) == len(_CELL_START.findall(data, start, end)) \
                    and data.find(b":c", start, end) < 0:
                # the widest and lowest references: padded, letters and digits sort as numbers
                widest = max(letters.rjust(3) for letters, _ in ordinary).lstrip()
                lowest = max(row.rjust(7) for _, row in ordinary)
                self.last_column = max(self.last_column, _column_number(widest))
                self.last_row = max(self.last_row, int(lowest))
                self._column_index = _column_number(ordinary[-1][0])
                return True
            plain = not _MAYBE_REFERENCE.search(data, start, end)
        if plain:
            cells = len(_CELL_START.findall(data, start, end))
            if cells:
                self._column_index += cells
                self.last_column = max(self.last_column, self._column_index)
                self.last_row = max(self.last_row, self._row_index + 1)
            return True
        for tag in _TAG.finditer(data, start, end):
            if tag.group(2) is None:
                return False
            self._read(*tag.groups())
        return True

    def finish(self) -> None:
        self.feed(b"", final=True)

    def _read(self, name: bytes, attributes: bytes) -> None:
        """One tag: a cell's start, a row's start or a row's end (``/row``)."""
        empty = attributes.endswith(b"/")  # read as a start and an end tag
        if empty:
            attributes = attributes[:-1]
        if name != b"c":
            if not name.startswith(b"/"):
                number = _first_reference(attributes)
                row = _ROW_NUMBER.fullmatch(number) if number is not None else None
                if row is not None and int(row.group(1)) > 0:
                    self._row_index = int(row.group(1)) - 1
            if name.startswith(b"/") or empty:
                self._row_index += 1
                self._column_index = 0
            return
        reference = _cell_reference(attributes)
        if reference is None:
            row, column = self._row_index + 1, self._column_index + 1
        else:
            parsed = _REFERENCE.fullmatch(reference)
            if parsed is None or int(parsed.group(2)) == 0:
                return  # calamine refuses the sheet: nothing is allocated
            row, column = int(parsed.group(2)), _column_number(parsed.group(1))
        self._column_index = column
        self.last_row = max(self.last_row, row)
        self.last_column = max(self.last_column, column)


def _attributes(raw: bytes) -> list[tuple[bytes, bytes]] | None:
    """A tag's attributes as calamine's reader splits them; ``None`` where it would fail."""
    found, at, size = [], 0, len(raw)
    while True:
        while at < size and raw[at] in _ATTRIBUTE_SPACE:
            at += 1
        if at >= size:
            return found
        equals = raw.find(b"=", at)
        if equals < 0:
            return None
        key = raw[at:equals].rstrip(_ATTRIBUTE_SPACE)
        at = equals + 1
        while at < size and raw[at] in _ATTRIBUTE_SPACE:
            at += 1
        if at >= size or raw[at] not in b"\"'":
            return None
        close = raw.find(raw[at:at + 1], at + 1)
        close = size if close < 0 else close
        found.append((key, raw[at + 1:close]))
        at = close + 1


def _first_reference(raw: bytes) -> bytes | None:
    """A row's ``r``: the first one (calamine stops at it)."""
    for key, value in _attributes(raw) or []:
        if key == b"r":
            return value
    return None


def _cell_reference(raw: bytes) -> bytes | None:
    """A cell's ``r`` as calamine takes it: the last one among the first three ``r``, ``s``
    or ``t`` attributes (it stops when it has counted three)."""
    reference, counted = None, 0
    for key, value in _attributes(raw) or []:
        if key in (b"r", b"s", b"t"):
            counted += 1
            if key == b"r":
                reference = value
            if counted == 3:
                break
    return reference


# -- the table of texts ------------------------------------------------------------------------

# The texts fastexcel's type inference counts as empty cells (its NULL_STRING_VALUES), as the
# table of texts writes them; the empty text is read as empty by both readers.
EMPTY_WORDS = ("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
               "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
# An entry that is one of them, or whose text is other than its <t> element's characters (rich
# or phonetic runs, CDATA, character references, _xHHHH_ escapes); RE2 syntax.
_NOT_PLAIN_ENTRY = ("".join((
    r">[ \t\r\n]*(?:", "|".join(re.escape(word.replace("<", "&lt;").replace(">", "&gt;"))
                               for word in sorted(EMPTY_WORDS, key=len, reverse=True)),
    r")[ \t\r\n]*<")) + r"|CDATA|&#|_x[0-9A-Fa-f]{4}_|<(?:[^\s<>/=\"']{0,64}:)?(?:r|rPh)[\s>/]"
    # entries and text elements in other forms than <si>, <t>, <t .../>, </t> (not counted)
    r"|<[^\s<>/=\"']{1,64}:(?:si|t)[\s>/]|</[^\s<>/=\"']{1,64}:t>|<si[\s/]|<t[\t\r\n]")


_EMPTY_TEXT = re.compile(rb"<t(?: [^<>]*)?/>")


class SharedTextsScan:
    """Whether the table of texts (``xl/sharedStrings.xml``) may hold a text fastexcel reads
    as empty: an entry that is one (spaces around it trimmed, as calamine trims them), or an
    entry this scan cannot read as plainly as calamine does -- rich or phonetic runs, CDATA,
    character references, ``_xHHHH_`` escapes, more or fewer than one text element."""

    def __init__(self) -> None:
        self.texts = False
        self._entries = 0
        self._text_ends = 0
        self._carry = b""

    def feed(self, text: bytes, final: bool = False) -> None:
        if self.texts:
            return
        data = self._carry + text
        cut = len(data) if final else data.rfind(b"<")
        cut = len(data) if cut < 0 else cut
        whole, self._carry = data[:cut], data[cut:]
        if _re2_finds(_NOT_PLAIN_ENTRY, whole):
            self.texts = True
        self._entries += whole.count(b"<si>")
        self._text_ends += whole.count(b"</t>") + len(_EMPTY_TEXT.findall(whole))

    def finish(self) -> None:
        self.feed(b"", final=True)
        if self._entries != self._text_ends:
            self.texts = True
