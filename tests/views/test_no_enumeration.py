"""Nobody can learn from the pages whether an email has an account: same status, same page,
same argon2 work; only the mailbox's owner hears about it."""

from __future__ import annotations

import statistics
import time

import pytest

from idp.extensions import db
from tests.conftest_support import make_app
from tests.factories import PASSWORD, make_customer
from tests.helpers import csrf_token, login, mail_delivered, submit
from tests.mailbox import start_smtp_server
from tests.views.support import customer_count, event_count, without_csrf

KNOWN = "ana@example.com"
UNKNOWN = "bob@example.com"  # same length, so the echoed address does not change the size


def page(response, email):
    return without_csrf(response.get_data(as_text=True)).replace(email, "EMAIL")


def test_sign_in_failure_same_for_unknown_email(app, client):
    """An unknown email and a wrong password get the same status and the same page."""
    make_customer(app, email=KNOWN)
    wrong = login(app.test_client(), KNOWN, "wrong passphrase")
    unknown = login(app.test_client(), UNKNOWN, "wrong passphrase")
    assert wrong.status_code == unknown.status_code == 401
    assert page(wrong, KNOWN) == page(unknown, UNKNOWN)
    assert "Incorrect email or password." in wrong.get_data(as_text=True)
    assert set(wrong.headers.keys()) == set(unknown.headers.keys())


def test_unknown_email_costs_a_password_check(app, client):
    """An unknown email takes about as long as a wrong password: argon2 runs for both."""
    make_customer(app, email=KNOWN)
    login(app.test_client(), "warm-up@example.com", "wrong passphrase")  # first dummy hash

    def timed(email):
        started = time.perf_counter()
        response = login(client, email, "wrong passphrase")
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    wrong, unknown = [], []
    for i in range(5):
        wrong.append(timed(KNOWN))
        unknown.append(timed(f"nobody{i}@example.com"))
    # A ratio, not a duration: without the dummy check an unknown email is ~10x faster.
    assert statistics.median(unknown) >= 0.5 * statistics.median(wrong), (unknown, wrong)


def test_forgot_password_same_answer(app, client, mailbox):
    """Known and unknown emails get the same reset-request page; only the known one gets mail."""
    make_customer(app, email=KNOWN)
    known = submit(app.test_client(), "/forgot-password", {"email": KNOWN})
    unknown = submit(app.test_client(), "/forgot-password", {"email": UNKNOWN})
    assert known.status_code == unknown.status_code == 200
    assert page(known, KNOWN) == page(unknown, UNKNOWN)
    assert len(mailbox.wait_for(KNOWN)) == 1
    mail_delivered(app)
    assert mailbox.to(UNKNOWN) == []


def test_signup_with_taken_email_mails_the_owner(app, client, mailbox):
    """Signing up with a taken email shows the usual page, warns the owner, and adds no account."""
    make_customer(app, email=KNOWN)
    fresh = submit(app.test_client(), "/signup", {"email": UNKNOWN, "password": PASSWORD})
    mailbox.clear()
    taken = submit(app.test_client(), "/signup", {"email": KNOWN, "password": "another passphrase"})

    assert fresh.status_code == taken.status_code == 200
    assert page(fresh, UNKNOWN) == page(taken, KNOWN)
    assert customer_count(app) == 2
    (mail,) = mailbox.wait_for(KNOWN)
    assert "/forgot-password" in mail.get_content()
    assert "/verify-email/" not in mail.get_content()
    # The owner's account and password are untouched.
    assert login(app.test_client(), KNOWN, PASSWORD).status_code == 302
    assert event_count(app, "customer:signup") == 1


def test_signup_with_taken_email_in_other_case(app, client, mailbox):
    """The same mailbox spelled in another case is still the existing account, not a second one."""
    make_customer(app, email=KNOWN)
    response = submit(client, "/signup", {"email": "ANA@Example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert customer_count(app) == 1
    assert len(mailbox.wait_for(KNOWN)) == 1


def test_signup_weak_password_same_for_taken_email(app, client):
    """A weak password is refused the same way whether or not the email is taken."""
    make_customer(app, email=KNOWN)
    taken = submit(app.test_client(), "/signup", {"email": KNOWN, "password": "password1"})
    fresh = submit(app.test_client(), "/signup", {"email": UNKNOWN, "password": "password1"})
    assert taken.status_code == fresh.status_code == 400
    assert page(taken, KNOWN) == page(fresh, UNKNOWN)


SLOW_SMTP = 0.6


@pytest.mark.parametrize(
    ("path", "field"), [("/forgot-password", "email"), ("/login/email", "email")]
)
def test_a_slow_mail_server_does_not_tell_known_addresses_apart(
    database_url, tmp_path, path, field
):
    """The mail to a known address is delivered after the answer, not before: with a mail
    server that takes 0.6 s per message, the known address still answers in well under that,
    as fast as an unknown one, and the mail does arrive."""
    mailbox, controller = start_smtp_server()
    mailbox.delay = SLOW_SMTP
    try:
        app = make_app(database_url, tmp_path / "instance", mailbox)
        with app.app_context():
            db.create_all()
        make_customer(app, email=KNOWN)

        def timed(email: str) -> float:
            client = app.test_client()
            token = csrf_token(client, path)
            started = time.perf_counter()
            response = client.post(path, data={"csrf_token": token, field: email})
            elapsed = time.perf_counter() - started
            assert response.status_code in (200, 303), response.status_code
            return elapsed

        timed(UNKNOWN)  # warm-up: templates, first connection to the database
        known, unknown = timed(KNOWN), timed(UNKNOWN)
        assert known < SLOW_SMTP / 2, f"known address answered in {known:.3f} s"
        assert unknown < SLOW_SMTP / 2
        mail_delivered(app)
        assert len(mailbox.to(KNOWN)) == 1 and mailbox.to(UNKNOWN) == []
    finally:
        controller.stop()
