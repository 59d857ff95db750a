"""What the messages say: receipts, the daily digest and deadline reminders.

Each message is written once, as a ``Letter`` (a title, lines of facts, lists, a link), and
rendered twice from it: plain text and an HTML alternative, so the two can never say different
things. Every value shown comes from the gateway's own record of a submission (``ReceiptFacts``:
status, counts, codes and their catalogued meaning, the submitter's own file name) or from the
registry and the obligations; nothing in this module ever sees a cell of a file.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gateway.receipts.text import plural

SUBJECT_PREFIX = "[SQRMS]"
TOP_CODES = 3
REMINDER_WORDS = {"14": "in 14 days", "3": "in 3 days", "overdue": "OVERDUE"}


@dataclass
class Letter:
    """One message's content, independent of its rendering."""

    title: str
    intro: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # heading, items
    link: str | None = None
    closing: str = ("This message was sent by the SQRMS gateway; the receipt in your "
                    "receipts/ folder is the record.")

    def text(self) -> str:
        lines = [self.title, "=" * min(len(self.title), 72), ""]
        if self.intro:
            lines += [self.intro, ""]
        width = max((len(label) for label, _ in self.facts), default=0)
        lines += [f"{label + ':':<{width + 1}} {value}" for label, value in self.facts]
        for heading, items in self.sections:
            lines += ["", heading] + [f"  - {item}" for item in items]
        if self.link:
            lines += ["", f"See it in the web console: {self.link}"]
        lines += ["", "-- ", self.closing]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = html.escape
        parts = ["<!DOCTYPE html>", "<html><body>", f"<h1>{e(self.title)}</h1>"]
        if self.intro:
            parts.append(f"<p>{e(self.intro)}</p>")
        if self.facts:
            parts.append("<table>" + "".join(
                f"<tr><th style=\"text-align:left\">{e(label)}</th><td>{e(value)}</td></tr>"
                for label, value in self.facts) + "</table>")
        for heading, items in self.sections:
            parts.append(f"<h2>{e(heading)}</h2><ul>"
                         + "".join(f"<li>{e(item)}</li>" for item in items) + "</ul>")
        if self.link:
            parts.append(f"<p><a href=\"{e(self.link, quote=True)}\">See it in the web "
                         "console</a></p>")
        parts += [f"<p><small>{e(self.closing)}</small></p>", "</body></html>"]
        return "\n".join(parts) + "\n"

    def content(self) -> dict[str, str]:
        """The outbox's e-mail content: both renderings."""
        return {"text": self.text(), "html": self.html()}


@dataclass(frozen=True)
class ReceiptFacts:
    """What a message may say about one receipt: the gateway's own facts, no file content."""

    submission_id: str
    submitter: str
    file_name: str
    status: str
    received_at: str
    family: str | None
    measure: str | None
    level: str | None
    reporting_year: int | None
    counts: Mapping[str, int]
    top_codes: Sequence[Mapping[str, Any]]  # {code, count, meaning}, most frequent first
    duplicate_of: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"submission_id": self.submission_id, "submitter": self.submitter,
                "file_name": self.file_name, "status": self.status,
                "received_at": self.received_at, "family": self.family,
                "measure": self.measure, "level": self.level,
                "reporting_year": self.reporting_year, "counts": dict(self.counts),
                "top_codes": [dict(c) for c in self.top_codes],
                "duplicate_of": self.duplicate_of}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReceiptFacts:
        return cls(**{key: data.get(key) for key in (
            "submission_id", "submitter", "file_name", "status", "received_at", "family",
            "measure", "level", "reporting_year", "counts", "top_codes", "duplicate_of")})

    @property
    def status_words(self) -> str:
        """ACCEPTED, ACCEPTED WITH WARNINGS or REJECTED, as the subject says it."""
        return self.status.upper().replace("_", " ")

    @property
    def route(self) -> str:
        if self.family is None:
            return "not recognised"
        return " / ".join(str(part) for part in (self.family, self.measure, self.level,
                                                 self.reporting_year) if part is not None)


def submission_link(public_url: str | None, submission_id: str) -> str | None:
    """The web console's page of a submission (none without ``[web] public_url``)."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/submissions/{submission_id}"


def receipt_subject(facts: ReceiptFacts) -> str:
    return f"{SUBJECT_PREFIX} {facts.submitter}: {facts.file_name} {facts.status_words}"


def receipt_letter(facts: ReceiptFacts, public_url: str | None) -> Letter:
    counts = facts.counts
    letter = Letter(
        title=f"{facts.file_name}: {facts.status_words}",
        intro=f"The gateway has answered the file {facts.file_name} that {facts.submitter} "
              f"sent: {facts.status_words}.",
        facts=[("Status", facts.status_words), ("File", facts.file_name),
               ("Submission id", facts.submission_id), ("Received", facts.received_at),
               ("Family / measure / level / year", facts.route),
               ("Errors", f"{counts.get('errors', 0):,}"),
               ("Warnings", f"{counts.get('warnings', 0):,}")],
        link=submission_link(public_url, facts.submission_id))
    if facts.duplicate_of:
        letter.facts.append(("Same content as", facts.duplicate_of))
    if facts.top_codes:
        letter.sections.append(("Most frequent findings", [_code_line(c)
                                                           for c in facts.top_codes]))
    return letter


def _code_line(code: Mapping[str, Any]) -> str:
    meaning = f": {code['meaning']}" if code.get("meaning") else ""
    return f"{code['code']} ({plural(int(code['count']), 'time')}){meaning}"


def digest_subject(submitter: str, day: date, receipts: int) -> str:
    return f"{SUBJECT_PREFIX} {submitter}: {plural(receipts, 'receipt')} of {day.isoformat()}"


def digest_letter(submitter: str, day: date, items: Iterable[ReceiptFacts],
                  public_url: str | None) -> Letter:
    items = sorted(items, key=lambda f: (f.received_at, f.submission_id))
    by_status: dict[str, int] = {}
    for facts in items:
        by_status[facts.status_words] = by_status.get(facts.status_words, 0) + 1
    lines = []
    for facts in items:
        link = submission_link(public_url, facts.submission_id)
        lines.append(f"{facts.file_name}: {facts.status_words}, "
                     f"{plural(int(facts.counts.get('errors', 0)), 'error')}, "
                     f"{plural(int(facts.counts.get('warnings', 0)), 'warning')} "
                     f"(submission {facts.submission_id}, received {facts.received_at})"
                     + (f" {link}" if link else ""))
    return Letter(
        title=f"{submitter}: receipts of {day.isoformat()}",
        intro=f"The gateway answered {plural(len(items), 'file')} from {submitter} on "
              f"{day.isoformat()}.",
        facts=[(status.capitalize(), str(n)) for status, n in sorted(by_status.items())],
        sections=[("Receipts", lines)])


def reminder_subject(submitter: str, family: str, measure: str, period: str, due: date,
                     which: str) -> str:
    return (f"{SUBJECT_PREFIX} {submitter}: {family} {measure} {period} due "
            f"{due.isoformat()} {REMINDER_WORDS[which]}")


def reminder_letter(submitter: str, family: str, measure: str, period: str, due: date,
                    which: str, status: str) -> Letter:
    if which == "overdue":
        intro = (f"The {family} {measure} submission for {period} was due on "
                 f"{due.isoformat()} and the gateway has not accepted a file for it.")
    else:
        intro = (f"The {family} {measure} submission for {period} is due on "
                 f"{due.isoformat()} ({REMINDER_WORDS[which]}); the gateway has not "
                 "accepted a file for it yet.")
    return Letter(
        title=f"{submitter}: {family} {measure} {period} due {due.isoformat()}",
        intro=intro,
        facts=[("Submitter", submitter), ("Family", family), ("Measure", measure),
               ("Period", period), ("Due", due.isoformat()),
               ("Status", "files came, none accepted" if status == "rejected"
                else "nothing received")],
        closing="This reminder was sent by the SQRMS gateway because you are a deadline "
                "contact of this submitter in its registration.")
