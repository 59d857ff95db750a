"""`gateway compliance` over six submitters and a ledger holding accepted, late, rejected and
missing submissions: every cell of every line, on the terminal and in the CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.engine.pipeline import validate_file
from gateway.receipts.model import new_submission_id
from gateway.site.ledger import Ledger, State, Submission
from gateway.submitters.registry_file import load_registry
from gateway.submitters.windows import SubmitterPolicy
from tests.submitters import files
from tests.submitters.registries import write_registry

CLINIC_MEASURES = ("AEM", "AMH", "CRC", "DRM", "LDL", "LSF", "OAC", "ODC", "OVC", "OWC", "PCS",
                   "TKR")
QUARTERS = ("2014Q3", "2014Q4", "2015Q1", "2015Q2")
EDTC_QUARTERS = (*QUARTERS, "2015Q3")
INPATIENT = dict(zip(QUARTERS, ("2015-02-15", "2015-05-15", "2015-08-15", "2015-11-15"),
                     strict=True))
OUTPATIENT = dict(zip(QUARTERS, ("2015-02-01", "2015-05-01", "2015-08-01", "2015-11-01"),
                      strict=True))
EDTC_DUE = dict(zip(EDTC_QUARTERS, ("2015-01-31", "2015-01-31", "2015-04-30", "2015-07-31",
                                    "2015-10-31"), strict=True))
CLINIC_DUE = {"ODC": "2015-02-15", "OVC": "2015-02-15", "DRM": "2015-02-28",
              "OAC": "2015-08-15", "AEM": "2015-08-15", "CRC": "2015-08-15",
              "PCS": "2015-08-15", "TKR": "2015-05-15", "LDL": "2015-05-15",
              "LSF": "2015-05-15", "AMH": "2015-05-15", "OWC": "2015-05-15"}
MNCM = files.MNCM


def owed_lines() -> list[tuple[str, str, str, str, str]]:
    """(submitter, family, measure, period, due) of every obligation, written out from the spec
    (independently of the families' code)."""
    out = [("demo-clinic", "mncm", m, "2015", CLINIC_DUE[m]) for m in CLINIC_MEASURES]
    for hospital in ("cah-hospital", "cart-hospital", "nicu-hospital", "stroke-hospital"):
        out.append((hospital, "ahrq", "AHRQ-QI", "2015", "2015-04-30"))
        out += [(hospital, "cart", "CART", q, OUTPATIENT[q]) for q in QUARTERS]
        out += [(hospital, "stroke", "STROKE", q, INPATIENT[q]) for q in QUARTERS]
    out += [("cah-hospital", "edtc", "EDTC", q, EDTC_DUE[q]) for q in EDTC_QUARTERS]
    out += [("nicu-hospital", "nhsn", "CLABSI", q, INPATIENT[q]) for q in QUARTERS]
    out.append(("nicu-hospital", "von", "VON", "2015", "2015-10-31"))
    return sorted(out)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A gateway folder with the demo registry and a ledger of twelve submissions (read-only
    for the tests, so made once)."""
    tmp_path = tmp_path_factory.mktemp("deployment")
    (tmp_path / "gateway.toml").write_text("", encoding="utf-8")
    registry = load_registry(write_registry(tmp_path))
    (tmp_path / "var").mkdir()
    ledger = Ledger(tmp_path / "var" / "ledger.sqlite3")
    sent: dict[str, str] = {}

    def send(label: str, path: Path, submitter: str, received_at: str) -> None:
        submission_id = new_submission_id()
        receipt = validate_file(path, submitter=submitter, received_at=received_at,
                                submission_id=submission_id, registry=registry,
                                policy=SubmitterPolicy())
        ledger.add(Submission(submission_id=submission_id, submitter=submitter,
                              upload_name=path.name, name=path.name, state=State.CLAIMED,
                              received_at=received_at))
        ledger.validated(receipt)
        ledger.receipt_written(submission_id, tmp_path / f"{submission_id}.receipt.json")
        ledger.filed(submission_id, None)
        sent[label] = submission_id

    crc_bad = MNCM / "crc" / "summary" / "invalid" / \
        "E-RULE-NUMERATOR-GT-DENOMINATOR--numerator-above-denominator.csv"
    odc_bad = MNCM / "odc" / "summary" / "invalid" / "E-RULE-DUPLICATE--stratum-twice.csv"
    von_bad = files.HOSPITAL / "von" / "examples" / "2015" / "VON" / "summary" / "invalid" / \
        "E-RECORD-RANGE--negative-count.csv"
    send("odc", files.ODC, "demo-clinic", "2015-02-10T15:00:00Z")
    send("odc-bad-later", odc_bad, "demo-clinic", "2015-02-12T15:00:00Z")  # not deciding
    send("amh-late", files.AMH, "demo-clinic", "2015-05-20T15:00:00Z")
    send("crc-bad", crc_bad, "demo-clinic", "2015-08-01T15:00:00Z")
    send("stroke", files.STROKE, "stroke-hospital", "2015-07-01T15:00:00Z")
    send("ahrq", files.AHRQ, "stroke-hospital", "2015-04-02T15:00:00Z")
    send("cart-late", files.CART, "cart-hospital", "2015-08-10T15:00:00Z")
    cah_cart = files.replaced(files.CART.parent / "cart-2014q4-with-retired.xml", tmp_path,
                              "<provider-id>240001<", "<provider-id>240100<")
    send("cart-cms", cah_cart, "cah-hospital", "2015-04-20T15:00:00Z")  # sent though met via CMS
    send("edtc", files.EDTC, "cah-hospital", "2015-04-10T15:00:00Z")
    send("nhsn", files.NHSN, "nicu-hospital", "2015-08-01T15:00:00Z")
    send("von-bad", von_bad, "nicu-hospital", "2015-10-01T15:00:00Z")
    send("stroke-foreign", files.STROKE, "cart-hospital", "2015-07-02T15:00:00Z")
    ledger.close()
    return {"root": tmp_path, "sent": sent}


def expected(sent: dict[str, str]) -> list[dict[str, str]]:
    special = {  # (submitter, measure, period) -> status, level, deciding submission label
        ("demo-clinic", "ODC", "2015"): ("accepted", "patient", "odc"),
        ("demo-clinic", "AMH", "2015"): ("accepted_late", "summary", "amh-late"),
        ("demo-clinic", "CRC", "2015"): ("rejected", "summary", "crc-bad"),
        ("stroke-hospital", "STROKE", "2015Q1"): ("accepted", "", "stroke"),
        ("stroke-hospital", "AHRQ-QI", "2015"): ("accepted", "", "ahrq"),
        ("cart-hospital", "CART", "2015Q1"): ("accepted_late", "", "cart-late"),
        # another hospital's CCN: rejected at layer 4, counted against the sender's own quarter
        ("cart-hospital", "STROKE", "2015Q1"): ("rejected", "", "stroke-foreign"),
        ("cah-hospital", "EDTC", "2015Q1"): ("accepted", "", "edtc"),
        ("nicu-hospital", "CLABSI", "2015Q1"): ("accepted", "", "nhsn"),
        ("nicu-hospital", "VON", "2015"): ("rejected", "", "von-bad"),
    }
    received = {"odc": "2015-02-10T15:00:00Z", "amh-late": "2015-05-20T15:00:00Z",
                "crc-bad": "2015-08-01T15:00:00Z", "stroke": "2015-07-01T15:00:00Z",
                "ahrq": "2015-04-02T15:00:00Z", "cart-late": "2015-08-10T15:00:00Z",
                "stroke-foreign": "2015-07-02T15:00:00Z", "edtc": "2015-04-10T15:00:00Z",
                "nhsn": "2015-08-01T15:00:00Z", "von-bad": "2015-10-01T15:00:00Z",
                "cart-cms": "2015-04-20T15:00:00Z"}
    rows = []
    for submitter, family, measure, period, due in owed_lines():
        if submitter == "cah-hospital" and family == "cart":
            status, level, label = "not_required", "", ("cart-cms" if period == "2014Q4"
                                                        else None)
        else:
            status, level, label = special.get((submitter, measure, period),
                                               ("missing", "", None))
        rows.append({"submitter": submitter, "family": family, "measure": measure,
                     "level": level, "period": period, "due": due, "status": status,
                     "submission_id": sent[label] if label else "",
                     "received_at": received[label] if label else ""})
    return rows


def run(root: Path, *args: str, command: str = "compliance") -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [command, "--config", str(root / "gateway.toml"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_every_cell_of_the_csv(deployment: dict) -> None:
    root = deployment["root"]
    code, _, err = run(root, "--year", "2015", "--csv", str(root / "out.csv"),
                       "--as-of", "2015-12-31")
    assert code == 0, err
    text = (root / "out.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ("submitter,family,measure,level,period,due,status,"
                                    "submission_id,received_at")
    got = list(csv.DictReader(io.StringIO(text)))
    want = expected(deployment["sent"])
    assert len(got) == len(want) == 58
    for line_got, line_want in zip(got, want, strict=True):
        assert line_got == line_want


def test_every_cell_on_the_terminal(deployment: dict) -> None:
    code, out, _ = run(deployment["root"], "--year", "2015", "--as-of", "2015-12-31")
    assert code == 0
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["submitter", "family", "measure", "level",
                                             "period", "due", "status", "submission_id",
                                             "received_at"]
    want = expected(deployment["sent"])
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[1:1 + len(want)]]
    for cells, line_want in zip(table, want, strict=True):
        assert cells == [line_want[c] or "-" for c in line_want]
    assert lines[1 + len(want)] == ("58 obligations: accepted 5, accepted_late 2, rejected 3, "
                                    "missing 44, not_required 4")


def test_as_of_a_day_later_files_do_not_count_and_open_windows_are_not_due(
        deployment: dict) -> None:
    code, out, _ = run(deployment["root"], "--year", "2015", "--submitter", "demo-clinic",
                       "--as-of", "2015-06-01")
    assert code == 0
    statuses = {re.split(r"\s{2,}", line)[2]: re.split(r"\s{2,}", line)[6]
                for line in out.splitlines()[1:13]}
    assert statuses == {"AEM": "not_due", "AMH": "accepted_late", "CRC": "not_due",
                        "DRM": "missing", "LDL": "missing", "LSF": "missing",
                        "OAC": "not_due", "ODC": "accepted", "OVC": "missing",
                        "OWC": "missing", "PCS": "not_due", "TKR": "missing"}
    assert "cart-hospital" not in out


def test_an_unknown_submitter_or_no_registry_is_an_operational_error(deployment: dict,
                                                                    tmp_path: Path) -> None:
    code, _, err = run(deployment["root"], "--year", "2015", "--submitter", "nobody")
    assert code == 2 and "'nobody' is not an active submitter" in err
    code, _, err = run(deployment["root"], "--year", "2015", "--registry",
                       str(tmp_path / "none.toml"))
    assert code == 2


def test_the_calendar_lists_who_still_owes_what_for_the_coming_deadlines(deployment: dict
                                                                         ) -> None:
    code, out, err = run(deployment["root"], "--from", "2015-07-01", "--days", "60",
                         command="calendar")
    assert code == 0, err
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    assert rows[0] == ["due", "opens", "family", "measure", "period", "submitter", "status"]
    assert rows[1:-1] == [
        ["2015-07-31", "2015-07-01", "edtc", "EDTC", "2015Q2", "cah-hospital", "not_due"],
        *[["2015-08-01", "2015-04-01", "cart", "CART", "2015Q1", h, "not_due"]
          for h in ("cart-hospital", "nicu-hospital", "stroke-hospital")],
        *[["2015-08-15", "2015-07-01", "mncm", m, "2015", "demo-clinic", "not_due"]
          for m in ("AEM", "CRC", "OAC", "PCS")],
        ["2015-08-15", "2015-04-01", "nhsn", "CLABSI", "2015Q1", "nicu-hospital", "not_due"],
        *[["2015-08-15", "2015-04-01", "stroke", "STROKE", "2015Q1", h, "not_due"]
          for h in ("cah-hospital", "cart-hospital", "nicu-hospital")],
    ]
    assert out.splitlines()[-1] == ("8 deadlines 2015-07-01..2015-08-30: 12 submissions still "
                                    "owed, 1 received")


def test_the_calendar_of_one_submitter_and_of_a_quiet_span(deployment: dict) -> None:
    code, out, _ = run(deployment["root"], "--from", "2015-07-01", "--days", "60",
                       "--submitter", "stroke-hospital", command="calendar")
    assert code == 0
    assert [line.split()[5] for line in out.splitlines()[1:-1]] == ["stroke-hospital"]
    assert out.splitlines()[-1].startswith("2 deadlines")
    code, out, _ = run(deployment["root"], "--from", "2015-12-01", "--days", "20",
                       command="calendar")
    assert code == 0 and out == "No deadlines 2015-12-01..2015-12-21.\n"


def test_csv_to_standard_output(deployment: dict) -> None:
    code, out, _ = run(deployment["root"], "--year", "2015", "--csv", "-", "--as-of",
                       "2015-12-31")
    assert code == 0
    assert list(csv.DictReader(io.StringIO(out))) == expected(deployment["sent"])


def test_without_year_the_report_is_of_the_reporting_year_the_day_is_in(deployment: dict
                                                                        ) -> None:
    code, out, err = run(deployment["root"], "--csv", "-", "--as-of", "2015-12-31")
    assert code == 0, err
    assert list(csv.DictReader(io.StringIO(out))) == expected(deployment["sent"])


@pytest.mark.parametrize("day", ["2015-02-11", "2015-05-19", "2015-12-31"])
def test_the_web_console_reads_the_same_lines_as_the_command(deployment: dict, day: str
                                                             ) -> None:
    """The console takes each obligation's latest answers from an index and keeps the
    families' obligations between requests; every cell must still be the command's, and stay
    so when asked again."""
    from datetime import date

    from gateway.submitters.compliance import render_csv
    from gateway.web.site import load_site

    root = deployment["root"]
    code, out, err = run(root, "--year", "2015", "--csv", "-", "--as-of", day)
    assert code == 0, err
    site = load_site(root / "gateway.toml")
    try:
        for _ in range(2):
            lines = site.compliance([2015], None, date.fromisoformat(day))
            assert render_csv(lines).splitlines() == out.splitlines()
        code, one, _ = run(root, "--year", "2015", "--csv", "-", "--as-of", day,
                           "--submitter", "demo-clinic")
        assert render_csv(site.compliance([2015], "demo-clinic", date.fromisoformat(day))
                          ).splitlines() == one.splitlines()
    finally:
        site.ledger.close()


def test_the_console_gives_the_same_lines_on_a_ledger_without_its_index(
        deployment: dict, tmp_path: Path) -> None:
    """A ledger migrated by an early build of migration 0005 lacks ``submissions_answers``:
    the console reads the same answers without it."""
    import shutil
    import sqlite3
    from datetime import date

    from gateway.submitters.compliance import render_csv
    from gateway.web.site import load_site

    root = tmp_path / "copy"
    shutil.copytree(deployment["root"], root)
    with sqlite3.connect(root / "var" / "ledger.sqlite3") as db:
        db.execute("DROP INDEX submissions_answers")
    code, out, err = run(root, "--year", "2015", "--csv", "-", "--as-of", "2015-12-31")
    assert code == 0, err
    site = load_site(root / "gateway.toml")
    try:
        lines = site.compliance([2015], None, date(2015, 12, 31))
        assert render_csv(lines).splitlines() == out.splitlines()
    finally:
        site.ledger.close()


def test_waived_obligations_are_exempt_or_still_owed_while_requested() -> None:
    """A family may mark an obligation waived (an exemption granted) or asked to be waived: the
    first is ``exempt`` and done unless a file already answered it, the second
    ``exemption_requested`` and still owed (the calendar lists it)."""
    from datetime import date

    from gateway.contract.registry import (
        WAIVER_GRANTED,
        WAIVER_REQUESTED,
        Obligation,
        Submitter,
    )
    from gateway.submitters.calendar import render_calendar, upcoming
    from gateway.submitters.compliance import Answer, report
    from gateway.submitters.obligations import Owed

    who = Submitter(id="north-clinic", name="North Clinic", kind="clinic")

    def owed(subject: str, waiver: str) -> Owed:
        return Owed(who, Obligation("opip", "opip-qi-plan", 2022, "2022", date(2022, 6, 15),
                                    opens=date(2022, 1, 1), subject=subject, waiver=waiver))

    answered = Answer(who.id, ("opip", "opip-qi-plan", "2022", "b"), "s1",
                      "2022-03-01T10:00:00+00:00", accepted=True, late=False, level="")
    lines = report([owed("a", WAIVER_GRANTED), owed("b", WAIVER_GRANTED),
                    owed("c", WAIVER_REQUESTED), owed("d", "")], [answered],
                   date(2022, 7, 1))
    assert [line.status for line in lines] == ["exempt", "accepted", "exemption_requested",
                                               "missing"]
    calendar = render_calendar(upcoming(lines, date(2022, 6, 1), date(2022, 6, 30)),
                               date(2022, 6, 1), date(2022, 6, 30))
    assert "exemption_requested" in calendar and "exempt " not in calendar
    assert "2 submissions still owed, 2 received" in calendar


def test_the_console_on_postgresql_reads_the_same_lines_as_the_command(
        deployment: dict, tmp_path: Path, postgres_url: str) -> None:
    """On PostgreSQL the console takes each group's latest answer with its own query (the
    first row of each group, walking the index backwards): the same lines as the command."""
    import shutil
    from datetime import date

    import sqlalchemy as sa

    from gateway.site.ledger.backends import create_engine, parse_location
    from gateway.site.ledger.copy import copy_ledger
    from gateway.site.ledger.schema import submissions
    from gateway.submitters.compliance import render_csv
    from gateway.web.site import load_site

    root = tmp_path / "several-hosts"
    shutil.copytree(deployment["root"], root)
    source = create_engine(parse_location(root / "var" / "ledger.sqlite3"))
    target = create_engine(parse_location(postgres_url))
    resent = new_submission_id()
    try:
        copy_ledger(source, target)
        with target.begin() as db:  # the same file sent again an hour later: it decides now
            first = db.execute(sa.select(submissions).where(
                submissions.c.submission_id == deployment["sent"]["odc"])).one()._asdict()
            db.execute(submissions.insert().values(
                first | {"submission_id": resent, "received_at": "2015-02-10T16:00:00.000Z"}))
    finally:
        source.dispose()
        target.dispose()
    (root / "gateway.toml").write_text(f'[ledger]\nurl = "{postgres_url}"\n', encoding="utf-8")
    for day in ("2015-02-11", "2015-12-31"):
        code, out, err = run(root, "--year", "2015", "--csv", "-", "--as-of", day)
        assert code == 0, err
        site = load_site(root / "gateway.toml")
        try:
            lines = site.compliance([2015], None, date.fromisoformat(day))
            assert render_csv(lines).splitlines() == out.splitlines()
            decided = {line.decided_by.submission_id for line in lines if line.decided_by}
            assert resent in decided and deployment["sent"]["odc"] not in decided
        finally:
            site.ledger.close()
