"""Usage signals are counted by the database: distinct active customers per UTC day, per
channel and per client; new customers; failed and throttled sign-ins; customers at risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from idp.extensions import db
from idp.models import Customer
from idp.services import events
from idp.services.admin import signals
from idp.services.events import EventTag
from tests.factories import make_customer

TODAY = date(2026, 12, 7)
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


def at(days_ago: float, **kw) -> None:
    event = events.record(kw.pop("tag", EventTag.LOGIN_SUCCESS), **kw)
    event.created_at = NOON - timedelta(days=days_ago)


def test_active_customers_per_day_channel_and_client(app):
    ana, bob = make_customer(app), make_customer(app)
    with app.app_context():
        a, b = db.session.get(Customer, ana.id), db.session.get(Customer, bob.id)
        at(0, customer=a, channel="web", client_id="shop")
        at(0, customer=a, channel="web", client_id="shop", tag=EventTag.TOKEN_ISSUED)  # same person
        at(0, customer=b, channel="mobile", client_id="app", tag=EventTag.TOKEN_REFRESHED)
        at(1, customer=b, channel="device", client_id="tv", tag=EventTag.DEVICE_APPROVED)
        at(1, customer=a, channel="web", success=False, tag=EventTag.LOGIN_FAILURE)  # not active
        at(2, customer=None, channel="web")  # nobody
        at(100, customer=a, channel="web")  # outside the 90 days
        db.session.commit()
        total = signals.active_customers(90, today=TODAY)
        assert total.days[-1] == "2026-12-07" and len(total.days) == 90
        assert [s.name for s in total.series] == ["all"]
        assert total.series[0].values[-3:] == [0, 1, 2]
        assert total.series[0].total == 3
        channels = {
            s.name: s.values[-2:]
            for s in signals.active_customers(90, by="channel", today=TODAY).series
        }
        assert channels == {"device": [1, 0], "mobile": [0, 1], "web": [0, 1]}
        clients = {
            s.name: s.total for s in signals.active_customers(90, by="client", today=TODAY).series
        }
        assert clients == {"app": 1, "shop": 1, "tv": 1}


def test_new_customers_and_failures(app):
    make_customer(app)
    with app.app_context():
        at(0, tag=EventTag.LOGIN_FAILURE, success=False, reason="bad_password")
        at(0, tag=EventTag.LOGIN_FAILURE, success=False, reason="unknown_account")
        at(0, tag=EventTag.LOGIN_FAILURE, success=False, reason="throttled")
        db.session.commit()
        today = datetime.now(UTC).date()
        assert signals.new_customers(7, today=today).series[0].values[-1] == 1
        failures = {s.name: s.values[-1] for s in signals.sign_in_failures(7, today=TODAY).series}
        assert failures == {"failed": 2, "throttled": 1}


def test_at_risk_customers(app):
    rule = signals.RiskRule(min_activity=3, silent_days=30, period_days=90)
    loyal, silent, new, light = (make_customer(app) for _ in range(4))
    with app.app_context():
        rows = {c.id: db.session.get(Customer, c.id) for c in (loyal, silent, new, light)}
        for d in (40, 50, 60):
            at(d, customer=rows[silent.id], channel="web")
            at(d, customer=rows[loyal.id], channel="web")
        at(45, customer=rows[silent.id], channel="mobile", tag=EventTag.TOKEN_REFRESHED)
        at(5, customer=rows[loyal.id], channel="web")  # still here
        at(1, customer=rows[new.id])
        at(40, customer=rows[light.id])  # too little activity to miss
        db.session.commit()
        found = signals.at_risk(rule, now=NOON)
        assert [r.customer.id for r in found] == [silent.id]
        assert found[0].activity == 4
        assert found[0].last_seen == NOON - timedelta(days=40)
        assert found[0].last_seen_by_channel == {
            "mobile": NOON - timedelta(days=45),
            "web": NOON - timedelta(days=40),
        }
        assert signals.at_risk(rule, now=NOON, after_id=silent.id) == []
