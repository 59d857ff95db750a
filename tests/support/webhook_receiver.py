"""A real HTTP receiver for webhook tests, run as its own process:

    python -m tests.support.webhook_receiver PORT FOLDER ANSWERS

Listens on 127.0.0.1:PORT and records every POST (headers and raw body, base64) into FOLDER
as ``<n>.json``. ANSWERS is a comma-separated list of what to do with the 1st, 2nd, ...
request, the last repeated: an HTTP status (``500``, ``200``) or ``hang`` (never answer).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    port, folder, answers = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(",")
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                seen[0] += 1
                number = seen[0]
            record = {"path": self.path, "headers": dict(self.headers.items()),
                      "body": base64.b64encode(body).decode(), "at": time.time()}
            part = folder / f".{number}.part"
            part.write_text(json.dumps(record), encoding="utf-8")
            part.rename(folder / f"{number:06d}.json")
            answer = answers[min(number, len(answers)) - 1]
            if answer == "hang":
                time.sleep(3600)
                return
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
