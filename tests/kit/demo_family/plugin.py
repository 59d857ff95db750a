"""The demo family's plugin object: the whole family is data (manifest, schema, examples)."""

from gateway.contract import Family

FAMILY = Family(__package__)
