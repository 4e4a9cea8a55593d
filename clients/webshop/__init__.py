"""A Flask web shop signing in through idp; ``python -m clients.webshop --help``."""

from clients.webshop.app import Settings, create_app

__all__ = ["Settings", "create_app"]
