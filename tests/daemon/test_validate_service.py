"""``gateway validate`` answered by a running ``gateway serve``'s warm processes.

One real daemon (the real pipeline) serves the module's tests; each test runs the command in a
fresh process, as an operator would, and compares what it prints with ``--local`` (judged in
the command's own process). The daemon's log says which requests it answered.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from gateway.daemon.validate_wire import (
    MAX_ANSWER,
    VERSION,
    WireError,
    read_message,
    send_message,
    socket_path,
)
from tests.hostile import files as hostile
from tests.support.daemon import Gateway, settings, wait_until
from tests.support.paths import ROOT

EXAMPLES = ROOT / "plugins"
CLINIC = EXAMPLES / "clinic" / "mncm" / "examples"
HOSPITAL = EXAMPLES / "hospital"
CASES = {
    "csv-valid": CLINIC / "2016/odc/summary/valid/odc-summary-full.csv",
    "csv-invalid": CLINIC / "2015/pcs/summary/invalid/E-RULE-RATE-MISMATCH--rate-off.csv",
    "xlsx-valid": HOSPITAL / "edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.xlsx",
    "xlsx-invalid": None,  # the valid workbook with its first sheet replaced (made per test)
}
RECEIVED = "2016-03-01T09:00:00-06:00"
# what differs between two judgings of one file: the id and the receipt's creation time
VARYING = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{12}|\"created_at\": \"[^\"]+\"")


def warm_settings(**overrides: object) -> dict[str, dict[str, object]]:
    """The real pipeline; the command waits for a warm process as long as a loaded machine
    may need to start one (the default second is for an operator's terminal)."""
    return settings(pipeline=None, validate_wait=30.0, **overrides)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("warm") / "gw", warm_settings())
    gw.start()
    wait_until(lambda: socket_path(gw.var).exists(), what="the validation socket")
    yield gw
    gw.close()


def answered(gw: Gateway) -> list[dict[str, object]]:
    """The requests the daemon's warm processes answered, as logged."""
    return [e for e in gw.events() if e.get("event") == "validate_request"]


def logged(gw: Gateway, count: int, event: str = "validate_request") -> list[dict[str, object]]:
    """The daemon's ``event`` lines once there are ``count`` of them. A warm process logs a
    request after it has closed the caller's connection, so the command may have printed and
    exited before the line is written: read once, the log can be a line short."""
    def enough() -> list[dict[str, object]] | None:
        events = [e for e in gw.events() if e.get("event") == event]
        return events if len(events) >= count else None
    return wait_until(enough, what=f"{count} {event} lines in the daemon's log")


def validate(gw: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return gw.cli("validate", "--received-at", RECEIVED, *args, check=False)


def same(text: str) -> str:
    return VARYING.sub("<varies>", text)


def invalid_workbook(folder: Path) -> Path:
    """The valid EDTC workbook with a sheet that has its header and no data rows."""
    return hostile.workbook_with_sheet(folder / "edtc-2015q1.xlsx", hostile.sheet_xml(
        [b'<row r="1"><c r="A1" t="inlineStr"><is><t>provider_id</t></is></c></row>']))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_the_daemon_answers_and_prints_what_the_command_prints_alone(
        gateway: Gateway, tmp_path: Path, case: str, as_json: bool) -> None:
    path = CASES[case] or invalid_workbook(tmp_path)
    flags = ["--json"] if as_json else []
    before = len(answered(gateway))
    warm = validate(gateway, f"clinic-1:{path}", *flags)
    assert logged(gateway, before + 1)[-1]["outcome"] == "answered", warm.stderr
    cold = validate(gateway, f"clinic-1:{path}", "--local", *flags)
    assert len(answered(gateway)) == before + 1  # --local never asks the daemon
    assert warm.returncode == cold.returncode == (1 if "invalid" in case else 0)
    assert same(warm.stdout) == same(cold.stdout)
    assert warm.stdout != "" and warm.stderr == cold.stderr == ""


def test_several_files_are_judged_in_order_in_one_request(gateway: Gateway) -> None:
    before = len(answered(gateway))
    args = [str(CASES["csv-valid"]), str(CASES["xlsx-valid"]), "--submitter", "clinic-1",
            "--json"]
    warm, cold = validate(gateway, *args), validate(gateway, *args, "--local")
    assert logged(gateway, before + 1)[-1]["files"] == 2
    assert len(answered(gateway)) == before + 1
    assert same(warm.stdout) == same(cold.stdout)
    assert '"odc-summary-full.csv"' in warm.stdout and '"edtc-2015q1-full.xlsx"' in warm.stdout


def test_the_log_tells_size_time_and_outcome_never_the_file(gateway: Gateway,
                                                             tmp_path: Path) -> None:
    # Letters and a marked number only: a bare "4417" also turns up by chance in a timestamp.
    secret = tmp_path / "MRN-Q4417-SMITHERSON.csv"
    secret.write_text("patient_name,mrn\nJOHN SMITHERSON,MRN-Q4417\n", encoding="utf-8")
    before = len(answered(gateway))
    validate(gateway, f"clinic-1:{secret}")
    event = logged(gateway, before + 1)[-1]
    assert event["bytes"] == secret.stat().st_size and event["outcome"] == "answered"
    log = "\n".join(gateway.log_lines())
    assert "SMITHERSON" not in log and "Q4417" not in log


def test_a_workbook_bomb_is_rejected_and_the_daemon_goes_on_serving(
        gateway: Gateway, tmp_path: Path) -> None:
    bomb = hostile.zip_bomb(tmp_path / "edtc.xlsx", 300, lie=True)
    before = len(answered(gateway))
    run = validate(gateway, f"clinic-1:{bomb}", "--json")
    assert run.returncode == 1
    assert '"status": "rejected"' in run.stdout and '"E-FILE-' in run.stdout
    assert logged(gateway, before + 1)[before]["outcome"] == "answered"
    assert validate(gateway, f"clinic-1:{CASES['csv-valid']}").returncode == 0
    assert len(logged(gateway, before + 2)) == before + 2
    assert gateway.process is not None and gateway.process.poll() is None


def ask(gw: Gateway, request: dict[str, object], fds: list[int]) -> dict[str, object]:
    """One request by hand, as the command sends it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as daemon:
        daemon.settimeout(60)
        daemon.connect(str(socket_path(gw.var)))
        assert read_message(daemon, 4096)[0] == {"kind": "hello", "version": VERSION}
        send_message(daemon, request, fds)
        return read_message(daemon, MAX_ANSWER)[0]


def test_the_daemon_reads_the_descriptor_never_a_path(gateway: Gateway, tmp_path: Path) -> None:
    """The file is gone from its folder before the daemon sees it: only the descriptor can
    give the daemon its bytes."""
    gone = tmp_path / "gone.csv"
    gone.write_bytes(CASES["csv-invalid"].read_bytes())
    fd = os.open(gone, os.O_RDONLY)
    gone.unlink()
    try:
        answer = ask(gateway, {"kind": "request", "version": VERSION, "options": {},
                               "received_at": None,
                               "files": [{"submitter": "clinic-1",
                                          "name": "rate-off.csv"}]}, [fd])
    finally:
        os.close(fd)
    assert answer["kind"] == "answer"
    receipt = answer["receipts"][0]  # type: ignore[index]
    assert receipt["file"]["bytes"] == CASES["csv-invalid"].stat().st_size
    assert receipt["status"] == "rejected" and receipt["file"]["name"] == "rate-off.csv"
    assert "E-RULE-RATE-MISMATCH" in {f["code"] for f in receipt["findings"]}


def test_a_request_that_is_not_a_regular_file_is_declined(gateway: Gateway) -> None:
    read, write = os.pipe()
    try:
        answer = ask(gateway, {"kind": "request", "version": VERSION, "options": {},
                               "received_at": None,
                               "files": [{"submitter": "clinic-1", "name": "x.csv"}]}, [read])
    finally:
        os.close(read)
        os.close(write)
    assert answer == {"kind": "declined", "reason": "not a regular file"}


def test_the_socket_is_for_the_daemons_account_and_group(gateway: Gateway) -> None:
    mode = socket_path(gateway.var).stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660


def test_without_a_daemon_or_with_a_stale_socket_the_command_judges_alone(
        tmp_path: Path) -> None:
    gw = Gateway(tmp_path / "gw", settings(pipeline=None))
    path = f"clinic-1:{CASES['csv-invalid']}"
    alone = validate(gw, path, "--json")
    assert alone.returncode == 1 and '"status": "rejected"' in alone.stdout
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # bound, never listening:
    stale.bind(str(socket_path(gw.var)))  # what a daemon killed with SIGKILL leaves
    stale.close()
    refused = validate(gw, path, "--json")
    assert refused.returncode == 1 and same(refused.stdout) == same(alone.stdout)
    assert refused.stderr == ""


def test_a_busy_daemon_leaves_the_command_to_judge_alone(tmp_path: Path) -> None:
    """A socket that accepts but where no warm process says hello within a second."""
    gw = Gateway(tmp_path / "gw", settings(pipeline=None))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as busy:
        busy.bind(str(socket_path(gw.var)))
        busy.listen(4)
        run = validate(gw, f"clinic-1:{CASES['csv-valid']}")
    assert run.returncode == 0 and "ACCEPTED" in run.stdout


def test_a_daemon_of_another_protocol_version_leaves_the_command_to_judge_alone(
        tmp_path: Path) -> None:
    gw = Gateway(tmp_path / "gw", settings(pipeline=None))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
        other.bind(str(socket_path(gw.var)))
        other.listen(4)
        heard: list[dict[str, object]] = []

        def answer_as_a_newer_daemon() -> None:
            caller, _ = other.accept()
            with caller:
                send_message(caller, {"kind": "hello", "version": VERSION + 1})
                with contextlib.suppress(WireError):
                    heard.append(read_message(caller, 1 << 20, 8)[0])

        thread = threading.Thread(target=answer_as_a_newer_daemon)
        thread.start()
        run = validate(gw, f"clinic-1:{CASES['csv-invalid']}")
        thread.join(30)
    assert run.returncode == 1 and "REJECTED" in run.stdout and run.stderr == ""
    assert heard == []  # it sent no request to a daemon it does not understand


def test_a_restart_after_a_crash_replaces_the_socket_and_a_stop_removes_it(
        tmp_path: Path) -> None:
    gw = Gateway(tmp_path / "gw", warm_settings())
    gw.start()
    wait_until(lambda: socket_path(gw.var).exists(), what="the validation socket")
    assert gw.process is not None
    left = descendants(gw.process.pid)  # the fork server, the workers, the warm process
    assert left
    gw.kill9()
    assert socket_path(gw.var).exists()  # stale
    # nothing of the killed daemon lives on: the warm process waiting for a caller sees its
    # daemon gone and exits, and with it the fork server
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in left),
               what="the killed daemon's processes to end")
    gw.start()
    assert validate(gw, f"clinic-1:{CASES['csv-valid']}").returncode == 0
    assert [e["outcome"] for e in logged(gw, 1)] == ["answered"]
    assert gw.stop() == 0
    assert not socket_path(gw.var).exists()
    assert not (gw.var / "validate-scratch").exists()


def test_the_command_judging_alone_is_what_it_was(tmp_path: Path) -> None:
    """No config at all (no installation): the command runs as before."""
    run = subprocess.run([sys.executable, "-m", "gateway", "validate",
                          f"clinic-1:{CASES['csv-valid']}"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0 and "ACCEPTED" in run.stdout



def test_a_request_over_the_time_limit_ends_only_its_process(tmp_path: Path) -> None:
    """The warm process is killed at ``time_limit``; the command says so and judges the file
    itself, and the next request gets a fresh warm process."""
    source = CLINIC / "2015/odc/patient/valid/odc-patient-full.csv"
    header, *rows = source.read_text(encoding="utf-8").splitlines()
    big = tmp_path / "odc-patient-2015.csv"
    with big.open("w", encoding="utf-8") as out:  # 500,000 patients, 55 MB: over a second
        out.write(header + "\n")
        for copy in range(6300):
            out.writelines(row.replace(",MRN", f",C{copy}-MRN", 1) + "\n" for row in rows)
    gw = Gateway(tmp_path / "gw", warm_settings(time_limit=0.4))
    gw.start()
    try:
        wait_until(lambda: socket_path(gw.var).exists(), what="the validation socket")
        run = validate(gw, f"clinic-1:{big}", "--json")
        assert "the daemon's warm process failed" in run.stderr
        assert run.returncode in (0, 1) and '"odc-patient-2015.csv"' in run.stdout  # judged here
        failed = logged(gw, 1, "validate_request_failed")
        assert [e["failure"] for e in failed] == ["time"]
        # A file judged in a few milliseconds: on a loaded machine even a small valid
        # workbook took 0.2 to 0.5 s of wall time, the limit itself.
        tiny = tmp_path / "tiny.csv"
        tiny.write_text("a,b\n1,2\n", encoding="utf-8")
        small = validate(gw, f"clinic-1:{tiny}")
        assert small.returncode == 1 and "E-ROUTE-UNRECOGNISED" in small.stdout
        assert small.stderr == ""
        assert [e["outcome"] for e in logged(gw, 1)] == ["answered"]
        assert gw.stop() == 0  # and the daemon still stops cleanly
    finally:
        gw.close()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children of children too), read from ``/proc``."""
    parents: dict[int, int] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            parents[int(stat_file.parent.name)] = int(fields[1])
    found: set[int] = set()
    wanted = {pid}
    while wanted:
        wanted = {child for child, parent in parents.items() if parent in wanted} - found
        found |= wanted
    return found


def written(folder: Path) -> dict[str, str]:
    """The files ``--out`` wrote, by name with the submission id taken out: their contents
    (an annotated workbook: every cell of every sheet) with ids and times taken out, and their
    modes."""
    found = {}
    for path in folder.iterdir():
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            text = repr([[list(row) for row in sheet.iter_rows(values_only=True)]
                         for sheet in book.worksheets])
        else:
            text = path.read_text(encoding="utf-8")
        found[VARYING.sub("<id>", path.name)] = same(text) + oct(path.stat().st_mode)
    return found


@pytest.mark.parametrize("case", ["csv-invalid", "xlsx-invalid"])
def test_out_writes_the_files_the_command_writes_alone(
        gateway: Gateway, tmp_path: Path, case: str) -> None:
    path = CASES[case] or invalid_workbook(tmp_path)
    before = len(answered(gateway))
    warm = validate(gateway, f"clinic-1:{path}", "--out", str(tmp_path / "warm"))
    assert logged(gateway, before + 1)[-1]["outcome"] == "answered"
    cold = validate(gateway, f"clinic-1:{path}", "--out", str(tmp_path / "cold"), "--local")
    assert warm.returncode == cold.returncode and same(warm.stdout) == same(cold.stdout)
    assert written(tmp_path / "warm") == written(tmp_path / "cold")
    names = sorted(written(tmp_path / "warm"))
    assert any(n.endswith(".receipt.json") for n in names)
    assert any(n.endswith(".receipt.txt") for n in names)
    assert any(".annotated." in n for n in names)  # a file with problems: its copy


# root without the capabilities that let it read any file: a daemon's account that may not
# open what another account keeps to itself
WITHOUT_READ_ANY = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                    "--inh-caps=-dac_override,-dac_read_search"]


def test_a_file_only_the_caller_may_open_is_judged_by_a_daemon_that_may_not(
        tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test drops root's read-anything capabilities from the daemon: it "
                    "runs as root")
    private = tmp_path / "rate-off.csv"
    private.write_bytes(CASES["csv-invalid"].read_bytes())
    os.chown(private, 12345, 12345)  # another account's file, 0600: the caller (root) reads it
    private.chmod(0o600)
    as_daemon = subprocess.run([*WITHOUT_READ_ANY, sys.executable, "-c",
                                f"open({str(private)!r}, 'rb')"],
                               capture_output=True, text=True, timeout=60)
    assert "PermissionError" in as_daemon.stderr  # the premise: the daemon cannot open it
    gw = Gateway(tmp_path / "gw", warm_settings())
    gw.runs += 1
    with gw.log_path(gw.runs).open("wb") as log:
        gw.process = subprocess.Popen(
            [*WITHOUT_READ_ANY, sys.executable, "-m", "gateway", "serve", "--config",
             str(gw.config)], stdout=log, stderr=subprocess.STDOUT, env=gw.env,
            start_new_session=True)
    try:
        wait_until(lambda: socket_path(gw.var).exists(), what="the validation socket")
        warm = validate(gw, f"clinic-1:{private}", "--json")
        assert [e["outcome"] for e in logged(gw, 1)] == ["answered"]
        cold = validate(gw, f"clinic-1:{private}", "--json", "--local")
        assert warm.returncode == cold.returncode == 1
        assert same(warm.stdout) == same(cold.stdout)
        assert '"E-RULE-RATE-MISMATCH"' in warm.stdout
    finally:
        gw.close()
