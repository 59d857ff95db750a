"""The daemon writes the annotated copy beside a rejected file's receipt."""

from __future__ import annotations

import shutil

from openpyxl import load_workbook

from tests.daemon.test_intake import INVALID


def test_a_rejected_upload_gets_its_annotated_copy_beside_the_receipt(make_gateway) -> None:
    gw = make_gateway(pipeline=None)  # the real pipeline
    shutil.copy(INVALID, gw.add_submitter("clinic-b") / "ssn.csv")
    gw.start()
    [rejected] = gw.wait_receipts("clinic-b", 1)
    copies = sorted(gw.receipts_folder("clinic-b").glob("*.annotated.xlsx"))
    assert [c.name for c in copies] == [
        f"{rejected['submission_id']}.ssn.csv.annotated.xlsx"]
    problems = load_workbook(copies[0]).worksheets[1]
    codes = [row[1] for row in problems.iter_rows(min_row=2, values_only=True)]
    assert codes == [f["code"] for f in rejected["findings"]]
    assert gw.stop() == 0
