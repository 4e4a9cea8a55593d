"""``idp customers``: create and list customer accounts from scripts."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from flask.cli import with_appcontext

from idp.cli import fail
from idp.errors import ValidationError
from idp.extensions import db
from idp.services import customers


@click.group("customers")
def customers_group() -> None:
    """Create and list customer accounts."""


@customers_group.command("create")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--given-name")
@click.option("--family-name")
@click.option("--phone", help="International format, for example +33612345678.")
@click.option("--birthdate", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option(
    "--address",
    help='JSON: {"street_address", "locality", "region", "postal_code", "country"}',
)
@click.option("--locale", type=click.Choice(["en", "fr"]))
@click.option("--verified", is_flag=True, help="Mark the email (and phone) as verified.")
@with_appcontext
def create_customer(
    email: str,
    password_stdin: bool,
    given_name: str | None,
    family_name: str | None,
    phone: str | None,
    birthdate: datetime | None,
    address: str | None,
    locale: str | None,
    verified: bool,
) -> None:
    """Create a customer; without --password-stdin the account has no password yet."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        parsed_address = json.loads(address) if address else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--address") from exc
    if parsed_address is not None and not isinstance(parsed_address, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--address")
    try:
        customer = customers.create(
            email=email,
            password=password,
            given_name=given_name,
            family_name=family_name,
            phone=phone,
            birthdate=birthdate.date() if birthdate else None,
            address=parsed_address,
            locale=locale,
            email_verified=verified,
            phone_verified=verified,
        )
    except ValidationError as exc:
        fail(exc)
        return
    db.session.commit()
    click.echo(customer.public_id)


@customers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def list_customers(as_json: bool) -> None:
    """Every customer: public id, email, status."""
    offset = 0
    while batch := customers.list_customers(limit=500, offset=offset):
        for c in batch:
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "id": c.public_id,
                            "email": c.email,
                            "email_verified": c.email_verified,
                            "name": c.name,
                            "status": c.status,
                            "created_at": c.created_at.isoformat(),
                        }
                    )
                )
            else:
                click.echo(f"{c.public_id}  {c.email:<40}  {c.status}")
        offset += len(batch)
