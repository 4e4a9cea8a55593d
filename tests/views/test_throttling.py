"""Failed sign-ins are limited per account and per address; sign-ups and reset requests per
address; a throttled answer is a 429 with a clear message and ``Retry-After``."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_customer
from tests.helpers import login, mail_delivered, submit
from tests.views.support import customer_count, is_signed_in, session_cookie

SMALL = "3 per 15 minutes"
MESSAGE = "Too many attempts. Try again in"
WRONG = "wrong passphrase"


def assert_throttled(response):
    assert response.status_code == 429
    assert MESSAGE in response.get_data(as_text=True)
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60


def from_ip(address):
    return {"environ_base": {"REMOTE_ADDR": address}}


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_account_locked_after_failures(app, client):
    """After 3 failed sign-ins for an account, even the right password gets a 429."""
    make_customer(app, email="ana@example.com")
    for _ in range(3):
        assert login(client, "ana@example.com", WRONG).status_code == 401
    response = login(client, "ana@example.com", PASSWORD)
    assert_throttled(response)
    assert session_cookie(client, app) is None
    assert not is_signed_in(client)


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_account_limit_holds_across_addresses(app, client):
    """The per-account limit counts failures from every address together."""
    make_customer(app, email="ana@example.com")
    for i in range(3):
        login(app.test_client(), "ana@example.com", WRONG, **from_ip(f"198.51.100.{i}"))
    assert_throttled(login(client, "ana@example.com", PASSWORD, **from_ip("198.51.100.99")))


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_account_limit_ignores_email_case(app, client):
    """Changing the case of the email does not give an attacker fresh attempts."""
    make_customer(app, email="ana@example.com")
    for email in ("ana@example.com", "ANA@example.com", "Ana@Example.com"):
        login(client, email, WRONG)
    assert_throttled(login(client, "aNa@example.com", PASSWORD))


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_account_limit_ignores_email_spelling(app, client):
    """Other spellings of one address (punycode, decomposed accents) share the account's limit."""
    make_customer(app, email="ana@ex\u00e1mple.com")
    spellings = ("ana@ex\u00e1mple.com", "ana@xn--exmple-qta.com", "ana@exa\u0301mple.com")
    for email in spellings:
        assert login(client, email, WRONG).status_code == 401
    assert_throttled(login(client, "ANA@XN--EXMPLE-QTA.COM", PASSWORD))


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_IP": SMALL, "LOGIN_LIMIT_PER_ACCOUNT": "100 per minute"}]
)
def test_address_limited_across_accounts(app, client):
    """3 failures on different accounts from one address block that address, not others."""
    make_customer(app, email="ana@example.com")
    attacker = from_ip("203.0.113.7")
    for i in range(3):
        assert login(client, f"guess{i}@example.com", WRONG, **attacker).status_code == 401
    assert_throttled(login(client, "ana@example.com", PASSWORD, **attacker))
    elsewhere = login(app.test_client(), "ana@example.com", PASSWORD, **from_ip("203.0.113.8"))
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL, "LOGIN_LIMIT_PER_IP": SMALL}]
)
def test_successes_are_not_counted(app):
    """Signing in correctly more often than the limit is never throttled."""
    make_customer(app, email="ana@example.com")
    for _ in range(4):
        assert login(app.test_client(), "ana@example.com", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_success_clears_account_failures(app, client):
    """A correct sign-in forgets the account's earlier failures."""
    make_customer(app, email="ana@example.com")
    for _ in range(2):
        login(client, "ana@example.com", WRONG)
    assert login(client, "ana@example.com", PASSWORD).status_code == 302
    for _ in range(2):
        login(app.test_client(), "ana@example.com", WRONG)
    assert login(app.test_client(), "ana@example.com", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": SMALL}])
def test_change_password_counts_wrong_current_password(app, client):
    """Guessing the current password on the change page uses up the account's attempts too."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    for _ in range(3):
        response = submit(
            client,
            "/account/password",
            {"current_password": WRONG, "password": "a fresh new passphrase"},
        )
        assert response.status_code == 400
    response = submit(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": "a fresh new passphrase"},
    )
    assert_throttled(response)


@pytest.mark.parametrize("app_config", [{"FORM_LIMIT_PER_IP": "2 per 15 minutes"}])
def test_forgot_password_limited(app, client, mailbox):
    """Reset requests beyond the limit get a 429 and send no more mail."""
    make_customer(app, email="ana@example.com")
    for _ in range(2):
        assert submit(client, "/forgot-password", {"email": "ana@example.com"}).status_code == 200
    mailbox.wait_for("ana@example.com", count=2)
    assert_throttled(submit(client, "/forgot-password", {"email": "ana@example.com"}))
    mail_delivered(app)
    assert len(mailbox.to("ana@example.com")) == 2


@pytest.mark.parametrize("app_config", [{"FORM_LIMIT_PER_IP": "2 per 15 minutes"}])
def test_forgot_password_limited_per_account(app, mailbox):
    """Reset requests for one email from many addresses are limited too (no mail flooding)."""
    make_customer(app, email="ana@example.com")
    for i in range(2):
        response = submit(
            app.test_client(),
            "/forgot-password",
            {"email": "ana@example.com"},
            **from_ip(f"198.51.100.{i}"),
        )
        assert response.status_code == 200
    response = submit(
        app.test_client(),
        "/forgot-password",
        {"email": "ANA@example.com"},
        **from_ip("198.51.100.50"),
    )
    assert_throttled(response)
    assert len(mailbox.wait_for("ana@example.com", count=2)) == 2


@pytest.mark.parametrize("app_config", [{"FORM_LIMIT_PER_IP": "2 per 15 minutes"}])
def test_forgot_password_limited_per_address(app, client, mailbox):
    """One address asking resets for many emails is limited too."""
    make_customer(app, email="ana@example.com")
    for i in range(2):
        submit(client, "/forgot-password", {"email": f"someone{i}@example.com"})
    assert_throttled(submit(client, "/forgot-password", {"email": "ana@example.com"}))
    mail_delivered(app)
    assert mailbox.to("ana@example.com") == []


@pytest.mark.parametrize("app_config", [{"FORM_LIMIT_PER_IP": "2 per 15 minutes"}])
def test_signup_limited(app, client, mailbox):
    """Sign-ups from one address beyond the limit get a 429 and create no account."""
    for i in range(2):
        response = submit(client, "/signup", {"email": f"new{i}@example.com", "password": PASSWORD})
        assert response.status_code == 200
    assert_throttled(submit(client, "/signup", {"email": "new9@example.com", "password": PASSWORD}))
    assert customer_count(app) == 2
    mail_delivered(app)
    assert mailbox.to("new9@example.com") == []
    other = app.test_client()
    response = submit(
        other,
        "/signup",
        {"email": "new9@example.com", "password": PASSWORD},
        **from_ip("192.0.2.44"),
    )
    assert response.status_code == 200
