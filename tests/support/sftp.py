"""A real SFTP site for the session: OpenSSH's sshd on a loopback port, set up by the
deployment recipe (``deploy/setup-site.sh``) exactly as docs/operations.md tells an operator,
real Unix accounts with key login, and a real ``gateway serve``; driven by the real ``sftp``.

The daemon runs as the recipe's service account with CAP_LEASE alone, as deploy/gateway.service
runs it (``setpriv`` in place of systemd's ``User=`` and ``AmbientCapabilities=``), so the
permission model is what is tested: its group renames out of ``upload/``, writes receipts and
takes read leases on the submitters' files. That account must reach the Python running the tests
and the checkout: each folder on their paths that others may not enter (``/root`` when Python
comes from pyenv) gets a POSIX ACL entry letting that one account through; the folders' ACLs
are restored afterwards.

sshd accepts a chroot only when root owns every folder on its path, so the site lives in a
fresh folder under ``/srv`` (not under ``/tmp``, which everyone may write). Accounts, group,
keys and folders are removed afterwards. The suite needs root, as CI has.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import ROOT, wait_until
from tests.support.ports import free_port
from tests.support.system import require_command

RECIPE = ROOT / "deploy" / "setup-site.sh"
DEADLINE = 90.0


@dataclass
class Site:
    """The running site: where things are, and how a submitter's client talks to it."""

    root: Path
    site: Path
    port: int
    sftp_command: str
    keys: dict[str, Path]
    daemon_log: Path
    env: dict[str, str]
    service: str
    submitters: list[str] = field(default_factory=list)

    def sftp(self, user: str, *commands: str, options: tuple[str, ...] = (),
             timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``commands`` as one ``sftp -b`` batch session of ``user``."""
        batch = self.root / f"batch-{secrets.token_hex(4)}"
        batch.write_text("\n".join(commands) + "\n", encoding="utf-8")
        try:
            return subprocess.run(
                [self.sftp_command, "-b", str(batch), "-i", str(self.keys[user]),
                 "-P", str(self.port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                 "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                 "-o", "LogLevel=ERROR", *options, f"{user}@127.0.0.1"],
                capture_output=True, text=True, timeout=timeout)
        finally:
            batch.unlink()

    def folder(self, user: str) -> Path:
        return self.site / "inbox" / user

    def receipts(self, user: str, name: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(path.read_text(encoding="utf-8"))
                 for path in sorted((self.folder(user) / "receipts").glob("*.receipt.json"))]
        return [r for r in found if name is None or r["file"]["name"] == name]

    def wait_receipts(self, user: str, name: str, count: int = 1) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.receipts(user, name)) >= count, DEADLINE,
                   f"{count} receipt(s) for {name}")
        return self.receipts(user, name)

    def filed(self, submission_id: str) -> Path:
        """The original filed for a submission (archive or quarantine)."""
        def find() -> Path | None:
            for folder in ("archive", "quarantine"):
                for path in (self.site / "var" / folder).glob(f"*/{submission_id}.*"):
                    return path
            return None
        return wait_until(find, DEADLINE, f"the original of {submission_id} filed")

    def events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.daemon_log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append({"event": "NOT JSON", "line": line})
        return events


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def sftp_site() -> Iterator[Site]:
    with build_site({}) as site:
        yield site


@contextmanager
def build_site(registry_options: dict[str, list[str]], intake: dict[str, str] | None = None
               ) -> Iterator[Site]:
    """A site with two submitters ("a" and "b"); ``registry_options`` gives a submitter's
    registry entry (``setup-site.sh submitter``'s options), none: no registry at all;
    ``intake`` is added to the config's ``[intake]`` section."""
    if os.geteuid() != 0:
        pytest.fail("the SFTP suite creates accounts and runs sshd: run it as root (CI does)",
                    pytrace=False)
    sshd = require_command("sshd", "openssh-server", extra_paths=("/usr/sbin",))
    sftp = require_command("sftp", "openssh-client")
    keygen = require_command("ssh-keygen", "openssh-client")
    Path("/srv").mkdir(mode=0o755, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="sqrms-sftp-", dir="/srv"))
    root.chmod(0o755)
    tag = f"sqt{secrets.token_hex(3)}"
    names = {"group": tag, "service": f"{tag}gw", "a": f"{tag}a", "b": f"{tag}b"}
    gateway = root / "gateway"  # the operator's `gateway` command, for the recipe
    gateway.write_text(f"#!/bin/sh\nexec {sys.executable} -m gateway \"$@\"\n")
    gateway.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SITE": str(root / "site"),
           "SERVICE_USER": names["service"], "SUBMITTERS_GROUP": names["group"],
           "KEYS_DIR": str(root / "keys"), "SSHD_CONFIG_DIR": str(root / "sshd_config.d"),
           "GATEWAY": str(gateway)}
    for variable in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "GATEWAY_CONFIG"):
        env.pop(variable, None)
    processes: list[subprocess.Popen[bytes]] = []
    site = Site(root, root / "site", free_port(), sftp, {}, root / "serve.log", env,
                names["service"])
    granted: list[str] = []  # getfacl's dump of each folder before its entry was added
    try:
        _run([str(RECIPE), "site"], env)
        config = site.site / "gateway.toml"
        for key, value in (intake or {}).items():  # the commented template has every key
            text, changed = re.subn(rf"^{key} = .*$", f"{key} = {value}",
                                    config.read_text(encoding="utf-8"), flags=re.M)
            assert changed == 1, key
            config.write_text(text, encoding="utf-8")
        client = root / "client"
        client.mkdir(mode=0o700)
        for user in ("a", "b"):
            key = client / f"key-{user}"
            _run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], env)
            site.submitters.append(names[user])
            _run([str(RECIPE), "submitter", names[user], f"{key}.pub",
                  *registry_options.get(user, [])], env)
            site.keys[names[user]] = key
        processes.append(_start_sshd(sshd, keygen, site, env))
        setfacl = require_command("setfacl", "acl")
        setpriv = require_command("setpriv", "util-linux")
        _grant_passage(setfacl, names["service"], granted, env)
        processes.append(_start_daemon(setpriv, site, env))
        yield site
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        for saved in granted:  # each folder's ACL exactly as it was
            subprocess.run(["setfacl", "--restore=-"], input=saved, text=True,
                           capture_output=True, check=False)
        for user in site.submitters:
            subprocess.run([str(RECIPE), "remove-submitter", user], env=env,
                           capture_output=True, check=False)
        subprocess.run(["userdel", names["service"]], capture_output=True, check=False)
        subprocess.run(["groupdel", names["group"]], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _start_sshd(sshd: str, keygen: str, site: Site, env: dict[str, str]
                ) -> subprocess.Popen[bytes]:
    """sshd with a throw-away host key, configured as Debian's stock sshd_config is where it
    matters (the drop-in folder included first, PAM on), plus the recipe's fragment."""
    host_key = site.root / "host-key"
    _run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], env)
    config = site.root / "sshd_config"
    config.write_text(
        f"Include {site.root / 'sshd_config.d'}/*.conf\n"
        f"Port {site.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"PidFile {site.root / 'sshd.pid'}\n"
        "KbdInteractiveAuthentication no\nUsePAM yes\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n", encoding="utf-8")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation folder
    _run([sshd, "-t", "-f", str(config)], env)
    log = (site.root / "sshd.log").open("wb")
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log,
                               stderr=subprocess.STDOUT)
    log.close()

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError("sshd exited:\n" + (site.root / "sshd.log").read_text())
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", site.port)) == 0

    wait_until(listening, 30, "sshd to listen")
    return process


def _grant_passage(setfacl: str, account: str, granted: list[str],
                   env: dict[str, str]) -> None:
    """Let ``account`` through every folder that others may not enter on the way to this
    Python (the venv's link and the interpreter it points to), its libraries and the checkout:
    an ACL entry ``u:account:x`` on each. ``granted`` gets each folder's ACL as it was before
    (``getfacl``'s dump), for the teardown to restore exactly."""
    targets = {Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent,
               Path(sys.prefix), Path(sys.base_prefix), ROOT}
    targets.update(Path(entry) for entry in sys.path if entry and Path(entry).is_dir())
    folders: set[Path] = set()
    for target in targets:
        for path in (target, Path(os.path.realpath(target))):
            folders.update([path, *path.parents])
    for folder in sorted(folders):
        if folder.is_dir() and not folder.stat().st_mode & 0o001:
            saved = subprocess.run(["getfacl", "--absolute-names", str(folder)],
                                   capture_output=True, text=True, check=True, timeout=30)
            granted.append(saved.stdout)
            _run([setfacl, "-m", f"u:{account}:x", str(folder)], env)


def _start_daemon(setpriv: str, site: Site, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``gateway serve`` as deploy/gateway.service starts it: the service account and its
    groups, CAP_LEASE as its only (ambient and bounding) capability, no new privileges, umask
    0027, home the account's own."""
    home = site.site / "var"
    as_service = [setpriv, f"--reuid={site.service}", f"--regid={site.service}",
                  "--init-groups", "--inh-caps=-all,+lease", "--ambient-caps=-all,+lease",
                  "--bounding-set=-all,+lease", "--no-new-privs", "--"]
    daemon_env = {**env, "HOME": str(home), "USER": site.service, "LOGNAME": site.service}
    probe = subprocess.run([*as_service, sys.executable, "-c", "import gateway"],
                           capture_output=True, text=True, env=daemon_env, cwd=home, timeout=60)
    assert probe.returncode == 0, (
        f"the service account {site.service} cannot run {sys.executable} with the checkout "
        f"{ROOT}: every file there must be readable by others\n{probe.stderr}")
    log = site.daemon_log.open("wb")
    process = subprocess.Popen(
        [*as_service, sys.executable, "-m", "gateway", "serve",
         "--config", str(site.site / "gateway.toml")],
        stdout=log, stderr=subprocess.STDOUT, env=daemon_env, cwd=home, umask=0o027)
    log.close()

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError("gateway serve exited:\n" + site.daemon_log.read_text())
        return any(e.get("event") == "serving" for e in site.events())

    wait_until(serving, DEADLINE, "the daemon to serve")
    return process
