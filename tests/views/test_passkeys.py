"""The passkey endpoints over HTTP, answered by a software authenticator: what they accept, and
every answer they refuse with a 400 JSON error and no effect (origin, RP ID, counter, owner...)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idp.extensions import db
from idp.models import Customer, LoginEvent, Passkey, UsedLink
from idp.services.events import EventTag
from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login
from tests.soft_authenticator import SoftAuthenticator, b64url
from tests.views.support import browser_sessions, event_count, is_signed_in, session_cookie_name

ORIGIN = "http://localhost:5000"
REGISTER_OPTIONS = "/account/security/passkeys/register/options"
REGISTER = "/account/security/passkeys/register"
SIGN_IN_OPTIONS = "/login/passkey/options"
SIGN_IN = "/login/passkey"
VERIFY_OPTIONS = "/login/verify/passkey/options"
VERIFY = "/login/verify/passkey"
SCRIPT_CSRF = re.compile(
    r'data-passkey="[^"]+".*?name="csrf_token" type="hidden" value="([^"]+)"', re.S
)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"ISSUER": ORIGIN}


def script_token(client: FlaskClient, page: str) -> str:
    """The CSRF token the passkey script of ``page`` sends (the input inside its element)."""
    match = SCRIPT_CSRF.search(client.get(page).get_data(as_text=True))
    assert match, f"no passkey script on {page}"
    return match.group(1)


def post(client: FlaskClient, url: str, body: Any, page: str = "/login") -> TestResponse:
    """A script's fetch: JSON body, the CSRF token of ``page`` in the X-CSRFToken header."""
    return client.post(url, json=body, headers={"X-CSRFToken": script_token(client, page)})


def assert_json_error(response: TestResponse, error: str | None = None) -> dict[str, Any]:
    assert response.status_code in {400, 401, 403}, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert isinstance(body["error"], str) and isinstance(body["error_description"], str)
    if error is not None:
        assert body["error"] == error, body
    return body  # type: ignore[no-any-return]


def add_passkey(
    client: FlaskClient, key: SoftAuthenticator, name: str | None = "Laptop"
) -> TestResponse:
    options = post(client, REGISTER_OPTIONS, {"name": name}, "/account/security")
    assert options.status_code == 200, options.get_json()
    return post(
        client,
        REGISTER,
        {"credential": key.create(options.get_json()["publicKey"])},
        "/account/security",
    )


def signed_in_with_passkey(
    app: Flask, email: str = "ana@example.com", **key_options: Any
) -> tuple[Customer, SoftAuthenticator]:
    """A customer who signed in with a password in another browser and added a passkey."""
    customer = make_customer(app, email=email)
    other = app.test_client()
    login(other, email, PASSWORD)
    key = SoftAuthenticator(ORIGIN, **key_options)
    response = add_passkey(other, key)
    assert response.status_code == 200, response.get_json()
    return customer, key


def passkeys(app: Flask) -> list[Passkey]:
    with app.app_context():
        rows = list(db.session.execute(db.select(Passkey).order_by(Passkey.id)).scalars())
        db.session.expunge_all()
        return rows


def failures(app: Flask) -> list[LoginEvent]:
    with app.app_context():
        rows = list(
            db.session.execute(
                db.select(LoginEvent).where(LoginEvent.tag == str(EventTag.LOGIN_FAILURE))
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def passwordless(client: FlaskClient, key: SoftAuthenticator, **lie: Any) -> TestResponse:
    options = post(client, SIGN_IN_OPTIONS, {}).get_json()["publicKey"]
    return post(client, SIGN_IN, {"credential": key.get(options, **lie)})


# --- what works -------------------------------------------------------------------------------


def test_register_then_sign_in_without_a_password(app, client, mailbox):
    """A named passkey is stored with its key and transports; it alone then signs in (amr: the
    key, the person, mfa), the answer a JSON redirect carrying the session cookie."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    key = SoftAuthenticator(ORIGIN)
    registered = add_passkey(client, key, "  My\tlaptop\x00 ")
    assert registered.status_code == 200
    assert registered.get_json() == {"redirect": "/account/security", "recovery_codes": True}
    [row] = passkeys(app)
    assert row.name == "My laptop"
    assert row.credential_id == key.credential_id and row.transports == ["internal"]
    assert event_count(app, str(EventTag.PASSKEY_ADDED)) == 1
    assert "My laptop" in mailbox.wait_for("ana@example.com")[-1].get_body().get_content()

    browser = app.test_client()
    response = passwordless(browser, key)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"redirect": "/account"}
    assert session_cookie_name(app) in response.headers.get("Set-Cookie", "")
    assert is_signed_in(browser)
    amr = browser_sessions(app)[-1].amr
    assert amr == ["hwk", "user", "mfa"]
    assert passkeys(app)[0].sign_count == 1 and passkeys(app)[0].last_used_at is not None


def test_unnamed_passkeys_get_numbered_names(app, client):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    for _ in range(2):
        assert add_passkey(client, SoftAuthenticator(ORIGIN), None).status_code == 200
    assert [p.name for p in passkeys(app)] == ["Passkey 1", "Passkey 2"]


def test_synced_passkey_is_swk_and_second_step_after_password(app, client):
    """With a passkey the password stops half-way; a synced passkey (backup eligible) finishes
    with amr pwd + swk + user + mfa."""
    customer, key = signed_in_with_passkey(app, backup_eligible=True, counting=False)
    login(client, customer.email, PASSWORD)
    assert not is_signed_in(client)
    options = post(client, VERIFY_OPTIONS, {}, "/login/verify").get_json()["publicKey"]
    assert options["allowCredentials"] == [
        {"id": b64url(key.credential_id), "type": "public-key", "transports": ["internal"]}
    ]
    assert options["userVerification"] == "preferred"
    response = post(client, VERIFY, {"credential": key.get(options)}, "/login/verify")
    assert response.status_code == 200, response.get_json()
    assert is_signed_in(client)
    assert browser_sessions(app)[-1].amr == ["pwd", "swk", "user", "mfa"]


def test_rename_and_remove(app, client, mailbox):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    add_passkey(client, SoftAuthenticator(ORIGIN), "Old name")
    [row] = passkeys(app)
    token = csrf_token(client, "/account/security")
    client.post(
        f"/account/security/passkeys/{row.id}/rename",
        data={"csrf_token": token, "name": "New name"},
    )
    assert passkeys(app)[0].name == "New name"
    response = client.post(
        f"/account/security/passkeys/{row.id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert passkeys(app) == []
    assert event_count(app, str(EventTag.PASSKEY_REMOVED)) == 1
    assert "New name" in mailbox.wait_for("ana@example.com", 2)[-1].get_body().get_content()


# --- what is refused --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", [REGISTER_OPTIONS, REGISTER, SIGN_IN_OPTIONS, SIGN_IN, VERIFY_OPTIONS, VERIFY]
)
def test_every_endpoint_needs_the_csrf_token(app, client, url):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    response = client.post(url, json={}, headers={"X-CSRFToken": "not-a-token"})
    assert_json_error(response, "invalid_request")
    assert "CSRF" in response.get_json()["error_description"]
    with client.session_transaction() as flask_session:
        assert "idp_webauthn" not in flask_session


def test_registration_needs_sign_in(app, client):
    for url in (REGISTER_OPTIONS, REGISTER):
        body = assert_json_error(post(client, url, {"name": "x"}), "login_required")
        assert body["redirect"].startswith("/login?next=")
    with client.session_transaction() as flask_session:
        assert "idp_webauthn" not in flask_session


def test_changing_passkeys_needs_the_second_step_once_there_is_one(app, client):
    """A session that proved only the password (from before the passkey existed) may not add
    another: it is sent to the second step first."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    token = csrf_token(client, "/account/security")
    signed_in_with_passkey_elsewhere = app.test_client()
    login(signed_in_with_passkey_elsewhere, "ana@example.com", PASSWORD)
    add_passkey(signed_in_with_passkey_elsewhere, SoftAuthenticator(ORIGIN))
    response = client.post(REGISTER_OPTIONS, json={}, headers={"X-CSRFToken": token})
    body = assert_json_error(response, "step_up_required")
    assert body["redirect"].startswith("/login/verify?next=")
    [row] = passkeys(app)
    client.post(f"/account/security/passkeys/{row.id}/remove", data={"csrf_token": token})
    assert len(passkeys(app)) == 1


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {},
        {"credential": "abc"},
        {"credential": []},
        {"credential": {}},
        {"credential": {"id": 1, "rawId": None, "response": "x", "type": "public-key"}},
        {
            "credential": {
                "id": "!!",
                "rawId": "!!",
                "type": "public-key",
                "response": {
                    "clientDataJSON": "%%%",
                    "attestationObject": "%%%",
                    "authenticatorData": "%%%",
                    "signature": "%%%",
                    "userHandle": "%%%",
                },
            }
        },
        {
            "credential": {
                "id": "AAAA",
                "rawId": "AAAA",
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(b"{not json"),
                    "attestationObject": b64url(b"\xff\x00"),
                    "authenticatorData": b64url(b"short"),
                    "signature": b64url(b"sig"),
                },
            }
        },
    ],
)
def test_malformed_answers_are_400_json(app, client, body):
    """Whatever a script sends, with or without a ceremony started: a 400 JSON, never a 500."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    for options, finish, page in (
        (REGISTER_OPTIONS, REGISTER, "/account/security"),
        (SIGN_IN_OPTIONS, SIGN_IN, "/login"),
    ):
        token = csrf_token(client, page)
        headers = {"X-CSRFToken": token}
        assert_json_error(client.post(finish, json=body, headers=headers))
        assert client.post(options, json={}, headers=headers).status_code == 200
        assert_json_error(client.post(finish, json=body, headers=headers))
        raw = client.post(
            finish, data=b"{oops", headers={**headers, "Content-Type": "application/json"}
        )
        assert_json_error(raw, "invalid_request")
    assert passkeys(app) == []


def test_finish_without_a_ceremony_is_refused(app, client):
    _, key = signed_in_with_passkey(app)
    options = {"challenge": b64url(b"made up by the client"), "rpId": "localhost"}
    response = post(client, SIGN_IN, {"credential": key.get(options)})
    assert_json_error(response, "invalid_request")
    assert not is_signed_in(client)


def test_a_name_too_long_is_refused_before_the_ceremony(app, client):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    response = post(client, REGISTER_OPTIONS, {"name": "x" * 65}, "/account/security")
    assert_json_error(response, "invalid_name")
    with client.session_transaction() as flask_session:
        assert "idp_webauthn" not in flask_session


@pytest.mark.parametrize(
    "lie",
    [{"origin": "http://localhost:5001"}, {"origin": "https://evil.example"}, {"rp_id": "evil"}],
)
def test_registration_from_another_origin_or_rp_is_refused(app, client, lie):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    options = post(client, REGISTER_OPTIONS, {}, "/account/security").get_json()["publicKey"]
    credential = SoftAuthenticator(ORIGIN).create(options, **lie)
    response = post(client, REGISTER, {"credential": credential}, "/account/security")
    assert_json_error(response, "invalid_credential")
    assert passkeys(app) == []


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        ({"origin": "http://localhost:5001"}, "wrong origin"),
        ({"origin": "http://127.0.0.1:5000"}, "wrong origin"),
        ({"rp_id": "evil.example"}, "wrong relying party id"),
        ({"user_handle": b"someone else"}, "user handle mismatch"),
    ],
)
def test_assertion_from_another_origin_rp_or_user_is_refused(app, client, lie, reason):
    """A genuine signature by a registered key, made for another origin, RP or user: refused,
    recorded, nobody signed in, the counter unchanged."""
    customer, key = signed_in_with_passkey(app)
    assert_json_error(passwordless(client, key, **lie), "verification_failed")
    assert not is_signed_in(client)
    [failure] = failures(app)
    assert failure.reason == reason and failure.customer_id == customer.id
    assert passkeys(app)[0].sign_count == 0


def test_unknown_credential_is_refused_and_recorded(app, client):
    signed_in_with_passkey(app)
    stranger = SoftAuthenticator(ORIGIN)
    stranger.user_handle = b"whoever"
    assert_json_error(passwordless(client, stranger), "unknown_credential")
    [failure] = failures(app)
    assert failure.customer_id is None and failure.reason == "unknown passkey"


def test_counter_that_did_not_grow_is_refused(app, client):
    """A clone of the key, a step behind: its counter is not above the stored one."""
    _, key = signed_in_with_passkey(app)
    assert passwordless(client, key).status_code == 200
    key.sign_count -= 1  # the clone signs with the counter the original already used
    other = app.test_client()
    assert_json_error(passwordless(other, key), "verification_failed")
    assert not is_signed_in(other)
    assert failures(app)[0].reason == "sign counter did not grow"


def test_challenge_answers_once_even_with_a_replayed_cookie(app, client):
    """The Flask cookie that held the challenge, sent again with the same answer: refused, since
    the challenge was spent on the server (a counter of 0 cannot catch this)."""
    _, key = signed_in_with_passkey(app, counting=False)
    options = post(client, SIGN_IN_OPTIONS, {}).get_json()["publicKey"]
    cookie = client.get_cookie("idp_state")
    assert cookie is not None
    credential = key.get(options)
    token = csrf_token(client, "/login")
    assert post(client, SIGN_IN, {"credential": credential}).status_code == 200

    replay = app.test_client()
    replay.set_cookie("idp_state", cookie.value)
    response = replay.post(SIGN_IN, json={"credential": credential}, headers={"X-CSRFToken": token})
    assert_json_error(response, "verification_failed")
    assert not is_signed_in(replay)
    assert failures(app)[0].reason == "challenge already used"
    with app.app_context():  # the registration's challenge and the sign-in's, once each
        assert db.session.execute(db.select(db.func.count()).select_from(UsedLink)).scalar() == 2


def test_passwordless_needs_user_verification(app, client):
    """A key that only tested presence is not enough alone; as a second step it is."""
    customer, key = signed_in_with_passkey(app, user_verified=False)
    assert_json_error(passwordless(client, key), "verification_failed")
    assert failures(app)[0].reason == "user not verified"
    login(client, customer.email, PASSWORD)
    options = post(client, VERIFY_OPTIONS, {}, "/login/verify").get_json()["publicKey"]
    response = post(client, VERIFY, {"credential": key.get(options)}, "/login/verify")
    assert response.status_code == 200
    assert browser_sessions(app)[-1].amr == ["pwd", "hwk", "user", "mfa"]


def test_second_step_refuses_another_customers_passkey(app, client):
    _, ana_key = signed_in_with_passkey(app, "ana@example.com")
    bob, _ = signed_in_with_passkey(app, "bob@example.com")
    login(client, bob.email, PASSWORD)
    options = post(client, VERIFY_OPTIONS, {}, "/login/verify").get_json()["publicKey"]
    response = post(client, VERIFY, {"credential": ana_key.get(options)}, "/login/verify")
    assert_json_error(response, "verification_failed")
    assert not is_signed_in(client)
    assert failures(app)[0].reason == "passkey of another customer"


def test_second_step_needs_a_pending_sign_in(app, client):
    """Without a pending sign-in or a session, the second-step ceremony refuses to start."""
    assert_json_error(post(client, VERIFY_OPTIONS, {}), "login_required")
    assert_json_error(post(client, VERIFY, {"credential": {}}), "login_required")


def test_cannot_remove_another_customers_passkey(app, client):
    signed_in_with_passkey(app, "ana@example.com")
    [row] = passkeys(app)
    make_customer(app, email="eve@example.com")
    login(client, "eve@example.com", PASSWORD)
    token = csrf_token(client, "/account/security")
    client.post(f"/account/security/passkeys/{row.id}/remove", data={"csrf_token": token})
    client.post(
        f"/account/security/passkeys/{row.id}/rename", data={"csrf_token": token, "name": "x"}
    )
    assert [p.name for p in passkeys(app)] == ["Laptop"]


def test_remove_needs_the_csrf_token(app, client):
    """The HTML forms keep the usual CSRF page; the passkey stays."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    add_passkey(client, SoftAuthenticator(ORIGIN))
    [row] = passkeys(app)
    response = client.post(f"/account/security/passkeys/{row.id}/remove", data={})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "sent from another site" in response.get_data(as_text=True)
    assert len(passkeys(app)) == 1
