"""Staff sign in to /admin with a password and a mandatory authenticator app, in a session of
their own (cookie path /admin), idle-limited, throttled, audited, never opened by a customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import AdminSession, AuditEntry
from tests.factories import PASSWORD, make_customer, totp_code
from tests.helpers import login, submit
from tests.views.admin.support import SECRET, make_admin, password_step, sign_in


def actions(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
        )


def test_first_sign_in_sets_up_the_authenticator_app(app, client):
    """A new admin must set up TOTP before anything; the QR page's key then signs in."""
    who = make_admin(app, enrolled=False)
    first = password_step(client, who.email)
    assert first.status_code == 302 and "/admin/second-factor" in first.headers["Location"]
    cookie = first.headers["Set-Cookie"]
    assert "Path=/admin" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # Half signed in: the console itself is still closed.
    assert "/admin/second-factor" in client.get("/admin/audit").headers["Location"]
    page = client.get("/admin/second-factor").get_data(as_text=True)
    secret = SECRET.search(page).group(1).replace(" ", "")
    wrong = submit(client, "/admin/second-factor", {"code": "000000"})
    assert wrong.status_code == 400
    done = submit(client, "/admin/second-factor", {"code": totp_code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    assert actions(app)[-3:] == [
        "admin.second_factor_failed",
        "admin.totp_enrolled",
        "admin.signed_in",
    ]


def test_sign_in_with_a_code_and_a_fresh_session_id(app, client):
    """The session id changes once the second factor is done (no fixation across steps)."""
    who = make_admin(app)
    first = password_step(client, who.email)
    half = first.headers["Set-Cookie"].split(";")[0]
    page = client.get("/admin/second-factor").get_data(as_text=True)
    assert "totp-secret" not in page  # no secret shown once it is set up
    done = submit(client, "/admin/second-factor", {"code": totp_code(who.secret)})
    assert done.status_code == 302
    full = done.headers["Set-Cookie"].split(";")[0]
    assert full != half
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        rows = db.session.execute(sa.select(AdminSession).order_by(AdminSession.id)).scalars().all()
        assert [r.ended_at is not None for r in rows] == [True, False]
        assert rows[1].second_factor_at is not None


def test_a_code_works_once(app, client):
    who = make_admin(app)
    code = totp_code(who.secret)
    password_step(client, who.email)
    assert submit(client, "/admin/second-factor", {"code": code}).status_code == 302
    other = app.test_client()
    password_step(other, who.email)
    assert submit(other, "/admin/second-factor", {"code": code}).status_code == 400


@pytest.mark.parametrize("email", ["unknown@company.example", "known"])
def test_wrong_password_and_unknown_email_look_alike(app, client, email):
    who = make_admin(app)
    target = who.email if email == "known" else email
    response = password_step(client, target, "not the password at all")
    assert response.status_code == 400
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "idp_admin" not in response.headers["Set-Cookie"]
    assert actions(app)[-1] == "admin.sign_in_failed"


def test_disabled_admin_is_refused_and_signed_out(app, client):
    who = make_admin(app)
    sign_in(client, who)
    assert client.get("/admin/").status_code == 200
    from idp.services import audit
    from idp.services.admin import staff

    with app.app_context():
        staff.disable(staff.get(who.public_id), actor=audit.Actor.cli())
        db.session.commit()
    assert client.get("/admin/").status_code == 302  # the live session ended at once
    response = password_step(app.test_client(), who.email)
    assert response.status_code == 400
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_customers_do_not_open_the_console(app, client):
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    # Nor does a customer's password work at the staff sign-in.
    assert password_step(app.test_client(), "ana@example.com").status_code == 400


def test_idle_session_expires(app, client):
    who = make_admin(app)
    sign_in(client, who)
    with app.app_context():
        row = db.session.execute(
            sa.select(AdminSession).where(AdminSession.ended_at.is_(None))
        ).scalar_one()
        row.last_seen_at = row.last_seen_at - timedelta(
            seconds=app.config["ADMIN_IDLE_TIMEOUT"] + 1
        )
        db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_sign_out_ends_the_session(app, client):
    who = make_admin(app)
    sign_in(client, who)
    response = submit(client, "/admin/logout", {}, page="/admin/")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert actions(app)[-1] == "admin.signed_out"


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": "3 per 15 minutes"}])
def test_password_step_is_throttled(app, client):
    who = make_admin(app)
    for _ in range(3):
        assert password_step(client, who.email, "wrong wrong wrong").status_code == 400
    response = password_step(client, who.email)
    assert response.status_code == 429 and "Retry-After" in response.headers


@pytest.mark.parametrize("app_config", [{"MFA_LIMIT_PER_ACCOUNT": "2 per 15 minutes"}])
def test_second_factor_is_throttled(app, client):
    who = make_admin(app)
    password_step(client, who.email)
    for _ in range(2):
        assert submit(client, "/admin/second-factor", {"code": "000000"}).status_code == 400
    response = submit(client, "/admin/second-factor", {"code": totp_code(who.secret)})
    assert response.status_code == 429


def test_next_stays_in_the_console(app, client):
    who = make_admin(app)
    response = client.get("/admin/audit?action=x")
    assert "/admin/login?next=" in response.headers["Location"]
    submit(
        client,
        "/admin/login?next=/account",
        {"email": who.email, "password": PASSWORD, "next": "/account"},
    )
    done = submit(client, "/admin/second-factor?next=/account", {"code": totp_code(who.secret)})
    assert done.headers["Location"].endswith("/admin/")
