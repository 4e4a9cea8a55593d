"""Pushed authorization requests (RFC 9126): the endpoint, and reading a pushed request back.

A client posts its authorization request to ``/par``, authenticated as at the token endpoint,
and gets a ``request_uri`` to send to ``/authorize`` with its ``client_id`` alone. The pushed
parameters are checked exactly as ``/authorize`` checks them (RFC 9126 2.1), but errors come
back as JSON to the client, never as a redirect. At ``/authorize`` only the pushed parameters
count (RFC 9126 4): anything else in the browser's URL is ignored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import current_app
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from idp.models import Client, PushedRequest
from idp.oauth import authorize as flow
from idp.oauth import dpop, profiles
from idp.oauth.grants import AUTH_METHODS
from idp.services import pushed_requests

ENDPOINT_NAME = "pushed_authorization"
# Client authentication travels with the push; it is never part of the stored request.
AUTH_PARAMS = {"client_secret", "client_assertion", "client_assertion_type"}
JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class InvalidRequestUri(OAuth2Error):
    """RFC 9101 7: the ``request_uri`` names nothing this client may use now."""

    error = "invalid_request_uri"


def used_request_uri() -> InvalidRequestUri:
    return InvalidRequestUri(description="The request_uri was already used.")


class _Payload(OAuth2Payload):
    def __init__(self, values: MultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> MultiDict[str, str]:
        return self._values

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: self._values.getlist(k) for k in self._values}


class ParamsRequest(OAuth2Request):  # type: ignore[misc]
    """An authorization request made of given parameters, as Authlib's grants read one."""

    def __init__(self, values: MultiDict[str, str]) -> None:
        super().__init__(method="GET", uri=flask_request.url, headers=flask_request.headers)
        self.payload = _Payload(values)

    @property
    def args(self) -> MultiDict[str, str]:
        return self.payload.data

    @property
    def form(self) -> MultiDict[str, str]:
        return MultiDict()


def lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PAR_LIFETIME"])


def required(client: Client | None) -> bool:
    """Server-wide (IDP_REQUIRE_PAR), per client (RFC 9126 6), or by the FAPI 2.0 profile."""
    return (
        bool(current_app.config["REQUIRE_PAR"])
        or profiles.is_fapi2(client)
        or (client is not None and client.require_pushed_authorization_requests)
    )


def _values(params: dict[str, list[str]]) -> MultiDict[str, str]:
    return MultiDict([(k, v) for k, vs in params.items() for v in vs])


def is_pushed_reference(request_uri: object) -> bool:
    """A ``request_uri`` of ours; any other (RFC 9101 by reference) is not supported."""
    return isinstance(request_uri, str) and request_uri.startswith(pushed_requests.URN_PREFIX)


def resolve(values: Any) -> tuple[MultiDict[str, str], PushedRequest]:
    """The pushed parameters a browser's ``client_id`` + ``request_uri`` stand for."""
    for name in ("client_id", "request_uri"):
        if len(values.getlist(name)) > 1:
            raise InvalidRequestError(f"Repeated '{name}' parameter.")
    client_id = values.get("client_id")
    pushed = (
        pushed_requests.find(values.get("request_uri"), client_id)
        if isinstance(client_id, str)
        else None
    )
    if pushed is None:
        raise InvalidRequestUri(
            description="The request_uri is unknown, expired, already used, or not this client's."
        )
    return _values(pushed.params), pushed


class PushedAuthorizationEndpoint:
    """RFC 9126 2: check a pushed request as /authorize would, keep it, name it."""

    ENDPOINT_NAME = ENDPOINT_NAME

    def __init__(self, server: Any) -> None:
        self.server = server

    def create_endpoint_request(self, request: Any) -> Any:
        return self.server.create_oauth2_request(request)

    def __call__(self, request: Any) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: Client = self.server.authenticate_client(request, AUTH_METHODS, ENDPOINT_NAME)
        params = {k: list(v) for k, v in request.payload.datalist.items() if k not in AUTH_PARAMS}
        if "request_uri" in params:
            raise InvalidRequestError("'request_uri' cannot be pushed (RFC 9126 2.1).")
        if params.get("client_id", [client.client_id]) != [client.client_id]:
            raise InvalidRequestError("'client_id' is not the authenticated client.")
        params["client_id"] = [client.client_id]
        proof = dpop.current()
        if proof is not None:
            # RFC 9449 10.1: a proof on the push binds the code to its key, as dpop_jkt does.
            if params.get("dpop_jkt", [proof.jkt]) != [proof.jkt]:
                raise dpop.InvalidDPoPProof(description="'dpop_jkt' is not the proof's key.")
            params["dpop_jkt"] = [proof.jkt]
        if profiles.is_fapi2(client) and not params.get("redirect_uri"):
            raise InvalidRequestError("FAPI 2.0 requires 'redirect_uri' in the pushed request.")
        values = _values(params)
        try:
            flow.check_target(values)
            grant = self.server.get_consent_grant(request=ParamsRequest(values), end_user=None)
            flow.parse(grant, values)
        except OAuth2Error as error:
            # Pushed requests are answered to the client directly, never through a redirect.
            error.redirect_uri = None
            error.state = None
            raise
        request_uri = pushed_requests.push(client.client_id, params, lifetime())
        body = {"request_uri": request_uri, "expires_in": int(lifetime().total_seconds())}
        return 201, body, JSON_HEADERS
