"""The ``idp`` command: ``idp db upgrade``, ``idp customers``, ``idp clients``, ``idp keys``,
``idp demo`` and Flask's own. Each family of commands lives in its own module."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from idp import create_app
from idp.errors import ValidationError


def _app_factory() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_version_option=False)
def main() -> None:
    """idp, a customer identity provider."""


def fail(error: ValidationError) -> None:
    """Print a service's field errors the way a shell user reads them, and exit 1."""
    for field, message in error.errors.items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(1)


def _register() -> None:
    from idp.cli import clients, customers, demo, keys

    main.add_command(clients.clients_group)
    main.add_command(customers.customers_group)
    main.add_command(demo.demo)
    main.add_command(keys.keys_group)


_register()
