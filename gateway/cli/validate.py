"""The commands about files and plugins: ``validate`` (files through the whole pipeline, as the
daemon would, writing nothing) and ``plugins`` (what is installed).

``validate`` exits 0 when every file is accepted (with or without warnings), 1 when one is
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
    load_settings,
    operational,
    registry_for,
    setting,
)
from gateway.receipts.shown import Shown

DisableOption = Annotated[list[str], typer.Option(
    "--disable", help="Leave this plugin out (as `gateway plugins` names it), besides those "
                      "gateway.toml's [plugins] disable lists; repeatable.")]


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        options[key.strip()] = value.strip()
    return options


def _sent(files: list[str], submitter: str | None) -> list[tuple[str, Path]]:
    """Each FILE as (submitter, path): ``SUBMITTER:PATH`` names its sender, a plain path is
    sent by ``--submitter``. A path that exists as written is a path, even with a colon."""
    from gateway.site.names import is_submitter_id

    out = []
    for text in files:
        sender, sep, rest = text.partition(":")
        if sep and not Path(text).exists() and is_submitter_id(sender):
            who, path = sender, Path(rest)
        elif submitter is None:
            raise typer.BadParameter(f"{text}: name the sender as SUBMITTER:PATH or give "
                                     "--submitter", param_hint="FILE")
        else:
            who, path = submitter, Path(text)
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file", param_hint="FILE")
        out.append((who, path))
    return out


def validate(
    files: Annotated[list[str], typer.Argument(
        help="The files to judge, in order; SUBMITTER:PATH to judge one as sent by that "
             "submitter.", metavar="FILE...")],
    submitter: Annotated[str | None, typer.Option(
        help="The submitter id (its inbox folder name) of each FILE without one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON receipt (several "
                                                         "files: an array, in order).")] = False,
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
    disable: DisableOption = [],  # noqa: B006
    local: Annotated[bool, typer.Option(
        "--local", help="Judge the files in this process even when `gateway serve` runs. "
                        "Without it a running daemon's warm processes answer (much faster), "
                        "with the plugin code and settings the daemon loaded at its start: "
                        "use --local while editing a plugin or gateway.toml.")] = False,
) -> None:
    """Run the whole pipeline on files and print their receipts; change nothing.

    With a registry (``--registry``, or the one the gateway's config names) the submitter layer
    runs as in the daemon; without one it is skipped and the receipt says so once. Files are
    judged against the reference data the site accepted (a prescribing feed that forms rest
    on), which a check never changes: only ``gateway serve`` remembers. Files are judged in the
    order given, and what an accepted earlier file would remember counts, in memory only, for
    the later ones, so a feed and its forms can be tried together without a site.

    When the installation's daemon runs, its warm processes judge the files (the same pipeline
    and output, without this process importing pandas); ``--registry``, ``--disable`` and
    ``--local`` judge them here.
    """
    sent = _sent(files, submitter)
    options = _options(option)
    if not (local or registry is not None or disable):
        answer = _asked(sent, options, received_at, config, out)
        if answer is not None:
            typer.echo(answer.output(as_json), nl=False)
            raise typer.Exit(EXIT_NO if answer.rejected else EXIT_OK)
    answer = _judged_here(sent, options, out, registry, received_at, config, disable)
    typer.echo(answer.output(as_json), nl=False)
    raise typer.Exit(EXIT_NO if answer.rejected else EXIT_OK)


def _asked(sent: list[tuple[str, Path]], options: dict[str, str], received_at: str | None,
           config: Path | None, out: Path | None) -> Shown | None:
    """The running daemon's answer (``cli.validate_client``), its files written to ``out``,
    or None: judge here."""
    from gateway.cli.validate_client import ask_daemon
    from gateway.receipts.atomic import atomic_write

    with operational():
        settings = load_settings(config)
    if not settings.validate_slots:
        return None
    try:
        received = _received(received_at, settings.timezone)
    except ValueError:
        return None  # judged here, which says what is wrong where it always did
    asked = ask_daemon(settings.state, sent, options=options, received_at=received,
                       write=out is not None, wait=settings.validate_wait,
                       time_limit=settings.time_limit)
    if asked.taken:
        typer.echo("gateway: the daemon's warm process failed on these files (its log says "
                   "how); judging them in this process", err=True)
    if asked.shown is not None and out is not None:
        with operational():
            out.mkdir(parents=True, exist_ok=True)
            for name, data in asked.files:
                atomic_write(out / name, data)
    return asked.shown


def _received(received_at: str | None, timezone: str) -> str | None:
    """``--received-at`` as an ISO instant (without an offset: the program's time zone)."""
    from gateway.submitters.windows import parse_instant

    return None if received_at is None else parse_instant(received_at, timezone).isoformat()


def _judged_here(sent: list[tuple[str, Path]], options: dict[str, str], out: Path | None,
                 registry: Path | None, received_at: str | None, config: Path | None,
                 disable: list[str]) -> Shown:
    """The files judged in this process (``engine.preview``), and written to ``out``."""
    from gateway.engine.pipeline import choose_plugins, default_plugins
    from gateway.engine.preview import Sent, preview, shown
    from gateway.receipts.store import write_receipt

    with operational():
        chosen = setting(registry, config)
        judged_by = registry_for(chosen)
    choose_plugins(chosen.config.plugin_choice.disabling(disable))
    try:
        received = _received(received_at, chosen.policy.timezone)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO 8601 time, got {received_at!r}",
                                 param_hint="--received-at") from None
    with operational():  # a local plugin that cannot load
        plugins = default_plugins()
    with operational():  # the ledger's database may refuse
        receipts = preview([Sent(who, path, path.name) for who, path in sent],
                           plugins=plugins, registry=judged_by, policy=chosen.policy,
                           ledger=chosen.config.ledger_location, options=options,
                           received_at=received)
    if out is not None:
        for receipt, (_, path) in zip(receipts, sent, strict=True):
            write_receipt(receipt, out, plugins.catalog, document=path)
    return shown(receipts, plugins.catalog)


def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON (with each plugin's "
                                                         "origin).")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Also where each plugin "
                                          "comes from: distribution, version, location, "
                                          "editable or local.")] = False,
    config: ConfigOption = None,
) -> None:
    """List plugins, families, measures, levels and reporting years, and which plugins the
    installation's gateway.toml disables."""
    from gateway.engine.pipeline import choose_plugins, default_plugins
    from gateway.engine.plugin_sources import origins

    with operational():
        choose_plugins(load_settings(config).plugin_choice)
        loaded = default_plugins()
    where = origins(loaded)
    rows = [
        {"plugin": loaded.owners[family.family], "family": family.family, "title": family.title,
         "formats": list(family.formats), "measure": m.measure, "name": m.name,
         "levels": list(m.levels), "reporting_years": list(m.reporting_years)}
        for family in loaded.families.values() for m in family.measures
    ]
    with_family = {row["plugin"] for row in rows}
    rows += [{"plugin": name, "family": None, "title": None, "formats": [], "measure": None,
              "name": _plugin_summary(loaded.pm.get_plugin(name)), "levels": [],
              "reporting_years": []}
             for name in where if name not in with_family]
    for row in rows:
        row.update({k: v for k, v in where[row["plugin"]].items() if k != "plugin"},
                   disabled=False)
    known = _installed_names(loaded.choice.paths)
    rows += [{"plugin": name, "family": None, "disabled": True, "installed": name in known}
             for name in loaded.choice.disable]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    listed = [row for row in rows if not row["disabled"]]
    keys = ("plugin", "family", "measure")
    widths = (*(max([len(h), *(len(str(r[h] or "-")) for r in listed)]) + 2 for h in keys),
              17, 10)
    typer.echo("".join(h.ljust(w) for h, w in zip(
        ("plugin", "family", "measure", "levels", "years"), widths, strict=True)) + "name")
    for row in listed:
        cells = (row["plugin"], row["family"] or "-", row["measure"] or "-",
                 ",".join(row["levels"]) or "-",
                 ",".join(str(y) for y in row["reporting_years"]) or "-")
        padded = (str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        typer.echo("".join(padded) + (row["name"] or ""))
    if verbose:
        typer.echo("\nwhere each plugin comes from:")
        for name, origin in where.items():
            typer.echo(f"  {name}: {_origin_words(origin)}")
    if loaded.choice.disable:
        names = (name if name in known else f"{name} (no such plugin is installed)"
                 for name in loaded.choice.disable)
        typer.echo(f"\ndisabled ([plugins] disable in gateway.toml or --disable): "
                   f"{', '.join(names)}")


def _installed_names(paths: tuple[Path, ...]) -> set[str]:
    """Every plugin name that could be loaded: entry points and local folders, so a misspelt
    ``disable`` entry shows."""
    from importlib.metadata import entry_points

    from gateway.engine.plugins import ENTRY_POINT_GROUP

    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} | {
        path.stem if path.suffix == ".py" else path.name for path in paths}


def _plugin_summary(plugin: object) -> str:
    """One line about a plugin that declares no family (a built-in refusal)."""
    summary = getattr(plugin, "summary", None)
    if isinstance(summary, str):
        return summary
    return ((getattr(plugin, "__doc__", None) or "").strip().splitlines() or [""])[0]


def _origin_words(origin: dict[str, object]) -> str:
    if origin["local"]:
        return f"local plugin at {origin['location']} (gateway.toml [plugins] paths)"
    mode = {True: "editable install", False: "installed copy", None: "install mode unknown"}
    return (f"{origin['distribution']} {origin['version']}, {mode[origin['editable']]}, "
            f"at {origin['location']}")
