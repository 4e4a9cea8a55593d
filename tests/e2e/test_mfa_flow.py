"""Strong authentication in a real browser: set up an authenticator app, sign in with it,
recover with a code, and a shop that demands MFA gets it (and checks it got it)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from clients.webshop.app import Settings
from clients.webshop.app import create_app as create_shop
from idp.extensions import db
from idp.services import clients
from tests.e2e.conftest import LiveServer
from tests.factories import PASSWORD, make_customer, totp_code
from tests.mailbox import Mailbox

pytestmark = pytest.mark.browser

Screenshot = Callable[[str], Path]
MFA = "urn:idp:acr:mfa"


def sign_in_with_password(page: Page, email: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Page) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def set_up_authenticator_app(page: Page, screenshot: Screenshot) -> tuple[str, list[str]]:
    """On the set-up page: scan (read the key), type the first code; the recovery codes."""
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("6-digit code shown by the app").fill(totp_code(secret))
    screenshot("totp-setup")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    screenshot("recovery-codes")
    return secret, codes


def test_authenticator_app_sign_in_and_recovery_code(
    live_server: LiveServer, page: Page, mailbox: Mailbox, screenshot: Screenshot
) -> None:
    ana = make_customer(live_server.app, email="ana@example.com", given_name="Ana")
    page.goto("/login")
    sign_in_with_password(page, ana.email)
    page.get_by_role("link", name="Second step, passkeys and recovery codes").click()
    page.get_by_role("link", name="Set up an authenticator app").click()
    secret, codes = set_up_authenticator_app(page, screenshot)
    assert len(codes) == 10 and len(set(codes)) == 10
    page.get_by_role("link", name="I saved them, continue").click()
    expect(
        page.get_by_text("Signing in asks for a code from your authenticator app.")
    ).to_be_visible()
    sign_out(page)

    # The password is not enough any more: the second step asks for the app's code.
    sign_in_with_password(page, ana.email)
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    screenshot("second-step")
    page.get_by_label("6-digit code from your authenticator app").fill(totp_code(secret, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Hello Ana")).to_be_visible()
    sign_out(page)

    # Phone lost: a recovery code lets Ana in, once, and she is told by mail.
    mailbox.clear()
    sign_in_with_password(page, ana.email)
    page.get_by_role("link", name=re.compile("Use a recovery code")).click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Hello Ana")).to_be_visible()
    expect(page.get_by_text("You used a recovery code.")).to_be_visible()
    assert "recovery code was used" in mailbox.wait_for(ana.email)[-1].get_content()


@pytest.fixture
def mfa_shop(live_server: LiveServer) -> Iterator[str]:
    """The example web shop, started with --acr-values urn:idp:acr:mfa, on a free port."""
    server = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    with live_server.app.app_context():
        client, secret = clients.create(
            name="Strict shop", client_type="web", redirect_uris=[f"{url}/callback"]
        )
        db.session.commit()
        settings = Settings(
            brand="Strict shop",
            issuer=live_server.url,
            client_id=client.client_id,
            client_secret=secret or "",
            acr_values=MFA,
        )
    server.app = create_shop(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_shop_demanding_mfa_gets_it_even_from_a_password_only_customer(
    live_server: LiveServer, page: Page, mfa_shop: str, screenshot: Screenshot
) -> None:
    """No factor yet: the customer is guided to set one up on the way, then the shop gets
    an ID token whose acr is mfa (the shop checks it)."""
    bo = make_customer(live_server.app, email="bo@example.com", given_name="Bo")
    page.goto(mfa_shop)
    page.get_by_role("button", name="Sign in", exact=True).click()
    sign_in_with_password(page, bo.email)
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    screenshot("step-up-needs-a-factor")
    page.get_by_role("link", name="Use an authenticator app").click()
    set_up_authenticator_app(page, screenshot)
    page.get_by_role("link", name="I saved them, continue").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("#acr")).to_have_text(MFA)
    expect(page.locator("#amr")).to_have_text("pwd otp mfa")
    screenshot("shop-mfa")
