"""What the opip tests share: a registry with the program's feed and three health systems,
and form files written as a health system fills the templates."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

# The feed (a program submitter) and three health systems, one with a long name for the page.
REGISTRY = """registry_version = "1"

[[submitter]]
id = "dhs-opioid-feed"
name = "DHS opioid prescribing data feed"
kind = "program"

[[submitter]]
id = "north-clinic"
name = "North Clinic and Family Practice Associates of the Upper Mississippi"
kind = "clinic"
npi = ["1234567893"]
urgent_care = false
well_child = false
emr_since = 2012-01-01

[[submitter]]
id = "lake-hospital"
name = "Lake Hospital"
kind = "hospital"
ccn = ["240001"]
hospital_type = "PPS"

[[submitter]]
id = "river-health"
name = "River Health"
kind = "clinic"
npi = ["1245319599"]
urgent_care = false
well_child = false
emr_since = 2012-01-01
"""
TEXT = "Written for the test: long enough to pass the twenty-character minimum."
COLUMNS = {
    "self-assessment": ["measurement_year", "prescriber_npi", "measure", "report_reviewed",
                        "guidelines_reviewed", "barriers", "completed_date"],
    "qi-plan": ["measurement_year", "prescriber_npi", "measures_addressed", "pain_phase",
                "aim_statement", "change_planned", "start_date", "team_size"],
    "qi-evaluation": ["measurement_year", "prescriber_npi", "outcome", "sustained",
                      "narrative", "completed_date"],
    "exemption": ["measurement_year", "prescriber_npi", "reason", "panel_size",
                  "patients_chronic_pain", "patients_severe_acute_pain", "description"],
}
DEFAULTS = {
    "self-assessment": {"report_reviewed": "Y", "guidelines_reviewed": "CDC_2022;ICSI",
                        "barriers": TEXT, "completed_date": "2022-04-20"},
    "qi-plan": {"measures_addressed": "", "pain_phase": "", "aim_statement": TEXT,
                "change_planned": TEXT, "start_date": "2022-05-01", "team_size": "3"},
    "qi-evaluation": {"outcome": "IMPROVED", "sustained": "Y", "narrative": TEXT,
                      "completed_date": "2022-10-01"},
    "exemption": {"reason": "CHRONIC_PAIN_PANEL", "panel_size": "200",
                  "patients_chronic_pain": "50", "patients_severe_acute_pain": "0",
                  "description": TEXT},
}


def write_form(folder: Path, kind: str, rows: Sequence[Mapping[str, str]],
               name: str | None = None) -> Path:
    """A CSV of ``kind`` with one row per mapping (defaults fill the other columns)."""
    path = folder / (name or f"opip-{kind}.csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS[kind])
        writer.writeheader()
        for row in rows:
            writer.writerow({"measurement_year": "2021", **DEFAULTS[kind], **row})
    return path
