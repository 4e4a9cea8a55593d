"""``idp db``: Flask-Migrate's commands (upgrade, downgrade, current, history, ...) on idp's
own migrations.

Flask-Migrate's own ``db`` group builds the app in its callback, so ``idp db upgrade --help``
would write ``instance/secret_key``. This group holds copies of the subcommands that build the
app only when they really run. ``init``, ``edit`` and ``list-templates`` are left out: the
migrations folder ships with idp.
"""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import g
from flask.cli import with_appcontext
from flask_migrate.cli import db as flask_migrate_db

LEFT_OUT = {"init", "edit", "list-templates"}


@click.group("db")
def db_group() -> None:
    """Upgrade the database and inspect its migrations."""


def _without_group_options(command: click.Command) -> click.Command:
    """The command as Flask-Migrate defines it, with the defaults its group would have set."""
    inner = command.callback.__wrapped__  # type: ignore[union-attr]

    @with_appcontext
    @functools.wraps(inner)
    def run(*args: Any, **kwargs: Any) -> Any:
        # Flask-Migrate's group stores --directory and -x here; None means idp's migrations.
        g.directory = None
        g.x_arg = ()
        return inner(*args, **kwargs)

    return click.Command(
        command.name,
        callback=run,
        params=command.params,
        help=command.help,
        short_help=command.short_help,
    )


for _name, _command in flask_migrate_db.commands.items():
    if _name not in LEFT_OUT:
        db_group.add_command(_without_group_options(_command), _name)
