"""Physician clinic measure families (Minnesota Rules 4654, Appendix A)."""
