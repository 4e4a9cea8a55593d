"""Registering, changing and removing OAuth clients, and the initial access tokens of RFC 7591.

What metadata is acceptable lives in ``client_metadata``; services flush, the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import or_

from idp import security
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Client, InitialAccessToken
from idp.models.client import DEFAULT_SCOPE, PUBLIC_TYPES
from idp.models.types import utcnow
from idp.services.client_metadata import (  # noqa: F401 - re-exported for callers
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    CONFIDENTIAL_AUTH_METHODS,
    DEFAULT_GRANTS,
    DEVICE_CODE,
    GRANT_TYPES,
    ID_TOKEN_ALGS,
    REFRESH_TOKEN,
    SECRET_AUTH_METHODS,
    SOFTWARE_FIELDS,
    _validate,
    response_types_for,
    validate_backchannel_logout_uri,
    validate_redirect_uri,
)


def _new_secret(client: Client) -> str:
    secret = security.random_token(32)
    client.client_secret_digest = security.digest(secret)
    return secret


# Clients ---------------------------------------------------------------------------------------


def create(
    *,
    name: str,
    client_type: str,
    redirect_uris: Iterable[str],
    grant_types: Iterable[str] | None = None,
    response_types: Iterable[str] | None = None,
    post_logout_redirect_uris: Iterable[str] = (),
    backchannel_logout_uri: str | None = None,
    first_party: bool = False,
    require_mfa: bool = False,
    token_endpoint_auth_method: str | None = None,
    id_token_signed_response_alg: str = "ES256",  # noqa: S107 (an algorithm name)
    jwks: Mapping[str, Any] | None = None,
    jwks_uri: str | None = None,
    scope: str | None = None,
    resources: Iterable[str] = (),
    profile: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Client, str | None]:
    """Register a client; return it with its raw secret, which is never stored nor shown again.

    ``grant_types`` defaults to the type's preset (``DEFAULT_GRANTS``) and ``response_types`` to
    those of the grants. The secret is None for public clients and for ``private_key_jwt`` ones.
    """
    if client_type not in DEFAULT_GRANTS:
        raise ValidationError({"client_type": f"use one of {', '.join(DEFAULT_GRANTS)}"})
    default_method = "none" if client_type in PUBLIC_TYPES else "client_secret_basic"
    cleaned = _validate(
        client_type,
        {
            "name": name,
            "redirect_uris": list(redirect_uris or []),
            "post_logout_redirect_uris": list(post_logout_redirect_uris or []),
            "backchannel_logout_uri": backchannel_logout_uri,
            "token_endpoint_auth_method": token_endpoint_auth_method or default_method,
            "jwks": jwks,
            "jwks_uri": jwks_uri,
            "id_token_signed_response_alg": id_token_signed_response_alg,
            "grant_types": (
                list(DEFAULT_GRANTS[client_type]) if grant_types is None else grant_types
            ),
            "response_types": response_types,
            "scope": DEFAULT_SCOPE if scope is None else scope,
            "software": extra,
            "resources": list(resources),
            "profile": profile,
            "first_party": first_party,
            "require_mfa": require_mfa,
        },
    )
    client = Client(client_id=security.random_identifier(), client_type=str(client_type), **cleaned)
    secret = None
    if cleaned["token_endpoint_auth_method"] in SECRET_AUTH_METHODS:
        secret = _new_secret(client)
    db.session.add(client)
    db.session.flush()
    return client, secret


def get(client_id: str | None) -> Client | None:
    # PostgreSQL text cannot hold NUL: such an id names no client, and must not reach the DB.
    if (
        not isinstance(client_id, str)
        or not client_id
        or len(client_id) > 64
        or "\x00" in client_id
    ):
        return None
    return db.session.execute(
        db.select(Client).where(Client.client_id == client_id)
    ).scalar_one_or_none()


def list_clients() -> list[Client]:
    return list(db.session.execute(db.select(Client).order_by(Client.id)).scalars())


UPDATABLE = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "id_token_signed_response_alg",
    "grant_types",
    "response_types",
    "scope",
    "resources",
    "profile",
    "software",
    "first_party",
    "require_mfa",
)


def update(client: Client, **changes: Any) -> Client:
    """Change any of ``UPDATABLE`` (``extra`` is accepted for ``software``); the result is
    validated as a whole, as at creation. The type is fixed: register a new client instead.
    ``response_types`` follow the grants unless given.

    Moving to ``private_key_jwt`` drops the secret; moving to a secret method needs one first
    (``rotate_secret``).
    """
    if "extra" in changes:
        changes["software"] = changes.pop("extra")
    if "client_type" in changes and changes["client_type"] != client.client_type:
        raise ValidationError({"client_type": "cannot change; register a new client"})
    changes.pop("client_type", None)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationError({"client": f"cannot change {', '.join(sorted(unknown))}"})
    values = {field: getattr(client, field) for field in UPDATABLE}
    values["response_types"] = None
    values.update(changes)
    cleaned = _validate(client.client_type, values)
    method = cleaned["token_endpoint_auth_method"]
    if method in SECRET_AUTH_METHODS and client.client_secret_digest is None:
        raise ValidationError(
            {"token_endpoint_auth_method": "this client has no secret yet: rotate the secret first"}
        )
    for field, value in cleaned.items():
        if getattr(client, field) != value:
            setattr(client, field, value)
    if method not in SECRET_AUTH_METHODS:
        client.client_secret_digest = None
    db.session.flush()
    return client


def delete(client: Client) -> None:
    db.session.delete(client)
    db.session.flush()


def rotate_secret(client: Client) -> str:
    """Replace the secret at once (the old one stops working) and return the new raw value."""
    if client.is_public:
        raise ValidationError({"client_secret": f"{client.client_type} clients have no secret"})
    secret = _new_secret(client)
    db.session.flush()
    return secret


def issue_registration_access_token(client: Client) -> str:
    """RFC 7592 3: a new bearer token for the client configuration endpoint, shown once."""
    token = security.random_token(32)
    client.registration_access_token_digest = security.digest(token)
    db.session.flush()
    return token


def check_registration_access_token(client: Client, raw: str | None) -> bool:
    if client.registration_access_token_digest is None or not isinstance(raw, str):
        return False
    return security.constant_time_equals(
        security.digest(raw), client.registration_access_token_digest
    )


# Initial access tokens (RFC 7591 3) -------------------------------------------------------------


def mint_registration_token(single_use: bool, expires_in: int | None) -> str:
    """A new initial access token; only its digest is kept, the raw value is returned once."""
    if expires_in is not None and (
        not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0
    ):
        raise ValidationError({"expires_in": "must be a positive number of seconds"})
    token = security.random_token(32)
    db.session.add(
        InitialAccessToken(
            token_digest=security.digest(token),
            single_use=bool(single_use),
            expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
        )
    )
    db.session.flush()
    return token


def consume_registration_token(raw: str | None) -> bool:
    """True when ``raw`` is a live token, marking it used in the caller's transaction.

    One conditional UPDATE: on PostgreSQL a concurrent request blocks on the row lock, then
    re-reads ``used_at`` and matches nothing, so a single-use token wins once; if the winning
    transaction rolls back (registration failed), the token is still unused.
    """
    if not isinstance(raw, str) or not raw or len(raw) > 256:
        return False
    now = utcnow()
    table = InitialAccessToken
    result = db.session.execute(
        db.update(table)
        .where(
            table.token_digest == security.digest(raw),
            or_(table.expires_at.is_(None), table.expires_at > now),
            or_(table.single_use.is_(False), table.used_at.is_(None)),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
