"""The console's rules against the people who should not get through: isolation between
submitters, CSRF, lockout, cookies, headers, uploads that are too big, badly named or aimed
outside the site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.web.accounts import SESSION_IDLE, SESSION_LIFETIME, Accounts
from tests.submitters.files import ODC
from tests.support.notices import BODY, SECRET, URL_TOKEN, contacts_registry, failed_messages
from tests.support.web import PASSWORD, Console, Site, csrf_of, file_submission, login_token

INVALID = ODC.parents[1] / "invalid" / "E-RECORD-CODE--unknown-payer.csv"


@pytest.fixture
def north_objects(site: Site, console: Console) -> dict[str, str]:
    """Objects of north-clinic (submitter B): a filed submission with an annotated copy, an
    upload, and an API token of its account."""
    submission = file_submission(site, "north-clinic", _as_north(site, INVALID))
    bert = console.signed_in("bert")
    sent = bert.post("/api/v1/uploads", files={"file": ("north.csv", b"a,b\n1,2\n")},
                     headers={"X-CSRF-Token": csrf_of(bert)})
    assert sent.status_code == 202, sent.text
    token_page = bert.post("/tokens", data={"label": "vendor", "csrf_token": csrf_of(bert)})
    token_id = re.findall(r'action="/tokens/([0-9a-f]+)/revoke"', token_page.text)[0]
    return {"submission": submission, "upload": sent.json()["upload_id"], "token": token_id}


def _as_north(site: Site, source: Path) -> Path:
    """The example file as north-clinic's (its NPI), so its submitter layer accepts it."""
    copy = site.gateway.root / source.name
    copy.write_text(source.read_text().replace("1234567893", "1234567802"))
    return copy


ID_PAGES = ("/submissions/{s}", "/submissions/{s}/receipt.json", "/submissions/{s}/receipt.txt",
            "/submissions/{s}/annotated", "/submissions/{s}/original", "/uploads/{u}",
            "/api/v1/submissions/{s}", "/api/v1/submissions/{s}/receipt.txt",
            "/api/v1/submissions/{s}/annotated", "/api/v1/uploads/{u}")
MADE_UP = {"s": "20150101T000000.000000Z-000000000000", "u": "0123456789abcdef01234567"}


def test_another_submitters_ids_answer_exactly_like_made_up_ones(
        console: Console, north_objects: dict[str, str]) -> None:
    olive = console.signed_in("olive")
    own = {"s": north_objects["submission"], "u": north_objects["upload"]}
    assert olive.get(f"/submissions/{own['s']}").status_code == 200  # it exists
    abby = console.signed_in("abby")
    for page in ID_PAGES:
        theirs = abby.get(page.format(**own))
        made_up = abby.get(page.format(**MADE_UP))
        assert theirs.status_code == made_up.status_code == 404, page
        assert theirs.content == made_up.content, page
        assert b"north" not in theirs.content.lower(), page
        assert own["s"].encode() not in theirs.content
    csrf = csrf_of(abby)
    theirs = abby.post(f"/tokens/{north_objects['token']}/revoke", data={"csrf_token": csrf})
    made_up = abby.post("/tokens/0123456789ab/revoke", data={"csrf_token": csrf})
    assert theirs.status_code == made_up.status_code == 404
    assert theirs.content == made_up.content
    listed = abby.get("/api/v1/submissions").json()["items"]
    assert all(item["submitter"] == "demo-clinic" for item in listed)
    assert abby.get("/api/v1/submissions?submitter=north-clinic").json()["items"] == []
    assert b"north" not in abby.get("/submissions?submitter=north-clinic").content.lower()
    bert = console.signed_in("bert")
    assert bert.get(f"/submissions/{own['s']}").status_code == 200


def test_a_submitter_asking_for_an_operator_page_gets_403(console: Console) -> None:
    abby = console.signed_in("abby")
    for page in ("/overview", "/compliance", "/compliance.csv", "/calendar", "/submitters",
                 "/audit"):
        assert abby.get(page).status_code == 403, page
    assert console.client().get("/overview").status_code == 303  # not signed in: to /login
    assert console.client().get("/api/v1/submissions").status_code == 401


def test_forms_without_their_csrf_token_are_refused(console: Console, site: Site) -> None:
    anonymous = console.client()
    login_token(anonymous)
    refused = anonymous.post("/login", data={"username": "abby", "password": PASSWORD})
    assert refused.status_code == 403
    assert "gateway_session" not in refused.cookies
    abby = console.signed_in("abby")
    assert abby.post("/tokens", data={"label": "x"}).status_code == 403
    assert abby.post("/tokens", data={"label": "x", "csrf_token": "forged"}).status_code == 403
    assert "x" not in [t["label"] for t in Accounts(console.opened.engine).tokens("abby")]
    upload = abby.post("/upload", files={"file": ("odc.csv", ODC.read_bytes())})
    assert upload.status_code == 403
    api = abby.post("/api/v1/uploads", files={"file": ("odc.csv", ODC.read_bytes())})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf"
    assert list(site.gateway.upload("demo-clinic").iterdir()) == []
    assert abby.post("/check", files={"file": ("odc.csv", ODC.read_bytes())}).status_code == 403
    assert abby.post("/logout").status_code == 403
    assert abby.get("/submissions").status_code == 200  # still signed in
    submission = file_submission(site, "demo-clinic", ODC)
    olive = console.signed_in("olive")
    replay = olive.post(f"/submissions/{submission}/replay", data={"confirm": "yes"})
    assert replay.status_code == 403
    unconfirmed = olive.post(f"/submissions/{submission}/replay",
                             data={"csrf_token": csrf_of(olive)})
    assert unconfirmed.status_code == 400
    with console.opened.engine.connect() as db:
        import sqlalchemy as sa

        assert db.scalar(sa.text("SELECT count(*) FROM submissions")) == 1  # no replay asked


def test_a_bearer_token_needs_no_csrf_and_a_revoked_one_stops_working(console: Console,
                                                                       site: Site) -> None:
    abby = console.signed_in("abby")
    page = abby.post("/tokens", data={"label": "vendor", "csrf_token": csrf_of(abby)})
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text).group(1)
    stored = Accounts(console.opened.engine)
    assert token not in repr(stored.tokens("abby"))
    vendor = console.client(headers={"Authorization": f"Bearer {token}"})
    sent = vendor.post("/api/v1/uploads", files={"file": ("odc.csv", ODC.read_bytes())})
    assert sent.status_code == 202
    assert (site.gateway.upload("demo-clinic") / "odc.csv").read_bytes() == ODC.read_bytes()
    token_id = re.findall(r'action="/tokens/([0-9a-f]+)/revoke"', page.text)[0]
    assert abby.post(f"/tokens/{token_id}/revoke",
                     data={"csrf_token": csrf_of(abby)}).status_code == 303
    assert vendor.get("/api/v1/submissions").status_code == 401


def _login_body(answer: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', answer)


def test_the_sixth_wrong_password_within_15_minutes_is_refused_even_when_right(
        console: Console) -> None:
    client = console.client()
    for _ in range(5):
        wrong = client.post("/login", data={"username": "abby", "password": "wrong",
                                            "csrf_token": login_token(client)})
        assert wrong.status_code == 400
    right = client.post("/login", data={"username": "abby", "password": PASSWORD,
                                        "csrf_token": login_token(client)})
    assert right.status_code == 400 and "gateway_session" not in right.cookies
    nobody = client.post("/login", data={"username": "nobody-at-all", "password": PASSWORD,
                                         "csrf_token": login_token(client)})
    assert _login_body(right.text) == _login_body(nobody.text)
    # another account is not locked by abby's failures
    other = client.post("/login", data={"username": "bert", "password": PASSWORD,
                                        "csrf_token": login_token(client)})
    assert other.status_code == 303


def test_the_lock_lasts_15_minutes_from_the_fifth_failure(console: Console) -> None:
    accounts = Accounts(console.opened.engine)
    for second in range(5):
        assert accounts.sign_in("abby", "wrong", now=1000.0 + second) is None
    assert accounts.sign_in("abby", PASSWORD, now=1004.0 + 14 * 60) is None
    assert accounts.sign_in("abby", PASSWORD, now=1004.0 + 15 * 60 + 1) is not None
    # four failures spread over more than 15 minutes lock nothing
    for minute in (0, 5, 10, 16, 21):
        assert accounts.sign_in("bert", "wrong", now=5000.0 + minute * 60) is None
    assert accounts.sign_in("bert", PASSWORD, now=5000.0 + 22 * 60) is not None


def test_session_cookie_flags_sign_out_and_expiry(console: Console) -> None:
    client = console.client()
    answer = client.post("/login", data={"username": "abby", "password": PASSWORD,
                                         "csrf_token": login_token(client)})
    cookie = next(v for k, v in answer.headers.multi_items()
              if k == "set-cookie" and v.startswith("gateway_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax"} <= flags
    value = answer.cookies["gateway_session"]
    assert client.get("/submissions").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
    replayed = console.client(cookies={"gateway_session": value})
    assert replayed.get("/submissions").status_code == 303  # back to sign-in
    accounts = Accounts(console.opened.engine)
    account = accounts.get("abby")
    cookie_value, _ = accounts.start_session(account, now=10_000.0)
    assert accounts.session(cookie_value, now=10_000.0 + SESSION_IDLE - 5) is not None
    assert accounts.session(cookie_value, now=10_000.0 + 2 * SESSION_IDLE) is None
    cookie_value, _ = accounts.start_session(account, now=20_000.0)
    for step in range(1, 30):  # busy all day: still ends after 8 hours
        now = 20_000.0 + step * (SESSION_LIFETIME / 20)
        alive = accounts.session(cookie_value, now=now)
        assert (alive is not None) == (now < 20_000.0 + SESSION_LIFETIME)
        if alive is None:
            break


def test_passwords_are_argon2id_and_never_in_clear(console: Console, site: Site) -> None:
    import sqlalchemy as sa

    with console.opened.engine.connect() as db:
        hashes = [row.password_hash for row in db.execute(sa.text(
            "SELECT password_hash FROM web_accounts"))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    ledger = site.gateway.var / "ledger.sqlite3"
    assert PASSWORD.encode() not in ledger.read_bytes()


def test_every_answer_carries_the_security_headers(console: Console,
                                                   north_objects: dict[str, str]) -> None:
    olive = console.signed_in("olive")
    s = north_objects["submission"]
    for path in ("/login", "/submissions", f"/submissions/{s}", f"/submissions/{s}/annotated",
                 "/api/v1/submissions", "/nope", "/static/console.css"):
        answer = olive.get(path)
        csp = answer.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert "'unsafe-inline'" not in script_src, path
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
    for path in (f"/submissions/{s}/receipt.json", f"/submissions/{s}/receipt.txt",
                 f"/submissions/{s}/annotated", f"/submissions/{s}/original",
                 "/compliance.csv?year=2015"):
        answer = olive.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-disposition"].startswith("attachment"), path


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", "..\\b.csv", "/etc/passwd",
                                  "bad name.csv", ".hidden.csv", "x.csv.part", "a" * 201])
def test_a_bad_file_name_is_refused_saying_the_rule(console: Console, site: Site,
                                                    name: str) -> None:
    abby = console.signed_in("abby")
    answer = abby.post("/api/v1/uploads", files={"file": (name, b"x")},
                       headers={"X-CSRF-Token": csrf_of(abby)})
    assert answer.status_code == 400
    assert "letters, digits" in answer.json()["error"]["message"]
    assert list(site.gateway.upload("demo-clinic").iterdir()) == []
    assert not (site.gateway.inbox / "demo-clinic" / "escape.csv").exists()
    assert not (site.gateway.inbox / "escape.csv").exists()


def test_path_ids_never_reach_outside_the_site(console: Console, site: Site,
                                               north_objects: dict[str, str]) -> None:
    import sqlalchemy as sa

    olive = console.signed_in("olive")
    for path in ("/submissions/..%2F..%2Fgateway.toml", "/submissions/../../gateway.toml",
                 "/api/v1/submissions/..%2Fregistry.toml", "/uploads/..%2F..%2Fx"):
        answer = olive.get(path)
        assert answer.status_code == 404, path
        assert b"registry_version" not in answer.content
    # a ledger row whose paths point outside the submitter's folders serves nothing
    with console.opened.engine.begin() as db:
        db.execute(sa.text("UPDATE submissions SET receipt_path = :p, stored_path = :p"),
                   {"p": str(site.config)})
    s = north_objects["submission"]
    for path in (f"/submissions/{s}/receipt.json", f"/submissions/{s}/original",
                 f"/api/v1/submissions/{s}"):
        answer = olive.get(path)
        assert answer.status_code == 404, path
        assert b"[folders]" not in answer.content


@pytest.fixture
def small_site(tmp_path: Path) -> Site:
    from tests.support.web import make_site

    made = make_site(tmp_path / "small", {"max_upload_mb": 1})
    yield made
    made.gateway.close()


def test_an_oversized_upload_is_refused_and_leaves_nothing_on_disk(small_site: Site) -> None:
    console = Console(small_site)
    try:
        abby = console.signed_in("abby")
        csrf = csrf_of(abby)
        big = b"x" * (3 * 1024 * 1024)
        answer = abby.post("/api/v1/uploads", files={"file": ("big.csv", big)},
                           headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "too_large"

        def chunks():  # no declared length: refused while streaming
            yield (b"--B\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"big.csv\"\r\n\r\n")
            for _ in range(64):
                yield b"y" * 65536
            yield b"\r\n--B--\r\n"

        streamed = abby.post("/api/v1/uploads", content=chunks(), headers={
            "X-CSRF-Token": csrf, "Content-Type": "multipart/form-data; boundary=B"})
        assert streamed.status_code == 413
        for folder in (small_site.gateway.upload("demo-clinic"),
                       small_site.gateway.var / "web-checks"):
            leftovers = list(folder.rglob("*")) if folder.exists() else []
            assert [p for p in leftovers if p.is_file()] == []
        checked = abby.post("/api/v1/check", files={"file": ("big.csv", big)},
                            headers={"X-CSRF-Token": csrf})
        assert checked.status_code == 413
        fits = abby.post("/api/v1/uploads", files={"file": ("ok.csv", b"z" * 1000)},
                         headers={"X-CSRF-Token": csrf})
        assert fits.status_code == 202
    finally:
        console.close()


def test_a_name_already_waiting_is_not_overwritten(console: Console, site: Site) -> None:
    abby = console.signed_in("abby")
    csrf = csrf_of(abby)
    first = abby.post("/api/v1/uploads", files={"file": ("odc.csv", b"first\n")},
                      headers={"X-CSRF-Token": csrf})
    second = abby.post("/api/v1/uploads", files={"file": ("odc.csv", b"second\n")},
                       headers={"X-CSRF-Token": csrf})
    assert first.status_code == 202 and second.status_code == 409
    folder = site.gateway.upload("demo-clinic")
    assert (folder / "odc.csv").read_bytes() == b"first\n"
    assert sorted(p.name for p in folder.iterdir()) == ["odc.csv"]


def test_single_sign_on_trusts_the_header_only_from_the_proxy(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from tests.support.web import make_site

    made = make_site(tmp_path / "sso", {"trusted_user_header": "X-Remote-User",
                                        "trusted_proxies": ["10.0.0.1"]})
    console = Console(made)
    try:
        def client(address: str) -> TestClient:
            return TestClient(console.app, base_url="http://testserver", client=(address, 5000),
                              follow_redirects=False)

        proxy = client("10.0.0.1")
        answer = proxy.get("/submissions", headers={"X-Remote-User": "abby"})
        assert answer.status_code == 200 and "demo-clinic" in answer.text
        assert "gateway_session" in answer.cookies  # forms still carry CSRF tokens
        stranger = client("10.0.0.66")
        refused = stranger.get("/submissions", headers={"X-Remote-User": "olive"})
        assert refused.status_code == 303 and "/login" in refused.headers["location"]
        unknown = client("10.0.0.1").get("/submissions", headers={"X-Remote-User": "mallory"})
        assert unknown.status_code == 403
        as_operator = client("10.0.0.1").get("/overview", headers={"X-Remote-User": "olive"})
        assert as_operator.status_code == 200
    finally:
        console.close()
        made.gateway.close()


def test_no_page_shows_a_webhook_secret_a_message_body_or_another_submitters_contacts(
        site: Site, console: Console) -> None:
    contacts_registry(site)
    failed_messages(console)
    pages = {"olive": ("/overview", "/submitters", "/submissions", "/compliance", "/calendar",
                       "/audit", "/tokens", "/api/v1/submissions", "/api/v1/obligations"),
             "abby": ("/contacts", "/submissions", "/obligations", "/tokens", "/upload",
                      "/check", "/api/v1/submissions", "/api/v1/obligations"),
             "bert": ("/contacts", "/submissions", "/obligations", "/tokens")}
    for name, paths in pages.items():
        client = console.signed_in(name)
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (name, path)
            for hidden in (SECRET, "whsec-north", ".secret", BODY, URL_TOKEN):
                assert hidden not in answer.text, (name, path, hidden)
            if name != "olive":
                other = "nora@north.example.org" if name == "abby" else "pat.lee@example.org"
                assert other not in answer.text, (name, path)
