"""AHRQ family: AHRQ Quality Indicators (IQI, PSI, PDI) computed with the AHRQ QI software."""
