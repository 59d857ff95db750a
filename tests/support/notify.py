"""Real receivers for the notification tests: an SMTP server process (aiosmtpd, STARTTLS with a
throw-away self-signed certificate, AUTH) and an HTTP receiver process, both on loopback ports
picked at run time, and a gateway configured to tell them (the fixtures are in
``tests/notify/conftest.py``)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from tests.support.daemon import ROOT, Gateway, settings, wait_until
from tests.support.postgres import free_port

SMTP_USER, SMTP_PASSWORD = "gateway", "s3cret-smtp-password"
WEBHOOK_SECRET = "hook-secret-of-the-tests"


def _started(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a receiver process with its output in ``log`` (never a pipe nobody drains) and
    wait until it says ``ready``."""
    with log.open("ab") as out:
        out.write(b"--- start\n")  # a server started again on the same log
        out.flush()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{argv[2]} exited:\n{log.read_text(errors='replace')}")
        return "ready" in log.read_text(errors="replace").split("--- start")[-1]

    wait_until(ready, timeout=60, what=f"{argv[2]} to listen")
    return process


class MailServer:
    """``tests/support/smtp_server.py`` as a process; stopped and started again on the same
    port by the outage tests."""

    def __init__(self, folder: Path, cert: Path, key: Path, mode: str = "starttls") -> None:
        self.folder = folder
        self.mode = mode
        self.cert, self.key = cert, key
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.process = _started(
            [sys.executable, "-m", "tests.support.smtp_server", str(self.port),
             str(self.folder), str(self.cert), str(self.key), SMTP_USER, SMTP_PASSWORD,
             self.mode], self.folder.with_name(self.folder.name + ".log"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.process = None

    def clear(self) -> None:
        for path in self.folder.glob("*.json"):
            path.unlink()

    def messages(self) -> list[dict[str, Any]]:
        """Every message received, in arrival order: envelope, headers, text and HTML."""
        out = []
        for path in sorted(self.folder.glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            parsed = BytesParser(policy=policy.default).parsebytes(record["data"].encode())
            text = parsed.get_body(("plain",))
            html = parsed.get_body(("html",))
            out.append({"rcpt": record["rcpt_tos"], "to": str(parsed["To"]),
                        "subject": str(parsed["Subject"]),
                        "message_id": str(parsed["Message-ID"]), "raw": record["data"],
                        "text": text.get_content().replace("\r\n", "\n") if text else "",
                        "html": html.get_content() if html else ""})
        return out

    def wait_for(self, count: int, timeout: float = 90.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(list(self.folder.glob("*.json"))) >= count, timeout,
                   f"{count} e-mails")
        return self.messages()


class Receiver:
    """``tests/support/webhook_receiver.py`` as a process, answering as told."""

    def __init__(self, folder: Path, answers: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = _started(
            [sys.executable, "-m", "tests.support.webhook_receiver", str(self.port),
             str(folder), answers], folder.with_name(folder.name + ".log"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sqrms"

    def requests(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.folder.glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            record["body"] = base64.b64decode(record["body"])
            record["headers"] = {k.lower(): v for k, v in record["headers"].items()}
            out.append(record)
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def notify_settings(root: Path, server: MailServer | None, **extra: Any) -> dict[str, Any]:
    """``[notify]`` pointing at ``server`` with a password file, quick back-off."""
    root.mkdir(parents=True, exist_ok=True)
    password = root / "smtp.password"
    password.write_text(SMTP_PASSWORD + "\n", encoding="utf-8")
    values: dict[str, Any] = {"from": "sqrms-gateway@health.example.org",
                              "reply_to": "sqrms-help@health.example.org",
                              "retry_first": 0.2, "retry_max": 1.0, "retry_for": 600.0}
    if server is not None:
        scheme = "smtps" if server.mode == "tls" else "smtp"
        values |= {"smtp_url": f"{scheme}://127.0.0.1:{server.port}", "username": SMTP_USER,
                   "password_file": str(password)}
    return values | extra


def make_notifying_gateway(root: Path, server: MailServer | None, registry: str, *,
                           pipeline: str | None = None, notify: dict[str, Any] | None = None,
                           extra: dict[str, dict[str, Any]] | None = None) -> Gateway:
    """A gateway whose daemon trusts the test certificate and tells ``server``."""
    base = settings(pipeline=pipeline) if pipeline else settings(pipeline=None)
    base["notify"] = notify_settings(root / "secrets", server, **(notify or {}))
    base["web"] = {"public_url": "https://sqrms.example.org/console"}
    gateway = Gateway(root / "gw", base | (extra or {}))
    (gateway.root / "registry.toml").write_text(registry, encoding="utf-8")
    if server is not None:
        gateway.env["SSL_CERT_FILE"] = str(server.cert)
    return gateway


def webhook_secret_file(root: Path) -> Path:
    path = root / "webhook.secret"
    path.write_text(WEBHOOK_SECRET + "\n", encoding="utf-8")
    return path
