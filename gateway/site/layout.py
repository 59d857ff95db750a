"""The folders the daemon works in, and the modes that make them safe for SFTP.

``inbox/<submitter>/`` is the submitter's SFTP chroot: OpenSSH requires it (and every folder
above it) to be root-owned and writable by no one else, so uploads go into ``upload/`` and
receipts come out of ``receipts/``. The daemon's identity is the owner of the state folder: it
must be able to rename files out of ``upload/`` (group write) and to write ``receipts/`` that the
submitter can read but not change.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.site.config import CONFIG_TEMPLATE, Config
from gateway.site.names import is_submitter_id

INBOX_MODE = 0o755
SUBMITTER_MODE = 0o755
UPLOAD_MODE = 0o2770  # submitter writes, the daemon's group renames out; setgid keeps the group
RECEIPTS_MODE = 0o750  # the daemon writes, the submitter's group reads
STATE_MODE = 0o750
PRIVATE_MODE = 0o700  # spool and quarantine hold files nobody else should read
DEV_FOLDER = "dev"  # the chroot's /dev, where the daemon hears the SFTP server (/dev/log)
DEV_MODE = 0o755  # the service account's; the submitter may look but not write


class LayoutError(RuntimeError):
    """The folders cannot be used as configured (missing, or on different file systems)."""


@dataclass(frozen=True)
class SubmitterFolders:
    """One submitter's two folders."""

    submitter: str
    upload: Path
    receipts: Path


def submitter_folders(config: Config, submitter: str) -> SubmitterFolders:
    root = config.inbox / submitter
    return SubmitterFolders(submitter, root / "upload", root / "receipts")


def iter_submitters(config: Config) -> Iterator[SubmitterFolders]:
    """Every submitter: a folder under the inbox, named like a submitter id, that has an
    ``upload/`` folder (what ``gateway submitter add`` creates). Symlinks are not followed."""
    for folders in iter_submitter_roots(config):
        if stat.S_ISDIR(_lstat_mode(folders.upload)):
            yield folders


def iter_submitter_roots(config: Config) -> Iterator[SubmitterFolders]:
    """Every folder under the inbox named like a submitter id, whatever its ``upload/`` is."""
    try:
        entries = sorted(os.scandir(config.inbox), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if is_submitter_id(entry.name) and entry.is_dir(follow_symlinks=False):
            yield submitter_folders(config, entry.name)


def _lstat_mode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except OSError:
        return 0


def write_config(target: Path) -> bool:
    """Write the commented default config to ``target`` unless a file is there; True if
    written."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    return True


def init_layout(config: Config, service_user: str | None = None) -> list[Path]:
    """Create the inbox and state folders that do not exist yet, with their modes. Returns
    what was created, so ``gateway init`` can say so.

    With ``service_user`` (the account ``gateway serve`` runs as; needs root) the state folders
    and the ledger are given to that account, while the inbox stays root's: it is the parent of
    every submitter's SFTP chroot, which sshd accepts only when root owns every component.
    """
    account = _account(service_user) if service_user is not None else None
    created: list[Path] = []
    state_folders = ((config.state, STATE_MODE), (config.spool, PRIVATE_MODE),
                     (config.archive, STATE_MODE), (config.quarantine, PRIVATE_MODE),
                     (config.ledger.parent, STATE_MODE))
    for folder, mode in ((config.inbox, INBOX_MODE), *state_folders):
        if not folder.exists():
            folder.mkdir(parents=True)
            folder.chmod(mode)
            created.append(folder)
    if account is not None:
        _chown(config.inbox, 0, 0)
        for folder, _ in state_folders:
            _chown(folder, account.pw_uid, account.pw_gid)
    return created


def give_ledger(config: Config, service_user: str | None) -> None:
    """The ledger (created by ``init`` as root) belongs to the service account too."""
    if service_user is not None and config.ledger.exists():
        account = _account(service_user)
        _chown(config.ledger, account.pw_uid, account.pw_gid)


def _account(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise LayoutError(f"there is no account {user!r} on this machine") from None


def _chown(path: Path, uid: int, gid: int) -> None:
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        raise LayoutError(f"cannot give {path} to its owner: setting owners needs root"
                          ) from None


def chroot_problems(folder: Path) -> list[str]:
    """What keeps sshd from using ``folder`` as a ``ChrootDirectory``: every component from
    ``/`` down must be a real folder owned by root and writable by no one else."""
    problems = []
    target = folder.resolve()
    for current in (*reversed(target.parents), target):
        st = current.lstat()
        if not stat.S_ISDIR(st.st_mode):
            problems.append(f"{current} is not a folder")
        elif st.st_uid != 0 or st.st_mode & 0o022:
            problems.append(f"{current} (owner uid {st.st_uid}, mode "
                            f"{stat.S_IMODE(st.st_mode):04o}; needs root and no group or other "
                            f"write: chown root:root {current}; chmod go-w {current})")
    return problems


def add_submitter(config: Config, submitter: str, user: str | None = None) -> SubmitterFolders:
    """Create a submitter's folders with the modes SFTP needs.

    With ``user`` (an account that logs in over SFTP; needs root), ``upload/`` is owned by that
    user and the daemon's group, and ``receipts/`` by the daemon and the user's group, and the
    submitter's folder must be usable as its chroot. Without it only the modes are set, which is
    what a local run needs.
    """
    if not is_submitter_id(submitter):
        raise LayoutError(f"{submitter!r} is not a valid submitter id (letters, digits, '-', '_';"
                          " starting with a letter or digit; at most 64 characters)")
    if not config.inbox.is_dir():
        raise LayoutError(f"the inbox {config.inbox} does not exist; run `gateway init` first")
    account = _account(user) if user is not None else None
    folders = submitter_folders(config, submitter)
    dev = folders.upload.parent / DEV_FOLDER
    for folder, mode in ((folders.upload.parent, SUBMITTER_MODE), (folders.upload, UPLOAD_MODE),
                         (folders.receipts, RECEIPTS_MODE), (dev, DEV_MODE)):
        folder.mkdir(exist_ok=True)
        folder.chmod(mode)
    if account is not None:
        daemon = config.state.stat()
        _chown(folders.upload.parent, 0, 0)
        _chown(folders.upload, account.pw_uid, daemon.st_gid)
        _chown(folders.receipts, daemon.st_uid, account.pw_gid)
        # the daemon binds the chroot's /dev/log here, where internal-sftp logs its handles
        _chown(dev, daemon.st_uid, daemon.st_gid)
        problems = chroot_problems(folders.upload.parent)
        if problems:
            raise LayoutError("sshd will refuse this submitter's logins, its chroot "
                              f"{folders.upload.parent} is unsafe: {'; '.join(problems)}")
    return folders


def check_layout(config: Config) -> None:
    """Refuse to start on folders that would break the guarantees: claiming and filing are
    renames, which are atomic only within one file system."""
    for folder in (config.inbox, config.spool, config.archive, config.quarantine,
                   config.ledger.parent):
        if not folder.is_dir():
            raise LayoutError(f"{folder} does not exist; run `gateway init` first")
    inbox_device = config.inbox.stat().st_dev
    for folder in (config.spool, config.archive, config.quarantine):
        if folder.stat().st_dev != inbox_device:
            raise LayoutError(f"{folder} is on a different file system from the inbox "
                              f"{config.inbox}; claiming and filing must be atomic renames")
