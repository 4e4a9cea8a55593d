"""Builds the Authlib authorization server for one app and keeps it in ``app.extensions``."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import Flask, current_app

from idp.oauth import (
    claims,
    client_auth,
    device,
    endpoints,
    grants,
    issuance,
    lookup,
    par,
    profiles,
)

EXTENSION = "idp.oauth"
# The one answer to every failed client authentication, whatever the cause.
CLIENT_AUTH_FAILED = "Client authentication failed."

log = logging.getLogger(__name__)


class Server(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server with one answer for every failed client authentication, and
    authorization requests made of pushed parameters (RFC 9126) as well as of the URL."""

    def create_oauth2_request(self, request: Any) -> Any:
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def authenticate_client(self, request: Any, methods: Any, endpoint: str = "token") -> Any:
        """An unknown ``client_id`` and a wrong credential get the same 401 ``invalid_client``
        (RFC 6749 5.2), so the token, introspection, revocation and device endpoints do not
        tell which client ids exist; the real reason goes to the log."""
        try:
            client = super().authenticate_client(request, methods, endpoint)
            if profiles.is_fapi2(client) and request.auth_method != profiles.FAPI2_AUTH_METHOD:
                raise InvalidClientError(description="FAPI 2.0 clients use private_key_jwt.")
        except InvalidClientError as error:
            log.info("client authentication failed at %s: %s", endpoint, error.description)
            raise InvalidClientError(status_code=401, description=CLIENT_AUTH_FAILED) from None
        except (ValueError, UnicodeError):
            # Authlib decodes a malformed Basic header with a bare ValueError: still a refusal.
            log.info("client authentication failed at %s: unreadable credentials", endpoint)
            raise InvalidClientError(status_code=401, description=CLIENT_AUTH_FAILED) from None
        return client


def init_app(app: Flask) -> None:
    server = Server()
    server.init_app(app, query_client=lookup.client, save_token=issuance.save)
    server.scopes_supported = list(claims.SUPPORTED_SCOPES)
    server.register_token_generator("default", issuance.generate)
    server.register_client_auth_method(
        client_auth.PrivateKeyJWT.CLIENT_AUTH_METHOD, client_auth.PrivateKeyJWT()
    )
    server.register_grant(
        grants.AuthorizationCodeGrant, [grants.PKCE(required=True), grants.OpenIDCode()]
    )
    server.register_grant(grants.RefreshTokenGrant, [grants.RefreshIdToken(), device.DeviceSeen()])
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_grant(device.DeviceCodeGrant, [device.DeviceIdToken(), device.DeviceSeen()])
    server.register_endpoint(endpoints.Revocation)
    server.register_endpoint(endpoints.Introspection)
    server.register_endpoint(device.AuthorizationEndpoint)
    server.register_endpoint(par.PushedAuthorizationEndpoint)
    app.extensions[EXTENSION] = server


def server() -> Any:
    return current_app.extensions[EXTENSION]
