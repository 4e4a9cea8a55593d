"""The console on a phone and at 1280 px, in French and English: every page fits the screen's
width (wide tables scroll inside their own box) and its forms are labelled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from idp.extensions import db
from idp.models import Customer
from idp.services import audit, events
from idp.services.admin import staff
from idp.services.events import EventTag
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD, make_customer, totp_code, totp_settings
from tests.live import LiveServer

pytestmark = pytest.mark.browser

PAGES = ["/admin/", "/admin/customers?q=ana", "/admin/signals", "/admin/clients", "/admin/audit"]
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# What sticks out, to say in a failure which element to fix.
WIDE = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
          && !e.closest('.table-wrap'))
  .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"""
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


@pytest.mark.parametrize(
    ("width", "height", "locale"),
    [(390, 844, "fr-FR"), (1280, 800, "en-GB")],
    ids=["phone-fr", "desktop-en"],
)
def test_console_fits_and_is_labelled(
    browser: Browser,
    live_server: LiveServer,
    screenshot: Callable[[str], Path],
    width: int,
    height: int,
    locale: str,
) -> None:
    app = live_server.app
    customer = make_customer(
        app,
        email="ana.lima@example.com",
        given_name="Ana",
        family_name="Lima",
        phone="+33612345678",
    )
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        events.record(
            EventTag.LOGIN_SUCCESS,
            customer=row,
            channel="web",
            client_id="a-very-long-client-identifier-0123456789",
        )
        admin = staff.create(
            email="ops@company.example", role="admin", password=PASSWORD, actor=audit.Actor.cli()
        )
        db.session.commit()
        from idp.services import totp

        secret = totp.enrollment(admin, totp_settings(app)).secret
        totp.confirm(admin, totp_code(secret, -1), totp_settings(app))
        db.session.commit()
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}, locale=locale
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/admin/login")
        page.locator("#email").fill("ops@company.example")
        page.locator("#password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.locator("#code").fill(totp_code(secret))
        page.locator("form button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/admin/")
        assert page.locator("html").get_attribute("lang") == locale[:2]
        for path in [*PAGES, f"/admin/customers/{customer.public_id}"]:
            page.goto(path)
            assert page.evaluate(OVERFLOW) <= 0, (path, page.evaluate(WIDE))
            assert page.evaluate(UNLABELLED) == [], path
        screenshot(f"customer-{width}")
    finally:
        context.close()
