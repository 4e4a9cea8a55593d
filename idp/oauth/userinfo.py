"""The UserInfo endpoint (OIDC Core 5.3) with RFC 6750 bearer tokens in the header or body."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from idp.oauth import claims as claims_module
from idp.oauth import issuance, signing
from idp.services import tokens


def _bearer_error(status: int, error: str | None, description: str | None = None) -> Response:
    """RFC 6750 3: the error goes in WWW-Authenticate; a request without a token gets none."""
    challenge = 'Bearer realm="idp"'
    if error:
        challenge += f', error="{error}"'
        if description:
            challenge += f', error_description="{description}"'
    body = {"error": error, "error_description": description} if error else {}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_from_request() -> str | None:
    """RFC 6750 2.1 header or 2.2 form body; never the query string (RFC 9700 2.4 / 4.3.2)."""
    header = request.headers.get("Authorization", "")
    in_body = request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded"
    body_token = request.form.get("access_token") if in_body else None
    if header:
        if body_token:
            return ""  # two methods at once is an invalid request (6750 2)
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    return body_token


def respond() -> Response:
    raw = _token_from_request()
    if raw is None:
        return _bearer_error(401, None)
    if raw == "":
        return _bearer_error(400, "invalid_request", "Send one Bearer token.")
    payload = signing.verify(raw, typ=issuance.ACCESS_TOKEN_TYP)
    record = tokens.access_token_record(payload["jti"]) if payload and "jti" in payload else None
    if payload is None or not tokens.is_access_token_active(record):
        return _bearer_error(401, "invalid_token", "The access token is invalid or expired.")
    assert record is not None
    customer = record.customer
    if customer is None or not customer.is_active:
        return _bearer_error(401, "invalid_token", "The access token has no customer.")
    if "openid" not in record.scope.split():
        return _bearer_error(403, "insufficient_scope", "The token lacks the openid scope.")
    family = record.family
    response = jsonify(
        claims_module.userinfo(customer, record.scope, family.claims if family else None)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
