"""QI forms and exemption requests judged against the accepted prescribing feed and earlier
accepted forms (opioid.md, files 2-5), each rejection with the spec's code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gateway_opioid import datasets
from opip_support import REGISTRY, TEXT, write_form

from bench.opioid_feed import feed_rows, write_feed
from gateway.receipts.model import Status
from gateway.site.reference.store import reference_view
from gateway.submitters.registry_file import parse_registry

LEDGER = Path("var", "ledger.sqlite3")  # where the submit fixture remembers accepted files


@pytest.fixture
def accepted(tmp_path: Path, feed, submit) -> dict[str, dict]:
    receipt = submit(feed(300), "dhs-opioid-feed")
    assert receipt.status is Status.ACCEPTED, receipt.findings.by_code
    view = reference_view(tmp_path / LEDGER)
    return {e.key: e.value for e in view.entries(datasets.prescribers(2021))}


def pick(prescribers: dict[str, dict], system: str, required: bool, *, many: bool = False
         ) -> tuple[str, dict]:
    for npi, value in prescribers.items():
        if value["health_system"] == system and bool(value["qi_required"]) == required and (
                not many or len(value["qi_required"]) > 1):
            return npi, value
    raise AssertionError(f"the feed has no such prescriber in {system}")


def codes(receipt) -> set[str]:
    return {c for c in receipt.findings.by_code if c.startswith("E-")}


def test_forms_without_prescribing_data(tmp_path: Path, submit) -> None:
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": "1234567893",
                                             "measures_addressed": "M2"}])
    receipt = submit(plan, "north-clinic")
    assert codes(receipt) == {"E-OPIP-NO-DATA"}
    assert receipt.layer == "file_rules"
    (finding,) = receipt.findings.listed
    assert (finding.row, finding.column, finding.cell) == (2, "measurement_year", "A2")
    assert finding.hint


def test_without_prescribing_data_nothing_else_is_judged(tmp_path: Path, submit) -> None:
    """opioid.md: E-OPIP-NO-DATA is "checked first: without data nothing else is judged", so
    rows that would fail their record checks are not reported: the data must come first."""
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": "1234567890",  # bad check digit
                                             "measures_addressed": "M9", "team_size": "0"}])
    receipt = submit(plan, "north-clinic")
    assert [f.code for f in receipt.findings.listed] == ["E-OPIP-NO-DATA"]
    assert receipt.records == 0


def test_plan_for_a_prescriber_who_is_not_qi_required(tmp_path: Path, accepted, submit
                                                      ) -> None:
    npi, _ = pick(accepted, "north-clinic", required=False)
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi, "measures_addressed": "M2",
                                             "pain_phase": "ACUTE"}])
    receipt = submit(plan, "north-clinic")
    assert codes(receipt) == {"E-OPIP-NOT-REQUIRED"}
    assert receipt.findings.listed[0].row == 2


def test_plan_before_its_self_assessments(tmp_path: Path, accepted, submit) -> None:
    npi, value = pick(accepted, "lake-hospital", required=True, many=True)
    first, second = value["qi_required"][:2]
    write_form(tmp_path, "self-assessment", [{"prescriber_npi": npi, "measure": first}])
    assert submit(tmp_path / "opip-self-assessment.csv", "lake-hospital").status \
        is Status.ACCEPTED
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi, "measures_addressed": first}])
    receipt = submit(plan, "lake-hospital")
    assert codes(receipt) == {"E-OPIP-SELF-ASSESSMENT-MISSING"}
    message = receipt.findings.listed[0].message
    assert second in message and first not in message.split("for ")[-1]


def test_evaluation_without_a_plan(tmp_path: Path, accepted, submit) -> None:
    npi, _ = pick(accepted, "river-health", required=True)
    evaluation = write_form(tmp_path, "qi-evaluation", [{"prescriber_npi": npi}])
    assert codes(submit(evaluation, "river-health")) == {"E-OPIP-NO-PLAN"}


def test_prescriber_of_another_health_system(tmp_path: Path, accepted, submit) -> None:
    npi, _ = pick(accepted, "river-health", required=True)
    form = write_form(tmp_path, "self-assessment", [
        {"prescriber_npi": pick(accepted, "north-clinic", required=True)[0],
         "measure": pick(accepted, "north-clinic", required=True)[1]["qi_required"][0]},
        {"prescriber_npi": npi, "measure": accepted[npi]["qi_required"][0]}])
    receipt = submit(form, "north-clinic")
    assert codes(receipt) == {"E-SUBMITTER-FACILITY"}
    (finding,) = receipt.findings.listed
    assert finding.row == 3 and finding.column == "prescriber_npi"
    assert receipt.layer == "submitter"  # the check belongs to layer 4, made with the feed
    text = json.dumps(receipt.as_dict())
    assert "river-health" not in text  # never names the other health system


def test_self_assessment_only_for_a_required_measure(tmp_path: Path, accepted, submit) -> None:
    npi, value = pick(accepted, "north-clinic", required=True)
    other = next(m for m in ("M1", "M2", "M3", "M5", "M6") if m not in value["qi_required"])
    form = write_form(tmp_path, "self-assessment", [{"prescriber_npi": npi, "measure": other}])
    assert codes(submit(form, "north-clinic")) == {"E-OPIP-NOT-REQUIRED"}


def test_complete_sequence_is_accepted(tmp_path: Path, accepted, submit) -> None:
    npi, value = pick(accepted, "north-clinic", required=True)
    required = value["qi_required"]
    steps = [
        write_form(tmp_path, "self-assessment",
                   [{"prescriber_npi": npi, "measure": m.lower()} for m in required]),
        write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi,
                                          "measures_addressed": ";".join([*required, "M1"])}]),
        write_form(tmp_path, "qi-evaluation", [{"prescriber_npi": npi}]),
    ]
    for path in steps:
        receipt = submit(path, "north-clinic")
        assert receipt.status is not Status.REJECTED, (path.name, receipt.findings.by_code)
    early = write_form(tmp_path, "qi-evaluation", [{"prescriber_npi": npi,
                                                    "completed_date": "2022-05-01"}],
                       name="early.csv")
    assert codes(submit(early, "north-clinic")) == {"E-OPIP-FORM-DATES"}


def test_a_plan_may_address_the_pain_phase(tmp_path: Path, accepted, submit) -> None:
    npi, value = pick(accepted, "north-clinic", required=True)
    write_form(tmp_path, "self-assessment",
               [{"prescriber_npi": npi, "measure": m} for m in value["qi_required"]])
    submit(tmp_path / "opip-self-assessment.csv", "north-clinic")
    phase = {"M2": "ACUTE", "M3": "POST_ACUTE", "M5": "CHRONIC", "M6": "CHRONIC"}[
        value["qi_required"][0]]
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi, "pain_phase": phase}])
    assert submit(plan, "north-clinic").status is Status.ACCEPTED
    neither = write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi}], name="neither.csv")
    assert codes(submit(neither, "north-clinic")) == {"E-RECORD-REQUIRED"}


def test_exemption_for_anyone_with_shares_of_the_panel(tmp_path: Path, accepted, submit
                                                       ) -> None:
    npi, _ = pick(accepted, "lake-hospital", required=False)
    form = write_form(tmp_path, "exemption", [{"prescriber_npi": npi, "panel_size": "300",
                                               "patients_chronic_pain": "37",
                                               "patients_severe_acute_pain": "1"}])
    receipt = submit(form, "lake-hospital")
    assert receipt.status is Status.ACCEPTED
    shares = receipt.results["exemptions"][npi]
    assert shares["chronic_pain_percent"] == 12.3 and shares["severe_acute_pain_percent"] == 0.3
    over = write_form(tmp_path, "exemption", [{"prescriber_npi": npi, "panel_size": "30",
                                               "patients_chronic_pain": "31"}], name="over.csv")
    assert codes(submit(over, "lake-hospital")) == {"E-OPIP-PANEL"}


def test_the_latest_accepted_feed_counts(tmp_path: Path, accepted, feed, submit) -> None:
    npi, value = pick(accepted, "north-clinic", required=True)
    newer = feed(300, name="newer.csv", seed=99)  # other rates: other prescribers required
    assert submit(newer, "dhs-opioid-feed").status is Status.ACCEPTED
    after = reference_view(tmp_path / LEDGER).get(datasets.prescribers(2021), npi).value
    assert after["qi_required"] != value["qi_required"] or after["measures"] != value["measures"]


def test_feed_names_only_registered_health_systems(tmp_path: Path, submit) -> None:
    registry = parse_registry(REGISTRY.encode(), "registry.toml")
    rows = feed_rows(20, ["north-clinic", "ghost-clinic"])
    receipt = submit(write_feed(tmp_path / "feed.csv", rows), "dhs-opioid-feed",
                     registry=registry)
    assert codes(receipt) == {"E-OPIP-UNKNOWN-HEALTH-SYSTEM"}
    assert {f.row for f in receipt.findings.listed} == {
        2 + i for i, row in enumerate(rows) if row[4] == "ghost-clinic"}
    fine = submit(write_feed(tmp_path / "fine.csv", feed_rows(20, ["north-clinic", ""])),
                  "dhs-opioid-feed", registry=registry)
    assert fine.status is Status.ACCEPTED, fine.findings.by_code


def test_feed_receipt_names_the_qi_required(tmp_path: Path, feed, submit) -> None:
    receipt = submit(feed(300), "dhs-opioid-feed")
    remembered = reference_view(tmp_path / LEDGER).entries(datasets.prescribers(2021))
    required = {e.key: e.value["qi_required"] for e in remembered if e.value["qi_required"]}
    assert receipt.results["qi_required"] == required
    assert receipt.results["prescribers_qi_required"] == len(required) > 0
    m2 = receipt.results["measures"]["M2"]
    assert m2["qi_requirement"] and m2["minimum_denominator"] == 10
    assert all(g["qi_threshold_percent"] is not None for g in m2["specialty_groups"].values()
               if g["prescribers_compared"] >= 5)
    assert receipt.results["measures"]["M1"]["prescribers_qi_required"] == 0


def test_feed_rules_name_every_row_and_value(tmp_path: Path, submit) -> None:
    """opioid.md, smaller rules: E-RULE-CONSISTENCY names every row of the prescriber and the
    differing values; the first row is not trusted (here it is the wrong one)."""
    rows = feed_rows(5, ["north-clinic"])
    rows[0][4] = ""  # the prescriber's first row names no health system, the others do
    rows[8][6], rows[8][7] = "12", "11"
    receipt = submit(write_feed(tmp_path / "feed.csv", rows), "dhs-opioid-feed")
    assert codes(receipt) == {"E-RULE-CONSISTENCY", "E-RULE-NUMERATOR-GT-DENOMINATOR"}
    consistency = [f for f in receipt.findings.listed if f.code == "E-RULE-CONSISTENCY"]
    assert sorted(f.row for f in consistency) == [2, 3, 4, 5, 6, 7, 8]
    assert all("differs between its rows: (empty) on row 2; north-clinic on rows 3, 4, 5, 6, 7 "
               "and 8" in f.message for f in consistency)
    (over,) = [f for f in receipt.findings.listed if f.code.startswith("E-RULE-NUM")]
    assert over.cell == "G10"


def plan_accepted(tmp_path: Path, accepted: dict[str, dict], submit, system: str) -> str:
    """A QI-required prescriber of ``system`` with accepted self-assessments and plan: the
    state an evaluation is judged in. Returns the prescriber's NPI."""
    npi, value = pick(accepted, system, required=True)
    write_form(tmp_path, "self-assessment",
               [{"prescriber_npi": npi, "measure": m} for m in value["qi_required"]])
    write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi,
                                      "measures_addressed": value["qi_required"][0]}])
    for kind in ("self-assessment", "qi-plan"):
        assert submit(tmp_path / f"opip-{kind}.csv", system).status is not Status.REJECTED
    return npi


def test_a_narrative_of_4000_characters_fits(tmp_path: Path, accepted, submit) -> None:
    npi = plan_accepted(tmp_path, accepted, submit, "river-health")
    longest = write_form(tmp_path, "qi-evaluation",
                         [{"prescriber_npi": npi, "narrative": "n" * 4000}])
    assert submit(longest, "river-health").status is not Status.REJECTED
    over = write_form(tmp_path, "qi-evaluation",
                      [{"prescriber_npi": npi, "narrative": "n" * 4001}], name="over.csv")
    receipt = submit(over, "river-health")
    assert receipt.layer == "record" and receipt.findings.listed[0].column == "narrative"


def test_duplicates_name_both_rows(tmp_path: Path, accepted, submit) -> None:
    rows = feed_rows(3, ["north-clinic"])
    rows.append(list(rows[1]))  # the prescriber's M2 again, as row 23
    receipt = submit(write_feed(tmp_path / "twice.csv", rows), "dhs-opioid-feed")
    (finding,) = receipt.findings.listed
    assert finding.code == "E-RULE-DUPLICATE" and finding.row == 23
    assert "row 3" in finding.message  # the first row with that prescriber and measure
    npi, value = pick(accepted, "north-clinic", required=True)
    measure = value["qi_required"][0]
    form = write_form(tmp_path, "self-assessment", [{"prescriber_npi": npi, "measure": measure},
                                                    {"prescriber_npi": npi, "measure": measure}])
    (finding,) = submit(form, "north-clinic").findings.listed
    assert finding.row == 3 and "row 2" in finding.message and npi in finding.message


def test_a_plan_naming_nothing_fails_its_record(tmp_path: Path, accepted, submit) -> None:
    npi, _ = pick(accepted, "north-clinic", required=True)
    plan = write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi}])
    receipt = submit(plan, "north-clinic")
    assert receipt.layer == "record" and codes(receipt) == {"E-RECORD-REQUIRED"}
    (finding,) = receipt.findings.listed
    assert finding.row == 2 and finding.cell == "D2"
    assert "measures_addressed" in finding.hint and "pain_phase" in finding.hint


def test_evaluation_dates_echo_the_date(tmp_path: Path, accepted, submit) -> None:
    npi = plan_accepted(tmp_path, accepted, submit, "lake-hospital")
    early = write_form(tmp_path, "qi-evaluation", [{"prescriber_npi": npi,
                                                    "completed_date": "4/30/2022"}])
    (finding,) = submit(early, "lake-hospital").findings.listed
    assert finding.code == "E-OPIP-FORM-DATES"
    assert (finding.row, finding.cell, finding.value) == (2, "F2", "2022-04-30")


def test_another_systems_prescriber_is_explained_by_the_feed(tmp_path: Path, accepted, submit
                                                           ) -> None:
    npi, _ = pick(accepted, "river-health", required=False)
    form = write_form(tmp_path, "exemption", [{"prescriber_npi": npi}])
    (finding,) = submit(form, "north-clinic").findings.listed
    assert finding.code == "E-SUBMITTER-FACILITY" and finding.value == npi
    assert "registry" not in finding.hint and "prescribing report" in finding.hint


def test_an_exemption_needs_a_panel(tmp_path: Path, accepted, submit) -> None:
    npi, _ = pick(accepted, "north-clinic", required=False)
    form = write_form(tmp_path, "exemption", [{"prescriber_npi": npi, "reason": "OTHER",
                                               "panel_size": "0", "patients_chronic_pain": "0",
                                               "description": TEXT * 2}])
    receipt = submit(form, "north-clinic")
    assert receipt.layer == "record" and codes(receipt) == {"E-RECORD-RANGE"}
    assert receipt.findings.listed[0].column == "panel_size"


def test_feed_receipt_gives_every_prescribers_rates(tmp_path: Path, submit) -> None:
    rows = feed_rows(6, ["north-clinic"])
    rows[0][6], rows[0][7] = "1", "16"  # 6.25 % rounds half up to 6.3
    rows[1][6], rows[1][7] = "0", "0"  # no patients: no rate
    del rows[2]  # the first prescriber has no row for M3
    receipt = submit(write_feed(tmp_path / "feed.csv", rows), "dhs-opioid-feed")
    assert receipt.status is Status.ACCEPTED, receipt.findings.by_code
    rates = receipt.results["rates_percent"]
    assert len(rates) == 6 and all(list(r) == [f"M{i}" for i in range(1, 8)]
                                   for r in rates.values())
    first = rates[rows[0][1]]
    assert first["M1"] == 6.3 and first["M2"] is None and first["M3"] is None
    rows[-1][6], rows[-1][7] = "2", "3"
    again = submit(write_feed(tmp_path / "again.csv", rows), "dhs-opioid-feed")
    assert again.results["rates_percent"][rows[-1][1]]["M7"] == 66.7


def test_a_forms_receipt_lists_only_obligations_that_exist(tmp_path: Path, accepted, submit
                                                          ) -> None:
    """opioid.md, smaller rules: no obligation for a measure, or a prescriber, nobody owes."""
    registry = parse_registry(REGISTRY.encode(), "registry.toml")
    npi, value = pick(accepted, "north-clinic", required=True)
    other = next(m for m in ("M2", "M3", "M5", "M6") if m not in value["qi_required"])
    quiet, _ = pick(accepted, "north-clinic", required=False)
    form = write_form(tmp_path, "self-assessment", [
        {"prescriber_npi": npi, "measure": value["qi_required"][0]},
        {"prescriber_npi": npi, "measure": other},
        {"prescriber_npi": quiet, "measure": "M2"}])
    receipt = submit(form, "north-clinic", registry=registry)
    assert codes(receipt) == {"E-OPIP-NOT-REQUIRED"}
    assert [o["subject"] for o in receipt.obligations] == [f"{npi} {value['qi_required'][0]}"]
    plans = write_form(tmp_path, "qi-plan", [{"prescriber_npi": quiet, "pain_phase": "ACUTE"}])
    assert submit(plans, "north-clinic", registry=registry).obligations == []
    request = write_form(tmp_path, "exemption", [{"prescriber_npi": quiet}])
    answered = submit(request, "north-clinic", registry=registry).obligations
    assert [o["subject"] for o in answered] == [quiet]  # its window: any own prescriber


def test_exemption_criteria_are_judged_exactly(tmp_path: Path, accepted, submit) -> None:
    """MY 2021: at least 25% of the panel with chronic pain, 10% with severe acute pain; the
    request is accepted either way and its receipt says whether the criterion is met."""
    npis = [npi for npi, v in accepted.items() if v["health_system"] == "north-clinic"][:5]
    rows = [
        {"prescriber_npi": npis[0], "panel_size": "200", "patients_chronic_pain": "50"},
        {"prescriber_npi": npis[1], "panel_size": "201", "patients_chronic_pain": "50"},
        {"prescriber_npi": npis[2], "reason": "SEVERE_ACUTE_PAIN", "panel_size": "30",
         "patients_chronic_pain": "0", "patients_severe_acute_pain": "3"},
        {"prescriber_npi": npis[3], "reason": "SEVERE_ACUTE_PAIN", "panel_size": "31",
         "patients_chronic_pain": "0", "patients_severe_acute_pain": "3"},
        {"prescriber_npi": npis[4], "reason": "OTHER", "description": "x" * 100}]
    receipt = submit(write_form(tmp_path, "exemption", rows), "north-clinic")
    assert receipt.status is not Status.REJECTED, receipt.findings.by_code
    shares = receipt.results["exemptions"]
    assert [shares[n]["criterion_met"] for n in npis] == [True, False, True, False, None]
    # 50 of 201 shows as 24.9%; 3 of 31 as 9.7%
    assert [shares[n]["share_percent"] for n in npis] == [25.0, 24.9, 10.0, 9.7, None]
    short = write_form(tmp_path, "exemption", [{"prescriber_npi": npis[4], "reason": "OTHER",
                                                "description": "x" * 99}], name="short.csv")
    refused = submit(short, "north-clinic")
    assert refused.layer == "record" and codes(refused) == {"E-RECORD-FORMAT"}
    assert refused.findings.listed[0].column == "description"
