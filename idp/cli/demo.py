"""``idp demo``: a ready-to-try idp on SQLite with the documented demo customer."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from idp import config, security
from idp.extensions import db
from idp.models.types import utcnow
from idp.services import clients, customers, keys

DEMO_EMAIL = "demo@example.com"
# Public on purpose: the README prints it so anyone can try the demo.
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105
# The demo shop's credentials are fixed for the same reason; never do this for a real client.
DEMO_CLIENT_ID = "demo-shop"
DEMO_CLIENT_SECRET = "demo-shop-secret"  # noqa: S105
DEMO_REDIRECT_URI = "http://127.0.0.1:8001/callback"


def ensure_demo_data() -> None:
    """The demo customer, with every standard claim filled in; idempotent."""
    if customers.find_by_email(DEMO_EMAIL) is None:
        customers.create(
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
            given_name="Camille",
            family_name="Martin",
            phone="+33612345678",
            birthdate=date(1990, 4, 12),
            locale="en",
            address={
                "street_address": "10 rue de Rivoli",
                "locality": "Paris",
                "postal_code": "75001",
                "country": "FR",
            },
            email_verified=True,
            phone_verified=True,
        )
        db.session.commit()
    if clients.get(DEMO_CLIENT_ID) is None:
        client, _ = clients.create(
            name="Demo shop",
            client_type="web",
            redirect_uris=[DEMO_REDIRECT_URI],
            post_logout_redirect_uris=["http://127.0.0.1:8001/"],
            backchannel_logout_uri="http://127.0.0.1:8001/backchannel-logout",
        )
        client.client_id = DEMO_CLIENT_ID
        client.client_secret_digest = security.digest(DEMO_CLIENT_SECRET)
        db.session.commit()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate the database, create the demo customer, and serve idp."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    ensure_demo_data()
    keys.ensure_keys(utcnow(), encryption_key=config.key_encryption_key(current_app.config))
    db.session.commit()
    issuer = current_app.config["ISSUER"]
    click.echo(
        f"\nidp is ready at {issuer}\n"
        f"  sign in:   {issuer}/login\n"
        f"  demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
        f"  discovery: {issuer}/.well-known/openid-configuration\n"
        f"  demo client:   {DEMO_CLIENT_ID} / {DEMO_CLIENT_SECRET} "
        f"(redirect URI {DEMO_REDIRECT_URI})\n"
        f"  mail without SMTP goes to {current_app.instance_path}/outbox\n"
    )
    if no_serve:
        return
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
