"""The plugin contract: hooks a measure family implements to take part in validation.

Every hook is prefixed ``gateway_``. A family implements the hooks it needs with
``@hookimpl`` (``from gateway.contract import hookimpl``) and registers the module in the
``gateway.plugins`` entry-point group.
Hooks only ever gain arguments: pluggy lets an implementation accept fewer than the spec, so an
implementation written today keeps working when the core passes more later.

Hooks that answer about a route (schema, records, rules, results) are asked of every family; a
family answers only for routes whose ``family`` is its own and returns ``None`` (or an empty
list) otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from gateway.contract.catalog import ErrorCode
from gateway.contract.findings import Finding
from gateway.contract.records import (
    Artifact,
    Candidate,
    Document,
    FamilyInfo,
    FileRule,
    FileSample,
    Obligation,
    ObligationReader,
    RecordBatch,
    Registry,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
)
from gateway.contract.reference import ReferenceCollector, ReferenceView

if TYPE_CHECKING:  # only plugin commands need typer; validating a file should not import it
    import typer

PROJECT = "gateway"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gateway_families() -> list[FamilyInfo]:
    """Declare the families this plugin provides, with their measures, levels and years.

    All results are collected. A family id declared by two plugins is an error at load time.
    """


@hookspec
def gateway_error_codes() -> list[ErrorCode]:
    """Finding codes this plugin emits beyond the core catalog (``gateway.contract.catalog``).

    All results are collected into one catalog; a code defined twice differently is an error.
    """


@hookspec
def gateway_schema_dirs() -> list[Traversable]:
    """Folders of JSON Schema files this plugin ships, found through ``importlib.resources``.

    Every ``*.json`` in them (recursively) is indexed by its ``$id`` so ``$ref`` between schemas
    resolves across plugins. All results are collected.
    """


@hookspec
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    """Say whether a file belongs to this plugin, from its content alone.

    Return one ``Candidate`` per layout that matches or nearly matches: with empty ``lacks`` to
    claim the file, or listing what it lacks as a near miss. Return ``[]`` for a file that is
    nothing like the plugin's. All results are collected; exactly one claim across all plugins
    routes the file, two or more reject it naming every claimant.
    """


@hookspec(firstresult=True)
def gateway_schema_id(route: Route) -> str | None:
    """The ``$id`` of the JSON Schema for one record of ``route``, or ``None`` when the family
    has no schema for that reporting year (the file is then rejected with the years it knows).

    First non-None result wins.
    """


@hookspec(firstresult=True)
def gateway_read_records(route: Route, document: Document) -> Iterator[RecordBatch] | None:
    """Turn a document into batches of raw records with source positions.

    Families whose files are tables may leave this to the core's table reader (it answers last);
    families with their own layout (XML) yield records built from the elements, positioned by
    element path and line. First non-None result wins.
    """


@hookspec
def gateway_preconditions(route: Route, context: RuleContext) -> list[Finding]:
    """What must hold before any record of a file of ``route`` is judged: facts kept outside
    the file, such as the accepted data a form is judged against (the opioid program's
    ``E-OPIP-NO-DATA``: "without data nothing else is judged"). Asked after routing and the
    header check; an error among the answers rejects the file at once, at the file-rules layer
    (or the submitter layer when every error's code belongs to it), and nothing is read. Return
    ``[]`` when all holds or the route is not the plugin's. All results are collected.
    """


@hookspec
def gateway_file_rules(route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh cross-record rules for one file of ``route`` (new instances per file: they keep
    state). Rules see only records that passed the record layer. All results are collected.
    """


@hookspec(firstresult=True)
def gateway_results(route: Route, context: RuleContext) -> ResultCalculator | None:
    """A fresh calculator of the measure figures for the receipt's ``results``, or ``None`` when
    the route computes none. First non-None result wins.
    """


@hookspec(firstresult=True)
def gateway_template(route: Route, format: str) -> bytes | None:
    """A blank submission template for ``route`` in ``format``, for a family whose files the
    core cannot lay out from the record schema alone (an XML layout belongs to its reader).

    Return ``None`` to let the core write its CSV/XLSX template from the schema. First non-None
    result wins.
    """


@hookspec(firstresult=True)
def gateway_calendar(route: Route) -> list[ReportingPeriod] | None:
    """The periods whose data ``route``'s reporting year collects and their submission windows,
    or ``None`` when the route is not the family's. Release notes (``gateway schema diff``) and
    the conformance kit read it; every declared year needs one. First non-None result wins.
    """


@hookspec(firstresult=True)
def gateway_obligation_reader(route: Route, context: RuleContext,
                              sample: FileSample) -> ObligationReader | None:
    """A fresh ``ObligationReader`` for one file of ``route``: what the submitter layer checks
    (facility ids, who may send it, sampling) and which obligations the file answers, read from
    its records (and, for a file rejected before them, from ``sample``). ``context`` carries the
    registry and the sending submitter. ``None``: the file answers no obligation and the layer
    checks nothing but the submitter. First non-None result wins.
    """


@hookspec
def gateway_example_dirs() -> list[Traversable]:
    """Folders of example files, laid out ``<year>/<measure>/<level>/valid/`` and
    ``.../invalid/<EXPECTED-CODE>--what-it-breaks.<ext>``. The conformance kit
    (``gateway.testing.check_plugin``) runs every one; each declared year needs a valid and an
    invalid example per measure and level. All results are collected.
    """


@hookspec(firstresult=True)
def gateway_year_data(route: Route) -> dict[str, Any] | None:
    """The values ``route``'s reporting year is checked with that the family declares as data
    outside its schema (code lists, ranges, limits, thresholds in its manifest), by the name a
    reader of release notes knows them by, or ``None`` when the route is not the family's.
    ``gateway schema diff`` reports each that differs between two years. First non-None result
    wins.
    """


@hookspec
def gateway_artifacts() -> list[Artifact]:
    """Files this plugin generates from its own data (schemas from its manifest, examples
    derived from other examples), each with the text its generator makes from the data as they
    are now. The conformance kit fails naming ``gateway regenerate FAMILY`` when a file on disk
    differs (a manifest edited without regenerating); that command writes them. A plugin whose
    files are all written by hand implements nothing. All results are collected.
    """


@hookspec(firstresult=True)
def gateway_scaffold(family: str, measure: str, year: int, from_year: int | None,
                     root: Path) -> list[str] | None:
    """Scaffold reporting ``year`` of ``measure`` (copied from ``from_year``, or the latest
    earlier year) or a new measure, in the family's source files under ``root``, for
    ``gateway new-measure``. Return what the author must still decide, one sentence each, or
    ``None`` when ``family`` is not the plugin's. Raise ``ScaffoldError`` (from
    ``gateway.authoring.scaffold``) when the files are not under ``root``: an installed copy is
    never edited.

    Families laid out as ``gateway.kit.family`` teaches need not implement it: the core scaffolds
    them from their ``manifest.toml``. First non-None result wins.
    """


@hookspec
def gateway_obligations(submitter: Submitter, reporting_year: int,
                        registry: Registry, reference: ReferenceView) -> list[Obligation]:
    """Everything ``submitter`` owes this family for ``reporting_year``, with windows, including
    obligations met elsewhere (``required=False`` with a ``note``) so they are listed. Asked of
    every family for every active submitter; return ``[]`` for a submitter that owes the family
    nothing. ``reference`` is the data remembered from accepted files
    (``gateway.contract.reference``), for obligations that follow from them (the opioid
    program's QI-required prescribers). The
    core decides statuses, lateness, compliance and the calendar. All results are collected.
    """


@hookspec
def gateway_reference_collector(route: Route, context: RuleContext) -> ReferenceCollector | None:
    """A fresh collector of what this family must remember from a file of ``route`` if it is
    accepted (``gateway.contract.reference``), or ``None``. It sees the same typed batches as
    the file rules; its writes are applied to the reference store only on acceptance, and
    later files
    read them through ``context.reference``. All results are collected.
    """


@hookspec
def gateway_commands(cli: typer.Typer) -> None:
    """Add this plugin's commands to the ``gateway`` command line, as a group named after the
    family (``cli.add_typer(group, name="opip")``) so plugins never clash with the core's
    commands or each other's. Called for every command line that is not one of the core's.
    """
