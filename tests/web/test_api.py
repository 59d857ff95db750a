"""The JSON API and the ``gateway user`` commands, as a vendor's script and an operator's shell
use them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from gateway.web.accounts import Accounts
from tests.submitters.files import ODC
from tests.support.web import Console, Site, csrf_of, file_submission


def _token(console: Console, name: str) -> dict[str, str]:
    accounts = Accounts(console.opened.engine)
    _, token = accounts.create_token(accounts.get(name), "script")
    return {"Authorization": f"Bearer {token}"}


def test_the_list_pages_with_a_cursor_and_filters(console: Console, site: Site,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [file_submission(site, "demo-clinic", ODC, f"odc-{n}.csv") for n in range(3)]
    north = ODC.read_text().replace("1234567893", "1234567802")
    (site.gateway.root / "north.csv").write_text(north)
    file_submission(site, "north-clinic", site.gateway.root / "north.csv")
    vendor = console.client(headers=_token(console, "abby"))
    from gateway.web import queries

    page = queries.page  # pages of two: the cursor must carry on where the last page ended
    monkeypatch.setattr(queries, "page", lambda *a, **k: page(*a, **{**k, "size": 2}))
    seen, cursor = [], None
    while True:
        answer = vendor.get("/api/v1/submissions" + (f"?cursor={cursor}" if cursor else ""))
        assert answer.status_code == 200
        body = answer.json()
        assert len(body["items"]) <= 2
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    monkeypatch.undo()
    assert [item["submission_id"] for item in seen] == list(reversed(ids))
    item = seen[0]
    assert set(item) == {"submission_id", "submitter", "file_name", "received_at", "status",
                         "family", "measure", "level", "reporting_year", "counts"}
    assert (item["family"], item["measure"], item["level"], item["reporting_year"]) == \
        ("mncm", "ODC", "patient", 2015)
    assert vendor.get("/api/v1/submissions?status=rejected").json()["items"] == []
    assert vendor.get("/api/v1/submissions?status=bogus").status_code == 400
    assert vendor.get("/api/v1/submissions?cursor=nonsense").json()["error"]["code"] == \
        "bad_request"
    operator = console.client(headers=_token(console, "olive"))
    everyone = operator.get("/api/v1/submissions").json()["items"]
    assert {item["submitter"] for item in everyone} == {"demo-clinic", "north-clinic"}
    only = operator.get("/api/v1/submissions?submitter=north-clinic").json()["items"]
    assert [item["submitter"] for item in only] == ["north-clinic"]
    receipt = vendor.get(f"/api/v1/submissions/{ids[0]}")
    written = next(site.gateway.receipts_folder("demo-clinic").glob(f"{ids[0]}.*.receipt.json"))
    assert receipt.content == written.read_bytes()
    text = vendor.get(f"/api/v1/submissions/{ids[0]}/receipt.txt")
    assert text.status_code == 200 and text.headers["content-disposition"].startswith("attach")
    assert vendor.get(f"/api/v1/submissions/{ids[0]}/annotated").status_code in (200, 404)


def test_an_upload_is_waiting_until_the_daemon_answers(console: Console, site: Site) -> None:
    vendor = console.client(headers=_token(console, "abby"))
    sent = vendor.post("/api/v1/uploads", files={"file": ("odc.csv", ODC.read_bytes())})
    assert sent.status_code == 202
    upload_id = sent.json()["upload_id"]
    assert vendor.get(f"/api/v1/uploads/{upload_id}").json() == {
        "upload_id": upload_id, "state": "waiting", "submission_id": None}
    site.gateway.start()
    from tests.support.daemon import wait_until

    state = wait_until(lambda: (s := vendor.get(f"/api/v1/uploads/{upload_id}").json())
                       ["state"] == "answered" and s, 90, "the daemon's answer")
    receipt = vendor.get(f"/api/v1/submissions/{state['submission_id']}").json()
    assert receipt["file"]["name"] == "odc.csv" and receipt["submitter"] == "demo-clinic"


def test_a_check_answers_with_a_receipt_and_records_nothing(console: Console,
                                                            site: Site) -> None:
    def counts() -> list[int]:
        with console.opened.engine.connect() as db:
            return [db.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                    for table in ("submissions", "transitions", "reference_entries")]

    before = counts()
    vendor = console.client(headers=_token(console, "abby"))
    answer = vendor.post("/api/v1/check", files={"file": ("odc.csv", ODC.read_bytes())})
    assert answer.status_code == 200
    receipt = answer.json()
    assert receipt["status"].startswith("accepted")
    assert receipt["route"]["measure"] == "ODC"
    assert counts() == before
    assert list(site.gateway.upload("demo-clinic").iterdir()) == []
    assert list(site.gateway.receipts_folder("demo-clinic").iterdir()) == []
    assert not any((site.gateway.var / "web-checks").iterdir())


def test_obligations_and_the_openapi_description(console: Console) -> None:
    vendor = console.client(headers=_token(console, "abby"))
    rows = vendor.get("/api/v1/obligations?year=2015").json()["items"]
    assert rows and {row["submitter"] for row in rows} == {"demo-clinic"}
    assert vendor.get("/api/v1/obligations?year=2015&submitter=north-clinic").json()[
        "items"] == []
    operator = console.client(headers=_token(console, "olive"))
    both = operator.get("/api/v1/obligations?year=2015").json()["items"]
    assert {row["submitter"] for row in both} == {"demo-clinic", "north-clinic"}
    description = console.client().get("/api/v1/openapi.json").json()
    assert description["openapi"].startswith("3.")
    for path in ("/submissions", "/submissions/{submission_id}", "/uploads", "/check",
                 "/uploads/{upload_id}", "/obligations",
                 "/submissions/{submission_id}/receipt.txt",
                 "/submissions/{submission_id}/annotated"):
        assert path in description["paths"], path
    assert vendor.get("/api/v1/nothing-here").json()["error"]["code"] == "not_found"


def test_user_commands(site: Site) -> None:
    added = site.cli("user", "add", "carol", "--role", "submitter", "--submitter",
                     "north-clinic")
    password = added.stdout.split("password (shown once): ")[1].strip()
    assert len(password) >= 12
    chosen = site.cli("user", "add", "dave", "--role", "operator", "--password-stdin",
                      stdin="a long enough password\n")
    assert "password" not in chosen.stdout.replace("--password", "")
    unknown = site.cli("user", "add", "erin", "--role", "submitter", "--submitter", "nobody",
                       check=False)
    assert unknown.returncode == 2 and "not a submitter in the registry" in unknown.stderr
    listed = site.cli("user", "list").stdout
    assert "carol\tsubmitter\tnorth-clinic\tactive" in listed
    token = site.cli("user", "token", "carol").stdout.strip()
    site.cli("user", "disable", "carol")
    assert "carol\tsubmitter\tnorth-clinic\tdisabled" in site.cli("user", "list").stdout
    console = Console(site)
    try:
        refused = console.client(headers={"Authorization": f"Bearer {token}"}).get(
            "/api/v1/submissions")
        assert refused.status_code == 401
        site.cli("user", "password", "dave", "--password-stdin", stdin="another long one!\n")
        client = console.client()
        from tests.support.web import login_token

        ok = client.post("/login", data={"username": "dave", "password": "another long one!",
                                         "csrf_token": login_token(client)})
        assert ok.status_code == 303
        assert json.loads(client.get("/api/v1/submissions").text)["items"] == []
        assert csrf_of(client)
    finally:
        console.close()
