"""A client_id outside RFC 6749 A.1 (printable ASCII) names no client: it is refused like an
unknown one, and never reaches the database (PostgreSQL text cannot hold a NUL)."""

from __future__ import annotations

import base64

import pytest

from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login

IDS = ["a\x00b", "\x00", "é", "a\nb", "a\x7fb"]
CLIENT_ENDPOINTS = ["/token", "/introspect", "/revoke", "/device_authorization", "/par"]


@pytest.mark.parametrize("client_id", IDS)
def test_authorize_page(client, client_id):
    """/authorize with such a client_id is the HTML error page, never a redirect."""
    response = client.get("/authorize", query_string={"client_id": client_id, "scope": "openid"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("client_id", IDS)
def test_logout_page(client, client_id):
    """/logout?client_id=... is the invalid-request page."""
    response = client.get("/logout", query_string={"client_id": client_id})
    assert response.status_code == 400


@pytest.mark.parametrize("client_id", IDS)
@pytest.mark.parametrize(
    "path", ["/token", "/introspect", "/revoke", "/device_authorization", "/par"]
)
def test_client_endpoints(client, path, client_id):
    """In the form or in Basic credentials: 401 invalid_client, as for an unknown client."""
    form = {"grant_type": "authorization_code", "code": "x", "token": "x"}
    in_form = client.post(path, data={**form, "client_id": client_id})
    basic = base64.b64encode(f"{client_id}:secret".encode()).decode()
    in_header = client.post(path, data=form, headers={"Authorization": f"Basic {basic}"})
    for response in (in_form, in_header):
        assert response.status_code == 401, response.get_data()
        assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("client_id", ["a%00b", "%C3%A9"])
def test_withdraw_page(app, client, client_id):
    """Withdrawing consent from such a client is the 404 page."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    token = csrf_token(client, "/account/security")  # no app yet, so no form on /account/apps
    response = client.post(f"/account/apps/{client_id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 404
