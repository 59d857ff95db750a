"""The submitter layer in a real `gateway serve`: isolation between folders, every refusal of
layer 4 delivered to the sender only, the late switch, and registry edits taking effect (or
being refused) without a restart."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.submitters.registry_file import load_registry
from tests.submitters import files
from tests.submitters.registries import CLINIC, HOSPITALS
from tests.support.daemon import Gateway, settings, wait_until

NORTH_CLINIC = """
[[submitter]]
id = "north-clinic"
name = "North Urgent and Family Care"
kind = "clinic"
npi = ["1234567802"]
well_child = false
emr_since = 2010-01-01
"""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    made = Gateway(tmp_path / "gw", settings(pipeline=None))
    yield made
    made.close()


def registry_text(*blocks: str) -> str:
    return 'registry_version = "1"\n' + "".join(blocks)


def drop(gateway: Gateway, submitter: str, source: Path, name: str | None = None,
         edit: tuple[str, str] | None = None) -> None:
    """Upload ``source`` (edited when asked) into a submitter's folder, as SFTP would: written
    under a temporary name, then renamed."""
    folder = gateway.upload(submitter)
    target = folder / (name or source.name)
    data = source.read_bytes()
    if edit is not None:
        assert edit[0].encode() in data
        data = data.replace(edit[0].encode(), edit[1].encode())
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.rename(target)


def by_name(receipts: list[dict]) -> dict[str, dict]:
    return {r["file"]["name"]: r for r in receipts}


def _readable(path: Path) -> str:
    """A receipt's text; for the annotated workbook, every part of it (cells, comments)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "".join(book.read(name).decode("utf-8") for name in book.namelist())
    return path.read_text(encoding="utf-8")


def codes(receipt: dict) -> list[str]:
    return [f["code"] for f in receipt["findings"]]


def test_each_refusal_goes_to_the_sender_only_and_names_no_other_submitter(
        gateway: Gateway) -> None:
    text = registry_text(CLINIC.replace("urgent_care = false", "urgent_care = true"),
                         NORTH_CLINIC,
                         HOSPITALS.replace("nicu_level = 3", "nicu_level = 2"))
    (gateway.root / "registry.toml").write_text(text, encoding="utf-8")
    for submitter in ("demo-clinic", "north-clinic", "cart-hospital", "stroke-hospital",
                      "nicu-hospital", "stranger"):
        gateway.add_submitter(submitter)
    gateway.start()
    npi = ("1234567893", "1234567802")
    drop(gateway, "cart-hospital", files.STROKE, "foreign-ccn.csv")  # stroke-hospital's CCN
    drop(gateway, "cart-hospital", files.EDTC, "edtc-from-pps.csv", ("240100", "240001"))
    drop(gateway, "nicu-hospital", files.VON, "von-level-2.csv")
    drop(gateway, "demo-clinic", files.ODC, "odc-urgent-care.csv")
    drop(gateway, "north-clinic", files.AMH, "amh-no-well-child.csv", npi)
    sample = files.odc_sample(gateway.root)
    drop(gateway, "north-clinic", sample, "odc-sample-full-emr.csv", npi)
    drop(gateway, "stroke-hospital", files.STROKE, "stroke.csv")
    drop(gateway, "stranger", files.ODC, "odc.csv")

    cart = by_name(gateway.wait_receipts("cart-hospital", 2))
    foreign = cart["foreign-ccn.csv"]
    assert (foreign["status"], foreign["layer"], set(codes(foreign))) == \
        ("rejected", "submitter", {"E-SUBMITTER-FACILITY"})
    assert foreign["findings"][0]["row"] == 2 and foreign["findings"][0]["value"] == "240020"
    assert codes(cart["edtc-from-pps.csv"]) == ["E-SUBMITTER-NOT-APPLICABLE"]
    nicu = by_name(gateway.wait_receipts("nicu-hospital", 1))
    assert codes(nicu["von-level-2.csv"]) == ["E-SUBMITTER-NOT-APPLICABLE"]
    demo = by_name(gateway.wait_receipts("demo-clinic", 1))
    assert codes(demo["odc-urgent-care.csv"]) == ["E-SUBMITTER-NOT-APPLICABLE"]
    north = by_name(gateway.wait_receipts("north-clinic", 2))
    assert codes(north["amh-no-well-child.csv"]) == ["E-SUBMITTER-NOT-APPLICABLE"]
    assert codes(north["odc-sample-full-emr.csv"]) == ["E-SUBMITTER-SAMPLE"]
    own = by_name(gateway.wait_receipts("stroke-hospital", 1))["stroke.csv"]
    # a 2015 file taken today is late: accepted with the warning
    assert (own["status"], codes(own)) == ("accepted_with_warnings", ["W-SUBMITTER-LATE"])
    stranger = gateway.wait_receipts("stranger", 1)[0]
    assert (stranger["status"], stranger["layer"], codes(stranger), stranger["route"],
            stranger["counts"]["records"]) == \
        ("rejected", "submitter", ["E-SUBMITTER-UNKNOWN"], None, 0)

    # every receipt is in its sender's folder only, and none names another submitter
    registered = load_registry(gateway.root / "registry.toml")
    for folder in gateway.inbox.iterdir():
        submitter = folder.name
        for path in (folder / "receipts").iterdir():
            text = _readable(path)
            for other in registered:
                if other.id != submitter:
                    assert other.id not in text and other.name not in text, (path, other.id)
    assert len(list(gateway.receipts_folder("stroke-hospital").glob("*.receipt.json"))) == 1

    # the ledger keeps the judging registry entry and the obligation answered
    rows = {row["name"]: row for row in gateway.ledger()}
    accepted = rows["stroke.csv"]
    assert json.loads(accepted["registry_entry"])["id"] == "stroke-hospital"
    answered = json.loads(accepted["obligations"])
    assert [(o["family"], o["period"], o["due"], o["timing"]) for o in answered] == \
        [("stroke", "2015Q1", "2015-08-15", "late")]
    assert rows["odc.csv"]["obligations"] is None  # the stranger's file was never read

    run = gateway.cli("submissions", rows["stroke.csv"]["submission_id"], "--submitter",
                      "cart-hospital", check=False)
    assert run.returncode == 2 and "from cart-hospital" in run.stderr
    run = gateway.cli("replay", rows["stroke.csv"]["submission_id"], "--submitter",
                      "cart-hospital", check=False)
    assert run.returncode == 2
    status = json.loads(gateway.cli("status", "--json", "--submitter", "stranger").stdout)
    # "today" is the machine's local day: a run that met midnight after the file came has
    # nothing to count (the day is the file's, not the clock's at the end)
    received = datetime.fromisoformat(stranger["file"]["received_at"].replace("Z", "+00:00"))
    if received.astimezone().date() == date.today():
        assert status["today"] == {"rejected": 1}
    assert status["registry"]["state"] == "in force"
    assert gateway.stop() == 0


def test_late_files_are_rejected_under_the_switch(gateway: Gateway) -> None:
    with gateway.config.open("a", encoding="utf-8") as config:
        config.write('[submitter]\nlate = "reject"\n')
    (gateway.root / "registry.toml").write_text(registry_text(CLINIC), encoding="utf-8")
    gateway.add_submitter("demo-clinic")
    gateway.start()
    drop(gateway, "demo-clinic", files.ODC)
    receipt = gateway.wait_receipts("demo-clinic", 1)[0]
    assert (receipt["status"], receipt["layer"], codes(receipt)) == \
        ("rejected", "submitter", ["E-SUBMITTER-LATE"])
    assert "after the deadline of ODC 2015 (2015-02-15)" in receipt["findings"][0]["message"]
    assert gateway.stop() == 0


def test_registry_edits_apply_to_the_next_file_and_a_broken_edit_is_refused(
        gateway: Gateway) -> None:
    registry = gateway.root / "registry.toml"
    registry.write_text(registry_text(HOSPITALS), encoding="utf-8")
    gateway.add_submitter("demo-clinic")
    gateway.start()
    drop(gateway, "demo-clinic", files.ODC)
    first = gateway.wait_receipts("demo-clinic", 1)[0]
    assert codes(first) == ["E-SUBMITTER-UNKNOWN"]

    registry.write_text(registry_text(HOSPITALS, CLINIC), encoding="utf-8")
    wait_until(lambda: sum(e.get("event") == "registry_loaded" for e in gateway.events()) >= 2,
               what="the edited registry to load")
    drop(gateway, "demo-clinic", files.ODC, "odc-again.csv")  # the same bytes, judged again
    again = by_name(gateway.wait_receipts("demo-clinic", 2))["odc-again.csv"]
    assert (again["status"], codes(again), again["duplicate_of"]) == \
        ("accepted_with_warnings", ["W-SUBMITTER-LATE"], None)

    broken = registry_text(HOSPITALS, CLINIC, CLINIC.replace('"demo-clinic"', '"copy"'))
    registry.write_text(broken, encoding="utf-8")
    refused = wait_until(lambda: [e for e in gateway.events()
                                  if e.get("event") == "registry_refused"],
                         what="the broken edit to be refused")
    duplicate_line = [i for i, line in enumerate(broken.splitlines(), 1)
                      if line.startswith("npi =")][-1]
    assert f"line {duplicate_line}: npi 1234567893 is listed under two submitters, " \
           "'demo-clinic' and 'copy'" in refused[0]["problems"]
    # the daemon logs the refusal, then records it for `gateway status`
    status = wait_until(lambda: (found := json.loads(gateway.cli("status", "--json").stdout))[
        "registry"]["state"] == "edit refused; previous registry kept" and found,
        what="the refusal in the status")
    assert f"line {duplicate_line}" in status["registry"]["refused"]

    drop(gateway, "demo-clinic", files.ODC_SUMMARY)  # judged by the registry still in force
    third = by_name(gateway.wait_receipts("demo-clinic", 3))["odc-summary-full.csv"]
    assert third["status"] == "accepted_with_warnings" and codes(third) == ["W-SUBMITTER-LATE"]
    assert gateway.stop() == 0


def test_serve_refuses_to_start_on_a_broken_or_missing_named_registry(gateway: Gateway) -> None:
    (gateway.root / "registry.toml").write_text('registry_version = "1"\nsubmitters = []\n',
                                                encoding="utf-8")
    run = gateway.cli("serve", check=False)
    assert run.returncode == 2
    assert "line 2: unknown key 'submitters'" in run.stderr
    with gateway.config.open("a", encoding="utf-8") as config:
        config.write('[registry]\nfile = "elsewhere.toml"\n')
    run = gateway.cli("serve", check=False)
    assert run.returncode == 2 and "elsewhere.toml" in run.stderr and "does not exist" in run.stderr


def test_serve_takes_the_registry_named_on_the_command_line(gateway: Gateway) -> None:
    elsewhere = gateway.root / "registries" / "2015.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(registry_text(CLINIC), encoding="utf-8")
    for submitter in ("demo-clinic", "stranger"):
        gateway.add_submitter(submitter)
    gateway.start(args=("--registry", str(elsewhere)))
    drop(gateway, "stranger", files.ODC_SUMMARY)
    (refused,) = gateway.wait_receipts("stranger", 1)
    assert codes(refused) == ["E-SUBMITTER-UNKNOWN"]
    status = json.loads(gateway.cli("status", "--json").stdout)
    assert status["registry"]["submitters"] == "1"  # the named registry is the one in force
    assert gateway.stop() == 0
    missing = gateway.cli("serve", "--registry", str(gateway.root / "typo.toml"), check=False)
    assert missing.returncode == 2 and "typo.toml" in missing.stderr
