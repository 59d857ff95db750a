"""An upload that a writer still holds open is never taken, however long it pauses; and what
is hashed, validated and filed is always the same bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from gateway.daemon.leases import choose_writer_check, path_open_for_writing
from gateway.daemon.settle import SettleTracker
from tests.support.daemon import wait_until

CHUNK = b"x" * 32767 + b"\n"

# A separate writer process, as sftp-server is: it writes CHUNKs with pauses, keeping the file
# open throughout, and prints the wall-clock time of its close().
WRITER = """
import sys, time
path, chunks, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with open(path, "wb") as handle:
    for i in range(chunks):
        handle.write(b"x" * 32767 + b"\\n")
        handle.flush()
        if i < chunks - 1:
            time.sleep(pause)
print(time.time(), flush=True)
"""


def _timestamp(event: dict) -> float:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()


def test_a_writer_pausing_longer_than_the_quiet_period_is_waited_for(make_gateway) -> None:
    gw = make_gateway(quiet_period=0.3)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    target = upload / "slow.csv"
    # Each pause is more than three quiet periods: only the kernel can tell it is not finished.
    writer = subprocess.run([sys.executable, "-c", WRITER, str(target), "5", "1.2"],
                            capture_output=True, text=True, timeout=60, check=True)
    closed_at = float(writer.stdout)
    receipts = gw.wait_receipts("clinic-a", 1)
    wait_until(lambda: len(gw.filed()) == 1, what="the original filed")
    gw.stop()
    whole = CHUNK * 5
    assert len(gw.receipts("clinic-a")) == 1
    assert receipts[0]["file"]["bytes"] == len(whole)
    assert receipts[0]["file"]["sha256"] == hashlib.sha256(whole).hexdigest()
    assert gw.filed()[0].read_bytes() == whole
    events = gw.events()
    assert [e["writer_check"] for e in events if e["event"] == "serving"] == ["lease"]
    assert sum(e["event"] == "held_open_by_writer" for e in events) == 1
    claimed = [_timestamp(e) for e in events if e["event"] == "claimed"]
    assert len(claimed) == 1
    # Taken once the writer closed, not before; and then promptly (inotify's close event wakes
    # the check; the next rescan is 30 s away). The bound leaves room for a loaded machine.
    assert 0 <= claimed[0] - closed_at < 10


def test_where_the_kernel_cannot_tell_the_receipt_and_the_filed_original_agree(
        make_gateway) -> None:
    gw = make_gateway(quiet_period=0.3, writer_check="quiet_period")
    upload = gw.add_submitter("clinic-a")
    gw.start()
    with (upload / "late.csv").open("wb") as handle:
        handle.write(CHUNK)
        handle.flush()
        # A pause longer than the quiet period: the file is taken with the writer still on it.
        wait_until(lambda: any(e["event"] == "submission" for e in gw.events()),
                   what="the first part to be judged")
        handle.write(b"written after the claim\n")
    wait_until(lambda: len(gw.filed()) == 1, what="the original filed")
    gw.stop()
    [receipt] = gw.receipts("clinic-a")
    filed = gw.filed()[0].read_bytes()
    assert [e["writer_check"] for e in gw.events() if e["event"] == "serving"] == [
        "quiet_period"]
    # The quiet period was the rule here, so the first part is what was judged; but the receipt
    # describes exactly the bytes that were validated and filed.
    assert filed == CHUNK
    assert receipt["file"]["sha256"] == hashlib.sha256(filed).hexdigest()
    assert receipt["file"]["bytes"] == len(filed)


def test_the_kernel_says_whether_a_file_is_open_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    with path.open("wb") as handle:
        handle.write(b"data\n")
        assert path_open_for_writing(path) is True
        with path.open("rb"):
            assert path_open_for_writing(path) is True
    assert path_open_for_writing(path) is False
    with path.open("rb"):
        assert path_open_for_writing(path) is False  # readers do not count
    os.mkfifo(tmp_path / "pipe")
    assert path_open_for_writing(tmp_path / "pipe") is None  # not a file: the claim decides
    os.symlink(path, tmp_path / "link")
    assert path_open_for_writing(tmp_path / "link") is None  # never followed
    assert choose_writer_check(tmp_path, "auto").by_kernel  # root, local file system
    assert not choose_writer_check(tmp_path, "quiet_period").by_kernel


def test_a_held_open_path_is_asked_again_when_an_event_names_it(tmp_path: Path) -> None:
    now = [0.0]
    writers = {"open": True}
    tracker = SettleTracker(1.0, clock=lambda: now[0],
                            writer_open=lambda path: writers["open"])
    path = tmp_path / "a.csv"
    path.write_bytes(b"1")
    tracker.see(path, "s")
    now[0] = 50.0  # quiet for long, but still open
    assert tracker.settled() == []
    assert tracker.next_due() == 1.0  # asked again within WRITER_RECHECK
    writers["open"] = False
    now[0] = 50.1
    assert tracker.settled() == []  # not yet due
    tracker.see(path, "s")  # the close event
    assert [s.path for s in tracker.settled()] == [path]

