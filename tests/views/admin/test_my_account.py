"""Staff change their own password on /admin/account, any role: the current one is checked,
the policy applies, other console sessions end, the change is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEntry
from tests.factories import PASSWORD
from tests.helpers import submit
from tests.views.admin.support import make_admin, password_step, sign_in

NEW = "a brand new staff passphrase"


@pytest.mark.parametrize("role", ["viewer", "support", "admin"])
def test_change_own_password(app, client, role):
    who = make_admin(app, role)
    sign_in(client, who)
    other = app.test_client()
    sign_in(other, who, steps=1)
    response = submit(client, "/admin/account", {"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 303
    assert client.get("/admin/account").status_code == 200  # this session goes on
    assert other.get("/admin/account").status_code == 302  # the other one ended
    assert password_step(app.test_client(), who.email, PASSWORD).status_code == 400
    assert password_step(app.test_client(), who.email, NEW).status_code == 302
    with app.app_context():
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "admin.password_changed")
        ).scalar_one()
        assert entry.target_id == who.public_id and entry.after == {"other_sessions_ended": 1}
        assert NEW not in str(entry.after)


def test_wrong_current_and_weak_new_are_refused(app, client):
    who = make_admin(app, "viewer")
    sign_in(client, who)
    wrong = submit(client, "/admin/account", {"current_password": "nope nope", "new_password": NEW})
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    weak = submit(client, "/admin/account", {"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 400
    assert password_step(app.test_client(), who.email, PASSWORD).status_code == 302
