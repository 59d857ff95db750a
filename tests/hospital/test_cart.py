"""CART specifics: XML safety at the file layer, hospital types, retired measures, results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status

EXAMPLES = (Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "cart" / "examples"
            / "2015" / "CART" / "summary")
VALID = EXAMPLES / "valid" / "cart-2015q1-pps.xml"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<hospital-measures xmlns="urn:mn-sqrms:cart:1">
  <provider-id>&lol9;</provider-id>
  <reporting-year>2015</reporting-year>
</hospital-measures>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE hospital-measures [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<hospital-measures xmlns="urn:mn-sqrms:cart:1">
  <provider-id>&secret;</provider-id>
  <reporting-year>2015</reporting-year>
</hospital-measures>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE hospital-measures SYSTEM "http://example.invalid/cart.dtd">
<hospital-measures xmlns="urn:mn-sqrms:cart:1"><reporting-year>2015</reporting-year>
</hospital-measures>
"""

# A DOCTYPE pushed past the core's 64 KiB prolog scan by a long comment: lxml meets it and the
# reader must still refuse it without expanding anything.
LATE_DOCTYPE = ("<?xml version=\"1.0\"?>\n<!--" + "x" * 70_000 + "-->\n"
                + BILLION_LAUGHS.split("\n", 1)[1])


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, LATE_DOCTYPE],
                         ids=["billion-laughs", "external-entity", "external-dtd",
                              "late-doctype"])
def test_unsafe_xml_is_refused_at_the_file_layer_quickly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cart.xml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    receipt = validate_file(path, submitter="test")
    elapsed = time.perf_counter() - started
    assert receipt.status is Status.REJECTED
    assert receipt.layer == "file"
    assert set(receipt.findings.by_code) == {"E-FILE-UNSAFE-XML"}
    assert elapsed < 5, f"unsafe XML took {elapsed:.2f} s to refuse"
    text_out = str(receipt.as_dict())
    assert "lollol" not in text_out and "root:" not in text_out  # nothing expanded or read


def _without(measure: str, tmp_path: Path) -> Path:
    lines = [line for line in VALID.read_text().splitlines() if f'id="{measure}"' not in line]
    path = tmp_path / "cart.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_pps_only_measure_missing_is_an_error_for_pps_only(tmp_path: Path) -> None:
    path = _without("ED-1a", tmp_path)
    pps = validate_file(path, submitter="t", options={"hospital_type": "PPS"})
    cah = validate_file(path, submitter="t", options={"hospital_type": "CAH"})
    unknown = validate_file(path, submitter="t")
    assert pps.status is Status.REJECTED and "E-RULE-MISSING-MEASURE" in pps.findings.by_code
    assert cah.status is Status.ACCEPTED
    assert unknown.status is Status.ACCEPTED_WITH_WARNINGS
    assert set(unknown.findings.by_code) == {"W-RULE-MISSING-MEASURE"}


def test_results_recompute_rates_and_keep_medians() -> None:
    receipt = validate_file(VALID, submitter="t", options={"hospital_type": "PPS"})
    measures = receipt.results["measures"]
    assert measures["IMM-2"] == {"kind": "rate", "denominator": 210, "numerator": 189,
                                 "rate": 90.0, "reported_rate": 90.0}
    assert measures["ED-1a"]["median_minutes"] == 246
    assert measures["OP-2"]["rate"] is None
    assert receipt.results["hospital_type"] == "PPS"


def test_retired_message_names_the_quarter() -> None:
    path = EXAMPLES / "invalid" / "E-MEASURE-RETIRED--hf-2-in-2015q1.xml"
    receipt = validate_file(path, submitter="t")
    (finding,) = receipt.findings.listed
    assert "2015Q1" in finding.message and finding.xpath.endswith("measure[@id='HF-2']")
    assert finding.line == 17


@pytest.mark.parametrize("root", ['<hospital-measures>', '<hospital-measures xmlns="urn:x">'])
def test_a_wrong_root_namespace_is_one_finding(tmp_path: Path, root: str) -> None:
    path = tmp_path / "cart.xml"
    path.write_text(VALID.read_text().replace('<hospital-measures xmlns="urn:mn-sqrms:cart:1">',
                                              root), encoding="utf-8")
    receipt = validate_file(path, submitter="t")
    (finding,) = receipt.findings.listed
    assert finding.code == "E-XML-NAMESPACE" and finding.line == 2
    assert finding.xpath == "/hospital-measures"


def test_a_foreign_element_inside_a_good_root_is_located(tmp_path: Path) -> None:
    path = tmp_path / "cart.xml"
    path.write_text(VALID.read_text().replace(
        '<measure id="OP-5">', '<x:note xmlns:x="urn:other">n</x:note><measure id="OP-5">'),
        encoding="utf-8")
    receipt = validate_file(path, submitter="t")
    (finding,) = receipt.findings.listed
    assert finding.code == "E-XML-NAMESPACE"
    assert finding.xpath == "/hospital-measures/note" and finding.line == 16
