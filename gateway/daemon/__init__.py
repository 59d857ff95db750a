"""The daemon: ``gateway serve`` and the commands that run and inspect it.

Intake (watching, settling, claiming), a worker pool and durable delivery around the one pipeline
function. Nothing here knows a measure; nothing in the pipeline knows about this package.
"""
