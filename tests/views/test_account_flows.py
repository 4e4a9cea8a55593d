"""Sign-up, email verification and password reset through the pages and the real mailbox."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from idp.services import customers
from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login, submit
from tests.views.support import password_hash, used_link_count

NEW_PASSWORD = "a fresh new passphrase"


def link_path(mailbox, email, path):
    return urlsplit(mailbox.last_link(email, path)).path


def reset_link(client, mailbox, email):
    mailbox.clear()
    assert submit(client, "/forgot-password", {"email": email}).status_code == 200
    return link_path(mailbox, email, "/reset-password/")


def is_verified(app, email):
    with app.app_context():
        return customers.find_by_email(email).email_verified


def test_verification_link_works_once(app, client, mailbox):
    """The link mailed at sign-up verifies the address; the same link a second time is a 400."""
    submit(client, "/signup", {"email": "ana@example.com", "password": PASSWORD})
    path = link_path(mailbox, "ana@example.com", "/verify-email/")
    assert not is_verified(app, "ana@example.com")

    assert client.get(path).status_code == 200
    assert is_verified(app, "ana@example.com")

    again = client.get(path)
    assert again.status_code == 400
    assert again.mimetype == "text/html"


def test_reset_link_works_once(app, client, mailbox):
    """A reset link sets the new password once; posting to it again is a 400 and changes nothing."""
    make_customer(app, email="ana@example.com")
    path = reset_link(client, mailbox, "ana@example.com")

    response = submit(client, path, {"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert login(app.test_client(), "ana@example.com", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "ana@example.com", PASSWORD).status_code == 401
    changed = password_hash(app, "ana@example.com")

    assert client.get(path).status_code == 400
    token = csrf_token(client, "/forgot-password")
    again = client.post(path, data={"csrf_token": token, "password": "yet another passphrase"})
    assert again.status_code == 400
    assert password_hash(app, "ana@example.com") == changed


@pytest.mark.parametrize("app_config", [{"RESET_LINK_MAX_AGE": 1, "EMAIL_LINK_MAX_AGE": 1}])
def test_links_expire(app, client, mailbox):
    """Verification and reset links are refused once older than their configured max age."""
    make_customer(app, email="ana@example.com")
    submit(client, "/signup", {"email": "new@example.com", "password": PASSWORD})
    verify = link_path(mailbox, "new@example.com", "/verify-email/")
    reset = reset_link(client, mailbox, "ana@example.com")
    made = int(time.time())
    # itsdangerous counts whole seconds: age 2 is the first one over a max age of 1.
    time.sleep(max(0.0, made + 2.05 - time.time()))

    assert client.get(verify).status_code == 400
    assert not is_verified(app, "new@example.com")
    assert client.get(reset).status_code == 400
    token = csrf_token(client, "/forgot-password")
    posted = client.post(reset, data={"csrf_token": token, "password": NEW_PASSWORD})
    assert posted.status_code == 400
    assert login(client, "ana@example.com", PASSWORD).status_code == 302


def _tamper(token):
    position = len(token) // 2
    swapped = "A" if token[position] != "A" else "B"
    return token[:position] + swapped + token[position + 1 :]


def test_tampered_links_refused(app, client, mailbox):
    """A verification or reset link with one character changed is a 400."""
    submit(client, "/signup", {"email": "ana@example.com", "password": PASSWORD})
    verify = link_path(mailbox, "ana@example.com", "/verify-email/")
    reset = reset_link(client, mailbox, "ana@example.com")
    for path in (verify, reset):
        prefix, token = path.rsplit("/", 1)
        assert client.get(f"{prefix}/{_tamper(token)}").status_code == 400
    assert not is_verified(app, "ana@example.com")


def test_links_are_not_interchangeable(app, client, mailbox):
    """A verification token does not open the reset page, and a reset token verifies nothing."""
    submit(client, "/signup", {"email": "ana@example.com", "password": PASSWORD})
    verify_token = link_path(mailbox, "ana@example.com", "/verify-email/").rsplit("/", 1)[1]
    reset_token = reset_link(client, mailbox, "ana@example.com").rsplit("/", 1)[1]

    assert client.get(f"/reset-password/{verify_token}").status_code == 400
    token = csrf_token(client, "/forgot-password")
    posted = client.post(
        f"/reset-password/{verify_token}", data={"csrf_token": token, "password": NEW_PASSWORD}
    )
    assert posted.status_code == 400
    assert client.get(f"/verify-email/{reset_token}").status_code == 400
    assert not is_verified(app, "ana@example.com")
    assert login(client, "ana@example.com", PASSWORD).status_code == 302


def test_reset_link_dies_when_password_changes(app, client, mailbox):
    """A reset link mailed before the customer changed the password is refused afterwards."""
    make_customer(app, email="ana@example.com")
    path = reset_link(app.test_client(), mailbox, "ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    changed = submit(
        client, "/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    assert app.test_client().get(path).status_code == 400


def test_older_reset_link_dies_when_newer_one_used(app, client, mailbox):
    """Of two reset links, using one kills the other."""
    make_customer(app, email="ana@example.com")
    first = reset_link(client, mailbox, "ana@example.com")
    second = reset_link(client, mailbox, "ana@example.com")
    assert first != second
    assert submit(client, second, {"password": NEW_PASSWORD}).status_code == 302
    assert client.get(first).status_code == 400


def test_reset_applies_password_policy_without_spending_link(app, client, mailbox):
    """A refused new password on the reset page keeps the link usable for a better one."""
    make_customer(app, email="ana@example.com")
    path = reset_link(client, mailbox, "ana@example.com")
    refused = submit(client, path, {"password": "iloveyou"})
    assert refused.status_code == 400
    assert "too common" in refused.get_data(as_text=True)
    assert used_link_count(app) == 0
    assert submit(client, path, {"password": NEW_PASSWORD}).status_code == 302


def test_concurrent_reset_spends_once(app, mailbox):
    """Two browsers posting one reset link at once: one succeeds, the other gets a 400."""
    make_customer(app, email="ana@example.com")
    path = reset_link(app.test_client(), mailbox, "ana@example.com")
    browsers = [app.test_client() for _ in range(2)]
    tokens = [csrf_token(browser, path) for browser in browsers]
    start = threading.Barrier(2)
    statuses = [0, 0]

    def post(i):
        start.wait()
        password = f"racing passphrase number {i}"
        response = browsers[i].post(path, data={"csrf_token": tokens[i], "password": password})
        statuses[i] = response.status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # One wins; the other is told the link is spent, never a crash.
    assert sorted(statuses) == [302, 400], statuses
    assert used_link_count(app) == 1
    winner = f"racing passphrase number {statuses.index(302)}"
    assert login(app.test_client(), "ana@example.com", winner).status_code == 302
