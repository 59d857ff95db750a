"""MN Community Measurement clinic measures (family ``mncm``), summary and patient level.

What differs between measures is data: ``manifest.toml`` (names, components, age bands, strata,
periods, sampling) and one JSON Schema per measure, level and reporting year under
``schemas/mncm/``. Python here holds only what declarations cannot say: who is in a numerator.
"""
