"""Validating a Back-Channel Logout 1.0 logout token (section 2.6), and nothing else.

Kept apart from the web app so the rules can be read, and tested, in one place.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TYP = "logout+jwt"
# The algorithms idp signs with; anything else (notably "none" and HMAC) is refused.
ALGORITHMS = ("ES256", "RS256")
# Clock skew we forgive, and how old a token may be: logout tokens are sent the moment they are
# made, so an old one is a replay (section 2.6 leaves the window to the RP).
LEEWAY = 60
MAX_AGE = 300


class InvalidLogoutToken(ValueError):
    """The token must be refused with 400 (section 2.8); the message says why, for the log."""


class UnknownSigningKey(InvalidLogoutToken):
    """No key with the token's ``kid``: the caller may refetch the JWKS once (key rotation)."""


@dataclass(frozen=True)
class LogoutClaims:
    """What the RP acts on: end the sessions of ``sid``, or all of ``sub``'s when no sid."""

    sub: str | None
    sid: str | None
    jti: str
    exp: int


def validate_logout_token(
    raw: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    algorithms: Collection[str] = ALGORITHMS,
    now: int | None = None,
) -> LogoutClaims:
    """Check ``raw`` as section 2.6 says; return its claims or raise ``InvalidLogoutToken``."""
    now = int(time.time()) if now is None else now
    # 2.6 step 3: validate like an ID token: signature with the OP's keys, iss, aud, iat.
    try:
        token = jwt.decode(raw, keys, algorithms=list(algorithms))
    except InvalidKeyIdError as exc:
        raise UnknownSigningKey("no key for the token's kid") from exc
    except (JoseError, ValueError) as exc:
        raise InvalidLogoutToken(f"not a valid signed JWT: {exc}") from exc
    # 2.4: explicitly typed, so an ID token or access token can never pass for a logout token.
    typ = token.header.get("typ")
    if typ is not None and typ.lower() not in (LOGOUT_TYP, f"application/{LOGOUT_TYP}"):
        raise InvalidLogoutToken(f"typ is {typ!r}, not {LOGOUT_TYP}")
    claims: dict[str, Any] = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except ClaimError as exc:
        raise InvalidLogoutToken(f"bad {exc.claim} claim: {exc.description}") from exc
    if claims["iat"] < now - MAX_AGE:
        raise InvalidLogoutToken("issued too long ago")
    # 2.6 steps 4-6.
    sub, sid = claims.get("sub"), claims.get("sid")
    if not isinstance(sub, str | None) or not isinstance(sid, str | None) or not (sub or sid):
        raise InvalidLogoutToken("needs a sub or a sid claim")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise InvalidLogoutToken(f"events must hold {BACKCHANNEL_EVENT} as a JSON object")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token must not have a nonce")
    return LogoutClaims(sub=sub or None, sid=sid or None, jti=claims["jti"], exp=int(claims["exp"]))
