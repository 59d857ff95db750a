"""The console on the several-host layout: accounts, sessions, lockout, the list and an upload
with a PostgreSQL ledger (migration 0005 on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from tests.submitters.files import ODC
from tests.support.web import PASSWORD, Console, csrf_of, file_submission, login_token, make_site


def test_the_console_works_on_a_postgresql_ledger(tmp_path: Path, postgres_url: str) -> None:
    site = make_site(tmp_path / "gw", ledger_url=postgres_url)
    console = Console(site)
    try:
        submission = file_submission(site, "demo-clinic", ODC)
        abby = console.signed_in("abby")
        assert abby.get(f"/submissions/{submission}").status_code == 200
        items = abby.get("/api/v1/submissions?family=mncm&since=2000-01-01").json()["items"]
        assert [item["submission_id"] for item in items] == [submission]
        sent = abby.post("/api/v1/uploads", files={"file": ("odc.csv", ODC.read_bytes())},
                         headers={"X-CSRF-Token": csrf_of(abby)})
        assert sent.status_code == 202
        assert console.signed_in("bert").get(f"/submissions/{submission}").status_code == 404
        client = console.client()
        for _ in range(5):
            client.post("/login", data={"username": "bert", "password": "wrong",
                                        "csrf_token": login_token(client)})
        locked = client.post("/login", data={"username": "bert", "password": PASSWORD,
                                             "csrf_token": login_token(client)})
        assert locked.status_code == 400
        olive = console.signed_in("olive")
        assert olive.get("/compliance?year=2015").status_code == 200
        assert "sign_in_refused" in olive.get("/audit").text
    finally:
        console.close()
        site.gateway.close()


def test_the_matrix_on_postgresql_shows_a_new_receipt_at_once(tmp_path: Path,
                                                              postgres_url: str) -> None:
    """The matrix is kept between requests on PostgreSQL too: the ledger's change stamp there
    (the newest transition and the last hour's count, migration 0007) sees a new receipt."""
    site = make_site(tmp_path / "gw", ledger_url=postgres_url)
    console = Console(site)
    try:
        olive = console.signed_in("olive")
        first = file_submission(site, "demo-clinic", ODC)
        assert f'href="/submissions/{first}"' in olive.get("/compliance?year=2015").text
        second = file_submission(site, "north-clinic", ODC)
        page = olive.get("/compliance?year=2015").text
        assert f'href="/submissions/{first}"' in page
        assert f'href="/submissions/{second}"' in page
    finally:
        console.close()
        site.gateway.close()
