"""``private_key_jwt`` client authentication (RFC 7523 2.2, OIDC Core 9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from idp import security
from idp.extensions import db
from idp.models import Client, UsedLink
from idp.models.types import utcnow

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
        """Each assertion once (RFC 7523 3, item 7): the primary key refuses a second use."""
        if not isinstance(jti, str) or len(jti) > 256:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(
                    UsedLink(
                        nonce_digest=security.digest(f"{claims.get('iss')}:{jti}"),
                        purpose="client-assertion",
                        expires_at=utcnow() + JTI_MEMORY,
                    )
                )
        except IntegrityError:
            return False
        # Spent now, in its own commit: the request may still fail and roll back (token
        # endpoint), or never commit at all (introspection), and the jti must stay used.
        db.session.commit()
        return True
