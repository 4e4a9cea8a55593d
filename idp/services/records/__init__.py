"""The unified record as a layer of its own: accounts in other systems linked to a customer
(``linked``), aliases left by merges and their resolution (``aliases``), merges with their undo
(``merge``, over the table rules in ``owned``) and pairs known to be two people (``distinct``).

The console, the admin API, the importer and sign-in all come through these modules, so the
rules that make a merge safe are written once; no view or command writes these tables itself.
Each change writes its timeline event and its audit entry in the caller's transaction.
"""
