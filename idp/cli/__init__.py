"""The ``idp`` command: ``idp db upgrade``, ``idp customers``, ``idp clients``, ``idp keys``,
``idp demo``. Each family of commands lives in its own module.

A plain Click group, not Flask's ``FlaskGroup``: an operator has no use for ``--app``,
``--env-file``, ``run`` or ``shell``, and listing commands must not build the app (building it
writes ``instance/secret_key``), so ``--help`` at any level changes nothing. Commands that need
the app say so with ``flask.cli.with_appcontext``, which builds it from the ``ScriptInfo``
below only when the command really runs.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import ScriptInfo

from idp import create_app
from idp.config import ConfigError
from idp.errors import ValidationError


def _app_factory() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        # A bad setting stops the command with its message, not a traceback.
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """idp, a customer identity provider."""
    # Tests hand in a ScriptInfo of their own; otherwise the app is built on first use.
    if not isinstance(ctx.obj, ScriptInfo):
        ctx.obj = ScriptInfo(create_app=_app_factory, set_debug_flag=False)


def fail(error: ValidationError) -> None:
    """Print a service's field errors the way a shell user reads them, and exit 1."""
    for field, message in error.errors.items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(1)


def _register() -> None:
    from idp.cli import clients, customers, database, demo, keys

    main.add_command(database.db_group)
    main.add_command(clients.clients_group)
    main.add_command(customers.customers_group)
    main.add_command(demo.demo)
    main.add_command(keys.keys_group)


_register()
