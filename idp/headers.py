"""Security headers on every response (OWASP Secure Headers, ASVS 14.4)."""

from __future__ import annotations

from flask import Flask
from werkzeug.wrappers import Response

from idp import config as config_module

# No inline script or style anywhere, so the policy can stay this strict. form-action is left
# out on purpose: browsers apply it to the redirect after a sign-in form, which later goes to a
# client's registered redirect URI on another origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    https = config_module.is_https(app.config)

    @app.after_request
    def secure_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Codes and tokens travel in URLs: never leak them to another site through Referer.
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html" or "Cache-Control" not in headers:
            # Pages show personal data and carry CSRF tokens: never cache them anywhere.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response
