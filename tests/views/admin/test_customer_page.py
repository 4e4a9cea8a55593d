"""The console's customer 360 page: every section for a customer with a life on every channel,
timeline filters and keyset pages, last seen per channel, staff history, escaping, a fixed
number of queries, and who sees the action forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from idp.extensions import db
from idp.models import AuditEntry, Customer, TotpCredential
from idp.services import audit
from idp.services.admin import account_actions
from tests.factories import enroll_totp, make_customer
from tests.helpers import submit
from tests.hostile.checks import table_digests
from tests.views.admin.customer_support import make_apps, seed
from tests.views.admin.support import make_admin, sign_in

EVENT_ID = re.compile(r'data-event-id="(\d+)"')
OLDER = re.compile(r'id="timeline-older" href="([^"]+)"')


def _page(browser, customer: Customer, **query: str) -> str:
    response = browser.get(f"/admin/customers/{customer.public_id}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _section(page: str, heading_id: str) -> str:
    """The HTML of one section, from its heading to the next section."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


@pytest.fixture
def seeded(app: Flask) -> tuple[Customer, object]:
    customer = make_customer(app, email="ana@example.com", given_name="Ana", phone="+33612345678")
    enroll_totp(app, customer)
    apps = make_apps(app)
    seed(app, customer, apps)
    return customer, apps


def test_every_section_shows_the_customers_life(app, client, seeded):
    customer, apps = seeded
    sign_in(client, make_admin(app, "viewer"))
    page = _page(client, customer)
    assert customer.public_id in page and "ana@example.com" in page and "+33612345678" in page
    linked = _section(page, "h-linked")
    assert "loyalty" in linked and f"L-{customer.id}" in linked and "gold" in linked
    factors = _section(page, "h-factors")
    assert "Authenticator app" in factors and "<time" in factors
    sessions = _section(page, "h-sessions")
    assert sessions.count('class="session"') == 1
    assert "203.0.113.7" in sessions and "Firefox/125" in sessions and "Shop" in sessions
    assert sessions.count('class="device"') == 1 and "Living room TV" in sessions
    connected = _section(page, "h-apps")
    assert apps.shop in connected and "openid profile" not in connected.split("Shop")[0]
    assert apps.tv in connected  # the TV holds a grant without a consent
    assert apps.shop in _section(page, "h-consents")
    timeline = _section(page, "h-timeline")
    for tag in ("customer:login:success", "oauth:token:refreshed", "oauth:device:approved"):
        assert tag in timeline
    history = _section(page, "h-history")
    assert "customer.account_linked" in history


def test_last_seen_per_channel_counts_successes_only(app, client, seeded):
    customer, _ = seeded
    sign_in(client, make_admin(app, "viewer"))
    last_seen = _section(_page(client, customer), "h-last-seen")
    # The web sign-in failure at 12:30 does not count; the web token at 12:01 does.
    assert re.search(r"<dt>web</dt><dd><time[^>]*>2024-03-01 12:01 UTC", last_seen), last_seen
    assert re.search(r"<dt>mobile</dt><dd><time[^>]*>2024-03-01 12:10 UTC", last_seen)
    assert re.search(r"<dt>device</dt><dd><time[^>]*>2024-03-01 12:21 UTC", last_seen)


def test_timeline_filters_by_channel_client_and_kind(app, client, seeded):
    customer, apps = seeded
    sign_in(client, make_admin(app, "viewer"))
    device = _section(_page(client, customer, channel="device"), "h-timeline")
    assert "oauth:device:approved" in device and "customer:login:success" not in device
    assert len(EVENT_ID.findall(device)) == 2
    mobile = _section(_page(client, customer, client=apps.mobile), "h-timeline")
    assert len(EVENT_ID.findall(mobile)) == 1 and "oauth:token:refreshed" in mobile
    logins = _section(_page(client, customer, kind="customer:login"), "h-timeline")
    assert "customer:login:success" in logins and "customer:login:failure" in logins
    assert "oauth:token" not in logins.split("<table")[1]
    tokens = _section(_page(client, customer, kind="oauth:token", channel="web"), "h-timeline")
    assert len(EVENT_ID.findall(tokens)) == 1
    # A prefix must end at a ":": "oauth:tok" is no kind.
    refused = client.get(f"/admin/customers/{customer.public_id}?kind=oauth:tok")
    assert refused.status_code == 400


@pytest.mark.parametrize(
    "query",
    [{"channel": "fax"}, {"before": "abc"}, {"before": "9" * 40}, {"client": "x" * 65}],
)
def test_a_bad_filter_is_a_400_page_with_the_reason(app, client, seeded, query):
    customer, _ = seeded
    sign_in(client, make_admin(app, "viewer"))
    response = client.get(f"/admin/customers/{customer.public_id}", query_string=query)
    assert response.status_code == 400
    assert 'id="action-error"' in response.get_data(as_text=True)


def test_timeline_pages_by_keyset_newest_first(app, client):
    customer = make_customer(app)
    apps = make_apps(app)
    seed(app, customer, apps, events_count=60)
    sign_in(client, make_admin(app, "viewer"))
    seen: list[int] = []
    url = f"/admin/customers/{customer.public_id}?channel=mobile"
    pages = 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in EVENT_ID.findall(_section(page, "h-timeline"))]
        found = OLDER.search(page)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert url is None or "channel=mobile" in url
        pages += 1
    assert pages == 3  # 61 mobile events, 25 a page
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT id FROM login_event WHERE customer_id = :c AND channel = 'mobile' "
                "ORDER BY created_at DESC, id DESC"
            ),
            {"c": customer.id},
        ).scalars()
        assert seen == list(rows)


def test_staff_history_lists_actions_on_this_customer(app, client, seeded):
    customer, _ = seeded
    staff = make_admin(app, "support")
    with app.test_request_context():
        row = db.session.get(Customer, customer.id)
        from idp.services.admin import staff as staff_service

        actor = audit.Actor.admin(staff_service.get(staff.public_id))
        account_actions.disable(row, actor=actor, reason="chargeback fraud, ticket 7")
        db.session.commit()
    sign_in(client, staff)
    history = _section(_page(client, customer), "h-history")
    assert "customer.disabled" in history and "chargeback fraud, ticket 7" in history
    assert staff.email in history


def test_values_are_escaped(app, client):
    customer = make_customer(app, given_name="<script>alert(1)</script>")
    sign_in(client, make_admin(app, "viewer"))
    page = _page(client, customer)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unknown_customer_is_404(app, client):
    sign_in(client, make_admin(app, "viewer"))
    assert client.get("/admin/customers/nobody").status_code == 404
    assert client.get(f"/admin/customers/{'x' * 300}").status_code == 404


def test_a_merged_record_shows_the_way_to_the_survivor(app, client):
    from idp.services.records import merge
    from idp.services.records.merge import MergeSettings

    survivor = make_customer(app)
    absorbed = make_customer(app)
    with app.app_context():
        merge.merge(
            db.session.get(Customer, survivor.id),
            db.session.get(Customer, absorbed.id),
            choices={},
            reason="same person",
            actor=audit.Actor.cli(),
            settings=MergeSettings.from_config(app.config),
        )
        db.session.commit()
    sign_in(client, make_admin(app, "support"))
    page = _page(client, absorbed)
    assert 'id="merged-banner"' in page
    assert f'href="/admin/customers/{survivor.public_id}"' in page
    assert 'id="disable-form"' not in page  # nothing to act on: the alias changes nothing


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_queries_do_not_grow_with_what_the_customer_holds(app, client):
    """1 session, 1 extra app and no extra event against 10, 10 and 40: the same queries."""
    few, many = make_customer(app), make_customer(app)
    seed(app, few, make_apps(app, extra=1), sessions_count=1)
    seed(app, many, make_apps(app, extra=10), sessions_count=10, events_count=40)
    sign_in(client, make_admin(app, "support"))
    counts = []
    for customer, n in ((few, 1), (many, 10)):
        _page(client, customer)  # warm: templates compiled, the console session touched
        with counting(app) as statements:
            page = _page(client, customer)
        assert page.count('class="session"') == n
        assert page.count('class="app"') == n + 2  # the shop, the TV and the others
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_viewer_sees_no_action_forms(app, client, seeded):
    customer, _ = seeded
    sign_in(client, make_admin(app, "viewer"))
    page = _page(client, customer)
    for marker in ('id="disable-form"', 'id="profile-form"', 'id="link-form"', "revoke-form"):
        assert marker not in page
    assert "unlink-form" not in page and 'id="reset-factors-form"' not in page


def test_support_sees_the_action_forms(app, client, seeded):
    customer, _ = seeded
    sign_in(client, make_admin(app, "support"))
    page = _page(client, customer)
    for marker in (
        'id="disable-form"',
        'id="sign-out-form"',
        'id="profile-form"',
        'id="link-form"',
        'id="reset-factors-form"',
        'id="reset-password-form"',
        "revoke-form",
        "unlink-form",
    ):
        assert marker in page, marker
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(TotpCredential.id))).scalar_one() == 1


ACTIONS = [
    ("disable", {"reason": "fraud, ticket 3"}, "customer.disabled"),
    ("sign-out", {}, "customer.signed_out_everywhere"),
    ("revoke-app", {"client_id": "SHOP"}, "customer.app_revoked"),
    ("reset-password", {}, "customer.password_reset_sent"),
    ("reset-factors", {"reason": "lost phone, call 9"}, "customer.factors_reset"),
    ("profile", {"given_name": "Anna", "phone": "+33 6 11 22 33 44"}, "customer.profile_edited"),
    ("link", {"source": "crm", "source_id": "C-9"}, "customer.account_linked"),
    ("unlink", {"source": "loyalty", "source_id": "LINKED"}, "customer.account_unlinked"),
]


def _fill(data: dict[str, str], customer: Customer, apps) -> dict[str, str]:
    filled = {k: v.replace("SHOP", apps.shop) for k, v in data.items()}
    if filled.get("source_id") == "LINKED":
        filled["source_id"] = f"L-{customer.id}"
    return filled


@pytest.mark.parametrize(("action", "data", "audited"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_support_acts_through_the_page(app, client, seeded, action, data, audited):
    customer, apps = seeded
    staff = make_admin(app, "support")
    sign_in(client, staff)
    url = f"/admin/customers/{customer.public_id}"
    response = submit(client, f"{url}/{action}", _fill(data, customer, apps), page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(url)
    with app.app_context():
        entry = db.session.execute(
            sa.select(AuditEntry).where(
                AuditEntry.action == audited,
                AuditEntry.target_id == customer.public_id,
                AuditEntry.actor_id == staff.public_id,
            )
        ).scalar_one()
        assert entry.actor_kind == "admin"
    assert 'class="flash flash-success"' in client.get(url).get_data(as_text=True)


def test_enable_and_resend_verification_through_the_page(app, client):
    customer = make_customer(app, verified=False)
    sign_in(client, make_admin(app, "support"))
    url = f"/admin/customers/{customer.public_id}"
    assert submit(client, f"{url}/disable", {"reason": "x"}, page=url).status_code == 303
    assert submit(client, f"{url}/enable", {}, page=url).status_code == 303
    assert submit(client, f"{url}/resend-verification", {}, page=url).status_code == 303
    with app.app_context():
        assert db.session.get(Customer, customer.id).status == "active"
        actions = set(
            db.session.execute(
                sa.select(AuditEntry.action).where(AuditEntry.target_id == customer.public_id)
            ).scalars()
        )
    assert {"customer.disabled", "customer.enabled", "customer.verification_sent"} <= actions


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("disable", {"reason": ""}, "reason"),
        ("reset-factors", {}, "reason"),
        ("profile", {"phone": "06 12 34 56 78"}, "international format"),
        ("profile", {"birthdate": "yesterday"}, "YYYY-MM-DD"),
        ("revoke-app", {"client_id": "nope"}, "no consent and no grant"),
        ("link", {"source": "Not A Slug", "source_id": "1"}, "lowercase"),
        ("unlink", {"source": "loyalty", "source_id": "nope"}, "no such linked account"),
    ],
)
def test_bad_input_is_a_400_page_with_the_message(app, client, seeded, action, data, message):
    customer, _ = seeded
    sign_in(client, make_admin(app, "support"))
    url = f"/admin/customers/{customer.public_id}"
    before = table_digests(app)
    response = submit(client, f"{url}/{action}", data, page=url)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'id="action-error"' in body and message in body, body[body.find("action-error") :][:500]
    assert table_digests(app) == before


@pytest.mark.parametrize(("action", "data", "audited"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_a_viewer_changes_nothing(app, client, seeded, action, data, audited):
    customer, apps = seeded
    sign_in(client, make_admin(app, "viewer"))
    url = f"/admin/customers/{customer.public_id}"
    before = table_digests(app)
    response = submit(client, f"{url}/{action}", _fill(data, customer, apps), page=url)
    assert response.status_code == 403
    assert table_digests(app) == before


def test_every_action_refuses_a_viewer(app, client, seeded):
    """Also those only shown in some states (enable, resend-verification)."""
    customer, _ = seeded
    sign_in(client, make_admin(app, "viewer"))
    url = f"/admin/customers/{customer.public_id}"
    before = table_digests(app)
    for action in ("enable", "resend-verification", "disable", "sign-out"):
        assert submit(client, f"{url}/{action}", {"reason": "x"}, page=url).status_code == 403
    assert table_digests(app) == before
