"""Fuzzing the readers, alone and through the whole pipeline: random bytes and mutated valid
files never raise out of ``validate_file``, never hit the gateway's own failure
(``E-PROCESSING-FAILED`` is a bug), and always give a receipt that is valid against the receipt
schema; the readers themselves raise nothing but ``FileProblem`` (so a failure shows its
traceback).

Seeds are the valid example files every family ships. Bounded for CI as the differential tests
are: derandomised (the same examples every run), a fixed number of them, no database and no
shrinking phase; a failure prints its example and the code location the pipeline logged.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from gateway.engine.pipeline import validate_file
from gateway.readers.limits import Limits
from gateway.readers.problems import FileProblem
from gateway.readers.tables import TableDocument
from gateway.readers.upload import inspect_upload, open_document
from gateway.receipts.schema import receipt_errors
from tests.support.paths import shipped

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p for p in shipped("**/examples/**/valid/*") if p.suffix in (".csv", ".xlsx", ".xml")]
TEXT_SEEDS = [p for p in SEEDS if p.suffix != ".xlsx"]
WORKBOOK_SEEDS = [p for p in SEEDS if p.suffix == ".xlsx"]
NAMES = ["upload.csv", "upload.xlsx", "upload.xml", "upload.txt", "upload"]
# Bytes that matter to one of the formats: quoting, separators, line ends, markup, entities,
# encodings, NUL, a BOM, a ZIP and an OLE signature.
TOKENS = [b'"', b",", b"\n", b"\r", b"\r\n", b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&x;",
          b"<!DOCTYPE x>", b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<?xml ", b"\x00", b"\xff",
          b"\xef\xbb\xbf", b"\xc3", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b" " * 40, b"9" * 30,
          b"2015", b"-1", b"1e308", b"NaN", b"=cmd|' /C calc'!A0", b"\t", b";"]

BOUNDED = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                   phases=(Phase.explicit, Phase.generate),
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _mutate(data: bytes, draw: st.DataObject) -> bytes:
    """One to six edits: flip, insert a token or random bytes, delete, duplicate, truncate."""
    out = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 6), label="edits")):
        at = draw.draw(st.integers(0, len(out)), label="at")
        kind = draw.draw(st.sampled_from(["flip", "token", "bytes", "delete", "repeat", "cut"]))
        if kind == "flip" and at < len(out):
            out[at] ^= 1 << draw.draw(st.integers(0, 7))
        elif kind == "token":
            out[at:at] = draw.draw(st.sampled_from(TOKENS))
        elif kind == "bytes":
            out[at:at] = draw.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del out[at:at + draw.draw(st.integers(1, 64))]
        elif kind == "repeat":
            out[at:at] = out[at:at + draw.draw(st.integers(1, 256))] * \
                draw.draw(st.integers(2, 20))
        elif kind == "cut":
            del out[at:]
    return bytes(out)


def _mutated_workbook(seed: Path, draw: st.DataObject) -> bytes:
    """The workbook with one XML part mutated and the archive rebuilt (the realistic case: a
    readable ZIP whose content is wrong), or with its raw ZIP bytes mutated."""
    data = seed.read_bytes()
    if draw.draw(st.booleans(), label="raw zip"):
        return _mutate(data, draw)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    target = draw.draw(st.sampled_from([name for name, _ in members]), label="part")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in members:
            archive.writestr(name, _mutate(part, draw) if name == target else part)
    return out.getvalue()


def _judge(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spool-copy"
        path.write_bytes(data)
        with capture_logs() as logs:
            receipt = validate_file(path, submitter="fuzz", display_name=name).as_dict()
    failures = [entry for entry in logs if entry.get("event") == "pipeline_failed"]
    assert not failures, failures
    codes = [finding["code"] for finding in receipt["findings"]]
    assert "E-PROCESSING-FAILED" not in codes
    assert receipt_errors(receipt) == []


def test_the_seeds_cover_every_format() -> None:
    assert {p.suffix for p in SEEDS} == {".csv", ".xlsx", ".xml"}


@BOUNDED
@given(data=st.binary(max_size=4096), name=st.sampled_from(NAMES))
@example(data=b'"V', name="upload.txt")  # a header whose quote never closes (found by fuzzing)
def test_random_bytes_get_a_valid_receipt(data: bytes, name: str) -> None:
    _judge(data, name)


@settings(BOUNDED, max_examples=250)
@given(st.data())
def test_mutated_text_files_get_a_valid_receipt(draw: st.DataObject) -> None:
    seed = draw.draw(st.sampled_from(TEXT_SEEDS), label="seed")
    name = draw.draw(st.sampled_from([seed.name, *NAMES]), label="name")
    _judge(_mutate(seed.read_bytes(), draw), name)


@settings(BOUNDED, max_examples=120)
@given(st.data())
def test_mutated_workbooks_get_a_valid_receipt(draw: st.DataObject) -> None:
    seed = draw.draw(st.sampled_from(WORKBOOK_SEEDS), label="seed")
    _judge(_mutated_workbook(seed, draw), draw.draw(st.sampled_from([seed.name, *NAMES])))


@settings(BOUNDED, max_examples=150)
@given(st.data())
def test_readers_raise_only_file_problems(draw: st.DataObject) -> None:
    seed = draw.draw(st.sampled_from(SEEDS), label="seed")
    data = _mutated_workbook(seed, draw) if seed.suffix == ".xlsx" else \
        _mutate(seed.read_bytes(), draw)
    name = draw.draw(st.sampled_from([seed.name, *NAMES]), label="name")
    limits = Limits(batch_rows=7)  # many small batches: more batch boundaries to cross
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spool-copy"
        path.write_bytes(data)
        try:
            document = open_document(path, name, inspect_upload(path, limits), limits)
            document.sample()
            if isinstance(document, TableDocument):
                for _batch in document.batches(limits.batch_rows):
                    pass
        except FileProblem:
            pass
