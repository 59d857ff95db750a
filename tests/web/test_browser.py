"""The console in a real Chromium against a real ``gateway web`` and a real ``gateway serve``
on a temporary site: an operator and two submitters sign in, a submitter uploads a file and
sees its receipt appear, downloads the annotated copy and checks a file (nothing recorded);
the operator sees both submitters and the compliance matrix and replays a submission.

Every page visited is screenshotted into ``$GATEWAY_TEST_ARTIFACTS/web`` (default: the test
run's temporary folder; never committed) and checked with axe-core: no serious or critical
violation. At the end, no log of either process holds the cell value planted in the files.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.submitters.files import ODC
from tests.submitters.registries import CLINIC
from tests.support.browser import axe_source, axe_violations, chromium
from tests.support.daemon import wait_until
from tests.support.web import OTHER_CLINIC, PASSWORD, Site, WebServer, make_site

CONTACT = """
[[submitter.contact]]
name = "Pat Lee"
email = "pat.lee@example.org"
notify = ["receipts"]
"""
MARKER = "ZQXPAYERMARK"  # a cell value: it may show on its submitter's pages, never in a log


def marked_file(folder: Path, name: str, npi: str = "1234567893") -> Path:
    """The ODC example with one unknown payer code (MARKER): rejected with that cell named."""
    rows = list(csv.reader(io.StringIO(ODC.read_text(encoding="utf-8"))))
    rows[1][rows[0].index("payer_type")] = MARKER
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = folder / name
    path.write_text(out.getvalue().replace("1234567893", npi), encoding="utf-8")
    return path


# Playwright's own default is 30 s: a loaded two-core machine may need longer for a page whose
# answer a worker computes; waits end as soon as their condition holds.
TIMEOUT_MS = 90_000


class Run:
    """The servers, the browser and what the steps share."""

    def __init__(self, site: Site, web: WebServer, browser: Any, shots: Path, axe: str) -> None:
        self.site, self.web, self.browser, self.shots, self.axe = site, web, browser, shots, axe
        self.pages: dict[str, Any] = {}
        self.visited: list[str] = []
        self.shared: dict[str, Any] = {}
        self.no_js: list[Any] = []

    def person(self, name: str, javascript: bool = True) -> Any:
        key = f"{name}{'' if javascript else '-nojs'}"
        if key not in self.pages:
            context = self.browser.new_context(java_script_enabled=javascript,
                                               accept_downloads=True)
            context.set_default_timeout(TIMEOUT_MS)
            if not javascript:
                self.no_js.append(context)
            page = context.new_page()
            page.goto(f"{self.web.url}/login")
            self.look(page, f"{key}-login")
            page.fill("#username", name)
            page.fill("#password", PASSWORD)
            page.click("form.stack button[type=submit]")
            page.wait_for_load_state()
            assert "/login" not in page.url
            self.pages[key] = page
        return self.pages[key]

    def look(self, page: Any, name: str) -> None:
        """Screenshot the page and check it with axe-core (a page seen without JavaScript is
        checked in a twin context with the same cookies, since axe itself is a script)."""
        page.wait_for_load_state()
        page.screenshot(path=str(self.shots / f"{len(self.visited):02d}-{name}.png"),
                        full_page=True)
        self.visited.append(name)
        if page.context in self.no_js:
            twin = self.browser.new_context(storage_state=page.context.storage_state())
            twin.set_default_timeout(TIMEOUT_MS)
            try:
                checked = twin.new_page()
                checked.goto(page.url)
                assert axe_violations(checked, self.axe) == [], name
            finally:
                twin.close()
            return
        assert axe_violations(page, self.axe) == [], name

    def visit(self, page: Any, path: str, name: str) -> Any:
        answer = page.goto(f"{self.web.url}{path}")
        assert answer.status == 200, (path, answer.status)
        self.look(page, name)
        return page

    def ledger_rows(self) -> list[tuple]:
        import sqlalchemy as sa

        from gateway.site.ledger.backends import create_engine, parse_location

        engine = create_engine(parse_location(self.site.gateway.var / "ledger.sqlite3"))
        try:
            with engine.connect() as db:
                return [tuple(row) for row in db.execute(sa.text(
                    "SELECT submission_id, state, status FROM submissions ORDER BY 1"))]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    axe = axe_source()
    root = tmp_path_factory.mktemp("console")
    shots = Path(os.environ.get("GATEWAY_TEST_ARTIFACTS", root / "artifacts")) / "web"
    shots.mkdir(parents=True, exist_ok=True)
    site = make_site(root / "gw")
    (site.gateway.root / "registry.toml").write_text(  # demo-clinic with a contact to show
        'registry_version = "1"\n' + CLINIC + CONTACT + OTHER_CLINIC, encoding="utf-8")
    site.gateway.start()
    web = WebServer(site, root / "web.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox"])
            try:
                yield Run(site, web, browser, shots, axe)
            finally:
                browser.close()
    finally:
        web.stop()
        site.gateway.close()
    print(f"screenshots in {shots}")


def test_a_submitter_uploads_and_sees_its_receipt_appear_without_a_reload(run: Run) -> None:
    abby = run.person("abby")
    run.visit(abby, "/upload", "abby-upload")
    source = marked_file(run.site.gateway.root, "odc-marked.csv")
    abby.set_input_files("#file", str(source))
    url_before = abby.url
    abby.click("#upload-form button[type=submit]")
    abby.wait_for_selector("#upload-result .receipt")
    assert abby.url == url_before  # the same page, no reload
    text = abby.inner_text("#upload-result")
    assert "rejected" in text and "E-RECORD-CODE" in text
    assert MARKER in text  # its own submitter sees the cell it must fix
    run.look(abby, "abby-upload-answered")
    link = abby.get_attribute("#upload-result a", "href")
    run.shared["rejected"] = link.rsplit("/", 1)[1]


def test_without_javascript_an_upload_links_to_its_submission(run: Run) -> None:
    bert = run.person("bert", javascript=False)
    run.visit(bert, "/upload", "bert-upload-nojs")
    source = run.site.gateway.root / "north-odc.csv"
    source.write_text(ODC.read_text().replace("1234567893", "1234567802"))
    bert.set_input_files("#file", str(source))
    bert.click("#upload-form button[type=submit]")
    bert.wait_for_load_state()
    assert re.search(r"/uploads/[0-9a-f]+$", bert.url)
    run.look(bert, "bert-upload-waiting")

    def answered() -> bool:
        bert.reload()
        return bert.locator("#upload-state a[href^='/submissions/']").count() > 0

    wait_until(answered, 90, "the upload's answer")
    run.look(bert, "bert-upload-answered")
    bert.click("#upload-state a[href^='/submissions/']")
    bert.wait_for_load_state()
    assert "accepted" in bert.inner_text(".receipt")
    run.look(bert, "bert-submission")
    run.shared["north"] = bert.url.rsplit("/", 1)[1]


def test_a_submitter_reads_its_submission_and_downloads_the_annotated_copy(run: Run) -> None:
    abby = run.person("abby")
    run.visit(abby, "/submissions", "abby-submissions")
    assert "odc-marked.csv" in abby.inner_text("main")
    assert "north-odc.csv" not in abby.inner_text("main")
    run.visit(abby, f"/submissions/{run.shared['rejected']}", "abby-submission")
    assert "What it means" in abby.inner_text(".receipt")
    with abby.expect_download() as info:
        abby.click("a[href$='/annotated']")
    download = info.value
    saved = run.site.gateway.root / "annotated.xlsx"
    download.save_as(saved)
    assert download.suggested_filename.endswith(".annotated.xlsx")
    with zipfile.ZipFile(saved) as book:
        assert any(name.startswith("xl/worksheets/") for name in book.namelist())
    for path, name in (("/obligations?year=2015", "abby-obligations"),
                       ("/tokens", "abby-tokens"), ("/contacts", "abby-contacts")):
        run.visit(abby, path, name)
    contacts = abby.inner_text("main")
    assert "Pat Lee" in contacts and "a message for each receipt" in contacts
    other = abby.goto(f"{run.web.url}/submissions/{run.shared['north']}")
    assert other.status == 404
    run.look(abby, "abby-not-found")


def test_a_check_shows_a_receipt_and_changes_nothing(run: Run) -> None:
    abby = run.person("abby")
    olive = run.person("olive")
    before = run.ledger_rows()
    compliance_before = olive.request.get(f"{run.web.url}/compliance.csv?year=2015").text()
    run.visit(abby, "/check", "abby-check")
    abby.set_input_files("#file", str(marked_file(run.site.gateway.root, "odc-check.csv")))
    abby.click("form.stack button[type=submit]")
    abby.wait_for_selector(".receipt")
    assert "E-RECORD-CODE" in abby.inner_text(".receipt")
    run.look(abby, "abby-check-result")
    with abby.expect_download() as info:
        abby.click("a[href$='/annotated']")
    assert info.value.suggested_filename.endswith(".annotated.xlsx")
    assert run.ledger_rows() == before
    assert olive.request.get(f"{run.web.url}/compliance.csv?year=2015").text() == \
        compliance_before
    assert list(run.site.gateway.upload("demo-clinic").iterdir()) == []
    assert "odc-check.csv" not in " ".join(
        p.name for p in run.site.gateway.receipts_folder("demo-clinic").iterdir())


def test_the_operator_sees_both_submitters_and_the_matrix_and_replays(run: Run) -> None:
    olive = run.person("olive")
    run.visit(olive, "/overview", "olive-overview")
    assert "Running" in olive.inner_text("main")
    run.visit(olive, "/submissions", "olive-submissions")
    listing = olive.inner_text("main")
    assert "demo-clinic" in listing and "north-clinic" in listing
    run.visit(olive, "/compliance?year=2015", "olive-compliance")
    matrix = olive.inner_text("table.matrix")
    assert "demo-clinic" in matrix and "north-clinic" in matrix
    assert olive.locator(f"table.matrix a[href='/submissions/{run.shared['north']}']").count()
    for path, name in (("/calendar", "olive-calendar"), ("/submitters", "olive-submitters"),
                       ("/tokens", "olive-tokens")):
        run.visit(olive, path, name)
    run.visit(olive, f"/submissions/{run.shared['north']}", "olive-submission")
    olive.click("a[href$='/replay']")
    olive.wait_for_load_state()
    run.look(olive, "olive-replay-confirm")
    olive.click("main form button[type=submit]")
    olive.wait_for_load_state()
    replay_id = olive.url.rsplit("/", 1)[1]
    assert replay_id != run.shared["north"]

    def replayed() -> bool:
        olive.reload()
        return olive.locator(".receipt").count() > 0

    wait_until(replayed, 90, "the replay's receipt")
    assert run.shared["north"] in olive.inner_text(".receipt")  # "Replaces"
    run.look(olive, "olive-replayed")
    run.visit(olive, "/audit", "olive-audit")
    audit = olive.inner_text("main")
    for action in ("sign_in", "upload", "check", "download", "replay", "view"):
        assert action in audit


def test_no_cell_value_reaches_a_log(run: Run) -> None:
    run.web.stop()
    logs = [run.web.log, *run.site.gateway.var.glob("*.log"),
            *(run.site.gateway.log_path(n) for n in range(1, run.site.gateway.runs + 1))]
    seen = [path for path in logs if path.exists() and MARKER in path.read_text(errors="replace")]
    assert seen == []
    assert len(run.visited) >= 20
