"""Deadline reminders over a whole year of `gateway notify reminders --as-of` days, for six
submitters: each contact that owes gets exactly the reminders due, on exactly their days, once;
then a real `gateway serve` sends each exactly once. The expectation is computed here, from
the due dates `gateway compliance` shows and the files planted in the ledger."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.cli import app
from gateway.site.ledger import Ledger, Submission
from gateway.site.ledger.schema import outbox
from tests.submitters.registries import CLINIC, HOSPITALS, PROGRAM
from tests.support.notify import MailServer, make_notifying_gateway

ZONE = ZoneInfo("America/Chicago")
FIRST, LAST = date(2015, 1, 1), date(2015, 12, 31)

# who is told what, per submitter: (email, notify, digest)
CONTACTS = {
    "demo-clinic": [("abstractor@clinic.example.org", ["receipts", "deadlines"], "none"),
                    ("manager@clinic.example.org", ["deadlines"], "daily"),
                    ("quiet@clinic.example.org", [], "none")],
    "cart-hospital": [("quality@cart.example.org", ["deadlines"], "none"),
                      ("receipts-only@cart.example.org", ["receipts"], "none")],
    "nicu-hospital": [("nicu@nicu.example.org", ["deadlines", "receipts"], "daily")],
    "stroke-hospital": [("stroke@stroke.example.org", ["deadlines"], "none")],
    "cah-hospital": [],
    "dhs-feed": [("feed@dhs.example.org", ["deadlines"], "none")],
}


def registry_text() -> str:
    entries = [block for block in (CLINIC + HOSPITALS + PROGRAM).split("[[submitter]]")
               if block.strip()]
    text = 'registry_version = "1"\n'
    for entry in entries:
        ident = re.search(r'id = "([^"]+)"', entry)[1]
        text += "\n[[submitter]]" + entry
        for number, (email, notify, digest) in enumerate(CONTACTS[ident]):
            text += (f'\n[[submitter.contact]]\nname = "Contact {number}"\nemail = "{email}"\n'
                     f"notify = {json.dumps(notify)}\ndigest = \"{digest}\"\n")
    return text


def chicago_day(instant: str) -> date:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZONE).date()


def compliance_lines(config: Path) -> list[dict[str, str]]:
    runner = CliRunner()
    lines = []
    for year in (2014, 2015, 2016):
        result = runner.invoke(app, ["compliance", "--year", str(year), "--csv", "-",
                                     "--as-of", "2014-01-01", "--config", str(config)])
        assert result.exit_code == 0, result.output
        lines += list(csv.DictReader(io.StringIO(result.stdout)))
    return lines


def plant(ledger: Ledger, submitter: str, line: dict[str, str], received_at: str,
          status: str, number: int) -> dict[str, object]:
    """A filed submission in the ledger answering one obligation, as the daemon records it."""
    answer = {"family": line["family"], "measure": line["measure"], "period": line["period"],
              "subject": "", "level": "", "timing": "on_time", "due": line["due"]}
    ledger.add(Submission(
        submission_id=f"2015-planted-{number:03}", submitter=submitter,
        upload_name=f"planted-{number}.csv", name=f"planted-{number}.csv", state="filed",
        received_at=received_at, status=status, obligations=json.dumps([answer])))
    return {"submitter": submitter, "key": (line["family"], line["measure"], line["period"]),
            "day": chicago_day(received_at), "accepted": status != "rejected"}


def test_a_year_of_reminders_goes_to_exactly_the_contacts_that_owe_once_each(
        tmp_path: Path, mail: MailServer) -> None:
    gateway = make_notifying_gateway(tmp_path, mail, registry_text())
    lines = [line for line in compliance_lines(gateway.config)
             if line["status"] != "not_required"]
    assert len({line["submitter"] for line in lines}) >= 4

    # Files that came: some accepted in time, some accepted on a reminder's own day (they
    # count from the next day), one received late in the evening (the program's day, not
    # UTC's), some rejected (they meet nothing).
    ledger = Ledger(gateway.var / "ledger.sqlite3")
    planted = []
    by_submitter: dict[str, list[dict[str, str]]] = {}
    for line in lines:
        by_submitter.setdefault(line["submitter"], []).append(line)
    number = 0
    for submitter, owed in sorted(by_submitter.items()):
        for index, line in enumerate(owed):
            due = date.fromisoformat(line["due"])
            number += 1
            if index % 5 == 0:  # accepted ten days early: only the 14-day reminder
                at = f"{due - timedelta(days=10)}T17:00:00Z"
                planted.append(plant(ledger, submitter, line, at, "accepted", number))
            elif index % 5 == 1:  # accepted on the 3-day reminder's day: it still goes
                at = f"{due - timedelta(days=3)}T15:00:00Z"
                planted.append(plant(ledger, submitter, line, at, "accepted", number))
            elif index % 5 == 2:  # rejected before the deadline: every reminder goes
                at = f"{due - timedelta(days=5)}T15:00:00Z"
                planted.append(plant(ledger, submitter, line, at, "rejected", number))
            elif index % 5 == 3:  # 23:30 in Minnesota the evening before the 3-day reminder
                day_before = due - timedelta(days=4)
                at = f"{day_before + timedelta(days=1)}T05:30:00Z"
                planted.append(plant(ledger, submitter, line, at, "accepted", number))
    ledger.close()

    expected: Counter[tuple[date, str, str]] = Counter()
    for line in lines:
        due = date.fromisoformat(line["due"])
        contacts = [email for email, notify, _ in CONTACTS[line["submitter"]]
                    if "deadlines" in notify]
        for day, words in ((due - timedelta(days=14), "in 14 days"),
                           (due - timedelta(days=3), "in 3 days"),
                           (due + timedelta(days=1), "OVERDUE")):
            if not FIRST <= day <= LAST:
                continue
            met = any(p["accepted"] and p["submitter"] == line["submitter"]
                      and p["key"] == (line["family"], line["measure"], line["period"])
                      and p["day"] < day for p in planted)
            if met:
                continue
            subject = (f"[SQRMS] {line['submitter']}: {line['family']} {line['measure']} "
                       f"{line['period']} due {line['due']} {words}")
            for email in contacts:
                expected[(day, email, subject)] += 1
    assert len(expected) > 50

    # Every day of the year, as the daemons' 06:00 run would.
    runner = CliRunner()
    engine = sa.create_engine(f"sqlite:///{gateway.var / 'ledger.sqlite3'}")
    queued: Counter[tuple[date, str, str]] = Counter()
    seen = 0
    day = FIRST
    while day <= LAST:
        result = runner.invoke(app, ["notify", "reminders", "--as-of", day.isoformat(),
                                     "--config", str(gateway.config)])
        assert result.exit_code == 0, result.output
        with engine.connect() as db:
            for row in db.execute(sa.select(outbox).where(outbox.c.message_id > seen)
                                  .order_by(outbox.c.message_id)):
                queued[(day, row.destination, row.subject)] += 1
                seen = row.message_id
        day += timedelta(days=1)
    assert queued == expected

    # Run again (as a restarted daemon or a second operator would): nothing new.
    again = gateway.cli("notify", "reminders", "--as-of", "2015-07-18", "--days", "30")
    assert " 0 reminders queued" in again.stdout and "queued before" in again.stdout
    with engine.connect() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(outbox)) == len(expected)
    engine.dispose()

    # The daemon sends each once, with the reminder's words.
    gateway.start()
    messages = mail.wait_for(len(expected), timeout=180)
    gateway.stop()
    received = Counter((m["rcpt"][0], m["subject"]) for m in messages)
    assert received == Counter({(email, subject): n
                                for (_, email, subject), n in expected.items()})
    assert len({m["message_id"] for m in messages}) == len(messages)
    overdue = next(m for m in messages if m["subject"].endswith("OVERDUE"))
    assert "has not accepted a file" in overdue["text"]
