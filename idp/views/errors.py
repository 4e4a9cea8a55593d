"""Every error becomes a clear page with the right status; details of a crash go to the log only."""

from __future__ import annotations

import json
import logging

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.wrappers import Response

from idp.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Forbidden"), _l("You are not allowed to do this.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Method not allowed"), _l("This page cannot be used this way.")),
    413: (_l("Request too large"), _l("What you sent is too large. Shorten it and try again.")),
    429: (_l("Too many requests"), _l("Too many attempts. Wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error happened. Try again in a moment.")),
}
CSRF_MESSAGE = _l(
    "This form has expired or was sent from another site. Reload the page and try again."
)
# Endpoints that programs call: their errors are JSON with Cache-Control: no-store (RFC 6749
# 5.2, RFC 6750 3, RFC 7591 3.2.2), also those raised before the view runs: a wrong method
# (405) or a body over MAX_CONTENT_LENGTH (413).
JSON_ENDPOINTS = frozenset(
    {
        "oauth.token",
        "oauth.pushed_authorization_request",
        "oauth.revoke",
        "oauth.introspect",
        "oauth.userinfo_endpoint",
        "device.device_authorization",
        "registration.register",
        "registration.configuration",
        "discovery.openid_configuration",
        "discovery.oauth_authorization_server",
        "discovery.jwks",
        # The passkey ceremonies, called by static/passkeys.js.
        "passkeys.register_options",
        "passkeys.register",
        "passkeys.sign_in_options",
        "passkeys.sign_in",
        "passkeys.verify_options",
        "passkeys.verify",
    }
)


def _page(status: int, message: str | None = None) -> tuple[str, int]:
    title, default = MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])
    body = render_template(
        "errors/error.html", status=status, title=title, message=message or default
    )
    return body, status


def _endpoint() -> str | None:
    """The endpoint the request is for, also when routing refused its method."""
    if request.endpoint is not None:
        return request.endpoint
    refused = request.routing_exception
    if not isinstance(refused, MethodNotAllowed) or not refused.valid_methods:
        return None
    adapter = current_app.create_url_adapter(request)
    try:
        endpoint, _args = adapter.match(method=refused.valid_methods[0])  # type: ignore[union-attr,index]
    except HTTPException:
        return None
    return str(endpoint)


def wants_json() -> bool:
    return _endpoint() in JSON_ENDPOINTS


def json_error(status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """The error body of RFC 6749 5.2, never cached: what a program calling idp can read."""
    body = {
        "error": "server_error" if status >= 500 else "invalid_request",
        "error_description": description,
    }
    response = Response(json.dumps(body), status, mimetype="application/json")
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        if wants_json():
            return json_error(400, "Missing or invalid CSRF token.")
        return _page(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        if status >= 500:
            return server_error(exc)
        kept = {"Allow", "Retry-After"}
        headers = {k: v for k, v in exc.get_response().headers.items() if k in kept}
        if wants_json():
            # Werkzeug's own descriptions: plain ASCII, and they never repeat the request.
            return json_error(status, exc.description or "Bad request.", headers)
        body, status = _page(status)
        return body, status, headers

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> ResponseReturnValue:
        original = getattr(exc, "original_exception", None) or exc
        if not isinstance(original, InternalServerError):
            log.error("Unhandled error on %s %s", request.method, request.path, exc_info=original)
        # A failed flush leaves the session unusable; the page itself must still render.
        db.session.rollback()
        if wants_json():
            return json_error(500, "An unexpected error happened.")
        return _page(500)
