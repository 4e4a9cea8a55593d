"""A customer's first visit in a real browser: sign up, confirm by mail, sign in, sign out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from idp.extensions import db
from idp.models import Customer
from tests.e2e.conftest import LiveServer
from tests.factories import PASSWORD, make_customer
from tests.mailbox import Mailbox

pytestmark = pytest.mark.browser

Screenshot = Callable[[str], Path]


def test_sign_up_confirm_sign_in_and_sign_out(
    live_server: LiveServer, page: Page, mailbox: Mailbox, screenshot: Screenshot
) -> None:
    """A new customer signs up, opens the mailed link, signs in, sees the account, signs out."""
    email = "ana.lima@example.com"
    page.goto("/signup")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    screenshot("1-signup")
    page.get_by_role("button", name="Create my account").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    screenshot("2-check-email")

    link = mailbox.last_link(email, "/verify-email/")
    assert link.startswith(f"{live_server.url}/verify-email/"), link
    page.goto(link)
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    screenshot("3-email-confirmed")

    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    screenshot("4-login")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Hello Ana")).to_be_visible()
    with live_server.app.app_context():
        public_id = db.session.execute(
            db.select(Customer.public_id).where(Customer.email == email)
        ).scalar_one()
    expect(page.locator("code#customer-id")).to_have_text(public_id)
    expect(page.locator(".badge")).to_have_text("confirmed")
    screenshot("5-account")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign out")).to_be_visible()
    screenshot("6-logout-confirm")
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    screenshot("7-signed-out")

    page.goto("/account")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server.url}/login?next=")))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    screenshot("8-account-needs-login")


def test_wrong_password_shows_form_error(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    """A wrong password shows "Incorrect email or password." as the form's alert, email kept."""
    make_customer(live_server.app, email="ana@example.com")
    page.goto("/login")
    page.get_by_label("Email address").fill("ana@example.com")
    page.get_by_label("Password", exact=True).fill("not the passphrase")
    page.get_by_role("button", name="Sign in", exact=True).click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Incorrect email or password.")
    # The form's own error, just above it; no field is blamed, so neither is given away.
    expect(page.locator("[role=alert] + form")).to_have_count(1)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(page.get_by_label("Email address")).to_have_value("ana@example.com")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page).to_have_url(f"{live_server.url}/login")
    screenshot("wrong-password")


def test_language_switcher_turns_page_french(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    """The "Français" link in the footer serves the sign-in page in French."""
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()

    expect(page).to_have_url(f"{live_server.url}/login?ui_locales=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Se connecter", exact=True)).to_be_visible()
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Français")).to_have_attribute("aria-current", "true")
    screenshot("french")
