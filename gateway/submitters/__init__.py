"""Submitters: the registry of who may send files, what each owes, and whether it was sent.

``model`` holds the plain data plugins see (re-exported by ``gateway.contract.records``);
``registry_file`` reads and checks ``registry.toml``; ``layer`` is validation layer 4;
``windows`` says early, on time or late; ``obligations``, ``compliance`` and ``calendar`` answer
the operator's questions; ``keeper`` reloads the registry in a running daemon;
``registry_edit`` appends entries (``gateway submitter add``); ``commands`` are the CLI.
"""
