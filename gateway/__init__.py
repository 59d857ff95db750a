"""Validating gateway for statewide health-care quality reporting files.

The core knows files, formats, schemas, findings and receipts; it knows no measure. Measure
families arrive as pluggy plugins through the ``gateway.plugins`` entry-point group.
"""

__version__ = "0.1.0"

from gateway.contract.deprecation import MovedModules

MovedModules.install()  # old module paths keep working, with a warning, for one release
