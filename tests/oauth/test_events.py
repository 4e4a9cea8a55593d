"""Every token event lands on the customer's record with the client and the channel."""

from __future__ import annotations

import requests

from idp.extensions import db
from idp.models import LoginEvent
from tests.oauth.test_code_flow import authorize, discover


def history(live, customer_id: str) -> list[tuple[str, str | None, str | None]]:
    from idp.services import customers

    with live.app.app_context():
        customer = customers.find_by_public_id(customer_id)
        rows = db.session.execute(
            db.select(LoginEvent)
            .where(LoginEvent.customer_id == customer.id)
            .order_by(LoginEvent.id)
        ).scalars()
        return [(e.tag, e.client_id, e.channel) for e in rows]


def test_code_token_refresh_revoke_logout_are_recorded(
    live_server, web_client, native_client, agent, customer
):
    """The record shows sign-in, code, token, refresh and revocation per client and channel."""
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(
        live_server, web_client, agent, scope="openid offline_access"
    )
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    mobile, callback, verifier, _ = authorize(live_server, native_client, agent, scope="openid")
    mobile.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    revoked = requests.post(
        meta["revocation_endpoint"],
        timeout=10,
        auth=(web_client.client_id, web_client.client_secret),
        data={"token": token["access_token"]},
    )
    assert revoked.status_code == 200

    events = history(live_server, customer.public_id)
    web, app = web_client.client_id, native_client.client_id
    assert ("customer:login:success", None, "web") in events
    assert ("oauth:code:issued", web, "web") in events
    assert ("oauth:token:issued", web, "web") in events
    assert ("oauth:token:refreshed", web, "web") in events
    assert ("oauth:code:issued", app, "mobile") in events
    assert ("oauth:token:issued", app, "mobile") in events
    assert ("oauth:token:revoked", web, None) in events
