"""Making tokens: RFC 9068 JWT access tokens, opaque rotating refresh tokens, OIDC ID tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core.grants.util import create_half_hash
from flask import current_app, g, request

from idp import security
from idp.models import Client, Customer, TokenFamily
from idp.oauth import claims as claims_module
from idp.oauth import dpop, profiles, resources, signing
from idp.services import RequestMeta, events, tokens
from idp.services.events import EventTag

ACCESS_TOKEN_TYP = "at+jwt"

CHANNELS = {"web": "web", "native": "mobile", "device": "device", "service": "service"}


def lifetimes(client: Client | None = None) -> tokens.Lifetimes:
    """Token lifetimes from the settings; a FAPI 2.0 client's codes live 60 s at most."""
    cfg = current_app.config
    code = timedelta(seconds=cfg["CODE_LIFETIME"])
    if profiles.is_fapi2(client):
        code = min(code, profiles.FAPI2_CODE_LIFETIME)
    return tokens.Lifetimes(
        code=code,
        access_token=timedelta(seconds=cfg["ACCESS_TOKEN_LIFETIME"]),
        id_token=timedelta(seconds=cfg["ID_TOKEN_LIFETIME"]),
        refresh_idle=timedelta(seconds=cfg["REFRESH_TOKEN_IDLE_LIFETIME"]),
        refresh_absolute=timedelta(seconds=cfg["REFRESH_TOKEN_ABSOLUTE_LIFETIME"]),
    )


def default_audience() -> str:
    """idp's own audience (UserInfo's), for tokens that name no resource."""
    return str(current_app.config["ACCESS_TOKEN_AUDIENCE"] or current_app.config["ISSUER"])


def _aud(audience: list[str]) -> str | list[str]:
    # RFC 7519 4.1.3: a single audience may be a plain string, which more APIs expect.
    return audience[0] if len(audience) == 1 else audience


def channel_of(client: Client) -> str:
    return CHANNELS.get(client.client_type, "web")


@dataclass
class Context:
    """What the token generator learns from the grant before it signs (kept on ``g``)."""

    family: TokenFamily | None = None


def _session_claims(family: TokenFamily) -> dict[str, Any]:
    """How and when the customer signed in, as carried by every token of the grant."""
    claims: dict[str, Any] = {}
    if family.auth_time is not None:
        claims["auth_time"] = int(family.auth_time.timestamp())
    if family.acr:
        claims["acr"] = family.acr
    if family.amr:
        claims["amr"] = family.amr
    if family.sid:
        claims["sid"] = family.sid
    return claims


def generate(
    grant_type: str,
    client: Client,
    user: Customer | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """Authlib's token generator hook: a signed access token and maybe a refresh token."""
    life = lifetimes()
    now = signing.now_ts()
    ttl = int(life.access_token.total_seconds())
    family: TokenFamily | None = getattr(g, "idp_token_family", None)
    audience = resources.audience(
        client, resources.requested(request.form), family.resources if family else None
    )
    claims: dict[str, Any] = {
        "iss": current_app.config["ISSUER"],
        "sub": user.public_id if user is not None else client.client_id,
        "aud": _aud(audience) if audience else default_audience(),
        "client_id": client.client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": security.random_token(16),
        "scope": scope or "",
    }
    if family is not None and family.auth_time is not None:
        claims.update(_session_claims(family))
    jkt = dpop.bind(client)
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}  # RFC 9449 6.1
    token: dict[str, Any] = {
        "token_type": "DPoP" if jkt is not None else "Bearer",
        "access_token": signing.sign(
            claims, current_app.config["ACCESS_TOKEN_ALG"], ACCESS_TOKEN_TYP
        ),
        "expires_in": ttl,
        "scope": scope or "",
    }
    if include_refresh_token and user is not None:
        token["refresh_token"] = security.random_token(32)
    return token


def save(token: dict[str, Any], request: OAuth2Request) -> None:
    """Authlib's save_token hook: record the access token and store the refresh token's digest."""
    client: Client = request.client
    user: Customer | None = request.user
    family: TokenFamily | None = getattr(g, "idp_token_family", None)
    life = lifetimes()
    claims = signing.unverified_claims(token["access_token"])
    if family is None and "refresh_token" in token:
        family = tokens.start_family(
            client_id=client.client_id,
            customer=user,
            scope=token.get("scope", ""),
            lifetimes=life,
        )
    tokens.record_access_token(
        jti=claims["jti"],
        client_id=client.client_id,
        customer=user,
        scope=claims["scope"],
        family=family,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )
    if "refresh_token" in token:
        assert family is not None
        if client.is_public and family.dpop_jkt is None and "cnf" in claims:
            # RFC 9449 5: a public client's refresh tokens are bound to its DPoP key.
            family.dpop_jkt = claims["cnf"]["jkt"]
        raw = token["refresh_token"]
        tokens.store_refresh_token(family, raw, life)
    events.record(
        EventTag.TOKEN_ISSUED
        if request.payload.grant_type != "refresh_token"
        else EventTag.TOKEN_REFRESHED,
        customer=user,
        meta=request_meta(),
        client_id=client.client_id,
        channel=channel_of(client),
        # URN grant types by their last part: the device grant's URN overflows the column.
        method=request.payload.grant_type.rsplit(":", 1)[-1],
    )


def request_meta() -> RequestMeta:
    return RequestMeta(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


def id_token(
    *,
    client: Client,
    customer: Customer,
    family: TokenFamily | None,
    nonce: str | None,
    access_token: str | None,
    claims_request: dict[str, Any] | None,
) -> str:
    """An ID token (OIDC Core 2, 3.1.3.6) signed with the client's registered algorithm."""
    alg = client.id_token_signed_response_alg or "ES256"
    now = signing.now_ts()
    payload: dict[str, Any] = {
        "iss": current_app.config["ISSUER"],
        "sub": customer.public_id,
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": now,
        "exp": now + int(lifetimes().id_token.total_seconds()),
    }
    if family is not None:
        payload.update(_session_claims(family))
    if nonce:
        payload["nonce"] = nonce
    if access_token:
        at_hash = create_half_hash(access_token, alg)
        if at_hash is not None:
            payload["at_hash"] = at_hash.decode("ascii")
    payload.update(claims_module.id_token_claims(customer, claims_request))
    return signing.sign(payload, alg)
