"""The full rescan: the truth about what waits in the upload folders.

Events can be dropped (inotify queue overflow) or never delivered (NFS, SFTP-backed and FUSE
mounts), so every upload folder is listed at start and then every ``rescan_interval`` seconds,
and each entry is handed to the settle tracker as if an event had named it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gateway.daemon.health import (
    SubmitterTrouble,
    receipts_folder_problem,
    upload_folder_problem,
)
from gateway.daemon.settle import SettleTracker
from gateway.site.config import Config
from gateway.site.layout import iter_submitter_roots, iter_submitters
from gateway.site.names import is_temporary

RESCAN = "rescan"  # SubmitterTrouble's source for what the rescan finds


def rescan(config: Config, tracker: SettleTracker, trouble: SubmitterTrouble) -> int:
    """List every upload folder into ``tracker``; returns how many entries wait there. A
    submitter whose ``upload/`` cannot be used is reported to ``trouble`` and skipped."""
    waiting = 0
    for folders in iter_submitter_roots(config):
        if not os.path.lexists(folders.upload) and not os.path.lexists(folders.receipts):
            continue  # not (yet) a submitter's folder; one with receipts/ lost its upload/
        problem = (upload_folder_problem(folders.upload)
                   or receipts_folder_problem(folders.receipts, folders.upload))
        names: list[str] = []
        if problem is None:
            try:
                with os.scandir(folders.upload) as entries:
                    names = [entry.name for entry in entries]
            except OSError as err:
                problem = (f"the gateway cannot list its upload/ folder ({err.strerror}); fix "
                           f"as root: `gateway submitter add {folders.submitter} --user "
                           "ACCOUNT`")
        if problem is not None:
            trouble.report(folders.submitter, problem, RESCAN)
            continue
        trouble.clear(folders.submitter, RESCAN)
        for name in names:
            if not is_temporary(name):
                waiting += 1
                tracker.see(Path(folders.upload, name), folders.submitter)
    return waiting


def count_waiting(config: Config) -> int:
    """Entries waiting in upload folders, not counting uploads in progress (for status)."""
    total = 0
    for folders in iter_submitters(config):
        try:
            total += sum(1 for name in os.listdir(folders.upload) if not is_temporary(name))
        except OSError:
            continue
    return total
