"""The daemon's parts on their own: names, config, settling, the event handler, the watcher
supervisor, the instance lock, and watchdog pings that stop when intake is unhealthy."""

from __future__ import annotations

import os
import queue
import socket
from pathlib import Path

import pytest
from watchdog.events import FileCreatedEvent, FileMovedEvent

from gateway.daemon import claim, watch
from gateway.daemon.lock import AlreadyRunning, InstanceLock, running_pid
from gateway.daemon.notify import Notifier
from gateway.daemon.service import Service
from gateway.daemon.settle import SettleTracker
from gateway.site.config import ConfigError, load_config
from gateway.site.layout import LayoutError, add_submitter, init_layout
from gateway.site.names import is_temporary, is_valid_upload_name, safe_name
from tests.support.daemon import FAKE_PIPELINE, settings, toml_text, wait_until


@pytest.mark.parametrize("name", [".hidden.csv", "x.csv.part", "x.filepart", "X.TMP",
                                  "x.crdownload"])
def test_uploads_in_progress_are_recognised(name: str) -> None:
    assert is_temporary(name)


def test_name_rules_and_safe_spelling() -> None:
    assert is_valid_upload_name("ODC_2015-q1.csv")
    assert not is_valid_upload_name("my file.csv")
    assert not is_valid_upload_name("a" * 201)
    assert safe_name("my file;rm -rf.csv") == "my_file_rm_-rf.csv"
    assert safe_name("caf\udce9.csv") == "caf_.csv"
    assert len(safe_name("a" * 300)) == 200


def test_config_paths_are_relative_to_the_file_and_unknown_keys_refused(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "gateway.toml"
    path.parent.mkdir()
    path.write_text('[folders]\ninbox = "../sftp"\n[workers]\ncount = 0\ntime_limit = 5\n')
    config = load_config(path)
    assert config.inbox == (tmp_path / "sftp").resolve()
    assert config.spool == path.parent.resolve() / "var" / "spool"
    assert config.workers == (os.cpu_count() or 1) and config.time_limit == 5.0
    path.write_text("[intake]\nquiet_periode = 3\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(path)
    path.write_text('[intake]\nwatcher = "inotify"\n')
    with pytest.raises(ConfigError, match="watcher must be one of"):
        load_config(path)


def test_defaults_without_a_file_are_local(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert (config.inbox, config.ledger) == (tmp_path / "inbox", tmp_path / "var" /
                                             "ledger.sqlite3")
    assert config.watcher == "events" and config.quiet_period == 3.0


def test_a_path_settles_only_after_a_quiet_period_without_change(tmp_path: Path) -> None:
    now = [0.0]
    tracker = SettleTracker(2.0, clock=lambda: now[0])
    path = tmp_path / "a.csv"
    path.write_bytes(b"1")
    tracker.see(path, "s")
    now[0] = 1.9
    assert tracker.settled() == []
    with path.open("ab") as handle:
        handle.write(b"2")  # a change inside the quiet period restarts it at the next check
    now[0] = 2.0
    assert tracker.settled() == []
    now[0] = 3.9
    assert tracker.settled() == []
    now[0] = 4.0
    assert [s.path for s in tracker.settled()] == [path]
    os.link(path, tmp_path / "b.csv")  # a link count change is a change too
    now[0] = 10.0
    assert tracker.settled() == []
    (tmp_path / "c.filepart").write_bytes(b"never a candidate")
    tracker.see(tmp_path / "c.filepart", "s")
    now[0] = 100.0
    assert {s.path.name for s in tracker.settled()} == {"a.csv"}


def test_a_burst_is_checked_only_as_far_as_files_can_be_claimed(tmp_path: Path) -> None:
    """With thousands of settled uploads and room for four, a turn probes four files (and
    none of a submitter that may not claim now), oldest sighting first; the rest wait."""
    now = [0.0]
    probed: list[str] = []

    def writer_open(path: Path) -> bool:
        probed.append(path.name)
        return False

    tracker = SettleTracker(1.0, clock=lambda: now[0], writer_open=writer_open)
    for n in range(3000):
        path = tmp_path / f"{'held' if n % 2 else 'ok'}-{n:04}.csv"
        path.write_bytes(b"x")
        tracker.see(path, "held" if n % 2 else "ok")
    now[0] = 5.0
    ready = tracker.settled(limit=4, eligible=lambda submitter: submitter == "ok")
    assert [s.path.name for s in ready] == ["ok-0000.csv", "ok-0002.csv", "ok-0004.csv",
                                            "ok-0006.csv"]
    assert probed == [s.path.name for s in ready]
    assert len(tracker.settled()) == 3000  # nothing was forgotten


def test_the_event_handler_queues_upload_paths_and_never_raises(tmp_path: Path) -> None:
    hints: queue.SimpleQueue = queue.SimpleQueue()
    handler = watch.UploadEventHandler(tmp_path, hints)
    handler.on_any_event(FileCreatedEvent(str(tmp_path / "s1" / "upload" / "a.csv")))
    handler.on_any_event(FileMovedEvent(str(tmp_path / "s1" / "upload" / "a.part"),
                                        str(tmp_path / "s1" / "upload" / "b.csv")))
    handler.on_any_event(FileCreatedEvent(str(tmp_path / "s1" / "receipts" / "r.json")))
    handler.on_any_event(object())  # type: ignore[arg-type]  # garbage in: no exception out
    queued = []
    while not hints.empty():
        queued.append(hints.get())
    assert [(p.name, s) for p, s in queued] == [("a.csv", "s1"), ("a.part", "s1"),
                                               ("b.csv", "s1")]


def test_the_supervisor_restarts_a_dead_observer(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(watch, "RESTART_BACKOFF", 0.0)
    path = tmp_path / "gateway.toml"
    path.write_text(toml_text(settings()))
    config = load_config(path)
    init_layout(config)
    watcher = watch.Watcher(config, queue.SimpleQueue())
    assert watcher.supervise() and watcher.healthy
    watcher._observer.stop()  # the observer thread dies
    wait_until(lambda: not watcher.healthy, what="the observer to die")
    assert watcher.supervise() and watcher.healthy
    watcher.stop()


def test_one_daemon_per_state_folder(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path / "gateway.pid")
    assert running_pid(lock.path) is None
    lock.acquire()
    assert running_pid(lock.path) == os.getpid()
    with pytest.raises(AlreadyRunning):
        InstanceLock(lock.path).acquire()
    lock.release()
    assert running_pid(lock.path) is None


class _Watcher:
    healthy = True


def test_watchdog_pings_stop_while_intake_is_unhealthy(tmp_path: Path, monkeypatch) -> None:
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "1")
    path = tmp_path / "gateway.toml"
    path.write_text(toml_text(settings(pipeline=FAKE_PIPELINE)))
    config = load_config(path)
    init_layout(config)
    add_submitter(config, "s")
    service = Service(config)
    service.notifier = Notifier()
    service.watcher = _Watcher()  # type: ignore[assignment]

    def heard() -> list[str]:
        out = []
        while True:
            try:
                out.append(listener.recv(4096).decode())
            except BlockingIOError:
                return out

    service._report_health()
    assert heard() == ["STATUS=serving", "WATCHDOG=1"]
    _Watcher.healthy = False
    service._report_health()
    service._report_health()
    assert heard() == ["STATUS=watcher down; rescanning only"]
    _Watcher.healthy = True
    service._report_health()
    assert heard() == ["STATUS=serving", "WATCHDOG=1"]
    service.ledger.close()
    listener.close()


def test_an_upload_the_daemon_may_not_open_is_a_problem_not_a_crash(tmp_path: Path,
                                                                      monkeypatch) -> None:
    path = tmp_path / "locked.csv"
    path.write_bytes(b"data\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(claim.os, "open", refuse)  # as root, chmod 000 would not stop us
    inspection = claim.inspect(path, by_kernel=True)
    assert (inspection.problem, inspection.sha256) == ("unreadable", None)


def test_submitter_add_names_an_unknown_account(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(toml_text(settings()))
    config = load_config(path)
    init_layout(config)
    with pytest.raises(LayoutError, match="no account"):
        add_submitter(config, "clinic-a", user="no-such-account-here")
