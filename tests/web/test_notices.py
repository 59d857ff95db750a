"""What the console shows of notifications: a submitter's own contacts and webhooks with what
each receives, and the outbox on the operator's overview (never a message's content, never a
webhook secret)."""

from __future__ import annotations

import pytest

from tests.support.notices import BODY, SECRET, URL_TOKEN, contacts_registry, failed_messages
from tests.support.web import Console, Site


def test_a_submitter_sees_its_own_contacts_and_what_each_receives(site: Site,
                                                                   console: Console) -> None:
    contacts_registry(site)
    page = console.signed_in("abby").get("/contacts")
    assert page.status_code == 200
    text = page.text
    for shown in ("Pat Lee", "pat.lee@example.org", "Quinn Digest", "Sam Silent",
                  "a message for each receipt",
                  "one daily digest at 07:00 of the previous day&#39;s receipts",
                  "deadline reminders 14 and 3 days before each due date",
                  "nothing (no e-mail is sent to this contact)", "general contact",
                  "https://hooks.example.org/sqrms", "a signed POST for each receipt"):
        assert shown in text, shown
    # Quinn gets the digest only, no reminders: the row says so
    quinn = text[text.index("Quinn Digest"):text.index("Sam Silent")]
    assert "daily digest" in quinn and "deadline" not in quinn and "for each receipt" not in quinn
    # the other clinic's people and hooks, the secret, its path and a token in the URL: never
    for hidden in ("Nora North", "nora@north.example.org", "north-vendor", SECRET,
                   "demo.secret", URL_TOKEN):
        assert hidden not in text, hidden
    other = console.signed_in("bert").get("/contacts").text
    assert "Nora North" in other and "north-vendor.example.org/hook" in other
    assert "Pat Lee" not in other and "hooks.example.org" not in other


def test_an_operator_has_no_contacts_page_of_its_own(console: Console) -> None:
    assert console.signed_in("olive").get("/contacts").status_code == 403


def test_the_overview_shows_the_outbox_and_failing_destinations(console: Console) -> None:
    ids = failed_messages(console)
    text = console.signed_in("olive").get("/overview").text
    section = text[text.index('id="outbox-h"'):text.index('id="registry-h"')]
    assert "queued: 1" in section and "failed: 2" in section and "sent: 0" in section
    for shown in ("pat.lee@example.org", "recipient refused (550)", "HTTP 500",
                  "https://hooks.example.org/sqrms", "nora@north.example.org",
                  f"gateway notify retry {ids['mail']}", f"gateway notify retry {ids['hook']}"):
        assert shown in section, shown
    assert f"gateway notify retry {ids['waiting']}" not in section  # not failed: nothing to do
    for hidden in (BODY, URL_TOKEN, SECRET, "odc.csv"):
        assert hidden not in text, hidden


@pytest.mark.parametrize("name", ["abby", "bert"])
def test_a_submitter_sees_no_outbox(console: Console, name: str) -> None:
    failed_messages(console)
    client = console.signed_in(name)
    assert client.get("/overview").status_code == 403
    for path in ("/contacts", "/submissions", "/obligations"):
        page = client.get(path).text
        assert "nora@north.example.org" not in page and "recipient refused" not in page
