"""The reference store of an installation: the facts remembered from accepted files, kept in
the ledger's database (``store`` opens it; ``database`` holds the SQL). The types a plugin sees
(``ReferenceView`` and its kin) are part of the contract: ``gateway.contract.records.reference``."""
