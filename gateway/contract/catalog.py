"""The one catalog of finding codes: meaning and fix for every code the gateway can emit.

Receipts, generated docs and the plugin test kit all read this list, so a code cannot appear in a
receipt without a meaning a person can look up. Families add their own codes through the
``gateway_error_codes`` hook; the core's codes are defined here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How a finding affects the submission: errors reject it, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


class Layer(StrEnum):
    """The validation layers of the spec, in the order they run."""

    FILE = "file"
    RECORD = "record"
    FILE_RULES = "file_rules"
    SUBMITTER = "submitter"


@dataclass(frozen=True)
class ErrorCode:
    """A stable finding code with its meaning (what is wrong) and a default fix (hint).

    ``format_hints`` replace the fix for files of one format (``csv``, ``xlsx``, ``xml``) where
    the general words would mislead (no "Save As CSV" for an XML file).
    """

    code: str
    layer: Layer
    meaning: str
    hint: str
    format_hints: tuple[tuple[str, str], ...] = ()

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W-") else Severity.ERROR

    def hint_for(self, format: str | None) -> str:
        """The fix as a submitter of a file of ``format`` should read it."""
        return dict(self.format_hints).get(format or "", self.hint)


_F, _R, _FR, _S = Layer.FILE, Layer.RECORD, Layer.FILE_RULES, Layer.SUBMITTER

CORE_CODES: tuple[ErrorCode, ...] = (
    # -- file layer ---------------------------------------------------------------------------
    ErrorCode("E-FILE-EMPTY", _F, "The file has no data rows (it is empty or has a header only).",
              "Add one row per record below the header and upload the file again.",
              (("xml", "Add the records' elements inside the root element (see the measure's "
                       "template) and upload the file again."),)),
    ErrorCode("E-FILE-TOO-LARGE", _F, "The file is larger than the gateway accepts.",
              "Split the submission or contact the program; the limit is in the receipt message."),
    ErrorCode("E-FILE-FORMAT", _F, "The file is not CSV, XLSX or XML.",
              "Save the file as CSV UTF-8, as an Excel workbook (.xlsx) or as XML."),
    ErrorCode("E-FILE-FORMAT-MISMATCH", _F,
              "The file's name says one format but its content is another.",
              "Save the file in the format its name says, or rename it to match its content."),
    ErrorCode("E-FILE-UNSUPPORTED-WORKBOOK", _F,
              "The workbook is .xls, .xlsm or .ods, which the gateway does not accept.",
              "Open it in Excel and use Save As > Excel Workbook (.xlsx), then upload that file."),
    ErrorCode("E-FILE-ENCODING", _F, "The file is not valid UTF-8 text.",
              "In Excel use Save As > CSV UTF-8 (Comma delimited); other tools: export as UTF-8.",
              (("xml", "Export the XML again as UTF-8 (the export's encoding setting); the "
                       "declaration must say encoding=\"UTF-8\" or nothing."),)),
    ErrorCode("E-FILE-MALFORMED", _F,
              "The file cannot be read as its format (broken quoting, a damaged workbook, "
              "XML that is not well formed).",
              "Export the file again from the source system; do not edit it in a text editor."),
    ErrorCode("E-FILE-UNSAFE-XML", _F,
              "The XML file declares a DTD or entities, which the gateway refuses for safety.",
              "Remove the <!DOCTYPE ...> declaration; the layout needs no DTD or entities."),
    ErrorCode("E-FILE-UNSAFE-ZIP", _F,
              "The workbook's compressed contents are too large or compress suspiciously well.",
              "Remove unused sheets and formatting, or send the data as CSV."),
    ErrorCode("E-FILE-LIMIT", _F,
              "The file exceeds a limit on rows, columns, cell or line length, XML elements, "
              "nesting or text, or the area a sheet spans; the message names the limit.",
              "Split the submission into smaller files or shorten the cell named.",
              (("xml", "Split the submission into smaller files or shorten the element "
                       "named."),)),
    ErrorCode("E-FILE-NOT-REGULAR", _F,
              "The upload is a link or special file, not a regular file; it was not read.",
              "Upload the file itself, not a link to it."),
    ErrorCode("E-FILE-UNREADABLE", _F,
              "The gateway is not allowed to read the upload: its permissions forbid it.",
              "Upload the file again without keeping restrictive permissions (no 'put -p')."),
    ErrorCode("E-FILE-INTERRUPTED", _F,
              "The upload did not arrive whole: the connection ended before the file was "
              "finished (or its completion marker was missing or did not match), so only part "
              "of it reached the gateway. It was not judged and does not count as a "
              "submission.",
              "Send the whole file again (the message says how many bytes arrived)."),
    ErrorCode("E-FILE-NAME", _F,
              "The file name uses characters other than letters, digits, '.', '-' and '_' "
              "or is longer than 200 characters.",
              "Rename the file using only letters, digits, '.', '-' and '_'."),
    ErrorCode("E-HEADER-MISSING-COLUMN", _F, "A required column is missing from the header row.",
              "Add the column named (the template has every column) and upload again."),
    ErrorCode("E-HEADER-UNKNOWN-COLUMN", _F,
              "The header row has a column the layout does not have.",
              "Rename the column to the suggested name, or delete it."),
    ErrorCode("E-HEADER-DUPLICATE-COLUMN", _F, "The header row names the same column twice.",
              "Keep one column of each name."),
    ErrorCode("E-XML-UNKNOWN-ELEMENT", _F, "The XML file has an element the layout does not have.",
              "Remove the element or correct its name; names are lowercase with hyphens."),
    ErrorCode("E-XML-NAMESPACE", _F, "An XML element is not in the family's namespace.",
              "Declare the namespace given in the specification on the root element."),
    # -- routing (file layer) -----------------------------------------------------------------
    ErrorCode("E-ROUTE-UNRECOGNISED", _F, "No measure layout matches the file's columns or root.",
              "Start from the measure's template; the message names the closest layout and "
              "what it lacked."),
    ErrorCode("E-ROUTE-AMBIGUOUS", _F,
              "More than one measure family claims the file. This is a fault in the gateway's "
              "plugins, not in your file.",
              "Contact the program's help desk with this receipt; nothing to fix on your side."),
    ErrorCode("E-ROUTE-YEAR", _F,
              "The reporting year is missing, unreadable or not one the measure is defined for.",
              "Enter the reporting year (the year the data are due) as four digits; the message "
              "lists the years the gateway knows."),
    ErrorCode("E-ROUTE-NOT-ACCEPTED-HERE", _F,
              "This kind of data is not submitted to the gateway as a file.",
              "Send it by the route named in the message."),
    ErrorCode("E-MEASURE-RETIRED", _F, "The measure was retired before the file's period.",
              "Remove the retired measure; the message gives the quarter it was retired."),
    # -- record layer -------------------------------------------------------------------------
    ErrorCode("E-RECORD-TYPE", _R, "A value is not of the column's type (a whole number, a "
              "decimal number or text).", "Enter the value in the form the column asks for.",
              (("xml", "Enter the value in the form the element asks for."),)),
    ErrorCode("E-RECORD-CODE", _R, "A coded value is not one of the column's allowed codes.",
              "Use one of the codes listed in the message (upper or lower case)."),
    ErrorCode("E-RECORD-RANGE", _R, "A number is outside the column's allowed range.",
              "Check the value against the source record; the message gives the range."),
    ErrorCode("E-RECORD-REQUIRED", _R, "A value that is required is empty.",
              "Fill in the cell named.", (("xml", "Fill in the element named."),)),
    ErrorCode("E-RECORD-NOT-ALLOWED", _R,
              "A value is given where the column must be empty (for example an exclusion "
              "reason for a patient who is not excluded).",
              "Clear the cell, or correct the column that decides whether it applies.",
              (("xml", "Remove the element, or correct the one that decides whether it "
                       "applies."),)),
    ErrorCode("W-RECORD-SHORT-ROW", _R,
              "A row has fewer cells than the header; the missing cells at its end were read "
              "as empty.",
              "Check the row against the source: a value may have been lost. Export the file "
              "again so every row has a cell for every column."),
    ErrorCode("W-RECORD-MIDNIGHT", _R,
              "A workbook's date-time cell holds a date at midnight whose number format could "
              "not be read; it was read as 00:00 on that day.",
              "Check the time in the cell: if the source has one, enter it; if the cell holds a "
              "date only, the column needs a date and a time."),
    ErrorCode("E-RECORD-DATE", _R, "A date or date-time is not a real date in an accepted form.",
              "Write dates as YYYY-MM-DD or MM/DD/YYYY and times as 24-hour HH:MM."),
    ErrorCode("E-RECORD-FORMAT", _R, "A value does not have the column's form (digits, length, "
              "pattern).", "Correct the value to the form the message describes."),
    ErrorCode("E-RECORD-NPI", _R, "The NPI is not 10 digits with a valid check digit.",
              "Copy the clinic's 10-digit NPI from NPPES; a typo changes the check digit."),
    ErrorCode("E-RECORD-SSN", _R, "A patient identifier looks like a social security number.",
              "Use the clinic's own patient or medical-record number, never an SSN."),
    # -- file rules ---------------------------------------------------------------------------
    ErrorCode("E-RULE-NUMERATOR-GT-DENOMINATOR", _FR,
              "A numerator is larger than its denominator, or a count is negative.",
              "Recount: patients in the numerator must also be in the denominator."),
    ErrorCode("E-RULE-RATE-MISMATCH", _FR,
              "A reported rate does not equal the rate computed from its counts.",
              "Recompute the rate from the numerator and denominator (the message shows both)."),
    ErrorCode("E-RULE-TOTALS", _FR,
              "Strata do not add up to their total row, or a total row is missing.",
              "Make every stratum's counts add up to the total row of the same component.",
              (("xml", "Make the strata's counts add up to the total of the same component."),)),
    ErrorCode("E-RULE-COMPOSITE", _FR,
              "A composite's numerator is larger than one of its parts' numerators, or a part "
              "is missing.",
              "A patient who meets every target meets each one: recheck the composite count."),
    ErrorCode("E-RULE-DUPLICATE", _FR, "Two rows describe the same patient or the same stratum.",
              "Keep one row for each; the message names both rows.",
              (("xml", "Keep one element for each; the message names where both are."),)),
    ErrorCode("E-RULE-SAMPLE-SIZE", _FR, "The sample breaks the sampling rules of the measure.",
              "Follow the sampling rules in the message, or submit the full population."),
    ErrorCode("E-RULE-PERIOD", _FR,
              "A date or period is outside the dates of service of the reporting year.",
              "Check the reporting year and the date; the message gives the allowed period."),
    ErrorCode("E-RULE-AGE", _FR, "A patient's age or age band is outside the measure's range.",
              "Remove patients outside the measure's age range, or correct the age."),
    ErrorCode("E-RULE-ONE-FACILITY", _FR,
              "The file mixes facilities, measures or reporting years.",
              "Send one file per facility, measure and reporting year."),
    ErrorCode("E-RULE-CONSISTENCY", _FR,
              "Values in one row or across rows contradict each other.",
              "Correct the values named so they agree."),
    ErrorCode("E-RULE-MISSING-MEASURE", _FR, "A measure or row the file must contain is missing.",
              "Add the missing measure or row named in the message.",
              (("xml", "Add the missing <measure> element named in the message (the template "
                       "has every one)."),)),
    ErrorCode("W-RULE-PLAUSIBILITY", _FR, "A value is allowed but unusual; please check it.",
              "No change is needed if the value is right."),
    # -- submitter layer ----------------------------------------------------------------------
    ErrorCode("E-SUBMITTER-UNKNOWN", _S,
              "The upload folder belongs to no registered submitter (or one that may no longer "
              "submit); the file was not validated.",
              "Contact the program to be registered before submitting."),
    ErrorCode("E-SUBMITTER-FACILITY", _S,
              "The facility in the file is not registered to your organisation.",
              "Submit only for your own facilities, or ask the program to update the registry."),
    ErrorCode("E-SUBMITTER-NOT-APPLICABLE", _S,
              "The measure does not apply to your facility type.",
              "Nothing to submit for this measure; contact the program if the registry is wrong."),
    ErrorCode("W-SUBMITTER-LATE", _S,
              "The file arrived after its deadline; it was accepted and is recorded as late.",
              "No action needed for this file; submit earlier next time."),
    ErrorCode("E-SUBMITTER-LATE", _S,
              "The file arrived after its deadline and the program does not accept late files.",
              "Contact the program about a late submission."),
    ErrorCode("W-SUBMITTER-EARLY", _S, "The file arrived before its submission window opened.",
              "Check that the file holds the final data for the whole period; send it again "
              "once the window is open if it does not."),
    ErrorCode("E-SUBMITTER-SAMPLE", _S,
              "The file is a sample (population_basis SAMPLE) where the measure or your "
              "organisation must report the full population.",
              "Send the full population (FULL); a clinic whose electronic record covers the "
              "whole period always sends FULL."),
    ErrorCode("W-SUBMITTER-SKIPPED", _S,
              "No registry was found, so the submitter checks (facility, applicability, "
              "sampling, deadline) were not run on this file.",
              "Pass --registry FILE (or run where the gateway's registry.toml is) to preview "
              "the checks the gateway will run."),
    # -- processing ---------------------------------------------------------------------------
    ErrorCode("E-PROCESSING-LIMIT", _F,
              "The gateway stopped validating the file because it ran over its time or memory "
              "limit.", "Split the file into smaller files and upload them again."),
    ErrorCode("E-PROCESSING-FAILED", _F,
              "The gateway failed while validating the file. This is a fault in the gateway.",
              "Contact the program's help desk with this receipt's submission id."),
    # -- file layer: hostile or unreadable uploads ----------------------------------------------
    ErrorCode("E-FILE-ENCRYPTED", _F,
              "The workbook is password-protected (encrypted), so it cannot be read.",
              "Remove the password in Excel (File > Info > Protect Workbook), save, upload again."),
    ErrorCode("E-FILE-EXTERNAL-LINK", _F,
              "The workbook takes values from other workbooks (external links).",
              "In Excel use Data > Edit Links > Break Link, save, and upload the saved file."),
)


class Catalog:
    """Lookup of every known code, the core's and those the families contribute."""

    def __init__(self, codes: tuple[ErrorCode, ...] = CORE_CODES) -> None:
        self._codes: dict[str, ErrorCode] = {}
        for code in codes:
            self.add(code)

    def add(self, code: ErrorCode) -> None:
        """Register a code; a second, different definition of the same code is a plugin bug."""
        known = self._codes.get(code.code)
        if known is not None and known != code:
            raise ValueError(f"finding code {code.code} is defined twice with different texts")
        self._codes[code.code] = code

    def __getitem__(self, code: str) -> ErrorCode:
        return self._codes[code]

    def get(self, code: str) -> ErrorCode | None:
        return self._codes.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __iter__(self) -> Iterator[ErrorCode]:
        """Codes in layer order, then alphabetically: the order of the generated docs."""
        layers = list(Layer)
        return iter(sorted(self._codes.values(), key=lambda c: (layers.index(c.layer), c.code)))
