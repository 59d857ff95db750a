"""A gateway installation as a plugin's command sees it: folders, reference data, delivery.

Plugin commands (hook ``gateway_commands``) produce things for submitters, such as the opioid
program's reports for each health system. ``open_site`` finds the installation the way
``gateway serve`` does (``--config``, ``$GATEWAY_CONFIG``, ``./gateway.toml``, else the local
defaults), so a plugin never reads the config file itself; ``deliver`` puts a file into a
submitter's ``reports/`` folder, beside ``receipts/`` and with the same modes and owners: the
submitter reads it over SFTP and cannot change it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from gateway.daemon.config import find_config, load_config
from gateway.daemon.layout import RECEIPTS_MODE
from gateway.daemon.names import is_submitter_id
from gateway.receipts.store import atomic_write
from gateway.reference.model import ReferenceView
from gateway.reference.store import reference_view

REPORTS = "reports"


@dataclass(frozen=True)
class Site:
    """The folders of one installation (absolute paths)."""

    inbox: Path
    state: Path

    def reference(self) -> ReferenceView:
        """The reference data remembered from accepted files, read-only."""
        return reference_view(self.state)

    def reports_folder(self, submitter: str) -> Path:
        """``inbox/<submitter>/reports/``, which only that submitter can read."""
        if not is_submitter_id(submitter):
            raise ValueError(f"{submitter!r} is not a submitter id")
        return self.inbox / submitter / REPORTS

    def deliver(self, submitter: str, name: str, data: bytes) -> Path:
        """Write ``data`` as ``reports/<name>`` of the submitter, atomically."""
        folder = self.reports_folder(submitter)
        if not folder.is_dir():
            folder.mkdir(parents=True)
            folder.chmod(RECEIPTS_MODE)
            receipts = self.inbox / submitter / "receipts"
            if receipts.is_dir():  # same owner and group as receipts/ (set by `submitter add`)
                owner = receipts.stat()
                # a local run as an ordinary user cannot chown: the modes are what matter then
                with contextlib.suppress(PermissionError):
                    os.chown(folder, owner.st_uid, owner.st_gid)
        target = folder / name
        atomic_write(target, data, mode=0o640)
        return target


def open_site(config: Path | None = None) -> Site:
    """The installation named by ``config`` (or found as ``gateway serve`` finds it). Raises
    ``gateway.daemon.config.ConfigError`` for a config that cannot be used."""
    settings = load_config(find_config(config))
    return Site(inbox=settings.inbox, state=settings.state)


__all__ = ["REPORTS", "Site", "open_site"]
