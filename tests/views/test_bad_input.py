"""Malformed requests get a clear 4xx page, never a 500, and never leave half a write behind."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login, submit
from tests.views.support import customer_count, event_count, is_signed_in

FORMS = ["/login", "/signup", "/forgot-password"]


def assert_field_error(response, field):
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f'id="{field}-error"' in body, body


def test_body_over_limit_is_413(app, client):
    """A body over MAX_CONTENT_LENGTH gets the 413 page and creates nothing."""
    token = csrf_token(client, "/signup")
    response = client.post(
        "/signup",
        data={"csrf_token": token, "email": "ana@example.com", "password": "x" * 70_000},
    )
    assert response.status_code == 413
    assert "Request too large" in response.get_data(as_text=True)
    assert customer_count(app) == 0


@pytest.mark.parametrize("field", ["email", "password", "given_name", "family_name"])
def test_huge_field_within_body_limit(app, client, field):
    """One 20 KB field in a body under the limit is a 400 with an error on that field."""
    data = {"email": "ana@example.com", "password": PASSWORD, field: "a" * 20_000}
    response = submit(client, "/signup", data)
    assert_field_error(response, field)
    assert customer_count(app) == 0


@pytest.mark.parametrize("url", FORMS)
def test_missing_fields(app, client, url):
    """A post with the CSRF token but none of the form's fields is a 400 naming the email field."""
    response = submit(client, url, {})
    assert_field_error(response, "email")
    assert customer_count(app) == 0
    assert event_count(app) == 0


def test_raw_invalid_utf8_body(app, client):
    """Bytes that are not UTF-8 in an urlencoded body are a 400, not a 500."""
    token = csrf_token(client, "/signup")
    body = f"csrf_token={token}&email=ana@example.com&password=".encode() + b"\xff\xfe long pass"
    response = client.post("/signup", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert customer_count(app) == 0


def test_invalid_utf8_multipart_field(app, client):
    """Bytes that are not UTF-8 in a multipart text field are refused on that field."""
    token = csrf_token(client, "/signup")
    boundary = "boundary1234"
    parts = {
        "csrf_token": token.encode(),
        "email": b"ana@example.com",
        "password": PASSWORD.encode(),
        "given_name": b"An\xff\xfea",
    }
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in parts.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/signup", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert_field_error(response, "given_name")
    assert customer_count(app) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ana\x00@example.com"),
        ("password", "a long\x00 passphrase"),
        ("given_name", "Ana\x00"),
        ("family_name", "\x00"),
    ],
)
def test_nul_bytes_refused_at_signup(app, client, mailbox, field, value):
    """A NUL byte in any sign-up field is a 400 on that field (PostgreSQL text cannot hold it)."""
    data = {"email": "ana@example.com", "password": PASSWORD, field: value}
    assert_field_error(submit(client, "/signup", data), field)
    assert customer_count(app) == 0
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("url", "data", "field"),
    [
        ("/login", {"email": "ana@example.com\x00", "password": PASSWORD}, "email"),
        ("/login", {"email": "ana@example.com", "password": PASSWORD + "\x00"}, "password"),
        ("/forgot-password", {"email": "ana\x00@example.com"}, "email"),
    ],
)
def test_nul_bytes_refused_elsewhere(app, client, url, data, field):
    """A NUL byte in the sign-in or reset-request form is a 400 on that field, with no event."""
    make_customer(app, email="ana@example.com")
    assert_field_error(submit(client, url, data), field)
    assert event_count(app) == 0
    assert not is_signed_in(client)


def test_nul_in_user_agent(app, client):
    """A NUL byte in the User-Agent header does not break sign-up or sign-in on PostgreSQL."""
    headers = {"User-Agent": "Mozilla/5.0\x00evil"}
    response = submit(
        client, "/signup", {"email": "ana@example.com", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200
    assert customer_count(app) == 1
    assert login(client, "ana@example.com", PASSWORD, headers=headers).status_code == 302
    assert login(client, "ana@example.com", "wrong passphrase", headers=headers).status_code == 401


@pytest.mark.parametrize("url", FORMS)
def test_json_body_without_token(app, client, url):
    """A JSON body to a form endpoint is a 400: it carries no form CSRF token."""
    make_customer(app, email="ana@example.com")
    client.get(url)
    response = client.post(url, json={"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert not is_signed_in(client)
    assert customer_count(app) == 1


JSON_BODIES = [
    {"email": "ana@example.com", "password": PASSWORD},
    {"email": {"nested": 1}, "password": PASSWORD},
    {"email": "ana@example.com", "password": 12345678},
    [1, 2],
    "just a string",
    None,
]


@pytest.mark.parametrize("url", FORMS)
def test_json_body_with_header_token(app, client, url):
    """A JSON body is not form input even with a valid X-CSRFToken header: 400, no effect."""
    make_customer(app, email="ana@example.com")
    token = csrf_token(client, url)
    for body in JSON_BODIES:
        response = client.post(
            url,
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 400, body
    assert not is_signed_in(client)
    assert customer_count(app) == 1
    assert event_count(app) == 0


@pytest.mark.parametrize("field", ["email", "password"])
def test_file_instead_of_text(app, client, field):
    """A file upload where a text field belongs is a 400, not a crash."""
    make_customer(app, email="ana@example.com")
    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "email": "ana@example.com", "password": PASSWORD}
    data[field] = (io.BytesIO(b"ana@example.com"), "value.txt")
    response = client.post("/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_repeated_fields_use_the_first(app, client):
    """Repeated fields are read as their first value, once: one account, the first address."""
    token = csrf_token(client, "/signup")
    body = (
        f"csrf_token={token}&email=ana%40example.com&email=bob%40example.com"
        "&password=a+long+enough+passphrase&password=x"
    )
    response = client.post("/signup", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert customer_count(app) == 1
    assert login(client, "ana@example.com", PASSWORD).status_code == 302


def test_huge_next(app, client):
    """A 10 KB ``next`` is dropped on the sign-in page and refused in a post, without a 500."""
    make_customer(app, email="ana@example.com")
    page = client.get("/login?next=/" + "a" * 10_000)
    assert page.status_code == 200
    assert 'name="next" type="hidden" value="/account"' in page.get_data(as_text=True)
    data = {"email": "ana@example.com", "password": PASSWORD, "next": "/" + "a" * 10_000}
    response = submit(client, "/login", data)
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_garbage_ui_locales(client):
    """Any ``ui_locales`` value gives a page in a supported language."""
    for value in ("%FF%FE", "x" * 5000, "../../etc/passwd", "fr-" * 500, "%00", "en-US-x-a <b>"):
        response = client.get(f"/login?ui_locales={value}")
        assert response.status_code == 200
        assert re.search(r'<html lang="(en|fr)">', response.get_data(as_text=True)), value


def test_garbage_login_hint(client):
    """An over-long or NUL-laden ``login_hint`` still shows the sign-in page."""
    for hint in ("a" * 5000, "ana%00@example.com", "%FF"):
        assert client.get(f"/login?login_hint={hint}").status_code == 200


BAD_TOKENS = ["x", "a" * 5000, "not.a.token", "eyJjIjoiMSJ9.ZZZZZZ.abcdef", "%00", "%E2%80%AE"]


@pytest.mark.parametrize("route", ["/verify-email/", "/reset-password/"])
def test_invalid_link_tokens(client, route):
    """A broken, foreign or 5000-character link token gets the 400 link page."""
    for token in BAD_TOKENS:
        response = client.get(route + token)
        assert response.status_code == 400, token
        assert response.mimetype == "text/html"


@pytest.mark.parametrize("token", ["x", "a" * 5000])
def test_post_to_invalid_reset_link(app, client, token):
    """Posting a new password to a broken reset link is a 400 and changes nothing."""
    make_customer(app, email="ana@example.com")
    form_token = csrf_token(client, "/forgot-password")
    response = client.post(
        f"/reset-password/{token}", data={"csrf_token": form_token, "password": "new passphrase!"}
    )
    assert response.status_code == 400
    assert login(client, "ana@example.com", PASSWORD).status_code == 302


def test_wrong_method_is_405_page(client):
    """A method a route does not take gets the 405 page with an Allow header."""
    for method, url in [
        ("GET", "/account/verify-email"),
        ("PUT", "/login"),
        ("DELETE", "/signup"),
        ("PATCH", "/forgot-password"),
        ("POST", "/verify-email/x"),
        ("POST", "/account"),
    ]:
        response = client.open(url, method=method)
        assert response.status_code == 405, (method, url)
        assert "Method not allowed" in response.get_data(as_text=True)
        assert response.headers["Allow"]
