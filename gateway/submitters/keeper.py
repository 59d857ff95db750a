"""The registry in force in a running daemon, reloaded when its file changes.

The daemon asks ``refresh`` every turn of its loop; a ``stat`` decides whether the file changed
(size, modification time, inode: an editor's save-by-rename changes the inode), and only then is
it read, once it has been left alone for ``settle`` seconds (an editor that saves in place
truncates the file, then writes it: read in between, the text is torn, and a torn prefix may
even parse, leaving submitters out). A new text that passes every check replaces the registry
whole, from the next file on;
one that does not is refused whole and logged with its lines, and the previous registry stays in
force. A file that disappears leaves the last good registry in force too: deleting the registry
must not open the gateway to every folder.
"""

from __future__ import annotations

import hashlib
import os
import time
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
    """Holds the registry in force (None: no registry file, the layer is off) and reloads it.

    Every registry that loads is also copied to ``keep`` (a file in the daemon's state folder):
    a daemon that starts while the file is refused or gone runs on that copy, loudly, instead
    of leaving every submitter without a gateway after a reboot. ``refused`` says whether the
    daemon runs on anything but the file as it is now."""

    path: Path
    required: bool = False
    on_change: Callable[[dict[str, str]], None] | None = None  # e.g. ledger meta for `status`
    keep: Path | None = None
    settle: float = 0.0  # seconds a changed file must stay unchanged before it is read
    registry: Registry | None = None
    refused: bool = False
    _signature: Signature | None = None
    _seen: tuple[Signature, float] | None = None  # a changed file's signature, first seen when

    def start(self) -> None:
        """Load the registry at start. A missing optional one is logged and leaves the
        submitter layer off until a registry file appears. One that is required but missing,
        or present but refused, is replaced by the last registry that loaded (kept in the state
        folder); only when there is none either does this raise ``RegistryUnavailable``."""
        signature = _signature(self.path)
        if signature is None:
            if self.required:
                self._fall_back(f"the registry {self.path} (named in the config) does not exist",
                                [], "file missing")
                return
            log.warning("registry_missing", path=str(self.path))
            self._report(registry_state="none: submitter layer off")
            return
        try:
            self._load(signature)
        except RegistryError as err:
            self._signature = signature
            self._fall_back(str(err), err.problems, "refused")

    def _fall_back(self, why: str, problems: list[str], what: str) -> None:
        kept = self._kept()
        if kept is None:
            raise RegistryUnavailable(f"{why}; and no registry ever loaded on this site (none "
                                      "is kept in the state folder), so the daemon cannot "
                                      "start") from None
        self.registry, self.refused = kept, True
        log.error("registry_fallback", path=str(self.path), problems=problems,
                  kept_digest=kept.digest[:12], kept_file=str(self.keep),
                  detail=f"the registry file is {what}; running on the last registry that "
                         "loaded until it loads again")
        self._report(registry_state=f"file {what}: RUNNING ON THE LAST GOOD REGISTRY "
                                    f"({self.keep})", registry_digest=kept.digest,
                     registry_submitters=str(len(kept)), registry_refused="; ".join(problems)
                     or why)

    def _kept(self) -> Registry | None:
        if self.keep is None:
            return None
        try:
            data = self.keep.read_bytes()
            registry = parse_registry(data, str(self.keep))
        except (OSError, RegistryError):
            return None
        return registry

    def refresh(self) -> bool:
        """Reload when the file changed; True when a new registry came into force."""
        signature = _signature(self.path)
        if signature == self._signature:
            return False
        if signature is None:
            self._signature = None
            if self.registry is not None:
                self.refused = True
                log.error("registry_vanished", path=str(self.path),
                          kept_digest=self.registry.digest[:12])
                self._report(registry_state="file missing; previous registry kept")
            return False
        if self.settle and not self._settled(signature):
            return False  # changed moments ago: perhaps still being written; next turn
        try:
            return self._load(signature, whole=True)
        except RegistryError as err:
            self._signature = signature  # the same broken text is refused once, not every turn
            self.refused = True
            log.error("registry_refused", path=str(self.path), problems=err.problems,
                      kept_digest=self.registry.digest[:12] if self.registry else None)
            self._report(registry_state="edit refused; previous registry kept",
                         registry_refused="; ".join(err.problems))
            return False

    def _settled(self, signature: Signature) -> bool:
        """Left alone for ``settle`` seconds: by its modification time (so an edit saved just
        before an upload is in force when that upload is claimed), or, when that time lies
        in the future (copied with its times from a machine whose clock runs ahead), by how
        long this keeper has seen it unchanged."""
        now = time.monotonic()
        if self._seen is None or self._seen[0] != signature:
            self._seen = (signature, now)
        return (time.time() - signature[0] / 1e9 >= self.settle
                or now - self._seen[1] >= self.settle)

    def _load(self, signature: Signature, whole: bool = False) -> bool:
        """Read and take the file; with ``whole``, only if it did not change while read (else
        False, and the next refresh reads it again)."""
        data = self.path.read_bytes()
        if whole and _signature(self.path) != signature:
            return False
        self._signature = signature
        same = (self.registry is not None
                and hashlib.sha256(data).hexdigest() == self.registry.digest)
        registry = self.registry if same and self.registry else parse_registry(data, str(self.path))
        self.registry, was_refused, self.refused = registry, self.refused, False
        if same and not was_refused:
            return False
        self._save(data)
        log.info("registry_loaded", path=str(self.path), submitters=len(registry),
                 digest=registry.digest[:12])
        self._report(registry_state="in force", registry_digest=registry.digest,
                     registry_submitters=str(len(registry)), registry_refused="")
        return not same

    def _save(self, data: bytes) -> None:
        """Keep this text as the last good registry (written whole, then renamed)."""
        if self.keep is None:
            return
        temporary = self.keep.with_name(f".{self.keep.name}.new")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, self.keep)
        except OSError as err:
            log.warning("registry_not_kept", file=str(self.keep), reason=err.strerror)

    def _report(self, **values: str) -> None:
        if self.on_change is not None:
            self.on_change(values)


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
