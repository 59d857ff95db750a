"""EDTC family: emergency department transfer communication (critical access hospitals)."""
