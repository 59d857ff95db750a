"""The one pipeline function: a file in, a receipt out.

``gateway validate`` and the daemon both call ``validate_file``; the daemon adds intake, workers
and delivery around it. Layers run in the specification's order and the first one that fails
decides the receipt. Everything runs in one streaming pass: records are typed and checked batch
by batch while the file rules, result calculators and the submitter layer (with a registry:
``gateway.submitters.layer``) keep their running aggregates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from gateway.contract.batch import RecordBatch
from gateway.contract.catalog import Layer, Severity
from gateway.contract.findings import Finding, FindingList
from gateway.contract.lazylog import LazyLogger
from gateway.contract.records import Document, FileSample, Registry, RuleContext, Submitter
from gateway.contract.reference import ReferenceView
from gateway.engine.complete import complete_findings
from gateway.engine.naming import RecordNamer
from gateway.engine.plugins import Plugins, load_plugins
from gateway.engine.records import RecordLayer, once_per_missing_column, once_per_place
from gateway.engine.routing import choose_route
from gateway.engine.xml_words import XmlWords
from gateway.readers.arrow_memory import use_returning_pool
from gateway.readers.header import check_header
from gateway.readers.limits import Limits
from gateway.readers.problems import FileProblem
from gateway.readers.tables import TableDocument, XlsxDocument
from gateway.readers.upload import check_name, inspect_upload, open_document
from gateway.receipts.model import FileFacts, Receipt, new_submission_id, utc_now_text
from gateway.site import plugin_choice
from gateway.site.plugin_choice import PluginChoice
from gateway.site.reference.store import Location, reference_view
from gateway.submitters.layer import SubmitterLayer, admitted, unknown_submitter
from gateway.submitters.windows import SubmitterPolicy

log = LazyLogger("gateway.engine.pipeline")

# What judging a file imports at first use: the modules above bind these lazily
# (``gateway.contract.lazy_module``), so a command that judges nothing never loads them. A
# process that forks workers to judge files (the daemon's fork server) imports them first, once.
# The last two open the ledger's reference data at a worker's first file (SQLAlchemy and
# Alembic, about half a CPU second): without them every new or recycled worker paid that again.
JUDGING_IMPORTS = ("pandas", "pyarrow.compute", "pyarrow.csv", "jsonschema", "referencing",
                   "jsonschema_rs", "lxml.etree", "fastexcel", "python_calamine",
                   "gateway.site.ledger.migrate", "gateway.site.reference.database")


def choose_plugins(choice: PluginChoice) -> None:
    """Make ``choice`` (an installation's ``[plugins]`` table) this process's plugin set."""
    plugin_choice.choose(choice)


def default_plugins() -> Plugins:
    """The installed plugins as chosen (``choose_plugins``), loaded once per process and
    choice."""
    return _loaded(plugin_choice.chosen())


@lru_cache(maxsize=1)
def _loaded(choice: PluginChoice) -> Plugins:
    return load_plugins(choice=choice)


_record_layers: dict[tuple[int, str], RecordLayer] = {}


def record_layer(plugins: Plugins, schema_id: str) -> RecordLayer:
    """Schemas compile once per process (per plugin set)."""
    key = (id(plugins), schema_id)
    layer = _record_layers.get(key)
    if layer is None:
        layer = _record_layers[key] = RecordLayer(plugins.schemas, schema_id)
    return layer


def validate_file(path: Path, *, submitter: str, display_name: str | None = None,
                  received_at: str | None = None, submission_id: str | None = None,
                  options: Mapping[str, str] | None = None, plugins: Plugins | None = None,
                  limits: Limits | None = None, registry: Registry | None = None,
                  policy: SubmitterPolicy | None = None, ledger: Location | None = None,
                  reference: ReferenceView | None = None) -> Receipt:
    """Validate one file and return its receipt. A bad file never raises: it is rejected.

    ``display_name`` is the name the submitter uploaded (the path may be a spool copy);
    ``options`` are operator settings that rules may consult (e.g. ``hospital_type``). With a
    ``registry`` the submitter layer runs (``policy``: the late switch and time zone): a folder
    that is not registered and active gets E-SUBMITTER-UNKNOWN and nothing else is read.
    ``ledger`` is the ledger (database URL or SQLite file) whose reference data the rules read
    (none: nothing remembered); ``reference`` replaces the ledger's view (``gateway validate``
    reads the site's data with earlier files' writes in memory on top). Reference writes ride
    on the receipt: only the daemon applies them, on acceptance.
    """
    plugins = plugins or default_plugins()
    limits = limits or Limits()
    name = display_name or path.name
    receipt = Receipt(
        submission_id=submission_id or new_submission_id(), submitter=submitter,
        file=FileFacts(name=name, bytes=0, sha256="", format=None,
                       received_at=received_at or utc_now_text()))
    started = time.perf_counter()
    if not admitted(registry, submitter):
        with contextlib.suppress(FileProblem):  # its size and digest only: nothing is judged
            facts = inspect_upload(path, limits)
            receipt.file = dataclasses.replace(receipt.file, bytes=facts.bytes,
                                               sha256=facts.sha256)
        receipt.reject(Layer.SUBMITTER.value, unknown_submitter(submitter))
        receipt.skipped = [{"layer": name, "reason": "the sender is not a registered, active "
                            "submitter, so the file was not read"}
                           for name in ("file", "record", "file_rules")]
        receipt.timings["total"] = round(time.perf_counter() - started, 4)
        return receipt
    receipt.registry_used = registry is not None
    entry = registry.active(submitter) if registry is not None else None
    if entry is not None:
        receipt.registry_entry = entry.as_dict()
    sender = _Sender(registry, entry, policy or SubmitterPolicy(), ledger, reference)
    try:
        _run(path, receipt, plugins, limits, options or {}, sender)
    except FileProblem as problem:
        receipt.findings = FindingList()
        receipt.reject(Layer.FILE.value, *problem.findings)
        if receipt.file.format is None and problem.format is not None:
            receipt.file = dataclasses.replace(receipt.file, format=problem.format)
    except Exception as err:  # a gateway or plugin bug: the submitter still gets a receipt
        frame = traceback.extract_tb(err.__traceback__)[-1]
        log.error("pipeline_failed", submission_id=receipt.submission_id,
                  error_type=type(err).__name__, where=f"{frame.filename}:{frame.lineno}")
        receipt.findings = FindingList()
        receipt.reject(Layer.FILE.value, Finding(
            code="E-PROCESSING-FAILED",
            message="The gateway failed while validating this file; the program's staff have "
                    "the details. Your file was kept.",
            hint="No change to your file is needed unless the help desk asks for one."))
    complete_findings(receipt.findings, plugins.catalog, receipt.file.format, path)
    receipt.timings["total"] = round(time.perf_counter() - started, 4)
    return receipt


@dataclasses.dataclass(frozen=True)
class _Sender:
    """The registry in force and the sending submitter's entry (both None without a registry),
    and the ledger of the reference data (or a view of them the caller chose)."""

    registry: Registry | None
    entry: Submitter | None
    policy: SubmitterPolicy
    ledger: Location | None = None
    reference: ReferenceView | None = None

    def view(self) -> ReferenceView:
        """The reference data the rules read (the ledger is opened only when a file gets
        that far)."""
        return self.reference if self.reference is not None else reference_view(self.ledger)


def _run(path: Path, receipt: Receipt, plugins: Plugins, limits: Limits,
         options: Mapping[str, str], sender: _Sender) -> None:
    use_returning_pool()  # before the first batch is allocated (pyarrow loads here, not at import)
    check_name(receipt.file.name)
    facts = inspect_upload(path, limits)
    receipt.file = dataclasses.replace(receipt.file, bytes=facts.bytes, sha256=facts.sha256)
    document = open_document(path, receipt.file.name, facts, limits)
    receipt.file = dataclasses.replace(receipt.file, format=document.format)
    sample = document.sample()
    if isinstance(document, TableDocument) and not sample.rows:
        raise FileProblem.of("E-FILE-EMPTY", "The file has a header but no data rows (the "
                             f"header was read from {document.header_place()}).",
                             row=2, hint="Add one row per record below the header.")
    route = choose_route(plugins, sample, document.header_place()
                         if isinstance(document, TableDocument) else None)
    receipt.route = route
    context = RuleContext(route=route, options=dict(options), registry=sender.registry,
                          submitter=sender.entry, reference=sender.view(),
                          sender=receipt.submitter)
    submitter_layer = _submitter_layer(plugins, context, sample, sender, receipt)
    try:
        _check_and_run(document, context, receipt, plugins, submitter_layer)
    finally:
        if submitter_layer is not None:  # accepted or not, the file counts for its obligation
            receipt.obligations = submitter_layer.answered()


def _submitter_layer(plugins: Plugins, context: RuleContext, sample: FileSample,
                     sender: _Sender, receipt: Receipt) -> SubmitterLayer | None:
    if sender.entry is None:
        return None
    reader = plugins.hook.gateway_obligation_reader(route=context.route, context=context,
                                                    sample=sample)
    return SubmitterLayer(sender.entry, context.route, reader, sender.policy,
                          receipt.file.received_at)


def _check_and_run(document: Document, context: RuleContext, receipt: Receipt,
                   plugins: Plugins, submitter_layer: SubmitterLayer | None) -> None:
    route = context.route
    layer = record_layer(plugins, route.schema)
    letters: dict[str, str] = {}
    if isinstance(document, TableDocument):
        layout = f"{route.measure} {route.level}-level {route.reporting_year}"
        problems = check_header(document.columns, document.cells, layer.columns,
                                layer.header_required, layout)
        if problems:
            raise FileProblem(*problems)
        letters = dict(document.cells)
    unmet = FindingList()
    for findings in plugins.hook.gateway_preconditions(route=route, context=context):
        unmet.extend(_with_cell(finding, letters) for finding in findings)
    if unmet.errors:  # nothing in the file can be judged without what is missing
        receipt.findings = unmet
        receipt.layer = _rules_layer(unmet, plugins)
        return
    _run_layers(document, context, layer, receipt, plugins, submitter_layer)


def _with_cell(finding: Finding, letters: dict[str, str]) -> Finding:
    """A finding at a row and column, given its spreadsheet cell (``A2``) where the header
    says which letter the column has."""
    letter = letters.get(finding.column or "")
    if finding.cell is None and finding.row is not None and letter:
        return dataclasses.replace(finding, cell=f"{letter}{finding.row}")
    return finding


def _run_layers(document: object, context: RuleContext, layer: RecordLayer, receipt: Receipt,
                plugins: Plugins, submitter_layer: SubmitterLayer | None) -> None:
    names: dict[str, str] = {}  # an XML file's columns as its elements
    try:
        _layers(document, context, layer, receipt, plugins, submitter_layer, names)
    finally:
        if names:
            receipt.findings.listed = XmlWords(names).findings(receipt.findings.listed)


def _layers(document: object, context: RuleContext, layer: RecordLayer, receipt: Receipt,
            plugins: Plugins, submitter_layer: SubmitterLayer | None,
            names: dict[str, str]) -> None:
    route = context.route
    rules = [rule for found in plugins.hook.gateway_file_rules(route=route, context=context)
             for rule in found]
    calculator = plugins.hook.gateway_results(route=route, context=context)
    collectors = plugins.hook.gateway_reference_collector(route=route, context=context)
    if isinstance(document, XlsxDocument):  # a date at midnight: by its number format
        document.expect_date_times(name for name, column in layer.columns.items()
                                   if column.format == "local-date-time")
    batches = plugins.hook.gateway_read_records(route=route, document=document)
    if batches is None:
        raise FileProblem.of("E-ROUTE-UNRECOGNISED", f"No reader is installed for "
                             f"{route.family} files in this format.")
    record_findings, rule_findings = FindingList(), FindingList()
    reported: set[tuple[object, ...]] = set()  # findings at places every record shares
    # columns of the layout the header lacks: their "required on this row" is one finding
    absent = (set(layer.columns) - set(document.columns)
              if isinstance(document, TableDocument) else set())
    namer = RecordNamer(layer.schema, route.measure)
    for raw in batches:
        if record_findings.errors:  # failed already: the typed records would not be read
            typed = None
            bad, findings = layer.judge(raw)
        else:
            typed, bad, findings = layer.check(raw)
        receipt.records += len(raw)
        receipt.records_rejected += int(bad.sum())
        namer.observe(raw)
        names.update(raw.names)
        record_findings.extend(_named_in(namer, raw, raw.notes, record_findings))
        record_findings.extend(_named_in(namer, raw, list(once_per_missing_column(
            once_per_place(findings, raw.places, reported), absent, reported)),
            record_findings))
        if typed is None or record_findings.errors:
            continue  # the record layer has failed: later layers' work would be discarded
        for rule in rules:
            rule_findings.extend(_named_in(namer, raw, list(rule.observe(typed)),
                                           rule_findings))
        if calculator is not None:
            calculator.observe(typed)
        if submitter_layer is not None:
            submitter_layer.observe(typed)
        for collector in collectors:
            collector.observe(typed)
    if receipt.records == 0:
        raise FileProblem.of("E-FILE-EMPTY", "The file has a header but no data rows."
                             if isinstance(document, TableDocument) else
                             "The file has no records.")
    if record_findings.errors:
        receipt.findings = record_findings
        receipt.layer = Layer.RECORD.value
        return
    for rule in rules:
        rule_findings.extend(namer.named(rule.finish()))
    for rule in rules:
        rule_findings.listed = rule.explain(rule_findings.listed)
    shift = len(record_findings.listed)  # roots are indexed in the receipt's whole list
    rule_findings.listed = [f if f.caused_by is None else dataclasses.replace(
        f, caused_by=f.caused_by + shift) for f in rule_findings.listed]
    record_findings.merge(rule_findings)  # the record layer's warnings (a short row) stay
    receipt.findings = record_findings
    if rule_findings.errors:
        receipt.layer = _rules_layer(rule_findings, plugins)
        return
    if submitter_layer is not None:
        judged = submitter_layer.judge()
        receipt.findings.extend(judged)
        if any(f.severity is Severity.ERROR for f in judged):
            receipt.layer = Layer.SUBMITTER.value
            return
    receipt.results = calculator.finish() if calculator is not None else None
    receipt.reference_writes = [write for collector in collectors
                                for write in collector.finish(receipt.results)]


def _named_in(namer: RecordNamer, raw: RecordBatch, findings: list[Finding],
              into: FindingList) -> list[Finding]:
    """``findings`` with their records named, only those ``into`` will still list (a bad
    file's hundred-thousandth finding is counted, not shown)."""
    room = max(into.cap - len(into.listed), 0)
    return namer.named_in(raw, findings[:room]) + findings[room:]


def _rules_layer(findings: FindingList, plugins: Plugins) -> str:
    """The file-rules layer, unless every error is a submitter-layer code: a family may check
    that records belong to the sender against its own reference data (the opioid program's
    prescribers), and the receipt then names the layer the check belongs to."""
    layers = {known.layer if (known := plugins.catalog.get(f.code)) else None
              for f in findings.listed if f.severity is Severity.ERROR}
    return Layer.SUBMITTER.value if layers == {Layer.SUBMITTER} else Layer.FILE_RULES.value
