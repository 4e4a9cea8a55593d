"""``idp customers``: create and list customer accounts from scripts."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from idp.cli import fail
from idp.errors import ValidationError
from idp.extensions import db
from idp.services import customers, mfa
from idp.services.events import EventTag
from idp.views import context


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


@customers_group.command("reset-mfa")
@click.argument("customer")
@click.option("--reason", required=True, help="Why, for the record (a ticket number, say).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def reset_mfa(customer: str, reason: str, yes: bool) -> None:
    """Remove every second factor of CUSTOMER (email or customer id) who lost them all.

    Check who is asking first: this lets the password alone in again. The authenticator app,
    passkeys, recovery codes and remembered browsers go; the customer's sessions end; the
    customer is mailed and the reset is recorded on their history.
    """
    found = customers.find_by_public_id(customer) or customers.find_by_email(customer)
    if found is None:
        click.echo(f"error: customer: no customer {customer}", err=True)
        sys.exit(1)
    if not yes:
        click.confirm(f"Remove every second factor of {found.email}?", abort=True)
    removed = mfa.reset(found)
    mfa.factor_changed(
        found,
        EventTag.MFA_RESET,
        meta=None,
        mailer=context.mailer(),
        issuer=current_app.config["ISSUER"],
        method="operator",
        reason=reason[:200],
    )
    db.session.commit()
    context.mailer().flush()  # the command must not exit before the mail is handed over
    click.echo(f"Removed {removed} second factor(s) of {found.email}; the customer was mailed.")
