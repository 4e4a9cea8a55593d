"""The company's side: staff accounts and what only staff do (search, signals)."""
