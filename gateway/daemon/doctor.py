"""``gateway doctor``: the site as the service account will meet it, checked before it serves.

Most failures of a new site are not the gateway's code but what the account that runs it may
see: an interpreter under ``/root``, a ledger password in root's ``.pgpass``, a submitter folder
with the wrong owner, an sshd that cannot start without ``/run/sshd``. Run as root, the doctor
checks what only root can (sshd, the chroots), then runs itself again as the service account,
with ``CAP_LEASE`` as the systemd unit gives it, for everything else. Each problem comes with
its fix.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from gateway.daemon.health import receipts_folder_problem, upload_folder_problem
from gateway.daemon.leases import choose_writer_check
from gateway.site.config import Config
from gateway.site.layout import DEV_FOLDER, chroot_problems, iter_submitter_roots

SSHD_DROP_IN = Path("/etc/ssh/sshd_config.d")
PRIVSEP_FOLDER = Path("/run/sshd")


@dataclass(frozen=True)
class Finding:
    """One check: ``problem`` None when it passed."""

    check: str
    problem: str | None = None
    fix: str = ""

    def as_dict(self) -> dict[str, str | None]:
        return {"check": self.check, "problem": self.problem, "fix": self.fix}


def service_account(config: Config) -> str:
    """The account that owns the state folder: the one ``gateway init --service-user`` set."""
    return pwd.getpwuid(config.state.stat().st_uid).pw_name


def account_checks(config: Config) -> list[Finding]:
    """What the running process (the service account) can do on this site."""
    from gateway.daemon.workers import resolve_pipeline
    from gateway.site.ledger import Ledger  # the database layer, only when checked
    from gateway.submitters.registry_file import RegistryError, load_registry

    found = [Finding(f"the interpreter {sys.executable} and the gateway's packages run")]
    for folder in (config.state, config.spool, config.archive, config.quarantine,
                   config.ledger.parent):
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            found.append(Finding(f"state folder {folder}", "the service account may not write "
                                 "it", f"chown -R ACCOUNT: {folder}; chmod u+rwx {folder}"))
    if not os.access(config.inbox, os.R_OK | os.X_OK):
        found.append(Finding(f"inbox {config.inbox}", "the service account may not list it",
                             f"chmod 0755 {config.inbox}"))
    try:
        Ledger(config.ledger_location, create=False).close()
        found.append(Finding(f"the ledger {_safe_location(config)} opens"))
    except Exception as err:  # any driver's refusal is what the operator must see
        found.append(Finding(
            f"the ledger {_safe_location(config)}", f"cannot be opened: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            "PostgreSQL: put the password in the service account's own ~/.pgpass (mode 0600, "
            f"home {Path.home()}); SQLite: run `gateway init` as root with --service-user"))
    try:
        resolve_pipeline(config.pipeline)
        found.append(Finding(f"the pipeline {config.pipeline} imports"))
    except Exception as err:
        found.append(Finding(f"the pipeline {config.pipeline}", f"does not import: {err}",
                             "install the gateway and its plugins where the account can read "
                             "them (e.g. /opt/gateway/venv)"))
    if config.registry.exists():
        try:
            load_registry(config.registry)
            found.append(Finding(f"the registry {config.registry} loads"))
        except RegistryError as err:
            found.append(Finding(f"the registry {config.registry}", "; ".join(err.problems),
                                 f"gateway registry check {config.registry}; fix the lines"))
    check = choose_writer_check(config.inbox, config.writer_check)
    found.append(Finding("read leases (is an upload still being written?)",
                         None if check.by_kernel else check.reason,
                         "give the service CAP_LEASE (AmbientCapabilities=CAP_LEASE, or "
                         "setpriv --ambient-caps +lease)" if "CAP_LEASE" in check.reason
                         else ""))
    for folders in iter_submitter_roots(config):
        who = folders.submitter
        problem = (upload_folder_problem(folders.upload)
                   or receipts_folder_problem(folders.receipts, folders.upload, repair=False))
        found.append(Finding(f"submitter {who}'s folders", problem,
                             "" if problem is None else problem.rpartition("fix as root: ")[2]))
        dev = folders.upload.parent / DEV_FOLDER
        hears = dev.is_dir() and not dev.is_symlink() and dev.stat().st_uid == os.geteuid()
        found.append(Finding(
            f"submitter {who}'s SFTP log socket folder {dev}",
            None if hears else "missing or not the service account's: an interrupted upload "
                               "of this submitter cannot be told",
            f"gateway submitter add {who} --user ACCOUNT (as root)"))
    return found


def root_checks(config: Config, drop_in_folder: Path = SSHD_DROP_IN,
                sshd_config: Path | None = None) -> list[Finding]:
    """sshd (its whole configuration, ``sshd_config`` or the system's) and the chroots: what
    only root may look at."""
    found: list[Finding] = []
    fragment = _fragment(config, drop_in_folder)
    if fragment is None:
        found.append(Finding(f"sshd fragment in {drop_in_folder}",
                             f"no file there chroots into {config.inbox}/%u",
                             "deploy/setup-site.sh site (or SSHD_CONFIG_DIR=... for another "
                             "folder)"))
    else:
        text = fragment.read_text(encoding="utf-8", errors="replace")
        logs = any("internal-sftp" in line and "-l INFO" in line for line in text.splitlines()
                   if line.strip().startswith("ForceCommand"))
        found.append(Finding(f"sshd fragment {fragment} logs file handles",
                             None if logs else "ForceCommand internal-sftp lacks -l INFO",
                             "deploy/setup-site.sh site (installs the current fragment)"))
    found.append(Finding(f"sshd's privilege separation folder {PRIVSEP_FOLDER}",
                         None if PRIVSEP_FOLDER.is_dir() else "missing: sshd -t and sshd fail",
                         f"install -d -m 0755 {PRIVSEP_FOLDER} (systemd's ssh.service does it;"
                         " without systemd, at every boot)"))
    sshd = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
    if sshd is None:
        found.append(Finding("sshd", "not installed", "apt-get install openssh-server"))
    elif PRIVSEP_FOLDER.is_dir():
        options = ["-f", str(sshd_config)] if sshd_config is not None else []
        test = subprocess.run([sshd, "-t", *options], capture_output=True, text=True,
                              timeout=60)
        found.append(Finding("sshd -t (the whole sshd configuration)",
                             None if test.returncode == 0 else test.stderr.strip()[:500],
                             "fix the lines sshd names"))
    for folders in iter_submitter_roots(config):
        try:
            problems = chroot_problems(folders.upload.parent)
        except OSError as err:
            problems = [f"{folders.upload.parent} cannot be examined ({err.strerror})"]
        found.append(Finding(f"submitter {folders.submitter}'s chroot",
                             "; ".join(problems) or None,
                             "chown root:root and chmod go-w each folder named"))
    return found


def as_account(config_path: Path, account: str) -> list[Finding]:
    """Run the account's checks as ``account``, as the systemd unit runs the daemon: its uid,
    groups and home, umask 0027, CAP_LEASE alone."""
    entry = pwd.getpwnam(account)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return [Finding("setpriv", "not installed: the checks as the service account cannot "
                        "run", "apt-get install util-linux")]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": entry.pw_dir,
           "USER": account, "LOGNAME": account, "LANG": "C.UTF-8"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    argv = [setpriv, f"--reuid={account}", f"--regid={entry.pw_gid}", "--init-groups",
            "--inh-caps=-all,+lease", "--ambient-caps=-all,+lease", "--no-new-privs", "--",
            sys.executable, "-m", "gateway", "doctor", "--config", str(config_path),
            "--as-account-only", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300,
                          cwd="/", umask=0o027)
    try:
        return [Finding(**item) for item in json.loads(done.stdout)["findings"]]
    except (ValueError, KeyError, TypeError):
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "config" in error:
            fix = f"let {account} read the config: chmod 0644 {config_path}"
        else:
            fix = ("install the gateway where the account can read it (e.g. python3 -m venv "
                   "/opt/gateway/venv; /opt/gateway/venv/bin/pip install ...), not under /root "
                   "or another private home")
        return [Finding(f"running {sys.executable} -m gateway as {account}",
                        f"the service account cannot run the gateway: {error}", fix)]


def _fragment(config: Config, folder: Path) -> Path | None:
    try:
        candidates = sorted(folder.glob("*.conf"))
    except OSError:
        return None
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if f"ChrootDirectory {config.inbox}/%u" in text:
            return path
    return None


def _safe_location(config: Config) -> str:
    """The ledger's place without a password that a URL may carry."""
    if config.ledger_url is None:
        return str(config.ledger)
    scheme, _, rest = config.ledger_url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def render(findings: list[Finding]) -> str:
    lines = []
    for item in findings:
        if item.problem is None:
            lines.append(f"ok       {item.check}")
        else:
            lines.append(f"PROBLEM  {item.check}: {item.problem}")
            if item.fix:
                lines.append(f"         fix: {item.fix}")
    bad = sum(1 for item in findings if item.problem is not None)
    lines.append(f"{bad} problem(s)" if bad else "no problems found")
    return "\n".join(lines) + "\n"
