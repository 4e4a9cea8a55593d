"""The customer's devices: listed at /account/devices, seen on refresh, removed with the tokens."""

from __future__ import annotations

import re
import time

import requests

from idp.extensions import db
from idp.models import Device
from tests.factories import make_customer
from tests.oauth.agent import UserAgent
from tests.oauth.support import bearer, sign_in
from tests.oauth.test_device_flow import (
    TIMEOUT,
    csrf_of,
    device_tokens,
    error_of,
    refresh,
    register_device,
)

REMOVE = re.compile(r'action="(/account/devices/\d+/remove)"')


def _devices_page(agent: UserAgent) -> str:
    page = agent.session.get(f"{agent.base_url}/account/devices", timeout=TIMEOUT)
    assert page.status_code == 200
    return page.text


def _device(live) -> Device:
    with live.app.app_context():
        device = db.session.execute(db.select(Device)).scalar_one()
        db.session.expunge(device)
        return device


def test_account_home_links_to_devices(live_server, agent, customer):
    """The account page links to the devices page."""
    sign_in(agent)
    home = agent.session.get(f"{live_server.url}/account", timeout=TIMEOUT).text
    assert 'href="/account/devices"' in home


def test_approved_device_is_listed(live_server, agent, customer):
    """After approval the device shows with its product name, client and both dates."""
    tv = register_device(live_server, "Kitchen Radio")
    device_tokens(live_server, tv, agent)
    page = _devices_page(agent)
    assert "<h2>Kitchen Radio</h2>" in page
    assert f"<code>{tv.client_id}</code>" in page
    assert "Connected" in page and "Last used" in page
    assert REMOVE.search(page)
    device = _device(live_server)
    assert device.name == "Kitchen Radio" and device.client_id == tv.client_id
    assert device.customer_id is not None and device.family_id is not None


def test_refresh_moves_last_seen(live_server, agent, customer):
    """Each refresh moves last_seen_at; first_seen_at stays."""
    tv = register_device(live_server)
    token = device_tokens(live_server, tv, agent)
    before = _device(live_server)
    time.sleep(0.05)
    assert refresh(live_server, tv, token["refresh_token"]).status_code == 200
    after = _device(live_server)
    assert after.first_seen_at == before.first_seen_at
    assert after.last_seen_at > before.last_seen_at


def test_remove_revokes_the_refresh_token(live_server, agent, customer):
    """Remove signs the device out: its refresh and access tokens stop working at once."""
    tv = register_device(live_server)
    token = device_tokens(live_server, tv, agent)
    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(token["access_token"]), timeout=TIMEOUT
    )
    assert info.status_code == 200
    page = _devices_page(agent)
    removed = agent.session.post(
        f"{live_server.url}{REMOVE.search(page).group(1)}",
        data={"csrf_token": csrf_of(page)},
        timeout=TIMEOUT,
    )
    assert removed.status_code == 200
    assert "Living-room TV is signed out and removed from your account." in removed.text
    assert "No device is connected to your account." in removed.text
    assert error_of(refresh(live_server, tv, token["refresh_token"])) == "invalid_grant"
    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(token["access_token"]), timeout=TIMEOUT
    )
    assert info.status_code == 401


def test_remove_needs_csrf_and_ownership(live_server, agent, customer):
    """Without the form's token the removal is refused; another customer's device is not found."""
    tv = register_device(live_server)
    token = device_tokens(live_server, tv, agent)
    page = _devices_page(agent)
    action = f"{live_server.url}{REMOVE.search(page).group(1)}"
    forged = agent.session.post(action, data={}, timeout=TIMEOUT)
    assert forged.status_code == 400

    make_customer(live_server.app, email="other@example.com")
    other = UserAgent(live_server.url, email="other@example.com", password=agent.password)
    sign_in(other)
    form = other.session.get(f"{live_server.url}/device", timeout=TIMEOUT).text
    theirs = other.session.post(action, data={"csrf_token": csrf_of(form)}, timeout=TIMEOUT)
    assert theirs.status_code == 404
    assert refresh(live_server, tv, token["refresh_token"]).status_code == 200


def test_removed_before_first_poll_is_access_denied(live_server, agent, customer):
    """A device removed between approval and its first poll gets access_denied, no tokens."""
    from tests.oauth.test_device_flow import decide, poll, start

    tv = register_device(live_server)
    codes = start(live_server, tv.client_id)
    assert decide(agent, codes["user_code"]).status_code == 200
    page = _devices_page(agent)
    agent.session.post(
        f"{live_server.url}{REMOVE.search(page).group(1)}",
        data={"csrf_token": csrf_of(page)},
        timeout=TIMEOUT,
    )
    assert error_of(poll(live_server, tv.client_id, codes["device_code"])) == "access_denied"
