"""Nothing lost, nothing doubled: the SMTP server down and back, a daemon killed between
recording and sending, three daemons on one PostgreSQL ledger, a webhook receiver that fails
once, and one that never answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.site.ledger.backends import create_engine, parse_location
from gateway.site.ledger.schema import calendar_runs, outbox, outbox_attempts
from tests.daemon.test_durability import _drop
from tests.daemon.test_several import Daemon
from tests.support.daemon import FAKE_PIPELINE, Gateway, wait_until
from tests.support.notify import (
    WEBHOOK_SECRET,
    MailServer,
    make_notifying_gateway,
    webhook_secret_file,
)
from tests.support.postgres import free_port

RECIPIENTS = ("first@clinic.example.org", "second@clinic.example.org")


def registry(hook: tuple[str, Path] | None = None) -> str:
    text = '''registry_version = "1"

[[submitter]]
id = "clinic-a"
name = "Clinic A"
kind = "clinic"
npi = ["1234567893"]
'''
    for email in RECIPIENTS:
        text += f'\n[[submitter.contact]]\nname = "{email}"\nemail = "{email}"\n' \
                'notify = ["receipts"]\n'
    if hook is not None:
        text += f'\n[[submitter.webhook]]\nurl = "{hook[0]}"\nsecret_file = "{hook[1]}"\n'
    return text


def outbox_rows(location: str | Path) -> list[dict[str, Any]]:
    engine = create_engine(parse_location(location))
    try:
        with engine.connect() as db:
            return [dict(row._mapping) for row in
                    db.execute(sa.select(outbox).order_by(outbox.c.message_id))]
    finally:
        engine.dispose()


def attempts(location: str | Path) -> list[dict[str, Any]]:
    engine = create_engine(parse_location(location))
    try:
        with engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(sa.select(outbox_attempts))]
    finally:
        engine.dispose()


def assert_each_once_in_queue_order(messages: list[dict[str, Any]],
                                    rows: list[dict[str, Any]]) -> None:
    """Every queued e-mail arrived exactly once, and to each recipient in the order queued."""
    queued = {f"<{row['message_key']}@health.example.org>": row for row in rows
              if row["channel"] == "email"}
    ids = [m["message_id"] for m in messages]
    assert sorted(ids) == sorted(queued)  # each once, none missing, none extra
    for recipient in RECIPIENTS:
        order = [queued[m["message_id"]]["message_id"] for m in messages
                 if m["rcpt"] == [recipient]]
        assert order == sorted(order) and order


def test_smtp_down_for_a_while_then_everything_is_sent_in_order(
        tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    server = MailServer(tmp_path / "mail", *certificate)  # not listening yet
    gateway = make_notifying_gateway(tmp_path, server, registry(), pipeline=FAKE_PIPELINE)
    upload = gateway.add_submitter("clinic-a")
    ledger = gateway.var / "ledger.sqlite3"
    try:
        gateway.start()
        for number in range(12):
            _drop(upload, f"file-{number:02}.csv", f"{'REJECT' if number % 4 else 'OK'}\n"
                                                    f"{number}\n".encode())
        gateway.wait_receipts("clinic-a", 12)
        wait_until(lambda: sum(a["outcome"] == "retrying" for a in attempts(ledger)) >= 4,
                   what="failed attempts while the server is down")
        status = json.loads(gateway.cli("notify", "status", "--json").stdout)
        assert status["counts"]["sent"] == 0
        assert status["counts"]["retrying"] >= 1
        assert any("SMTP 127.0.0.1" in (d["last_error"] or "")
                   for d in status["destinations"])
        server.start()
        messages = server.wait_for(24)
        assert gateway.stop() == 0
    finally:
        server.stop()
    rows = outbox_rows(ledger)
    assert len(rows) == 24 and {row["state"] for row in rows} == {"sent"}
    assert_each_once_in_queue_order(messages, rows)


def test_a_daemon_killed_between_recording_and_sending_sends_after_restart(
        tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    server = MailServer(tmp_path / "mail", *certificate)
    gateway = make_notifying_gateway(tmp_path, server, registry(), pipeline=FAKE_PIPELINE,
                                     notify={"retry_first": 1.0})
    upload = gateway.add_submitter("clinic-a")
    ledger = gateway.var / "ledger.sqlite3"
    try:
        gateway.start()
        for number in range(6):
            _drop(upload, f"file-{number:02}.csv", f"OK\n{number}\n".encode())
        gateway.wait_receipts("clinic-a", 6)
        wait_until(lambda: len(outbox_rows(ledger)) == 12, what="the messages recorded")
        gateway.kill9()  # recorded, not sent (the server was down)
        assert {row["state"] for row in outbox_rows(ledger)} <= {"queued", "retrying",
                                                                 "sending"}
        server.start()
        gateway.start()
        messages = server.wait_for(12)
        wait_until(lambda: {r["state"] for r in outbox_rows(ledger)} == {"sent"},
                   what="every message recorded as sent")
        assert gateway.stop() == 0
    finally:
        server.stop()
    assert_each_once_in_queue_order(messages, outbox_rows(ledger))
    assert len(gateway.receipts("clinic-a")) == 6


def test_three_daemons_on_postgresql_send_each_message_once(
        tmp_path: Path, mail: MailServer, postgres_url: str) -> None:
    gateway = make_notifying_gateway(
        tmp_path, mail, registry(), pipeline=FAKE_PIPELINE,
        extra={"ledger": {"url": postgres_url, "lease": 3.0}})
    gateway.cli("ledger", "migrate")
    upload = gateway.add_submitter("clinic-a")
    base = {**_config_of(gateway)}
    daemons = [Daemon(gateway, n, base | {"metrics": {"port": free_port()}})
               for n in range(1, 4)]
    try:
        for daemon in daemons:
            daemon.start()
        for daemon in daemons:
            daemon.wait_serving()
        for number in range(60):
            _drop(upload, f"file-{number:03}.csv", f"OK\n{number}\n".encode())
        gateway.wait_receipts("clinic-a", 60, timeout=180)  # 50 s for all at load 7
        messages = mail.wait_for(120, timeout=180)
        wait_until(lambda: {r["state"] for r in outbox_rows(postgres_url)} == {"sent"},
                   what="every message recorded as sent")
        for daemon in daemons:
            assert daemon.stop() == 0
    finally:
        for daemon in daemons:
            daemon.close()
    rows = outbox_rows(postgres_url)
    assert len(rows) == 120
    assert_each_once_in_queue_order(messages, rows)
    senders = Counter(a["daemon"] for a in attempts(postgres_url) if a["outcome"] == "sent")
    assert sum(senders.values()) == 120
    engine = create_engine(parse_location(postgres_url))
    with engine.connect() as db:  # the day's reminder run: one daemon did it
        runs = list(db.execute(sa.select(calendar_runs)))
    engine.dispose()
    assert len({(run.job, run.day) for run in runs}) == len(runs)


def _config_of(gateway: Gateway) -> dict[str, dict[str, Any]]:
    import tomllib

    return tomllib.loads(gateway.config.read_text(encoding="utf-8"))


def _metric(port: int, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    wanted = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    for line in text.decode().splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


def test_a_webhook_answered_500_then_200_is_delivered_once_with_a_valid_signature(
        tmp_path: Path, receivers) -> None:
    hook = receivers("500,200")
    port = free_port()
    gateway = make_notifying_gateway(
        tmp_path, None, registry((hook.url, webhook_secret_file(tmp_path))),
        pipeline=FAKE_PIPELINE, extra={"metrics": {"port": port}})
    upload = gateway.add_submitter("clinic-a")
    gateway.start()
    _drop(upload, "one.csv", b"OK\n1\n")
    receipt = gateway.wait_receipts("clinic-a", 1)[0]
    ledger = gateway.var / "ledger.sqlite3"
    wait_until(lambda: [r["state"] for r in outbox_rows(ledger)] == ["sent"],
               what="the delivery recorded")
    # the sender counts a delivery just after recording it: looked at until it shows
    wait_until(lambda: _metric(port, "gateway_notify_messages_total", kind="webhook",
                               outcome="sent") == 1.0, what="the delivery counted")
    assert _metric(port, "gateway_notify_messages_total", kind="webhook",
                   outcome="retried") == 1.0
    assert _metric(port, "gateway_notify_messages_total", kind="webhook",
                   outcome="sent") == 1.0
    assert gateway.stop() == 0
    requests_ = hook.requests()
    assert len(requests_) == 2  # the 500, then the one 200
    assert requests_[0]["body"] == requests_[1]["body"]
    assert len({r["headers"]["x-gateway-delivery"] for r in requests_}) == 1
    for request in requests_:
        digest = hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256)
        assert request["headers"]["x-gateway-signature"] == f"sha256={digest.hexdigest()}"
    body = json.loads(requests_[1]["body"])
    assert body["submission_id"] == receipt["submission_id"] and body["event"] == "receipt"
    log = [(a["attempt"], a["outcome"], a["detail"]) for a in attempts(ledger)]
    assert sorted(log) == [(1, "retrying", "HTTP 500"), (2, "sent", "HTTP 200")]
    shown = json.loads(gateway.cli("notify", "show", "1", "--json").stdout)
    assert shown["state"] == "sent" and shown["destination"] == hook.url
    assert [(a["outcome"], a["detail"]) for a in shown["attempts_log"]] == [
        ("retrying", "HTTP 500"), ("sent", "HTTP 200")]
    # e-mail is off without smtp_url, and both status commands say so, once
    assert "off" in gateway.cli("notify", "status").stdout.splitlines()[0]
    status = gateway.cli("status", check=False).stdout
    assert status.count("e-mail off") == 1 and "webhooks queued 0, retrying 0, failed 0" \
        in status


def test_a_receiver_that_never_answers_is_marked_failed_and_can_be_retried(
        tmp_path: Path, receivers) -> None:
    hook = receivers("hang")
    gateway = make_notifying_gateway(
        tmp_path, None, registry((hook.url, webhook_secret_file(tmp_path))),
        pipeline=FAKE_PIPELINE,
        # retry_for leaves room for three tries of 0.5 s each on a loaded machine
        notify={"webhook_timeout": 0.5, "retry_first": 0.2, "retry_max": 0.4,
                "retry_for": 5.0})
    upload = gateway.add_submitter("clinic-a")
    ledger = gateway.var / "ledger.sqlite3"
    gateway.start()
    _drop(upload, "one.csv", b"OK\n1\n")
    gateway.wait_receipts("clinic-a", 1)
    wait_until(lambda: [r["state"] for r in outbox_rows(ledger)] == ["failed"],
               what="the delivery given up")
    tried = len(hook.requests())
    assert tried >= 3  # retried with back-off before giving up
    status = json.loads(gateway.cli("notify", "status", "--json").stdout)
    assert status["counts"]["failed"] == 1 and status["counts"]["sent"] == 0
    [place] = status["destinations"]
    assert place["destination"] == hook.url and place["failed"] == 1
    assert "timed out" in place["last_error"]
    [failed] = status["failed"]
    shown = gateway.cli("notify", "status").stdout
    assert f"{failed['message_id']}  webhook  {hook.url}" in shown

    assert "queued again" in gateway.cli("notify", "retry", str(failed["message_id"])).stdout
    wait_until(lambda: len(hook.requests()) > tried, what="the retried delivery")
    wait_until(lambda: [r["state"] for r in outbox_rows(ledger)] == ["failed"],
               what="the retried delivery given up again")
    missing = gateway.cli("notify", "retry", "999", check=False)
    assert missing.returncode == 1 and "no failed message 999" in missing.stderr
    assert gateway.stop() == 0


def test_smtps_sends_over_tls_from_the_first_byte_and_a_wrong_password_is_retried(
        tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    server = MailServer(tmp_path / "mail", *certificate, mode="tls")
    server.start()
    gateway = make_notifying_gateway(tmp_path, server, registry(), pipeline=FAKE_PIPELINE)
    password = tmp_path / "secrets" / "smtp.password"
    right = password.read_text(encoding="utf-8")
    password.write_text("not the password\n", encoding="utf-8")
    upload = gateway.add_submitter("clinic-a")
    ledger = gateway.var / "ledger.sqlite3"
    try:
        gateway.start()
        _drop(upload, "one.csv", b"OK\n1\n")
        gateway.wait_receipts("clinic-a", 1)
        wait_until(lambda: any(a["outcome"] == "retrying" for a in attempts(ledger)),
                   what="the refused login")
        assert any("535" in a["detail"] for a in attempts(ledger))
        assert not any("not the password" in line for line in gateway.log_lines())
        password.write_text(right, encoding="utf-8")  # the operator fixes the file
        messages = server.wait_for(2)
        assert gateway.stop() == 0
    finally:
        server.stop()
    assert sorted(m["rcpt"][0] for m in messages) == sorted(RECIPIENTS)
    assert all(m["subject"] == "[SQRMS] clinic-a: one.csv ACCEPTED" for m in messages)
