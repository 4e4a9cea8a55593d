"""Finding a customer on the console: a phone as support types it, an email in another case, a
name without accents, a source id; results link to the customer page; keyset pages; hostile
queries are a 400 page with the reason, never a 500."""

from __future__ import annotations

import re

from idp.extensions import db
from idp.models import Customer
from idp.services import audit
from idp.services.records import linked
from tests.factories import make_customer
from tests.views.admin.support import make_admin, sign_in


def test_find_by_phone_email_name_and_source_id(app, client):
    eloise = make_customer(
        app,
        email="Eloise.Dupont+shop@example.com",
        given_name="Éloïse",
        family_name="Dupont",
        phone="+33612345678",
    )
    make_customer(app, email="other@example.com", given_name="Paul", phone="+33698765432")
    with app.app_context():
        linked.link(
            db.session.get(Customer, eloise.id),
            "loyalty",
            "LY123",
            {"tier": "gold"},
            actor=audit.Actor.cli(),
        )
        db.session.commit()
    sign_in(client, make_admin(app, "viewer"))
    for query in (
        "06 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "ELOISE.dupont+shop@example.com",
        "eloise dupont",
        "DUPONT",
        "LY123",
        eloise.public_id,
    ):
        page = client.get("/admin/customers", query_string={"q": query}).get_data(as_text=True)
        assert f"/admin/customers/{eloise.public_id}" in page, query
        assert "other@example.com" not in page, query
    none = client.get("/admin/customers", query_string={"q": "eloise.dupont@example.com"})
    assert "Nobody matches." in none.get_data(as_text=True)  # plus-addressing is kept


def test_pages_by_keyset(app, client):
    for i in range(30):
        make_customer(app, email=f"jean{i:02d}@example.com", given_name="Jean")
    sign_in(client, make_admin(app, "viewer"))
    seen: list[str] = []
    url = "/admin/customers?q=jean&kind=name"
    while url:
        page = client.get(url).get_data(as_text=True)
        # Each address twice on its row (the cell and the pick box's label): once per page.
        seen += sorted(set(re.findall(r"jean\d\d@example\.com", page)))
        more = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else ""
    assert sorted(seen) == [f"jean{i:02d}@example.com" for i in range(30)]


def test_bad_queries_are_explained(app, client):
    sign_in(client, make_admin(app, "viewer"))
    for query in ("a\x00b", "x" * 400, "<script>alert(1)</script>"):
        response = client.get("/admin/customers", query_string={"q": query})
        assert response.status_code in {200, 400}
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    forged = client.get("/admin/customers", query_string={"q": "jean", "after": "forged"})
    assert forged.status_code == 400


def test_signed_out_goes_to_sign_in(app, client):
    response = client.get("/admin/customers?q=x")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
