"""The signals page draws each series as an accessible SVG with its numbers in a table, and
every list downloads as CSV, escaped against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from idp.extensions import db
from idp.models import Customer
from idp.services import events
from idp.services.events import EventTag
from tests.factories import make_customer
from tests.views.admin.support import make_admin, sign_in


def seed(app) -> Customer:
    customer = make_customer(app, email="=cmd@example.com")
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        now = datetime.now(UTC)
        for days in (40, 50, 60, 70):
            e = events.record(
                EventTag.LOGIN_SUCCESS, customer=row, channel="web", client_id="<shop>"
            )
            e.created_at = now - timedelta(days=days)
        e = events.record(EventTag.TOKEN_ISSUED, customer=row, channel="mobile", client_id="app")
        e.created_at = now - timedelta(days=35)
        db.session.commit()
    return customer


def test_page_has_charts_tables_and_at_risk(app, client):
    customer = seed(app)
    sign_in(client, make_admin(app, "viewer"))
    page = client.get("/admin/signals").get_data(as_text=True)
    assert page.count('role="img"') >= 5
    assert "<title id=" in page and "<desc id=" in page
    assert "&lt;shop&gt;" in page and "<shop>" not in page
    assert customer.public_id in page  # at risk: active four times, silent for 35 days
    assert '<th scope="row">' in page


def test_csv_downloads(app, client):
    customer = seed(app)
    sign_in(client, make_admin(app, "viewer"))
    risk = client.get("/admin/signals/at-risk.csv")
    assert risk.mimetype == "text/csv" and "attachment" in risk.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(risk.get_data(as_text=True))))
    assert rows[0][:3] == ["customer", "email", "activity"]
    assert rows[1][0] == customer.public_id and rows[1][1] == "'=cmd@example.com"
    channels = list(
        csv.reader(
            io.StringIO(client.get("/admin/signals/channels.csv?days=90").get_data(as_text=True))
        )
    )
    assert channels[0] == ["day", "mobile", "web"] and len(channels) == 91
    assert sum(int(r[2]) for r in channels[1:]) == 4
    assert client.get("/admin/signals/nothing.csv").status_code == 404


def test_days_are_bounded(app, client):
    sign_in(client, make_admin(app, "viewer"))
    for days in ("0", "-5", "100000", "abc", "7"):
        assert client.get(f"/admin/signals?days={days}").status_code == 200


def test_signed_out_is_sent_to_sign_in(app, client):
    assert client.get("/admin/signals").status_code == 302
    assert client.get("/admin/signals/at-risk.csv").status_code == 302
