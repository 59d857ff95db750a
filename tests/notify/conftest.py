"""Fixtures of the notification tests: a throw-away certificate, one SMTP server process for
the session, webhook receivers per test (the helpers are in ``tests/support/notify.py``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.notify import MailServer, Receiver
from tests.support.system import require_command


@pytest.fixture(scope="session")
def certificate() -> Iterator[tuple[Path, Path]]:
    """A throw-away self-signed certificate for 127.0.0.1 and localhost."""
    openssl = require_command("openssl", "openssl")
    folder = Path(tempfile.mkdtemp(prefix="gateway-cert-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    yield cert, key
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[MailServer]:
    """One SMTP server process for the session (STARTTLS and AUTH required)."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-mail-"))
    server = MailServer(folder, *certificate)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mail(smtp_server: MailServer) -> MailServer:
    """The session's SMTP server with an empty mail folder."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Callable[[str], Receiver]]:
    made: list[Receiver] = []

    def make(answers: str) -> Receiver:
        receiver = Receiver(tmp_path / f"hook-{len(made)}", answers)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()
