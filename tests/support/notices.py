"""Notifications as the console's tests need them: a registry whose clinics have contacts and
webhooks (secrets in files), and an outbox with failed, given-up and waiting messages."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.notify.outbox import EMAIL, WEBHOOK, claim, mark_failed_attempt, queue
from tests.submitters.registries import CLINIC
from tests.support.web import OTHER_CLINIC, Console, Site

SECRET = "whsec-demo-7f3a9c"
URL_TOKEN = "urltoken-51b2"
BODY = "BODY-ONLY-TEXT-4471"


def contacts_registry(site: Site) -> None:
    """Both clinics with contacts and a webhook each, the secrets in files of their own."""
    root = site.gateway.root
    for name, secret in (("demo", SECRET), ("north", "whsec-north-0d1e")):
        (root / f"{name}.secret").write_text(secret + "\n", encoding="utf-8")
    demo = (CLINIC + '''
[[submitter.contact]]
name = "Pat Lee"
email = "pat.lee@example.org"
role = "data"
notify = ["receipts", "deadlines"]

[[submitter.contact]]
name = "Quinn Digest"
email = "quinn@example.org"
role = "general"
notify = ["receipts"]
digest = "daily"

[[submitter.contact]]
name = "Sam Silent"
email = "sam@example.org"
notify = []

[[submitter.webhook]]
url = "https://hooks.example.org/sqrms?token=''' + URL_TOKEN + '''"
secret_file = "''' + (root / "demo.secret").as_posix() + '''"
''')
    north = (OTHER_CLINIC + '''
[[submitter.contact]]
name = "Nora North"
email = "nora@north.example.org"

[[submitter.webhook]]
url = "https://north-vendor.example.org/hook"
secret_file = "''' + (root / "north.secret").as_posix() + '''"
''')
    (root / "registry.toml").write_text('registry_version = "1"\n' + demo + north,
                                        encoding="utf-8")



def failed_messages(console: Console) -> dict[str, int]:
    """A receipt e-mail refused for good and a webhook delivery that got HTTP 500 until it
    was given up; one e-mail still queued behind nothing."""
    engine = console.opened.engine
    with engine.begin() as db:
        mail = queue(db, dedup_key="r:1:pat", kind="receipt", channel=EMAIL,
                     destination="pat.lee@example.org", submitter="demo-clinic",
                     subject="[SQRMS] demo-clinic: odc.csv REJECTED", content={"text": BODY})
        hook = queue(db, dedup_key="r:1:hook", kind="receipt", channel=WEBHOOK,
                     destination=f"https://hooks.example.org/sqrms?token={URL_TOKEN}",
                     submitter="demo-clinic", subject="receipt", content={"body": BODY})
        waiting = queue(db, dedup_key="r:2:nora", kind="receipt", channel=EMAIL,
                        destination="nora@north.example.org", submitter="north-clinic",
                        subject="[SQRMS] north-clinic: n.csv ACCEPTED", content={"text": BODY})
    assert mail and hook and waiting
    claimed = {m.message_id: m for m in claim(engine, "web-test", lease=60, exclusive=True)}
    mark_failed_attempt(engine, claimed[mail], "web-test", "recipient refused (550)",
                        retry_first=30, retry_max=60, retry_for=3600, permanent=True)
    mark_failed_attempt(engine, claimed[hook], "web-test", "HTTP 500", retry_first=30,
                        retry_max=60, retry_for=0)
    with engine.begin() as db:  # the third one was never tried: back in the queue
        db.execute(sa.text("UPDATE outbox SET state = 'queued', claimed_by = NULL, "
                           "claim_until = NULL WHERE message_id = :m"), {"m": waiting})
    return {"mail": mail, "hook": hook, "waiting": waiting}
