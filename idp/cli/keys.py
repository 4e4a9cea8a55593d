"""``idp keys``: list the signing keys and rotate them."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from idp import config
from idp.cli import fail, output
from idp.errors import ValidationError
from idp.extensions import db
from idp.models.types import utcnow
from idp.services import keys


@click.group("keys")
def keys_group() -> None:
    """List and rotate the keys that sign ID tokens and JWT access tokens."""


def _date(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def list_keys(as_json: bool) -> None:
    """Every key: kid, alg, state (next, active, retired, expired) and its dates."""
    now = utcnow()
    every = keys.list_keys()
    if as_json:
        output.json_lines(
            {
                "kid": key.kid,
                "alg": key.alg,
                "state": str(key.state(now)),
                "created_at": _date(key.created_at),
                "activates_at": _date(key.activates_at),
                "retired_at": _date(key.retired_at),
                "expires_at": _date(key.expires_at),
            }
            for key in every
        )
        return
    output.table(
        ("KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "RETIRES", "EXPIRES"),
        (
            (
                key.kid,
                key.alg,
                str(key.state(now)),
                key.created_at,
                key.activates_at,
                key.retired_at,
                key.expires_at,
            )
            for key in every
        ),
        empty="No signing keys: `idp keys rotate` makes the first ones.",
    )


@keys_group.command("rotate")
@click.option(
    "--alg", type=click.Choice([*keys.ALGORITHMS, "all"]), default="all", show_default=True
)
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="Emergency, after a leak: the new key signs at once and the old one stops signing at "
    "once, but stays in the JWKS until the tokens it signed expire. Without it the new key is "
    "published IDP_KEY_PUBLISH_AHEAD seconds before it signs.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per new key.")
@with_appcontext
def rotate(alg: str, immediately: bool, as_json: bool) -> None:
    """Add a new signing key that takes over from the current one; prints its kid."""
    settings = current_app.config
    publish_ahead = timedelta(seconds=0 if immediately else settings["KEY_PUBLISH_AHEAD"])
    # Retired keys stay published as long as the longest-lived token they may have signed.
    lifetime = timedelta(
        seconds=max(settings["ID_TOKEN_LIFETIME"], settings["ACCESS_TOKEN_LIFETIME"])
    )
    encryption_key = config.key_encryption_key(settings)
    now = utcnow()
    created = []
    try:
        for name in keys.ALGORITHMS if alg == "all" else (alg,):
            created.append(
                keys.rotate(name, publish_ahead, lifetime, now, encryption_key=encryption_key)
            )
    except ValidationError as exc:
        db.session.rollback()
        fail(exc)
        return
    db.session.commit()
    if as_json:
        output.json_lines(
            {"kid": k.kid, "alg": k.alg, "activates_at": _date(k.activates_at)} for k in created
        )
        return
    for key in created:
        click.echo(f"{key.kid}  {key.alg}  signs from {_date(key.activates_at)}")
