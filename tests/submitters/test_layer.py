"""Layer 4 through the one pipeline function, in the spec's order: unknown submitter, facility,
applicability, sampling, window."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from gateway.contract.records import Obligation, ObligationReader, Route
from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Receipt
from gateway.receipts.schema import receipt_errors
from gateway.submitters.layer import SubmitterLayer
from gateway.submitters.registry_file import parse_registry
from gateway.submitters.windows import SubmitterPolicy
from tests.submitters import files
from tests.submitters.registries import DEMO

ON_TIME_ODC = "2015-02-10T15:00:00Z"


def check(path: Path, submitter: str, *, registry_text: str = DEMO,
          received_at: str = ON_TIME_ODC, late: str = "warn") -> Receipt:
    registry = parse_registry(registry_text.encode(), "registry.toml")
    return validate_file(path, submitter=submitter, received_at=received_at,
                         registry=registry, policy=SubmitterPolicy(late=late))


def codes(receipt: Receipt) -> list[str]:
    return [f.code for f in receipt.findings.listed]


def names_no_other_submitter(receipt: Receipt, *others: str) -> None:
    text = json.dumps(receipt.as_dict())
    for other in others:
        assert other not in text


@pytest.mark.parametrize("registry_text", [
    DEMO.replace('id = "demo-clinic"', 'id = "other-clinic"'),
    DEMO.replace('name = "Demo Family Clinic"', 'name = "Demo Family Clinic"\nactive = false'),
], ids=["not-registered", "inactive"])
def test_an_unknown_or_inactive_folder_gets_only_e_submitter_unknown(registry_text: str) -> None:
    receipt = check(files.ODC, "demo-clinic", registry_text=registry_text)
    document = receipt.as_dict()
    assert document["status"] == "rejected"
    assert document["layer"] == "submitter"
    assert codes(receipt) == ["E-SUBMITTER-UNKNOWN"]
    assert document["route"] is None and document["counts"]["records"] == 0
    assert document["obligations"] == []
    assert "not registered" in document["findings"][0]["message"]


def test_an_accepted_file_says_which_obligation_it_answers() -> None:
    receipt = check(files.ODC, "demo-clinic")
    assert receipt.status.value == "accepted", codes(receipt)
    assert receipt.obligations == [{
        "family": "mncm", "measure": "ODC", "reporting_year": 2015, "period": "2015",
        "subject": "", "due": "2015-02-15", "opens": "2015-01-01", "levels": ["patient"],
        "required": True, "note": "", "level": "patient", "timing": "on_time"}]
    assert receipt.registry_entry is not None and receipt.registry_entry["id"] == "demo-clinic"
    assert receipt_errors(receipt.as_dict()) == []  # the receipt schema describes obligations


def test_another_hospitals_ccn_is_rejected_naming_the_row_and_never_the_owner() -> None:
    receipt = check(files.STROKE, "cart-hospital", received_at="2015-08-01T12:00:00Z")
    document = receipt.as_dict()
    assert document["layer"] == "submitter"
    assert set(codes(receipt)) == {"E-SUBMITTER-FACILITY"}
    first = document["findings"][0]
    assert (first["row"], first["column"], first["cell"], first["value"]) == \
        (2, "ccn", "A2", "240020")
    assert "more rows" in first["message"]
    names_no_other_submitter(receipt, "stroke-hospital", "Stroke Center Hospital")


def test_another_hospitals_ccn_in_cart_xml_is_located_by_element() -> None:
    receipt = check(files.CART, "stroke-hospital", received_at="2015-07-01T12:00:00Z")
    assert codes(receipt)[0] == "E-SUBMITTER-FACILITY"
    finding = receipt.as_dict()["findings"][0]
    # the CCN is given once, in <provider-id>: the finding is there, not on a <measure>
    assert finding["xpath"] == "/hospital-measures/provider-id"
    assert "<provider-id>" in files.CART.read_text().splitlines()[finding["line"] - 1]
    assert finding["value"] == "240001"
    names_no_other_submitter(receipt, "cart-hospital", "Regional PPS Hospital")


def test_a_clinic_file_naming_another_clinics_npi_is_rejected(tmp_path: Path) -> None:
    text = DEMO + '\n[[submitter]]\nid = "north-clinic"\nname = "North Clinic"\nkind = ' \
        '"clinic"\nnpi = ["1234567802"]\n'
    receipt = check(files.ODC, "north-clinic", registry_text=text)
    assert set(codes(receipt)) == {"E-SUBMITTER-FACILITY"}
    assert receipt.findings.errors == 1  # one finding per foreign id, not one per row
    names_no_other_submitter(receipt, "demo-clinic", "Demo Family Clinic")


@pytest.mark.parametrize(("source", "submitter", "edit", "received", "says"), [
    (files.EDTC, "cah-hospital", ('hospital_type = "CAH"', 'hospital_type = "PPS"'),
     "2015-04-10T12:00:00Z", "critical access hospitals only; the registry lists your "
     "hospital as PPS"),
    (files.VON, "nicu-hospital", ("nicu_level = 3", "nicu_level = 2"), "2015-10-01T12:00:00Z",
     "level 3 NICU; the registry lists your hospital's NICU level as 2"),
    (files.NHSN, "nicu-hospital", ("nicu_level = 3\npicu = true", "nicu_level = 0"),
     "2015-08-01T12:00:00Z", "NICU or a PICU"),
    (files.AMH, "demo-clinic", ("well_child = true", "well_child = false"),
     "2015-05-01T12:00:00Z", "well-child visits"),
    (files.ODC, "demo-clinic", ("urgent_care = false", "urgent_care = true"), ON_TIME_ODC,
     "urgent care"),
], ids=["edtc-from-pps", "von-without-level-3", "nhsn-without-icu", "amh-without-well-child",
        "odc-from-urgent-care"])
def test_a_measure_that_does_not_apply_to_the_facility_is_rejected(
        source: Path, submitter: str, edit: tuple[str, str], received: str, says: str) -> None:
    assert check(source, submitter, received_at=received).status.value == "accepted"
    receipt = check(source, submitter, registry_text=DEMO.replace(*edit), received_at=received)
    assert codes(receipt) == ["E-SUBMITTER-NOT-APPLICABLE"]
    assert receipt.layer == "submitter"
    assert says in receipt.findings.listed[0].message


def test_the_facility_step_runs_before_applicability() -> None:
    text = DEMO.replace('kind = "hospital"\nccn = ["240020", "240040"]\nhospital_type = "PPS"\n'
                        'nicu_level = 0\nadmissions_last_year = 4200',
                        'kind = "clinic"\nnpi = ["1234567802"]')
    receipt = check(files.STROKE, "stroke-hospital", registry_text=text)
    # a stroke file from a clinic: its CCN is not the clinic's, which is said first
    assert set(codes(receipt)) == {"E-SUBMITTER-FACILITY"}


def test_a_sample_from_a_clinic_whose_emr_covers_the_period_is_rejected(tmp_path: Path) -> None:
    sample = files.odc_sample(tmp_path)
    receipt = check(sample, "demo-clinic")
    assert codes(receipt) == ["E-SUBMITTER-SAMPLE"]
    finding = receipt.as_dict()["findings"][0]
    assert (finding["row"], finding["column"]) == (2, "population_basis")
    assert "since 2010-01-01" in finding["message"] and "2014-01-01" in finding["message"]
    later = DEMO.replace("emr_since = 2010-01-01", "emr_since = 2014-03-01")
    assert check(sample, "demo-clinic", registry_text=later).status.value == "accepted"
    without = DEMO.replace("emr_since = 2010-01-01\n", "")
    assert check(sample, "demo-clinic", registry_text=without).status.value == "accepted"


def test_a_full_population_file_is_never_a_sampling_problem() -> None:
    assert check(files.ODC, "demo-clinic").status.value == "accepted"


def test_a_late_odc_file_warns_and_with_the_switch_is_rejected() -> None:
    late = "2015-02-16T15:00:00Z"
    warned = check(files.ODC, "demo-clinic", received_at=late)
    assert warned.status.value == "accepted_with_warnings"
    assert codes(warned) == ["W-SUBMITTER-LATE"]
    assert "2015-02-16" in warned.findings.listed[0].message
    assert "2015-02-15" in warned.findings.listed[0].message
    assert warned.obligations[0]["timing"] == "late"
    rejected = check(files.ODC, "demo-clinic", received_at=late, late="reject")
    assert rejected.status.value == "rejected"
    assert rejected.layer == "submitter"
    assert codes(rejected) == ["E-SUBMITTER-LATE"]
    assert rejected.obligations[0]["timing"] == "late"


def test_the_deadline_is_the_end_of_the_due_day_in_minnesota() -> None:
    # 23:30 in Minnesota on Feb 15 is already Feb 16 in UTC: still on time
    assert codes(check(files.ODC, "demo-clinic", received_at="2015-02-16T05:30:00Z")) == []
    assert codes(check(files.ODC, "demo-clinic",
                       received_at="2015-02-15T23:59:00-06:00")) == []
    assert codes(check(files.ODC, "demo-clinic",
                       received_at="2015-02-16T00:00:00-06:00")) == ["W-SUBMITTER-LATE"]


def test_a_file_before_its_window_warns_early() -> None:
    receipt = check(files.ODC, "demo-clinic", received_at="2014-12-20T15:00:00Z")
    assert codes(receipt) == ["W-SUBMITTER-EARLY"]
    assert "opens on 2015-01-01" in receipt.findings.listed[0].message


def test_a_cart_file_with_outpatient_measures_is_due_on_the_outpatient_date() -> None:
    receipt = check(files.CART, "cart-hospital", received_at="2015-08-10T15:00:00Z")
    assert codes(receipt) == ["W-SUBMITTER-LATE"]  # 2015Q1: outpatient Aug 1, inpatient Aug 15
    assert receipt.obligations[0]["due"] == "2015-08-01"
    assert receipt.obligations[0]["period"] == "2015Q1"


def test_a_hospital_window_opens_the_day_after_the_quarter() -> None:
    early = check(files.STROKE, "stroke-hospital", received_at="2015-03-31T15:00:00Z")
    assert codes(early) == ["W-SUBMITTER-EARLY"]
    assert early.obligations[0]["opens"] == "2015-04-01"
    on_time = check(files.STROKE, "stroke-hospital", received_at="2015-04-01T15:00:00Z")
    assert codes(on_time) == []


def test_a_rejected_file_still_counts_against_its_obligation(tmp_path: Path) -> None:
    broken = files.replaced(files.STROKE, tmp_path, "ISCHEMIC", "HEMORRHAGIC")
    receipt = check(broken, "stroke-hospital", received_at="2015-07-01T15:00:00Z")
    assert receipt.layer == "record"
    assert [(o["measure"], o["period"]) for o in receipt.obligations] == [("STROKE", "2015Q1")]


def test_the_cart_hospital_type_comes_from_the_registry() -> None:
    # without a registry a missing PPS-only measure is a warning; the registry says PPS
    receipt = validate_file(files.CART, submitter="cart-hospital")
    assert receipt.status.value in ("accepted", "accepted_with_warnings")
    checked = check(files.CART, "cart-hospital", received_at="2015-07-01T15:00:00Z")
    assert checked.results is not None and checked.results["hospital_type"] == "PPS"


def test_the_generated_error_code_list_has_every_submitter_code_with_its_hint() -> None:
    from gateway.authoring.docs import error_codes_page
    from gateway.engine.pipeline import default_plugins

    catalog = default_plugins().catalog
    page = error_codes_page(catalog)
    for code in ("E-SUBMITTER-UNKNOWN", "E-SUBMITTER-FACILITY", "E-SUBMITTER-NOT-APPLICABLE",
                 "E-SUBMITTER-SAMPLE", "W-SUBMITTER-LATE", "E-SUBMITTER-LATE",
                 "W-SUBMITTER-EARLY", "W-SUBMITTER-SKIPPED"):
        assert code in page
        assert catalog[code].hint in page


class _HospitalOnly(ObligationReader):
    """An outside family's reader that declares only what the core needs."""

    kinds = ("hospital",)

    def finish(self) -> list[Obligation]:
        return []


def test_a_family_for_hospitals_refuses_a_clinic_sender_through_its_declared_kinds() -> None:
    registry = parse_registry(DEMO.encode(), "registry.toml")
    clinic = registry.get("demo-clinic")
    assert clinic is not None
    layer = SubmitterLayer(clinic, Route("outside", "X", "summary", 2015), _HospitalOnly(),
                           SubmitterPolicy(), ON_TIME_ODC)
    findings = layer.judge()
    assert [f.code for f in findings] == ["E-SUBMITTER-NOT-APPLICABLE"]
    assert findings[0].message == ("X (outside) files are sent by hospital submitters; the "
                                   "registry lists your organisation as a clinic.")
    assert layer.answered() == []


class _Forms(ObligationReader):
    """A form listing several prescribers answers one obligation per prescriber, one deadline."""

    def finish(self) -> list[Obligation]:
        return [Obligation("forms", "plan", 2022, "2022", due=date(2022, 6, 15),
                           opens=date(2022, 3, 1), subject=npi)
                for npi in ("1234567802", "1234567810", "1234567828", "1234567836")]


@pytest.mark.parametrize(("received", "code", "says"), [
    ("2022-06-20T12:00:00Z", "W-SUBMITTER-LATE", "after the deadline of 4 obligations (plan "
     "2022 (1234567802), plan 2022 (1234567810), plan 2022 (1234567828), ...) (2022-06-15)"),
    ("2022-02-01T12:00:00Z", "W-SUBMITTER-EARLY", "before the window for 4 obligations"),
])
def test_obligations_sharing_a_deadline_make_one_finding(received: str, code: str,
                                                         says: str) -> None:
    registry = parse_registry(DEMO.encode(), "registry.toml")
    layer = SubmitterLayer(registry.get("demo-clinic"), Route("forms", "plan", "summary", 2022),
                           _Forms(), SubmitterPolicy(), received)  # type: ignore[arg-type]
    findings = layer.judge()
    assert [f.code for f in findings] == [code]
    assert says in findings[0].message
    assert {o["timing"] for o in layer.answered()} == {code.split("-")[-1].lower()}


def test_the_unknown_folder_receipt_says_how_to_fix_it_and_fits_the_receipt_schema() -> None:
    receipt = check(files.ODC, "stranger")
    document = receipt.as_dict()
    finding = document["findings"][0]
    assert finding["code"] == "E-SUBMITTER-UNKNOWN"
    assert finding["hint"] == "Contact the program to be registered before submitting."
    assert receipt_errors(document) == []
    # the file is not judged, but the receipt still says which bytes it speaks of
    assert document["file"]["bytes"] == files.ODC.stat().st_size
    assert document["file"]["sha256"] == hashlib.sha256(files.ODC.read_bytes()).hexdigest()
