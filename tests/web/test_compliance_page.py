"""The operator's compliance matrix: one row per submitter, one cell per obligation, the
deciding submission linked, and the same statuses as the CSV."""

from __future__ import annotations

import csv
import io
import re

from tests.submitters.files import ODC
from tests.support.web import Console, Site, file_submission


def test_the_matrix_shows_each_cell_as_the_csv_says_it(console: Console, site: Site) -> None:
    sent = file_submission(site, "demo-clinic", ODC)
    olive = console.signed_in("olive")
    page = olive.get("/compliance?year=2015")
    assert page.status_code == 200
    rows = list(csv.DictReader(io.StringIO(olive.get("/compliance.csv?year=2015").text)))
    decided = [r for r in rows if r["submission_id"] == sent]
    assert len(decided) == 1
    assert re.search(rf'href="/submissions/{sent}">{decided[0]["status"].replace("_", " ")}'
                     r'</a>', page.text)
    columns = re.findall(r'<th scope="col">([^<]+)</th>', page.text)[1:]
    body = page.text.split("<tbody>")[1]
    submitters = re.findall(r'<th scope="row">([^<]+)</th>', body)
    assert submitters == sorted({r["submitter"] for r in rows})
    for submitter, row in zip(submitters, body.split("<tr>")[1:], strict=True):
        shown = re.findall(r'class="status status-([a-z_]+)"', row)
        mine = {f'{r["family"]} {r["measure"]} {r["period"]}': r["status"]
                for r in rows if r["submitter"] == submitter}
        assert row.count("<td>") == len(columns)
        assert shown == [mine[c] for c in columns if c in mine]
