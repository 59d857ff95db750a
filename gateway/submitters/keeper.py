"""The registry in force in a running daemon, reloaded when its file changes.

The daemon asks ``refresh`` every turn of its loop; a ``stat`` decides whether the file changed
(size, modification time, inode: an editor's save-by-rename changes the inode), and only then is
it read. A new text that passes every check replaces the registry whole, from the next file on;
one that does not is refused whole and logged with its lines, and the previous registry stays in
force. A file that disappears leaves the last good registry in force too: deleting the registry
must not open the gateway to every folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from gateway.contract.registry import Registry
from gateway.submitters.registry_file import RegistryError, parse_registry

log = structlog.get_logger("gateway.registry")

Signature = tuple[int, int, int]


class RegistryUnavailable(RuntimeError):
    """The daemon cannot start with the registry as it is (named in config but missing, or
    present and refused); the message says which and why."""


@dataclass
class RegistryKeeper:
    """Holds the registry in force (None: no registry file, the layer is off) and reloads it."""

    path: Path
    required: bool = False
    on_change: Callable[[dict[str, str]], None] | None = None  # e.g. ledger meta for `status`
    registry: Registry | None = None
    _signature: Signature | None = None

    def start(self) -> None:
        """Load the registry at start. Raises ``RegistryUnavailable`` when it is required but
        missing, or present but refused; a missing optional one is logged and leaves the
        submitter layer off until a registry file appears."""
        signature = _signature(self.path)
        if signature is None:
            if self.required:
                raise RegistryUnavailable(f"the registry {self.path} (named in the config) "
                                          "does not exist")
            log.warning("registry_missing", path=str(self.path))
            self._report(registry_state="none: submitter layer off")
            return
        try:
            self._load(signature)
        except RegistryError as err:
            raise RegistryUnavailable(str(err)) from None

    def refresh(self) -> bool:
        """Reload when the file changed; True when a new registry came into force."""
        signature = _signature(self.path)
        if signature == self._signature:
            return False
        if signature is None:
            self._signature = None
            if self.registry is not None:
                log.error("registry_vanished", path=str(self.path),
                          kept_digest=self.registry.digest[:12])
                self._report(registry_state="file missing; previous registry kept")
            return False
        try:
            return self._load(signature)
        except RegistryError as err:
            self._signature = signature  # the same broken text is refused once, not every turn
            log.error("registry_refused", path=str(self.path), problems=err.problems,
                      kept_digest=self.registry.digest[:12] if self.registry else None)
            self._report(registry_state="edit refused; previous registry kept",
                         registry_refused="; ".join(err.problems))
            return False

    def _load(self, signature: Signature) -> bool:
        data = self.path.read_bytes()
        self._signature = signature
        if self.registry is not None and hashlib.sha256(data).hexdigest() == self.registry.digest:
            return False
        registry = parse_registry(data, str(self.path))
        self.registry = registry
        log.info("registry_loaded", path=str(self.path), submitters=len(registry),
                 digest=registry.digest[:12])
        self._report(registry_state="in force", registry_digest=registry.digest,
                     registry_submitters=str(len(registry)), registry_refused="")
        return True

    def _report(self, **values: str) -> None:
        if self.on_change is not None:
            self.on_change(values)


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
