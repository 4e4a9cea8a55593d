"""Every form refuses a post without this browser's CSRF token, with a 400 page and no effect."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login, submit
from tests.views.support import (
    browser_sessions,
    customer_count,
    event_count,
    is_signed_in,
    password_hash,
)

NEW_PASSWORD = "another long passphrase"


@pytest.fixture(params=["missing", "garbage", "other-browser"])
def bad_csrf(request, app):
    """Form fields carrying no token, a made-up one, or a real one from someone else's browser."""
    if request.param == "missing":
        return {}
    if request.param == "garbage":
        return {"csrf_token": "IjAxMjM0NTY3ODkiLg.not-a-token"}
    return {"csrf_token": csrf_token(app.test_client(), "/login")}


def assert_csrf_page(response):
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "sent from another site" in response.get_data(as_text=True)


def test_login_needs_token(app, client, bad_csrf):
    """A sign-in post with the right password but a bad CSRF token signs nobody in."""
    make_customer(app, email="ana@example.com")
    client.get("/login")
    response = client.post(
        "/login", data={"email": "ana@example.com", "password": PASSWORD, **bad_csrf}
    )
    assert_csrf_page(response)
    assert not is_signed_in(client)
    assert browser_sessions(app) == []
    assert event_count(app) == 0


def test_signup_needs_token(app, client, mailbox, bad_csrf):
    """A sign-up post with a bad CSRF token creates no account and sends no mail."""
    client.get("/signup")
    response = client.post(
        "/signup", data={"email": "new@example.com", "password": PASSWORD, **bad_csrf}
    )
    assert_csrf_page(response)
    assert customer_count(app) == 0
    assert mailbox.messages == []


def test_logout_needs_token(app, client, bad_csrf):
    """A sign-out post with a bad CSRF token (a forced logout from another site) ends nothing."""
    make_customer(app, email="ana@example.com")
    assert login(client, "ana@example.com", PASSWORD).status_code == 302
    response = client.post("/logout", data=bad_csrf)
    assert_csrf_page(response)
    assert is_signed_in(client)
    assert all(s.ended_at is None for s in browser_sessions(app))


def test_forgot_password_needs_token(app, client, mailbox, bad_csrf):
    """A reset request with a bad CSRF token mails nothing."""
    make_customer(app, email="ana@example.com")
    client.get("/forgot-password")
    response = client.post("/forgot-password", data={"email": "ana@example.com", **bad_csrf})
    assert_csrf_page(response)
    assert mailbox.messages == []
    assert event_count(app) == 0


def test_reset_password_needs_token(app, client, mailbox, bad_csrf):
    """A new password posted to a reset link with a bad CSRF token is not set; the link lives on."""
    make_customer(app, email="ana@example.com")
    submit(client, "/forgot-password", {"email": "ana@example.com"})
    path = urlsplit(mailbox.last_link("ana@example.com", "/reset-password/")).path
    before = password_hash(app, "ana@example.com")
    client.get(path)
    response = client.post(path, data={"password": NEW_PASSWORD, **bad_csrf})
    assert_csrf_page(response)
    assert password_hash(app, "ana@example.com") == before
    assert client.get(path).status_code == 200


def test_change_password_needs_token(app, client, bad_csrf):
    """A password change with a bad CSRF token leaves the password as it was."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    before = password_hash(app, "ana@example.com")
    client.get("/account/password")
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, **bad_csrf},
    )
    assert_csrf_page(response)
    assert password_hash(app, "ana@example.com") == before


def test_resend_verification_needs_token(app, client, mailbox, bad_csrf):
    """Asking for a new confirmation mail with a bad CSRF token sends nothing."""
    make_customer(app, email="ana@example.com", verified=False)
    login(client, "ana@example.com", PASSWORD)
    client.get("/account")
    response = client.post("/account/verify-email", data=bad_csrf)
    assert_csrf_page(response)
    assert mailbox.messages == []


def test_token_from_the_page_works(app, client, mailbox):
    """With the page's own token the post works: the refusals above are the CSRF check."""
    make_customer(app, email="ana@example.com", verified=False)
    assert login(client, "ana@example.com", PASSWORD).status_code == 302
    response = submit(client, "/account/verify-email", {}, page="/account")
    assert response.status_code == 302
    assert len(mailbox.wait_for("ana@example.com")) == 1
    assert customer_count(app) == 1
