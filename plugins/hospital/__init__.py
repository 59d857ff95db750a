"""Hospital measure families (Minnesota Rules 4654, Appendix B)."""
