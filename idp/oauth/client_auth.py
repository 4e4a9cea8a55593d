"""``private_key_jwt`` client authentication (RFC 7523 2.2, OIDC Core 9); the keys come from
``idp.oauth.client_keys``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc.jwk import KeySet

from idp.models import Client
from idp.models.types import utcnow
from idp.oauth import client_keys
from idp.services import replay

# An assertion is short-lived; its jti is remembered a little longer than any sane lifetime.
JTI_MEMORY = timedelta(hours=1)


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["ISSUER"]
        return [issuer, issuer + url_for("oauth.token")]

    def resolve_client_public_key(self, client: Client) -> Any:
        """The client's keys (RFC 7523 2.2), as a function joserfc calls with the parsed
        assertion: a published set is chosen, and fetched again, by the ``kid`` it names."""
        try:
            lookup = client_keys.lookup(client)
        except client_keys.KeysUnavailable as exc:
            raise InvalidClientError(description=str(exc)) from None

        def key_set(token: Any) -> KeySet:
            kid = token.headers().get("kid")
            try:
                return lookup(kid if isinstance(kid, str) else None)
            except client_keys.KeysUnavailable as exc:
                # Not a JoseError, so it leaves jwt.decode as is and becomes invalid_client.
                raise InvalidClientError(description=str(exc)) from None

        return key_set

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """Each assertion once (RFC 7523 3, item 7), across workers and nodes."""
        if not isinstance(jti, str) or len(jti) > 256:
            return False
        return replay.first_use(
            "client-assertion", f"{claims.get('iss')}:{jti}", utcnow() + JTI_MEMORY
        )
