"""Applications on the console: admins register, edit, rotate and delete under the rules of
``idp clients``; the secret is shown once and works; support and viewers only read; audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEntry, Client
from idp.services import clients
from tests.helpers import submit
from tests.views.admin.support import make_admin, sign_in

SECRET = re.compile(r'<code id="client-secret">([^<]+)</code>')
CLIENT_ID = re.compile(r'<code id="client-id">([^<]+)</code>')


def register(client, **fields) -> str:
    data = {
        "name": "Shop",
        "client_type": "web",
        "redirect_uris": "https://shop.example/cb",
        **fields,
    }
    return submit(client, "/admin/clients/new", data).get_data(as_text=True)


def test_register_a_web_shop_and_use_its_secret(app, client):
    sign_in(client, make_admin(app))
    page = register(client, redirect_uris="https://shop.example/cb\n\nhttps://shop.example/cb2")
    client_id, secret = CLIENT_ID.search(page).group(1), SECRET.search(page).group(1)
    assert "/.well-known/openid-configuration" in page and "clients.webshop" in page
    with app.app_context():
        row = clients.get(client_id)
        assert row.redirect_uris == ["https://shop.example/cb", "https://shop.example/cb2"]
        assert row.client_secret_digest and secret not in row.client_secret_digest
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "client.created")
        ).scalar_one()
        assert entry.target_id == client_id and secret not in str(entry.after)
    # Shown once: the page read later has no secret.
    assert SECRET.search(client.get(f"/admin/clients/{client_id}").get_data(as_text=True)) is None


def test_a_service_with_client_credentials_gets_tokens(app, client):
    sign_in(client, make_admin(app))
    page = register(client, name="CRM", client_type="service", redirect_uris="")
    client_id, secret = CLIENT_ID.search(page).group(1), SECRET.search(page).group(1)
    token = app.test_client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200, token.get_data()
    rotated = submit(
        client, f"/admin/clients/{client_id}/rotate-secret", {}, page=f"/admin/clients/{client_id}"
    )
    new_secret = SECRET.search(rotated.get_data(as_text=True)).group(1)
    old = app.test_client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert old.status_code == 401
    new = app.test_client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, new_secret)
    )
    assert new.status_code == 200


def test_the_service_rules_hold_on_the_console(app, client):
    sign_in(client, make_admin(app))
    response = submit(
        client,
        "/admin/clients/new",
        {"name": "Bad", "client_type": "web", "redirect_uris": "http://shop.example/cb"},
    )
    assert response.status_code == 400 and "https" in response.get_data(as_text=True)
    native = submit(
        client,
        "/admin/clients/new",
        {
            "name": "App",
            "client_type": "native",
            "redirect_uris": "http://127.0.0.1/cb",
            "grant_types": "client_credentials",
        },
    )
    assert native.status_code == 400
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Client)).scalar_one() == 0


def test_edit_is_audited_with_before_and_after(app, client):
    sign_in(client, make_admin(app))
    client_id = CLIENT_ID.search(register(client)).group(1)
    url = f"/admin/clients/{client_id}"
    response = submit(
        client,
        url,
        {"name": "Shop FR", "redirect_uris": "https://shop.example/fr", "client_type": "service"},
    )
    assert response.status_code == 303
    with app.app_context():
        row = clients.get(client_id)
        assert (row.name, row.client_type, row.redirect_uris) == (
            "Shop FR",
            "web",
            ["https://shop.example/fr"],
        )
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "client.updated")
        ).scalar_one()
        assert entry.before["name"] == "Shop" and entry.after["name"] == "Shop FR"
        assert "client_type" not in entry.after


def test_delete_needs_a_reason(app, client):
    sign_in(client, make_admin(app))
    client_id = CLIENT_ID.search(register(client)).group(1)
    url = f"/admin/clients/{client_id}"
    assert submit(client, f"{url}/delete", {"reason": ""}, page=url).status_code == 303
    with app.app_context():
        assert clients.get(client_id) is not None
    assert submit(client, f"{url}/delete", {"reason": "shop closed"}, page=url).status_code == 303
    with app.app_context():
        assert clients.get(client_id) is None
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "client.deleted")
        ).scalar_one()
        assert entry.reason == "shop closed" and entry.before["name"] == "Shop"


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_others_read_but_never_change(app, client, role):
    with app.app_context():
        row, _secret = clients.create(
            name="Shop", client_type="web", redirect_uris=["https://shop.example/cb"]
        )
        db.session.commit()
        client_id = row.client_id
    sign_in(client, make_admin(app, role))
    url = f"/admin/clients/{client_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Shop" in page and "Rotate the secret" not in page
    assert client.get("/admin/clients").status_code == 200
    assert client.get("/admin/clients/new").status_code == 403
    for target, data in [
        (
            "/admin/clients/new",
            {"name": "X", "client_type": "web", "redirect_uris": "https://x.example/cb"},
        ),
        (url, {"name": "Changed"}),
        (f"{url}/rotate-secret", {}),
        (f"{url}/delete", {"reason": "x"}),
    ]:
        assert submit(client, target, data, page="/admin/audit").status_code == 403
    with app.app_context():
        assert clients.get(client_id).name == "Shop"
        assert (
            db.session.execute(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.like("client.%"))
            ).scalar_one()
            == 0
        )


def test_unknown_client_is_404(app, client):
    sign_in(client, make_admin(app, "viewer"))
    assert client.get("/admin/clients/nope").status_code == 404
