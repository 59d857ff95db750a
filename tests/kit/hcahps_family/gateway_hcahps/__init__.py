"""An HCAHPS summary family: the built-in refusal says HCAHPS goes through survey vendors; a
program that collects a summary itself installs this and disables ``refuse-hcahps``."""
