"""The real-daemon fixture of the daemon tests, for the hostile uploads that go through it."""

from tests.daemon.conftest import make_gateway  # noqa: F401
