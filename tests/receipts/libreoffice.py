"""Files as LibreOffice writes them: a CSV opened and saved as .xlsx by LibreOffice Calc.

Abstractors keep their data in a spreadsheet program, so the receipts are tried on workbooks
a real spreadsheet program wrote (dates become date cells, long numbers become numbers), not
only on workbooks a Python library wrote. LibreOffice is installed by the test set-up when
missing (``tests.support.system``); a test needing it fails, never skips, without it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.receipts.files import write_table
from tests.support.system import require_command


def soffice() -> str:
    return require_command("soffice", "libreoffice-calc-nogui")


def convert(sources: list[Path], target: str, out: Path) -> list[Path]:
    """``sources`` converted to ``target`` (``xlsx``, ``pdf``) by one LibreOffice run, in a
    throw-away profile so parallel runs do not share one."""
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "lo-profile"
    subprocess.run([soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", target, "--outdir", str(out), *map(str, sources)],
                   check=True, capture_output=True, timeout=300)
    converted = [out / f"{source.stem}.{target}" for source in sources]
    missing = [p.name for p in converted if not p.exists()]
    assert not missing, f"LibreOffice wrote no {missing}"
    return converted


def csv_and_libreoffice_xlsx(rows: list[list[str]], folder: Path, name: str
                             ) -> list[Path]:
    """The rows as a CSV and as the .xlsx LibreOffice saves from it."""
    folder.mkdir(parents=True, exist_ok=True)
    source = write_table(rows, folder / f"{name}.csv")
    [workbook] = convert([source], "xlsx", folder / "libreoffice")
    return [source, workbook]
