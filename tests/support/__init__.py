"""Helpers the test suites share: real system components the tests install and start."""
