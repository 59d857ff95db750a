"""The ``cart`` family's plugin object ``FAMILY`` (entry point ``cart`` in pyproject.toml).

CART files are XML, not tables, so the family brings what the kit's ``Family`` cannot know: its
reader (``reader.py``), its template, how a file is recognised (the root element) and which of
the two deadline tables (inpatient, outpatient) a file and an obligation answer. Its layout,
calendar and the rest of its obligations are ``manifest.toml``.
"""

from __future__ import annotations

from gateway_plugins.hospital.cart.obligations import CartObligations
from gateway_plugins.hospital.cart.reader import ROOT, read_cart
from gateway_plugins.hospital.cart.results import CartResults
from gateway_plugins.hospital.cart.rules import cart_rules, hospital_type
from gateway_plugins.hospital.cart.template import cart_template
from gateway_schemas import schema_root
from lxml import etree

from gateway.contract import (
    Candidate,
    Family,
    FileSample,
    Manifest,
    Obligation,
    Submitter,
    owed_periods,
)

MEASURE, LEVEL = "CART", "summary"


def recognise(manifest: Manifest, sample: FileSample) -> list[Candidate]:
    """A CART file is XML whose root is <hospital-measures>. A root in another namespace is
    still claimed so the reader can say which namespace is wrong (E-XML-NAMESPACE)."""
    if sample.format != "xml" or not sample.xml_root:
        return []
    if etree.QName(sample.xml_root).localname != ROOT:
        return []
    text = (sample.xml_fields.get("reporting-year") or "").strip()
    year = int(text) if text.isdigit() and len(text) == 4 else None
    return [Candidate(manifest.family, MEASURE, LEVEL, year)]


def owed(manifest: Manifest, submitter: Submitter, reporting_year: int) -> list[Obligation]:
    """Every quarter, listed with the deadline the manifest's ``owed_setting`` names."""
    return owed_periods(manifest, MEASURE, LEVEL, submitter, reporting_year,
                        manifest.data["obligation"]["owed_setting"])


FAMILY = Family(
    "gateway_plugins.hospital.cart", schemas=schema_root() / "cart", recognise=recognise,
    read_records=lambda m, route, document: read_cart(document.path, document.limits),
    template=lambda m, route, format: cart_template(route.reporting_year)
    if format == "xml" else None,
    rules=cart_rules, results=lambda m, route, context: CartResults(m, hospital_type(context)),
    obligations=owed,
    obligation_reader=lambda m, route, sample: CartObligations(m, MEASURE, LEVEL,
                                                               route.reporting_year, sample))
