"""The daemon writes the annotated copy beside a rejected file's receipt, and none for an
accepted one."""

from __future__ import annotations

import shutil

from openpyxl import load_workbook

from tests.conftest import ODC
from tests.daemon.conftest import wait_until

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"
INVALID = ODC / "patient" / "invalid" / "E-RECORD-SSN--ssn-as-patient-id.csv"


def test_a_rejected_upload_gets_its_annotated_copy_beside_the_receipt(make_gateway) -> None:
    gw = make_gateway(pipeline=None)  # the real pipeline
    upload = gw.add_submitter("clinic-a")
    gw.start()
    shutil.copy(VALID, upload / "odc.csv")
    shutil.copy(INVALID, upload / "ssn.csv")
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 2)}
    wait_until(lambda: len(gw.filed()) == 2, what="both originals filed")
    folder = gw.receipts_folder("clinic-a")
    copies = sorted(folder.glob("*.annotated.xlsx"))
    rejected = receipts["ssn.csv"]
    assert [c.name for c in copies] == [
        f"{rejected['submission_id']}.ssn.csv.annotated.xlsx"]
    problems = load_workbook(copies[0]).worksheets[1]
    codes = [row[1] for row in problems.iter_rows(min_row=2, values_only=True)]
    assert codes == [f["code"] for f in rejected["findings"]]
    assert gw.stop() == 0
