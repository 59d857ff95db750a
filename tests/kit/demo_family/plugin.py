"""The demo family's plugin object: the whole family is data (manifest, schema, examples)."""

from gateway.family import DataFamily

FAMILY = DataFamily(__package__)
