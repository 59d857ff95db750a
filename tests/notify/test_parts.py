"""The parts of notifications on their own: contacts and webhooks checked with the registry, the
letters, which day a reminder falls on, the outbox's order, claims and back-off, the calendar's
catch-up, the public enqueue API and the settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.notify import contacts_of, enqueue_email, outbox_counts, outbox_messages
from gateway.notify.channels import SmtpSettings, build_email
from gateway.notify.letters import Letter, ReceiptFacts, receipt_letter, receipt_subject
from gateway.notify.outbox import (
    EMAIL,
    Attachment,
    claim,
    mark_failed_attempt,
    mark_sent,
    queue,
    release,
)
from gateway.notify.schedule import REMINDERS, days_to_run, queue_reminders, which_reminder
from gateway.notify.sender import Sender, SenderSettings
from gateway.site.config import ConfigError, load_config
from gateway.site.ledger import Daemon, Ledger
from gateway.submitters.registry_file import RegistryError, parse_registry

CLINIC = '''registry_version = "1"

[[submitter]]
id = "demo-clinic"
name = "Demo Family Clinic"
kind = "clinic"
npi = ["1234567893"]
'''


def contact(**values: object) -> str:
    lines = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in values.items())
    return "\n[[submitter.contact]]\n" + lines


def test_contacts_and_webhooks_are_read_with_their_defaults() -> None:
    text = (CLINIC + contact(name="Pat Lee", email="pat.lee@example.org", role="data",
                             notify=["receipts"], digest="daily")
            + contact(name="Kim", email="kim@example.org")
            + '\n[[submitter.webhook]]\nurl = "https://vendor.example.org/hooks/sqrms"\n'
              'secret_file = "/etc/gateway/webhooks/demo-clinic.secret"\n')
    registry = parse_registry(text.encode(), "registry.toml")
    pat, kim = contacts_of(registry, "demo-clinic")
    assert (pat.email, pat.notify, pat.digest, pat.role) == (
        "pat.lee@example.org", ("receipts",), "daily", "data")
    assert (kim.notify, kim.digest) == (("receipts", "deadlines"), "none")
    [hook] = registry.get("demo-clinic").webhooks
    assert hook.events == ("receipt",) and hook.url.startswith("https://")
    # contacts and secrets stay out of what the ledger records of the entry
    assert "contacts" not in registry.get("demo-clinic").as_dict()
    assert contacts_of(registry, "nobody") == ()


@pytest.mark.parametrize(("block", "line", "words"), [
    (contact(name="Pat", email="pat.lee(at)example.org"), 11, "does not have the required form"),
    (contact(name="Pat", email="pat@example"), 11, "e-mail address"),
    (contact(name="Pat"), 9, "missing key 'email' in [[submitter.contact]] #1"),
    (contact(name="Pat", email="p@example.org", notify=["everything"]), 12, "notify"),
    (contact(name="Pat", email="p@example.org", digest="weekly"), 12, '"none", "daily"'),
    (contact(name="Pat", email="p@example.org", phone="555"), 12, "unknown key 'phone'"),
    ('\n[[submitter.webhook]]\nurl = "http://vendor.example.org/hook"\nsecret_file = "/s"\n',
     10, "http:// only to a loopback address"),
    ('\n[[submitter.webhook]]\nurl = "https://vendor.example.org/hook"\n', 9,
     "missing key 'secret_file'"),
])
def test_a_bad_contact_or_webhook_refuses_the_registry_naming_its_line(
        block: str, line: int, words: str) -> None:
    with pytest.raises(RegistryError) as refused:
        parse_registry((CLINIC + block).encode(), "registry.toml")
    [problem] = refused.value.problems
    assert problem.startswith(f"line {line}: ") and words in problem, problem


def test_a_loopback_webhook_may_use_plain_http() -> None:
    text = CLINIC + ('\n[[submitter.webhook]]\nurl = "http://127.0.0.1:8080/hook"\n'
                     'secret_file = "/s"\n')
    assert parse_registry(text.encode(), "r").get("demo-clinic").webhooks[0].url


def facts(**changes: object) -> ReceiptFacts:
    values: dict = dict(
        submission_id="20260101T000000.000000Z-abc", submitter="demo-clinic",
        file_name="odc <2015>.csv", status="rejected", received_at="2026-01-01T00:00:00Z",
        family="mncm", measure="ODC", level="patient", reporting_year=2015,
        counts={"records": 80, "records_rejected": 2, "errors": 1234, "warnings": 0},
        top_codes=[{"code": "E-RECORD-CODE", "count": 1200, "meaning": "Not a known code."}])
    return ReceiptFacts(**(values | changes))


def test_a_receipt_letter_says_the_same_in_text_and_html_and_escapes_names() -> None:
    letter = receipt_letter(facts(), "https://console.example.org/")
    text, html = letter.text(), letter.html()
    assert "Errors:" in text and "1,234" in text and "1,234" in html
    assert "E-RECORD-CODE (1,200 times): Not a known code." in text
    assert "odc &lt;2015&gt;.csv" in html and "<2015>" not in html
    link = "https://console.example.org/submissions/20260101T000000.000000Z-abc"
    assert link in text and link in html
    assert receipt_subject(facts()) == "[SQRMS] demo-clinic: odc <2015>.csv REJECTED"
    assert receipt_subject(facts(status="accepted_with_warnings")).endswith(
        "ACCEPTED WITH WARNINGS")
    assert "console" not in receipt_letter(facts(), None).text()  # no public_url: no link
    assert Letter("t").text().startswith("t\n=\n")


@pytest.mark.parametrize(("day", "which"), [
    (date(2015, 2, 1), "14"), (date(2015, 2, 12), "3"), (date(2015, 2, 16), "overdue"),
    (date(2015, 2, 15), None), (date(2015, 2, 17), None), (date(2015, 2, 2), None)])
def test_reminders_fall_14_and_3_days_before_and_the_day_after(day: date,
                                                               which: str | None) -> None:
    assert which_reminder(date(2015, 2, 15), day) == which


@pytest.fixture
def ledger(tmp_path: Path):
    """A ledger with two live daemons, "one" and "two", as senders."""
    made = Ledger(tmp_path / "ledger.sqlite3")
    for name in ("one", "two"):
        made.register(Daemon(name, "host", 1, "2026-01-01T00:00:00Z",
                             lease_until=datetime.now(UTC).timestamp() + 86400))
    yield made
    made.close()


def put(engine: sa.Engine, key: str, to: str) -> int:
    with engine.begin() as db:
        number = queue(db, dedup_key=key, kind="receipt", channel=EMAIL, destination=to,
                       subject=key, content={"text": key})
    assert number is not None
    return number


def test_messages_to_one_recipient_are_claimed_in_order_and_wait_behind_a_failure(
        ledger: Ledger) -> None:
    engine = ledger.engine
    a = [put(engine, f"a{n}", "a@example.org") for n in range(3)]
    b = [put(engine, f"b{n}", "b@example.org") for n in range(2)]
    first = claim(engine, "one", lease=60)
    assert [m.message_id for m in first] == a + b
    assert claim(engine, "two", lease=60) == []  # claimed: nobody else takes them
    now = datetime.now(UTC).timestamp()
    state = mark_failed_attempt(engine, first[0], "one", "SMTP: down", retry_first=30,
                                retry_max=60, retry_for=3600, now=now)
    assert state == "retrying"
    release(engine, first[1:3], "one")  # the rest of a's run, untried
    assert mark_sent(engine, [(m, "250") for m in first[3:]], "one") == first[3:]
    # a1 and a2 wait behind a0 until its back-off is over; then a0 goes first
    assert claim(engine, "two", lease=60, now=now + 10) == []
    again = claim(engine, "two", lease=60, now=now + 31)
    assert [m.message_id for m in again] == a
    assert again[0].attempts == 1
    # after retry_for it is given up, and the messages behind it go on
    gone = mark_failed_attempt(engine, again[0], "two", "SMTP: down", retry_first=30,
                               retry_max=60, retry_for=3600, now=now + 3601)
    assert gone == "failed"
    release(engine, again[1:], "two")
    assert [m.message_id for m in claim(engine, "two", lease=60, now=now + 3602)] == a[1:]
    counts = outbox_counts(engine)
    assert counts == {"queued": 0, "sending": 2, "sent": 2, "retrying": 0, "failed": 1}


def test_claims_of_a_sender_that_is_gone_are_taken_over(ledger: Ledger) -> None:
    put(ledger.engine, "k", "a@example.org")
    [held] = claim(ledger.engine, "dead-daemon", lease=600)  # no live lease in the ledger
    # a claim of a daemon without a live lease is free at once, whatever the claim's own
    [taken] = claim(ledger.engine, "one", lease=600)
    assert claim(ledger.engine, "two", lease=600) == []  # "one" lives: its claim holds
    assert taken.message_id == held.message_id
    assert mark_sent(ledger.engine, [(held, None)], "dead-daemon") == []  # its late answer
    assert mark_sent(ledger.engine, [(taken, None)], "one") == [taken]


def test_enqueue_email_is_idempotent_and_part_of_the_callers_transaction(
        ledger: Ledger) -> None:
    common = {"to": "Prescriber@Example.org", "subject": "[SQRMS] report",
              "text": "Your report is ready.", "kind": "opip-report"}
    first = enqueue_email(ledger, dedup_key="opip:2024Q1:1234567893:p", **common)
    assert first is not None
    assert enqueue_email(ledger.engine, dedup_key="opip:2024Q1:1234567893:p", **common) is None
    with pytest.raises(RuntimeError), ledger.engine.begin() as db:
        assert enqueue_email(db, dedup_key="opip:2024Q2:x", **common) is not None
        raise RuntimeError("the caller's record failed")
    [shown] = outbox_messages(ledger.engine)
    assert (shown.message_id, shown.destination, shown.kind, shown.state) == (
        first, "prescriber@example.org", "opip-report", "queued")


def test_an_attachment_is_queued_with_its_message_only_once_and_sent_as_its_own_part(
        ledger: Ledger) -> None:
    pdf = b"%PDF-1.4 the prescriber's page"
    common = {"to": "p@example.org", "subject": "[SQRMS] report", "kind": "opip-report",
              "text": "Your report is attached.", "dedup_key": "opip-report:2021:1234567893"}
    first = enqueue_email(ledger, attachments=[Attachment("r.pdf", "application/pdf", pdf)],
                          **common)
    again = enqueue_email(ledger, attachments=[Attachment("s.pdf", "application/pdf", b"x")],
                          **common)
    assert first is not None and again is None
    [message] = claim(ledger.engine, "one", lease=60)
    assert message.attachments == (Attachment("r.pdf", "application/pdf", pdf),)
    mail = build_email(message, SmtpSettings("smtp://127.0.0.1:25"))
    [part] = list(mail.iter_attachments())
    assert (part.get_content_type(), part.get_filename(), part.get_content()) == (
        "application/pdf", "r.pdf", pdf)
    assert mail.get_body(("plain",)).get_content().strip() == "Your report is attached."
    with pytest.raises(ValueError):
        Attachment("../r.pdf", "application/pdf", pdf)


def test_a_sent_messages_attachment_is_not_kept_in_the_ledger(ledger: Ledger) -> None:
    common = {"subject": "[SQRMS] report", "kind": "opip-report", "text": "Attached."}
    for n in (1, 2):
        enqueue_email(ledger, to=f"p{n}@example.org", dedup_key=f"opip-report:2021:{n}",
                      attachments=[Attachment(f"r{n}.pdf", "application/pdf", b"%PDF-1.4")],
                      **common)
    sent, waiting = claim(ledger.engine, "one", lease=60)
    assert mark_sent(ledger.engine, [(sent, "250 ok")], "one") == [sent]
    with ledger.engine.connect() as db:
        kept = db.execute(sa.text("SELECT message_id FROM outbox_attachments")).scalars().all()
    assert kept == [waiting.message_id]  # the one not yet sent still has its report
    assert sorted(m.state for m in outbox_messages(ledger.engine)) == ["sending", "sent"]


def test_the_calendar_runs_today_from_six_and_catches_up_a_missed_week(
        ledger: Ledger) -> None:
    zone = "America/Chicago"
    early = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)  # 05:00 in Minnesota
    assert days_to_run(early, zone, REMINDERS, ledger.engine) == []
    six = early + timedelta(hours=1)
    queue_reminders(ledger.engine, date(2026, 5, 1), [])  # an operator previews a later day
    queue_reminders(ledger.engine, date(2026, 3, 20), [])  # or queues today's by hand
    assert days_to_run(six, zone, REMINDERS, ledger.engine) == [date(2026, 3, 20)]
    queue_reminders(ledger.engine, date(2026, 3, 20), [], once=True)
    assert queue_reminders(ledger.engine, date(2026, 3, 20), [], once=True) is None
    assert days_to_run(six, zone, REMINDERS, ledger.engine) == []
    later = six + timedelta(days=12)  # down for eleven days: the last seven are caught up
    assert days_to_run(later, zone, REMINDERS, ledger.engine) == [
        date(2026, 3, 25) + timedelta(days=n) for n in range(8)]


def test_notify_settings_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[notify]\nsmtp_url = "smtps://mail.example.org:465"\n'
                      'password_file = "secrets/smtp"\nstarttls = false\n'
                      '[web]\npublic_url = "https://sqrms.example.org"\n', encoding="utf-8")
    settings = load_config(config)
    assert settings.smtp_password_file == tmp_path / "secrets" / "smtp"
    assert settings.smtp_starttls is False and settings.web_public_url == "https://sqrms.example.org"
    for wrong in ('starttls = "no"', 'smtp_url = "mail.example.org"', 'password = "x"'):
        config.write_text(f"[notify]\n{wrong}\n", encoding="utf-8")
        with pytest.raises(ConfigError):
            load_config(config)


def test_the_daemons_calendar_queues_a_days_reminders_once_and_catches_up(
        ledger: Ledger) -> None:
    registry = parse_registry((
        'registry_version = "1"\n[[submitter]]\nid = "stroke-hospital"\nname = "Stroke"\n'
        'kind = "hospital"\nccn = ["240020"]\nhospital_type = "PPS"\n'
        + contact(name="Quality", email="quality@stroke.example.org",
                  notify=["deadlines"])).encode(), "registry.toml")
    settings = SenderSettings(smtp=SmtpSettings(url="smtp://127.0.0.1:1"))
    one = Sender(ledger, settings, "one", lambda: registry)
    two = Sender(ledger, settings, "two", lambda: registry)
    # 06:30 in Minnesota on 2015-02-01: 14 days before stroke 2014Q3 is due (2015-02-15)
    morning = datetime(2015, 2, 1, 12, 30, tzinfo=UTC)
    one.run_calendar(morning)
    two.run_calendar(morning)  # another daemon, the same morning: nothing more
    subjects = [m.subject for m in outbox_messages(ledger.engine)]
    assert "[SQRMS] stroke-hospital: stroke STROKE 2014Q3 due 2015-02-15 in 14 days" \
        in subjects
    assert len(subjects) == len(set(subjects))
    # down until the 13th: the days missed are run, the 3-day reminder of the 12th with them
    two.run_calendar(datetime(2015, 2, 13, 13, 0, tzinfo=UTC))
    later = [m.subject for m in outbox_messages(ledger.engine, limit=500)]
    assert "[SQRMS] stroke-hospital: stroke STROKE 2014Q3 due 2015-02-15 in 3 days" in later
    assert len(later) == len(set(later))
