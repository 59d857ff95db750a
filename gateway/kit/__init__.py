"""The plugin author's kit: a table family written as data (``family``, ``manifest``,
``obligations``), rules that need every row (``collected_rules``), records typed through an
installed schema (``records``) and the conformance checks (``conformance``) that
``gateway check-plugin`` and the pytest plugin ``gateway.testing`` run. A plugin reaches what it
may use of the kit through ``gateway.contract``."""
