"""The validation engine: record layer (JSON Schema), file-rule layer, and the pipeline glue."""
