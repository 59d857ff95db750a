"""The OpenAPI 3.1 description of ``/api/v1/``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from gateway import __version__


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


_ID = {"name": "submission_id", "in": "path", "required": True, "schema": {"type": "string"}}
_FILE_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}}
_COMMON = {"401": _error("not signed in, or a bad token"),
           "404": _error("no such item, or not yours"),
           "429": _error("too many requests; the Retry-After header says when to come back")}

DESCRIPTION: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "sqrms-gateway API", "version": __version__,
             "description": "Submissions, receipts, uploads, checks and obligations of the "
                            "statewide quality reporting gateway. Authenticate with "
                            "`Authorization: Bearer TOKEN` (tokens are made on the console's "
                            "Tokens page or with `gateway user token`)."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}, {"session": []}],
    "paths": {
        "/submissions": {"get": {
            "summary": "Submissions, newest first, 50 a page",
            "parameters": [
                _query("status", "accepted, accepted_with_warnings, rejected or waiting"),
                _query("family", "measure family, e.g. mncm"),
                _query("measure", "measure id, e.g. ODC"),
                _query("since", "received on or after this day", {"type": "string",
                                                                  "format": "date"}),
                _query("submitter", "operators only: one submitter's"),
                _query("cursor", "next_cursor of the previous page")],
            "responses": {"200": {"description": "a page", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SubmissionPage"}}}},
                "400": _error("a bad filter"), **_COMMON}}},
        "/submissions/{submission_id}": {"get": {
            "summary": "The JSON receipt, exactly as written to receipts/",
            "parameters": [_ID],
            "responses": {"200": {"description": "the receipt (receipt-1 schema)",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}, **_COMMON}}},
        "/submissions/{submission_id}/receipt.txt": {"get": {
            "summary": "The text receipt", "parameters": [_ID],
            "responses": {"200": {"description": "text", "content": {"text/plain": {}}},
                          **_COMMON}}},
        "/submissions/{submission_id}/annotated": {"get": {
            "summary": "The annotated copy (404 when there is none)", "parameters": [_ID],
            "responses": {"200": {"description": "an .xlsx or a findings .csv",
                                  "content": {"application/octet-stream": {}}}, **_COMMON}}},
        "/uploads": {"post": {
            "summary": "Put a file into the submitter's upload/ folder; the daemon answers it",
            "requestBody": _FILE_BODY,
            "responses": {"202": {"description": "taken", "content": {"application/json": {
                "schema": {"type": "object", "required": ["upload_id"],
                           "properties": {"upload_id": {"type": "string"}}}}}},
                "400": _error("a bad file name"), "403": _error("not a submitter's account, "
                                                                "or no CSRF token"),
                "409": _error("a file of this name is already waiting"),
                "413": _error("over the upload limit"), "401": _COMMON["401"],
                "429": _COMMON["429"]}}},
        "/uploads/{upload_id}": {"get": {
            "summary": "Whether the daemon has answered an upload",
            "parameters": [{"name": "upload_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "state", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Upload"}}}}, **_COMMON}}},
        "/check": {"post": {
            "summary": "Check a file: the pipeline on a copy, nothing recorded",
            "requestBody": _FILE_BODY,
            "responses": {"200": {"description": "the receipt of the check",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}},
                          "400": _error("a bad file name"), "413": _error("too large"),
                          "401": _COMMON["401"], "429": _COMMON["429"]}}},
        "/obligations": {"get": {
            "summary": "Compliance rows for a year (a submitter's own; operators: all or one)",
            "parameters": [_query("year", "reporting year", {"type": "integer"}),
                           _query("submitter", "operators only")],
            "responses": {"200": {"description": "rows", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "year": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "object"}}}}}}},
                **_COMMON}}},
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "gateway_session",
                        "description": "POSTs also send the X-CSRF-Token header"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Submission": {"type": "object", "properties": {
                "submission_id": {"type": "string"}, "submitter": {"type": "string"},
                "file_name": {"type": "string"}, "received_at": {"type": "string"},
                "status": {"type": "string"}, "family": {"type": ["string", "null"]},
                "measure": {"type": ["string", "null"]}, "level": {"type": ["string", "null"]},
                "reporting_year": {"type": ["integer", "null"]},
                "counts": {"type": "object"}}},
            "SubmissionPage": {"type": "object", "required": ["items", "next_cursor"],
                               "properties": {"items": {"type": "array", "items": {
                                   "$ref": "#/components/schemas/Submission"}},
                                   "next_cursor": {"type": ["string", "null"]}}},
            "Upload": {"type": "object", "properties": {
                "upload_id": {"type": "string"},
                "state": {"type": "string", "enum": ["waiting", "answered"]},
                "submission_id": {"type": ["string", "null"]}}},
        },
    },
}
