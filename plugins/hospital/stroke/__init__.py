"""Stroke family: Minnesota Stroke Registry indicators from patient-level rows."""
