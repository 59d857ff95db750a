"""Reports by e-mail through a real ``gateway serve`` and a real SMTP server: the program's
sign-up list is accepted like its feed, ``gateway opip reports --send`` queues each signed-up
prescriber its own PDF, and the daemons deliver it once per prescriber and year, whatever the
number of runs, daemon restarts or later lists."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from opip_support import REGISTRY

from bench.opioid_feed import feed_rows, write_feed
from tests.support.daemon import Gateway
from tests.support.notify import MailServer, make_notifying_gateway
from tests.support.system import require_command

SYSTEMS = ("north-clinic", "lake-hospital", "river-health")
FEED = "dhs-opioid-feed"


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailServer]:
    """The tests' SMTP server process (STARTTLS with a throw-away certificate, AUTH)."""
    openssl = require_command("openssl", "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    folder = Path(tempfile.mkdtemp(prefix="opip-mail-"))
    server = MailServer(folder, cert, key)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def drop(gateway: Gateway, submitter: str, path: Path, count: int) -> dict:
    upload = gateway.upload(submitter)
    shutil.copy(path, upload / f".{path.name}.part")
    (upload / f".{path.name}.part").rename(upload / path.name)
    return gateway.wait_receipts(submitter, count)[-1]


def sign_up_list(path: Path, npis: list[str]) -> Path:
    lines = ["prescriber_npi,email,signed_up"]
    lines += [f"{npi},dr-{npi}@clinic.example.org,2022-02-0{i + 1}" for i, npi in enumerate(npis)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def pdf_text(raw: str, folder: Path, pdftotext: str) -> tuple[str, str]:
    """The attachment's file name and the text pdftotext reads in it."""
    parsed = BytesParser(policy=policy.default).parsebytes(raw.encode())
    parts = [p for p in parsed.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    target = folder / parts[0].get_filename()
    target.write_bytes(parts[0].get_content())
    return target.name, subprocess.run([pdftotext, "-layout", str(target), "-"],
                                       capture_output=True, text=True, check=True).stdout


def test_send_twice_and_restart_delivers_one_report_per_signed_up_prescriber(
        tmp_path: Path, mail: MailServer, poppler: dict[str, str]) -> None:
    gateway = make_notifying_gateway(tmp_path, mail, REGISTRY)
    try:
        for submitter in (FEED, *SYSTEMS):
            gateway.add_submitter(submitter)
        gateway.start()
        rows = feed_rows(30, SYSTEMS)
        feed = drop(gateway, FEED, write_feed(tmp_path / "opip-2021.csv", rows), 1)
        assert feed["status"] == "accepted", feed["findings"][:3]
        npis = sorted({row[1] for row in rows})
        first, later = npis[:3], npis[3]
        listed = drop(gateway, FEED, sign_up_list(tmp_path / "subscribers.csv", first), 2)
        assert listed["status"] == "accepted", listed["findings"][:3]
        assert listed["route"]["measure"] == "opip-subscribers"

        sent = gateway.cli("opip", "reports", "--year", "2021", "--send")
        assert "3 report e-mails queued, 0 queued before" in sent.stdout
        again = gateway.cli("opip", "reports", "--year", "2021", "--send",
                            "--out", str(tmp_path / "out"))
        assert "0 report e-mails queued, 3 queued before" in again.stdout
        assert len(list((tmp_path / "out").glob("*.pdf"))) == 30
        mail.wait_for(3)

        # a restart, then a new list: one prescriber off it, one on it; only the newcomer
        # gets a message, and its arrival shows the daemon has gone through the outbox
        assert gateway.stop() == 0
        gateway.start()
        newer = drop(gateway, FEED,
                     sign_up_list(tmp_path / "subscribers-2.csv", [*first[1:], later]), 3)
        assert newer["status"] == "accepted", newer["findings"][:3]
        third = gateway.cli("opip", "reports", "--year", "2021", "--send")
        assert "1 report e-mails queued, 2 queued before" in third.stdout
        messages = mail.wait_for(4)
        assert gateway.stop() == 0

        assert len(messages) == 4
        by_recipient = {m["rcpt"][0]: m for m in messages}
        assert set(by_recipient) == {f"dr-{npi}@clinic.example.org" for npi in [*first, later]}
        for npi in [*first, later]:
            message = by_recipient[f"dr-{npi}@clinic.example.org"]
            assert "measurement year 2021" in message["subject"]
            name, text = pdf_text(message["raw"], tmp_path, poppler["pdftotext"])
            assert name == f"opip-report-2021-{npi}.pdf"
            assert npi in text and "Specialty" in text
            assert not {other for other in npis if other != npi and other in text}
            # the message itself carries no figures: only what is attached and why
            assert "%" not in message["text"]
    finally:
        gateway.close()
