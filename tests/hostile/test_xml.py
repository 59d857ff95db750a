"""Hostile XML: each is refused at the file layer, in words that say what is wrong, and none
expands an entity, reads another file or grows with the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import files
from tests.hostile.judge import judged, refusal, refused_in


@pytest.mark.parametrize(("text", "words"), [
    (files.BILLION_LAUGHS, "declares a DOCTYPE on line 2"),
    (files.QUADRATIC, "declares a DOCTYPE on line 2"),
    (files.EXTERNAL_ENTITY, "declares a DOCTYPE on line 2"),
    (files.PARAMETER_ENTITY, "declares a DOCTYPE on line 2"),
    # a DTD after more than the first 64 KiB of comments: the whole prolog is read
    (files.cart_with_prolog("<!--" + "c" * 70_000 + "-->\n<!DOCTYPE hospital-measures []>"),
     "declares a DOCTYPE on line 3"),
    ('<?xml version="1.0"?>\n<!ENTITY x "y">\n<hospital-measures/>', "declares a ENTITY"),
], ids=["billion-laughs", "quadratic", "external-entity", "parameter-entity", "late-dtd",
        "bare-entity"])
def test_dtds_and_entities_are_refused_unexpanded(tmp_path: Path, text: str, words: str) -> None:
    path = files.stream(tmp_path / "cart.xml", [text])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert words in finding["message"] and "refused" in finding["message"]
    assert "root:" not in str(finding)  # nothing of /etc/passwd


def test_an_undeclared_entity_is_named_as_an_entity(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "cart.xml", [files.CART_HEADER, "<npi>&x;</npi>",
                                                 "</hospital-measures>"])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert "entity" in finding["message"] and finding["line"] == 6


def test_xinclude_is_named_not_reported_as_a_missing_reporting_year(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "cart.xml", [files.XINCLUDE])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert "XInclude is not allowed" in finding["message"] and finding["line"] == 3
    assert "year" not in finding["message"]


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_utf16_xml_is_refused_as_utf16(tmp_path: Path, bom: bool) -> None:
    text = files.CART_VALID.read_text(encoding="utf-8").replace('encoding="UTF-8"',
                                                                 'encoding="UTF-16"')
    path = files.stream(tmp_path / "cart.xml", [text.encode("utf-16" if bom else "utf-16-le")])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-ENCODING"
    assert "UTF-16" in finding["message"] and "XML" in finding["hint"]


def test_a_declared_encoding_other_than_utf8_is_refused(tmp_path: Path) -> None:
    text = files.CART_VALID.read_text(encoding="utf-8").replace('encoding="UTF-8"',
                                                                 'encoding="ISO-8859-1"')
    finding = refusal(judged(files.stream(tmp_path / "cart.xml", [text])))
    assert finding["code"] == "E-FILE-ENCODING" and "ISO-8859-1" in finding["message"]


def test_300_mb_text_node_is_refused_at_the_text_cap_in_flat_memory(tmp_path: Path) -> None:
    path = files.xml_text_node(tmp_path / "cart.xml", 300)
    finding = refused_in(path, 150)
    assert finding["code"] == "E-FILE-LIMIT"
    assert "longer than the 10,000,000 characters a text may have" in finding["message"]


def test_ten_million_elements_are_refused_at_the_element_cap_before_parsing(
        tmp_path: Path) -> None:
    path = files.xml_elements(tmp_path / "cart.xml", 10_000_000)
    finding = refused_in(path, 50)
    assert finding["code"] == "E-FILE-LIMIT"
    assert finding["message"] == ("The XML has more than 1,000,000 elements, the most a file "
                                  "may have.")


def test_elements_under_the_cap_but_empty_are_judged_record_by_record(tmp_path: Path) -> None:
    """Below the cap the file is read, not refused: the sample for routing stops at the first
    record instead of reading (and keeping) every element."""
    path = files.xml_elements(tmp_path / "cart.xml", 2_000)
    receipt = judged(path)
    assert receipt["layer"] == "record" and receipt["counts"]["records"] == 2_000


def test_100k_deep_nesting_is_refused_at_the_depth_cap(tmp_path: Path) -> None:
    path = files.xml_nested(tmp_path / "cart.xml", 100_000)
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-LIMIT"
    assert "more than 64 levels deep" in finding["message"]


def test_more_than_1_mib_of_comments_before_the_root_is_refused(tmp_path: Path) -> None:
    """The prolog is read in full up to 1 MiB, so a DTD cannot hide behind a long one."""
    path = files.stream(tmp_path / "cart.xml", ['<?xml version="1.0"?>\n',
                                                *files.repeated("<!-- padding -->\n", 70_000),
                                                "<!DOCTYPE hospital-measures []>",
                                                files.CART_VALID.read_text().split("?>", 1)[1]])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert "more than 1 MiB of comments or space before its root element" in finding["message"]
