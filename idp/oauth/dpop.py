"""DPoP (RFC 9449): checking proofs, binding tokens to their key, and server nonces.

A proof is a JWT in the ``DPoP`` header, signed by the key whose public half it carries. idp
checks each rule of RFC 9449 4.3 in order: one header; ``typ`` ``dpop+jwt``; an asymmetric
``alg``; a public ``jwk`` that verifies the signature; ``htm`` and ``htu`` naming this request;
``iat`` within the window; ``ath`` when a token is presented; the server's nonce when nonces
are on (8); and a ``jti`` never seen before, remembered across workers and nodes (11.1).

Tokens issued with a proof are bound to the key's RFC 7638 thumbprint (``cnf.jkt``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from flask import current_app, g
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from idp.oauth import profiles
from idp.services import replay

ALGS = ("ES256", "ES384", "PS256", "RS256", "EdDSA")
TYP = "dpop+jwt"
# How old (and how far ahead, for clock skew) a proof's iat may be.
MAX_AGE = 300
MAX_SKEW = 60
# Members only a private key has (RFC 7517, 7518 6): a proof carrying one is refused.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
NONCE_PERIOD = 300
NONCE_INFO = b"idp dpop nonce v1"
MAX_PROOF_LENGTH = 8192


class _ProofRegistry(jws.JWSRegistry):
    """joserfc's registry, with room in the header for an RSA public key (its default is 512
    bytes, less than a 2048-bit ``jwk``)."""

    max_header_length = 4096


REGISTRY = _ProofRegistry(algorithms=list(ALGS))


class InvalidDPoPProof(OAuth2Error):
    """RFC 9449 7.1: the proof is missing, malformed, or does not fit the request."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonce(OAuth2Error):
    """RFC 9449 8: the proof must carry the nonce given in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"
    status_code = 400

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("DPoP-Nonce", current_nonce())]


@dataclass(frozen=True)
class Proof:
    """A checked proof: the thumbprint of its key, and its claims."""

    jkt: str
    claims: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(token: str) -> str:
    """RFC 9449 4.2 ``ath``: base64url of the SHA-256 of the access token."""
    return _b64(hashlib.sha256(token.encode("ascii", "replace")).digest())


# --- nonces: stateless, so every node accepts every node's nonce -------------------------


def _nonce_for(window: int) -> str:
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), NONCE_INFO, "sha256").digest()
    mac = hmac.new(key, str(window).encode(), "sha256").digest()[:16]
    return f"{window}.{_b64(mac)}"


def current_nonce() -> str:
    return _nonce_for(int(time.time() // NONCE_PERIOD))


def nonce_is_fresh(nonce: object) -> bool:
    """This period's nonce or the last one: a nonce lives between 5 and 10 minutes."""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    window = int(time.time() // NONCE_PERIOD)
    return any(hmac.compare_digest(nonce, _nonce_for(w)) for w in (window, window - 1))


def nonces_required() -> bool:
    return bool(current_app.config["DPOP_NONCE"])


# --- proofs -----------------------------------------------------------------------------


def _normalized(url: str) -> str:
    """RFC 9449 4.3 item 9: compare without query and fragment, scheme and host in lower case,
    default ports dropped (RFC 3986 6.2.2-6.2.3)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}"


def _public_key(header: dict[str, Any]) -> Any:
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & set(jwk):
        raise InvalidDPoPProof(description="The proof must carry a public 'jwk'.")
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidDPoPProof(description="The proof's 'jwk' is not a usable key.") from None
    if key.is_private or key.key_type not in {"EC", "RSA", "OKP"}:
        raise InvalidDPoPProof(description="The proof must carry a public 'jwk'.")
    return key


def check(headers: Any, method: str, url: str, *, access_token: str | None = None) -> Proof | None:
    """The request's checked proof, or None when it sends none; any fault raises."""
    values = headers.getlist("DPoP")
    if not values:
        return None
    if len(values) > 1 or len(values[0]) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProof(description="Send exactly one DPoP proof.")
    raw = values[0].strip()
    try:
        header = jws.extract_compact(raw.encode("ascii"), None, REGISTRY).headers()
    except (JoseError, ValueError, UnicodeError, TypeError):
        raise InvalidDPoPProof(description="The DPoP proof is not a JWT.") from None
    if header.get("typ") != TYP:
        raise InvalidDPoPProof(description="The DPoP proof's typ must be dpop+jwt.")
    alg = header.get("alg")
    if alg not in ALGS:
        raise InvalidDPoPProof(description="The DPoP proof's alg is not supported.")
    key = _public_key(header)
    try:
        payload = jws.deserialize_compact(raw, key, algorithms=[alg], registry=REGISTRY).payload
        claims = json.loads(payload)
    except (JoseError, ValueError, TypeError):
        raise InvalidDPoPProof(description="The DPoP proof's signature does not verify.") from None
    if not isinstance(claims, dict):
        raise InvalidDPoPProof(description="The DPoP proof's claims must be an object.")
    _check_claims(claims, method, url, access_token)
    jkt = key.thumbprint()
    iat = int(claims["iat"])
    expires = datetime.fromtimestamp(iat + MAX_AGE + MAX_SKEW, UTC)
    if not replay.first_use("dpop-proof", f"{jkt}:{claims['jti']}", expires):
        raise InvalidDPoPProof(description="The DPoP proof was already used.")
    return Proof(jkt=jkt, claims=claims)


def _check_claims(claims: dict[str, Any], method: str, url: str, access_token: str | None) -> None:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise InvalidDPoPProof(description="The DPoP proof needs a 'jti'.")
    if claims.get("htm") != method:
        raise InvalidDPoPProof(description="The DPoP proof's htm is not this request's method.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or len(htu) > 2048 or _normalized(htu) != _normalized(url):
        raise InvalidDPoPProof(description="The DPoP proof's htu is not this endpoint.")
    iat = claims.get("iat")
    now = time.time()
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidDPoPProof(description="The DPoP proof needs a numeric 'iat'.")
    if not now - MAX_AGE <= iat <= now + MAX_SKEW:
        raise InvalidDPoPProof(description="The DPoP proof is too old or from the future.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(
            ath, access_token_hash(access_token)
        ):
            raise InvalidDPoPProof(description="The DPoP proof's ath is not this token's hash.")
    if nonces_required() and not nonce_is_fresh(claims.get("nonce")):
        raise UseDPoPNonce(description="Use the DPoP-Nonce the server gave.")


# --- the proof of the current request -----------------------------------------------------


def remember(proof: Proof | None) -> None:
    """Keep the token request's proof for the grant and the token generator."""
    g.idp_dpop = proof


def current() -> Proof | None:
    return getattr(g, "idp_dpop", None)


def check_binding(jkt: str | None, description: str) -> None:
    """A code (RFC 9449 10) or refresh token (5) bound to a key needs a proof by that key."""
    proof = current()
    if jkt is not None and (proof is None or not hmac.compare_digest(proof.jkt, jkt)):
        raise InvalidGrantError(description=description)


def bind(client: Any) -> str | None:
    """The thumbprint new tokens are bound to; refuses a client that must use DPoP without
    a proof (RFC 9449 5.2 ``dpop_bound_access_tokens``)."""
    proof = current()
    if proof is None and (client.dpop_bound_access_tokens or profiles.is_fapi2(client)):
        raise InvalidDPoPProof(description="This client must send a DPoP proof.")
    return proof.jkt if proof is not None else None
