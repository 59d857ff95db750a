"""Recognising data that is not submitted to the gateway as a file, and saying where it goes.

How such files are recognised (documented in docs/hospital-decisions.md):

- mortality: any cell of a ``measure``, ``measure_id`` or ``indicator`` column reading
  MORT-30-AMI, MORT-30-HF or MORT-30-PN, or a column whose name starts ``mort_30``;
- HCAHPS / CG-CAHPS: a column whose name contains ``hcahps`` or ``cahps``, or a measure id
  starting ``H_`` or ``HCAHPS`` (CMS's HCAHPS measure ids, e.g. H_COMP_1_A_P), or ``CG-CAHPS``;
- HIT surveys: a column whose name starts ``hit_`` or a measure id starting ``HIT-``.
"""

from __future__ import annotations

from gateway.contract import Candidate, FileSample

FAMILY = "not-submitted-here"
ID_COLUMNS = ("measure", "measure_id", "indicator")

WHERE = {
    "mortality": ("30-day mortality (MORT-30-AMI, MORT-30-HF, MORT-30-PN) is computed by CMS "
                  "from Medicare claims; hospitals do not submit it. The program takes the "
                  "results from CMS Hospital Compare, so nothing needs to be sent."),
    "hcahps": ("HCAHPS and CG-CAHPS patient-experience surveys are submitted through your "
               "certified survey vendor (HCAHPS to CMS, CG-CAHPS to MN Community Measurement), "
               "not uploaded here. Ask your vendor to include the program in its release."),
    "hit": ("The health information technology (HIT) surveys are answered on the web survey "
            "the Department of Health sends each year, not uploaded as a file. Contact the "
            "program for the survey link."),
}


def _kind(sample: FileSample) -> str | None:
    columns = [c.lower() for c in sample.columns]
    ids = [str(row.get(c) or "").strip().upper() for row in sample.rows for c in ID_COLUMNS]
    if any(c.startswith("mort_30") for c in columns) or any(i.startswith("MORT-30-") for i in ids):
        return "mortality"
    if any("cahps" in c for c in columns) or any(
            i.startswith(("H_", "HCAHPS", "CG-CAHPS", "CAHPS")) for i in ids):
        return "hcahps"
    if any(c.startswith("hit_") for c in columns) or any(i.startswith("HIT-") for i in ids):
        return "hit"
    return None


def refuse(sample: FileSample) -> list[Candidate]:
    """A refusing claim for mortality, HCAHPS or HIT data; nothing for anything else."""
    if sample.format not in ("csv", "xlsx"):
        return []
    kind = _kind(sample)
    if kind is None:
        return []
    return [Candidate(FAMILY, kind, "summary", None, refusal=WHERE[kind])]
