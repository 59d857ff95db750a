"""Registry texts the submitter tests share: one submitter of every shape the spec names.

The ids of facilities match the shipped example files (clinic NPI 1234567893; hospital CCNs
240001 CART, 240010 NHSN, 240020 stroke, 240030 VON, 240040 AHRQ, 240100 EDTC), so an example
file is "from" the submitter that owns its facility.
"""

from __future__ import annotations

from pathlib import Path

CLINIC = """
[[submitter]]
id = "demo-clinic"
name = "Demo Family Clinic"
kind = "clinic"
npi = ["1234567893"]
urgent_care = false
well_child = true
emr_since = 2010-01-01
"""

HOSPITALS = """
[[submitter]]
id = "cart-hospital"
name = "Regional PPS Hospital"
kind = "hospital"
ccn = ["240001"]
hospital_type = "PPS"

[[submitter]]
id = "nicu-hospital"
name = "Children's NICU Hospital"
kind = "hospital"
ccn = ["240010", "240030"]
hospital_type = "PPS"
nicu_level = 3
picu = true

[[submitter]]
id = "stroke-hospital"
name = "Stroke Center Hospital"
kind = "hospital"
ccn = ["240020", "240040"]
hospital_type = "PPS"
nicu_level = 0
admissions_last_year = 4200

[[submitter]]
id = "cah-hospital"
name = "Lakeside Critical Access Hospital"
kind = "hospital"
ccn = ["240100"]
hospital_type = "CAH"
submits_to_cms = true
"""

PROGRAM = """
[[submitter]]
id = "dhs-feed"
name = "DHS prescribing data feed"
kind = "program"
"""

DEMO = 'registry_version = "1"\n' + CLINIC + HOSPITALS + PROGRAM


def write_registry(folder: Path, text: str = DEMO, name: str = "registry.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
