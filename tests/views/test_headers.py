"""Security headers on every response, pages, error pages and static files alike (ASVS 14.4)."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_customer
from tests.helpers import login

HTML_PAGES = {
    "login": ("/login", 200),
    "signup": ("/signup", 200),
    "forgot": ("/forgot-password", 200),
    "account-signed-out": ("/account", 302),
    "not-found": ("/no/such/page", 404),
    "bad-link": ("/verify-email/not-a-token", 400),
    "wrong-method": ("/account/verify-email", 405),
}


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";")}
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["default-src"] == "default-src 'none'"
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("name", sorted(HTML_PAGES))
def test_pages_carry_headers(client, name):
    """Every page and error page has the security headers and is never cached."""
    url, status = HTML_PAGES[name]
    response = client.get(url)
    assert response.status_code == status
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_account_page_signed_in(app, client):
    """The signed-in account page, full of personal data, has the headers and no-store."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    response = client.get("/account")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_csrf_error_page(client):
    """The 400 page for a post without a CSRF token has the headers too."""
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_too_large_page(client):
    """The 413 page has the headers too."""
    response = client.post("/login", data={"email": "x" * 100_000})
    assert response.status_code == 413
    assert_security_headers(response)


def test_static_css(client):
    """Static files get the same protective headers."""
    response = client.get("/static/idp.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert_security_headers(response)
    response.close()


def test_redirect_after_sign_in(app, client):
    """The redirect that sets the session cookie is not cacheable either."""
    make_customer(app, email="ana@example.com")
    response = login(client, "ana@example.com", PASSWORD)
    assert response.status_code == 302
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("app_config", [{"ISSUER": "https://idp.example.com"}])
@pytest.mark.parametrize("url", ["/login", "/no/such/page", "/static/idp.css"])
def test_hsts_when_https(client, url):
    """With an https issuer every response asks browsers to keep to https for a year."""
    response = client.get(url)
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts
    assert_security_headers(response)
    response.close()


def test_no_hsts_on_http_loopback(client):
    """On the http loopback issuer no HSTS is sent (it would pin localhost to https)."""
    for url in ("/login", "/static/idp.css"):
        response = client.get(url)
        assert "Strict-Transport-Security" not in response.headers
        response.close()
