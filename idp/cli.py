"""The ``idp`` command: ``idp db upgrade``, ``idp customers ...``, ``idp demo`` and Flask's own."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from idp import create_app
from idp.errors import ValidationError
from idp.extensions import db
from idp.services import customers

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "correct horse battery staple"


def _app_factory() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_version_option=False)
def main() -> None:
    """idp, a customer identity provider."""


def _fail(error: ValidationError) -> None:
    for field, message in error.errors.items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(1)


@main.group("customers")
def customers_group() -> None:
    """Create and list customer accounts."""


@customers_group.command("create")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--given-name")
@click.option("--family-name")
@click.option("--phone", help="International format, for example +33612345678.")
@click.option("--birthdate", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--address", help='JSON: {"street_address", "locality", "region", "postal_code", "country"}')
@click.option("--locale", type=click.Choice(["en", "fr"]))
@click.option("--verified", is_flag=True, help="Mark the email (and phone) as verified.")
@with_appcontext
def create_customer(
    email: str, password_stdin: bool, given_name: str | None, family_name: str | None,
    phone: str | None, birthdate: date | None, address: str | None, locale: str | None,
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
            email=email, password=password, given_name=given_name, family_name=family_name,
            phone=phone, birthdate=birthdate.date() if birthdate else None,
            address=parsed_address, locale=locale,
            email_verified=verified, phone_verified=verified,
        )
    except ValidationError as exc:
        _fail(exc)
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
                click.echo(json.dumps({
                    "id": c.public_id, "email": c.email, "email_verified": c.email_verified,
                    "name": c.name, "status": c.status, "created_at": c.created_at.isoformat(),
                }))
            else:
                click.echo(f"{c.public_id}  {c.email:<40}  {c.status}")
        offset += len(batch)


def ensure_demo_data() -> None:
    """The demo customer, with every standard claim filled in; idempotent."""
    if customers.find_by_email(DEMO_EMAIL) is None:
        customers.create(
            email=DEMO_EMAIL, password=DEMO_PASSWORD, given_name="Camille", family_name="Martin",
            phone="+33612345678", birthdate=date(1990, 4, 12), locale="en",
            address={"street_address": "10 rue de Rivoli", "locality": "Paris",
                     "postal_code": "75001", "country": "FR"},
            email_verified=True, phone_verified=True,
        )
        db.session.commit()


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate the database, create the demo customer, and serve idp."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    ensure_demo_data()
    issuer = current_app.config["ISSUER"]
    click.echo(
        f"\nidp is ready at {issuer}\n"
        f"  sign in:   {issuer}/login\n"
        f"  demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
        f"  mail without SMTP goes to {current_app.instance_path}/outbox\n"
    )
    if no_serve:
        return
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
