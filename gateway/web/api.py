"""The JSON API (``/api/v1/``) for vendors and scripts: a bearer token or a session (whose
POSTs carry the CSRF token in ``X-CSRF-Token``). Errors are ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.web import queries
from gateway.web.auth import Refusal, not_found
from gateway.web.intake import take_check, take_upload
from gateway.web.lookups import submission_for, upload_for
from gateway.web.openapi import DESCRIPTION
from gateway.web.pages import attachment
from gateway.web.receipt_files import annotated_path, receipt_json_path, receipt_text_path
from gateway.web.site import RegistryError

if TYPE_CHECKING:
    from gateway.web.console import Console


def routes(console: Console) -> list[Route]:
    site = console.site

    async def list_submissions(request: Request) -> Response:
        principal = console.require(request)
        params = dict(request.query_params)
        if principal.submitter is not None and params.get("submitter") not in (
                None, "", principal.submitter):
            return JSONResponse({"items": [], "next_cursor": None})
        try:
            filters = queries.parse_filters(params, principal.submitter)
            rows, cursor = queries.page(site.engine, filters, params.get("cursor"),
                                        site.config.timezone)
        except queries.BadFilter as err:
            raise Refusal(400, "bad_request", str(err)) from None
        return JSONResponse({"items": [queries.api_item(row) for row in rows],
                             "next_cursor": cursor})

    async def receipt(request: Request) -> Response:
        principal = console.require(request)
        row = submission_for(site, principal, request.path_params["submission_id"])
        path = receipt_json_path(site, row)
        if path is None:
            raise Refusal(404, "not_found", "There is no receipt yet for this submission.")
        console.audit(request, principal, "view", submitter=row.submitter,
                      submission_id=row.submission_id, detail="api")
        return Response(path.read_bytes(), media_type="application/json")

    def _file(kind: str):
        async def download(request: Request) -> Response:
            principal = console.require(request)
            row = submission_for(site, principal, request.path_params["submission_id"])
            path = (receipt_text_path if kind == "receipt.txt" else annotated_path)(site, row)
            if path is None:
                raise not_found()
            console.audit(request, principal, "download", submitter=row.submitter,
                          submission_id=row.submission_id, detail=f"{kind} (api)")
            return attachment(path)
        return download

    async def upload(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        upload_id, _ = await take_upload(console, request, principal, from_form=False)
        return JSONResponse({"upload_id": upload_id}, status_code=202)

    async def upload_state(request: Request) -> Response:
        principal = console.require(request)
        found = upload_for(console.accounts, principal, request.path_params["upload_id"])
        answer = queries.answer_to_upload(site.engine, found["submitter"], found["name"],
                                          found["created_at"])
        return JSONResponse({"upload_id": found["upload_id"],
                             "state": "answered" if answer else "waiting",
                             "submission_id": answer.submission_id if answer else None})

    async def check(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        assert principal.submitter is not None
        result, _ = await take_check(console, request, principal, False, principal.submitter)
        return JSONResponse(result.receipt)

    async def obligations(request: Request) -> Response:
        principal = console.require(request)
        text = request.query_params.get("year") or str(site.today().year)
        if not text.isdigit() or not 2000 <= int(text) <= 2100:
            raise Refusal(400, "bad_request", "year must be a year, e.g. 2015")
        asked = request.query_params.get("submitter") or None
        submitter = principal.submitter or asked
        if principal.submitter is not None and asked not in (None, principal.submitter):
            return JSONResponse({"year": int(text), "items": []})
        try:
            lines = await run_in_threadpool(site.compliance, [int(text)], submitter)
        except RegistryError as err:
            raise Refusal(400, "bad_request", f"the registry is refused: {err}") from None
        return JSONResponse({"year": int(text), "items": [line.cells() for line in lines]})

    async def openapi(request: Request) -> Response:
        return JSONResponse(DESCRIPTION)

    return [
        Route("/submissions", list_submissions),
        Route("/submissions/{submission_id}", receipt),
        Route("/submissions/{submission_id}/receipt.txt", _file("receipt.txt")),
        Route("/submissions/{submission_id}/annotated", _file("annotated")),
        Route("/uploads", upload, methods=["POST"]),
        Route("/uploads/{upload_id}", upload_state),
        Route("/check", check, methods=["POST"]),
        Route("/obligations", obligations),
        Route("/openapi.json", openapi),
    ]
