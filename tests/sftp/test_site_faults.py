"""Real life on the recipe's site: the pre-flight finds nothing wrong with what the recipe built;
a submitter that drops the setgid bit of its own upload/ over SFTP blocks only itself, is
reported with the operator's fix (in status and by the doctor) and never gets advice it cannot
follow; the fix the doctor names mends it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.sftp.test_sftp import VALID
from tests.support.daemon import wait_until
from tests.support.sftp import RECIPE, Site


def _doctor(site: Site) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(site.root / "gateway"), "doctor", "--config", str(site.site / "gateway.toml"),
         "--account", site.service, "--sshd-config-dir", str(site.root / "sshd_config.d"),
         "--sshd-config", str(site.root / "sshd_config")],
        capture_output=True, text=True, env=site.env, timeout=300)


def _status(site: Site) -> dict:
    done = subprocess.run([str(site.root / "gateway"), "status", "--json", "--config",
                           str(site.site / "gateway.toml")], capture_output=True, text=True,
                          env=site.env, timeout=120)
    return json.loads(done.stdout)


def test_the_recipes_site_passes_the_doctor(sftp_site: Site) -> None:
    done = _doctor(sftp_site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problems found" in done.stdout
    assert f"as {sftp_site.service}" not in done.stdout  # the account ran its own checks


def test_a_submitter_that_drops_its_setgid_bit_blocks_only_itself(sftp_site: Site) -> None:
    user, other = sftp_site.submitters[1], sftp_site.submitters[0]
    upload = sftp_site.folder(user) / "upload"
    done = sftp_site.sftp(user, "chmod 770 upload", f"put {VALID} upload/after-chmod.csv")
    assert done.returncode == 0, done.stderr
    try:
        wait_until(lambda: user in _status(sftp_site).get("blocked_submitters", {}), 90,
                   "the lost setgid bit in the status")
        reason = _status(sftp_site)["blocked_submitters"][user]
        assert "setgid" in reason and f"gateway submitter add {user}" in reason
        assert sftp_site.sftp(other, f"put {VALID} upload/meanwhile.csv").returncode == 0
        sftp_site.wait_receipts(other, "meanwhile.csv")
        assert sftp_site.receipts(user, "after-chmod.csv") == []  # no E-FILE-UNREADABLE
        report = _doctor(sftp_site)
        assert report.returncode == 1
        assert f"submitter {user}'s folders: its upload/ folder lost its setgid bit" in (
            report.stdout)
    finally:  # the operator's fix, as the status and the doctor name it
        key = Path(f"{sftp_site.keys[user]}.pub")
        mended = subprocess.run([str(RECIPE), "submitter", user, str(key)], env=sftp_site.env,
                                capture_output=True, text=True, timeout=300)
        assert mended.returncode == 0, mended.stderr
    # The file that came meanwhile still has the submitter's group: it waits for the chgrp,
    # which the status names once the daemon has looked at the mended folder again.
    wait_until(lambda: "chgrp" in _status(sftp_site).get("blocked_submitters", {}).get(user, ""),
               90, "the chgrp in the status")
    assert (upload / "after-chmod.csv").exists()
    subprocess.run(["chgrp", sftp_site.service, str(upload / "after-chmod.csv")], check=True)
    [receipt] = sftp_site.wait_receipts(user, "after-chmod.csv")
    assert receipt["status"] == "accepted"
    wait_until(lambda: user not in _status(sftp_site).get("blocked_submitters", {}), 90,
               "the submitter unblocked")
