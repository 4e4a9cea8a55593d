"""Registered OAuth clients (RFC 6749 2, RFC 7591 2) and the checks Authlib asks them to make."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import JSON, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from idp import security
from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow

DEFAULT_SCOPE = "openid profile email phone address offline_access"

# Host and optional port of a loopback IP literal redirect, followed by the path, query or nothing.
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|\[::1\])(?::([1-9][0-9]{0,4}))?(?=[/?]|$)")


class ClientType(StrEnum):
    """Whether a client is public, and its preset grants (``client_metadata.DEFAULT_GRANTS``);
    the grants it holds are its own, in ``Client.grant_types``."""

    WEB = "web"  # confidential: a server holds the secret
    NATIVE = "native"  # public: a mobile or desktop app (RFC 8252)
    DEVICE = "device"  # public: a TV or console, device authorization grant (RFC 8628)
    SERVICE = "service"  # confidential: machine to machine, client credentials


PUBLIC_TYPES = frozenset({ClientType.NATIVE, ClientType.DEVICE})


def loopback_without_port(uri: str) -> str | None:
    """``uri`` with the port removed when it is a loopback IP literal redirect, else None."""
    match = _LOOPBACK.match(uri)
    if match is None or (match.group(2) and int(match.group(2)) > 65535):
        return None
    return f"http://{match.group(1)}{uri[match.end() :]}"


class Client(db.Model, ClientMixin):  # type: ignore[name-defined,misc]
    """One application allowed to ask for tokens; its secret is kept only as a SHA-256 digest."""

    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_digest: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    client_type: Mapped[str] = mapped_column(String(16))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000))
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    response_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default=DEFAULT_SCOPE)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="ES256")
    # Our own applications: consent is implied, never asked.
    first_party: Mapped[bool] = mapped_column(default=False)
    # RFC 8707: the APIs (resource indicators) this client may ask tokens for; set by operators,
    # never by dynamic registration, since reaching an API is the company's decision.
    resources: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # A security profile this client is held to (``fapi2``), beyond the server's own.
    profile: Mapped[str | None] = mapped_column(String(16))
    # Every sign-in for this client needs a second factor (acr urn:idp:acr:mfa).
    require_mfa: Mapped[bool] = mapped_column(default=False, server_default=false())
    # RFC 7592 3: the bearer token that lets a dynamically registered client manage itself.
    registration_access_token_digest: Mapped[str | None] = mapped_column(String(64))
    # Other RFC 7591 metadata (client_uri, logo_uri, contacts, ...), kept as registered.
    software: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Client {self.client_id} {self.client_type}>"

    @property
    def is_public(self) -> bool:
        """RFC 6749 2.1: cannot keep a secret, so never authenticates at the token endpoint.

        Either sign makes a client public (and so bound to PKCE): the registration policy keeps
        the public types and the ``none`` method together, but a row that broke it stays safe.
        """
        method = self.token_endpoint_auth_method
        return method == "none" or self.client_type in PUBLIC_TYPES

    @property
    def dpop_bound_access_tokens(self) -> bool:
        """RFC 9449 5.2: this client's token requests must carry a DPoP proof."""
        return bool((self.software or {}).get("dpop_bound_access_tokens"))

    @property
    def require_pushed_authorization_requests(self) -> bool:
        """RFC 9126 6: this client's authorization requests must come through PAR."""
        return bool((self.software or {}).get("require_pushed_authorization_requests"))

    @property
    def is_confidential(self) -> bool:
        return not self.is_public

    @property
    def client_info(self) -> dict[str, Any]:
        """RFC 7591 3.2.1 client information, without the secret we do not keep."""
        issued = int(self.created_at.timestamp()) if self.created_at else None
        return {"client_id": self.client_id, "client_id_issued_at": issued}

    @property
    def client_metadata(self) -> dict[str, Any]:
        """The registered metadata under RFC 7591 and OIDC names; absent values are left out."""
        metadata: dict[str, Any] = {
            **(self.software or {}),
            "client_name": self.name,
            "redirect_uris": list(self.redirect_uris or []),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris or []),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "grant_types": list(self.grant_types or []),
            "response_types": list(self.response_types or []),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "scope": self.scope,
            "jwks": self.jwks,
            "jwks_uri": self.jwks_uri,
            # OIDC Registration 2; the value of idp.services.mfa.ACR_MFA (models import no
            # services).
            "default_acr_values": ["urn:idp:acr:mfa"] if self.require_mfa else None,
        }
        return {k: v for k, v in metadata.items() if v is not None}

    # Authlib's ClientMixin ------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """RFC 6749 3.1.2.3: only a client with a single registered URI may omit redirect_uri."""
        uris = self.redirect_uris or []
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have, in request order, each once.

        ``offline_access`` asks for a refresh token (OIDC Core 11): a client without the
        ``refresh_token`` grant cannot get one, so the granted scope must not list it
        (RFC 6749 3.3 and 5.1: the response's scope says what was granted).
        """
        if not scope:
            return ""
        allowed = set(self.scope.split())
        if "refresh_token" not in (self.grant_types or []):
            allowed.discard("offline_access")
        return " ".join(dict.fromkeys(s for s in scope.split() if s in allowed))

    def check_redirect_uri(self, redirect_uri: str | None) -> bool:
        """Exact string match (RFC 6749 3.1.2.3, OAuth 2.0 Security BCP 4.1.3).

        RFC 8252 7.3: a native app's loopback IP redirect may come with any port, since the app
        picks a free one at run time; everything else in the URI must still match exactly. The
        public types (native and device) are the apps on the customer's hardware.
        """
        if not isinstance(redirect_uri, str) or not redirect_uri:
            return False
        registered = self.redirect_uris or []
        if redirect_uri in registered:
            return True
        if self.client_type not in PUBLIC_TYPES:
            return False
        requested = loopback_without_port(redirect_uri)
        return requested is not None and any(
            loopback_without_port(uri) == requested for uri in registered
        )

    def check_post_logout_redirect_uri(self, uri: str | None) -> bool:
        """OIDC RP-Initiated Logout 3: exact match against the registered list."""
        return isinstance(uri, str) and uri in (self.post_logout_redirect_uris or [])

    def check_client_secret(self, client_secret: str | None) -> bool:
        """Compare digests in constant time; a client without a secret matches nothing."""
        if self.client_secret_digest is None or not isinstance(client_secret, str):
            return False
        return security.constant_time_equals(
            security.digest(client_secret), self.client_secret_digest
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Every endpoint that authenticates clients (token, revocation, introspection, device
        authorization) accepts only the registered method: RFC 7591 2 binds a client to one, and
        Authlib relies on ``none`` failing here to keep confidential clients authenticating."""
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.response_types or [])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])
