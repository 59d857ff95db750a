"""The ``sftp_site`` fixture: a real sshd and daemon (``tests/support/sftp.py``)."""

from tests.support.sftp import sftp_site  # noqa: F401
