"""Benchmark of the web console (issue 20): a page of the submissions list with each filter,
and the compliance matrix, on a ledger of 200,000 submissions and a registry of 2,000 clinics.

Run from the repository root: ``.venv/bin/python -m bench.web`` (``--submissions``,
``--submitters`` and ``--repeat`` to change the sizes; ``--postgres`` for a PostgreSQL ledger
on a throw-away local server). The site is generated in a temporary folder: ledger rows are
inserted in bulk (each answering one of its clinic's obligations, with the five transitions a
filed submission leaves), the console runs in-process (the whole ASGI stack, sessions and
template rendering; no network hop) and each request is timed on the wall clock. Then
``gateway web`` itself is started ``--starts`` times as a real process and the first
compliance page after it answers is timed over HTTP (sign-in first, as a person would), the
compliance report's warm-up at start included. Targets: list page p95 < 200 ms with any
filter; compliance matrix for 2,000 submitters < 1 s, every request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

LIST_TARGET_MS = 200.0
MATRIX_TARGET_S = 1.0
PASSWORD = "bench password 2026"


def npi(number: int) -> str:
    """A valid NPI (Luhn check digit over the 80840 prefix) for ``number``."""
    base = f"1{number:08d}"
    digits = [int(c) for c in "80840" + base]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return base + str((10 - total % 10) % 10)


FILED_STATES = ("claimed", "inspected", "validated", "receipt_written", "filed")


def build_site(root: Path, submissions: int, submitters: int,
               ledger_url: str | None = None) -> Path:
    import sqlalchemy as sa

    from gateway.site.ledger import Ledger
    from gateway.site.ledger.backends import create_engine, parse_location
    from gateway.site.ledger.migrate import upgrade
    from gateway.site.ledger.schema import submissions as table
    from gateway.site.ledger.schema import transitions

    (root / "inbox").mkdir(parents=True)
    config = root / "gateway.toml"
    # the bench's one client would soon be over the request rate limits: they are off here
    shared = f'[ledger]\nurl = "{ledger_url}"\n\n' if ledger_url else ""
    config.write_text('[logging]\nformat = "json"\nlevel = "warning"\n\n' + shared +
                      '[web]\nrate_per_account = 0\nrate_per_address = 0\n', encoding="utf-8")
    blocks = [f'\n[[submitter]]\nid = "clinic-{i:04d}"\nname = "Clinic {i}"\nkind = "clinic"\n'
              f'npi = ["{npi(i)}"]\nwell_child = true\nemr_since = 2010-01-01\n'
              for i in range(submitters)]
    (root / "registry.toml").write_text('registry_version = "1"\n' + "".join(blocks),
                                        encoding="utf-8")
    if ledger_url:  # a PostgreSQL ledger is migrated by `gateway ledger migrate`
        engine = create_engine(parse_location(ledger_url))
        upgrade(engine)
        engine.dispose()
    ledger = Ledger(ledger_url or root / "var" / "ledger.sqlite3")
    rng = random.Random(4654)
    start = datetime(2015, 1, 2, tzinfo=UTC)
    statuses = ("accepted", "accepted_with_warnings", "rejected")
    routes = ("mncm/ODC/patient/2015", "mncm/ODC/summary/2015", "mncm/AMH/summary/2015",
              "mncm/CRC/patient/2015", "hospital/CART/summary/2015")
    rows, steps = [], []
    for n in range(submissions):
        moment = start + timedelta(seconds=n * 150)
        submission_id = f"{moment:%Y%m%dT%H%M%S.%f}Z-{n:012x}"
        received = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = rng.choice(statuses)
        route = rng.choice(routes)
        family, measure, level, year = route.split("/")
        obligations = json.dumps([{"family": family, "measure": measure, "period": year,
                                   "level": level, "due": "2015-02-15", "timing": "on_time"}])
        rows.append({"submission_id": submission_id,
                     "submitter": f"clinic-{rng.randrange(submitters):04d}",
                     "upload_name": f"file-{n}.csv", "name": f"file-{n}.csv", "problem": None,
                     "state": "filed", "received_at": received, "bytes": 1000, "sha256": None,
                     "status": status, "layer": "record" if status == "rejected" else None,
                     "route": route, "records": 80, "errors": int(status == "rejected"),
                     "warnings": int(status == "accepted_with_warnings"), "failure": None,
                     "duplicate_of": None, "replaces": None, "receipt_path": None,
                     "stored_path": None, "updated_at": received, "owner": None,
                     "upload_key": None, "registry_entry": None, "obligations": obligations})
        for step, state in enumerate(FILED_STATES):  # what a daemon's work leaves behind
            at = (moment + timedelta(milliseconds=40 * step)).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
            steps.append({"submission_id": submission_id, "state": state, "at": at,
                          "daemon": "bench"})
    with ledger.engine.begin() as db:
        for chunk in range(0, len(rows), 20_000):
            db.execute(sa.insert(table), rows[chunk:chunk + 20_000])
        for chunk in range(0, len(steps), 50_000):
            db.execute(sa.insert(transitions), steps[chunk:chunk + 50_000])
    daemon_reads_registry(root / "registry.toml", ledger)
    if ledger_url:
        with ledger.engine.connect() as db:  # as autovacuum would, after a bulk load
            db.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    ledger.close()
    return config


def daemon_reads_registry(registry: Path, ledger) -> None:
    """What ``gateway serve`` does with the registry when it starts beside the console: it
    checks it and records in the ledger which text it put in force."""
    from gateway.submitters.keeper import RegistryKeeper

    RegistryKeeper(registry, required=True, on_change=lambda values: ledger.set_meta(**values),
                   ).start()


def forget_daemon_registry(ledger) -> None:
    """The ledger as if no daemon had ever loaded the registry (the console checks it all)."""
    ledger.set_meta(registry_state="", registry_digest="")


def timed(client, path: str, repeat: int) -> list[float]:
    client.get(path)  # warm: compiled templates, plugin load, first connection
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(path)
        out.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return out


def cold(client, path: str) -> float:
    """One request timed, without a warm-up before it."""
    began = time.perf_counter()
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return (time.perf_counter() - began) * 1000


def record_claim(site, n: int) -> None:
    """A new upload claimed, as a daemon records one: the ledger changed, so the compliance
    report must be made again (the way a new receipt would make it)."""
    from gateway.site.ledger import State, Submission, now_text

    site.ledger.add(Submission(submission_id=f"20261206T000000.000000Z-bench{n:07d}",
                               submitter="clinic-0001", upload_name=f"late-{n}.csv",
                               name=f"late-{n}.csv", state=State.CLAIMED,
                               received_at=now_text()))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in ms (Linux ``/proc``): on this
    shared machine the wall clock says as much about the other sessions as about us."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def first_after_start(config: Path, path: str, log: Path) -> tuple[float, ...]:
    """Start ``gateway web`` as a process, sign in as soon as it answers and ask for ``path``
    (a compliance page). Returns wall ms from the start until it answered a connection, of
    the sign-in and of the compliance request, then the server's CPU ms over the same three
    spans; the report's warm-up, started with the console, runs meanwhile, and the request
    waits for what it has not finished."""
    import httpx

    port = free_port()
    began = time.perf_counter()
    with log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "gateway", "web", "--config",
                                   str(config), "--port", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gateway web exited:\n{log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.02)
        ready = (time.perf_counter() - began) * 1000
        cpu_ready = cpu_ms(server.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            signing = time.perf_counter()
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get("/login").text).group(1)
            client.post("/login", data={"username": "olive", "password": PASSWORD,
                                        "csrf_token": token})
            signed = (time.perf_counter() - signing) * 1000
            cpu_signed = cpu_ms(server.pid)
            asked = time.perf_counter()
            answer = client.get(path)
            took = (time.perf_counter() - asked) * 1000
            cpu_took = cpu_ms(server.pid)
            assert answer.status_code == 200 and "/compliance.csv" in answer.text, (
                path, answer.status_code)
        return (ready, signed, took, cpu_ready, cpu_signed - cpu_ready,
                cpu_took - cpu_signed)
    finally:
        server.terminate()
        server.wait(30)


def stamp_times(site) -> None:
    """The compliance cache asks the ledger "changed?" on every request: the stamp it reads,
    against a count of every transition (what PostgreSQL's stamp was before migration 0007)."""
    import sqlalchemy as sa

    def median_ms(read, times: int) -> float:
        out = []
        for _ in range(times):
            began = time.perf_counter()
            read()
            out.append((time.perf_counter() - began) * 1000)
        return statistics.median(out)

    def count_all() -> None:
        with site.engine.connect() as db:
            db.execute(sa.text("SELECT count(*), max(at) FROM transitions")).one()

    print(f"ledger change stamp: {median_ms(site._ledger_stamp, 21):.2f} ms (median of 21); "
          f"a count of every transition: {median_ms(count_all, 5):.1f} ms (median of 5)")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--submitters", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--starts", type=int, default=2,
                        help="real `gateway web` starts per first-request case")
    parser.add_argument("--postgres", action="store_true",
                        help="the ledger on a throw-away local PostgreSQL server")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = None
        if args.postgres:
            from tests.support.postgres import temporary_cluster

            url = stack.enter_context(temporary_cluster(durable=True)).create_database()
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-web-"))
        verdicts = run(Path(folder), url, args)
    sys.exit(0 if all(verdicts) else 1)


def run(folder: Path, url: str | None, args: argparse.Namespace) -> list[bool]:
    from starlette.testclient import TestClient

    from gateway.web.accounts import Accounts
    from gateway.web.app import create_app
    from gateway.web.site import load_site

    began = time.perf_counter()
    config = build_site(folder, args.submissions, args.submitters, url)
    print(f"site: {args.submissions:,} submissions, {args.submitters:,} submitters, "
          f"{'PostgreSQL' if url else 'SQLite'} ledger "
          f"(built in {time.perf_counter() - began:.1f} s)")
    site = load_site(config)
    stamp_times(site)
    accounts = Accounts(site.engine)
    accounts.add("olive", "operator", None, PASSWORD)
    accounts.add("abby", "submitter", "clinic-0007", PASSWORD)
    from gateway.engine.pipeline import default_plugins

    default_plugins()  # as `gateway web` does before it listens
    app = create_app(site)
    clients = {}
    with ExitStack() as stack:
        for name in ("olive", "abby"):
            client = TestClient(app, follow_redirects=False)
            if name == "olive":  # the app's start (its warm-up) runs once, as in a server
                stack.enter_context(client)
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get("/login").text).group(1)
            client.post("/login", data={"username": name, "password": PASSWORD,
                                        "csrf_token": token})
            clients[name] = client
        cursor = clients["olive"].get("/api/v1/submissions").json()["next_cursor"]
        cases = [
            ("olive", "/submissions"),
            ("olive", "/submissions?status=rejected"),
            ("olive", "/submissions?family=hospital"),
            ("olive", "/submissions?submitter=clinic-0042"),
            ("olive", "/submissions?since=2015-06-01&until=2015-06-30"),
            ("olive", "/submissions?submitter=clinic-0042&status=accepted&family=mncm"),
            ("olive", "/submissions?measure=CRC&status=accepted_with_warnings"),
            ("olive", "/submissions?status=waiting"),
            ("olive", f"/api/v1/submissions?cursor={cursor}"),
            ("abby", "/submissions"),
            ("abby", "/submissions?status=rejected&family=mncm"),
            ("abby", "/api/v1/submissions?since=2015-03-01"),
        ]
        worst = 0.0
        print(f"{'page (list)':<66} {'p50 ms':>8} {'p95 ms':>8}")
        for who, path in cases:
            values = timed(clients[who], path, args.repeat)
            worst = max(worst, p95(values))
            print(f"{who + ' ' + path:<66} {statistics.median(values):8.1f} "
                  f"{p95(values):8.1f}")
        first = cold(clients["olive"], "/compliance?year=2015")
        matrix = timed(clients["olive"], "/compliance?year=2015", max(5, args.repeat // 8))
        csv_times = timed(clients["olive"], "/compliance.csv?year=2015",
                          max(5, args.repeat // 8))
        after = []  # the first matrix and CSV after the ledger changed (a claim recorded)
        for n in range(3):
            record_claim(site, n)
            after.append((cold(clients["olive"], "/compliance?year=2015"),
                          cold(clients["olive"], "/compliance.csv?year=2015")))
    site.ledger.close()
    print(f"{'olive /compliance?year=2015 first, after the list pages (in-process)':<66} "
          f"{first:8.1f}")
    for matrix_ms, csv_ms in after:
        print(f"{'olive first matrix / CSV after a new ledger row (cold)':<66} "
              f"{matrix_ms:8.1f} {csv_ms:8.1f}")
    print(f"{'olive /compliance?year=2015 (matrix)':<66} "
          f"{statistics.median(matrix):8.1f} {max(matrix):8.1f} (max)")
    print(f"{'olive /compliance.csv?year=2015':<66} "
          f"{statistics.median(csv_times):8.1f} {max(csv_times):8.1f} (max)")
    starts = []  # (case, ready ms, sign-in ms, first compliance page ms)
    cases = [("this year (the default; no obligations in the bench)", "/compliance"),
             ("2015", "/compliance?year=2015")]
    for _ in range(args.starts):
        for label, path in cases:
            starts.append((label, *first_after_start(config, path, folder / "web.log")))
    from gateway.site.ledger import Ledger

    ledger = Ledger(url or folder / "var" / "ledger.sqlite3")
    forget_daemon_registry(ledger)
    for _ in range(args.starts):
        starts.append(("2015, no daemon's check of the registry recorded",
                       *first_after_start(config, cases[1][1], folder / "web.log")))
    daemon_reads_registry(folder / "registry.toml", ledger)
    ledger.close()
    print(f"{'gateway web started, signed in, first matrix:':<54} {'ready ms':>9} "
          f"{'sign-in ms':>11} {'matrix ms':>10}   (server CPU ms: ready, sign-in, matrix)")
    for label, ready, signed, took, *cpu in starts:
        print(f"{'  ' + label:<54} {ready:9.0f} {signed:11.0f} {took:10.1f}   "
              f"({cpu[0]:.0f}, {cpu[1]:.0f}, {cpu[2]:.0f})")
    slowest = max([first, *matrix, *(m for m, _ in after), *(s[3] for s in starts)])
    verdict_list = worst < LIST_TARGET_MS
    verdict_matrix = slowest / 1000 < MATRIX_TARGET_S
    print(f"list page p95 (worst filter) {worst:.1f} ms, target < {LIST_TARGET_MS:.0f} ms: "
          f"{'met' if verdict_list else 'MISSED'}")
    print(f"compliance matrix, slowest of every request above (warm, cold after a change, "
          f"first after start) {slowest / 1000:.2f} s, target < {MATRIX_TARGET_S:.0f} s: "
          f"{'met' if verdict_matrix else 'MISSED'}")
    return [verdict_list, verdict_matrix]


if __name__ == "__main__":
    main()
