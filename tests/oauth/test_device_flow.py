"""The device authorization grant (RFC 8628) end to end over HTTP: codes, pages, polling."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models import BrowserSession, DeviceAuthorization
from idp.services import customers
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve
from tests.oauth.agent import CSRF, UserAgent
from tests.oauth.conftest import Registered, register
from tests.oauth.support import jwt_parts, sign_in
from tests.oauth.test_events import history

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
SCOPE = "openid profile offline_access"
TIMEOUT = 10


# Helpers shared by the other test_device_* files -------------------------------------------------


def register_device(live: LiveServer, name: str = "Living-room TV") -> Registered:
    return register(live, name=name, client_type="device", redirect_uris=[])


def start(live: LiveServer, client_id: str, scope: str = SCOPE) -> dict[str, Any]:
    """RFC 8628 3.1 as a device sends it: client_id and scope in a form."""
    response = requests.post(
        f"{live.url}/device_authorization",
        data={"client_id": client_id, "scope": scope},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def poll(live: LiveServer, client_id: str, device_code: str) -> requests.Response:
    return requests.post(
        f"{live.url}/token",
        data={"grant_type": DEVICE_CODE, "device_code": device_code, "client_id": client_id},
        timeout=TIMEOUT,
    )


def error_of(response: requests.Response) -> str:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.status_code in (400, 401), response.text
    return str(response.json()["error"])


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def type_code(agent: UserAgent, typed: str) -> requests.Response:
    """Sign in if needed, open /device and submit ``typed`` in the code field."""
    agent.go(f"{agent.base_url}/device")
    return agent.session.post(
        f"{agent.base_url}/device",
        data={"csrf_token": csrf_of(agent.last_page), "user_code": typed},
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def decide(agent: UserAgent, user_code: str, decision: str = "approve") -> requests.Response:
    """Type the code, check the confirmation page, then press Approve or Deny."""
    confirm = type_code(agent, user_code)
    assert confirm.status_code == 200, confirm.text
    assert 'value="approve"' in confirm.text and 'value="deny"' in confirm.text
    return agent.session.post(
        f"{agent.base_url}/device",
        data={
            "csrf_token": csrf_of(confirm.text),
            "user_code": user_code,
            "decision": decision,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def device_tokens(
    live: LiveServer, client: Registered, agent: UserAgent, scope: str = SCOPE
) -> dict[str, Any]:
    """The whole flow: codes, approval by the customer, one poll; the token response."""
    codes = start(live, client.client_id, scope)
    done = decide(agent, codes["user_code"])
    assert done.status_code == 200, done.text
    response = poll(live, client.client_id, codes["device_code"])
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def refresh(live: LiveServer, client: Registered, raw: str) -> requests.Response:
    return requests.post(
        f"{live.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": raw, "client_id": client.client_id},
        timeout=TIMEOUT,
    )


@pytest.fixture
def tv(live_server: LiveServer) -> Registered:
    return register_device(live_server)


# Tests -----------------------------------------------------------------------------------------


def test_discovery_advertises_the_device_flow(live_server):
    """Both discovery documents name the device endpoint and the device_code grant."""
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = requests.get(f"{live_server.url}{path}", timeout=TIMEOUT).json()
        assert (
            document["device_authorization_endpoint"] == f"{live_server.url}/device_authorization"
        )
        assert DEVICE_CODE in document["grant_types_supported"]


def test_device_authorization_response(live_server, tv):
    """RFC 8628 3.2: codes, both verification URIs, expires_in 600 and interval 5, no-store."""
    response = requests.post(
        f"{live_server.url}/device_authorization",
        data={"client_id": tv.client_id, "scope": "openid profile"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert USER_CODE.match(body["user_code"]), body["user_code"]
    assert len(body["device_code"]) >= 43
    assert body["verification_uri"] == f"{live_server.url}/device"
    assert body["verification_uri_complete"] == (
        f"{live_server.url}/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600 and body["interval"] == 5


def test_full_flow_pending_then_tokens(live_server, tv, agent, customer):
    """Pending until the customer approves; then a JWT access token, a refresh token and an ID
    token carrying the approving session's amr and auth_time."""
    codes = start(live_server, tv.client_id)
    assert error_of(poll(live_server, tv.client_id, codes["device_code"])) == (
        "authorization_pending"
    )
    done = decide(agent, codes["user_code"])
    assert done.status_code == 200 and "Device connected" in done.text

    response = poll(live_server, tv.client_id, codes["device_code"])
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    assert set(token["scope"].split()) == set(SCOPE.split())

    keys = KeySet.import_key_set(requests.get(f"{live_server.url}/jwks", timeout=10).json())
    access = jwt.decode(token["access_token"], keys)
    assert access.header["typ"] == "at+jwt"
    assert access.claims["sub"] == customer.public_id
    assert access.claims["client_id"] == tv.client_id
    id_token = jwt.decode(token["id_token"], keys)
    assert id_token.claims["aud"] == tv.client_id
    assert id_token.claims["sub"] == customer.public_id
    assert id_token.claims["amr"] == ["pwd"]
    with live_server.app.app_context():
        signed_in = db.session.execute(
            db.select(BrowserSession).where(
                BrowserSession.customer_id == customers.find_by_public_id(customer.public_id).id
            )
        ).scalar_one()
        assert id_token.claims["auth_time"] == int(signed_in.auth_time.timestamp())
    # The device's session is its own: no sid ties it to the browser that approved it.
    assert "sid" not in id_token.claims

    refreshed = refresh(live_server, tv, token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = refreshed.json()
    assert again["refresh_token"] != token["refresh_token"]
    assert jwt_parts(again["id_token"])[1]["auth_time"] == id_token.claims["auth_time"]


def test_verification_page_needs_a_signed_in_customer(live_server, tv):
    """Without a session /device sends the browser to /login, keeping the code in `next`."""
    response = requests.get(
        f"{live_server.url}/device?user_code=BCDF-GHJK", allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "user_code%3DBCDF-GHJK" in response.headers["Location"]


def test_complete_uri_prefills_but_never_approves(live_server, tv, agent, customer):
    """RFC 8628 5.4: following verification_uri_complete shows the code to confirm; the device
    stays pending until the customer presses the buttons."""
    codes = start(live_server, tv.client_id)
    agent.go(codes["verification_uri_complete"])
    page = agent.last_page
    assert f'value="{codes["user_code"]}"' in page
    assert "Check that this code is the one shown on your device" in page
    assert 'value="approve"' not in page
    assert error_of(poll(live_server, tv.client_id, codes["device_code"])) == (
        "authorization_pending"
    )


def test_confirmation_page_names_the_product_and_scopes(live_server, tv, agent, customer):
    """The customer sees the client's name and each scope in plain words."""
    codes = start(live_server, tv.client_id, "openid email phone")
    page = type_code(agent, codes["user_code"]).text
    assert "Connect Living-room TV?" in page
    assert codes["user_code"] in page
    assert "Your email address" in page and "Your phone number" in page
    assert "Your postal address" not in page


def test_confirmation_page_in_french(live_server, tv, agent, customer):
    """The same page in French for a French browser."""
    agent.session.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    codes = start(live_server, tv.client_id, "openid email")
    page = type_code(agent, codes["user_code"]).text
    assert 'lang="fr"' in page
    assert "Votre adresse e-mail" in page
    assert "Approuver" in page and "Refuser" in page


def test_codes_are_stored_as_digests(live_server, tv):
    """Only digests of the device code and user code reach the database."""
    codes = start(live_server, tv.client_id)
    with live_server.app.app_context():
        row = db.session.execute(db.select(DeviceAuthorization)).scalar_one()
        values = [str(getattr(row, c.key)) for c in DeviceAuthorization.__table__.columns]
    assert row.device_code_digest == hashlib.sha256(codes["device_code"].encode()).hexdigest()
    plain = codes["user_code"].replace("-", "")
    for value in values:
        assert codes["device_code"] not in value
        assert plain not in value and codes["user_code"] not in value
    assert row.user_code_digest != hashlib.sha256(plain.encode()).hexdigest()


def test_client_errors(live_server, tv, web_client):
    """Unknown client: invalid_client; a client without the grant: unauthorized_client;
    an unknown scope: invalid_scope; all JSON with no-store."""
    url = f"{live_server.url}/device_authorization"
    unknown = requests.post(url, data={"client_id": "nobody"}, timeout=TIMEOUT)
    assert error_of(unknown) == "invalid_client"
    web = requests.post(
        url, auth=(web_client.client_id, web_client.client_secret), data={}, timeout=TIMEOUT
    )
    assert web.status_code == 400 and error_of(web) == "unauthorized_client"
    scope = requests.post(
        url, data={"client_id": tv.client_id, "scope": "openid admin"}, timeout=TIMEOUT
    )
    assert error_of(scope) == "invalid_scope"


def test_token_endpoint_errors(live_server, tv, web_client):
    """A missing device_code is invalid_request, an unknown one (or another client's)
    invalid_grant, and a client without the grant unauthorized_client."""
    codes = start(live_server, tv.client_id)
    missing = requests.post(
        f"{live_server.url}/token",
        data={"grant_type": DEVICE_CODE, "client_id": tv.client_id},
        timeout=TIMEOUT,
    )
    assert error_of(missing) == "invalid_request"
    assert error_of(poll(live_server, tv.client_id, "not-a-code")) == "invalid_grant"
    other = register_device(live_server, "Console")
    assert error_of(poll(live_server, other.client_id, codes["device_code"])) == "invalid_grant"
    web = requests.post(
        f"{live_server.url}/token",
        auth=(web_client.client_id, web_client.client_secret),
        data={"grant_type": DEVICE_CODE, "device_code": codes["device_code"]},
        timeout=TIMEOUT,
    )
    assert error_of(web) == "unauthorized_client"


def test_slow_down_grows_the_interval(database_url, tmp_path, mailbox):
    """Polling faster than the interval answers slow_down, and the interval grows by 5 s for
    good (RFC 8628 3.5), while a device that keeps to it only hears authorization_pending."""
    with serve(database_url, tmp_path / "i", mailbox, DEVICE_POLL_INTERVAL=1) as live:
        client = register_device(live)
        codes = start(live, client.client_id)
        assert codes["interval"] == 1
        device_code = codes["device_code"]
        assert error_of(poll(live, client.client_id, device_code)) == "authorization_pending"
        time.sleep(1.1)
        assert error_of(poll(live, client.client_id, device_code)) == "authorization_pending"
        fast = poll(live, client.client_id, device_code)
        assert error_of(fast) == "slow_down"
        assert "every 6 seconds" in fast.json()["error_description"]
        time.sleep(1.1)
        # One second was enough before; now it takes six.
        assert error_of(poll(live, client.client_id, device_code)) == "slow_down"
        with live.app.app_context():
            row = db.session.execute(db.select(DeviceAuthorization)).scalar_one()
            assert row.poll_interval == 11


def test_denied_request(live_server, tv, agent, customer):
    """Deny answers access_denied to every later poll, and no device is added."""
    codes = start(live_server, tv.client_id)
    done = decide(agent, codes["user_code"], "deny")
    assert done.status_code == 200 and "Request denied" in done.text
    for _ in range(2):
        assert error_of(poll(live_server, tv.client_id, codes["device_code"])) == "access_denied"
    devices = agent.session.get(f"{live_server.url}/account/devices", timeout=TIMEOUT).text
    assert "No device is connected to your account." in devices


def test_expired_device_code(database_url, tmp_path, mailbox):
    """Past DEVICE_CODE_LIFETIME the device hears expired_token and the customer can no
    longer approve the code."""
    with serve(database_url, tmp_path / "i", mailbox, DEVICE_CODE_LIFETIME=1) as live:
        make_customer(live.app, email="late@example.com")
        client = register_device(live)
        codes = start(live, client.client_id)
        assert codes["expires_in"] == 1
        agent = UserAgent(live.url, email="late@example.com", password=PASSWORD)
        sign_in(agent)
        time.sleep(1.2)
        assert error_of(poll(live, client.client_id, codes["device_code"])) == "expired_token"
        typed = type_code(agent, codes["user_code"])
        assert typed.status_code == 400
        assert "This code is not valid or has expired" in typed.text


def test_approved_but_expired_before_polling(database_url, tmp_path, mailbox):
    """An approved request the device never collected expires: expired_token, and the device
    leaves the customer's list."""
    with serve(database_url, tmp_path / "i", mailbox, DEVICE_CODE_LIFETIME=2) as live:
        make_customer(live.app, email="slow@example.com")
        client = register_device(live)
        codes = start(live, client.client_id)
        agent = UserAgent(live.url, email="slow@example.com", password=PASSWORD)
        assert decide(agent, codes["user_code"]).status_code == 200
        listed = agent.session.get(f"{live.url}/account/devices", timeout=TIMEOUT).text
        assert "Living-room TV" in listed
        time.sleep(2.2)
        assert error_of(poll(live, client.client_id, codes["device_code"])) == "expired_token"
        listed = agent.session.get(f"{live.url}/account/devices", timeout=TIMEOUT).text
        assert "Living-room TV" not in listed


def test_device_code_is_single_use(live_server, tv, agent, customer):
    """A second poll after tokens were issued is invalid_grant and revokes those tokens."""
    codes = start(live_server, tv.client_id)
    decide(agent, codes["user_code"])
    first = poll(live_server, tv.client_id, codes["device_code"])
    assert first.status_code == 200
    assert error_of(poll(live_server, tv.client_id, codes["device_code"])) == "invalid_grant"
    assert error_of(refresh(live_server, tv, first.json()["refresh_token"])) == "invalid_grant"
    events = history(live_server, customer.public_id)
    assert ("oauth:device_code:replayed", tv.client_id, "device") in events


def test_a_code_is_decided_once(live_server, tv, agent, customer):
    """After approval the same user code cannot be approved or denied again."""
    codes = start(live_server, tv.client_id)
    assert decide(agent, codes["user_code"]).status_code == 200
    again = type_code(agent, codes["user_code"])
    assert again.status_code == 400 and "This code is not valid or has expired" in again.text
    assert poll(live_server, tv.client_id, codes["device_code"]).status_code == 200


def test_signing_out_of_the_browser_keeps_the_device(live_server, tv, agent, customer):
    """The device's tokens outlive the browser session that approved them."""
    token = device_tokens(live_server, tv, agent, scope="openid")
    page = agent.session.get(f"{live_server.url}/logout", timeout=TIMEOUT)
    out = agent.session.post(
        f"{live_server.url}/logout", data={"csrf_token": csrf_of(page.text)}, timeout=TIMEOUT
    )
    assert out.status_code == 200
    assert refresh(live_server, tv, token["refresh_token"]).status_code == 200
