"""The commands about files and plugins: ``validate`` (one file through the whole pipeline, as
the daemon would) and ``plugins`` (what is installed).

``validate`` exits 0 when the file is accepted (with or without warnings), 1 when it is
rejected; other codes are the CLI's (``gateway.cli.common``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import (
    EXIT_NO,
    EXIT_OK,
    ConfigOption,
    RegistryOption,
    operational,
    registry_for,
    setting,
)
from gateway.receipts.model import Status


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        options[key.strip()] = value.strip()
    return options


def validate(
    file: Annotated[Path, typer.Argument(help="The file to validate.", exists=True,
                                         dir_okay=False)],
    submitter: Annotated[str, typer.Option(help="The submitter id (its inbox folder name).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON receipt.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON and text receipts "
                                                  "(and, for a file with problems, its "
                                                  "annotated copy) into this folder.",
                                             file_okay=False)] = None,
    option: Annotated[list[str], typer.Option(help="Operator setting KEY=VALUE for the rules, "
                                                   "e.g. hospital_type=CAH.")] = [],  # noqa: B006
    registry: RegistryOption = None,
    received_at: Annotated[str | None, typer.Option(
        help="Preview the deadline check as if the gateway took the file at this time "
             "(ISO 8601, e.g. 2015-07-01T09:00:00-05:00; default now).")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the whole pipeline on one file and print its receipt.

    With a registry (``--registry``, or the one the gateway's config names) the submitter layer
    runs as in the daemon; without one it is skipped and the receipt says so once. Like the
    daemon, an accepted file's reference data (a prescribing feed that later forms are judged
    against) is remembered in the config's ledger.
    """
    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.receipts.store import write_receipt
    from gateway.receipts.text import render_text
    from gateway.site.reference.store import remember
    from gateway.submitters.layer import skipped
    from gateway.submitters.windows import parse_instant

    with operational():
        chosen = setting(registry, config)
        judged_by = registry_for(chosen)
    received = None
    if received_at is not None:  # without an offset: the program's time zone, as configured
        try:
            received = parse_instant(received_at, chosen.policy.timezone).isoformat()
        except ValueError:
            raise typer.BadParameter(f"expected an ISO 8601 time, got {received_at!r}",
                                     param_hint="--received-at") from None
    plugins = default_plugins()
    receipt = validate_file(file, submitter=submitter, options=_options(option), plugins=plugins,
                            received_at=received, registry=judged_by, policy=chosen.policy,
                            ledger=chosen.config.ledger_location)
    with operational():  # the ledger's database may refuse
        remember(chosen.config.ledger_location, receipt)
    if judged_by is None and receipt.layer is None:
        receipt.findings.add(skipped())
        receipt.findings.give_hints(plugins.catalog, receipt.file.format)
    if out is not None:
        write_receipt(receipt, out, plugins.catalog, document=file)
    if as_json:
        typer.echo(json.dumps(receipt.as_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(receipt, plugins.catalog), nl=False)
    raise typer.Exit(EXIT_NO if receipt.status is Status.REJECTED else EXIT_OK)


def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List plugins, families, measures, levels and reporting years."""
    from gateway.engine.pipeline import default_plugins

    loaded = default_plugins()
    rows = [
        {"plugin": loaded.owners[family.family], "family": family.family, "title": family.title,
         "formats": list(family.formats), "measure": m.measure, "name": m.name,
         "levels": list(m.levels), "reporting_years": list(m.reporting_years)}
        for family in loaded.families.values() for m in family.measures
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    keys = ("plugin", "family", "measure")
    widths = (*(max([len(h), *(len(str(r[h])) for r in rows)]) + 2 for h in keys), 17, 10)
    typer.echo("".join(h.ljust(w) for h, w in zip(
        ("plugin", "family", "measure", "levels", "years"), widths, strict=True)) + "name")
    for row in rows:
        cells = (row["plugin"], row["family"], row["measure"], ",".join(row["levels"]),
                 ",".join(str(y) for y in row["reporting_years"]))
        padded = (str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        typer.echo("".join(padded) + row["name"])
