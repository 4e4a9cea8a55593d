"""Builds the Authlib authorization server for one app and keeps it in ``app.extensions``."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import Flask, current_app

from idp.models import Client
from idp.oauth import claims, client_auth, device, endpoints, grants, issuance
from idp.services import clients

EXTENSION = "idp.oauth"


def _query_client(client_id: str) -> Client | None:
    if not isinstance(client_id, str) or len(client_id) > 128:
        return None
    return clients.get(client_id)


def init_app(app: Flask) -> None:
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=issuance.save)
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
    app.extensions[EXTENSION] = server


def server() -> Any:
    return current_app.extensions[EXTENSION]
