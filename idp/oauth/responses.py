"""The one rule for answering a client: page, redirect or form post, and JSON errors.

No valid client or redirect URI: an HTML error page, never a redirect (RFC 6749 4.1.2.1).
Otherwise the answer goes to the redirect URI with ``state`` and ``iss`` (RFC 9207), as a query
or as an auto-submitted form (OAuth 2.0 Form Post Response Mode).
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response


def to_client(
    redirect_uri: str, params: list[tuple[str, str]], response_mode: str
) -> ResponseReturnValue:
    params = [*params, ("iss", current_app.config["ISSUER"])]
    if response_mode == "form_post":
        body = render_template("oauth/form_post.html", action=redirect_uri, params=params)
        response = Response(body, 200, mimetype="text/html")
        # The page posts to the client's origin; nothing else may run or frame it.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"
        )
        return response
    return Response(status=302, headers={"Location": add_params_to_uri(redirect_uri, params)})


def authorization_error(error: OAuth2Error, response_mode: str = "query") -> ResponseReturnValue:
    if not error.redirect_uri:
        body = render_template("oauth/error.html", error=error.error, description=error.description)
        return body, 400
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if error.state:
        params.append(("state", error.state))
    return to_client(error.redirect_uri, params, response_mode)
