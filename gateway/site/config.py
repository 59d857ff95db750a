"""The daemon's settings: one TOML file, or the local defaults when there is none.

Relative paths in a config file are taken relative to the file's own folder, so a deployment can
be moved as a whole; without a file they are relative to the working directory (a local run).
Unknown keys are an error: a misspelt setting silently falling back to a default is how a
production gateway ends up watching the wrong folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.site.plugin_choice import PluginChoice

CONFIG_ENV = "GATEWAY_CONFIG"
CONFIG_NAME = "gateway.toml"
WATCHERS = ("events", "polling", "off")
WRITER_CHECKS = ("auto", "quiet_period")
LATE_POLICIES = ("warn", "reject")
LOG_FORMATS = ("auto", "json", "console")
DEFAULT_PIPELINE = "gateway.engine.pipeline:validate_file"


class ConfigError(ValueError):
    """The config file cannot be used as written; the message says which key and why."""


@dataclass(frozen=True)
class Config:
    """Every setting of the daemon, resolved to absolute paths and checked types."""

    inbox: Path
    state: Path
    spool: Path
    archive: Path
    quarantine: Path
    ledger: Path
    watcher: str = "events"
    quiet_period: float = 3.0
    writer_check: str = "auto"
    rescan_interval: float = 60.0
    poll_interval: float = 2.0
    marker_wait: float = 86400.0
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    time_limit: float = 600.0
    memory_limit_mb: int = 4096
    recycle_rss_mb: int = 512
    max_jobs: int = 1000
    validate_slots: int = 1  # warm processes answering `gateway validate` (0: none)
    validate_wait: float = 1.0  # seconds `gateway validate` waits for one to take its files
    pipeline: str = DEFAULT_PIPELINE
    log_format: str = "auto"
    log_level: str = "info"
    ledger_url: str | None = None
    lease: float = 30.0
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"
    registry: Path = Path("registry.toml")
    registry_configured: bool = False
    late: str = "warn"
    timezone: str = "America/Chicago"
    plugins_disable: tuple[str, ...] = ()
    plugins_paths: tuple[Path, ...] = ()
    # [notify] (gateway.notify; docs/operations.md "Telling people"); no smtp_url: no e-mail
    smtp_url: str | None = None
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password_file: Path | None = None
    mail_from: str = "sqrms-gateway@localhost"
    mail_reply_to: str | None = None
    notify_retry_first: float = 30.0
    notify_retry_max: float = 3600.0
    notify_retry_for: float = 86400.0
    webhook_timeout: float = 10.0
    # the web console (`gateway web`, docs/operations.md)
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_public_url: str = ""
    web_max_upload_mb: int = 0  # 0: the gateway's file size cap
    web_trusted_user_header: str = ""
    web_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    web_rate_per_account: int = 600  # requests a minute; 0: no limit
    web_rate_per_address: int = 1200
    source: Path | None = None

    @property
    def plugin_choice(self) -> PluginChoice:
        """The ``[plugins]`` table: which installed plugins are off, which local ones on."""
        return PluginChoice(self.plugins_disable, self.plugins_paths)

    @property
    def ledger_location(self) -> str | Path:
        """The ledger's database: the ``[ledger] url`` when set, else the SQLite file."""
        return self.ledger_url or self.ledger

    @property
    def shared_ledger(self) -> bool:
        """True when the ledger is a server several daemons (and hosts) can share."""
        return self.ledger_url is not None and not self.ledger_url.startswith("sqlite:")

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the one running daemon; it also carries the daemon's pid."""
        return self.state / "gateway.pid"


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def _is_names(value: list[Any]) -> bool:
    return all(isinstance(item, str) and item.strip() for item in value)


# (section, key) -> (Config field, type, check, what the check requires)
_KEYS: dict[tuple[str, str], tuple[str, type, Any, str]] = {
    ("folders", "inbox"): ("inbox", str, None, ""),
    ("folders", "state"): ("state", str, None, ""),
    ("folders", "spool"): ("spool", str, None, ""),
    ("folders", "archive"): ("archive", str, None, ""),
    ("folders", "quarantine"): ("quarantine", str, None, ""),
    ("folders", "ledger"): ("ledger", str, None, ""),
    ("intake", "watcher"): ("watcher", str, lambda v: v in WATCHERS, f"one of {WATCHERS}"),
    ("intake", "quiet_period"): ("quiet_period", float, lambda v: v >= 0, ">= 0"),
    ("intake", "writer_check"): ("writer_check", str, lambda v: v in WRITER_CHECKS,
                                 f"one of {WRITER_CHECKS}"),
    ("intake", "rescan_interval"): ("rescan_interval", float, lambda v: v > 0, "> 0"),
    ("intake", "poll_interval"): ("poll_interval", float, lambda v: v > 0, "> 0"),
    ("intake", "marker_wait"): ("marker_wait", float, lambda v: v > 0, "> 0 seconds"),
    ("workers", "count"): ("workers", int, lambda v: v >= 0, ">= 0 (0 = one per core)"),
    ("workers", "time_limit"): ("time_limit", float, lambda v: v > 0, "> 0"),
    ("workers", "memory_limit_mb"): ("memory_limit_mb", int, lambda v: v >= 0,
                                     ">= 0 (0 = no limit)"),
    ("workers", "pipeline"): ("pipeline", str, lambda v: ":" in v, "'module:function'"),
    ("workers", "recycle_rss_mb"): ("recycle_rss_mb", int, lambda v: v >= 0,
                                    ">= 0 (0 = never)"),
    ("workers", "max_jobs"): ("max_jobs", int, lambda v: v >= 0, ">= 0 (0 = no limit)"),
    ("workers", "validate_slots"): ("validate_slots", int, lambda v: 0 <= v <= 8,
                                    "0 to 8 (0 = `gateway validate` never asks the daemon)"),
    ("workers", "validate_wait"): ("validate_wait", float, lambda v: 0 < v <= 60,
                                   "> 0 and <= 60 seconds"),
    ("ledger", "url"): ("ledger_url", str,
                        lambda v: v.startswith(("postgresql://", "postgres://", "sqlite:///")),
                        "postgresql://USER@HOST:PORT/DATABASE or sqlite:///PATH"),
    ("ledger", "lease"): ("lease", float, lambda v: v >= 3, ">= 3 seconds"),
    ("metrics", "port"): ("metrics_port", int, lambda v: 0 <= v < 65536,
                          "a TCP port (0 = no metrics)"),
    ("metrics", "address"): ("metrics_address", str, None, ""),
    ("logging", "format"): ("log_format", str, lambda v: v in LOG_FORMATS,
                            f"one of {LOG_FORMATS}"),
    ("logging", "level"): ("log_level", str,
                           lambda v: v in ("debug", "info", "warning", "error"),
                           "debug, info, warning or error"),
    ("registry", "file"): ("registry", str, None, ""),
    ("submitter", "late"): ("late", str, lambda v: v in LATE_POLICIES,
                            f"one of {LATE_POLICIES}"),
    ("submitter", "timezone"): ("timezone", str, _is_timezone, "an IANA time zone name"),
    ("plugins", "disable"): ("plugins_disable", list, _is_names,
                             'a list of plugin names as `gateway plugins` shows them'),
    ("plugins", "paths"): ("plugins_paths", list, _is_names,
                           "a list of folders (local plugins), relative to this file"),
    ("notify", "smtp_url"): ("smtp_url", str,
                             lambda v: v.startswith(("smtp://", "smtps://")) and len(v) > 8,
                             "smtp://HOST:PORT or smtps://HOST:PORT"),
    ("notify", "starttls"): ("smtp_starttls", bool, None, ""),
    ("notify", "username"): ("smtp_username", str, None, ""),
    ("notify", "password_file"): ("smtp_password_file", str, None, ""),
    ("notify", "from"): ("mail_from", str, lambda v: "@" in v, "an e-mail address"),
    ("notify", "reply_to"): ("mail_reply_to", str, lambda v: "@" in v, "an e-mail address"),
    ("notify", "retry_first"): ("notify_retry_first", float, lambda v: v > 0, "> 0 seconds"),
    ("notify", "retry_max"): ("notify_retry_max", float, lambda v: v > 0, "> 0 seconds"),
    ("notify", "retry_for"): ("notify_retry_for", float, lambda v: v > 0, "> 0 seconds"),
    ("notify", "webhook_timeout"): ("webhook_timeout", float, lambda v: v > 0, "> 0 seconds"),
    ("web", "host"): ("web_host", str, None, ""),
    ("web", "port"): ("web_port", int, lambda v: 0 < v < 65536, "a TCP port"),
    ("web", "public_url"): ("web_public_url", str,
                            lambda v: v.startswith(("https://", "http://")),
                            "an http:// or https:// address"),
    ("web", "max_upload_mb"): ("web_max_upload_mb", int, lambda v: v >= 0,
                               ">= 0 (0 = the gateway's file size cap)"),
    ("web", "trusted_user_header"): ("web_trusted_user_header", str, None, ""),
    ("web", "trusted_proxies"): ("web_trusted_proxies", list,
                                 lambda v: all(isinstance(a, str) for a in v),
                                 "a list of addresses"),
    ("web", "rate_per_account"): ("web_rate_per_account", int, lambda v: v >= 0,
                                  ">= 0 requests a minute (0 = no limit)"),
    ("web", "rate_per_address"): ("web_rate_per_address", int, lambda v: v >= 0,
                                  ">= 0 requests a minute (0 = no limit)"),
}


def find_config(explicit: Path | None) -> Path | None:
    """The config file to use: the one named, else ``$GATEWAY_CONFIG``, else ``./gateway.toml``
    when it exists, else none (local defaults)."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path(CONFIG_NAME)
    return local if local.is_file() else None


def load_config(path: Path | None) -> Config:
    """Read and check ``path`` (None: the defaults relative to the working directory)."""
    values: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read config {path}: {err.strerror}") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config {path} is not valid TOML: {err}") from err
        values = _flatten(document, path)
        base = path.resolve().parent
    return _resolve(values, base, path)


def _flatten(document: dict[str, Any], path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a [section]")
        for key, value in table.items():
            spec = _KEYS.get((section, key))
            if spec is None:
                raise ConfigError(f"{path}: unknown setting [{section}] {key}")
            name, kind, check, requirement = spec
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if kind is bool:
                if not isinstance(value, bool):
                    raise ConfigError(f"{path}: [{section}] {key} must be true or false")
            elif not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"{path}: [{section}] {key} must be a {kind.__name__}")
            if check is not None and not check(value):
                raise ConfigError(f"{path}: [{section}] {key} must be {requirement}")
            values[name] = tuple(value) if isinstance(value, list) else value
    return values


def _resolve(values: dict[str, Any], base: Path, source: Path | None) -> Config:
    def folder(name: str, default: Path) -> Path:
        return (base / values.pop(name)).resolve() if name in values else default

    state = folder("state", (base / "var").resolve())
    paths = {
        "inbox": folder("inbox", (base / "inbox").resolve()),
        "state": state,
        "spool": folder("spool", state / "spool"),
        "archive": folder("archive", state / "archive"),
        "quarantine": folder("quarantine", state / "quarantine"),
        "ledger": folder("ledger", state / "ledger.sqlite3"),
    }
    if values.get("workers") == 0:
        del values["workers"]
    # The registry: `[registry] file`, else registry.toml beside the config (or in the working
    # folder); only a configured one must exist before the daemon starts.
    values["registry_configured"] = "registry" in values
    values["registry"] = (base / values.pop("registry", "registry.toml")).resolve()
    values["plugins_disable"] = tuple(values.get("plugins_disable", ()))
    values["plugins_paths"] = tuple((base / p).resolve() for p in values.get("plugins_paths", ()))
    if "smtp_password_file" in values:
        values["smtp_password_file"] = (base / values["smtp_password_file"]).resolve()
    return Config(**paths, **values, source=source)


CONFIG_TEMPLATE = """\
# gateway.toml - settings of `gateway serve` and the commands that inspect it.
# Relative paths are relative to the folder of this file. Every key is optional; the value
# shown is the default. See docs/operations.md for the whole reference.

[folders]
# Submitters' SFTP folders: inbox/<submitter>/upload/ and inbox/<submitter>/receipts/.
inbox = "inbox"
# The gateway's own state, outside every submitter's folder. The spool, archive and quarantine
# must be on the same file system as the inbox (claiming is a rename).
state = "var"
# spool = "var/spool"            # files claimed and not yet filed
# archive = "var/archive"        # originals of accepted files
# quarantine = "var/quarantine"  # originals of rejected files
# ledger = "var/ledger.sqlite3"  # every submission and every state transition

[intake]
# "events" (inotify), "polling" (for mounts that deliver no events, such as NFS), or "off"
# (the periodic rescan alone).
watcher = "events"
# Seconds a file's size and modification time must stay unchanged before it is taken.
quiet_period = 3.0
# "auto": on a local file system, a file some process still holds open for writing is never
# taken, however long it pauses (the kernel says so through a read lease; needs CAP_LEASE).
# "quiet_period": the quiet period alone (network and FUSE mounts get this anyway).
writer_check = "auto"
# Seconds between full rescans of every upload folder; the rescan is the truth, events are hints.
rescan_interval = 60.0
# Seconds between scans of the polling watcher.
poll_interval = 2.0
# Seconds a file of a submitter with `complete_marker = "sha256"` (registry) waits for its
# NAME.sha256 before it is answered with E-FILE-INTERRUPTED (default: 24 hours).
marker_wait = 86400.0

[workers]
# Worker processes that validate files; 0 means one per CPU core.
count = 0
# Seconds one file may take; a file over the limit gets an E-PROCESSING-LIMIT receipt.
time_limit = 600.0
# Address-space limit of each worker in MiB (0 = none); over it: E-PROCESSING-LIMIT.
memory_limit_mb = 4096
# A worker whose resident memory after a file is over this many MiB is replaced by a fresh one
# (0 = never), and so is one that has validated max_jobs files (0 = no limit).
recycle_rss_mb = 512
max_jobs = 1000
# Warm processes that answer `gateway validate` on <state>/validate.sock, each one request at a
# time under the limits above (0 = none: the command always judges in its own process).
validate_slots = 1
# Seconds `gateway validate` waits for a warm process to take its files before it judges them
# itself (all of them busy, or the machine loaded).
validate_wait = 1.0
# The validation function, as module:function.
# pipeline = "gateway.engine.pipeline:validate_file"

[registry]
# Who may submit (docs/registry.md). Default: registry.toml beside this file. Reloaded when it
# changes; an edit that does not pass `gateway registry check` is refused and the previous
# registry stays in force.
# file = "registry.toml"

[submitter]
# A file received after its deadline: "warn" (accepted with W-SUBMITTER-LATE) or "reject"
# (E-SUBMITTER-LATE).
late = "warn"
# Deadlines are dates in this time zone (a file is on time until the end of its due day).
timezone = "America/Chicago"

[ledger]
# Without a url the ledger is the SQLite file above (one host). Several daemons, on one or more
# hosts, share one PostgreSQL ledger (see "Running several hosts" in docs/operations.md):
# url = "postgresql://gateway@db.example.org:5432/gateway"
# Seconds a daemon's claims outlive it: a daemon that stops renewing its lease (it died, or its
# host did) loses its unfinished files to the other daemons after this long.
lease = 30.0

[notify]
# E-mail to the registry's contacts (docs/operations.md, "Telling people"). Without smtp_url
# nothing is e-mailed; webhooks are sent either way.
# smtp_url = "smtp://mail.example.org:587"   # or smtps://HOST:465 (TLS from the start)
# starttls = true                            # false only for a plain local relay
# username = "gateway"                       # none: no login
# password_file = "/etc/gateway/smtp.password"  # never the password itself here
# from = "sqrms-gateway@example.org"
# reply_to = "sqrms-help@example.org"
# A message that cannot be sent is tried again after retry_first seconds, then twice as long
# each time (at most retry_max), for retry_for seconds; then it is marked failed.
# retry_first = 30.0
# retry_max = 3600.0
# retry_for = 86400.0
# Seconds a webhook receiver has to answer.
# webhook_timeout = 10.0

[metrics]
# Prometheus metrics on http://ADDRESS:PORT/metrics; 0 = none.
port = 0
address = "127.0.0.1"

[plugins]
# Installed plugins the gateway leaves out, named as `gateway plugins` lists them: e.g.
# "refuse-hcahps" when the program collects HCAHPS files through a plugin of its own
# (docs/plugins.md, "Choosing plugins").
disable = []
# Local plugin folders (a package folder with plugin.py, or a .py file of hooks), loaded like
# installed plugins without packaging, for trying a family out (relative to this file).
paths = []

[web]
# The web console and API (`gateway web`), normally behind a TLS-terminating reverse proxy.
# host = "127.0.0.1"
# port = 8080
# The address people use, for links in e-mails; https makes the session cookie Secure.
# public_url = "https://gateway.example.org"
# Largest upload through the console in MiB; 0 = the gateway's file size cap.
# max_upload_mb = 0
# Single sign-on: trust this header, set by the reverse proxy, to name the account; accepted
# only from these addresses.
# trusted_user_header = "X-Remote-User"
# trusted_proxies = ["127.0.0.1", "::1"]
# Requests a minute before the answer is 429 (Retry-After says when to come back), per
# signed-in account and per client address (behind a trusted proxy: the address its
# X-Forwarded-For names); each `gateway web` process counts its own; 0 = no limit.
# rate_per_account = 600
# rate_per_address = 1200

[logging]
# "json" (one JSON object per line), "console" (for people), or "auto" (console on a terminal).
format = "auto"
level = "info"
"""
