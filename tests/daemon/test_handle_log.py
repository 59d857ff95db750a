"""The SFTP server's handle log as the daemon reads it: the lines ``sftp-server -l INFO`` sends
(as OpenSSH writes them to syslog), the book of writers per upload, and the socket that only
believes the submitter's own account."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from gateway.daemon.handle_log import HandleBook, SessionLog, parse

NOBODY = 65534


def _line(message: str, pid: int = 4242) -> bytes:
    return f"<38>Dec  6 03:05:53 internal-sftp[{pid}]: {message}".encode()


def test_the_servers_lines_are_read_as_handle_events() -> None:
    opened = parse(_line('open "/upload/odc.csv" flags WRITE,CREATE,TRUNCATE mode 0640'))
    assert opened is not None and (opened.kind, opened.path) == ("open", "/upload/odc.csv")
    assert parse(_line('open "/receipts/x.json" flags READ mode 0666')) is None  # a reader
    forced = parse(_line('forced close "/upload/odc.csv" bytes read 0 written 2088960'))
    assert forced is not None and (forced.kind, forced.written) == ("forced", 2088960)
    closed = parse(_line('close "upload/../upload/./odc.csv" bytes read 0 written 10'))
    assert closed is not None and (closed.kind, closed.path) == ("close", "/upload/odc.csv")
    renamed = parse(_line('posix-rename old "/upload/a.filepart" new "/upload/a.csv"'))
    assert renamed is not None and (renamed.path, renamed.new_path) == (
        "/upload/a.filepart", "/upload/a.csv")
    # OpenSSH escapes what is not printable; a quote in a name does not fool the parser
    odd = parse(_line(r'close "/upload/caf\303\251 "x".csv" bytes read 0 written 5'))
    assert odd is not None and odd.path == '/upload/café "x".csv'
    assert parse(_line("session closed for local user clinic-a from [127.0.0.1]")) == (
        parse(_line("session closed for local user b from [::1]")))
    assert parse(b"<38>Dec  6 03:05:53 sshd[1]: Accepted publickey for clinic-a") is None


def test_the_last_writers_way_out_decides_and_a_claim_takes_the_record() -> None:
    book = HandleBook()
    for message in ('open "/upload/x.csv" flags WRITE,CREATE,TRUNCATE mode 0640',
                    'forced close "/upload/x.csv" bytes read 0 written 100'):
        event = parse(_line(message))
        assert event is not None
        book.record("clinic-a", 10, event)
    cut = book.take("clinic-a", "/upload/x.csv")
    assert cut is not None and cut.interrupted and not cut.writing
    assert book.take("clinic-a", "/upload/x.csv") is None  # handed over once
    # sent again whole, under a temporary name then renamed: not interrupted
    for message in ('open "/upload/x.csv.filepart" flags WRITE,CREATE,TRUNCATE mode 0640',
                    'close "/upload/x.csv.filepart" bytes read 0 written 200',
                    'rename old "/upload/x.csv.filepart" new "/upload/x.csv"'):
        event = parse(_line(message))
        assert event is not None
        book.record("clinic-a", 11, event)
    whole = book.take("clinic-a", "/upload/x.csv")
    assert whole is not None and not whole.interrupted
    # a session whose process vanished without a word left its handle unfinished
    event = parse(_line('open "/upload/y.csv" flags WRITE,CREATE,TRUNCATE mode 0640'))
    assert event is not None
    book.record("clinic-a", 12, event)
    held = book.take("clinic-a", "/upload/y.csv")
    assert held is not None and held.writing
    book.session_gone("clinic-a", 12)
    assert held.interrupted and not held.writing


def test_only_the_submitters_own_account_is_believed(tmp_path: Path) -> None:
    chroot = tmp_path / "clinic-a"
    (chroot / "upload").mkdir(parents=True)
    (chroot / "dev").mkdir()
    sessions = SessionLog([("clinic-a", chroot, chroot / "upload")])
    try:
        assert sessions.listening == ["clinic-a"]
        target = os.fsencode(chroot / "dev" / "log")
        forged = os.fork()
        if forged == 0:  # another local account claims a clean close
            try:
                os.setuid(NOBODY)
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                    sender.sendto(_line('close "/upload/z.csv" bytes read 0 written 9'), target)
            finally:
                os._exit(0)
        os.waitpid(forged, 0)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:  # the owner's own
            sender.sendto(_line('forced close "/upload/w.csv" bytes read 0 written 9'), target)
        assert sessions.take("clinic-a", "z.csv") is None
        heard = sessions.take("clinic-a", "w.csv")
        assert heard is not None and heard.interrupted
    finally:
        sessions.close()
    assert not (chroot / "dev" / "log").exists()


def test_a_chroot_without_its_dev_folder_is_said_to_have_no_signal(tmp_path: Path) -> None:
    chroot = tmp_path / "clinic-b"
    (chroot / "upload").mkdir(parents=True)
    sessions = SessionLog([("clinic-b", chroot, chroot / "upload")])
    try:
        assert sessions.listening == []
        assert "gateway submitter add clinic-b" in sessions.missing["clinic-b"]
    finally:
        sessions.close()
