"""Notifications: what the outbox costs the daemon per receipt, and how fast it drains.

1. **Added cost per receipt.** The daemon records each receipt's outcome with
   ``Ledger.validated``; with notifications on, the same transaction renders and queues the
   receipt's messages. N receipts (with findings, so the letter lists codes) are recorded on
   two fresh SQLite ledgers (``synchronous=FULL``, as the daemon runs it), one without and one
   with the announcer (each receipt to one contact and one webhook). ``queueing_ms`` is the
   time spent inside the transaction rendering and queueing (the added work); the difference
   of the two whole runs also holds the commit's larger write, and the fsync noise of the
   disk. Both are compared with the daemon's time per file (``--per-file-ms``, the burst
   figure of ``bench.daemon``).
2. **Drain rate.** The N e-mails then go through the daemon's sender to a local SMTP server
   process (aiosmtpd with STARTTLS and AUTH, ``tests/support/smtp_server.py``), one session per
   turn as in the daemon; the rate is messages per second from the first claim until the
   server holds all of them, with the sender's CPU seconds per message.

Prints one JSON line. Usage: ``python -m bench.notify [--receipts 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from gateway.contract.findings import Finding
from gateway.engine.pipeline import default_plugins
from gateway.notify.announce import ReceiptAnnouncer
from gateway.notify.channels import SmtpSettings
from gateway.notify.outbox import WEBHOOK
from gateway.notify.sender import Sender, SenderSettings
from gateway.receipts.model import FileFacts, Receipt
from gateway.site.ledger import Ledger, Submission
from gateway.submitters.registry_file import parse_registry

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "bench", "bench-password"
REGISTRY = '''registry_version = "1"
[[submitter]]
id = "bench-clinic"
name = "Bench Clinic"
kind = "clinic"
npi = ["1234567893"]
[[submitter.contact]]
name = "Pat"
email = "pat@bench.example.org"
notify = ["receipts"]
[[submitter.webhook]]
url = "https://hooks.bench.example.org/sqrms"
secret_file = "/nonexistent/secret"
'''


def receipts(count: int) -> list[Receipt]:
    made = []
    for number in range(count):
        receipt = Receipt(submission_id=f"20260101T000000.{number:06d}Z-bench",
                          submitter="bench-clinic",
                          file=FileFacts(name=f"odc-{number:05d}.csv", bytes=1000,
                                         sha256="0" * 64, format="csv",
                                         received_at="2026-01-01T00:00:00Z"))
        for row in range(number % 7):
            receipt.findings.add(Finding("E-RECORD-CODE", "not a known code", row=row + 2,
                                         value="x"))
        made.append(receipt)
    return made


def record(ledger: Ledger, batch: list[Receipt]) -> float:
    """Seconds ``validated`` took for every receipt of ``batch`` (rows added beforehand)."""
    for receipt in batch:
        ledger.add(Submission(submission_id=receipt.submission_id, submitter=receipt.submitter,
                              upload_name=receipt.file.name, name=receipt.file.name,
                              state="claimed", received_at=receipt.file.received_at))
    started = time.perf_counter()
    for receipt in batch:
        ledger.validated(receipt)
    return time.perf_counter() - started


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    return cert, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--per-file-ms", type=float, default=1000 / 53.6,
                        help="the daemon's time per file (default: bench.daemon's burst)")
    options = parser.parse_args()
    catalog = default_plugins().catalog
    registry = parse_registry(REGISTRY.encode(), "bench")
    batch = receipts(options.receipts)
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as temporary:
        folder = Path(temporary)
        plain = Ledger(folder / "plain.sqlite3")
        telling = Ledger(folder / "telling.sqlite3")
        announcer = ReceiptAnnouncer(registry=lambda: registry, catalog=catalog,
                                     public_url="https://sqrms.example.org",
                                     timezone="America/Chicago")
        inside = [0.0]  # seconds spent queueing, inside the ledger's transaction

        def timed(db: sa.Connection, receipt: Receipt) -> None:
            started = time.perf_counter()
            announcer(db, receipt)
            inside[0] += time.perf_counter() - started

        telling.with_validated.append(timed)
        without = record(plain, batch)
        with_messages = record(telling, batch)
        plain.close()

        cert, key = certificate(folder)
        mail = folder / "mail"
        mail.mkdir()
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.smtp_server", str(port), str(mail),
             str(cert), str(key), USER, PASSWORD], stdout=subprocess.PIPE, text=True,
            cwd=ROOT)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        os.environ["SSL_CERT_FILE"] = str(cert)
        password = folder / "password"
        password.write_text(PASSWORD, encoding="utf-8")
        sender = Sender(telling, SenderSettings(smtp=SmtpSettings(
            url=f"smtp://127.0.0.1:{port}", username=USER, password_file=password,
            sender="bench@bench.example.org")), "bench-daemon", lambda: registry,
            exclusive=True)
        sender.channels = tuple(c for c in sender.channels if c != WEBHOOK)  # e-mail only
        cpu, started = time.process_time(), time.perf_counter()
        while sender.turn():
            pass
        while len(os.listdir(mail)) < options.receipts:
            time.sleep(0.01)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server.terminate()
        server.wait()
        telling.close()
    added_ms = (with_messages - without) / options.receipts * 1000
    queueing_ms = inside[0] / options.receipts * 1000
    print(json.dumps({
        "receipts": options.receipts,
        "queueing_ms_per_receipt": round(queueing_ms, 3),
        "queueing_percent_of_file": round(100 * queueing_ms / options.per_file_ms, 2),
        "validated_ms_without": round(without / options.receipts * 1000, 3),
        "validated_ms_with_messages": round(with_messages / options.receipts * 1000, 3),
        "added_ms_per_receipt": round(added_ms, 3),
        "added_percent_of_file": round(100 * added_ms / options.per_file_ms, 2),
        "emails": options.receipts, "send_seconds": round(seconds, 2),
        "emails_per_second": round(options.receipts / seconds, 1),
        "sender_cpu_ms_per_email": round(cpu / options.receipts * 1000, 3),
    }))


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
