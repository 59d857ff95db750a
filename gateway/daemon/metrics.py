"""The daemon's Prometheus metrics: this module owns every metric name.

Labels carry only the gateway's own vocabulary (a family name from a plugin, a receipt status,
a ledger operation, a submitter id from the registry), never a submitter's file name or a
value from a file, so nothing a submitter sent reaches the monitoring system. Each daemon serves
its own numbers; Prometheus adds them up across daemons and hosts (see ``deploy/prometheus/``).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

VALIDATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
LEDGER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
NO_FAMILY = "none"  # receipts of files that never reached a family (bad name, link, unreadable)


class Metrics:
    """The numbers of one daemon, in a registry of its own (so a test can make several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._taken = Counter("gateway_files_taken", "Uploads this daemon claimed.",
                              registry=r)
        self._receipts = Counter("gateway_receipts", "Receipts written, by family and status.",
                                 ["family", "status"], registry=r)
        self._validation = Histogram("gateway_validation_seconds",
                                     "Seconds a worker spent validating one file.",
                                     buckets=VALIDATION_BUCKETS, registry=r)
        self._queue = Gauge("gateway_queue_depth",
                            "Files this daemon holds: claimed and not yet answered.", registry=r)
        self._waiting = Gauge("gateway_upload_waiting",
                              "Entries waiting in the upload folders at the last rescan.",
                              registry=r)
        self._oldest = Gauge("gateway_oldest_unanswered_seconds",
                             "Age of the oldest file taken and not yet answered, by any daemon "
                             "of this ledger (0 when none).", registry=r)
        self._restarts = Counter("gateway_worker_restarts",
                                 "Worker processes replaced after a crash or a limit.",
                                 registry=r)
        self._ledger = Histogram("gateway_ledger_seconds", "Seconds one ledger operation took, "
                                 "once for each submission it recorded.",
                                 ["operation"], buckets=LEDGER_BUCKETS, registry=r)
        self._last_take = Gauge("gateway_last_take_timestamp_seconds",
                                "When this daemon last claimed an upload (Unix time).",
                                registry=r)
        self._intake = Gauge("gateway_intake_healthy",
                             "1 while file events flow (or are not wanted), 0 while only the "
                             "rescan finds uploads.", registry=r)
        self._blocked = Gauge("gateway_submitter_blocked",
                              "1 while a submitter's files wait on a fault of its folders "
                              "(`gateway status` says which and the fix).", ["submitter"],
                              registry=r)
        self._registry_fallback = Gauge(
            "gateway_registry_refused",
            "1 while the registry file is refused (or missing) and the daemon runs on the last "
            "registry that loaded.", registry=r)
        self._no_signal = Gauge("gateway_interruption_signal_missing",
                                "Submitters whose SFTP server the daemon cannot hear: an "
                                "interrupted upload of theirs cannot be told.", registry=r)
        self._notified = Counter("gateway_notify_messages",
                                 "Notification attempts by kind (receipt, digest, reminder, "
                                 "webhook, ...) and outcome: sent, retried (an attempt failed, "
                                 "another follows) or failed (given up).",
                                 ["kind", "outcome"], registry=r)
        self._lease = Gauge("gateway_lease_expiry_timestamp_seconds",
                            "When this daemon's lease on its claims runs out (Unix time).",
                            registry=r)

    def serve(self, port: int, address: str) -> None:
        """Serve ``/metrics`` on a background thread."""
        start_http_server(port, address, registry=self.registry)

    def taken(self) -> None:
        self._taken.inc()
        self._last_take.set(time.time())

    def receipt(self, family: str | None, status: str) -> None:
        self._receipts.labels(family or NO_FAMILY, status).inc()

    def validated(self, seconds: float) -> None:
        self._validation.observe(seconds)

    def worker_restarted(self) -> None:
        self._restarts.inc()

    def ledger_operation(self, operation: str, seconds: float) -> None:
        self._ledger.labels(operation).observe(seconds)

    def queue(self, in_hand: int) -> None:
        self._queue.set(in_hand)

    def waiting(self, entries: int) -> None:
        self._waiting.set(entries)

    def oldest_unanswered(self, seconds: float) -> None:
        self._oldest.set(max(0.0, seconds))

    def intake_healthy(self, healthy: bool) -> None:
        self._intake.set(1 if healthy else 0)

    def submitter_blocked(self, submitter: str, blocked: bool) -> None:
        self._blocked.labels(submitter).set(1 if blocked else 0)

    def registry_refused(self, refused: bool) -> None:
        self._registry_fallback.set(1 if refused else 0)

    def interruption_signal_missing(self, submitters: int) -> None:
        self._no_signal.set(submitters)

    def notified(self, kind: str, outcome: str) -> None:
        self._notified.labels(kind, outcome).inc()

    def lease(self, until: float) -> None:
        self._lease.set(until)
