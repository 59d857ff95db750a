"""Receipts told by e-mail and webhook from a real `gateway serve` with the real pipeline: each
receipt reaches each subscribed contact once, with the right subject and counts, a digest
contact gets one message for the day, and no value from a file reaches any message."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from gateway.site.ledger.backends import create_engine, parse_location
from gateway.site.ledger.schema import digest_items
from tests.submitters.files import ODC
from tests.support.daemon import wait_until
from tests.support.notify import (
    WEBHOOK_SECRET,
    MailServer,
    make_notifying_gateway,
    webhook_secret_file,
)

STATUS_WORDS = {"accepted": "ACCEPTED", "accepted_with_warnings": "ACCEPTED WITH WARNINGS",
                "rejected": "REJECTED"}


def registry(secret: Path, hook_url: str) -> str:
    return f'''registry_version = "1"

[[submitter]]
id = "demo-clinic"
name = "Demo Family Clinic"
kind = "clinic"
npi = ["1234567893"]
well_child = true
emr_since = 2010-01-01

[[submitter.contact]]
name = "Pat Lee"
email = "Pat.Lee@clinic.example.org"
role = "data"
notify = ["receipts", "deadlines"]
digest = "none"

[[submitter.contact]]
name = "Sam Ortiz"
email = "sam.ortiz@clinic.example.org"
role = "general"
notify = ["receipts"]

[[submitter.contact]]
name = "Dana Digest"
email = "dana@clinic.example.org"
notify = ["receipts"]
digest = "daily"

[[submitter.contact]]
name = "Lee Deadlines"
email = "lee@clinic.example.org"
notify = ["deadlines"]

[[submitter.webhook]]
url = "{hook_url}"
secret_file = "{secret}"
events = ["receipt"]
'''


def variants(folder: Path, count: int) -> dict[str, list[str]]:
    """``count`` distinct ODC files, each with planted markers (patient ids everywhere; an
    unknown payer or a non-number where the rejection echoes the value); returns each file's
    markers."""
    source = ODC.read_text(encoding="utf-8")
    planted: dict[str, list[str]] = {}
    for number in range(count):
        text = source.replace("MRN0", f"ZQX{number}P")  # patient ids
        markers = [f"ZQX{number}P"]
        name = f"odc-{number:02}.csv"
        if number % 3 == 1:  # an unknown payer: E-RECORD-CODE, the value in the receipt
            text = text.replace(",PRIVATE,", ",ZQXPAYERMARK,", 1)
            markers.append("ZQXPAYERMARK")
        elif number % 3 == 2:  # an A1c that is no number
            text = text.replace(",10.7,", ",ZQXA1CMARK,", 1)
            markers.append("ZQXA1CMARK")
        (folder / name).write_text(text, encoding="utf-8")
        planted[name] = markers
    return planted


def gathered_days(ledger: Path) -> dict[str, str]:
    """The day each receipt waits under for its digest, by submission id."""
    engine = create_engine(parse_location(ledger))
    try:
        with engine.connect() as db:
            return {row.submission_id: row.day for row in db.execute(
                sa.select(digest_items.c.submission_id, digest_items.c.day))}
    finally:
        engine.dispose()


def test_every_receipt_reaches_each_subscribed_contact_once_and_no_file_value_does(
        tmp_path: Path, mail: MailServer, receivers) -> None:
    hook = receivers("200")
    secret = webhook_secret_file(tmp_path)
    gateway = make_notifying_gateway(tmp_path, mail, registry(secret, hook.url))
    gateway.add_submitter("demo-clinic")
    staged = tmp_path / "staged"
    staged.mkdir()
    planted = variants(staged, 9)
    gateway.start()
    for name in planted:  # a burst: every file at once, as an SFTP client would
        part = gateway.upload("demo-clinic") / f"{name}.part"
        part.write_bytes((staged / name).read_bytes())
        part.rename(gateway.upload("demo-clinic") / name)
    receipts = gateway.wait_receipts("demo-clinic", len(planted), timeout=180)
    # accepted files warn: they come years after their deadline
    assert Counter(r["status"] for r in receipts) == {"accepted_with_warnings": 3,
                                                      "rejected": 6}

    messages = mail.wait_for(2 * len(planted))
    requests_ = wait_until(lambda: len(hook.requests()) >= len(planted) and hook.requests(),
                           what="the webhooks")
    # the day's digest, queued by hand as the daemon does at 07:00 the next morning: the day
    # each receipt was made, in the program's time zone, as the daemon gathered it (a burst
    # that met the program's midnight, or whose receipt came just after it, has two days)
    days = gathered_days(gateway.var / "ledger.sqlite3")
    assert set(days) == {r["submission_id"] for r in receipts}
    for day in sorted(set(days.values())):
        assert "1 digest queued" in gateway.cli("notify", "digest", "--day", day).stdout
    digests = len(set(days.values()))
    messages = mail.wait_for(2 * len(planted) + digests)
    # a sender records its turn's deliveries together once the turn ends, just after the last
    # message reached the server: the outbox is looked at until it says so
    sent = 2 * len(planted) + digests + len(planted)
    counts = wait_until(lambda: (found := json.loads(gateway.cli(
        "notify", "status", "--json").stdout)["counts"])["sent"] >= sent and found,
        what="every message recorded as sent")
    assert gateway.stop() == 0

    by_recipient = Counter(tuple(m["rcpt"]) for m in messages)
    assert by_recipient == {("pat.lee@clinic.example.org",): len(planted),
                            ("sam.ortiz@clinic.example.org",): len(planted),
                            ("dana@clinic.example.org",): digests}
    assert len({m["message_id"] for m in messages}) == len(messages)

    by_id = {r["submission_id"]: r for r in receipts}
    singles = [m for m in messages if m["rcpt"] != ["dana@clinic.example.org"]]
    for message in singles:
        found = re.search(r"Submission id:\s+(\S+)", message["text"])
        assert found, message["text"]
        receipt = by_id[found[1]]
        words = STATUS_WORDS[receipt["status"]]
        assert message["subject"] == f"[SQRMS] demo-clinic: {receipt['file']['name']} {words}"
        assert re.search(rf"Errors:\s+{receipt['counts']['errors']:,}\n", message["text"])
        assert re.search(rf"Warnings:\s+{receipt['counts']['warnings']:,}\n", message["text"])
        assert "ODC" in message["text"] and "2015" in message["text"]
        link = f"https://sqrms.example.org/console/submissions/{receipt['submission_id']}"
        assert link in message["text"] and link in message["html"]
        # the same letter, twice: every fact of the text is in the HTML too
        assert receipt["file"]["name"] in message["html"] and words in message["html"]
        for code, count in Counter(receipt["findings_by_code"]).most_common(3):
            assert f"{code} ({count:,} time" in message["text"]
    pairs = Counter((m["rcpt"][0], re.search(r"Submission id:\s+(\S+)", m["text"])[1])
                    for m in singles)
    assert set(pairs.values()) == {1} and len(pairs) == 2 * len(planted)

    for day in set(days.values()):
        [digest] = [m for m in messages if m["rcpt"] == ["dana@clinic.example.org"]
                    and m["subject"].endswith(f" of {day}")]
        of_day = [r for r in receipts if days[r["submission_id"]] == day]
        assert digest["subject"].startswith(f"[SQRMS] demo-clinic: {len(of_day)} receipt")
        for receipt in of_day:
            assert receipt["submission_id"] in digest["text"]
            assert receipt["file"]["name"] in digest["text"]

    assert len(requests_) == len(planted)
    deliveries = set()
    for request in requests_:
        headers = request["headers"]
        assert headers["x-gateway-event"] == "receipt"
        expected = hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256)
        assert headers["x-gateway-signature"] == "sha256=" + expected.hexdigest()
        body = json.loads(request["body"])
        receipt = by_id[body["submission_id"]]
        assert set(body) == {"event", "submission_id", "submitter", "file_name", "status",
                             "counts", "received_at", "family", "measure", "level",
                             "reporting_year", "links"}
        assert body["event"] == "receipt" and body["status"] == receipt["status"]
        assert body["counts"] == receipt["counts"] and body["family"] == "mncm"
        assert body["file_name"] == receipt["file"]["name"]
        assert body["received_at"] == receipt["file"]["received_at"]
        deliveries.add(headers["x-gateway-delivery"])
    assert len(deliveries) == len(planted)

    # No value of any file, anywhere: not in a message (headers, text, HTML), not in a
    # webhook, although the rejection receipts themselves echo them to the submitter.
    everything = "\n".join(m["raw"] + m["text"] + m["html"] for m in messages)
    everything += "\n".join(r["body"].decode() for r in requests_)
    echoed = "".join(json.dumps(r) for r in receipts)
    for markers in planted.values():
        for marker in markers:
            assert marker not in everything
    assert "ZQXPAYERMARK" in echoed and "ZQXA1CMARK" in echoed  # the receipts do echo them
    # The MIME boundaries are random digits and could hold the zip code by chance.
    unbounded = re.sub(r"={15}\d+==", "", everything)
    for content in ("55455", "2014-06-19", "MRN0", "ZQX"):
        assert content not in unbounded

    assert counts["sent"] == sent
    assert counts["queued"] == counts["retrying"] == counts["failed"] == 0
