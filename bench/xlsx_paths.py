"""The two workbook readers side by side: fastexcel's Arrow columns against python-calamine.

    python -m bench.xlsx_paths                       # every .xlsx of the repository, bench/data
                                                     # and the generated edge cases
    python -m pytest -p bench.xlsx_paths tests/...   # every workbook a test opens, too
                                                     # (XLSX_PATHS_KEEP=DIR keeps those that
                                                     # differ)
    python -m bench.xlsx_paths --time FILE [ROUNDS]  # CPU seconds of validate_file, both
                                                     # readers interleaved in a warm process
    python -m bench.xlsx_paths --peak FILE READER    # one validation's peak RSS (READER:
                                                     # fastexcel or python-calamine)
    python -m bench.xlsx_paths --split FILE [ROUNDS] # CPU seconds of the ZIP pre-pass, the
                                                     # sheet's reading and the rest, warm

Each workbook is opened both ways (``XlsxDocument(..., arrow=False)`` is python-calamine only)
and everything the gateway sees of it is compared: header, letters, the sample, every batch's
texts, row numbers and notes, or the rejection's findings. A difference fails the run.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.readers.workbook_cases import CASES, same_outcome

ROOT = Path(__file__).resolve().parents[1]


def repository_workbooks() -> list[Path]:
    """The workbooks git tracks (examples, test data) and those the benchmark generated."""
    listed = subprocess.run(["git", "ls-files", "*.xlsx", "*.XLSX"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    return [ROOT / name for name in listed] + sorted((ROOT / "bench" / "data").glob("*.xlsx"))


def timed(path: Path, rounds: int) -> None:
    """CPU seconds of ``validate_file`` on ``path`` in one warm process, python-calamine and
    fastexcel interleaved (a first validation of each warms the imports up, unmeasured)."""
    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.readers import tables, workbook_columns

    default_plugins()
    readers = {"python-calamine": lambda path, **_: None,
               "fastexcel": workbook_columns.read_sheet_columns}
    for reader in readers.values():
        tables.read_sheet_columns = reader
        validate_file(path, submitter="bench")
    for round_ in range(1, rounds + 1):
        for name, reader in readers.items():
            tables.read_sheet_columns = reader
            started = time.process_time()
            receipt = validate_file(path, submitter="bench")
            seconds = time.process_time() - started
            print(f"round {round_} {name:<16} {seconds:6.2f} s CPU  {receipt.records:,} records "
                  f"{receipt.status.value}  load {os.getloadavg()[0]:.1f}", flush=True)


def split(path: Path, rounds: int) -> None:
    """CPU seconds of ``validate_file`` on ``path`` in a warm process (imports and a first
    validation unmeasured), split into the ZIP pre-pass, fastexcel's reading and the rest."""
    import importlib

    from gateway.engine.pipeline import JUDGING_IMPORTS, default_plugins, validate_file
    from gateway.readers import tables, upload, workbook_columns, zipcheck

    default_plugins()
    for module in JUDGING_IMPORTS:
        importlib.import_module(module)
    validate_file(path, submitter="bench")
    spent: dict[str, float] = {}

    def timed(name: str, function):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started
        return call

    upload.check_workbook_archive = timed("zip pre-pass", zipcheck.check_workbook_archive)
    tables.read_sheet_columns = timed("sheet", workbook_columns.read_sheet_columns)
    for _ in range(rounds):
        spent.clear()
        started = time.process_time()
        validate_file(path, submitter="bench")
        total = time.process_time() - started
        parts = "  ".join(f"{name} {seconds:.2f}" for name, seconds in spent.items())
        print(f"validate_file {total:.2f} s CPU  {parts}  rest {total - sum(spent.values()):.2f}"
              f"  load {os.getloadavg()[0]:.1f}", flush=True)


def peak(path: Path, reader: str) -> None:
    """One validation in this process with one reader; its peak RSS."""
    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.readers import tables

    default_plugins()
    if reader == "python-calamine":
        tables.read_sheet_columns = lambda path, **_: None
    started = time.process_time()
    receipt = validate_file(path, submitter="bench")
    print(f"{reader:<16} {time.process_time() - started:6.2f} s CPU  {receipt.records:,} "
          f"records  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
          f"  load {os.getloadavg()[0]:.1f}")


def main() -> int:
    if sys.argv[1:2] == ["--time"]:
        timed(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
        return 0
    if sys.argv[1:2] == ["--split"]:
        split(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 6)
        return 0
    if sys.argv[1:2] == ["--peak"]:
        peak(Path(sys.argv[2]), sys.argv[3])
        return 0
    differing = 0
    with tempfile.TemporaryDirectory() as folder:
        cases = [(name, write(Path(folder) / f"{name}.xlsx")) for name, (write, _) in
                 CASES.items()]
        for name, path in [(str(p.relative_to(ROOT)), p) for p in repository_workbooks()] + cases:
            same, read_by, where = same_outcome(path)
            differing += not same
            print(f"{'same' if same else 'DIFFERENT (' + where + ')':<24} {read_by:<16} {name}")
    print(f"{differing} workbook(s) read differently")
    return 1 if differing else 0


# -- as a pytest plugin: compare every workbook a test opens ---------------------------------

_compared: list[tuple[str, bool, str, str]] = []


def pytest_configure(config: pytest.Config) -> None:
    from gateway.readers import tables

    original = tables.XlsxDocument.__init__
    busy = [False]

    def compared_init(self: object, path: Path, limits: object, *, arrow: bool = True,
                      **given: object) -> None:
        if arrow and not busy[0]:
            busy[0] = True
            try:
                same, read_by, where = same_outcome(Path(path))
                _compared.append((Path(path).name, same, read_by, where))
                keep = os.environ.get("XLSX_PATHS_KEEP")  # a folder for differing workbooks
                if keep and not same:
                    Path(keep).mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, Path(keep) / f"{len(_compared)}-{Path(path).name}.xlsx")
            finally:
                busy[0] = False
        original(self, path, limits, arrow=arrow, **given)

    tables.XlsxDocument.__init__ = compared_init  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: object) -> None:
    different = [c for c in _compared if not c[1]]
    fast = sum(1 for c in _compared if c[2] == "fastexcel")
    terminalreporter.write_line(  # type: ignore[attr-defined]
        f"xlsx_paths: {len(_compared)} workbook openings compared, {fast} read by fastexcel, "
        f"{len(different)} different")
    for name, _, read_by, where in different:
        terminalreporter.write_line(f"  DIFFERENT ({where}) {read_by} {name}")  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if any(not c[1] for c in _compared):
        session.exitstatus = 1


if __name__ == "__main__":
    sys.exit(main())
