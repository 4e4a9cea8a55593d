"""``idp admins``: staff accounts of the admin console, created, listed, disabled and given a
role from the command line; every change is written to the audit log as the operator's.

An admin always has a password: ``create`` reads it from standard input with
``--password-stdin`` (scripts), or asks for it twice, hidden, when run at a terminal. The
second factor is set up at the first sign-in on the console.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import click
from flask.cli import with_appcontext

from idp.cli import fail, output
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import AdminRole, AdminStatus, AdminTotp, AdminUser
from idp.services import audit
from idp.services.admin import staff

ROLES = click.Choice([r.value for r in AdminRole])
ROLE_HELP = "viewer reads only; support acts on customer accounts; admin does everything."


def _with_second_factor(admins: Iterable[AdminUser]) -> set[int]:
    """Which of these admins finished setting up their authenticator app, in one query."""
    ids = [a.id for a in admins]
    if not ids:
        return set()
    return set(
        db.session.execute(
            db.select(AdminTotp.admin_id).where(
                AdminTotp.admin_id.in_(ids), AdminTotp.confirmed_at.is_not(None)
            )
        ).scalars()
    )


def describe(admin: AdminUser, second_factor: bool) -> dict[str, Any]:
    """A staff account as scripts read it; never its password hash nor its factor's secret."""
    return {
        "id": admin.public_id,
        "email": admin.email,
        "role": admin.role,
        "status": admin.status,
        "second_factor": second_factor,
        "created_at": admin.created_at,
        "last_sign_in_at": admin.last_sign_in_at,
        "disabled_at": admin.disabled_at,
    }


def _echo(admin: AdminUser, as_json: bool) -> None:
    described = describe(admin, admin.id in _with_second_factor([admin]))
    if as_json:
        output.json_object(described)
    else:
        output.fields(described.items())


def _load(identifier: str) -> AdminUser:
    try:
        return staff.find(identifier)
    except NotFound:
        fail(ValidationError({"admin": f"no staff account {identifier}"}))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail(ValidationError({"password": "an admin needs one: pipe it in with --password-stdin"}))
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("admins")
def admins_group() -> None:
    """Staff accounts of the admin console (not customers)."""


@admins_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=ROLES, help=ROLE_HELP)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input; without it, asked twice at a terminal.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def create_admin(email: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Create a staff account; its second factor is set up at its first sign-in."""
    password = _password(password_stdin)
    try:
        admin = staff.create(email=email, role=role, password=password, actor=audit.Actor.cli())
    except ValidationError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    _echo(admin, as_json)


@admins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def list_admins(as_json: bool) -> None:
    """Every staff account: id, email, role, status, second factor, last sign-in."""
    admins = staff.listing()
    with_factor = _with_second_factor(admins)
    if as_json:
        output.json_lines(describe(a, a.id in with_factor) for a in admins)
        return
    output.table(
        ("ID", "EMAIL", "ROLE", "STATUS", "SECOND FACTOR", "LAST SIGN-IN"),
        (
            (a.public_id, a.email, a.role, a.status, a.id in with_factor, a.last_sign_in_at)
            for a in admins
        ),
        empty="No staff accounts.",
    )


@admins_group.command("disable")
@click.argument("admin")
@click.option("--reason", help="Why, for the audit log (a ticket number, say).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def disable_admin(admin: str, reason: str | None, as_json: bool) -> None:
    """Switch off ADMIN (email or id) and end their console sessions; kept for the audit log."""
    found = _load(admin)
    if found.status == AdminStatus.DISABLED:
        click.echo(f"{found.email} was already disabled.", err=True)
    staff.disable(found, actor=audit.Actor.cli(), reason=reason)
    db.session.commit()
    _echo(found, as_json)


@admins_group.command("set-role")
@click.argument("admin")
@click.argument("role", type=ROLES)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def set_role(admin: str, role: str, as_json: bool) -> None:
    """Give ADMIN (email or id) another ROLE (viewer, support or admin)."""
    found = _load(admin)
    try:
        staff.set_role(found, role, actor=audit.Actor.cli())
    except ValidationError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    _echo(found, as_json)
