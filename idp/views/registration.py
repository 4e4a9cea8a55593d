"""Dynamic client registration (RFC 7591 3) and client configuration (RFC 7592 2): thin JSON
views over ``idp.oauth.registration``, authenticated by bearer tokens, never by cookies."""

from __future__ import annotations

import json
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError
from flask import Blueprint, current_app, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from idp.extensions import csrf, db
from idp.models import Client
from idp.oauth import registration
from idp.services import clients

bp = Blueprint("registration", __name__)


def _json(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    # default_json_headers carry Cache-Control: no-store: the body may hold fresh credentials.
    return Response(json.dumps(body), status=status, headers=headers)


def _error(error: OAuth2Error) -> Response:
    db.session.rollback()
    status, body, headers = error()
    return _json(status, body, headers)


def _bearer() -> str | None:
    """RFC 6750 2.1: ``Authorization: Bearer <token>``; the scheme is case-insensitive."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _document() -> Any:
    """The JSON body; anything else is invalid_client_metadata, never a server error."""
    if not request.is_json:
        raise InvalidClientMetadataError(description="Send the metadata as application/json.")
    try:
        return json.loads(request.get_data(cache=False))
    except RequestEntityTooLarge as exc:
        raise InvalidClientMetadataError(
            description="The metadata is too large.", status_code=413
        ) from exc
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidClientMetadataError(description="The body is not valid JSON.") from exc


def _with_registration(body: dict[str, Any], client: Client, token: str) -> dict[str, Any]:
    """RFC 7592 3: where and with what the client manages its registration."""
    uri = url_for("registration.configuration", client_id=client.client_id)
    return {
        **body,
        "registration_access_token": token,
        "registration_client_uri": current_app.config["ISSUER"] + uri,
    }


@bp.post("/register")
@csrf.exempt
def register() -> Response:
    try:
        # RFC 7591 3: an initial access token; a failed registration rolls back its use.
        if not clients.consume_registration_token(_bearer()):
            raise InvalidTokenError(description="A valid initial access token is required.")
        client, secret, token = registration.register(_document())
    except OAuth2Error as error:
        return _error(error)
    body = _with_registration(registration.client_information(client, secret), client, token)
    db.session.commit()
    return _json(201, body, default_json_headers)


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def configuration(client_id: str) -> Response:
    token = _bearer()
    client = clients.get(client_id)
    # RFC 7592 2: an unknown client and a wrong token get the same 401.
    if (
        client is None
        or token is None
        or not clients.check_registration_access_token(client, token)
    ):
        return _error(InvalidTokenError(description="The registration access token is invalid."))
    if request.method == "DELETE":
        clients.delete(client)
        db.session.commit()
        return Response(status=204, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    if request.method == "PUT":
        try:
            registration.replace(client, _document())
        except OAuth2Error as error:
            return _error(error)
        db.session.commit()
    body = _with_registration(registration.client_information(client), client, token)
    return _json(200, body, default_json_headers)
