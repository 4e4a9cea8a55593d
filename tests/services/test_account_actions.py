"""Account actions from the console: each changes the record, writes an audit entry (the staff
member, the customer, before and after, the reason) and a timeline event in the caller's
transaction; mails and back-channel logouts leave only after the commit."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import (
    AuditEntry,
    BrowserSession,
    Consent,
    Customer,
    CustomerStatus,
    LinkedAccount,
    LoginEvent,
    TokenFamily,
    TotpCredential,
)
from idp.services import audit, mail
from idp.services.admin import account_actions, staff
from idp.services.events import EventTag
from idp.views import context
from tests.factories import PASSWORD, enroll_totp, make_customer
from tests.helpers import login, mail_delivered
from tests.oauth.test_logout import Receiver
from tests.views.admin.customer_support import Apps, make_apps, seed, start_session
from tests.views.admin.support import Staff, make_admin


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def support(app: Flask) -> Staff:
    return make_admin(app, "support")


@pytest.fixture
def ana(app: Flask) -> Customer:
    return make_customer(app, email="ana@example.com", given_name="Ana")


def _actor(support: Staff) -> audit.Actor:
    return audit.Actor.admin(staff.get(support.public_id), context.request_meta())


def _row(customer: Customer) -> Customer:
    row = db.session.get(Customer, customer.id)
    assert row is not None
    return row


def _run(app: Flask, support: Staff, customer: Customer, action: Any, **kwargs: Any) -> Any:
    """Run an action as ``support`` from a console request, commit, then what it queued."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.9"}):
        done = action(_row(customer), actor=_actor(support), **kwargs)
        db.session.commit()
        if isinstance(done, account_actions.Done):
            done.after_commit()
            db.session.commit()
        return done


def _entries(app: Flask, customer: Customer) -> list[AuditEntry]:
    with app.app_context():
        rows = list(
            db.session.execute(
                sa.select(AuditEntry)
                .where(
                    AuditEntry.target_kind == "customer", AuditEntry.target_id == customer.public_id
                )
                .order_by(AuditEntry.id)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def _tags(app: Flask, customer: Customer) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                sa.select(LoginEvent.tag)
                .where(LoginEvent.customer_id == customer.id)
                .order_by(LoginEvent.id)
            ).scalars()
        )


def _only_entry(app: Flask, customer: Customer, action: str, support: Staff) -> AuditEntry:
    entries = [e for e in _entries(app, customer) if e.action == action]
    assert len(entries) == 1, [e.action for e in _entries(app, customer)]
    entry = entries[0]
    assert entry.actor_kind == "admin" and entry.actor_id == support.public_id
    assert entry.actor_label == support.email and entry.ip == "198.51.100.9"
    return entry


def _refresh(app: Flask, apps: Apps, token: str) -> int:
    response = app.test_client().post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(apps.shop, apps.shop_secret),
    )
    return response.status_code


def _live(app: Flask, model: Any, customer: Customer) -> int:
    with app.app_context():
        column = model.ended_at if model is BrowserSession else model.revoked_at
        return db.session.execute(
            sa.select(sa.func.count(model.id)).where(
                model.customer_id == customer.id, column.is_(None)
            )
        ).scalar_one()


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_disable_signs_out_everywhere_and_refuses_sign_in(app, support, ana, receiver):
    apps = make_apps(app, backchannel_uri=receiver.url)
    refresh = seed(app, ana, apps, sessions_count=2)
    assert _refresh(app, apps, refresh) == 200
    done = _run(app, support, ana, account_actions.disable, reason="fraud, ticket 12")
    assert done.sessions_ended == 2 and done.grants_revoked == 2  # the shop's and the TV's
    with app.app_context():
        assert _row(ana).status == CustomerStatus.DISABLED
    assert _live(app, BrowserSession, ana) == 0 and _live(app, TokenFamily, ana) == 0
    entry = _only_entry(app, ana, "customer.disabled", support)
    assert entry.before == {"status": "active"} and entry.after["status"] == "disabled"
    assert entry.reason == "fraud, ticket 12"
    assert EventTag.ADMIN_DISABLED in _tags(app, ana)
    assert len(receiver.tokens) == 2  # the two sessions the shop took part in
    assert login(app.test_client(), "ana@example.com", PASSWORD).status_code == 403


def test_disable_needs_a_reason_and_enable_restores(app, support, ana):
    with pytest.raises(ValidationError) as refused:
        _run(app, support, ana, account_actions.disable, reason="  ")
    assert "reason" in refused.value.errors
    assert _entries(app, ana) == []
    _run(app, support, ana, account_actions.disable, reason="asked by phone")
    assert not _run(app, support, ana, account_actions.disable, reason="again").changed
    _run(app, support, ana, account_actions.enable, reason="identity checked")
    entry = _only_entry(app, ana, "customer.enabled", support)
    assert entry.before == {"status": "disabled"} and entry.after == {"status": "active"}
    assert entry.reason == "identity checked"
    assert _tags(app, ana)[-1] == EventTag.ADMIN_ENABLED
    assert login(app.test_client(), "ana@example.com", PASSWORD).status_code == 302


def test_sign_out_everywhere_ends_sessions_and_tells_the_apps(app, support, ana, receiver):
    apps = make_apps(app, backchannel_uri=receiver.url)
    refresh = seed(app, ana, apps, sessions_count=2)
    with app.app_context():
        sids = set(
            db.session.execute(
                sa.select(BrowserSession.sid).where(
                    BrowserSession.customer_id == ana.id, BrowserSession.ended_at.is_(None)
                )
            ).scalars()
        )
    done = _run(app, support, ana, account_actions.sign_out_everywhere, reason="lost phone")
    assert done.sessions_ended == 2
    assert _live(app, BrowserSession, ana) == 0 and _live(app, TokenFamily, ana) == 0
    assert _refresh(app, apps, refresh) == 400
    # A logout token per session, for the shop, naming the customer and the session.
    claims = [_claims(token) for token in receiver.tokens]
    assert {c["sid"] for c in claims} == sids
    assert all(c["sub"] == ana.public_id and c["aud"] == apps.shop for c in claims)
    assert all("http://schemas.openid.net/event/backchannel-logout" in c["events"] for c in claims)
    entry = _only_entry(app, ana, "customer.signed_out_everywhere", support)
    assert entry.after["sessions_ended"] == 2 and entry.reason == "lost phone"
    tags = _tags(app, ana)
    assert EventTag.ADMIN_SIGNED_OUT in tags
    assert tags.count(EventTag.BACKCHANNEL_LOGOUT_SENT) == 2


def test_nothing_leaves_before_the_commit(app, support, ana, receiver):
    apps = make_apps(app, backchannel_uri=receiver.url)
    seed(app, ana, apps)
    with app.test_request_context():
        account_actions.sign_out_everywhere(_row(ana), actor=_actor(support))
        db.session.rollback()
    assert receiver.tokens == [] and _live(app, BrowserSession, ana) == 1
    assert _entries(app, ana)[-1].action == "customer.account_linked"


def test_revoke_app_withdraws_consent_and_kills_the_refresh_token(app, support, ana):
    apps = make_apps(app, extra=1)
    refresh = seed(app, ana, apps)
    done = _run(app, support, ana, account_actions.revoke_app, client_id=apps.shop, reason="asked")
    assert done.grants_revoked == 1
    assert _refresh(app, apps, refresh) == 400
    with app.app_context():
        kept = db.session.execute(
            sa.select(Consent.client_id, Consent.withdrawn_at).where(Consent.customer_id == ana.id)
        ).all()
    assert {c for c, withdrawn in kept if withdrawn is None} == {apps.others[0]}
    entry = _only_entry(app, ana, "customer.app_revoked", support)
    assert entry.before == {"client_id": apps.shop, "scopes": ["profile"], "live_grants": 1}
    assert entry.after["live_grants"] == 0 and entry.reason == "asked"
    with app.app_context():
        event = db.session.execute(
            sa.select(LoginEvent).where(LoginEvent.tag == EventTag.ADMIN_APP_REVOKED)
        ).scalar_one()
        assert event.client_id == apps.shop and event.customer_id == ana.id
    with pytest.raises(ValidationError):
        _run(app, support, ana, account_actions.revoke_app, client_id=apps.shop)


def test_password_reset_mails_a_working_link(app, support, ana, mailbox):
    _run(
        app,
        support,
        ana,
        account_actions.send_password_reset,
        mailer=mail.mailer(app),
        settings=_settings(app),
    )
    link = mailbox.last_link("ana@example.com", "/reset-password/")
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert app.test_client().get(f"/{path}").status_code == 200
    _only_entry(app, ana, "customer.password_reset_sent", support)
    assert _tags(app, ana)[-1] == EventTag.ADMIN_PASSWORD_RESET_SENT


def _settings(app: Flask) -> Any:
    with app.test_request_context():
        return context.link_settings()


def test_reset_factors_needs_a_reason_removes_them_and_mails(app, support, ana, mailbox):
    enroll_totp(app, ana)
    with pytest.raises(ValidationError):
        _run(
            app,
            support,
            ana,
            account_actions.reset_factors,
            reason="",
            mailer=mail.mailer(app),
            issuer="https://idp.example",
        )
    _run(
        app,
        support,
        ana,
        account_actions.reset_factors,
        reason="lost phone, ID checked on call 88",
        mailer=mail.mailer(app),
        issuer=app.config["ISSUER"],
    )
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(TotpCredential.id))).scalar_one() == 0
    entry = _only_entry(app, ana, "customer.factors_reset", support)
    assert entry.before == {"factors": ["totp"]} and entry.after["factors"] == []
    assert entry.reason == "lost phone, ID checked on call 88"
    assert _tags(app, ana)[-1] == EventTag.MFA_RESET
    assert "/account/security" in mailbox.wait_for("ana@example.com")[-1].get_content()


def test_resend_verification_only_for_an_unconfirmed_address(app, support, mailbox):
    unconfirmed = make_customer(app, email="new@example.com", verified=False)
    _run(
        app,
        support,
        unconfirmed,
        account_actions.resend_verification,
        mailer=mail.mailer(app),
        settings=_settings(app),
    )
    assert mailbox.last_link("new@example.com", "/verify-email/")
    _only_entry(app, unconfirmed, "customer.verification_sent", support)
    confirmed = make_customer(app)
    with pytest.raises(ValidationError):
        _run(
            app,
            support,
            confirmed,
            account_actions.resend_verification,
            mailer=mail.mailer(app),
            settings=_settings(app),
        )


def _edit(app: Flask, support: Staff, customer: Customer, **values: str) -> Any:
    return _run(
        app,
        support,
        customer,
        account_actions.edit_profile,
        values=values,
        mailer=mail.mailer(app),
        settings=_settings(app),
    )


def test_edit_profile_normalizes_and_audits_only_what_changed(app, support, ana, mailbox):
    _edit(
        app,
        support,
        ana,
        given_name=" Anna ",
        family_name="Lopez",
        phone="+33 6 12 34 56 78",
        birthdate="1990-05-17",
        locale="fr",
        email="ana@example.com",
    )
    with app.app_context():
        row = _row(ana)
        assert (row.given_name, row.family_name, row.phone) == ("Anna", "Lopez", "+33612345678")
        assert row.birthdate.isoformat() == "1990-05-17" and row.locale == "fr"
        assert row.email_verified and not row.phone_verified
    entry = _only_entry(app, ana, "customer.profile_edited", support)
    assert entry.before == {
        "given_name": "Ana",
        "family_name": None,
        "phone": None,
        "birthdate": None,
        "locale": None,
    }
    assert entry.after["phone"] == "+33612345678" and "email" not in entry.after
    assert _tags(app, ana)[-1] == EventTag.ADMIN_PROFILE_EDITED
    # The same values again change nothing and write nothing.
    assert not _edit(app, support, ana, given_name="Anna", phone="+33612345678").changed
    assert len(_entries(app, ana)) == 1
    mail_delivered(app)
    assert mailbox.to("ana@example.com") == []


def test_a_new_email_is_unconfirmed_and_gets_a_link(app, support, ana, mailbox):
    make_customer(app, email="taken@example.com")
    with pytest.raises(ValidationError) as taken:
        _edit(app, support, ana, email="TAKEN@example.com")
    assert "email" in taken.value.errors
    _edit(app, support, ana, email="Ana.New@Example.com")
    with app.app_context():
        row = _row(ana)
        assert row.email_normalized == "ana.new@example.com" and not row.email_verified
    entry = _only_entry(app, ana, "customer.profile_edited", support)
    assert entry.before == {"email": "ana@example.com", "email_verified": True}
    assert entry.after["email_verified"] is False
    assert mailbox.last_link(entry.after["email"], "/verify-email/")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "06 12 34 56 78"),
        ("birthdate", "17/05/1990"),
        ("birthdate", "2999-01-01"),
        ("locale", "de"),
        ("email", "not an address"),
        ("email", ""),
        ("given_name", "x" * 101),
        ("given_name", "a\nb"),
    ],
)
def test_edit_profile_refuses_bad_values(app, support, ana, field, value):
    with pytest.raises(ValidationError) as refused:
        _edit(app, support, ana, **{field: value})
    assert field in refused.value.errors
    assert _entries(app, ana) == []


def test_link_and_unlink_write_one_entry_each(app, support, ana):
    _run(app, support, ana, account_actions.link_account, source="shop", source_id="S-1")
    with pytest.raises(ValidationError):
        _run(app, support, ana, account_actions.link_account, source="shop", source_id="S-1")
    other = make_customer(app)
    with pytest.raises(ValidationError):
        _run(app, support, other, account_actions.link_account, source="shop", source_id="S-1")
    with pytest.raises(ValidationError):
        _run(app, support, other, account_actions.unlink_account, source="shop", source_id="S-1")
    _only_entry(app, ana, "customer.account_linked", support)
    _run(
        app,
        support,
        ana,
        account_actions.unlink_account,
        source="shop",
        source_id="S-1",
        reason="wrong person",
    )
    entry = _only_entry(app, ana, "customer.account_unlinked", support)
    assert entry.reason == "wrong person" and entry.before["source_id"] == "S-1"
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(LinkedAccount.id))).scalar_one() == 0
    tags = _tags(app, ana)
    assert tags.count(EventTag.ACCOUNT_LINKED) == 1 and tags.count(EventTag.ACCOUNT_UNLINKED) == 1


def test_a_merged_record_refuses_every_action(app, support):
    from idp.services.records import merge
    from idp.services.records.merge import MergeSettings

    survivor, absorbed = make_customer(app), make_customer(app)
    with app.app_context():
        merge.merge(
            _row(survivor),
            _row(absorbed),
            choices={},
            reason="same person",
            actor=audit.Actor.cli(),
            settings=MergeSettings.from_config(app.config),
        )
        db.session.commit()
    with pytest.raises(ValidationError):
        _run(app, support, absorbed, account_actions.disable, reason="x")
    with pytest.raises(ValidationError):
        _run(app, support, absorbed, account_actions.sign_out_everywhere)
    with app.app_context():
        assert _row(absorbed).status == CustomerStatus.MERGED


def test_apps_without_a_back_channel_uri_are_not_called(app, support, ana, receiver):
    apps = make_apps(app)
    with app.test_request_context():
        start_session(_row(ana), [apps.shop])
        db.session.commit()
    done = _run(app, support, ana, account_actions.sign_out_everywhere)
    assert done.sessions_ended == 1 and _live(app, BrowserSession, ana) == 0
    assert receiver.tokens == []
    assert EventTag.BACKCHANNEL_LOGOUT_SENT not in _tags(app, ana)
