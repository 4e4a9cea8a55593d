"""Every step of the device flow lands on the customer's record with the channel "device"."""

from __future__ import annotations

from tests.oauth.test_device_account import REMOVE, _devices_page
from tests.oauth.test_device_flow import (
    TIMEOUT,
    csrf_of,
    decide,
    device_tokens,
    refresh,
    register_device,
    start,
    type_code,
)
from tests.oauth.test_events import history


def test_device_events_have_the_device_channel(live_server, agent, customer):
    """Approval, tokens, refresh, denial, a wrong code and removal are recorded per client
    with channel "device"."""
    tv = register_device(live_server)
    token = device_tokens(live_server, tv, agent)
    assert refresh(live_server, tv, token["refresh_token"]).status_code == 200
    denied = start(live_server, tv.client_id)
    assert decide(agent, denied["user_code"], "deny").status_code == 200
    assert type_code(agent, "BBBB-BBBB").status_code == 400
    page = _devices_page(agent)
    agent.session.post(
        f"{live_server.url}{REMOVE.search(page).group(1)}",
        data={"csrf_token": csrf_of(page)},
        timeout=TIMEOUT,
    )

    events = history(live_server, customer.public_id)
    app = tv.client_id
    assert ("oauth:device:approved", app, "device") in events
    assert ("oauth:token:issued", app, "device") in events
    assert ("oauth:token:refreshed", app, "device") in events
    assert ("oauth:authorization:denied", app, "device") in events
    assert ("oauth:user_code:rejected", None, "device") in events
    assert ("oauth:device:removed", app, "device") in events
    token_events = [e for e in events if e[0].startswith("oauth:token:")]
    assert token_events and all(channel == "device" for _, _, channel in token_events)
