"""First-party measure families (installed as ``gateway_plugins``).

Each family registers through the ``gateway.plugins`` entry-point group exactly as an outside
package would, so these folders are the example a plugin author copies.
"""
