"""The console's test site: a real config, registry and folders with two clinics, the accounts
the tests sign in with, the console as an in-process ASGI app (``Console``) or as a real
``gateway web`` process (``WebServer``, for the browser tests), and a submission filed the way
the daemon files one."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.submitters.registries import CLINIC
from tests.support.daemon import Gateway, settings
from tests.support.ports import free_port

PASSWORD = "correct horse battery staple"
OTHER_CLINIC = """
[[submitter]]
id = "north-clinic"
name = "North Family Care"
kind = "clinic"
npi = ["1234567802"]
well_child = false
emr_since = 2010-01-01
"""
USERS = {"olive": ("operator", None), "abby": ("submitter", "demo-clinic"),
         "bert": ("submitter", "north-clinic")}


@dataclass
class Site:
    gateway: Gateway
    web: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.gateway.config

    def cli(self, *args: str, stdin: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        run = subprocess.run([sys.executable, "-m", "gateway", *args, "--config",
                              str(self.config)], input=stdin, capture_output=True, text=True,
                             env=self.gateway.env, timeout=120)
        if check:
            assert run.returncode == 0, run.stdout + run.stderr
        return run


def make_site(root: Path, web: dict[str, Any] | None = None,
              ledger_url: str | None = None) -> Site:
    conf = settings(pipeline=None, count=1)
    conf["web"] = web or {}
    if ledger_url is not None:  # PostgreSQL: migrated once, as `gateway ledger migrate` does
        from gateway.site.ledger.backends import create_engine, parse_location
        from gateway.site.ledger.migrate import upgrade

        conf["ledger"] = {"url": ledger_url}
        engine = create_engine(parse_location(ledger_url))
        upgrade(engine)
        engine.dispose()
    gateway = Gateway(root, conf)
    (root / "registry.toml").write_text('registry_version = "1"\n' + CLINIC + OTHER_CLINIC,
                                        encoding="utf-8")
    for submitter in ("demo-clinic", "north-clinic"):
        gateway.add_submitter(submitter)
    site = Site(gateway, web or {})
    from gateway.web.accounts import Accounts
    from gateway.web.site import load_site

    opened = load_site(gateway.config)
    try:  # in-process: hashing three passwords by the command costs three interpreter starts
        accounts = Accounts(opened.engine)
        for name, (role, submitter) in USERS.items():
            accounts.add(name, role, submitter, PASSWORD)
    finally:
        opened.ledger.close()
    return site


class Console:
    """The app in-process, and one signed-in client per person."""

    def __init__(self, site: Site) -> None:
        from gateway.web.app import create_app
        from gateway.web.site import load_site

        self.opened = load_site(site.config)
        self.app = create_app(self.opened)
        self.site = site

    def client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.app, base_url="https://testserver", follow_redirects=False,
                          **kwargs)

    def signed_in(self, name: str) -> TestClient:
        client = self.client()
        sign_in(client, name)
        return client

    def close(self) -> None:
        self.opened.ledger.close()


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def csrf_of(client: TestClient, path: str = "/tokens") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    answer = client.post("/login", data={"username": name, "password": password,
                                         "csrf_token": login_token(client)})
    assert answer.status_code == 303, answer.text
    return answer


class WebServer:
    """A real ``gateway web`` process on a free port, its output kept in a log file."""

    def __init__(self, site: Site, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "web", "--config", str(site.config),
                 "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT,
                env=site.gateway.env)
        wait_for(self.ready, 60)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("gateway web exited:\n" + self.log.read_text())
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def file_submission(site: Site, submitter: str, source: Path, name: str | None = None) -> str:
    """Record ``source`` as a filed submission of ``submitter`` the way the daemon leaves one
    (ledger row through every state, receipts in ``receipts/``, the original archived), without
    running the daemon. Returns the submission id."""
    import shutil

    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.receipts.store import write_receipt
    from gateway.site.config import load_config
    from gateway.site.ledger import Ledger, State, Submission, now_text
    from gateway.submitters.registry_file import load_registry

    config = load_config(site.config)
    receipt = validate_file(source, submitter=submitter, display_name=name or source.name,
                            registry=load_registry(config.registry),
                            ledger=config.ledger_location)
    ledger = Ledger(config.ledger_location, create=False)
    try:
        ledger.add(Submission(submission_id=receipt.submission_id, submitter=submitter,
                              upload_name=receipt.file.name, name=receipt.file.name,
                              state=State.CLAIMED, received_at=now_text()))
        ledger.inspected(receipt.submission_id, None, receipt.file.bytes, receipt.file.sha256)
        ledger.validated(receipt)
        json_path, _ = write_receipt(receipt, config.inbox / submitter / "receipts",
                                     default_plugins().catalog, document=source)
        ledger.receipt_written(receipt.submission_id, json_path)
        config.archive.mkdir(parents=True, exist_ok=True)
        stored = config.archive / f"{receipt.submission_id}.{receipt.file.name}"
        shutil.copyfile(source, stored)
        ledger.filed(receipt.submission_id, stored)
    finally:
        ledger.close()
    return receipt.submission_id
