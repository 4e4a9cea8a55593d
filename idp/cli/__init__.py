"""The ``idp`` command: ``idp db upgrade``, ``idp customers``, ``idp clients``, ``idp admins``,
``idp keys``, ``idp demo``. Each family of commands lives in its own module and prints through
``idp.cli.output`` (tables for people, ``--json`` for scripts).

A plain Click group, not Flask's ``FlaskGroup``: an operator has no use for ``--app``,
``--env-file``, ``run`` or ``shell``, and listing commands must not build the app (building it
writes ``instance/secret_key``), so ``--help`` at any level changes nothing. Commands that need
the app say so with ``flask.cli.with_appcontext``, which builds it from the ``ScriptInfo``
below only when the command really runs.
"""

from __future__ import annotations

import sys
from typing import NoReturn

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


def fail(error: ValidationError) -> NoReturn:
    """Print a service's field errors the way a shell user reads them, and exit 1.

    1, not Click's 2: 2 means the command line itself was wrong (an unknown option, a missing
    argument), 1 that the values were refused, so a script can tell the two apart.
    """
    for field, message in error.errors.items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(1)


def _register() -> None:
    from idp.cli import admins, clients, customers, database, demo, keys

    main.add_command(database.db_group)
    main.add_command(clients.clients_group)
    main.add_command(customers.customers_group)
    main.add_command(admins.admins_group)
    main.add_command(demo.demo)
    main.add_command(keys.keys_group)


_register()
