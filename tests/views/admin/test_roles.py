"""Roles hold at every door, found from the URL map so a new route is covered at once: a viewer's
every POST is refused with nothing changed; support cannot manage applications or staff."""

from __future__ import annotations

import pytest

from idp.extensions import db
from idp.services import audit, clients
from idp.services.admin import staff
from tests.factories import make_customer
from tests.helpers import csrf_token
from tests.hostile.checks import table_digests
from tests.views.admin.support import make_admin, sign_in

# The sign-in steps themselves, open to anyone by design.
OPEN = {"/admin/login", "/admin/second-factor", "/admin/logout"}
# One's own password: every role changes it (tests/views/admin/test_my_account.py).
OWN = {"/admin/account"}
# Routes only an admin may use, whatever the method.
ADMIN_ONLY = ("/admin/staff", "/admin/clients/new")


def post_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and "POST" in (rule.methods or ())
        and rule.rule not in OPEN | OWN
    )


@pytest.fixture
def targets(app):
    """Real records for every placeholder, so a refusal is the role's and not a 404."""
    customer = make_customer(app, email="ana@example.com")
    other = make_customer(app, email="bob@example.com")
    with app.app_context():
        client, _ = clients.create(
            name="Shop", client_type="web", redirect_uris=["https://s.example/cb"]
        )
        colleague = staff.create(
            email="colleague@company.example",
            role="viewer",
            password="a long enough passphrase",
            actor=audit.Actor.cli(),
        )
        db.session.commit()
        values = {"public_id": customer.public_id, "client_id": client.client_id}
        colleague_id = colleague.public_id
    return values, colleague_id, other.public_id


def concrete(rule: str, values: dict[str, str], staff_id: str) -> str:
    if rule.startswith("/admin/staff/"):
        return rule.replace("<public_id>", staff_id)
    for name, value in values.items():
        rule = rule.replace(f"<{name}>", value)
    return rule


def test_viewer_changes_nothing_anywhere(app, client, targets):
    values, staff_id, other = targets
    sign_in(client, make_admin(app, "viewer"))
    token = csrf_token(client, "/admin/audit")
    routes = post_routes(app)
    assert len(routes) >= 15, routes  # the map was read, not an empty list
    before = table_digests(app, skip=("admin_session",))
    for rule in routes:
        url = concrete(rule, values, staff_id)
        data = {
            "csrf_token": token,
            "reason": "x",
            "role": "admin",
            "pick": [values["public_id"], other],
            "survivor": values["public_id"],
            "absorbed": other,
            "name": "X",
            "source": "crm",
            "source_id": "1",
            "client_id": values["client_id"],
            "email": "x@example.com",
        }
        response = client.post(url, data=data)
        assert response.status_code == 403, (rule, response.status_code)
    assert table_digests(app, skip=("admin_session",)) == before


def test_support_cannot_manage_applications_or_staff(app, client, targets):
    values, staff_id, _ = targets
    sign_in(client, make_admin(app, "support"))
    token = csrf_token(client, "/admin/audit")
    guarded = [r for r in post_routes(app) if r.startswith(("/admin/staff", "/admin/clients"))]
    assert len(guarded) >= 6, guarded
    for rule in guarded:
        response = client.post(
            concrete(rule, values, staff_id), data={"csrf_token": token, "reason": "x"}
        )
        assert response.status_code == 403, rule
    for path in ADMIN_ONLY:
        assert client.get(path).status_code == 403
