"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 against a live idp."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.live import LiveServer
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import register
from tests.oauth.test_code_flow import authorize, discover


class Receiver:
    """A relying party's back-channel logout endpoint: a real HTTP server on loopback."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                receiver.tokens.extend(form.get("logout_token", []))
                receiver.event.set()
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def sign_in(live: LiveServer, client, agent: UserAgent) -> dict:
    meta = discover(live)
    session, callback, verifier, _ = authorize(live, client, agent, scope="openid")
    return session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )


def test_rp_logout_with_hint_signs_out_and_redirects(live_server, web_client, agent, customer):
    """With a valid id_token_hint of the session, logout needs no prompt and returns state."""
    token = sign_in(live_server, web_client, agent)
    end_session = discover(live_server)["end_session_endpoint"]
    response = agent.session.get(
        end_session,
        allow_redirects=False,
        timeout=10,
        params={
            "id_token_hint": token["id_token"],
            "state": "bye1",
            "post_logout_redirect_uri": "https://shop.example/bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/bye?state=bye1"
    assert (
        agent.session.get(
            f"{live_server.url}/account", allow_redirects=False, timeout=10
        ).status_code
        == 302
    )
    userinfo = requests.get(
        discover(live_server)["userinfo_endpoint"],
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert userinfo.status_code == 401  # tokens of the session are revoked with it


def test_rp_logout_without_hint_asks_first(live_server, web_client, agent):
    """Without an id_token_hint idp asks the customer before signing out (no logout CSRF)."""
    sign_in(live_server, web_client, agent)
    end_session = discover(live_server)["end_session_endpoint"]
    page = agent.session.get(
        end_session,
        allow_redirects=False,
        timeout=10,
        params={
            "client_id": web_client.client_id,
            "post_logout_redirect_uri": "https://shop.example/bye",
        },
    )
    assert page.status_code == 200 and "Shop" in page.text
    assert (
        agent.session.get(
            f"{live_server.url}/account", allow_redirects=False, timeout=10
        ).status_code
        == 200
    )


@pytest.mark.parametrize("uri", ["https://evil.example/bye", "https://shop.example/bye/"])
def test_unregistered_post_logout_uri_is_refused(live_server, web_client, agent, uri):
    """A post_logout_redirect_uri not registered exactly gets an error page, no redirect."""
    token = sign_in(live_server, web_client, agent)
    response = agent.session.get(
        discover(live_server)["end_session_endpoint"],
        timeout=10,
        allow_redirects=False,
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": uri},
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_tampered_hint_is_refused(live_server, web_client, agent):
    """A forged id_token_hint is refused rather than trusted."""
    token = sign_in(live_server, web_client, agent)
    header, payload, signature = token["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = agent.session.get(
        discover(live_server)["end_session_endpoint"],
        timeout=10,
        allow_redirects=False,
        params={"id_token_hint": forged},
    )
    assert response.status_code == 400


def test_backchannel_logout_reaches_every_client(live_server, agent, customer, receiver):
    """Signing out sends a signed logout token with sid to each client of the session."""
    shop_a = register(
        live_server,
        name="Shop A",
        client_type="web",
        redirect_uris=["https://a.example/cb"],
        backchannel_logout_uri=receiver.url,
    )
    shop_b = register(
        live_server,
        name="Shop B",
        client_type="web",
        redirect_uris=["https://b.example/cb"],
        backchannel_logout_uri=receiver.url,
    )
    token_a = sign_in(live_server, shop_a, agent)
    sign_in(live_server, shop_b, agent)
    page = agent.session.get(f"{live_server.url}/logout", timeout=10)
    csrf = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    agent.session.post(f"{live_server.url}/logout", data={"csrf_token": csrf}, timeout=10)
    assert len(receiver.tokens) == 2
    meta = discover(live_server)
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    id_claims = jwt.decode(token_a["id_token"], keys).claims
    audiences = set()
    for raw in receiver.tokens:
        decoded = jwt.decode(raw, keys, algorithms=["ES256", "RS256"])
        assert decoded.header["typ"] == "logout+jwt"
        claims = decoded.claims
        assert claims["iss"] == meta["issuer"] and claims["sub"] == customer.public_id
        assert claims["sid"] == id_claims["sid"]
        assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
        assert "nonce" not in claims and claims["jti"]
        audiences.add(claims["aud"])
    assert audiences == {shop_a.client_id, shop_b.client_id}


def test_discovery_advertises_logout(live_server):
    """Metadata says where and how logout works."""
    meta = discover(live_server)
    assert urlsplit(meta["end_session_endpoint"]).path == "/logout"
    assert meta["backchannel_logout_supported"] and meta["backchannel_logout_session_supported"]
