"""Hostile CSV: caps checked while the file streams past, named in the rejection, and memory
that does not grow with the bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import files
from tests.hostile.judge import judged, refusal, refused_in

HEADER, FIRST_ROW = files.CSV_VALID.read_text(encoding="utf-8").splitlines()[:2]


def test_a_200_mb_line_is_refused_at_the_line_cap_not_as_an_empty_file(tmp_path: Path) -> None:
    path = files.csv_long_line(tmp_path / "edtc.csv", 200)
    finding = refused_in(path, 50)
    assert finding["code"] == "E-FILE-LIMIT"
    assert finding["message"] == "Line 2 is longer than the 1 MiB a line may have."


def test_a_long_header_line_is_refused_at_the_line_cap(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "edtc.csv", [HEADER + "," + "h" * (2 * files.MIB), "\n",
                                                FIRST_ROW, "\n"])
    finding = refusal(judged(path))
    assert finding["message"] == "Line 1 is longer than the 1 MiB a line may have."


def test_a_1_mb_header_cell_names_the_cell_cap_not_no_header(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "edtc.csv", ["h" * 1_000_000 + "," + HEADER, "\n",
                                                FIRST_ROW, "\n"])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-LIMIT" and finding["cell"] == "A1"
    assert finding["message"] == ("Cell A1 of the header row is longer than the 5,000 "
                                  "characters a cell may have.")


def test_a_quote_never_closed_over_100_mb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = files.csv_open_quote(tmp_path / "edtc.csv", 100)
    finding = refused_in(path, 60)
    assert finding["code"] == "E-FILE-MALFORMED" and finding["line"] == 3
    assert finding["message"] == ("Line 3 (row 3): a quoted cell is not closed, or a '\"' stands "
                                  "inside a cell that is not quoted.")


@pytest.mark.parametrize("offset", [100_000, None], ids=["after-8-kib", "last-byte"])
def test_a_nul_byte_anywhere_is_refused_with_its_place(tmp_path: Path,
                                                       offset: int | None) -> None:
    rows = (FIRST_ROW + "\n") * 5_000  # ~400 KB
    data = bytearray((HEADER + "\n" + rows).encode())
    at = offset if offset is not None else len(data) - 1
    data[at] = 0
    path = files.stream(tmp_path / "edtc.csv", [bytes(data)])
    finding = refusal(judged(path))
    line = data[:at].count(b"\n") + 1
    assert finding["code"] == "E-FILE-FORMAT" and finding["line"] == line
    assert finding["message"] == (f"Byte {at:,} (line {line:,}) is a NUL byte, which text files "
                                  "never contain: the file is binary or damaged, not CSV or XML.")


def test_20000_columns_are_refused_at_the_column_cap(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(20_000))
    path = files.stream(tmp_path / "edtc.csv", [header, "\n", ",".join("1" * 20_000), "\n"])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-LIMIT"
    assert finding["message"] == "The header has 20000 columns; at most 200 are accepted."


def test_a_20000_cell_row_under_a_normal_header_is_named_by_its_line(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "edtc.csv", [HEADER, "\n", FIRST_ROW, "\n",
                                                ",".join("1" * 20_000), "\n"])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-MALFORMED" and "Line 3 (row 3) has 20000 cells" in \
        finding["message"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_csv_is_refused_as_utf16(tmp_path: Path, encoding: str) -> None:
    text = HEADER + "\r\n" + FIRST_ROW + "\r\n"
    path = files.stream(tmp_path / "edtc.csv", [text.encode(encoding)])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-ENCODING"
    assert finding["message"] == "The file is UTF-16 text; the gateway reads UTF-8."
    assert "CSV UTF-8" in finding["hint"]


def test_a_carriage_return_only_file_is_not_one_long_line(tmp_path: Path) -> None:
    """Old Mac line ends: CR alone breaks a line for the line cap, as for the CSV reader."""
    rows = (FIRST_ROW + "\r") * 20_000  # ~1.6 MB without a single LF
    path = files.stream(tmp_path / "edtc.csv", [HEADER + "\r" + rows])
    receipt = judged(path)
    assert receipt["layer"] != "file", receipt["findings"][:1]
