"""Staff management on the console: admins add, re-role and disable staff; support and viewers
cannot; every change is audited; a first password is shown once and then works."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import AdminUser, AuditEntry
from tests.helpers import submit
from tests.views.admin.support import make_admin, password_step, sign_in


def test_admin_adds_a_colleague_who_then_signs_in(app, client):
    me = make_admin(app, "admin")
    sign_in(client, me)
    page = submit(client, "/admin/staff", {"email": "New.Hire@Company.example", "role": "support"})
    assert page.status_code == 200
    password = re.search(
        r'<code id="first-password">([^<]+)</code>', page.get_data(as_text=True)
    ).group(1)
    fresh = app.test_client()
    first = password_step(fresh, "new.hire@company.example", password)
    assert first.status_code == 302 and "/admin/second-factor" in first.headers["Location"]
    assert "totp-secret" in fresh.get("/admin/second-factor").get_data(as_text=True)
    with app.app_context():
        entry = (
            db.session.execute(
                sa.select(AuditEntry)
                .where(AuditEntry.action == "admin.created")
                .order_by(AuditEntry.id.desc())
            )
            .scalars()
            .first()
        )
        assert entry.actor_id == me.public_id and entry.after["role"] == "support"
        assert password not in str(entry.after)


def test_role_change_and_disable_are_audited(app, client):
    me = make_admin(app, "admin")
    other = make_admin(app, "viewer")
    sign_in(client, me)
    assert (
        submit(
            client, f"/admin/staff/{other.public_id}/role", {"role": "support"}, page="/admin/staff"
        ).status_code
        == 302
    )
    response = submit(
        client,
        f"/admin/staff/{other.public_id}/disable",
        {"reason": "left the company"},
        page="/admin/staff",
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.execute(
            sa.select(AdminUser).where(AdminUser.public_id == other.public_id)
        ).scalar_one()
        assert (row.role, row.status) == ("support", "disabled")
        entries = db.session.execute(
            sa.select(AuditEntry.action, AuditEntry.reason, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.target_id == other.public_id, AuditEntry.actor_id == me.public_id)
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.action, e.reason) for e in entries] == [
        ("admin.role_changed", None),
        ("admin.disabled", "left the company"),
    ]
    assert entries[0].before == {"role": "viewer"} and entries[0].after == {"role": "support"}


def test_disable_needs_a_reason_and_not_oneself(app, client):
    me = make_admin(app, "admin")
    other = make_admin(app, "viewer")
    sign_in(client, me)
    assert (
        submit(
            client, f"/admin/staff/{other.public_id}/disable", {"reason": ""}, page="/admin/staff"
        ).status_code
        == 303
    )
    submit(client, f"/admin/staff/{me.public_id}/disable", {"reason": "oops"}, page="/admin/staff")
    with app.app_context():
        assert (
            db.session.execute(
                sa.select(sa.func.count()).where(AdminUser.status == "disabled")
            ).scalar_one()
            == 0
        )


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_only_admins_manage_staff(app, client, role):
    me = make_admin(app, role)
    other = make_admin(app, "viewer")
    sign_in(client, me)
    assert client.get("/admin/staff").status_code == 403
    token_page = "/admin/audit"
    for url, data in [
        ("/admin/staff", {"email": "x@company.example", "role": "admin"}),
        (f"/admin/staff/{other.public_id}/role", {"role": "admin"}),
        (f"/admin/staff/{other.public_id}/disable", {"reason": "x"}),
    ]:
        assert submit(client, url, data, page=token_page).status_code == 403
    with app.app_context():
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(AdminUser)).scalar_one() == 2
        )
        row = db.session.execute(
            sa.select(AdminUser).where(AdminUser.public_id == other.public_id)
        ).scalar_one()
        assert (row.role, row.status) == ("viewer", "active")


def test_unknown_staff_is_404(app, client):
    sign_in(client, make_admin(app, "admin"))
    assert (
        submit(
            client, "/admin/staff/nobody/disable", {"reason": "x"}, page="/admin/staff"
        ).status_code
        == 404
    )
