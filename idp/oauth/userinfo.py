"""The UserInfo endpoint (OIDC Core 5.3) with RFC 6750 bearer tokens in the header or body."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app, jsonify, request, url_for
from werkzeug.wrappers import Response

from idp.oauth import claims as claims_module
from idp.oauth import dpop, issuance, signing
from idp.oauth.dpop import UseDPoPNonce
from idp.services import tokens
from idp.services.records import aliases


def _bearer_error(
    status: int, error: str | None, description: str | None = None, scheme: str = "Bearer"
) -> Response:
    """RFC 6750 3 (and RFC 9449 7.1 for DPoP): the error goes in WWW-Authenticate; a request
    without a token gets none."""
    challenge = f'{scheme} realm="idp"'
    if scheme == "DPoP":
        challenge += f', algs="{" ".join(dpop.ALGS)}"'
    if error:
        challenge += f', error="{error}"'
        if description:
            challenge += f', error_description="{description}"'
    body = {"error": error, "error_description": description} if error else {}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    response.headers["Cache-Control"] = "no-store"
    if error == UseDPoPNonce.error:
        response.headers["DPoP-Nonce"] = dpop.current_nonce()
    return response


def _token_from_request() -> tuple[str, str | None]:
    """The scheme and token: RFC 6750 2.1 header or 2.2 form body, or RFC 9449 7.1 ``DPoP``;
    never the query string (RFC 9700 2.4 / 4.3.2). An empty token means a malformed request."""
    header = request.headers.get("Authorization", "")
    in_body = request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded"
    body_token = request.form.get("access_token") if in_body else None
    if header:
        if body_token:
            return "Bearer", ""  # two methods at once is an invalid request (6750 2)
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "dpop":
            return "DPoP", value.strip()
        return "Bearer", value.strip() if scheme.lower() == "bearer" else ""
    return "Bearer", body_token


def _proof_error(payload: dict[str, Any], scheme: str, raw: str) -> Response | None:
    """RFC 9449 7: a DPoP-bound token only with the DPoP scheme and a proof by its key."""
    bound = (payload.get("cnf") or {}).get("jkt")
    if bound is None:
        if scheme == "DPoP":
            return _bearer_error(401, "invalid_token", "The token is not DPoP-bound.", "DPoP")
        return None
    if scheme != "DPoP":
        return _bearer_error(401, "invalid_token", "Send this token with DPoP.", "DPoP")
    url = current_app.config["ISSUER"] + url_for("oauth.userinfo_endpoint")
    try:
        proof = dpop.check(request.headers, request.method, url, access_token=raw)
    except UseDPoPNonce:
        return _bearer_error(401, UseDPoPNonce.error, "Use the DPoP-Nonce given.", "DPoP")
    except OAuth2Error as error:
        return _bearer_error(401, "invalid_dpop_proof", error.description, "DPoP")
    if proof is None or proof.jkt != bound:
        return _bearer_error(401, "invalid_token", "The proof is not by the token's key.", "DPoP")
    return None


def respond() -> Response:
    scheme, raw = _token_from_request()
    if raw is None:
        return _bearer_error(401, None)
    if raw == "":
        return _bearer_error(400, "invalid_request", "Send one Bearer token.")
    payload = signing.verify(raw, typ=issuance.ACCESS_TOKEN_TYP)
    record = tokens.access_token_record(payload["jti"]) if payload and "jti" in payload else None
    if payload is None or not tokens.is_access_token_active(record):
        return _bearer_error(
            401, "invalid_token", "The access token is invalid or expired.", scheme
        )
    audience = payload.get("aud")
    if issuance.default_audience() not in (audience if isinstance(audience, list) else [audience]):
        # RFC 8707: a token for another API is not a token for UserInfo.
        return _bearer_error(401, "invalid_token", "The access token is for another resource.")
    refused = _proof_error(payload, scheme, raw)
    if refused is not None:
        return refused
    assert record is not None
    customer = record.customer
    if customer is None or not customer.is_active:
        return _bearer_error(401, "invalid_token", "The access token has no customer.")
    if "openid" not in record.scope.split():
        return _bearer_error(403, "insufficient_scope", "The token lacks the openid scope.")
    family = record.family
    info = claims_module.userinfo(customer, record.scope, family.claims if family else None)
    # A token issued before a merge names the absorbed record: answer for the survivor, and
    # say which id it replaced so the client can update what it stored.
    merged = aliases.merged_from(payload.get("sub"), customer)
    if merged:
        info["merged_from"] = merged
    response = jsonify(info)
    response.headers["Cache-Control"] = "no-store"
    return response
