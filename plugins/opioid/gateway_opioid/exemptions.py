"""Exemption requests and the program staff's decisions on them (opioid.md, "Exemptions
decided").

A health system's accepted ``opip-exemption`` row is a request; staff decide it with
``gateway opip exemption decide``, which remembers the decision (granted or denied, the note,
who, and which accepted request it answers) in the dataset ``opip/exemption-decisions/<MY>``
beside the feed. A grant ends the prescriber's QI obligations of that MY that no form has met
(``exempt``); a request no decision has answered yet leaves them owed, marked
``exemption_requested``; a denial returns them to their ordinary status, until a newer request
comes. A grant stands even when a later request arrives.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gateway.contract import WAIVER_GRANTED, WAIVER_REQUESTED, ReferenceView, ReferenceWrite
from gateway_opioid import datasets
from gateway_opioid.program import EXEMPTION, program

GRANTED, DENIED = "granted", "denied"
EXIT_OPERATIONAL = 2


def waivers(reference: ReferenceView, year: int, npis: Iterable[str]) -> dict[str, str]:
    """Each prescriber's exemption as it stands: ``granted``, ``requested`` (an accepted
    request no decision has answered yet), or absent (none, or denied)."""
    npis = list(npis)
    requests = reference.get_many(datasets.forms(EXEMPTION, year), npis)
    decided = reference.get_many(datasets.decisions(year), npis)
    out: dict[str, str] = {}
    for npi in npis:
        decision, request = decided.get(npi), requests.get(npi)
        if decision is not None and decision.value["decision"] == GRANTED:
            out[npi] = WAIVER_GRANTED
        elif request is not None and (decision is None or decision.value.get("request")
                                      != request.submission_id):
            out[npi] = WAIVER_REQUESTED
    return out


def decision(request: str, granted: bool, note: str, by: str) -> dict[str, Any]:
    """The remembered decision on one request."""
    return {"decision": GRANTED if granted else DENIED, "note": note, "request": request,
            "decided_by": by, "decided_at": datetime.now(UTC).isoformat(timespec="seconds")}


def group() -> typer.Typer:
    """``gateway opip exemption``."""
    app = typer.Typer(help="Exemption requests: decide them.", no_args_is_help=True)
    app.command("decide")(decide)
    return app


def decide(
    npi: Annotated[str, typer.Argument(help="The prescriber's NPI.")],
    year: Annotated[int, typer.Option(help="Measurement year of the request.")],
    grant: Annotated[bool, typer.Option("--grant", help="Grant the exemption.")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="Deny the exemption.")] = False,
    note: Annotated[str, typer.Option(help="Why, in a sentence (kept with the decision).")] = "",
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", dir_okay=False,
        help="gateway.toml of the installation (default: as for serve).")] = None,
) -> None:
    """Decide a prescriber's accepted exemption request of a measurement year: a grant ends
    the QI obligations no form has met yet (compliance shows them exempt), a denial returns
    them to their ordinary status."""
    from gateway.contract import SiteError, open_site

    if grant == deny:
        _fail("give exactly one of --grant and --deny")
    if not note.strip():
        _fail("--note is required: say why, in a sentence")
    if program().rules(year) is None:
        _fail(f"the program has no measurement year {year}")
    try:
        site = open_site(config)
        view = site.reference()
        request = view.get(datasets.forms(EXEMPTION, year), npi)
        if request is None:
            _fail(f"no accepted exemption request for prescriber {npi} in measurement year "
                  f"{year}")
        by = getpass.getuser()
        write = ReferenceWrite(datasets.decisions(year), {npi: decision(
            request.submission_id, grant, note.strip(), by)})
        site.record_decision([write], by=by)
    except SiteError as err:
        _fail(str(err))
    word = GRANTED if grant else DENIED
    typer.echo(f"exemption of prescriber {npi} for measurement year {year} {word} (request "
               f"{request.submission_id} of {request.submitter})")


def _fail(message: str) -> NoReturn:
    typer.echo(f"gateway: {message}", err=True)
    raise typer.Exit(EXIT_OPERATIONAL)
