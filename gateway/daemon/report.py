"""What ``gateway status`` and ``gateway submissions`` show, computed from the ledger, the lock
and the folders; read-only, so they are safe to run beside the daemon."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

from gateway.daemon.lock import running_pid
from gateway.daemon.membership import live_daemons
from gateway.daemon.rescan import count_waiting
from gateway.notify.overview import counts as outbox_counts
from gateway.receipts.plain_table import plain_table
from gateway.site.config import Config
from gateway.site.ledger import Ledger, Submission

_LIST_COLUMNS = ("submission_id", "submitter", "status", "state", "records", "errors",
                 "warnings", "name")


def utc_text(moment: datetime) -> str:
    """The ledger's time form (UTC, ``Z``), for comparisons with ``received_at``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def local_day_start(day: date) -> str:
    """Local midnight at the start of ``day``, in the ledger's time form."""
    return utc_text(datetime.combine(day, time()).astimezone())


def status_report(config: Config, submitter: str | None = None) -> dict[str, Any]:
    """Is it running, how healthy is intake, how much is queued, what happened today (to one
    submitter's files only, when given), which registry is in force."""
    pid = running_pid(config.lock_file)
    report: dict[str, Any] = {"running": pid is not None, "pid": pid,
                              "waiting_in_upload": count_waiting(config),
                              "missing_folders": [str(folder) for folder in
                                                  (config.inbox, config.state)
                                                  if not folder.is_dir()],
                              "notify": {"email": config.smtp_url is not None}}
    try:
        ledger = Ledger(config.ledger_location, create=False)
    except FileNotFoundError:
        return report | {"in_progress": 0, "today": {}, "meta": {}}
    try:
        meta = ledger.meta()
        daemons = live_daemons(ledger)
        if config.shared_ledger:  # several daemons, no instance lock: the ledger knows them
            pid = daemons[0].pid if daemons else None
            report |= {"running": bool(daemons), "pid": pid}
        report |= {
            "daemons": [{"daemon": d.daemon_id, "host": d.host, "pid": d.pid,
                         "started_at": d.started_at} for d in daemons],
            "in_progress": ledger.count_unfinished(),
            "last_rescan_at": meta.get("last_rescan_at"),
            "intake_healthy": meta.get("intake_healthy") == "yes" if pid else None,
            "watcher": meta.get("watcher"),
            "started_at": meta.get("started_at"),
            "writer_check": meta.get("writer_check"),
            "writer_check_reason": meta.get("writer_check_reason"),
            "blocked_submitters": json.loads(meta.get("blocked_submitters") or "{}"),
            "disk_full": meta.get("disk_full") == "yes" if pid else None,
            "last_failure": meta.get("failure") or None,
            "interruption_signal": json.loads(meta.get("interruption_signal") or "null"),
            "today": ledger.count_by_status(local_day_start(date.today()), submitter),
            "registry": {key: meta.get(f"registry_{key}") for key in
                         ("state", "submitters", "digest", "refused")},
        }
        report["notify"]["outbox"] = outbox_counts(ledger.engine)
    finally:
        ledger.close()
    return report


def render_status(report: dict[str, Any]) -> str:
    daemons = report.get("daemons") or []
    lines = [f"gateway: running (pid {report['pid']})" if report["running"]
             else "gateway: not running"]
    if len(daemons) > 1:
        lines[0] = f"gateway: running ({len(daemons)} daemons: " + ", ".join(
            d["daemon"] for d in daemons) + ")"
    if report["running"]:
        health = "healthy" if report.get("intake_healthy") else "UNHEALTHY (watcher down)"
        lines.append(f"intake:  {health}, watcher {report.get('watcher')}, "
                     f"last rescan {report.get('last_rescan_at') or 'never'}")
        lines.append(f"writers: {report.get('writer_check')} "
                     f"({report.get('writer_check_reason')})")
        lines += _signal_lines(report.get("interruption_signal"))
        if report.get("disk_full"):
            lines.append("disk:    FULL - files in hand wait for space, nothing new is taken")
    elif report.get("last_failure"):
        lines.append(f"stopped: {report['last_failure']}")
    for folder in report.get("missing_folders") or []:
        lines.append(f"MISSING: {folder}")
    if report["running"]:
        for submitter, reason in sorted((report.get("blocked_submitters") or {}).items()):
            lines.append(f"waiting: {submitter}: {reason}")
    lines.append(f"queue:   {report['waiting_in_upload']} waiting in upload folders, "
                 f"{report.get('in_progress', 0)} in progress")
    today = report.get("today") or {}
    counts = ", ".join(f"{status} {n}" for status, n in sorted(today.items())) or "none"
    lines.append(f"today:   {counts}")
    lines.append(_notify_line(report.get("notify") or {}))
    registry = report.get("registry") or {}
    if registry.get("state"):
        size = f", {registry['submitters']} submitters" if registry.get("submitters") else ""
        lines.append(f"registry: {registry['state']}{size}")
        if registry.get("refused"):
            lines.append(f"refused: {registry['refused']}")
    return "\n".join(lines) + "\n"


def _signal_lines(signal: dict[str, Any] | None) -> list[str]:
    """Whose uploads the daemon can tell were cut off (it hears their SFTP server), and whose
    it cannot: there only temporary names and completion markers tell a whole file."""
    if signal is None:
        return []
    heard = signal.get("listening") or []
    lines = [f"cut-offs: heard from the SFTP server for {len(heard)} submitter(s)"]
    for submitter, reason in sorted((signal.get("missing") or {}).items()):
        lines.append(f"NO CUT-OFF SIGNAL: {submitter}: {reason}; an interrupted upload can "
                     "only be told by a temporary name or a completion marker")
    return lines


def _notify_line(notify: dict[str, Any]) -> str:
    """One line: e-mail off (said once, here), or what the outbox holds."""
    outbox = notify.get("outbox") or {}
    waiting = ", ".join(f"{state} {outbox.get(state, 0):,}"
                        for state in ("queued", "retrying", "failed"))
    if not notify.get("email"):
        return ("notify:  e-mail off (no [notify] smtp_url): nothing is e-mailed"
                + (f"; webhooks {waiting}" if outbox else ""))
    return f"notify:  {waiting}" + ("" if not outbox else
                                    f", sent {outbox.get('sent', 0):,}")


def render_list(submissions: list[Submission]) -> str:
    return plain_table(_LIST_COLUMNS, [[_cell(getattr(s, column)) for column in _LIST_COLUMNS]
                                       for s in submissions])


def render_one(submission: Submission, transitions: list[tuple[str, str]]) -> str:
    data = submission.as_dict()
    width = max(len(key) for key in data)
    lines = [f"{key.ljust(width)}  {_cell(value)}" for key, value in data.items()]
    lines.append("transitions:")
    lines += [f"  {at}  {state}" for state, at in transitions]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)
