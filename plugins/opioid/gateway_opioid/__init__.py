"""The Opioid Prescribing Improvement Program (family ``opip``): a gateway plugin installed
on its own. The entry point is ``gateway_opioid.plugin``."""
