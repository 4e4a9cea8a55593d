"""Tests of the unified record: linked accounts, aliases, merges and their undo."""
