"""Browser sessions: a new id at every sign-in, safe cookie flags, only a digest stored, and
ended by sign-out, password change and password reset."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from idp.extensions import db
from tests.factories import PASSWORD, make_customer
from tests.helpers import login, submit
from tests.views.support import (
    browser_sessions,
    client_with_cookie,
    is_signed_in,
    session_cookie,
)

NEW_PASSWORD = "a fresh new passphrase"


@pytest.fixture
def ana(app):
    return make_customer(app, email="ana@example.com")


def set_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_sign_in_issues_new_session_id(app, client, ana):
    """Signing in again replaces the session cookie, and the old value stops working."""
    login(client, "ana@example.com", PASSWORD)
    first = session_cookie(client, app)
    assert first

    login(client, "ana@example.com", PASSWORD)
    second = session_cookie(client, app)
    assert second and second != first
    assert not is_signed_in(client_with_cookie(app, first))
    assert is_signed_in(client_with_cookie(app, second))


def test_sign_in_renews_flask_cookie(app, client, ana):
    """The cookie that held the pre-sign-in state (CSRF secret) is not carried over unchanged."""
    client.get("/login")
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert before is not None
    login(client, "ana@example.com", PASSWORD)
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert after is None or after.value != before.value


def test_planted_session_id_not_adopted(app, client, ana):
    """A session id chosen by an attacker before sign-in is replaced, never authenticated."""
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.set_cookie(app.config["IDP_SESSION_COOKIE"], planted)
    assert login(client, "ana@example.com", PASSWORD).status_code == 302
    assert session_cookie(client, app) != planted
    assert not is_signed_in(client_with_cookie(app, planted))


def test_attacker_session_ended_when_victim_signs_in(app, client, ana):
    """An attacker's own valid session cookie, planted in a victim's browser, dies at sign-in."""
    make_customer(app, email="mallory@example.com")
    attacker = app.test_client()
    login(attacker, "mallory@example.com", PASSWORD)
    planted = session_cookie(attacker, app)

    client.set_cookie(app.config["IDP_SESSION_COOKIE"], planted)
    login(client, "ana@example.com", PASSWORD)
    assert session_cookie(client, app) != planted
    assert not is_signed_in(client_with_cookie(app, planted))


def test_cookie_flags_on_http_loopback(app, client, ana):
    """On the http loopback issuer the cookies are HttpOnly and SameSite=Lax, without Secure."""
    response = login(client, "ana@example.com", PASSWORD)
    (header,) = set_cookie_headers(response, "idp_session")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Domain=" not in header
    cookie = client.get_cookie("idp_session")
    assert cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("app_config", [{"ISSUER": "https://idp.example.com"}])
def test_cookie_flags_on_https(app, client, ana):
    """With an https issuer both cookies are Secure and named __Host- (no Domain, Path=/)."""
    client.environ_base["HTTP_REFERER"] = "https://localhost/login"  # Flask-WTF's https check
    page = client.get("/login")
    (state,) = set_cookie_headers(page, "__Host-idp_state")
    response = login(client, "ana@example.com", PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    (session,) = set_cookie_headers(response, "__Host-idp_session")
    for header in (state, session):
        assert "Secure" in header
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
        assert "Path=/" in header
        assert "Domain=" not in header
    assert client.get("/account").status_code == 200


def test_database_keeps_only_a_digest(app, client, ana):
    """The sessions table holds the SHA-256 of the cookie value, and no table holds the value."""
    login(client, "ana@example.com", PASSWORD)
    raw = session_cookie(client, app)
    (row,) = browser_sessions(app)
    assert row.id_digest == hashlib.sha256(raw.encode()).hexdigest()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for record in db.session.execute(sa.select(table)):
                assert not any(raw in str(value) for value in record), table.name


def test_sign_out_ends_server_side_session(app, client, ana):
    """After sign-out, replaying the old cookie value no longer signs anyone in."""
    login(client, "ana@example.com", PASSWORD)
    raw = session_cookie(client, app)
    response = submit(client, "/logout", {})
    assert response.status_code == 302
    assert session_cookie(client, app) is None
    assert not is_signed_in(client_with_cookie(app, raw))
    (row,) = browser_sessions(app)
    assert row.ended_at is not None


def test_password_change_ends_other_sessions(app, client, ana):
    """Changing the password signs out every other browser but keeps the current one."""
    other = app.test_client()
    login(other, "ana@example.com", PASSWORD)
    login(client, "ana@example.com", PASSWORD)
    response = submit(
        client, "/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(other)


def test_password_reset_ends_all_sessions(app, client, mailbox, ana):
    """Resetting the password through a mailed link signs out every browser of the customer."""
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        login(browser, "ana@example.com", PASSWORD)
    submit(client, "/forgot-password", {"email": "ana@example.com"})
    path = urlsplit(mailbox.last_link("ana@example.com", "/reset-password/")).path
    assert submit(browsers[0], path, {"password": NEW_PASSWORD}).status_code == 302
    assert not any(is_signed_in(browser) for browser in browsers)
    assert all(row.ended_at is not None for row in browser_sessions(app))


def test_forged_cookie_values_rejected(app, ana):
    """Cookie values that are not a live session's id (empty, huge, random) sign nobody in."""
    for value in ("", "x", "a" * 4000, "\u00e9" * 50):
        assert not is_signed_in(client_with_cookie(app, value))
