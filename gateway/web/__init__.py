"""The web console and JSON API (``gateway web``, specs/web.md): one ASGI application over the
same site as ``gateway serve``.

The console never validates a file on the daemon's behalf: an upload lands in the submitter's
``upload/`` folder and the daemon answers it like any SFTP upload. ``site`` is the one module
that imports the site's parts (config, ledger, folders, registry, compliance, receipts), so a
move of those parts changes one file here.
"""
