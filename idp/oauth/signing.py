"""Signing JWTs with the current key for an algorithm, and reading our own tokens back."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp import config
from idp.errors import NotFound
from idp.extensions import db
from idp.models.types import utcnow
from idp.services import keys

SUPPORTED_ALGS = ("ES256", "RS256")


def _encryption_key() -> bytes:
    return config.key_encryption_key(current_app.config)


def ensure_keys() -> None:
    """First use on a new database: make the signing keys (idempotent across processes)."""
    if keys.ensure_keys(utcnow(), encryption_key=_encryption_key()):
        db.session.commit()


def sign(claims: dict[str, Any], alg: str, typ: str | None = None) -> str:
    try:
        kid, key = keys.active_key(alg, now=utcnow(), encryption_key=_encryption_key())
    except NotFound:
        ensure_keys()
        kid, key = keys.active_key(alg, now=utcnow(), encryption_key=_encryption_key())
    header: dict[str, Any] = {"alg": alg, "kid": kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def jwks() -> dict[str, Any]:
    document = keys.jwks(now=utcnow())
    if not document["keys"]:
        ensure_keys()
        document = keys.jwks(now=utcnow())
    return document


def verify(
    token: str, *, typ: str | None = None, expired_ok: bool = False
) -> dict[str, Any] | None:
    """Claims of a JWT we signed (any published key), or None: tampered, foreign, alg=none,
    expired (unless ``expired_ok``, for an ``id_token_hint``: OIDC Core 3.1.2.1)."""
    if not token or len(token) > 8192 or token.count(".") != 2:
        return None
    try:
        header = json.loads(_b64decode(token.split(".", 1)[0]))
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("alg") not in SUPPORTED_ALGS:
        return None
    if typ is not None and header.get("typ") != typ:
        return None
    try:
        key_set = KeySet.import_key_set(jwks())  # type: ignore[arg-type]
        decoded = jwt.decode(token, key_set, algorithms=list(SUPPORTED_ALGS))
    except (JoseError, ValueError):
        return None
    claims = dict(decoded.claims)
    if claims.get("iss") != current_app.config["ISSUER"]:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int) or (not expired_ok and exp <= now_ts()):
        return None
    return claims


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT this process just signed itself; never use on input."""
    return json.loads(_b64decode(token.split(".")[1]))  # type: ignore[no-any-return]


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def now_ts() -> int:
    return int(utcnow().timestamp())
