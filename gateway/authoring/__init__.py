"""Authoring aids generated from the plugins' schemas: blank submission templates and the
published submission specification.

Nothing here knows a measure. Every column, code, range and rule comes from the JSON Schemas
and hooks the families already give the validator, so the template a clinic fills in, the
specification it reads and the checks its file meets cannot drift apart.
"""
