"""The speaker's polling rules (RFC 8628 3.4-3.5) against a token endpoint that answers from a
script, and what it shows the customer (3.3)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from clients.device.app import (
    GRANT_TYPE,
    AccessDenied,
    DeviceAuthorization,
    DeviceFlowError,
    ExpiredToken,
    discover,
    greeting,
    poll_for_tokens,
    request_codes,
    show,
)

PENDING = (400, {"error": "authorization_pending"})
TOKENS = (200, {"access_token": "at", "token_type": "Bearer", "expires_in": 300})


class ScriptedServer:
    """A stand-in authorization server on loopback: each POST gets the next scripted answer."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any] | None]] = []  # None: an HTML error page
        self.requests: list[dict[str, str]] = []
        self.get_answer: dict[str, Any] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                server.requests.append({k: v[0] for k, v in parse_qs(body).items()})
                self._send(*server.answers.pop(0))

            def do_GET(self) -> None:
                self._send(200, server.get_answer)

            def _send(self, status: int, body: dict[str, Any] | None) -> None:
                data = json.dumps(body).encode() if body is not None else b"<h1>Oops</h1>"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body else "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.metadata = {
            "issuer": self.url,
            "token_endpoint": f"{self.url}/token",
            "device_authorization_endpoint": f"{self.url}/device_authorization",
        }


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class Clock:
    """Time that moves only when the poller sleeps, so tests never wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


AUTHORIZATION = DeviceAuthorization(
    device_code="dc-1",
    user_code="WDJB-MJHT",
    verification_uri="http://127.0.0.1:5000/device",
    verification_uri_complete="http://127.0.0.1:5000/device?user_code=WDJB-MJHT",
    expires_in=600,
    interval=5,
)


def poll(
    server: ScriptedServer, clock: Clock, authorization: DeviceAuthorization = AUTHORIZATION
) -> dict[str, Any]:
    with requests.Session() as http:
        return poll_for_tokens(
            http, server.metadata, "demo-speaker", authorization, sleep=clock.sleep, clock=clock
        )


def test_polls_every_interval_until_approved(server: ScriptedServer) -> None:
    """authorization_pending means wait the same interval and ask again, with the device code."""
    server.answers = [PENDING, PENDING, TOKENS]
    clock = Clock()
    assert poll(server, clock)["access_token"] == "at"
    assert clock.sleeps == [5, 5, 5]  # waits before the first request too (3.4)
    assert server.requests[0] == {
        "grant_type": GRANT_TYPE,
        "device_code": "dc-1",
        "client_id": "demo-speaker",
    }


def test_slow_down_adds_five_seconds_for_good(server: ScriptedServer) -> None:
    """Each slow_down adds 5 seconds to every later wait (3.5)."""
    server.answers = [(400, {"error": "slow_down"}), PENDING, (400, {"error": "slow_down"}), TOKENS]
    clock = Clock()
    poll(server, clock)
    assert clock.sleeps == [5, 10, 10, 15]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ({"error": "access_denied"}, AccessDenied, "declined"),
        ({"error": "expired_token"}, ExpiredToken, "expired"),
        ({"error": "invalid_grant", "error_description": "unknown"}, DeviceFlowError, "unknown"),
    ],
)
def test_final_errors_stop_polling(
    server: ScriptedServer, answer: dict[str, Any], error: type[Exception], message: str
) -> None:
    """access_denied, expired_token and other errors end the wait with a clear message."""
    server.answers = [PENDING, (400, answer)]
    with pytest.raises(error, match=message):
        poll(server, Clock())
    assert len(server.requests) == 2


def test_an_html_error_page_is_reported_as_such(server: ScriptedServer) -> None:
    """A 500 page instead of JSON ends the wait with the status, not a JSON parser's message."""
    server.answers = [PENDING, (500, None)]
    with pytest.raises(DeviceFlowError, match="idp answered 500 without a JSON object"):
        poll(server, Clock())


def test_gives_up_when_the_code_expires(server: ScriptedServer) -> None:
    """A server that keeps saying pending is not polled past expires_in."""
    server.answers = [PENDING] * 10
    short = DeviceAuthorization("dc", "C", "u", None, expires_in=12, interval=5)
    clock = Clock()
    with pytest.raises(ExpiredToken):
        poll(server, clock, short)
    assert len(server.requests) == 3 and clock.now == 15


def test_backs_off_when_the_network_fails() -> None:
    """A refused connection doubles the interval instead of hammering (3.5)."""
    metadata = {"token_endpoint": "http://127.0.0.1:9/token"}  # discard port: nothing listens
    clock = Clock()
    short = DeviceAuthorization("dc", "C", "u", None, expires_in=30, interval=5)
    with requests.Session() as http, pytest.raises(ExpiredToken):
        poll_for_tokens(http, metadata, "demo-speaker", short, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [5, 10, 20]


def test_device_request_defaults_interval_to_five(server: ScriptedServer) -> None:
    """Without interval in the answer, the device waits 5 seconds (3.2); client_id in the body."""
    server.answers = [
        (
            200,
            {
                "device_code": "dc",
                "user_code": "WDJB-MJHT",
                "verification_uri": f"{server.url}/device",
                "expires_in": 600,
            },
        )
    ]
    with requests.Session() as http:
        authorization = request_codes(http, server.metadata, "demo-speaker")
    assert authorization.interval == 5 and authorization.verification_uri_complete is None
    assert server.requests == [{"client_id": "demo-speaker", "scope": "openid profile"}]


def test_discovery_without_device_endpoint_says_so(server: ScriptedServer) -> None:
    """A server without device_authorization_endpoint gets a plain explanation."""
    server.get_answer = {"issuer": server.url, "token_endpoint": f"{server.url}/token"}
    with requests.Session() as http, pytest.raises(DeviceFlowError, match="device flow"):
        discover(http, server.url)


def test_show_prints_code_uri_and_qr() -> None:
    """The screen has the URI, the code and a QR code of verification_uri_complete."""
    out = io.StringIO()
    show(AUTHORIZATION, out)
    text = out.getvalue()
    assert "go to:  http://127.0.0.1:5000/device\n" in text
    assert "enter the code:              WDJB-MJHT\n" in text
    assert AUTHORIZATION.verification_uri_complete in text
    qr_lines = [line for line in text.splitlines() if "█" in line or "▀" in line]
    assert len(qr_lines) > 15


def test_greeting_names_the_customer() -> None:
    """The greeting uses the given name and shows the unified customer id."""
    assert greeting({"sub": "c-1", "given_name": "Ana", "name": "Ana Lima"}) == (
        "Hello Ana! This speaker is now yours (customer id c-1)."
    )
