"""The pages everyone signed in uses: sign-in and out, submissions and one submission with its
downloads, and a submitter's upload, check, obligations, tokens and contacts."""

from __future__ import annotations

import mimetypes
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.submitters.compliance import DONE
from gateway.web import queries
from gateway.web.auth import LOGIN_COOKIE, Refusal, check_csrf, new_login_token, not_found, same
from gateway.web.intake import take_check, take_upload
from gateway.web.lookups import submission_for, upload_for
from gateway.web.notices import contacts_shown, webhooks_shown
from gateway.web.receipt_files import (
    annotated_path,
    grouped_findings,
    original_path,
    read_receipt,
    read_text_receipt,
    receipt_json_path,
    receipt_text_path,
    results_text,
)
from gateway.web.site import RegistryError

SIGN_IN_REFUSED = "The user name or password is not right, or the account may not sign in now."

if TYPE_CHECKING:
    from gateway.web.console import Console


def attachment(path: Path, name: str | None = None) -> Response:
    """A download: always an attachment, never shown inline."""
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, filename=name or path.name,
                        content_disposition_type="attachment")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") \
        and "\\" not in target else "/"


def routes(console: Console) -> list[Route]:
    async def home(request: Request) -> Response:
        principal = console.identify(request)
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        return console.redirect(request, "/overview" if principal.account.is_operator
                                else "/submissions")

    async def login_page(request: Request) -> Response:
        token = new_login_token()
        response = console.render(request, "login.html", None, login_token=token,
                                  next=_safe_next(request.query_params.get("next")))
        console.set_login_cookie(response, token)
        return response

    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        if not same(str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_COOKIE)):
            raise Refusal(403, "csrf", "The sign-in form was out of date or not sent from this "
                                       "site; reload the page and sign in again.")
        name = str(form.get("username") or "")
        account = console.accounts.sign_in(name, str(form.get("password") or ""))
        if account is None:
            console.accounts.audit("sign_in_refused", None, detail=None,
                                   address=request.client.host if request.client else None)
            token = new_login_token()
            response = console.render(request, "login.html", None, status=400,
                                      login_token=token, error=SIGN_IN_REFUSED,
                                      next=_safe_next(str(form.get("next") or "")))
            console.set_login_cookie(response, token)
            return response
        cookie, _ = console.accounts.start_session(account)
        console.accounts.audit("sign_in", account.name, submitter=account.submitter,
                               address=request.client.host if request.client else None)
        response = RedirectResponse(_safe_next(str(form.get("next") or "")), status_code=303)
        console.set_session_cookie(response, cookie)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout(request: Request) -> Response:
        principal = console.require(request)
        form = await request.form(max_files=0, max_fields=5)
        check_csrf(principal, str(form.get("csrf_token") or ""))
        if principal.session is not None:
            console.accounts.end_session(principal.session.key)
        console.audit(request, principal, "sign_out")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie("gateway_session", path="/")
        return response

    async def submissions(request: Request) -> Response:
        principal = console.require(request)
        try:
            filters = queries.parse_filters(dict(request.query_params), principal.submitter)
        except queries.BadFilter as err:
            raise Refusal(400, "bad_request", str(err)) from None
        rows, cursor = queries.page(console.site.engine, filters,
                                    request.query_params.get("cursor"),
                                    console.site.config.timezone)
        more = None if cursor is None else "?" + urlencode(
            {**filters.query_items(), "cursor": cursor})
        return console.render(request, "submissions.html", principal, rows=rows,
                              filters=filters, next_page=more, statuses=queries.STATUSES,
                              route_parts=queries.route_parts)

    async def submission(request: Request) -> Response:
        principal = console.require(request)
        row = submission_for(console.site, principal, request.path_params["submission_id"])
        receipt = read_receipt(console.site, row)
        console.audit(request, principal, "view", submitter=row.submitter,
                      submission_id=row.submission_id)
        return console.render(
            request, "submission.html", principal, row=row, receipt=receipt,
            groups=grouped_findings(receipt) if receipt else [],
            has_text=receipt_text_path(console.site, row) is not None,
            results_text=results_text(read_text_receipt(console.site, row)),
            has_annotated=annotated_path(console.site, row) is not None,
            has_original=principal.account.is_operator
            and original_path(console.site, row) is not None,
            parts=queries.route_parts(row))

    def _download(kind: str):
        async def download(request: Request) -> Response:
            principal = console.require(request)
            row = submission_for(console.site, principal, request.path_params["submission_id"])
            finder = {"receipt.json": receipt_json_path, "receipt.txt": receipt_text_path,
                      "annotated": annotated_path, "original": original_path}[kind]
            if kind == "original" and not principal.account.is_operator:
                raise not_found()
            path = finder(console.site, row)
            if path is None:
                raise not_found()
            console.audit(request, principal, "download", submitter=row.submitter,
                          submission_id=row.submission_id, detail=kind)
            name = f"{row.submission_id}.{row.name}" if kind == "original" else path.name
            return attachment(path, name)
        return download

    async def upload_page(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        return console.render(request, "upload.html", principal,
                              cap=console.site.max_upload_bytes)

    async def upload(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        upload_id, _ = await take_upload(console, request, principal, from_form=True)
        return console.redirect(request, f"/uploads/{upload_id}")

    async def upload_status(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        upload = upload_for(console.accounts, principal, request.path_params["upload_id"])
        answer = queries.answer_to_upload(console.site.engine, upload["submitter"],
                                          upload["name"], upload["created_at"])
        return console.render(request, "upload_status.html", principal, upload=upload,
                              answer=answer)

    async def check_page(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        return console.render(request, "check.html", principal, result=None,
                              cap=console.site.max_upload_bytes)

    async def check(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        assert principal.submitter is not None
        result, name = await take_check(console, request, principal, True, principal.submitter)
        check_id = console.checks.keep(principal.name, result) if result.annotated else None
        return console.render(request, "check.html", principal, result=result, name=name,
                              check_id=check_id, groups=grouped_findings(result.receipt),
                              results_text=results_text(result.text),
                              cap=console.site.max_upload_bytes)

    async def check_annotated(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        result = console.checks.get(principal.name, request.path_params["check_id"])
        if result is None or result.annotated is None:
            raise not_found()
        return Response(result.annotated, media_type="application/octet-stream", headers={
            "content-disposition": f'attachment; filename="{result.annotated_name}"'})

    async def obligations(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        site = console.site
        year = _year(request, site.today().year)
        lines = await run_in_threadpool(_compliance, site, [year], principal.submitter)
        today = site.today()
        coming = await run_in_threadpool(
            _compliance, site, sorted({today.year, (today + timedelta(days=120)).year}),
            principal.submitter)
        upcoming = sorted((line for line in coming
            if line.owed.obligation.required and line.owed.obligation.due >= today
            and line.status not in DONE),
            key=lambda line: line.owed.obligation.due)[:10]
        return console.render(request, "obligations.html", principal, year=year,
                              lines=lines, upcoming=upcoming)

    async def tokens(request: Request) -> Response:
        principal = console.require(request)
        return console.render(request, "tokens.html", principal, new_token=None,
                              tokens=console.accounts.tokens(principal.name))

    async def create_token(request: Request) -> Response:
        principal = console.require(request)
        form = await request.form(max_files=0, max_fields=5)
        check_csrf(principal, str(form.get("csrf_token") or ""))
        label = str(form.get("label") or "").strip()[:100] or "token"
        token_id, token = console.accounts.create_token(principal.account, label)
        console.audit(request, principal, "token_created", detail=f"token {token_id}")
        return console.render(request, "tokens.html", principal, new_token=token,
                              tokens=console.accounts.tokens(principal.name))

    async def revoke_token(request: Request) -> Response:
        principal = console.require(request)
        form = await request.form(max_files=0, max_fields=5)
        check_csrf(principal, str(form.get("csrf_token") or ""))
        token_id = request.path_params["token_id"]
        if not console.accounts.revoke_token(principal.name, token_id):
            raise not_found()
        console.audit(request, principal, "token_revoked", detail=f"token {token_id}")
        return console.redirect(request, "/tokens")

    async def contacts(request: Request) -> Response:
        principal = console.require(request, submitter=True)
        assert principal.submitter is not None
        try:
            registry = console.site.registry()
        except RegistryError:
            registry = None
        entry = registry.get(principal.submitter) if registry is not None else None
        return console.render(request, "contacts.html", principal, entry=entry,
                              contacts=contacts_shown(registry, principal.submitter),
                              webhooks=webhooks_shown(registry, principal.submitter),
                              mail_on=console.site.config.smtp_url is not None)

    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/submissions", submissions),
        Route("/submissions/{submission_id}", submission),
        *(Route(f"/submissions/{{submission_id}}/{kind}", _download(kind))
          for kind in ("receipt.json", "receipt.txt", "annotated", "original")),
        Route("/upload", upload_page, methods=["GET"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/uploads/{upload_id}", upload_status),
        Route("/check", check_page, methods=["GET"]),
        Route("/check", check, methods=["POST"]),
        Route("/check/{check_id}/annotated", check_annotated),
        Route("/obligations", obligations),
        Route("/tokens", tokens, methods=["GET"]),
        Route("/tokens", create_token, methods=["POST"]),
        Route("/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
        Route("/contacts", contacts),
    ]


def _year(request: Request, default: int) -> int:
    text = request.query_params.get("year")
    if not text:
        return default
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise Refusal(400, "bad_request", "year must be a year, e.g. 2015")
    return int(text)


def _compliance(site: Any, years: list[int], submitter: str | None) -> list:
    try:
        return site.compliance(years, submitter)
    except RegistryError:
        return []
