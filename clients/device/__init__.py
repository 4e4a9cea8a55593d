"""A smart speaker signing in with RFC 8628; ``python -m clients.device --help``."""
