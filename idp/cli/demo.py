"""``idp demo``: a ready-to-try idp on SQLite with the documented demo customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from idp import config, security
from idp.extensions import db
from idp.models.types import utcnow
from idp.services import audit, clients, customers, keys
from idp.services.admin import staff

DEMO_EMAIL = "demo@example.com"
# Public on purpose: the README prints it so anyone can try the demo.
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105
# The example clients' ids and secrets are fixed for the same reason (clients/README.md shows
# them); never do this for a real client.
DEMO_CLIENT_ID = "demo-shop"
DEMO_CLIENT_SECRET = "demo-shop-secret"  # noqa: S105
DEMO_REDIRECT_URI = "http://127.0.0.1:8001/callback"
# The demo's staff account, public for the same reason; its second factor is set up at the
# first sign-in, as for any staff account.
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "staff console battery staple"  # noqa: S105
DEFAULT_ISSUER = "http://localhost:5000"
SHOP_A_URL = "http://127.0.0.1:8001"
SHOP_B_URL = "http://127.0.0.1:8002"


@dataclass(frozen=True)
class ExampleClient:
    """One application of ``clients/``, registered under a fixed id so its defaults just work."""

    client_id: str
    name: str
    client_type: str
    secret: str | None
    command: str
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None

    def command_for(self, issuer: str) -> str:
        """The one command that starts it; ``--issuer`` only when idp is not on the default."""
        return self.command if issuer == DEFAULT_ISSUER else f"{self.command} --issuer {issuer}"


def _shop(client_id: str, name: str, secret: str, url: str, command: str) -> ExampleClient:
    return ExampleClient(
        client_id=client_id,
        name=name,
        client_type="web",
        secret=secret,
        command=command,
        redirect_uris=(f"{url}/callback",),
        post_logout_redirect_uris=(f"{url}/",),
        backchannel_logout_uri=f"{url}/backchannel-logout",
    )


def example_clients(
    shop_a: str = SHOP_A_URL, shop_b: str = SHOP_B_URL
) -> tuple[ExampleClient, ...]:
    """The example applications; tests pass the shops' real URLs when they pick other ports."""
    python = ".venv/bin/python -m"
    return (
        _shop(
            DEMO_CLIENT_ID,
            "Demo shop",
            DEMO_CLIENT_SECRET,
            shop_a,
            f"{python} clients.webshop --brand 'Demo shop' --port 8001",
        ),
        _shop(
            "demo-shop-b",
            "Demo shop B",
            "demo-shop-b-secret",
            shop_b,
            f"{python} clients.webshop --brand 'Demo shop B' --port 8002 "
            "--client-id demo-shop-b --client-secret demo-shop-b-secret",
        ),
        # RFC 8252 7.3: the app listens on 127.0.0.1 on any free port; only the path is fixed.
        ExampleClient(
            client_id="demo-mobile",
            name="Demo mobile app",
            client_type="native",
            secret=None,
            command=f"{python} clients.mobile",
            redirect_uris=("http://127.0.0.1/callback",),
        ),
        ExampleClient(
            client_id="demo-speaker",
            name="Demo smart speaker",
            client_type="device",
            secret=None,
            command=f"{python} clients.device",
        ),
    )


def ensure_example_clients(examples: tuple[ExampleClient, ...]) -> None:
    """Register each example under its fixed id, unless that id is taken; idempotent."""
    for example in examples:
        if clients.get(example.client_id) is not None:
            continue
        client, _ = clients.create(
            name=example.name,
            client_type=example.client_type,
            redirect_uris=example.redirect_uris,
            post_logout_redirect_uris=example.post_logout_redirect_uris,
            backchannel_logout_uri=example.backchannel_logout_uri,
        )
        client.client_id = example.client_id
        if example.secret is not None:
            client.client_secret_digest = security.digest(example.secret)
    db.session.commit()


def ensure_demo_data() -> None:
    """The demo customer, with every standard claim filled in, and the example clients;
    idempotent."""
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
    if staff.find_by_email(DEMO_ADMIN_EMAIL) is None:
        staff.create(
            email=DEMO_ADMIN_EMAIL,
            role="admin",
            password=DEMO_ADMIN_PASSWORD,
            actor=audit.Actor.system("idp demo"),
        )
        db.session.commit()
    ensure_example_clients(example_clients())


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
        f"  admin console: {issuer}/admin/login as {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} "
        "(set up an authenticator app at the first sign-in)\n"
        f"  mail without SMTP goes to {current_app.instance_path}/outbox\n"
        "\nThe example applications (clients/README.md), each in its own terminal, from the "
        "repository's root:"
    )
    for example in example_clients():
        click.echo(f"  {example.client_id:<13} {example.command_for(issuer)}")
    click.echo("")
    if no_serve:
        return
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
