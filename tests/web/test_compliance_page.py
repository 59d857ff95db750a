"""The operator's compliance matrix: one row per submitter, one cell per obligation, the
deciding submission linked, and the same statuses as the CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from starlette.testclient import TestClient

from bench.web import npi
from tests.submitters.files import ODC
from tests.support.web import OTHER_CLINIC, Console, Site, file_submission, sign_in


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


# The console keeps the matrix and the CSV between requests; each test below loads them
# first (so they are kept), changes one thing they are made from, and expects the change.


def _csv_rows(client: TestClient, year: int = 2015) -> list[dict[str, str]]:
    answer = client.get(f"/compliance.csv?year={year}")
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_a_new_receipt_shows_at_once(console: Console, site: Site) -> None:
    olive = console.signed_in("olive")
    before = olive.get("/compliance?year=2015").text
    assert not [r for r in _csv_rows(olive) if r["submission_id"]]
    sent = file_submission(site, "demo-clinic", ODC)
    assert f'href="/submissions/{sent}"' not in before
    assert f'href="/submissions/{sent}"' in olive.get("/compliance?year=2015").text
    assert [r["submission_id"] for r in _csv_rows(olive) if r["submission_id"]] == [sent]


def test_a_registry_change_shows_at_once(console: Console, site: Site) -> None:
    olive = console.signed_in("olive")
    assert "west-clinic" not in olive.get("/compliance?year=2015").text
    assert "west-clinic" not in {r["submitter"] for r in _csv_rows(olive)}
    registry = site.gateway.root / "registry.toml"
    registry.write_text(registry.read_text(encoding="utf-8") + OTHER_CLINIC.replace(
        "north-clinic", "west-clinic").replace("1234567802", npi(77)), encoding="utf-8")
    assert '<th scope="row">west-clinic</th>' in olive.get("/compliance?year=2015").text
    assert "west-clinic" in {r["submitter"] for r in _csv_rows(olive)}


def test_new_reference_data_shows_at_once(console: Console, site: Site,
                                          tmp_path: Path) -> None:
    """A prescribers feed accepted (remembered as reference data, no ledger row needed)
    makes the health systems owe the program's forms."""
    from bench.opioid_feed import feed_rows, write_feed
    from gateway.engine.pipeline import validate_file
    from gateway.site.config import load_config
    from gateway.site.reference.store import remember

    registry = site.gateway.root / "registry.toml"
    registry.write_text(registry.read_text(encoding="utf-8") + FEED_SUBMITTER,
                        encoding="utf-8")
    olive = console.signed_in("olive")
    assert "opip" not in olive.get("/compliance?year=2022").text
    assert not [r for r in _csv_rows(olive, 2022) if r["family"] == "opip"]
    ledger = load_config(site.config).ledger_location
    feed = write_feed(tmp_path / "opip-2021.csv", feed_rows(240, ("north-clinic",)))
    receipt = validate_file(feed, submitter="dhs-opioid-feed", ledger=ledger)
    assert receipt.status.value == "accepted"
    assert remember(ledger, receipt)
    owed = [r for r in _csv_rows(olive, 2022) if r["family"] == "opip"]
    assert owed and {r["submitter"] for r in owed} == {"north-clinic"}
    assert "opip" in olive.get("/compliance?year=2022").text


FEED_SUBMITTER = """
[[submitter]]
id = "dhs-opioid-feed"
name = "DHS opioid prescribing data feed"
kind = "program"
"""


def test_the_first_matrix_after_the_console_starts_is_right(console: Console,
                                                            site: Site) -> None:
    """The console warms the report up as it starts, in a thread; a page asked for at once
    waits for it and shows what is filed, and a receipt after that still shows at once."""
    sent = file_submission(site, "demo-clinic", ODC)
    with console.client() as started:  # the app's start (lifespan): the warm-up begins
        sign_in(started, "olive")
        assert f'href="/submissions/{sent}"' in started.get("/compliance?year=2015").text
        assert started.get("/compliance").status_code == 200  # this year's, the one warmed
        again = file_submission(site, "north-clinic", ODC)
        page = started.get("/compliance?year=2015").text
        assert f'href="/submissions/{sent}"' in page
        assert f'href="/submissions/{again}"' in page
        assert {r["submission_id"] for r in _csv_rows(started) if r["submission_id"]} == {
            sent, again}


def test_a_registry_the_daemon_checked_is_taken_and_an_edit_after_it_refused(
        console: Console, site: Site) -> None:
    """The console takes the daemon's word (in the ledger) that it checked this very
    registry text; an edit the daemon has not checked is checked in full, and refused."""
    from gateway.site.config import load_config
    from gateway.site.ledger import Ledger
    from gateway.submitters.keeper import RegistryKeeper

    olive = console.signed_in("olive")
    unchecked = _csv_rows(olive)
    registry = site.gateway.root / "registry.toml"
    ledger = Ledger(load_config(site.config).ledger_location, create=False)
    try:
        RegistryKeeper(registry, on_change=lambda values: ledger.set_meta(**values)).start()
    finally:
        ledger.close()
    fresh = Console(site)  # a console started after the daemon recorded its check
    try:
        checked = fresh.signed_in("olive")
        assert _csv_rows(checked) == unchecked
        registry.write_text(registry.read_text(encoding="utf-8").replace(
            'kind = "clinic"', 'kind = "spaceship"', 1), encoding="utf-8")
        refused = checked.get("/compliance?year=2015")
        assert refused.status_code == 400
        assert "the registry is refused" in refused.text
    finally:
        fresh.close()


def test_a_file_sent_again_decides_at_once(console: Console, site: Site) -> None:
    """After a change the console reads only the rows written since: a newer answer to the
    same obligation takes over the cell."""
    olive = console.signed_in("olive")
    first = file_submission(site, "demo-clinic", ODC)
    assert f'href="/submissions/{first}"' in olive.get("/compliance?year=2015").text
    again = file_submission(site, "demo-clinic", ODC)
    page = olive.get("/compliance?year=2015").text
    assert f'href="/submissions/{again}"' in page
    assert f'href="/submissions/{first}"' not in page


def test_a_deciding_submission_validated_again_shows_its_new_outcome(console: Console,
                                                                      site: Site) -> None:
    """A daemon taking a submission over after a crash validates it again; when the answer
    that decided a cell changes, the cell follows (the console reads every answer again)."""
    from gateway.engine.pipeline import validate_file
    from gateway.site.config import load_config
    from gateway.site.ledger import Ledger
    from gateway.submitters.registry_file import load_registry

    olive = console.signed_in("olive")
    sent = file_submission(site, "demo-clinic", ODC)
    assert [r["status"] for r in _csv_rows(olive) if r["submission_id"] == sent] == [
        "accepted_late"]  # sent today, long after the 2015 deadline
    bad = next((ODC.parents[1] / "invalid").glob("*.csv"))
    config = load_config(site.config)
    receipt = validate_file(bad, submitter="demo-clinic", submission_id=sent,
                            registry=load_registry(config.registry),
                            ledger=config.ledger_location)
    assert receipt.status.value == "rejected"
    ledger = Ledger(config.ledger_location, create=False)
    try:
        ledger.validated(receipt)
        ledger.receipt_written(sent, site.gateway.root / "again.receipt.json")
        ledger.filed(sent, None)
    finally:
        ledger.close()
    assert [r["status"] for r in _csv_rows(olive) if r["submission_id"] == sent] == [
        "rejected"]
