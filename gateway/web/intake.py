"""Uploads and checks as the pages and the API both take them."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request

from gateway.web.auth import Principal, Refusal, check_csrf
from gateway.web.checks import CheckResult, run_check
from gateway.web.site import Site, now_text
from gateway.web.uploads import Received, UploadRefused, place, receive

CHECK_FOLDER = "web-checks"

if TYPE_CHECKING:
    from gateway.web.console import Console


def _refuse(err: UploadRefused) -> Refusal:
    return Refusal(err.status, err.code, err.message)


def _csrf_gate(principal: Principal, header: str | None, from_form: bool
               ) -> Callable[[dict[str, str]], None]:
    """Checks the CSRF token before a byte of the file is written: from the header (API) or
    from the form field sent ahead of the file (pages)."""
    def gate(fields: dict[str, str]) -> None:
        check_csrf(principal, fields.get("csrf_token") if from_form else header)
    return gate


async def _receive(site: Site, request: Request, principal: Principal, folder: Path,
                   from_form: bool) -> Received:
    try:
        return await receive(request.stream(), dict(request.headers), folder,
                             site.max_upload_bytes,
                             _csrf_gate(principal, request.headers.get("x-csrf-token"),
                                        from_form))
    except UploadRefused as err:
        raise _refuse(err) from None


async def take_upload(console: Console, request: Request, principal: Principal,
                      from_form: bool) -> tuple[str, str]:
    """Put the sent file into the submitter's ``upload/`` folder; returns (upload id, name)."""
    site: Site = console.site
    submitter = principal.submitter
    assert submitter is not None
    folder = site.upload_folder(submitter)
    if not folder.is_dir():
        raise Refusal(404, "not_found", "Your upload folder does not exist yet; ask the "
                                        "program's operators.")
    received = await _receive(site, request, principal, folder, from_form)
    created = now_text()
    try:
        place(received, folder)
    except UploadRefused as err:
        raise _refuse(err) from None
    upload_id = secrets.token_hex(12)
    console.accounts.record_upload(upload_id, submitter, received.name, principal.name, created)
    console.audit(request, principal, "upload", submitter=submitter,
                  detail=f"upload {upload_id}: {received.name} ({received.size} bytes)")
    return upload_id, received.name


async def take_check(console: Console, request: Request, principal: Principal,
                     from_form: bool, submitter: str) -> tuple[CheckResult, str]:
    """Run a check on the sent file in a private temporary folder removed afterwards."""
    site: Site = console.site
    base = site.config.state / CHECK_FOLDER
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=base))
    try:
        received = await _receive(site, request, principal, folder, from_form)
        copy = folder / "file"
        received.path.rename(copy)
        result = await anyio.to_thread.run_sync(run_check, site, copy, received.name, submitter)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    console.audit(request, principal, "check", submitter=submitter,
                  detail=f"checked {received.name} ({received.size} bytes): "
                         f"{result.receipt['status']}")
    return result, received.name
