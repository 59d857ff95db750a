"""Reading a CART XML file into measure records, streamed with cleared elements.

The core has already refused DTDs and entity declarations (``gateway.readers.xml_safe``) and
parses with entities, DTD loading and the network off. This reader walks the elements once:
header elements (provider-id, npi, reporting-year, discharge-quarter) are remembered and
repeated onto every ``<measure>`` record; each measure becomes one raw record positioned by its
element path (``/hospital-measures/measure[3]``) and line. Elements the layout does not have,
elements outside the family's namespace and retired measures are file-layer problems, collected
over the whole file and raised at the end so the submitter sees all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gateway_plugins.hospital.common.periods import quarter_order

from gateway.contract import (
    FileProblem,
    Finding,
    Limits,
    RecordBatch,
    lazy_module,
    load_manifest,
    safe_iterparse,
)

np = lazy_module("numpy")
pd = lazy_module("pandas")
etree = lazy_module("lxml.etree")

ROOT = "hospital-measures"
HEADER = {"provider-id": "provider_id", "npi": "npi", "reporting-year": "reporting_year",
          "discharge-quarter": "discharge_quarter"}
MEASURE = "measure"
MEASURE_FIELDS = {"denominator": "denominator", "numerator": "numerator", "rate": "rate",
                  "cases": "cases", "median-minutes": "median_minutes"}
COLUMNS = [*HEADER.values(), "measure_id", *MEASURE_FIELDS.values()]
# each column's element (or attribute) as the file writes it, for findings in its own words
NAMES = {**{c: e for e, c in HEADER.items()}, **{c: e for e, c in MEASURE_FIELDS.items()},
         "measure_id": "measure/@id"}
BATCH = 1000
MAX_PROBLEMS = 200


def namespace() -> str:
    """The family's XML namespace, from its manifest."""
    return str(load_manifest("gateway_plugins.hospital.cart").data["family"]["namespace"])


def retired() -> dict[str, str]:
    """Retired measure ids (upper case) and the quarter each was retired with."""
    table = load_manifest("gateway_plugins.hospital.cart").data["retired"]
    return {measure.upper(): quarter for measure, quarter in table.items()}


def official(measure_id: str) -> str:
    """A measure id as CMS spells it (the record layer stores codes upper case)."""
    table = load_manifest("gateway_plugins.hospital.cart").data
    for name in (*table["abstracted"], *table["retired"]):
        if name.upper() == measure_id.upper():
            return name
    return measure_id


def measure_xpath(measure_id: str, position: int) -> str:
    """A ``<measure>`` located as the abstractor knows it, by its id
    (``/hospital-measures/measure[@id='AMI-7a']``); by its position when it has no usable id."""
    if measure_id and "'" not in measure_id and len(measure_id) <= 40:
        return f"/{ROOT}/{MEASURE}[@id='{measure_id}']"
    return f"/{ROOT}/{MEASURE}[{position}]"


class CartReader:
    """One pass over a CART file: yields ``RecordBatch``es, then raises the file's problems."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits()
        self.ns = namespace()
        self._prefix = f"{{{self.ns}}}"  # tags in our namespace are "{ns}local": no QName needed
        self._measure_tag = self._prefix + MEASURE
        self.retired = retired()
        self.problems: list[Finding] = []
        self.header: dict[str, str] = {}
        # where each header value comes from (the root until its element is read), so a
        # problem with it is reported once, at its element, not on every <measure>
        self.places: dict[str, tuple[str, int]] = {}
        self.measures_seen = 0
        self.field_lines: list[dict[str, int]] = []  # per pending record: line of each field
        # a root in the wrong namespace puts every unprefixed element there too: one finding
        self.root_ns_wrong = False
        self.root_ns: str | None = None

    def problem(self, code: str, message: str, xpath: str, line: int | None,
                hint: str | None = None, measure: str | None = None) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Finding(code=code, message=message, xpath=xpath, line=line,
                                         hint=hint, record={"measure": measure}
                                         if measure else None))

    def _local(self, tag: object) -> str:
        if not isinstance(tag, str):
            return ""
        return tag[len(self._prefix):] if tag.startswith(self._prefix) else \
            etree.QName(tag).localname

    def _check_name(self, element: etree._Element, xpath: str) -> str | None:
        """The element's local name, or None (with a problem) when it is not in our namespace."""
        tag = element.tag
        if not isinstance(tag, str):
            return None
        if tag.startswith(self._prefix):
            return tag[len(self._prefix):]
        qname = etree.QName(tag)
        if self.root_ns_wrong and qname.namespace == self.root_ns:
            return None  # already reported on the root
        if qname.namespace != self.ns:
            found = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
            self.problem("E-XML-NAMESPACE", f"<{qname.localname}> is in {found}; every element "
                         f"must be in the namespace {self.ns}.", xpath, element.sourceline,
                         hint=f'Put xmlns="{self.ns}" on the root element <{ROOT}>.')
            return None
        return qname.localname

    def batches(self) -> Iterator[RecordBatch]:
        rows: list[dict[str, str]] = []
        xpaths: list[str] = []
        lines: list[int] = []
        depth = 0
        measure: dict[str, str] | None = None
        measure_path = ""
        for event, element in safe_iterparse(self.path, limits=self.limits):
            if event == "start":
                depth += 1
                if depth == 2 and (element.tag == self._measure_tag
                                   or self._local(element.tag) == MEASURE):
                    self.measures_seen += 1
                    measure_id = (element.get("id") or "").strip()
                    measure_path = measure_xpath(measure_id, self.measures_seen)
                    measure = {"measure_id": measure_id,
                               "__line__": str(element.sourceline or 0)}
                elif depth == 1:
                    self._start_root(element)
                continue
            depth -= 1
            if depth == 1:
                measure = self._end_top(element, measure, measure_path, rows, xpaths, lines)
                element.clear()
                # drop the processed siblings too, so memory stays flat
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
                if len(rows) >= BATCH:
                    yield self._batch(rows, xpaths, lines)
                    rows, xpaths, lines = [], [], []
            elif depth == 2 and measure is not None:
                self._measure_field(element, measure, measure_path)
        if rows:
            yield self._batch(rows, xpaths, lines)
        if self.problems:
            raise FileProblem(*self.problems)

    def _start_root(self, element: etree._Element) -> None:
        self.places = dict.fromkeys(HEADER.values(), (f"/{ROOT}", element.sourceline or 1))
        name = self._check_name(element, f"/{etree.QName(element.tag).localname}")
        if name is None:
            self.root_ns_wrong, self.root_ns = True, etree.QName(element.tag).namespace
        elif name != ROOT:
            self.problem("E-XML-UNKNOWN-ELEMENT", f"The root element is <{name}>; a CART file's "
                         f"root is <{ROOT}>.", f"/{name}", element.sourceline)

    def _end_top(self, element: etree._Element, measure: dict[str, str] | None,
                 measure_path: str, rows: list[dict[str, str]], xpaths: list[str],
                 lines: list[int]) -> dict[str, str] | None:
        local = self._local(element.tag)
        if local == MEASURE and measure is not None:
            if self._check_name(element, measure_path) is not None:
                self._take_measure(measure, measure_path, rows, xpaths, lines)
            return None
        path = f"/{ROOT}/{local}"
        name = self._check_name(element, path)
        if name is None:
            return None
        if name not in HEADER:
            self.problem("E-XML-UNKNOWN-ELEMENT", f"<{name}> is not part of the CART layout; the "
                         f"root holds {', '.join(f'<{h}>' for h in HEADER)} and <measure> "
                         "elements.", path, element.sourceline)
        elif self.measures_seen or HEADER[name] in self.header:
            self.problem("E-XML-UNKNOWN-ELEMENT", f"<{name}> is out of place: it is given once, "
                         "before the first <measure>.", path, element.sourceline)
        elif len(element):
            self.problem("E-XML-UNKNOWN-ELEMENT", f"<{name}> holds elements; it holds only "
                         "text.", path, element.sourceline)
        else:
            self.header[HEADER[name]] = (element.text or "").strip()
            self.places[HEADER[name]] = (path, element.sourceline or 1)
        return None

    def _measure_field(self, element: etree._Element, measure: dict[str, str],
                       measure_path: str) -> None:
        """One field of a measure; the element path is built only for a problem, since this
        runs for nearly every element of the file."""
        tag = element.tag
        if tag.startswith(self._prefix):
            name: str | None = tag[len(self._prefix):]
        else:
            name = self._check_name(element, f"{measure_path}/{self._local(tag)}")
            if name is None:
                return
        column = MEASURE_FIELDS.get(name)
        if column is None or len(element):
            self.problem("E-XML-UNKNOWN-ELEMENT", f"<{name}> is not part of a <measure>; a "
                         f"measure holds {', '.join(f'<{f}>' for f in MEASURE_FIELDS)}.",
                         f"{measure_path}/{name}", element.sourceline,
                         measure=measure.get("measure_id"))
        elif column in measure:
            self.problem("E-XML-UNKNOWN-ELEMENT", f"<{name}> is given twice in one <measure>.",
                         f"{measure_path}/{name}", element.sourceline,
                         measure=measure.get("measure_id"))
        else:
            measure[column] = (element.text or "").strip()
            measure[f"__line__{column}"] = str(element.sourceline or 0)

    def _take_measure(self, measure: dict[str, str], path: str, rows: list[dict[str, str]],
                      xpaths: list[str], lines: list[int]) -> None:
        line = int(measure.pop("__line__"))
        self.field_lines.append({c: int(measure.pop(f"__line__{c}", 0))
                                 for c in MEASURE_FIELDS.values()})
        measure_id = measure["measure_id"].upper()
        retired_with = self.retired.get(measure_id)
        quarter = self.header.get("discharge_quarter", "")
        if retired_with and quarter_order(quarter) >= quarter_order(retired_with):
            self.problem("E-MEASURE-RETIRED", f"{official(measure_id)} was retired with "
                         f"{retired_with} discharges; this file is for {quarter.upper()}.",
                         path, line, hint="Remove the retired measure from the file.",
                         measure=measure["measure_id"])
        rows.append({**self.header, **measure})
        xpaths.append(path)
        lines.append(line)

    def _batch(self, rows: list[dict[str, str]], xpaths: list[str], lines: list[int]
               ) -> RecordBatch:
        frame = pd.DataFrame(rows, columns=COLUMNS, dtype=object).fillna("")
        elements = {column: (name, np.asarray([f[column] for f in self.field_lines],
                                              dtype=np.int64))
                    for name, column in MEASURE_FIELDS.items()}
        self.field_lines = []
        return RecordBatch(frame=frame, xpaths=xpaths, lines=np.asarray(lines, dtype=np.int64),
                           places=dict(self.places), elements=elements, names=NAMES)


def read_cart(path: Path, limits: Limits | None = None) -> Iterator[RecordBatch]:
    """The records of a CART file (see ``CartReader``), read under ``limits`` (the default
    caps when None)."""
    return CartReader(path, limits).batches()
