"""Routing of hospital tables: claims by signature, near misses that say what is lacking."""

from __future__ import annotations

from pathlib import Path

from gateway.engine.pipeline import validate_file

HOSPITAL = Path(__file__).resolve().parents[2] / "plugins" / "hospital"


def test_a_table_without_its_signature_column_is_a_named_near_miss(tmp_path: Path) -> None:
    source = HOSPITAL / "nhsn" / "examples" / "2015" / "CLABSI" / "summary" / "valid" / \
        "clabsi-2015q1.csv"
    lines = source.read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("location_type")
    path = tmp_path / "clabsi.csv"
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop)
                              for line in lines) + "\n")
    receipt = validate_file(path, submitter="t")
    (finding,) = receipt.findings.listed
    assert finding.code == "E-ROUTE-UNRECOGNISED"
    assert "looks like CLABSI summary-level 2015 but lacks column location_type" in finding.message


def test_header_after_measures_is_out_of_place(tmp_path: Path) -> None:
    source = HOSPITAL / "cart" / "examples" / "2015" / "CART" / "summary" / "valid" / \
        "cart-2015q1-pps.xml"
    text = source.read_text().replace("</hospital-measures>",
                                      "  <npi>1234567893</npi>\n</hospital-measures>")
    path = tmp_path / "cart.xml"
    path.write_text(text)
    receipt = validate_file(path, submitter="t")
    (finding,) = receipt.findings.listed
    assert finding.code == "E-XML-UNKNOWN-ELEMENT" and "out of place" in finding.message
    assert finding.xpath == "/hospital-measures/npi" and finding.line == 17
