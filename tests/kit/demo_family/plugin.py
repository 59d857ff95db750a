"""The demo family's plugin object: the whole family is data (manifest, schema, examples)."""

from gateway.kit.family import DataFamily

FAMILY = DataFamily(__package__)
