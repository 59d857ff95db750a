"""The plugin object the entry point names: the family is its data files."""

from gateway.contract import Family

FAMILY = Family(__package__)
