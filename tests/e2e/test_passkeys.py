"""Passkeys in a real browser: Chromium's virtual authenticator (Chrome DevTools Protocol WebAuthn
domain) registers one, signs in with it alone and as a second step, and a stale counter fails."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, expect

from idp.extensions import db
from idp.models import BrowserSession, Customer, LoginEvent, Passkey
from idp.services.events import EventTag
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve
from tests.mailbox import Mailbox
from tests.oauth.conftest import register
from tests.oauth.support import answer, authorize_url, exchange, jwt_parts

pytestmark = pytest.mark.browser

SHOP = "https://shop.example/callback"


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[LiveServer]:
    """Served as http://localhost:PORT: WebAuthn refuses an IP address as relying party id,
    and Chromium counts localhost as a secure context."""
    with serve(database_url, tmp_path / "instance", mailbox, host_name="localhost") as server:
        yield server


@dataclass
class Authenticator:
    """A platform authenticator with resident keys and a biometric that always says yes."""

    cdp: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(result["credentials"])


@pytest.fixture
def authenticator(context: BrowserContext, page: Page) -> Authenticator:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return Authenticator(cdp, added["authenticatorId"])


@pytest.fixture
def customer(live_server: LiveServer) -> Customer:
    return make_customer(live_server.app, email="noor@example.com", given_name="Noor")


def sign_in_with_password(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def add_passkey(page: Page, live: LiveServer, name: str) -> None:
    """On the security page, name and create a passkey; the first one brings recovery codes."""
    page.goto("/account/security")
    page.get_by_label("Name of the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".flash-success")).to_have_text(f"Your passkey “{name}” was added.")


def sign_out(page: Page, live: LiveServer) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live.url}/login")


def live_amr(live: LiveServer) -> list[list[str]]:
    """The amr of every browser session that has not ended, oldest first."""
    with live.app.app_context():
        rows = db.session.execute(
            db.select(BrowserSession.amr)
            .where(BrowserSession.ended_at.is_(None))
            .order_by(BrowserSession.id)
        ).scalars()
        return [list(amr) for amr in rows]


def stored_passkeys(live: LiveServer) -> list[Passkey]:
    with live.app.app_context():
        rows = list(db.session.execute(db.select(Passkey).order_by(Passkey.id)).scalars())
        db.session.expunge_all()
        return rows


def events(live: LiveServer, tag: EventTag) -> list[LoginEvent]:
    with live.app.app_context():
        rows = list(
            db.session.execute(
                db.select(LoginEvent).where(LoginEvent.tag == str(tag)).order_by(LoginEvent.id)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_add_a_passkey_then_sign_in_without_a_password(
    live_server: LiveServer,
    page: Page,
    authenticator: Authenticator,
    customer: Customer,
    mailbox: Mailbox,
) -> None:
    """A named passkey is created on the security page; after signing out, it alone signs the
    customer in, with user verification counted as the second factor."""
    sign_in_with_password(page, customer.email)
    expect(page).to_have_url(f"{live_server.url}/account")
    add_passkey(page, live_server, "Work laptop")

    [row] = stored_passkeys(live_server)
    assert row.name == "Work laptop"
    assert row.customer_id == customer.id
    assert row.transports == ["internal"]
    [held] = authenticator.credentials()
    assert held["isResidentCredential"] is True
    assert held["rpId"] == "localhost"
    # The user handle is the customer's opaque public id, never the email (WebAuthn 14.6.1).
    assert base64.b64decode(held["userHandle"]) == customer.public_id.encode()
    assert [e.method for e in events(live_server, EventTag.PASSKEY_ADDED)] == ["passkey"]
    mails = mailbox.wait_for(customer.email)
    assert any("Work laptop" in text_of(m) for m in mails)

    sign_out(page, live_server)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Hello Noor")).to_be_visible()

    [amr] = live_amr(live_server)
    assert "pwd" not in amr
    assert {"hwk", "user", "mfa"} <= set(amr) or {"swk", "user", "mfa"} <= set(amr)
    [row] = stored_passkeys(live_server)
    assert row.last_used_at is not None
    assert row.sign_count == authenticator.credentials()[0]["signCount"]
    [success] = [e for e in events(live_server, EventTag.LOGIN_SUCCESS) if e.method == "passkey"]
    assert success.customer_id == customer.id


def test_passkey_as_second_step_then_removed(
    live_server: LiveServer, page: Page, authenticator: Authenticator, customer: Customer
) -> None:
    """With a passkey, the password alone stops at the second step; the passkey finishes the
    sign-in with mfa, and removing it from the security page deletes it."""
    sign_in_with_password(page, customer.email)
    add_passkey(page, live_server, "Phone")
    sign_out(page, live_server)

    sign_in_with_password(page, customer.email)
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    assert live_amr(live_server) == []
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{live_server.url}/account")
    [amr] = live_amr(live_server)
    assert amr[0] == "pwd" and "user" in amr and "mfa" in amr
    assert "hwk" in amr or "swk" in amr

    page.goto("/account/security")
    page.get_by_role("button", name="Remove Phone").click()
    expect(page.locator(".flash-success")).to_have_text("The passkey “Phone” was removed.")
    expect(page.locator("#passkeys")).to_contain_text("You have no passkey yet.")
    assert stored_passkeys(live_server) == []
    assert len(events(live_server, EventTag.PASSKEY_REMOVED)) == 1


def test_a_counter_that_did_not_grow_is_refused(
    live_server: LiveServer, page: Page, authenticator: Authenticator, customer: Customer
) -> None:
    """A stored sign counter above the authenticator's (a cloned key) refuses the assertion:
    400, an alert, a failure on the history, and nobody signed in."""
    sign_in_with_password(page, customer.email)
    add_passkey(page, live_server, "Old key")
    sign_out(page, live_server)
    with live_server.app.app_context():
        db.session.execute(db.update(Passkey).values(sign_count=1_000_000))
        db.session.commit()

    with page.expect_response("**/login/passkey") as refused:
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert refused.value.status == 400
    assert refused.value.json()["error"] == "verification_failed"
    expect(page.get_by_role("alert")).to_have_text(
        "That passkey was not accepted. Sign in with your password instead."
    )
    expect(page).to_have_url(f"{live_server.url}/login")
    assert live_amr(live_server) == []
    [failure] = events(live_server, EventTag.LOGIN_FAILURE)
    assert failure.customer_id == customer.id and failure.method == "passkey"
    assert failure.reason == "sign counter did not grow"
    assert stored_passkeys(live_server)[0].sign_count == 1_000_000


def test_authorization_asking_for_mfa_is_met_by_a_passkey(
    live_server: LiveServer, page: Page, authenticator: Authenticator, customer: Customer
) -> None:
    """acr_values=urn:idp:acr:mfa: signing in with the passkey alone satisfies it, and the ID
    token says so (acr mfa, amr with the key and the person)."""
    sign_in_with_password(page, customer.email)
    add_passkey(page, live_server, "Laptop")
    sign_out(page, live_server)
    shop = register(live_server, name="Shop", client_type="web", redirect_uris=[SHOP])
    page.route("https://shop.example/**", lambda route: route.fulfill(body="shop"))

    url, verifier = authorize_url(live_server, shop, acr_values="urn:idp:acr:mfa")
    page.goto(url)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("https://shop.example/**")

    callback = page.url
    assert answer(callback)["state"] == "st-1"
    response = exchange(live_server, shop, callback, verifier)
    assert response.status_code == 200, response.text
    claims = jwt_parts(response.json()["id_token"])[1]
    assert claims["sub"] == customer.public_id
    assert claims["acr"] == "urn:idp:acr:mfa"
    assert "mfa" in claims["amr"] and "pwd" not in claims["amr"]


def test_a_password_only_customer_asked_for_mfa_adds_a_passkey_on_the_way(
    live_server: LiveServer, page: Page, authenticator: Authenticator, customer: Customer
) -> None:
    """Step-up without any factor: the customer adds a passkey from the second-step page, saves
    the recovery codes, and lands back in the authorization, which now issues an mfa token."""
    shop = register(live_server, name="Shop", client_type="web", redirect_uris=[SHOP])
    page.route("https://shop.example/**", lambda route: route.fulfill(body="shop"))
    url, verifier = authorize_url(live_server, shop, acr_values="urn:idp:acr:mfa")
    page.goto(url)
    page.get_by_label("Email address").fill(customer.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name of the new passkey").fill("Phone")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I saved them, continue").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("https://shop.example/**")

    response = exchange(live_server, shop, page.url, verifier)
    assert response.status_code == 200, response.text
    claims = jwt_parts(response.json()["id_token"])[1]
    assert claims["acr"] == "urn:idp:acr:mfa"
    assert claims["amr"][0] == "pwd" and "mfa" in claims["amr"]
