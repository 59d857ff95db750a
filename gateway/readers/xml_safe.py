"""Safe, streaming XML: no DTDs, no entities, no XInclude, no network, flat memory.

The prolog (everything before the root element) is read first, byte by byte and in full: a DTD
or entity declaration there is refused before lxml sees the file, as is an encoding other than
UTF-8. lxml is still called with ``resolve_entities=False``, ``no_network=True``,
``load_dtd=False`` and ``huge_tree=False`` so a declaration that slipped past could expand
nothing; libxml2's own caps (10,000,000 characters of text, 256 levels) become rejections that
name the cap. While parsing, the depth and element count are capped and an XInclude element is
refused: lxml never resolves one, but a file that relies on one is not what it claims to be.
Callers clear elements as they are consumed, so memory stays flat however many records there are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from gateway.contract.lazy import lazy_module
from gateway.contract.records import Document, FileSample
from gateway.readers.limits import MIB, Limits
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import XML

etree = lazy_module("lxml.etree")

_PROLOG_BYTES = MIB
_PROLOG_PART = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
XINCLUDE = "{http://www.w3.org/2001/XInclude}"
# libxml2's built-in limits (huge_tree=False): a text node of 10,000,000 bytes, 256 levels.
_LIBXML_TEXT_LIMIT = 10_000_000


def _unsafe(message: str, line: int | None = None, hint: str | None = None) -> FileProblem:
    return FileProblem.of("E-FILE-UNSAFE-XML", message, line=line,
                          hint=hint or "Remove the <!DOCTYPE ...> block; the layout needs no DTD "
                                       "or entities.")


def _after_prolog(head: bytes) -> bytes:
    """What follows the XML declaration, comments, processing instructions and white space at
    the start of ``head``: the root element, a declaration, or (when ``head`` ends inside the
    prolog) nothing or an unfinished comment."""
    at = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while part := _PROLOG_PART.match(head, at):
        at = part.end()
    return head[at:].lstrip()


def _unfinished_comment(rest: bytes) -> bool:
    """A comment that ``head`` cut off (a comment that ends is part of the prolog already)."""
    return rest.startswith(b"<!--") or b"<!--".startswith(rest)


def prolog_declaration(head: bytes) -> tuple[str, int] | None:
    """The kind and line of a ``<!...>`` declaration (DOCTYPE, ENTITY, ...) in the prolog at the
    start of ``head``, or None when the prolog ends at an element (or ``head`` ends first)."""
    rest = _after_prolog(head)
    if not rest.startswith(b"<!") or _unfinished_comment(rest):
        return None
    line = head[: len(head) - len(rest)].count(b"\n") + 1
    what = re.match(rb"<!([A-Za-z]*)", rest)
    return (what.group(1).decode("ascii").upper() if what and what.group(1) else "declaration",
            line)


def refuse_declarations(path: Path) -> None:
    """Read the prolog (XML declaration, comments, processing instructions) up to the root
    element; refuse a DTD or entity declaration there (the only place one can be), a prolog
    over 1 MiB, and an encoding other than UTF-8."""
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_BYTES + 1)
    declaration = _PROLOG_PART.match(head, 3 if head.startswith(b"\xef\xbb\xbf") else 0)
    if declaration and declaration.group(1).startswith(b"<?xml"):
        _check_encoding(declaration.group(1))
    found = prolog_declaration(head)
    if found:
        name, line = found
        raise _unsafe(f"The XML declares a {name} on line {line}; DTDs and entity declarations "
                      "are refused.", line)
    rest = _after_prolog(head)
    if len(head) > _PROLOG_BYTES and (not rest or _unfinished_comment(rest)):
        raise _unsafe("The XML has more than 1 MiB of comments or space before its root "
                      "element.", hint="Export the file again; a layout file starts with its "
                                       "root element.")


def _check_encoding(declaration: bytes) -> None:
    found = _ENCODING.search(declaration)
    if found and found.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8",
                                                                                 "utf8"):
        name = found.group(1).decode("ascii")
        raise FileProblem.of("E-FILE-ENCODING", f"The XML declares encoding {name}; the gateway "
                             "reads UTF-8 only.", line=1,
                             hint="Export the XML again with encoding UTF-8.")


def safe_iterparse(path: Path, events: tuple[str, ...] = ("start", "end"),
                   tag: str | None = None, limits: Limits | None = None
                   ) -> Iterator[tuple[str, etree._Element]]:
    """lxml ``iterparse`` with every unsafe feature off, depth and element count capped, and
    XInclude refused; syntax errors become ``E-FILE-MALFORMED`` with their line. ``tag``
    (a ``{namespace}name``) keeps only that element's events."""
    limits = limits or Limits()
    parser = etree.iterparse(
        str(path), events=("start", "end"), resolve_entities=False, no_network=True,
        load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
        remove_pis=True)
    checked = _checked(parser, limits, "start" in events, "end" in events)
    if tag is None:
        return checked
    return ((event, element) for event, element in checked if element.tag == tag)


def _checked(parser: etree.iterparse, limits: Limits, want_start: bool, want_end: bool
             ) -> Iterator[tuple[str, etree._Element]]:
    """The events, with the checks made on each start tag. This loop runs once per event of
    every XML file, so it does as little as it can: two counters and a prefix test."""
    max_depth, max_elements = limits.max_xml_depth, limits.max_xml_elements
    depth = elements = 0
    etree.clear_error_log()  # lxml's log is per thread, not per parse: start it empty
    try:
        for event, element in parser:
            if event == "end":
                depth -= 1
                if want_end:
                    yield event, element
                continue
            depth += 1
            elements += 1
            if depth > max_depth or elements > max_elements:
                raise _over_cap(element, depth > max_depth, limits)
            if element.tag.startswith(XINCLUDE):  # comments and PIs are removed: tags are str
                raise _unsafe(f"Line {element.sourceline} has an XInclude element; XInclude is "
                              "not allowed: the gateway never reads other files.",
                              element.sourceline, hint="Put the included content into the file "
                                                       "itself and upload it again.")
            if elements == 1 and element.getroottree().docinfo.doctype:
                raise _unsafe("The XML declares a DTD; DTDs are refused.")
            if want_start:
                yield event, element
    except etree.XMLSyntaxError as err:
        raise _syntax_problem(err, limits) from None


def _over_cap(element: etree._Element, too_deep: bool, limits: Limits) -> FileProblem:
    line = element.sourceline
    if too_deep:
        return FileProblem.of("E-FILE-LIMIT", f"The XML nests elements more than "
                              f"{limits.max_xml_depth} levels deep (line {line}), deeper than a "
                              "file may.", line=line,
                              hint="Export the file again from the source system.")
    return FileProblem.of("E-FILE-LIMIT", f"The XML has more than {limits.max_xml_elements:,} "
                          "elements, the most a file may have.", line=line,
                          hint="Split the submission into smaller files.")


def _syntax_problem(err: etree.XMLSyntaxError, limits: Limits) -> FileProblem:
    """libxml2's messages describe syntax, not content; keep the line, use our words. Its
    built-in caps get their own message, since "not well formed" would send the submitter
    looking for a typo."""
    # The exception may carry only the parser's last word ("no element found", line 0); the
    # error log (emptied when this parse began) has the first real error and its line.
    first = next((entry for entry in err.error_log if entry.line > 0), None)
    line = first.line if first is not None else (err.position[0] if err.position else 0)
    line = line if line and line > 0 else None
    near = f" near line {line}" if line else ""
    text = (f"{first.type_name} {first.message}" if first is not None else str(err.msg or "")
            ).lower()
    if "excessive depth" in text:  # before "huge": libxml2 2.14 adds "use XML_PARSE_HUGE"
        return FileProblem.of("E-FILE-LIMIT", f"The XML nests elements more than "
                              f"{limits.max_xml_depth} levels deep{near}, deeper than a file "
                              "may.", line=line,
                              hint="Export the file again from the source system.")
    if "huge" in text or "too long" in text:
        return FileProblem.of("E-FILE-LIMIT", f"A text in the XML{near} is longer than the "
                              f"{_LIBXML_TEXT_LIMIT:,} characters a text may have.", line=line,
                              hint="Export the file again from the source system.")
    if "undeclared_entity" in text or ("entity" in text and "not defined" in text):
        return _unsafe(f"The XML refers to an entity (&name;){near} that it does not define; "
                       "entities are refused.", line,
                       hint="Write '&' as '&amp;' and '<' as '&lt;'; no other &name; is allowed.")
    return FileProblem.of("E-FILE-MALFORMED", f"The XML is not well formed{near}.", line=line,
                          hint="Export the file again; every element must be closed and '&' "
                               "written as '&amp;'.")


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class XmlDocument(Document):
    """An XML upload: the root for routing; families parse records with ``safe_iterparse``."""

    format = XML

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        refuse_declarations(path)
        self._sample = self._read_sample()

    def _read_sample(self) -> FileSample:
        """The root and the leading text elements under it (the file's header part). It ends at
        the first element with children or the first repeated name, where records begin, so a
        file of a million empty records is not read here."""
        root: str | None = None
        fields: dict[str, str] = {}
        depth = 0
        for event, element in safe_iterparse(self.path, limits=self.limits):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = element.tag
                continue
            depth -= 1
            if depth == 1:
                name = _local(element.tag)
                if len(element) or name in fields or len(fields) > 100:
                    break
                fields[name] = (element.text or "").strip()
                element.clear()
        if root is None:
            raise FileProblem.of("E-FILE-EMPTY", "The XML file has no root element.")
        return FileSample(format=XML, xml_root=root, xml_fields=fields)

    def sample(self) -> FileSample:
        return self._sample
