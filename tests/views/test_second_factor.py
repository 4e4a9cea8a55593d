"""The second step of sign-in: authenticator codes, recovery codes, remembered browsers, and
the security page that manages them."""

from __future__ import annotations

import re
import time

import pytest

from idp.extensions import db
from idp.models import BrowserSession, LoginEvent, TotpCredential
from idp.views.signin import PENDING_KEY
from tests.factories import PASSWORD, enroll_totp, make_customer, totp_code
from tests.helpers import csrf_token, login, submit
from tests.views.support import browser_sessions, is_signed_in

CODES = re.compile(r"<code>([0-9a-z-]{19})</code>")


@pytest.fixture
def ana(app):
    return make_customer(app, email="ana@example.com")


@pytest.fixture
def secret(app, ana):
    return enroll_totp(app, ana)


def live_amr(app) -> list[list[str]]:
    return [s.amr for s in browser_sessions(app) if s.ended_at is None]


def events(app, tag: str) -> list[LoginEvent]:
    with app.app_context():
        rows = list(
            db.session.execute(db.select(LoginEvent).where(LoginEvent.tag == tag)).scalars()
        )
        db.session.expunge_all()
        return rows


def verify(client, code: str, **data):
    return submit(client, "/login/verify", {"code": code, **data})


def test_without_a_second_factor_the_password_is_enough(app, client, ana):
    response = login(client, ana.email, PASSWORD)
    assert response.headers["Location"] == "/account"
    assert live_amr(app) == [["pwd"]]


def test_password_alone_opens_nothing_when_a_second_factor_is_set(app, client, ana, secret):
    """After the password: the second-step page, no session, the account still locked."""
    response = login(client, ana.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/verify"
    assert browser_sessions(app) == []
    assert not is_signed_in(client)
    page = client.get("/login/verify").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    assert "recovery code" in page


def test_the_right_code_signs_in_with_mfa(app, client, ana, secret):
    login(client, ana.email, PASSWORD, query_string={"next": "/account/apps"})
    response = verify(client, totp_code(secret))
    assert response.status_code == 302
    assert is_signed_in(client)
    assert live_amr(app) == [["pwd", "otp", "mfa"]]
    success = events(app, "customer:login:success")
    assert [(e.method, e.amr) for e in success] == [("pwd+totp", ["pwd", "otp", "mfa"])]


def test_next_survives_the_second_step(app, client, ana, secret):
    page = client.get("/login?next=/account/apps").get_data(as_text=True)
    assert 'value="/account/apps"' in page
    submit(client, "/login", {"email": ana.email, "password": PASSWORD, "next": "/account/apps"})
    response = verify(client, totp_code(secret))
    assert response.headers["Location"] == "/account/apps"


def test_a_wrong_code_is_refused_and_recorded(app, client, ana, secret):
    login(client, ana.email, PASSWORD)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    response = verify(client, wrong)
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    failures = events(app, "customer:login:failure")
    assert [(e.method, e.reason) for e in failures] == [("totp", "bad_code")]


def test_a_used_code_cannot_sign_in_again(app, client, ana, secret):
    """The code that just worked, replayed by someone watching, fails (RFC 6238 5.2)."""
    code = totp_code(secret)
    login(client, ana.email, PASSWORD)
    assert verify(client, code).status_code == 302
    other = app.test_client()
    login(other, ana.email, PASSWORD)
    assert verify(other, code).status_code == 401
    assert not is_signed_in(other)


def test_an_expired_code_is_refused(app, client, ana, secret):
    login(client, ana.email, PASSWORD)
    assert verify(client, totp_code(secret, -3)).status_code == 401


def test_guessing_codes_is_throttled(app, client, ana, secret):
    """After five misses even the right code is refused for a while (429, Retry-After)."""
    login(client, ana.email, PASSWORD)
    right = totp_code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert verify(client, wrong).status_code == 401
    response = verify(client, right)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert not is_signed_in(client)


def test_the_pending_sign_in_expires(app, client, ana, secret):
    login(client, ana.email, PASSWORD)
    token = csrf_token(client, "/login/verify")
    with client.session_transaction() as flask_session:
        flask_session[PENDING_KEY] = {**flask_session[PENDING_KEY], "at": time.time() - 3600}
    response = client.post("/login/verify", data={"csrf_token": token, "code": totp_code(secret)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(client)


def test_verify_page_without_a_sign_in_goes_to_the_sign_in_page(client):
    response = client.get("/login/verify")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_recovery_code_signs_in_once_and_is_mailed(app, client, mailbox, ana, secret):
    client_codes = _signed_in_with_mfa(app, client, ana, secret)
    codes = _new_recovery_codes(client)
    assert len(codes) == 10
    client_codes.post("/logout", data={"csrf_token": csrf_token(client_codes, "/logout")})
    mailbox.clear()

    fresh = app.test_client()
    login(fresh, ana.email, PASSWORD)
    response = submit(fresh, "/login/recovery", {"code": codes[3]})
    assert response.status_code == 302
    assert is_signed_in(fresh)
    assert ["pwd", "otp", "mfa"] in live_amr(app)
    mail = mailbox.wait_for(ana.email)[-1]
    assert "recovery code was used" in mail.get_content()
    assert "Unused recovery codes left: 9." in mail.get_content()
    assert [e.method for e in events(app, "customer:mfa:recovery_code_used")] == ["recovery_code"]

    again = app.test_client()
    login(again, ana.email, PASSWORD)
    assert submit(again, "/login/recovery", {"code": codes[3]}).status_code == 401
    assert not is_signed_in(again)


def _signed_in_with_mfa(app, client, ana, secret, steps: int = 0):
    login(client, ana.email, PASSWORD)
    assert verify(client, totp_code(secret, steps)).status_code == 302
    return client


def _new_recovery_codes(client) -> list[str]:
    page = submit(client, "/account/security/recovery-codes", {}, page="/account/security")
    assert page.status_code == 200
    return CODES.findall(page.get_data(as_text=True))


def test_remembered_browser_skips_the_second_step_but_not_the_password(app, client, ana, secret):
    """The session it gives says only pwd: an app that needs MFA still asks (honest amr)."""
    login(client, ana.email, PASSWORD)
    assert verify(client, totp_code(secret), remember="y").status_code == 302
    trusted = client.get_cookie(app.config["IDP_TRUSTED_COOKIE"])
    assert trusted is not None and trusted.http_only
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})

    response = login(client, ana.email, PASSWORD)
    assert response.headers["Location"] == "/account"
    assert live_amr(app) == [["pwd"]]
    # Its security page still wants the second factor (sudo mode).
    assert client.get("/account/security").headers["Location"].startswith("/login/verify")

    # Another customer signing in on the same browser gets no pass from it.
    bob = make_customer(app, email="bob@example.com")
    enroll_totp(app, bob)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert login(client, bob.email, PASSWORD).headers["Location"] == "/login/verify"


def test_forgetting_browsers_and_changing_the_password_revoke_the_pass(app, client, ana, secret):
    login(client, ana.email, PASSWORD)
    verify(client, totp_code(secret), remember="y")
    response = submit(client, "/account/security/browsers/forget", {}, page="/account/security")
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert login(client, ana.email, PASSWORD).headers["Location"] == "/login/verify"

    verify(client, totp_code(secret, 1), remember="y")
    submit(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": "another long passphrase"},
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert (
        login(client, ana.email, "another long passphrase").headers["Location"] == "/login/verify"
    )


def test_forged_trust_cookie_is_ignored(app, client, ana, secret):
    client.set_cookie(app.config["IDP_TRUSTED_COOKIE"], "eyJjIjoiYW55In0.forged.sig")
    assert login(client, ana.email, PASSWORD).headers["Location"] == "/login/verify"


def test_enrolling_through_the_security_page(app, client, mailbox, ana):
    """Scan, type the first code, get ten recovery codes once; the change is mailed and logged."""
    login(client, ana.email, PASSWORD)
    page = client.get("/account/security/totp").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    bad = submit(client, "/account/security/totp", {"code": wrong})
    assert bad.status_code == 400
    mailbox.clear()
    response = submit(client, "/account/security/totp", {"code": totp_code(secret)})
    assert response.status_code == 200
    assert len(CODES.findall(response.get_data(as_text=True))) == 10
    # The code just typed proves the new factor: this session counts as MFA now.
    assert live_amr(app) == [["pwd", "otp", "mfa"]]
    subjects = [m["Subject"] for m in mailbox.wait_for(ana.email, 2)]
    assert subjects == ["A security setting of your account changed"] * 2
    assert len(events(app, "customer:mfa:totp_enabled")) == 1
    assert len(events(app, "customer:mfa:recovery_codes_generated")) == 1
    # A second enrollment is refused while one is on.
    assert client.get("/account/security/totp").status_code == 302


def test_removing_the_app_needs_the_second_factor_and_is_mailed(app, client, mailbox, ana, secret):
    login(client, ana.email, PASSWORD)
    # Pending sign-in: the security page is out of reach.
    assert client.get("/account/security").headers["Location"].startswith("/login?")
    verify(client, totp_code(secret))
    mailbox.clear()
    response = submit(client, "/account/security/totp/remove", {}, page="/account/security")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(TotpCredential)).first() is None
    assert "authenticator app was removed" in mailbox.wait_for(ana.email)[-1].get_content()
    assert len(events(app, "customer:mfa:totp_disabled")) == 1


def test_security_changes_need_csrf(app, client, ana, secret):
    _signed_in_with_mfa(app, client, ana, secret)
    for path in ("/totp/remove", "/recovery-codes", "/browsers/forget"):
        assert client.post(f"/account/security{path}").status_code == 400


def test_step_up_raises_the_session_under_a_new_id(app, client, ana):
    """A pwd session that enrolls... then a step-up keeps the sid but changes the cookie."""
    login(client, ana.email, PASSWORD)
    before = client.get_cookie(app.config["IDP_SESSION_COOKIE"]).value
    secret = enroll_totp(app, ana)
    response = client.get("/login/verify?next=/account/apps")
    assert response.status_code == 200
    response = submit(client, "/login/verify?next=/account/apps", {"code": totp_code(secret)})
    assert response.headers["Location"] == "/account/apps"
    after = client.get_cookie(app.config["IDP_SESSION_COOKIE"]).value
    assert after != before
    rows = browser_sessions(app)
    assert len(rows) == 1 and rows[0].amr == ["pwd", "otp", "mfa"]
    assert len(events(app, "customer:login:step_up")) == 1
    with app.app_context():
        assert db.session.execute(db.select(BrowserSession)).scalar_one().ended_at is None


JUNK = [
    {"code": "\x00" * 6},
    {"code": "9" * 10_000},
    {"code": ["123456", "654321"]},
    {"code": "\ud7ff" * 6},
    {"code": "12345\u0663"},
    {},
]


@pytest.mark.parametrize("data", JUNK)
def test_junk_codes_get_a_4xx_never_a_500(app, client, ana, secret, data):
    """Pending second step and the set-up page alike: bad input is a clear 4xx."""
    login(client, ana.email, PASSWORD)
    for url in ("/login/verify", "/login/recovery"):
        token = csrf_token(client, url)
        response = client.post(url, data={"csrf_token": token, **data})
        assert 400 <= response.status_code < 500, (url, response.status_code)
        json_body = client.post(url, json={"code": 123456}, headers={"X-CSRFToken": token})
        assert 400 <= json_body.status_code < 500
    assert not is_signed_in(client)
