"""registry.toml: the spec's format is read whole, and every kind of bad edit is refused whole
with the line it is on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.submitters.registry_file import RegistryError, load_registry, parse_registry
from tests.submitters.registries import DEMO, write_registry


def test_the_spec_example_loads_with_every_field(tmp_path: Path) -> None:
    registry = load_registry(write_registry(tmp_path))
    assert [s.id for s in registry] == ["cah-hospital", "cart-hospital", "demo-clinic",
                                        "dhs-feed", "nicu-hospital", "stroke-hospital"]
    clinic = registry.get("demo-clinic")
    assert clinic is not None
    assert (clinic.kind, clinic.npi, clinic.well_child, clinic.urgent_care, clinic.emr_since) == \
        ("clinic", ("1234567893",), True, False, date(2010, 1, 1))
    nicu = registry.get("nicu-hospital")
    assert nicu is not None
    assert (nicu.ccn, nicu.nicu_level, nicu.picu, nicu.submits_to_cms, nicu.hospital_type) == \
        (("240010", "240030"), 3, True, False, "PPS")
    assert registry.get("stroke-hospital").admissions_last_year == 4200  # type: ignore[union-attr]
    assert registry.health_system("dhs-feed") is None  # a program is not a health system
    assert registry.health_system("demo-clinic") is clinic
    assert registry.get("nobody") is None
    assert len(registry.digest) == 64


def test_an_inactive_submitter_is_registered_but_may_not_send(tmp_path: Path) -> None:
    text = DEMO.replace('name = "Demo Family Clinic"',
                        'name = "Demo Family Clinic"\nactive = false')
    registry = parse_registry(text.encode(), "registry.toml")
    assert registry.get("demo-clinic") is not None
    assert registry.active("demo-clinic") is None
    assert registry.active("cart-hospital") is not None


def _refusal(text: str) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        parse_registry(text.encode(), "registry.toml")
    return caught.value.problems


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_unknown_key_is_refused_naming_its_line() -> None:
    text = DEMO.replace("picu = true", "picu = true\nnicu = 3")
    assert _refusal(text) == [f"line {_line_of(text, 'nicu = 3')}: unknown key 'nicu' for a "
                              "hospital submitter (submitter 'nicu-hospital')"]


def test_a_text_other_than_the_one_a_daemon_checked_is_checked_in_full() -> None:
    """The console passes the digest of the text a daemon put in force; an edit after it is
    refused exactly as without one, and that very text still loads."""
    checked = parse_registry(DEMO.encode(), "registry.toml").digest
    text = DEMO.replace("nicu_level = 3", 'nicu_level = "3"')
    with pytest.raises(RegistryError) as refused:
        parse_registry(text.encode(), "registry.toml", checked)
    assert refused.value.problems == _refusal(text)
    again = parse_registry(DEMO.encode(), "registry.toml", checked)
    assert again.digest == checked
    assert [s.id for s in again] == [s.id for s in parse_registry(DEMO.encode(), "r")]


def test_a_hospital_key_under_a_clinic_is_unknown_there() -> None:
    text = DEMO.replace("well_child = true", "well_child = true\nccn = [\"240999\"]")
    problems = _refusal(text)
    assert problems == [f"line {_line_of(text, '240999')}: unknown key 'ccn' for a clinic "
                        "submitter (submitter 'demo-clinic')"]


def test_a_wrong_type_is_refused_naming_its_line() -> None:
    text = DEMO.replace("nicu_level = 3", 'nicu_level = "3"')
    line = _line_of(text, 'nicu_level = "3"')
    assert _refusal(text) == [f"line {line}: nicu_level: must "
                              "be a whole number (submitter 'nicu-hospital')"]


def test_out_of_range_and_bad_codes_are_refused() -> None:
    text = DEMO.replace("nicu_level = 3", "nicu_level = 4").replace('"CAH"', '"critical"')
    problems = _refusal(text)
    assert problems == sorted(problems, key=lambda p: int(p.split()[1].rstrip(":")))
    assert f"line {_line_of(text, 'nicu_level = 4')}: nicu_level: must be between 0 and 3 " \
           "(submitter 'nicu-hospital')" in problems
    assert any("hospital_type: must be one of \"PPS\", \"CAH\"" in p for p in problems)


def test_a_date_with_a_time_is_refused() -> None:
    text = DEMO.replace("emr_since = 2010-01-01", "emr_since = 2010-01-01T08:00:00")
    assert _refusal(text) == [f"line {_line_of(text, 'emr_since')}: emr_since: must be a date "
                              "written YYYY-MM-DD (without quotes or time) "
                              "(submitter 'demo-clinic')"]


def test_a_duplicate_id_is_refused_naming_both_lines() -> None:
    text = DEMO.replace('id = "stroke-hospital"', 'id = "cart-hospital"')
    first, second = [i for i, line in enumerate(text.splitlines(), 1)
                     if line == 'id = "cart-hospital"']
    assert _refusal(text) == [f"line {second}: duplicate id 'cart-hospital': it is already "
                              f"used on line {first}"]


def test_an_id_listed_under_two_submitters_is_refused() -> None:
    text = DEMO.replace('ccn = ["240020", "240040"]', 'ccn = ["240020", "240001"]')
    line = _line_of(text, '"240020", "240001"')
    assert _refusal(text) == [f"line {line}: ccn 240001 is listed under "
                              "two submitters, 'cart-hospital' and 'stroke-hospital'"]


def test_an_npi_with_a_wrong_check_digit_is_refused() -> None:
    text = DEMO.replace('npi = ["1234567893"]', 'npi = ["1234567890"]')
    assert _refusal(text) == [f"line {_line_of(text, '1234567890')}: npi 1234567890 has a wrong "
                              "check digit (submitter 'demo-clinic')"]


def test_missing_keys_and_version_are_refused() -> None:
    text = DEMO.replace('registry_version = "1"\n', "").replace('hospital_type = "CAH"\n', "")
    problems = _refusal(text)
    assert "line 1: missing key 'registry_version'" in problems
    header = _line_of(text, 'id = "cah-hospital"') - 1
    assert f"line {header}: missing key 'hospital_type' (submitter 'cah-hospital')" in problems


def test_a_toml_syntax_error_names_its_line() -> None:
    text = DEMO.replace('kind = "program"', 'kind = program')
    problems = _refusal(text)
    assert len(problems) == 1
    assert f"line {_line_of(text, 'kind = program')}" in problems[0]


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot be read"):
        load_registry(tmp_path / "registry.toml")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("nicu_level = 3", "nicu_level = 3.0", "nicu_level"),
    ("admissions_last_year = 4200", "admissions_last_year = 4200.0", "admissions_last_year"),
])
def test_a_float_where_a_whole_number_belongs_is_a_wrong_type(old: str, new: str,
                                                              key: str) -> None:
    with pytest.raises(RegistryError) as refused:
        parse_registry(DEMO.replace(old, new).encode(), "registry.toml")
    line = DEMO.replace(old, new).splitlines().index(new) + 1
    assert refused.value.problems == [f"line {line}: {key}: must be a whole number (submitter "
                                      f"'{'nicu' if key == 'nicu_level' else 'stroke'}-hospital')"]


@pytest.mark.parametrize(("text", "problem"), [
    ('registry_version = "1"\n[[submitter]]\nid = "a"\nid = "b"\n',
     "line 4: not valid TOML: Cannot overwrite a value (column 9)"),
    ('registry_version = "1"\nnpi = [\n', "line 2: not valid TOML: Invalid value (the file ends "
                                          "before it is complete)"),
    ('registry_version = "1"\n# caf\xe9\n', "line 2: not UTF-8 text (byte 28)"),
], ids=["syntax", "unfinished", "encoding"])
def test_a_file_that_does_not_parse_is_refused_naming_the_line(text: str, problem: str) -> None:
    data = text.encode("latin-1")
    with pytest.raises(RegistryError) as refused:
        parse_registry(data, "registry.toml")
    assert refused.value.problems == [problem]


def test_keys_of_an_entry_with_a_wrong_kind_are_checked_too() -> None:
    text = DEMO.replace('kind = "program"', 'kind = "feed"\nfeed_url = "sftp://x"')
    with pytest.raises(RegistryError) as refused:
        parse_registry(text.encode(), "registry.toml")
    lines = text.splitlines()
    kind, url = lines.index('kind = "feed"') + 1, lines.index('feed_url = "sftp://x"') + 1
    assert refused.value.problems == [
        f"line {kind}: kind: must be one of \"clinic\", \"hospital\", \"program\" "
        "(submitter 'dhs-feed')",
        f"line {url}: unknown key 'feed_url' (submitter 'dhs-feed')"]
