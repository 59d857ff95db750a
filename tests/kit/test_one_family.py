"""One family class for every table family: a hospital-style family (one layout, data per
quarter against a deadline table, recognised by signature columns) and a clinic-style family
(summary and patient levels, a calendar and layouts per reporting year, named by a measure
column) are both written as ``Family(__package__, ...)`` in a package of their own, pass the
conformance kit and validate files end to end, obligations included."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

from gateway.contract import Family
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import Plugins
from gateway.submitters.registry_file import parse_registry
from gateway.testing import assert_accepted, assert_receipt, assert_rejected, check_plugin

_numbers = count()

FLU_MANIFEST = """
[family]
id = "flu{n}"
title = "Health-care staff influenza vaccination"
formats = ["csv", "xlsx"]
reporting_years = [2016]

[measures.FLU]
name = "Staff vaccinated against influenza, per quarter"
levels = ["summary"]
signature = ["ccn", "staff_vaccinated"]
schema = "{{level}}"

[obligation]
kinds = ["hospital"]
facility_columns = {{ ccn = "ccn" }}
sample_allowed = false
period = "quarter"
period_column = "quarter"
met_through_cms = true

[deadlines]
"2015Q4" = "2016-02-15"
"2016Q1" = "2016-05-15"
"2016Q2" = "2016-08-15"
"""
FLU_PLUGIN = '''"""Flu vaccination of staff: the manifest, one schema, one rule and a rate."""

from gateway.contract import CollectedRule, ErrorCode, Family, Layer, ResultCalculator


class NotMoreThanStaff(CollectedRule):
    code, title = "E-RULE-FLU-MORE-THAN-STAFF", "staff_vaccinated is at most staff."

    def judge(self, table):
        over = table[table["staff_vaccinated"] > table["staff"]]
        return [self.at(row, "more staff vaccinated than staff", "staff_vaccinated")
                for _, row in over.iterrows()]


class Rate(ResultCalculator):
    def __init__(self):
        self.staff = self.vaccinated = 0

    def observe(self, batch):
        self.staff += int(batch.frame["staff"].sum())
        self.vaccinated += int(batch.frame["staff_vaccinated"].sum())

    def finish(self):
        return {"staff": self.staff, "vaccinated": self.vaccinated}


FAMILY = Family(
    __package__, rules=lambda manifest, route, context: [NotMoreThanStaff()],
    results=lambda manifest, route, context: Rate(),
    codes=[ErrorCode("E-RULE-FLU-MORE-THAN-STAFF", Layer.FILE_RULES,
                     "More staff vaccinated than staff.", "Count each person once.")])
'''
FLU_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:gateway-plugin:flu{n}:2016:summary",
    "title": "Staff influenza vaccination, reporting year 2016",
    "description": "One row per unit and quarter.",
    "type": "object", "additionalProperties": False,
    "properties": {
        "reporting_year": {"type": "integer", "const": 2016, "description": "The year."},
        "ccn": {"type": "string", "pattern": "^[0-9]{6}$", "description": "The hospital's CCN."},
        "quarter": {"type": "string", "format": "quarter", "description": "The quarter."},
        "unit": {"type": "string", "minLength": 1, "description": "The unit."},
        "staff": {"type": "integer", "minimum": 0, "description": "Staff working there."},
        "staff_vaccinated": {"type": "integer", "minimum": 0,
                             "description": "Staff vaccinated in the season."},
    },
    "required": ["reporting_year", "ccn", "quarter", "unit", "staff", "staff_vaccinated"],
}
FLU_VALID = "reporting_year,ccn,quarter,unit,staff,staff_vaccinated\n" \
            "2016,240001,2016Q1,ICU,40,38\n2016,240001,2016Q1,ER,60,51\n"
FLU_OVER = "reporting_year,ccn,quarter,unit,staff,staff_vaccinated\n" \
           "2016,240001,2016Q1,ICU,40,41\n"

WCV_MANIFEST = """
[family]
id = "wcv{n}"
title = "Well-child visits"
measure_column = "measure_id"

[measures.WCV]
name = "Well-child visits with a BMI percentile"
levels = ["summary", "patient"]

[measures.WCV.years.2015]
dates_of_service = ["2014-01-01", "2014-12-31"]
submission_window = ["2015-01-01", "2015-03-31"]

[measures.WCV.years.2016]
dates_of_service = ["2015-01-01", "2015-12-31"]
submission_window = ["2016-01-01", "2016-03-31"]

[obligation]
kinds = ["clinic"]
facility_columns = {{ clinic_npi = "npi" }}
applies_if_any = [{{ well_child = [true] }}]
not_applicable = "{{name}} has no well-child visits."
"""
WCV_PLUGIN = '''"""Well-child visits: the family is its data files."""

from gateway.contract import Family

FAMILY = Family(__package__)
'''


def _column(kind: str, text: str, **more: object) -> dict[str, object]:
    return {"type": kind, "description": text, **more}


def _wcv_schema(n: int, level: str, year: int) -> dict[str, object]:
    properties: dict[str, object] = {
        "measure_id": _column("string", "WCV on every row.", const="WCV"),
        "reporting_year": _column("integer", "The reporting year.", const=year),
        "clinic_npi": _column("string", "The clinic's NPI.", pattern="^[0-9]{10}$")}
    if level == "patient":
        properties["patient_id"] = _column("string", "The patient.", minLength=1)
        properties["visit_date"] = _column("string", "The visit.", format="date")
        if year == 2016:  # a column the measure added for 2016
            properties["bmi_percentile"] = _column("integer", "BMI percentile.", minimum=0,
                                                   maximum=100)
    else:
        properties["visits"] = _column("integer", "Visits.", minimum=0)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:gateway-plugin:wcv{n}:{year}:wcv:{level}",
            "title": f"WCV {level} {year}", "description": f"WCV, {level} level.",
            "type": "object", "additionalProperties": False, "properties": properties,
            "required": list(properties)}


def _wcv_patient(year: int, bmi: bool, date: str = "") -> str:
    date = date or f"{year - 1}-05-01"
    head = "measure_id,reporting_year,clinic_npi,patient_id,visit_date"
    row = f"WCV,{year},1234567893,P1,{date}"
    return f"{head},bmi_percentile\n{row},55\n" if bmi else f"{head}\n{row}\n"


SUMMARY_2015 = "measure_id,reporting_year,clinic_npi,visits\nWCV,2015,1234567893,12\n"


def _write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Family]]:
    """``package(prefix, files)``: an importable package of those files; its ``FAMILY``."""
    made: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(name: str, files: dict[str, str]) -> Family:
        _write(tmp_path / name, {"__init__.py": "", **files})
        made.append(name)
        importlib.invalidate_caches()
        return importlib.import_module(f"{name}.plugin").FAMILY
    yield make
    for key in [k for k in sys.modules if k.split(".")[0] in made]:
        del sys.modules[key]


def _flu(package: Callable[..., Family]) -> tuple[Family, str]:
    n = next(_numbers)
    family = package(f"flu_family_{n}", {
        "manifest.toml": FLU_MANIFEST.format(n=n), "plugin.py": FLU_PLUGIN,
        "schemas/2016/summary.schema.json": json.dumps(FLU_SCHEMA).replace("{n}", str(n)),
        "examples/2016/flu/summary/valid/flu-2016q1.csv": FLU_VALID,
        "examples/2016/flu/summary/invalid/E-RULE-FLU-MORE-THAN-STAFF--icu.csv": FLU_OVER})
    return family, f"flu{n}"


def _wcv(package: Callable[..., Family]) -> tuple[Family, str]:
    n = next(_numbers)
    files = {"manifest.toml": WCV_MANIFEST.format(n=n), "plugin.py": WCV_PLUGIN}
    for year in (2015, 2016):
        for level in ("summary", "patient"):
            files[f"schemas/{year}/wcv.{level}.schema.json"] = json.dumps(
                _wcv_schema(n, level, year))
        files[f"examples/{year}/wcv/patient/valid/p.csv"] = _wcv_patient(year, year == 2016)
        files[f"examples/{year}/wcv/patient/invalid/E-RECORD-DATE--bad-date.csv"] = \
            _wcv_patient(year, year == 2016, date="2014-13-40")
        summary = SUMMARY_2015.replace("2015", str(year))
        files[f"examples/{year}/wcv/summary/valid/s.csv"] = summary
        files[f"examples/{year}/wcv/summary/invalid/E-RECORD-RANGE--negative.csv"] = \
            summary.replace(",12\n", ",-1\n")
    return package(f"wcv_family_{n}", files), f"wcv{n}"


REGISTRY = b"""registry_version = "1"

[[submitter]]
id = "general"
name = "General Hospital"
kind = "hospital"
ccn = ["240001"]
hospital_type = "PPS"

[[submitter]]
id = "cms"
name = "CMS Hospital"
kind = "hospital"
ccn = ["240002"]
hospital_type = "PPS"
submits_to_cms = true

[[submitter]]
id = "kids"
name = "Kids Clinic"
kind = "clinic"
npi = ["1234567893"]
well_child = true

[[submitter]]
id = "adults"
name = "Adult Clinic"
kind = "clinic"
npi = ["1245319599"]
"""


def _owed(plugins: Plugins, year: int) -> dict[str, list[tuple[str, str, bool]]]:
    from gateway.contract.reference import EMPTY

    registry = parse_registry(REGISTRY, "registry.toml")
    return {s.id: [(o.measure, o.period, o.required) for found in
                   plugins.hook.gateway_obligations(submitter=s, reporting_year=year,
                                                    registry=registry, reference=EMPTY)
                   for o in found] for s in registry}


def test_a_quarterly_family_is_a_manifest_a_schema_and_its_rule(
        package: Callable[..., Family], only_plugins: Callable[..., Plugins],
        tmp_path: Path) -> None:
    family, family_id = _flu(package)
    plugins = only_plugins(family)
    assert sorted(case.path.name for case in check_plugin(family, plugins)) == [
        "E-RULE-FLU-MORE-THAN-STAFF--icu.csv", "flu-2016q1.csv"]

    valid = tmp_path / "upload.csv"
    valid.write_text(FLU_VALID, encoding="utf-8")
    receipt = validate_file(valid, submitter="general", plugins=plugins)
    assert_receipt(receipt, status="accepted", route=(family_id, "FLU", "summary", 2016),
                   results={"staff": 100, "vaccinated": 89})

    unsigned = tmp_path / "no-signature.csv"  # staff_vaccinated renamed: a near miss
    unsigned.write_text(FLU_VALID.replace("staff_vaccinated", "vaccinated"), encoding="utf-8")
    rejected = validate_file(unsigned, submitter="general", plugins=plugins)
    assert_rejected(rejected, "E-ROUTE-UNRECOGNISED")
    assert "staff_vaccinated" in rejected.findings.listed[0].message

    assert _owed(plugins, 2016) == {
        "general": [("FLU", "2015Q4", True), ("FLU", "2016Q1", True), ("FLU", "2016Q2", True)],
        "cms": [("FLU", "2015Q4", False), ("FLU", "2016Q1", False), ("FLU", "2016Q2", False)],
        "kids": [], "adults": []}
    registry = parse_registry(REGISTRY, "registry.toml")
    sent = validate_file(valid, submitter="general", plugins=plugins, registry=registry,
                         received_at="2016-05-01T12:00:00Z")
    assert_accepted(sent)
    assert [(o["period"], o["due"]) for o in sent.obligations] == [("2016Q1", "2016-05-15")]
    foreign = validate_file(valid, submitter="cms", plugins=plugins, registry=registry,
                            received_at="2016-05-01T12:00:00Z")
    assert_rejected(foreign, "E-SUBMITTER-FACILITY")


def test_a_family_of_two_levels_with_a_layout_per_year(
        package: Callable[..., Family], only_plugins: Callable[..., Plugins],
        tmp_path: Path) -> None:
    family, family_id = _wcv(package)
    plugins = only_plugins(family)
    assert len(check_plugin(family, plugins)) == 8

    def send(name: str, text: str, submitter: str = "test", **more: object) -> object:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return validate_file(path, submitter=submitter, plugins=plugins, **more)

    # each year's file is judged by its own year's layout: 2015 has no bmi_percentile column
    assert_receipt(send("p15.csv", _wcv_patient(2015, bmi=False)), status="accepted",
                   route=(family_id, "WCV", "patient", 2015))
    assert_receipt(send("p16.csv", _wcv_patient(2016, bmi=True)), status="accepted",
                   route=(family_id, "WCV", "patient", 2016))
    assert_receipt(send("s15.csv", SUMMARY_2015), status="accepted",
                   route=(family_id, "WCV", "summary", 2015))
    lacking = send("p16-old.csv", _wcv_patient(2016, bmi=False))
    assert_rejected(lacking, "E-ROUTE-UNRECOGNISED")
    assert "bmi_percentile" in lacking.findings.listed[0].message

    assert _owed(plugins, 2016) == {"general": [], "cms": [], "adults": [],
                                    "kids": [("WCV", "2016", True)]}
    registry = parse_registry(REGISTRY, "registry.toml")
    kids = send("k.csv", _wcv_patient(2016, bmi=True), "kids", registry=registry,
                received_at="2016-02-01T12:00:00Z")
    assert_accepted(kids)
    assert [(o["period"], o["levels"]) for o in kids.obligations] == [("2016", ["patient"])]
    adults = send("a.csv", _wcv_patient(2016, bmi=True).replace("1234567893", "1245319599"),
                  "adults", registry=registry,
                  received_at="2016-02-01T12:00:00Z")
    assert_rejected(adults, "E-SUBMITTER-NOT-APPLICABLE")
    assert "Adult Clinic has no well-child visits." in adults.findings.listed[0].message


def test_the_replaced_classes_still_build_a_family_with_one_warning() -> None:
    # a fresh interpreter: this one looked the names up already
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    from gateway.contract import DataFamily, TableManifest\n"
        "    from gateway.contract import DataFamily as again\n"
        "    from gateway.kit.family import TableFamily\n"
        "from gateway.contract import Family, Manifest\n"
        "import tests.kit.demo_family as demo\n"
        "family = DataFamily(demo.__name__)\n"
        "assert isinstance(family, Family) and TableManifest is Manifest\n"
        "assert [i.family for i in family.gateway_families()] == ['demo']\n"
        "old = TableFamily(package='gateway_plugins.hospital.von', measure='VON',\n"
        "    measure_name='Late sepsis', level='summary', schema='summary',\n"
        "    signature=('cohort', 'eligible_infants'), rules=lambda m, r, c: [],\n"
        "    results=lambda m, r, c: None, schemas=None)\n"
        "assert old.manifest.measures['VON'].signature == ('cohort', 'eligible_infants')\n"
        "assert 'INBORN' in old.manifest.data['cohorts']\n"
        "for w in caught: print(w.category.__name__, w.message)\n")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, check=True)
    lines = run.stdout.splitlines()
    assert [line.split(" is deprecated")[0] for line in lines] == [
        "GatewayDeprecationWarning DataFamily (gateway.kit.family)",
        "GatewayDeprecationWarning TableManifest (gateway.kit.manifest)",
        "GatewayDeprecationWarning TableFamily (gateway.kit.family)"]
    assert all("use gateway.contract." in line for line in lines)


def test_the_core_scaffold_says_what_to_do_for_a_deadline_calendar(
        package: Callable[..., Family], tmp_path: Path) -> None:
    from gateway.authoring.scaffold import new_measure
    from gateway.contract import ScaffoldError

    _, family_id = _flu(package)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ScaffoldError, match=r"calendar is the \[deadlines\] table"):
        new_measure(family_id, "FLU", 2017, from_year=None, root=tmp_path, levels=["summary"])
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
