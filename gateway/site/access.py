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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.contract.reference import ReferenceView, ReferenceWrite
from gateway.contract.registry import Registry
from gateway.receipts.atomic import atomic_write
from gateway.receipts.model import new_submission_id, utc_now_text
from gateway.site.config import ConfigError, find_config, load_config
from gateway.site.layout import RECEIPTS_MODE, SUBMITTER_MODE
from gateway.site.names import is_submitter_id
from gateway.site.reference.store import Location, reference_view
from gateway.submitters.registry_file import RegistryError, load_registry

REPORTS = "reports"


class SiteError(RuntimeError):
    """The installation cannot be used as configured (a bad config, a missing or refused
    registry); the message says which file and why, for one line on the operator's screen."""


@dataclass(frozen=True)
class Site:
    """The folders of one installation (absolute paths) and its ledger."""

    inbox: Path
    state: Path
    registry_file: Path | None = None  # None: no registry (the submitter layer is off)
    ledger: Location | None = None  # database URL or SQLite file; None: nothing remembered

    def reference(self) -> ReferenceView:
        """The reference data remembered from accepted files, read-only."""
        return reference_view(self.ledger)

    def record_decision(self, writes: Sequence[ReferenceWrite], *, by: str) -> str:
        """Remember what the program's staff decided (an exemption granted or denied) beside
        the reference data of accepted files, so every daemon and command sees it as it sees a
        feed. A decision is not a file: it is recorded under its own id (``decision-...``,
        returned), with ``by`` (who decided) as its source. Raises ``SiteError`` when the
        ledger refuses."""
        from gateway.site.reference.store import open_store

        if self.ledger is None:
            raise SiteError("this installation keeps no ledger, so nothing can be decided")
        decision = f"decision-{new_submission_id()}"
        try:
            store, engine = open_store(self.ledger)
        except Exception as err:  # the database may refuse: one line for the operator
            raise SiteError(f"the ledger cannot be opened: {type(err).__name__}") from None
        try:
            store.apply(writes, submission_id=decision, submitter=by, received_at=utc_now_text())
        finally:
            engine.dispose()
        return decision

    def registry(self) -> Registry | None:
        """The registry the installation uses (as ``gateway serve`` would load it now), or
        None when there is none. Raises ``SiteError`` for a file the gateway refuses."""
        if self.registry_file is None:
            return None
        try:
            return load_registry(self.registry_file)
        except RegistryError as err:
            raise SiteError(str(err)) from None

    def reports_folder(self, submitter: str) -> Path:
        """``inbox/<submitter>/reports/``, which only that submitter can read."""
        if not is_submitter_id(submitter):
            raise ValueError(f"{submitter!r} is not a submitter id")
        return self.inbox / submitter / REPORTS

    def deliver(self, submitter: str, name: str, data: bytes) -> Path:
        """Write ``data`` as ``reports/<name>`` of the submitter, atomically. A submitter folder
        that does not exist yet is made with the mode ``gateway submitter add`` gives it (its
        SFTP owners are set when the submitter is added with ``--user``)."""
        folder = self.reports_folder(submitter)
        if not folder.parent.is_dir():
            folder.parent.mkdir(parents=True)
            folder.parent.chmod(SUBMITTER_MODE)
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


def open_site(config: Path | None = None, registry: Path | None = None) -> Site:
    """The installation named by ``config`` (or found as ``gateway serve`` finds it), with the
    registry ``registry`` names or the config's. Raises ``SiteError`` for a config that cannot be
    used or a named registry that does not exist."""
    try:
        settings = load_config(find_config(config))
    except ConfigError as err:
        raise SiteError(str(err)) from None
    chosen = registry or settings.registry
    if not chosen.exists() and (registry is not None or settings.registry_configured):
        raise SiteError(f"there is no registry file {chosen}")
    return Site(inbox=settings.inbox, state=settings.state,
                registry_file=chosen if chosen.exists() else None,
                ledger=settings.ledger_location)


__all__ = ["REPORTS", "Site", "SiteError", "open_site"]
