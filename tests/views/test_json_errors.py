"""Errors raised before a JSON endpoint's view runs (wrong method, body too large, CSRF) are
JSON with Cache-Control: no-store at that endpoint, and HTML pages everywhere else."""

from __future__ import annotations

import pytest

JSON_POST = ["/token", "/par", "/introspect", "/revoke", "/device_authorization", "/register"]


def assert_json_error(response, status: int) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert isinstance(body["error_description"], str)


@pytest.mark.parametrize("path", [*JSON_POST, "/login/passkey"])
def test_wrong_method_at_json_endpoint(client, path):
    """GET on a POST-only JSON endpoint is a 405 JSON error with Allow."""
    response = client.get(path)
    assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/userinfo", "/jwks", "/.well-known/openid-configuration"])
def test_other_json_endpoints_refuse_methods_in_json(client, path):
    """PUT on UserInfo or a discovery document is a 405 JSON error."""
    assert_json_error(client.put(path), 405)


@pytest.mark.parametrize("path", [*JSON_POST, "/userinfo", "/login/passkey"])
def test_body_too_large_at_json_endpoint(client, path):
    """A form body over MAX_CONTENT_LENGTH is a 413 JSON error, not the HTML page."""
    body = b"a=" + b"x" * (64 * 1024 + 1)
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    if path == "/register":  # no initial access token: refused before the body is read
        assert response.status_code == 401
        return
    assert_json_error(response, 413)


def test_csrf_failure_at_passkey_endpoint_is_json(client):
    """A passkey call without its CSRF token is a JSON error the script can read."""
    response = client.post("/login/passkey/options", json={})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize(("method", "path"), [("PUT", "/login"), ("POST", "/jwks/x")])
def test_pages_keep_html_errors(client, method, path):
    """Elsewhere a wrong method or unknown path is still the HTML error page."""
    response = client.open(path, method=method)
    assert response.status_code in {404, 405}
    assert response.mimetype == "text/html"
