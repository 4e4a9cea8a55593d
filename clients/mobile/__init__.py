"""A native app (RFC 8252) as a terminal program; ``python -m clients.mobile --help``."""
