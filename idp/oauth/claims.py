"""Which claims a client sees: by scope (OIDC Core 5.4) and by the ``claims`` request (5.5)."""

from __future__ import annotations

import json
from typing import Any

from idp.models import Customer

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}
SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
SUPPORTED_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    *sorted({claim for claims in SCOPE_CLAIMS.values() for claim in claims}),
)


class ClaimsRequestError(ValueError):
    """The ``claims`` parameter is not the JSON object OIDC Core 5.5 defines."""


def parse_claims_request(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    if len(raw) > 4096:
        raise ClaimsRequestError("claims parameter too long")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ClaimsRequestError("claims is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ClaimsRequestError("claims must be a JSON object")
    parsed: dict[str, Any] = {}
    for target in ("userinfo", "id_token"):
        member = value.get(target)
        if member is None:
            continue
        if not isinstance(member, dict):
            raise ClaimsRequestError(f"claims.{target} must be an object")
        for spec in member.values():
            if spec is not None and not isinstance(spec, dict):
                # The member name comes from the request: never echoed back.
                raise ClaimsRequestError(
                    f"each member of claims.{target} must be null or an object"
                )
        parsed[target] = member
    return parsed


def scopes_of(claims_request: dict[str, Any] | None) -> set[str]:
    """The scopes whose claims a ``claims`` request names (5.5 is another way to ask for them,
    not a way around consent): consent must cover these as if they had been asked by scope."""
    names = {name for member in (claims_request or {}).values() for name in member}
    return {scope for scope, claims in SCOPE_CLAIMS.items() if names & set(claims)}


def restrict(
    claims_request: dict[str, Any] | None, allowed_scopes: set[str]
) -> dict[str, Any] | None:
    """Drop claims of scopes the client is not registered for: naming a claim does not widen
    what the client may see."""
    if not claims_request:
        return claims_request
    barred = {
        c for scope, claims in SCOPE_CLAIMS.items() if scope not in allowed_scopes for c in claims
    }
    return {
        target: {name: spec for name, spec in member.items() if name not in barred}
        for target, member in claims_request.items()
    }


def requested_claim_names(scope: str, claims_request: dict[str, Any] | None) -> list[str]:
    """Every claim the client may end up seeing: what the consent page lists."""
    names: list[str] = []
    for item in scope.split():
        names.extend(SCOPE_CLAIMS.get(item, ()))
    for target in ("userinfo", "id_token"):
        names.extend((claims_request or {}).get(target, {}).keys())
    seen: dict[str, None] = {}
    for name in names:
        if name in SUPPORTED_CLAIMS and name not in {"sub"}:
            seen.setdefault(name, None)
    return list(seen)


def customer_claims(customer: Customer) -> dict[str, Any]:
    """Every standard claim the record can answer, without empty ones."""
    claims: dict[str, Any] = {
        "name": customer.name,
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "birthdate": customer.birthdate.isoformat() if customer.birthdate else None,
        "locale": customer.locale,
        "updated_at": int(customer.updated_at.timestamp()),
        "email": customer.email,
        "email_verified": customer.email_verified,
    }
    if customer.phone:
        claims["phone_number"] = customer.phone
        claims["phone_number_verified"] = customer.phone_verified
    if customer.address:
        claims["address"] = dict(customer.address)
    return {k: v for k, v in claims.items() if v is not None}


def _select(customer: Customer, names: list[str]) -> dict[str, Any]:
    available = customer_claims(customer)
    return {name: available[name] for name in names if name in available}


def userinfo(
    customer: Customer, scope: str, claims_request: dict[str, Any] | None
) -> dict[str, Any]:
    """The UserInfo response: ``sub``, the scope's claims and those asked for by name."""
    names = [c for item in scope.split() for c in SCOPE_CLAIMS.get(item, ())]
    names += list((claims_request or {}).get("userinfo", {}).keys())
    return {"sub": customer.public_id, **_select(customer, names)}


def id_token_claims(customer: Customer, claims_request: dict[str, Any] | None) -> dict[str, Any]:
    """Claims requested for the ID token itself (5.5); scope claims go to UserInfo (5.4)."""
    names = list((claims_request or {}).get("id_token", {}).keys())
    return _select(customer, names)
