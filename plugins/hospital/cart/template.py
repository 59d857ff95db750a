"""The blank CART file: the XML layout of hospital.md with every current measure in its shape.

Generated from the manifest (current measures, their kind, who must report them) and the
reader's element names, so the skeleton cannot drift from what the reader accepts. Comments say
what goes in each element; a hospital fills in the values from its CART results.
"""

from __future__ import annotations

from gateway_plugins.hospital.cart.reader import HEADER, MEASURE, ROOT, namespace
from lxml import etree

from gateway.contract import load_manifest

_HEADER_NOTES = {
    "provider-id": "the hospital's 6-digit CMS Certification Number (CCN), e.g. 240001",
    "npi": "the hospital's 10-digit NPI (optional: delete the element if you have none)",
    "reporting-year": "the year the data are due, e.g. 2015",
    "discharge-quarter": "the quarter of discharges, e.g. 2015Q1",
}
_FIELDS = {"rate": ("denominator", "numerator", "rate"), "median": ("cases", "median-minutes")}
_KIND_NOTES = {
    "rate": "rate measure: denominator and numerator (whole numbers), rate = 100 * numerator / "
            "denominator with one decimal; leave out <rate> when the denominator is 0",
    "median": "median measure: cases (whole number) and median-minutes (whole minutes, "
              "0-1440); with cases 0 leave out <median-minutes>",
}


def cart_template(year: int) -> bytes:
    """The skeleton of a CART file for reporting year ``year``."""
    data = load_manifest("gateway_plugins.hospital.cart").data
    ns = namespace()
    root = etree.Element(f"{{{ns}}}{ROOT}", nsmap={None: ns})
    root.append(etree.Comment(" One file per hospital and discharge quarter (hospital.md). "))
    for name in HEADER:
        root.append(etree.Comment(f" {name}: {_HEADER_NOTES[name]} "))
        element = etree.SubElement(root, f"{{{ns}}}{name}")
        element.text = str(year) if name == "reporting-year" else ""
    for measure_id, spec in data["abstracted"].items():
        required = " and ".join(spec["required_of"])
        root.append(etree.Comment(
            f" {measure_id}: {spec['name']}. Required of {required} hospitals; "
            f"{_KIND_NOTES[spec['kind']]}. "))
        element = etree.SubElement(root, f"{{{ns}}}{MEASURE}", id=measure_id)
        for field in _FIELDS[spec["kind"]]:
            etree.SubElement(element, f"{{{ns}}}{field}").text = ""
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
