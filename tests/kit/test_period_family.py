"""The kit's deadline parts (a manifest's ``[deadlines]``, ``gateway.kit.calendar``,
``gateway.kit.obligations``) on a family that is not a hospital one: who owes what is read from
the manifest alone, so a clinic family with quarterly data is written the same way."""

from __future__ import annotations

from datetime import date

from gateway.contract import (
    FileSample,
    PeriodObligations,
    ReportingPeriod,
    Submitter,
    calendar,
    owed_periods,
    parse_manifest,
    windows,
)

MANIFEST = parse_manifest("""
[family]
id = "flu"
title = "Quarterly flu shots"
formats = ["csv"]
reporting_years = [2016]

[measures.FLU]
name = "Flu shots"
levels = ["summary"]

[obligation]
kinds = ["clinic"]
period = "quarter"
period_column = "quarter"
facility_columns = { clinic_npi = "npi" }
applies_if_any = [{ well_child = [true] }]
not_applicable = "Only clinics with well-child visits; {name} has none."

[deadlines]
"2015Q4" = "2016-02-15"
"2016Q1" = "2016-05-15"
"2016Q4" = "2017-02-15"
""")
KIDS = Submitter(id="kids", name="Kids Clinic", kind="clinic", well_child=True)
ADULTS = Submitter(id="adults", name="Adult Clinic", kind="clinic")
HOSPITAL = Submitter(id="general", name="General", kind="hospital")


def test_the_calendar_opens_each_window_the_day_after_its_quarter() -> None:
    assert windows(MANIFEST, 2016) == {"2015Q4": (date(2016, 1, 1), date(2016, 2, 15)),
                                       "2016Q1": (date(2016, 4, 1), date(2016, 5, 15))}
    assert calendar(MANIFEST, 2016) == [
        ReportingPeriod("2015Q4", (date(2015, 10, 1), date(2015, 12, 31)),
                        (date(2016, 1, 1), date(2016, 2, 15))),
        ReportingPeriod("2016Q1", (date(2016, 1, 1), date(2016, 3, 31)),
                        (date(2016, 4, 1), date(2016, 5, 15)))]
    assert calendar(MANIFEST, 2017) is None  # not a declared reporting year


def test_who_owes_comes_from_the_manifest_kinds_and_facts() -> None:
    owed = owed_periods(MANIFEST, "FLU", "summary", KIDS, 2016)
    assert [(o.period, o.required, o.levels) for o in owed] == [
        ("2015Q4", True, ("summary",)), ("2016Q1", True, ("summary",))]
    assert owed_periods(MANIFEST, "FLU", "summary", ADULTS, 2016) == []
    assert owed_periods(MANIFEST, "FLU", "summary", HOSPITAL, 2016) == []


def test_a_file_answers_the_quarter_it_names() -> None:
    sample = FileSample("csv", ("quarter", "clinic_npi"), ({"quarter": " 2016q1 "},))
    reader = PeriodObligations(MANIFEST, "FLU", "summary", 2016, sample)
    assert reader.kinds == ("clinic",)
    assert reader.facility_columns == {"clinic_npi": "npi"}
    assert [(o.period, o.opens, o.due) for o in reader.finish()] == [
        ("2016Q1", date(2016, 4, 1), date(2016, 5, 15))]
    assert reader.not_applicable(ADULTS) == "Only clinics with well-child visits; Adult Clinic " \
                                            "has none."
    assert reader.not_applicable(KIDS) is None
    late = PeriodObligations(MANIFEST, "FLU", "summary", 2016,
                             FileSample("csv", ("quarter",), ({"quarter": "2016Q4"},)))
    assert late.finish() == []  # due in 2017: not an obligation of reporting year 2016
