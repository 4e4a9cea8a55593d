"""Hostile-input property tests: generated values thrown at every endpoint and form."""
