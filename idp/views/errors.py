"""Every error becomes a clear page with the right status; details of a crash go to the log only."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

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


def _page(status: int, message: str | None = None) -> tuple[str, int]:
    title, default = MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])
    body = render_template(
        "errors/error.html", status=status, title=title, message=message or default
    )
    return body, status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return _page(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        if status >= 500:
            return server_error(exc)
        response = exc.get_response()
        body, status = _page(status)
        headers = {k: v for k, v in response.headers.items() if k in {"Allow", "Retry-After"}}
        return body, status, headers

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> ResponseReturnValue:
        original = getattr(exc, "original_exception", None) or exc
        if not isinstance(original, InternalServerError):
            log.error("Unhandled error on %s %s", request.method, request.path, exc_info=original)
        # A failed flush leaves the session unusable; the page itself must still render.
        db.session.rollback()
        return _page(500)
