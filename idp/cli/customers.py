"""``idp customers``: create, list and show customer accounts; reset a lost second factor."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from idp.cli import fail, output
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, CustomerStatus
from idp.services import customer_view, customers, mail, mfa
from idp.services.events import EventTag


@click.group("customers")
def customers_group() -> None:
    """Create, list and show customer accounts."""


def status(customer: Customer) -> str:
    """The status an operator reads: an account whose email was never confirmed says so."""
    if customer.status == CustomerStatus.ACTIVE and not customer.email_verified:
        return "active (email unverified)"
    return customer.status


def describe(customer: Customer) -> dict[str, Any]:
    """A customer as scripts read it (``list --json``, ``create --json``)."""
    return {
        "id": customer.public_id,
        "email": customer.email,
        "email_verified": customer.email_verified,
        "name": customer.name,
        "phone": customer.phone,
        "phone_verified": customer.phone_verified,
        "status": customer.status,
        "created_at": customer.created_at,
    }


def _load(identifier: str) -> Customer:
    found = customer_view.find(identifier)
    if found is None:
        fail(ValidationError({"customer": f"no customer {identifier}"}))
    return found


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
@click.option("--json", "as_json", is_flag=True, help="Print the customer as a JSON object.")
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
    as_json: bool,
) -> None:
    """Create a customer and print its id; without --password-stdin it has no password yet."""
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
    if as_json:
        output.json_object(describe(customer))
    else:
        click.echo(customer.public_id)


@customers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def list_customers(as_json: bool) -> None:
    """Every customer: id, email, name, verification of email and phone, status."""

    def every() -> Iterator[Customer]:
        offset = 0
        while batch := customers.list_customers(limit=500, offset=offset):
            yield from batch
            offset += len(batch)

    if as_json:
        output.json_lines(describe(c) for c in every())
        return
    output.table(
        ("ID", "EMAIL", "NAME", "EMAIL VERIFIED", "PHONE", "PHONE VERIFIED", "STATUS"),
        (
            (
                c.public_id,
                c.email,
                c.name,
                c.email_verified,
                c.phone,
                c.phone_verified if c.phone else None,
                status(c),
            )
            for c in every()
        ),
        empty="No customers.",
    )


def _show_json(view: customer_view.CustomerView) -> dict[str, Any]:
    c = view.customer
    return {
        **describe(c),
        "given_name": c.given_name,
        "family_name": c.family_name,
        "birthdate": c.birthdate,
        "locale": c.locale,
        "address": c.address,
        "merged_into": view.merged_into,
        "linked_accounts": [asdict(a) for a in view.linked_accounts],
        "second_factors": [asdict(f) for f in view.factors],
        "live_sessions": view.live_sessions,
        "connected_apps": [asdict(a) for a in view.connected_apps],
        "timeline": [asdict(e) for e in view.timeline],
    }


def _summary(attributes: dict[str, Any], limit: int = 60) -> str:
    """What a linked system knows, on one line: ``key=value`` pairs, cut at ``limit``."""
    text = " ".join(f"{k}={output.cell(v)}" for k, v in sorted(attributes.items()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@customers_group.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def show_customer(customer: str, as_json: bool) -> None:
    """One customer (email or customer id): profile, linked accounts, second factors, sessions,
    connected apps and the last 20 events."""
    view = customer_view.view(_load(customer))
    if as_json:
        output.json_object(_show_json(view))
        return
    c = view.customer
    address = (c.address or {}).get("formatted")
    output.fields(
        [
            ("id", c.public_id),
            ("email", f"{c.email} ({'verified' if c.email_verified else 'unverified'})"),
            (
                "phone",
                f"{c.phone} ({'verified' if c.phone_verified else 'unverified'})"
                if c.phone
                else None,
            ),
            ("given name", c.given_name),
            ("family name", c.family_name),
            ("birthdate", c.birthdate),
            ("locale", c.locale),
            ("address", address.replace("\n", ", ") if address else None),
            ("status", status(c)),
            *([("merged into", view.merged_into)] if view.merged_into else []),
            ("created", c.created_at),
            ("live sessions", str(view.live_sessions)),
        ]
    )
    sections: list[tuple[str, tuple[str, ...], list[tuple[object, ...]], str]] = [
        (
            "Linked accounts",
            ("SOURCE", "SOURCE ID", "ATTRIBUTES", "LINKED"),
            [
                (a.source, a.source_id, _summary(a.attributes), a.created_at)
                for a in view.linked_accounts
            ],
            "none",
        ),
        (
            "Second factors",
            ("KIND", "NAME", "ADDED", "LAST USED"),
            [
                (
                    f.kind,
                    f"{f.remaining} left" if f.remaining is not None else f.name,
                    f.created_at,
                    f.last_used_at,
                )
                for f in view.factors
            ],
            "none",
        ),
        (
            "Connected apps",
            ("CLIENT ID", "NAME", "SCOPES", "GRANTED"),
            [(a.client_id, a.client_name, a.scopes, a.granted_at) for a in view.connected_apps],
            "none",
        ),
        (
            f"Last {customer_view.TIMELINE} events",
            ("WHEN", "EVENT", "OK", "CLIENT", "CHANNEL", "IP"),
            [
                (
                    output.to_the_second(e.at),
                    e.tag,
                    e.success,
                    e.client_name or e.client_id,
                    e.channel,
                    e.ip,
                )
                for e in view.timeline
            ],
            "none",
        ),
    ]
    for title, headers, rows, empty in sections:
        click.echo("")
        click.echo(f"{title}:")
        if rows:
            output.table(headers, rows, empty=empty)
        else:
            click.echo(f"  {empty}")


@customers_group.command("reset-mfa")
@click.argument("customer")
@click.option("--reason", required=True, help="Why, for the record (a ticket number, say).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def reset_mfa(customer: str, reason: str, yes: bool, as_json: bool) -> None:
    """Remove every second factor of CUSTOMER (email or customer id) who lost them all.

    Check who is asking first: this lets the password alone in again. The authenticator app,
    passkeys, recovery codes and remembered browsers go; the customer's sessions end; the
    customer is mailed and the reset is recorded on their history.
    """
    found = _load(customer)
    if not yes:
        click.confirm(f"Remove every second factor of {found.email}?", abort=True)
    removed = mfa.reset(found)
    mfa.factor_changed(
        found,
        EventTag.MFA_RESET,
        meta=None,
        mailer=mail.mailer(),
        issuer=current_app.config["ISSUER"],
        method="operator",
        reason=reason[:200],
    )
    db.session.commit()
    mail.mailer().flush()  # the command must not exit before the mail is handed over
    if as_json:
        output.json_object({"id": found.public_id, "email": found.email, "removed": removed})
    else:
        click.echo(f"Removed {removed} second factor(s) of {found.email}; the customer was mailed.")
