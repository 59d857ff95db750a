"""A real SMTP server for the notification tests, run as its own process:

    python -m tests.support.smtp_server PORT MAILDIR CERT KEY USER PASSWORD [starttls|tls]

aiosmtpd on 127.0.0.1:PORT that requires STARTTLS with the throw-away certificate (``tls``:
TLS from the first byte instead, as on port 465) and AUTH (USER/PASSWORD) before it takes
mail, and writes each message it accepts into MAILDIR as ``<time>-<n>.json`` (envelope
recipients and the raw message), written whole then renamed, so a reader never sees half a
message. It prints ``ready`` once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import json
import signal
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keeper:
    """Writes each accepted message to the mail folder, numbered in arrival order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = len(list(folder.glob("*.json")))
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            number = self.count
        record = {"rcpt_tos": list(envelope.rcpt_tos), "mail_from": envelope.mail_from,
                  "data": envelope.original_content.decode("utf-8", "replace"),
                  "at": time.time()}
        # numbered by arrival: a time prefix keeps the order across restarts of the server
        part = self.folder / f".{time.time_ns()}-{number}.part"
        part.write_text(json.dumps(record), encoding="utf-8")
        part.rename(self.folder / f"{time.time_ns()}-{number:06d}.json")
        return "250 Message accepted"


def main() -> None:
    port, folder, cert, key, user, password = sys.argv[1:7]
    implicit = sys.argv[7:8] == ["tls"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)

    if implicit:
        controller = Controller(Keeper(Path(folder)), hostname="127.0.0.1", port=int(port),
                                ssl_context=context, auth_required=True,
                                # the whole session is TLS; aiosmtpd counts only STARTTLS
                                auth_require_tls=False, authenticator=authenticate)
    else:
        controller = Controller(Keeper(Path(folder)), hostname="127.0.0.1", port=int(port),
                                tls_context=context, require_starttls=True,
                                auth_required=True, auth_require_tls=True,
                                authenticator=authenticate)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
