"""Discovery documents and the public keys, cacheable by clients for a short while."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from idp.oauth import metadata, signing

bp = Blueprint("discovery", __name__)


def _public_json(document: dict[str, object], max_age: int) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    return _public_json(metadata.openid_configuration(), 3600)


@bp.get("/.well-known/oauth-authorization-server")
def oauth_authorization_server() -> Response:
    return _public_json(metadata.authorization_server(), 3600)


@bp.get("/jwks")
def jwks() -> Response:
    # Short cache: a key published ahead of use must reach clients before it signs anything.
    return _public_json(signing.jwks(), 300)
