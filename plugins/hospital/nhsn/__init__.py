"""NHSN family: CDC/NHSN central line-associated bloodstream infections in NICUs and PICUs."""
