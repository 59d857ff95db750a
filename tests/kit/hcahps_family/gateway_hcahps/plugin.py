"""The plugin object the entry point names: the family is its data files."""

from gateway.family import DataFamily

FAMILY = DataFamily(__package__)
