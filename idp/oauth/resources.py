"""Resource indicators (RFC 8707): access tokens for the API the client names, and no other.

A client may name APIs with ``resource`` at the authorization endpoint (2.1), the token
endpoint (2.2), or both. Each must be one the operator registered for the client
(``idp clients update --resource``). The code and its grant remember what was asked at
authorization, and a token request may narrow it, never widen it. The access token's ``aud`` is
the named resources; without any it stays idp's own audience, the one UserInfo accepts.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

from idp.errors import ValidationError
from idp.models import Client
from idp.services import client_metadata


class InvalidTarget(OAuth2Error):
    """RFC 8707 2: the resource is invalid, unknown, malformed, or not this client's."""

    error = "invalid_target"
    status_code = 400


def requested(values: Any) -> list[str]:
    """The ``resource`` parameters, each an absolute URI without a fragment (RFC 8707 2)."""
    uris = [uri for uri in values.getlist("resource") if uri]
    if len(uris) > client_metadata.MAX_RESOURCES:
        raise InvalidTarget(description="Too many 'resource' parameters.")
    try:
        return [client_metadata.validate_resource(uri, "resource") for uri in dict.fromkeys(uris)]
    except ValidationError:
        raise InvalidTarget(description="Each 'resource' must be an absolute https URI.") from None


def allowed(client: Client, uris: list[str]) -> list[str]:
    """``uris`` when the client may reach every one of them; else ``invalid_target``."""
    if not set(uris) <= set(client.resources or []):
        raise InvalidTarget(description="This client may not ask for that resource.")
    return uris


def audience(client: Client, asked: list[str], granted: list[str] | None) -> list[str] | None:
    """The resources a new access token is for: what the token request asks, within what was
    granted (2.2); the grant's own when it asks none; None for idp's default audience."""
    if not asked:
        return granted or None
    allowed(client, asked)
    if granted and not set(asked) <= set(granted):
        raise InvalidTarget(description="The grant does not cover that resource.")
    return asked
