"""``private_key_jwt`` client authentication (RFC 7523 2.2, OIDC Core 9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc.jwk import KeySet

from idp.models import Client
from idp.models.types import utcnow
from idp.services import replay

# An assertion is short-lived; its jti is remembered a little longer than any sane lifetime.
JTI_MEMORY = timedelta(hours=1)


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["ISSUER"]
        return [issuer, issuer + url_for("oauth.token")]

    def resolve_client_public_key(self, client: Client) -> Any:
        if not client.jwks:
            raise InvalidClientError(description="The client registered no public keys (jwks).")
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """Each assertion once (RFC 7523 3, item 7), across workers and nodes."""
        if not isinstance(jti, str) or len(jti) > 256:
            return False
        return replay.first_use(
            "client-assertion", f"{claims.get('iss')}:{jti}", utcnow() + JTI_MEMORY
        )
