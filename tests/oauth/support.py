"""Small helpers for the protocol tests: build requests, read answers, forge JWTs.

They speak plain HTTP to a live idp, so each test states the request it makes in a line or two.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.live import LiveServer
from tests.oauth.agent import CSRF, UserAgent
from tests.oauth.conftest import Registered

SIGN_IN_FORM = 'name="password"'
TIMEOUT = 10


def authorize_url(
    live: LiveServer,
    client: Registered,
    *,
    scope: str = "openid",
    state: str | None = "st-1",
    verifier: str | None = None,
    pkce: bool = True,
    **params: str | None,
) -> tuple[str, str | None]:
    """An authorization request URL and its PKCE verifier; a param given as None is left out."""
    if pkce and verifier is None:
        verifier = secrets.token_urlsafe(48)
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": scope,
        "state": state,
    }
    if pkce and verifier is not None:
        query.update(
            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256"
        )
    query.update(params)
    clean = {k: v for k, v in query.items() if v is not None}
    return f"{live.url}/authorize?{urlencode(clean)}", verifier if pkce else None


def assert_refused(response: requests.Response, status: int, error: str) -> None:
    """An RFC 6749 5.2 error answer: this status and error, never cached."""
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def answer(url: str) -> dict[str, str]:
    """The parameters of a redirect back to the client, one value each."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def sign_in(agent: UserAgent) -> None:
    """Sign in on idp's own page, outside any authorization request."""
    page = agent.session.get(f"{agent.base_url}/login", timeout=TIMEOUT)
    csrf = CSRF.search(page.text)
    assert csrf, "no CSRF token on the sign-in page"
    done = agent.session.post(
        f"{agent.base_url}/login",
        allow_redirects=False,
        timeout=TIMEOUT,
        data={
            "csrf_token": csrf.group(1),
            "email": agent.email,
            "password": agent.password,
        },
    )
    assert done.status_code == 302, done.text


def sign_in_pages(agent: UserAgent) -> int:
    """How many sign-in pages the agent has been shown so far."""
    return sum(SIGN_IN_FORM in page for page in agent.pages)


def token_request(
    live: LiveServer,
    client: Registered,
    data: dict[str, str],
    *,
    auth: str = "basic",
) -> requests.Response:
    """POST to the token endpoint, authenticating as ``auth`` says (basic, post or none)."""
    body = dict(data)
    kwargs: dict[str, Any] = {}
    if auth == "basic":
        kwargs["auth"] = (client.client_id, client.client_secret)
    elif auth == "post":
        body.update(client_id=client.client_id, client_secret=client.client_secret or "")
    else:
        body["client_id"] = client.client_id
    return requests.post(f"{live.url}/token", data=body, timeout=TIMEOUT, **kwargs)


def exchange(
    live: LiveServer,
    client: Registered,
    callback: str,
    verifier: str | None,
    *,
    auth: str | None = None,
    **extra: str,
) -> requests.Response:
    """Exchange the code in ``callback`` at the token endpoint."""
    data = {
        "grant_type": "authorization_code",
        "code": answer(callback)["code"],
        "redirect_uri": client.redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    method = auth or ("basic" if client.client_secret else "none")
    return token_request(live, client, data, auth=method)


def tokens(
    live: LiveServer,
    client: Registered,
    agent: UserAgent,
    *,
    scope: str = "openid",
    **params: str,
) -> dict[str, Any]:
    """Run the whole code flow (signing in and consenting as needed); the token response."""
    url, verifier = authorize_url(live, client, scope=scope, **params)
    callback = agent.go(url)
    assert "code" in answer(callback), callback
    response = exchange(live, client, callback, verifier)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, unverified: for reading what idp issued."""
    header, payload, _ = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload))


def forge(
    token: str,
    *,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    signature: str | None = None,
) -> str:
    """The same JWT with header or claims replaced, keeping the original signature by default."""
    old_header, old_claims = jwt_parts(token)
    parts = token.split(".")
    return ".".join(
        [
            _b64(header if header is not None else old_header),
            _b64(claims if claims is not None else old_claims),
            parts[2] if signature is None else signature,
        ]
    )


def next_second() -> None:
    """Wait for the wall clock to reach the next whole second: auth_time has that resolution."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.02)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def form_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page, by name."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
