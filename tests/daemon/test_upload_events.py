"""The upload folders' own inotify watch: what names an upload reaches the daemon, the gateway's
own writes beside it do not, and folders made while it runs are watched from then on."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.daemon.upload_events import UploadEvents
from tests.support.daemon import wait_until


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    for folder in ("inbox/s1/upload", "inbox/s1/receipts", "inbox/s1/archive"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path / "inbox"


@pytest.fixture()
def events(inbox: Path) -> Iterator[tuple[UploadEvents, queue.SimpleQueue]]:
    hints: queue.SimpleQueue = queue.SimpleQueue()
    watch = UploadEvents(inbox, hints)
    watch.start()
    yield watch, hints
    watch.stop()
    watch.join(5)


def _drain(hints: queue.SimpleQueue) -> list[tuple[str, str]]:
    seen = []
    while not hints.empty():
        path, submitter = hints.get()
        seen.append((f"{path.parent.parent.name}/{path.parent.name}/{path.name}", submitter))
    return seen


def test_uploads_are_named_and_the_gateways_own_writes_are_not(
        inbox: Path, events: tuple[UploadEvents, queue.SimpleQueue], tmp_path: Path) -> None:
    _, hints = events
    receipts = inbox / "s1" / "receipts"
    (receipts / ".tmp-x").write_text("receipt")  # as a receipt is written: create, close,
    os.replace(receipts / ".tmp-x", receipts / "r.receipt.json")  # rename into place
    (inbox / "s1" / "archive" / "filed.csv").write_text("a")
    (inbox / "s1" / "upload" / "a.csv").write_text("a,b\n")  # an SFTP put: create, close
    staged = tmp_path / "b.csv"
    staged.write_text("b")
    os.rename(staged, inbox / "s1" / "upload" / "b.csv")  # a client's rename into upload/
    expected = {("s1/upload/a.csv", "s1"), ("s1/upload/b.csv", "s1")}
    seen: list[tuple[str, str]] = []

    def all_seen() -> bool:
        seen.extend(_drain(hints))
        return expected <= set(seen)

    wait_until(all_seen, timeout=10, what="both uploads named")
    assert set(seen) == expected  # nothing about receipts/ or archive/


def test_a_submitter_added_while_it_runs_is_watched_and_its_first_upload_not_missed(
        inbox: Path, events: tuple[UploadEvents, queue.SimpleQueue]) -> None:
    _, hints = events
    upload = inbox / "s2" / "upload"
    upload.mkdir(parents=True)  # the folder and its upload/ at once, as `submitter add` does
    (upload / "first.csv").write_text("x")  # may come before the watch: the listing finds it
    seen: list[tuple[str, str]] = []

    def named(entry: tuple[str, str]) -> bool:
        seen.extend(_drain(hints))
        return entry in seen

    wait_until(lambda: named(("s2/upload/first.csv", "s2")), timeout=10,
               what="the new submitter's first upload")
    (upload / "second.csv").write_text("y")
    wait_until(lambda: named(("s2/upload/second.csv", "s2")), timeout=10,
               what="a later upload of the new submitter")
    (inbox / "s1" / "upload").rename(inbox / "s1" / "old-upload")  # a folder replaced
    (inbox / "s1" / "upload").mkdir()
    (inbox / "s1" / "upload" / "c.csv").write_text("z")
    wait_until(lambda: named(("s1/upload/c.csv", "s1")), timeout=10,
               what="an upload in a re-made upload folder")


def test_an_inbox_that_is_a_link_is_watched_through_it(inbox: Path, tmp_path: Path) -> None:
    link = tmp_path / "inbox-link"
    link.symlink_to(inbox, target_is_directory=True)
    hints: queue.SimpleQueue = queue.SimpleQueue()
    watch = UploadEvents(link, hints)
    watch.start()
    try:
        (inbox / "s1" / "upload" / "a.csv").write_text("a")
        path, submitter = hints.get(timeout=10)
        assert (path, submitter) == (link / "s1" / "upload" / "a.csv", "s1")
    finally:
        watch.stop()
        watch.join(5)


def test_it_stops_when_asked_and_refuses_a_missing_inbox(
        tmp_path: Path, events: tuple[UploadEvents, queue.SimpleQueue]) -> None:
    watch, _ = events
    assert watch.is_alive()
    watch.stop()
    watch.join(5)
    assert not watch.is_alive()
    with pytest.raises(FileNotFoundError):
        UploadEvents(tmp_path / "nowhere", queue.SimpleQueue()).start()
