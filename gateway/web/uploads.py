"""Files sent through the console, streamed to disk and never held whole in memory.

The body is parsed as it arrives. Small form fields (the CSRF token) are kept in memory up to
a few kilobytes; the one file part is written to a hidden temporary name in the target folder
(a dot file, which the daemon never takes) and counted: past the cap the upload is refused and
the partial file removed, so no more than the cap ever reaches the disk. A finished file is
linked to its own name (a name already there is never overwritten) and the temporary name
removed; the daemon then sees an ordinary upload and settles it as it settles any other.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from gateway.web.site import is_temporary, is_valid_upload_name

FIELD_LIMIT = 4096  # bytes of a form field that is not the file
ENVELOPE = 64 * 1024  # multipart framing and fields allowed on top of the file cap
FILE_FIELD = "file"
NAME_RULE = ("the file name may use only letters, digits, '.', '-' and '_', must not start with "
             "'.', and is at most 200 characters long (README section 1)")


class UploadRefused(Exception):
    """The upload is refused; ``status`` is the HTTP status, the message safe to show."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Received:
    """A file that arrived whole: its name as sent and the hidden temporary path it is in."""

    name: str
    path: Path
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def check_file_name(name: str) -> None:
    """README section 1's rule; a name with a path in it is refused, never cut to its last
    part (that would file it under a name the sender did not choose)."""
    if "/" in name or "\\" in name:
        raise UploadRefused(400, "bad_file_name", "the file name has a path in it; send the "
                                                  "file under its own name: " + NAME_RULE)
    if not is_valid_upload_name(name) or is_temporary(name):
        raise UploadRefused(400, "bad_file_name", NAME_RULE)


def declared_too_large(headers: dict[str, str], cap: int) -> bool:
    """True when the declared length already says the file is over the cap."""
    length = headers.get("content-length")
    return bool(length and length.isdigit() and int(length) > cap + ENVELOPE)


class _Parser:
    """Callbacks of the streaming multipart parser: fields to memory, the file to ``folder``."""

    def __init__(self, folder: Path, cap: int, before_file: Callable[[dict[str, str]], None]
                 ) -> None:
        self.folder, self.cap, self.before_file = folder, cap, before_file
        self.fields: dict[str, str] = {}
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part_name: str | None = None
        self.buffer = bytearray()
        self.file: Received | None = None
        self.handle: int | None = None
        self.in_file = False

    def on_part_begin(self) -> None:
        self.headers, self.buffer, self.in_file = {}, bytearray(), False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part_name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self.part_name != FILE_FIELD:
            return
        if self.file is not None:
            raise UploadRefused(400, "bad_request", "send one file at a time")
        if filename is None:
            raise UploadRefused(400, "bad_request", "the field 'file' must carry a file")
        name = filename.decode("utf-8", "replace")
        if not name:
            raise UploadRefused(400, "bad_request", "choose a file to send")
        check_file_name(name)
        self.before_file(self.fields)
        temp = self.folder / f".web-{secrets.token_hex(8)}.part"
        self.handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                              0o640)
        self.file = Received(name=name, path=temp, size=0)
        self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            assert self.file is not None and self.handle is not None
            self.file.size += end - start
            if self.file.size > self.cap:
                raise UploadRefused(413, "too_large", f"the file is larger than the upload "
                                                      f"limit of {self.cap:,} bytes")
            view = memoryview(data)[start:end]
            while view:
                written = os.write(self.handle, view)
                view = view[written:]
            return
        self.buffer += data[start:end]
        if len(self.buffer) > FIELD_LIMIT:
            raise UploadRefused(400, "bad_request", "a form field is too long")

    def on_part_end(self) -> None:
        if self.in_file:
            assert self.handle is not None
            os.fsync(self.handle)
            os.close(self.handle)
            self.handle = None
            self.in_file = False
        elif self.part_name:
            self.fields[self.part_name] = self.buffer.decode("utf-8", "replace")

    def close(self) -> None:
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None


async def receive(stream: AsyncIterator[bytes], headers: dict[str, str], folder: Path,
                  cap: int, before_file: Callable[[dict[str, str]], None]) -> Received:
    """Stream a multipart body with one ``file`` field into ``folder`` under a hidden name.
    ``before_file`` sees the fields sent before the file (the CSRF token of a form) and may
    raise to refuse before any byte of the file is written."""
    kind, options = parse_options_header(headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, "bad_request", "send the file as multipart/form-data")
    if declared_too_large(headers, cap):
        raise UploadRefused(413, "too_large", f"the file is larger than the upload limit of "
                                              f"{cap:,} bytes")
    state = _Parser(folder, cap, before_file)
    callbacks = {name: getattr(state, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished", "on_part_data", "on_part_end")}
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    total = 0
    try:
        async for chunk in stream:
            total += len(chunk)
            if total > cap + ENVELOPE:
                raise UploadRefused(413, "too_large", f"the file is larger than the upload "
                                                      f"limit of {cap:,} bytes")
            parser.write(chunk)
        parser.finalize()
        if state.handle is not None or state.file is None:
            raise UploadRefused(400, "bad_request", "the form must carry the file in the field "
                                                    "'file'")
    except BaseException:
        state.close()
        if state.file is not None:
            state.file.discard()
        raise
    state.file.fields = state.fields
    return state.file


def place(received: Received, folder: Path) -> Path:
    """Give the finished file its own name in ``folder``; a name already waiting there is not
    overwritten (409)."""
    target = folder / received.name
    try:
        os.link(received.path, target)
    except FileExistsError:
        raise UploadRefused(409, "exists", "a file of this name is already waiting to be taken; "
                                           "wait for its receipt or send it under another "
                                           "name") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            received.path.unlink()
    return target
