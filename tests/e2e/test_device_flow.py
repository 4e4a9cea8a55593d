"""A TV signs in with the device flow while the customer approves it in a real browser."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.factories import PASSWORD, make_customer
from tests.oauth.conftest import register
from tests.oauth.support import jwt_parts

pytestmark = pytest.mark.browser

Screenshot = Callable[[str], Path]
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


class Poller(threading.Thread):
    """The TV: polls the token endpoint at the given interval until it gets an answer that ends
    the flow (RFC 8628 3.4), keeping every error it heard on the way."""

    def __init__(self, url: str, client_id: str, device_code: str, interval: int) -> None:
        super().__init__(name="device-poller", daemon=True)
        self.url, self.client_id, self.device_code = url, client_id, device_code
        self.interval = interval
        self.errors: list[str] = []
        self.tokens: dict[str, str] | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                response = requests.post(
                    f"{self.url}/token",
                    data={
                        "grant_type": DEVICE_CODE,
                        "device_code": self.device_code,
                        "client_id": self.client_id,
                    },
                    timeout=10,
                )
                if response.status_code == 200:
                    self.tokens = response.json()
                    return
                error = response.json()["error"]
                self.errors.append(error)
                if error == "slow_down":
                    self.interval += 5
                elif error != "authorization_pending":
                    return
                time.sleep(self.interval)
        except BaseException as exc:  # handed to the test, which fails with it
            self.failure = exc


def test_customer_approves_a_tv_in_the_browser(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    """The TV shows a code and a QR; the customer opens the link, signs in, confirms the code
    and approves; the polling TV then receives its tokens."""
    customer = make_customer(live_server.app, email="tv.owner@example.com", given_name="Ines")
    tv = register(live_server, name="Living-room TV", client_type="device", redirect_uris=[])
    codes = requests.post(
        f"{live_server.url}/device_authorization",
        data={"client_id": tv.client_id, "scope": "openid profile offline_access"},
        timeout=10,
    ).json()
    poller = Poller(live_server.url, tv.client_id, codes["device_code"], codes["interval"])
    poller.start()

    # What the TV shows: the address, the code and idp's QR code of the complete URI.
    page.set_content(
        f"<h1>Living-room TV</h1><p>Go to {codes['verification_uri']} and enter "
        f"<b>{codes['user_code']}</b>, or scan:</p>"
        f'<img alt="QR code" src="{live_server.url}/device/qr?user_code={codes["user_code"]}">'
    )
    qr = page.get_by_alt_text("QR code")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 100
    screenshot("0-tv-screen")

    page.goto(codes["verification_uri_complete"])
    expect(page).to_have_url(
        f"{live_server.url}/login?next=/device?user_code%3D{codes['user_code']}"
    )
    page.get_by_label("Email address").fill(customer.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", name="Connect a device")).to_be_visible()
    expect(page.get_by_label("Code shown on your device")).to_have_value(codes["user_code"])
    screenshot("1-code-prefilled")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Connect Living-room TV?")).to_be_visible()
    expect(page.locator("#user-code")).to_have_text(codes["user_code"])
    screenshot("2-confirm")
    assert poller.tokens is None, "tokens before the customer approved"
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="Device connected")).to_be_visible()
    screenshot("3-connected")
    poller.join(timeout=30)
    assert poller.failure is None, poller.failure
    assert poller.tokens is not None, poller.errors
    assert poller.errors and set(poller.errors) == {"authorization_pending"}
    assert jwt_parts(poller.tokens["id_token"])[1]["sub"] == customer.public_id
    assert poller.tokens["refresh_token"]

    page.get_by_role("link", name="My devices").click()
    expect(page.get_by_role("heading", name="Living-room TV")).to_be_visible()
    screenshot("4-my-devices")
