"""Reports by e-mail: each prescriber on the sign-up list gets its own one-page PDF, queued in
the installation's outbox and sent by the running daemons.

The message is queued under a key that names only the measurement year and the prescriber, so
a second run of the command, a daemon restart or a new list with another address for the same
prescriber sends nothing again that year. The text says what is attached and nothing else: no
figures, no patient data (the figures are in the PDF, which goes only to the prescriber's own
address).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gateway.contract import Attachment, OutgoingEmail, Site, queue_emails
from gateway_opioid.program import program
from gateway_opioid.report.data import PrescriberReport
from gateway_opioid.subscribers import Subscriber

KIND = "opip-report"


def dedup_key(year: int, npi: str) -> str:
    """One report e-mail per prescriber and measurement year, whatever happens."""
    return f"{KIND}:{year}:{npi}"


def subject(year: int) -> str:
    return f"[SQRMS] {program().title}: your report for measurement year {year}"


def text(year: int, npi: str) -> str:
    return (f"Your one-page opioid prescribing report for measurement year {year} "
            f"(prescriber NPI {npi}) is attached as a PDF.\n\n"
            "It compares your prescribing with your specialty group's and says whether a "
            "quality improvement requirement applies. You receive it because you signed up "
            "for reports by e-mail; ask the program to take you off the list to stop them.\n")


def queue_reports(site: Site, year: int, reports: list[PrescriberReport],
                  listed: Mapping[str, Subscriber], folder: Path) -> tuple[int, int, int]:
    """Queue a message with its PDF (``folder/<npi>.pdf``) for each listed prescriber that has
    a report. Returns (queued now, queued by an earlier run, listed without a report)."""
    mine = [r for r in reports if r.npi in listed]
    ids = queue_emails(site, (_email(year, listed[r.npi].email, r.npi, folder) for r in mine))
    queued = sum(number is not None for number in ids)
    return queued, len(ids) - queued, len(listed) - len(mine)


def _email(year: int, address: str, npi: str, folder: Path) -> OutgoingEmail:
    pdf = Attachment(f"opip-report-{year}-{npi}.pdf", "application/pdf",
                     (folder / f"{npi}.pdf").read_bytes())
    return OutgoingEmail(to=address, subject=subject(year), text=text(year, npi),
                         dedup_key=dedup_key(year, npi), kind=KIND, attachments=(pdf,))
