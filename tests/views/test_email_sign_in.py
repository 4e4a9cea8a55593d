"""Signing in with an emailed code or link, through the real pages and the real mailbox."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models import EmailSignIn, LoginEvent
from idp.models.types import utcnow
from tests.factories import enroll_totp, make_customer, totp_code
from tests.helpers import csrf_token, mail_delivered, submit
from tests.views.support import (
    browser_sessions,
    event_count,
    is_signed_in,
    session_cookie,
    without_csrf,
)

KNOWN = "ana@example.com"
UNKNOWN = "bob@example.com"  # same length, so the echoed address does not change the page size
CODE_LINE = re.compile(r"^([0-9]{6})\r?$", re.MULTILINE)
SMALL = "3 per 15 minutes"


def ask(client, email=KNOWN, next_url=None, **kw):
    """Post the address as the page would, with the hidden ``next`` it carries."""
    data = {"email": email, **({"next": next_url} if next_url else {})}
    return submit(client, "/login/email", data, page="/login/email", **kw)


def mailed(mailbox, email=KNOWN, count=1):
    """The code and the link path of the newest sign-in mail to ``email``."""
    body = mailbox.wait_for(email, count)[-1].get_content()
    code = CODE_LINE.search(body)
    assert code, body
    return code.group(1), urlsplit(mailbox.last_link(email, "/login/email/")).path


def send_code(client, code, **kw):
    return submit(client, "/login/email/code", {"code": code}, **kw)


def wrong(code):
    return "000000" if code != "000000" else "111111"


def login_events(app):
    with app.app_context():
        rows = db.session.execute(
            db.select(LoginEvent.tag, LoginEvent.method, LoginEvent.reason).order_by(LoginEvent.id)
        ).all()
        return [tuple(r) for r in rows]


def test_login_page_offers_the_emailed_code(app, client):
    """The sign-in page links to the emailed-code page and keeps where the customer was going."""
    body = client.get("/login?next=/account/security").get_data(as_text=True)
    assert 'href="/login/email?next=/account/security"' in body
    page = client.get("/login/email?next=/account/security").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account/security"' in page


def test_sign_in_with_the_emailed_code(app, client, mailbox):
    """The code from the mail starts a session with amr ["otp"] and records the sign-in."""
    make_customer(app, email=KNOWN)
    response = ask(client, next_url="/account/security")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login/email/code"
    page = client.get("/login/email/code").get_data(as_text=True)
    assert "Check your email" in page and KNOWN in page
    code, _ = mailed(mailbox)
    assert not is_signed_in(client)

    response = send_code(client, code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security"
    assert is_signed_in(client)
    (browser_session,) = browser_sessions(app)
    assert browser_session.amr == ["otp"]
    assert ("customer:login:email_sent", "email_code", None) in login_events(app)
    assert ("customer:login:success", "email_code", None) in login_events(app)


def test_sign_in_with_the_link(app, client, mailbox):
    """GET on the link only shows a button (mail scanners fetch links); the POST signs in."""
    make_customer(app, email=KNOWN)
    ask(client)
    _, link = mailed(mailbox)

    scanner = app.test_client()
    for _ in range(2):
        page = scanner.get(link)
        assert page.status_code == 200
        assert f"Sign in as {KNOWN}?" in page.get_data(as_text=True)
    assert session_cookie(scanner, app) is None

    browser = app.test_client()  # another browser than the one that asked: links work anywhere
    response = submit(browser, link, {})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert is_signed_in(browser)
    (browser_session,) = browser_sessions(app)
    assert browser_session.amr == ["otp"]
    assert ("customer:login:success", "magic_link", None) in login_events(app)


def test_link_keeps_next_in_the_browser_that_asked(app, client, mailbox):
    """Opened where the code was asked for, the link goes on to the page the customer wanted."""
    make_customer(app, email=KNOWN)
    ask(client, next_url="/account/devices")
    _, link = mailed(mailbox)
    response = submit(client, link, {})
    assert response.headers["Location"] == "/account/devices"


def test_code_works_once(app, client, mailbox):
    """A second browser replaying the same handle and code after the sign-in gets a 401."""
    make_customer(app, email=KNOWN)
    ask(client)
    code, link = mailed(mailbox)
    replay = app.test_client()
    state = client.get_cookie("idp_state")
    assert state is not None
    replay.set_cookie("idp_state", state.value)

    assert send_code(client, code).status_code == 302
    again = send_code(replay, code)
    assert again.status_code == 401
    assert "That code is not right." in again.get_data(as_text=True)
    assert not is_signed_in(replay)
    # The link of the same mail died with its code.
    assert app.test_client().get(link).status_code == 400


def test_link_works_once(app, client, mailbox):
    """The link signs in once; afterwards GET and POST on it are a 400 with a clear page."""
    make_customer(app, email=KNOWN)
    ask(client)
    code, link = mailed(mailbox)
    assert submit(app.test_client(), link, {}).status_code == 302

    other = app.test_client()
    page = other.get(link)
    assert page.status_code == 400
    assert "This link cannot be used" in page.get_data(as_text=True)
    posted = other.post(link, data={"csrf_token": csrf_token(other, "/login/email")})
    assert posted.status_code == 400
    assert not is_signed_in(other)
    assert ("customer:login:failure", "magic_link", "bad_link") in login_events(app)
    # The code of the same mail died with its link.
    assert send_code(client, code).status_code == 401


@pytest.mark.parametrize("app_config", [{"EMAIL_SIGN_IN_LIFETIME": 1}])
def test_expired_code_and_link_refused(app, client, mailbox):
    """Past EMAIL_SIGN_IN_LIFETIME the code page asks for a new code and the link is a 400."""
    make_customer(app, email=KNOWN)
    ask(client)
    code, link = mailed(mailbox)
    time.sleep(1.1)

    response = send_code(client, code, page="/login/email")
    assert response.status_code == 400
    assert "Your sign-in code has expired. Ask for a new one." in response.get_data(as_text=True)
    assert app.test_client().get(link).status_code == 400
    assert submit(app.test_client(), link, {}, page="/login/email").status_code == 400
    assert not is_signed_in(client)
    assert browser_sessions(app) == []


def test_expired_in_the_database_refused(app, client, mailbox):
    """A row past its expires_at is refused even while the browser still holds its handle."""
    make_customer(app, email=KNOWN)
    ask(client)
    code, link = mailed(mailbox)
    with app.app_context():
        db.session.execute(db.update(EmailSignIn).values(expires_at=utcnow() - timedelta(1)))
        db.session.commit()
    assert send_code(client, code).status_code == 401
    assert app.test_client().get(link).status_code == 400
    assert browser_sessions(app) == []


def test_unknown_email_same_answer_and_no_mail(app, mailbox):
    """Known and unknown emails get the same page, and the same answer to a code; one mail."""
    make_customer(app, email=KNOWN)
    known_browser, unknown_browser = app.test_client(), app.test_client()
    known = ask(known_browser, KNOWN, follow_redirects=True)
    unknown = ask(unknown_browser, UNKNOWN, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert [r.status_code for r in known.history] == [r.status_code for r in unknown.history]

    def page(response, email):
        return without_csrf(response.get_data(as_text=True)).replace(email, "EMAIL")

    assert page(known, KNOWN) == page(unknown, UNKNOWN)
    assert set(known.headers.keys()) == set(unknown.headers.keys())
    code, _ = mailed(mailbox)
    mail_delivered(app)
    assert mailbox.to(UNKNOWN) == []

    known_wrong = send_code(known_browser, wrong(code))
    unknown_wrong = send_code(unknown_browser, code)
    assert known_wrong.status_code == unknown_wrong.status_code == 401
    assert page(known_wrong, KNOWN).replace(wrong(code), "CODE") == page(
        unknown_wrong, UNKNOWN
    ).replace(code, "CODE")


@pytest.mark.parametrize("app_config", [{"MFA_LIMIT_PER_ACCOUNT": SMALL}])
def test_wrong_codes_throttled(app, client, mailbox):
    """After 3 wrong codes even the right one gets a 429 with Retry-After, and no session."""
    make_customer(app, email=KNOWN)
    ask(client)
    code, _ = mailed(mailbox)
    for _ in range(3):
        assert send_code(client, wrong(code)).status_code == 401
    response = send_code(client, code)
    assert response.status_code == 429
    assert "Too many attempts. Try again in" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert not is_signed_in(client)
    assert ("customer:login:failure", "email_code", "bad_code") in login_events(app)
    assert ("customer:login:failure", "email_code", "throttled") in login_events(app)


@pytest.mark.parametrize("app_config", [{"MFA_LIMIT_PER_ACCOUNT": SMALL}])
def test_new_mails_give_no_fresh_guesses(app, client, mailbox):
    """Asking for a new mail does not reset the count of wrong codes for that address."""
    make_customer(app, email=KNOWN)
    for i in range(3):
        ask(client)
        code, _ = mailed(mailbox, count=i + 1)
        assert send_code(client, wrong(code)).status_code == 401
    ask(client)
    code, _ = mailed(mailbox, count=4)
    assert send_code(client, code).status_code == 429


@pytest.mark.parametrize("app_config", [{"FORM_LIMIT_PER_IP": "2 per 15 minutes"}])
def test_mails_throttled(app, client, mailbox):
    """A third request within the limit is a 429 with Retry-After, and sends nothing."""
    make_customer(app, email=KNOWN)
    assert ask(client).status_code == 303
    assert ask(client).status_code == 303
    mailbox.wait_for(KNOWN, 2)
    response = ask(client)
    assert response.status_code == 429
    assert "Too many attempts. Try again in" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    mail_delivered(app)
    assert len(mailbox.to(KNOWN)) == 2


def test_second_factor_still_asked(app, client, mailbox):
    """A customer with an authenticator app goes to /login/verify after the code, not in."""
    customer = make_customer(app, email=KNOWN)
    secret = enroll_totp(app, customer)
    ask(client)
    code, _ = mailed(mailbox)
    response = send_code(client, code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/verify"
    assert not is_signed_in(client)
    assert browser_sessions(app) == []

    finished = submit(client, "/login/verify", {"code": totp_code(secret)})
    assert finished.status_code == 302
    assert is_signed_in(client)
    (browser_session,) = browser_sessions(app)
    assert browser_session.amr == ["otp", "mfa"]


def test_link_also_asks_for_the_second_factor(app, client, mailbox):
    """The link is a first factor too: an authenticator app is still asked for after it."""
    enroll_totp(app, make_customer(app, email=KNOWN))
    ask(client)
    _, link = mailed(mailbox)
    response = submit(client, link, {})
    assert response.headers["Location"] == "/login/verify"
    assert not is_signed_in(client)


def test_csrf_required(app, client, mailbox):
    """Every form refuses a post without its CSRF token, and nothing is sent or spent."""
    make_customer(app, email=KNOWN)
    assert client.post("/login/email", data={"email": KNOWN}).status_code == 400
    mail_delivered(app)
    assert mailbox.to(KNOWN) == []

    ask(client)
    code, link = mailed(mailbox)
    assert client.post("/login/email/code", data={"code": code}).status_code == 400
    assert client.post(link, data={}).status_code == 400
    assert browser_sessions(app) == []
    assert send_code(client, code).status_code == 302


@pytest.mark.parametrize(
    "code", ["", "abcdef", "12345", "1234567", "12\x003456", "\ufffd", "1" * 20_000]
)
def test_junk_codes_are_400(app, client, mailbox, code):
    """A code that cannot be six digits is a 400 naming the field; the right one still works."""
    make_customer(app, email=KNOWN)
    ask(client)
    right, _ = mailed(mailbox)
    response = send_code(client, code)
    assert response.status_code == 400
    assert 'id="code-error"' in response.get_data(as_text=True)
    assert send_code(client, right).status_code == 302


@pytest.mark.parametrize(
    "email", ["", "   ", "a" * 400 + "@example.com", "ana\x00@example.com", "ana@\ufffd"]
)
def test_junk_emails_are_400(app, client, mailbox, email):
    """An empty, huge or binary address is a 400 naming the field, and sends nothing."""
    make_customer(app, email=KNOWN)
    response = ask(client, email)
    assert response.status_code == 400
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert event_count(app) == 0


@pytest.mark.parametrize("token", ["x", "A" * 5000, "%00" * 43, "..%2F..%2Fetc", "A" * 43])
def test_junk_links_are_4xx(app, client, token):
    """A link that matches no mail is a 4xx page, on GET and on POST."""
    response = client.get(f"/login/email/{token}")
    assert 400 <= response.status_code < 500
    posted = client.post(
        f"/login/email/{token}", data={"csrf_token": csrf_token(client, "/login/email")}
    )
    assert 400 <= posted.status_code < 500


def test_code_without_asking_first(app, client):
    """Posting a code in a browser that asked for none says to ask for one: a 400, not a 500."""
    response = submit(client, "/login/email/code", {"code": "123456"}, page="/login/email")
    assert response.status_code == 400
    assert "Ask for a new one." in response.get_data(as_text=True)
    assert client.get("/login/email/code").status_code == 302
    assert event_count(app) == 0


def test_open_redirect_refused(app, client, mailbox):
    """A next pointing elsewhere is dropped: the customer lands on their account."""
    make_customer(app, email=KNOWN)
    ask(client, next_url="https://evil.example/")
    code, _ = mailed(mailbox)
    assert send_code(client, code).headers["Location"] == "/account"
