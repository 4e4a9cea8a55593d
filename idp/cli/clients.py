"""``idp clients``: register, inspect, change and remove OAuth clients; mint registration tokens.

A client secret is printed once, by ``create`` or ``update --rotate-secret``; nothing else can
show it, since only its digest is stored. ``--grant`` sets the grants a client holds (its type's
preset when omitted), by short name; the policy is ``idp.services.client_metadata``'s.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from idp.cli import fail, output
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Client, ClientType
from idp.services import clients

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# --grant takes these short names (the device grant's URN is long to type) or the full names.
GRANT_NAMES = {
    "authorization_code": clients.AUTHORIZATION_CODE,
    "refresh_token": clients.REFRESH_TOKEN,
    "client_credentials": clients.CLIENT_CREDENTIALS,
    "device_code": clients.DEVICE_CODE,
}
GRANT_HELP = f"One of {', '.join(GRANT_NAMES)}; repeat for several."
SHORT_GRANTS = {full: short for short, full in GRANT_NAMES.items()}


def describe(client: Client, secret: str | None = None) -> dict[str, Any]:
    """The client as scripts read it: RFC 7591 names, plus our type and policy flags."""
    described: dict[str, Any] = {"client_id": client.client_id}
    if secret is not None:
        described["client_secret"] = secret
    described.update(
        client_type=client.client_type,
        first_party=client.first_party,
        require_mfa=client.require_mfa,
    )
    described.update(client.client_metadata)
    # A stable shape for scripts, even when the client has no back-channel logout.
    described.setdefault("backchannel_logout_uri", None)
    described.setdefault("require_pushed_authorization_requests", False)
    described.setdefault("dpop_bound_access_tokens", False)
    described["resources"] = list(client.resources or [])
    described["profile"] = client.profile
    described["created_at"] = client.created_at.isoformat()
    return described


def _echo(client: Client, secret: str | None, as_json: bool) -> None:
    described = describe(client, secret)
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for key, value in described.items():
        if isinstance(value, list):
            value = " ".join(value) if value else "-"
        elif isinstance(value, dict):
            value = json.dumps(value)
        click.echo(f"{key + ':':<30} {'-' if value is None else value}")
    if secret is not None:
        click.echo("The secret is shown only this once: store it now.", err=True)


def _load(client_id: str) -> Client:
    client = clients.get(client_id)
    if client is None:
        click.echo(f"error: client_id: no client {client_id}", err=True)
        sys.exit(1)
    return client


def _grants(names: tuple[str, ...]) -> list[str] | None:
    """The grants named on the command line, or None when ``--grant`` was not given; unknown
    names go through as typed, for the service to refuse under ``grant_types``."""
    return [GRANT_NAMES.get(name, name) for name in names] if names else None


def _json_option(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from exc


PROFILE_HELP = "fapi2: PAR, PKCE, DPoP and private_key_jwt required (FAPI 2.0)."
RESOURCE_HELP = "An API (RFC 8707 resource indicator) it may ask tokens for; repeat for several."


@click.group("clients")
def clients_group() -> None:
    """Register and manage OAuth clients."""


@clients_group.command("create")
@click.option("--name", required=True, help="Shown to customers on the consent page.")
@click.option(
    "--type", "client_type", required=True, type=click.Choice([t.value for t in ClientType])
)
@click.option(
    "--grant", "grants", multiple=True, metavar="GRANT", help=f"{GRANT_HELP} Default: by type."
)
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeat for several.")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--first-party", is_flag=True, help="One of our own apps: no consent screen.")
@click.option("--require-mfa", is_flag=True, help="Every sign-in for it needs a second factor.")
@click.option("--require-par", is_flag=True, help="Its requests must be pushed first (RFC 9126).")
@click.option("--dpop", is_flag=True, help="Its tokens must be DPoP-bound (RFC 9449).")
@click.option("--resource", "resources", multiple=True, metavar="URI", help=RESOURCE_HELP)
@click.option("--profile", type=click.Choice(["oidc", "fapi2"]), help=PROFILE_HELP)
@click.option("--auth-method", type=click.Choice(AUTH_METHODS), help="Default: by type.")
@click.option("--id-token-alg", type=click.Choice(clients.ID_TOKEN_ALGS), default="ES256")
@click.option("--scope", help="Allowed scopes, space separated.")
@click.option("--jwks", help="Public JWK Set as JSON, for private_key_jwt.")
@click.option("--jwks-uri", help="Where the client publishes its JWK Set, for private_key_jwt.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def create_client(
    name: str,
    client_type: str,
    grants: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    post_logout_redirect_uris: tuple[str, ...],
    backchannel_logout_uri: str | None,
    first_party: bool,
    require_mfa: bool,
    require_par: bool,
    dpop: bool,
    resources: tuple[str, ...],
    profile: str | None,
    auth_method: str | None,
    id_token_alg: str,
    scope: str | None,
    jwks: str | None,
    jwks_uri: str | None,
    as_json: bool,
) -> None:
    """Register a client and print its id and, once, its secret."""
    flags = {"require_pushed_authorization_requests": require_par, "dpop_bound_access_tokens": dpop}
    try:
        client, secret = clients.create(
            name=name,
            client_type=client_type,
            grant_types=_grants(grants),
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            backchannel_logout_uri=backchannel_logout_uri,
            first_party=first_party,
            require_mfa=require_mfa,
            token_endpoint_auth_method=auth_method,
            id_token_signed_response_alg=id_token_alg,
            jwks=_json_option(jwks, "--jwks"),
            jwks_uri=jwks_uri,
            scope=scope,
            extra={name: True for name, on in flags.items() if on},
            resources=resources,
            profile=None if profile == "oidc" else profile,
        )
    except ValidationError as exc:
        fail(exc)
        return
    db.session.commit()
    _echo(client, secret, as_json)


@clients_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def list_clients(as_json: bool) -> None:
    """Every client: id, name, type, grants, created."""
    every = clients.list_clients()
    if as_json:
        output.json_lines(describe(client) for client in every)
        return
    output.table(
        ("CLIENT ID", "NAME", "TYPE", "GRANTS", "CREATED"),
        (
            (
                c.client_id,
                c.name,
                c.client_type,
                [SHORT_GRANTS.get(g, g) for g in c.grant_types],
                c.created_at,
            )
            for c in every
        ),
        empty="No clients.",
    )


@clients_group.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def show_client(client_id: str, as_json: bool) -> None:
    """One client's registration; never its secret, which is not stored."""
    _echo(_load(client_id), None, as_json)


@clients_group.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option(
    "--grant", "grants", multiple=True, metavar="GRANT", help=f"{GRANT_HELP} Replaces them all."
)
@click.option("--add-redirect-uri", multiple=True)
@click.option("--remove-redirect-uri", multiple=True)
@click.option("--add-post-logout-redirect-uri", multiple=True)
@click.option("--remove-post-logout-redirect-uri", multiple=True)
@click.option("--backchannel-logout-uri", help='"" removes it.')
@click.option("--first-party/--no-first-party", default=None)
@click.option("--require-mfa/--no-require-mfa", default=None)
@click.option("--require-par/--no-require-par", default=None, help="Pushed requests only.")
@click.option("--dpop/--no-dpop", default=None, help="DPoP-bound tokens only.")
@click.option(
    "--resource", "resources", multiple=True, metavar="URI", help=f"{RESOURCE_HELP} Replaces all."
)
@click.option("--no-resources", is_flag=True, help="May ask tokens for no API.")
@click.option("--profile", type=click.Choice(["oidc", "fapi2"]), help=PROFILE_HELP)
@click.option("--auth-method", type=click.Choice(AUTH_METHODS))
@click.option("--id-token-alg", type=click.Choice(clients.ID_TOKEN_ALGS))
@click.option("--scope")
@click.option("--jwks", help='Public JWK Set as JSON; "" removes it.')
@click.option("--jwks-uri", help='"" removes it.')
@click.option("--rotate-secret", is_flag=True, help="New secret; the old one stops at once.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def update_client(
    client_id: str,
    name: str | None,
    grants: tuple[str, ...],
    add_redirect_uri: tuple[str, ...],
    remove_redirect_uri: tuple[str, ...],
    add_post_logout_redirect_uri: tuple[str, ...],
    remove_post_logout_redirect_uri: tuple[str, ...],
    backchannel_logout_uri: str | None,
    first_party: bool | None,
    require_mfa: bool | None,
    require_par: bool | None,
    dpop: bool | None,
    resources: tuple[str, ...],
    no_resources: bool,
    profile: str | None,
    auth_method: str | None,
    id_token_alg: str | None,
    scope: str | None,
    jwks: str | None,
    jwks_uri: str | None,
    rotate_secret: bool,
    as_json: bool,
) -> None:
    """Change a client's registration; print it, with the new secret when rotated."""
    client = _load(client_id)
    changes: dict[str, Any] = {}
    for field, added, removed in (
        ("redirect_uris", add_redirect_uri, remove_redirect_uri),
        (
            "post_logout_redirect_uris",
            add_post_logout_redirect_uri,
            remove_post_logout_redirect_uri,
        ),
    ):
        if not added and not removed:
            continue
        current = list(getattr(client, field))
        missing = [uri for uri in removed if uri not in current]
        if missing:
            fail(ValidationError({field: f"not registered: {', '.join(missing)}"}))
        changes[field] = [uri for uri in current if uri not in removed] + list(added)
    for field, value in (
        ("name", name),
        ("first_party", first_party),
        ("require_mfa", require_mfa),
        ("token_endpoint_auth_method", auth_method),
        ("id_token_signed_response_alg", id_token_alg),
        ("scope", scope),
    ):
        if value is not None:
            changes[field] = value
    for field, raw in (("backchannel_logout_uri", backchannel_logout_uri), ("jwks_uri", jwks_uri)):
        if raw is not None:
            changes[field] = raw or None
    if jwks is not None:
        changes["jwks"] = _json_option(jwks, "--jwks") if jwks else None
    if grants:
        changes["grant_types"] = _grants(grants)
    if resources or no_resources:
        changes["resources"] = list(resources)
    if profile is not None:
        changes["profile"] = None if profile == "oidc" else profile
    flags = {"require_pushed_authorization_requests": require_par, "dpop_bound_access_tokens": dpop}
    if any(on is not None for on in flags.values()):
        software = dict(client.software or {})
        software.update({name: on for name, on in flags.items() if on is not None})
        changes["software"] = {
            name: value for name, value in software.items() if value is not False
        }
    secret = None
    try:
        # Rotate first: moving to a secret method needs a secret to exist.
        if rotate_secret:
            secret = clients.rotate_secret(client)
        if changes:
            clients.update(client, **changes)
    except ValidationError as exc:
        db.session.rollback()
        fail(exc)
        return
    db.session.commit()
    _echo(client, secret, as_json)


@clients_group.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def delete_client(client_id: str, yes: bool, as_json: bool) -> None:
    """Remove a client: it can no longer sign anyone in nor get tokens."""
    client = _load(client_id)
    if not yes:
        click.confirm(f"Delete client {client.name} ({client.client_id})?", abort=True)
    clients.delete(client)
    db.session.commit()
    if as_json:
        output.json_object({"client_id": client_id, "deleted": True})
    else:
        click.echo(f"deleted {client_id}")


@clients_group.command("registration-token")
@click.option("--single-use", is_flag=True, help="Valid for one registration only.")
@click.option("--expires-in", type=click.IntRange(min=1), help="Lifetime in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@with_appcontext
def registration_token(single_use: bool, expires_in: int | None, as_json: bool) -> None:
    """Mint an initial access token for dynamic client registration (RFC 7591 3)."""
    try:
        token = clients.mint_registration_token(single_use=single_use, expires_in=expires_in)
    except ValidationError as exc:
        fail(exc)
        return
    db.session.commit()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "initial_access_token": token,
                    "single_use": single_use,
                    "expires_in": expires_in,
                }
            )
        )
    else:
        click.echo(token)
