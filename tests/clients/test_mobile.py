"""The mobile app's small functions: the request it builds, the redirect it trusts, the
ID token it accepts and the refresh token file it keeps."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from clients.mobile.app import (
    AuthorizationRequest,
    LoopbackRedirect,
    SignInError,
    authorization_request,
    load_refresh_token,
    read_callback,
    save_refresh_token,
    verify_id_token,
)

ISSUER = "http://127.0.0.1:5000"
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "authorization_response_iss_parameter_supported": True,
}


def test_authorization_request_uses_pkce_s256() -> None:
    """The URL has the S256 challenge of the kept verifier, state, nonce and the loopback URI."""
    request = authorization_request(METADATA, "demo-mobile", "http://127.0.0.1:4321/callback")
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert request.url.startswith(f"{ISSUER}/authorize?")
    assert query["code_challenge"] == create_s256_code_challenge(request.code_verifier)
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == "demo-mobile" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://127.0.0.1:4321/callback"
    assert (query["state"], query["nonce"]) == (request.state, request.nonce)
    assert "offline_access" in query["scope"].split()
    assert len(request.code_verifier) >= 43  # RFC 7636 4.1


def pending() -> AuthorizationRequest:
    return AuthorizationRequest("u", "the-state", "n", "v", "http://127.0.0.1:1/callback")


def test_callback_without_iss_is_accepted_from_a_server_that_never_sends_it() -> None:
    """iss is required only from a server that advertises it (RFC 9207 2.4)."""
    metadata = {**METADATA, "authorization_response_iss_parameter_supported": False}
    assert read_callback(pending(), {"code": "c1", "state": "the-state"}, metadata) == "c1"


def test_callback_with_our_state_gives_the_code() -> None:
    """The redirect that answers our request yields its code."""
    params = {"code": "c1", "state": "the-state", "iss": ISSUER}
    assert read_callback(pending(), params, METADATA) == "c1"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"code": "c1", "state": "another"}, "state"),
        ({"code": "c1"}, "state"),
        ({"code": "c1", "state": "the-state", "iss": "http://127.0.0.1:6666"}, "iss"),
        ({"code": "c1", "state": "the-state"}, "iss"),  # idp always sends iss (RFC 9207)
        ({"error": "access_denied", "state": "the-state", "iss": ISSUER}, "declined"),
        ({"error": "invalid_scope", "state": "the-state", "iss": ISSUER}, "invalid_scope"),
        ({"state": "the-state", "iss": ISSUER}, "without a code"),
    ],
)
def test_callback_that_is_not_ours_is_refused(params: dict[str, str], message: str) -> None:
    """Another state, another issuer, an error or no code: no token request is made."""
    with pytest.raises(SignInError, match=message):
        read_callback(pending(), params, METADATA)


def test_loopback_receives_the_redirect() -> None:
    """The browser's GET on the loopback URI hands its parameters over and shows a page."""
    with LoopbackRedirect() as loopback:
        assert urlsplit(loopback.redirect_uri).hostname == "127.0.0.1"
        answers: list[requests.Response] = []

        def browser() -> None:
            base = loopback.redirect_uri.removesuffix("/callback")
            answers.append(requests.get(f"{base}/favicon.ico", timeout=5))
            answers.append(
                requests.get(loopback.redirect_uri, params={"code": "c", "state": "s"}, timeout=5)
            )

        thread = threading.Thread(target=browser)
        thread.start()
        params = loopback.wait(timeout=5)
        thread.join()
    assert params == {"code": "c", "state": "s"}
    assert [a.status_code for a in answers] == [404, 200]
    assert "close this tab" in answers[1].text


def test_loopback_gives_up_after_timeout() -> None:
    """Nobody coming back is a clear error, not a hang."""
    with LoopbackRedirect() as loopback:
        started = time.monotonic()
        with pytest.raises(SignInError, match="in time"):
            loopback.wait(timeout=0.2)
    assert time.monotonic() - started < 3


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"})


def id_token(key: ECKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "demo-mobile",
        "sub": "customer-1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n1",
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key, algorithms=["ES256"])


def verify(token: str, key: ECKey, nonce: str | None = "n1") -> dict[str, Any]:
    return verify_id_token(
        token, keys=KeySet([key]), issuer=ISSUER, client_id="demo-mobile", nonce=nonce
    )


def test_id_token_of_our_sign_in_is_accepted(key: ECKey) -> None:
    """A signed ID token for this app with our nonce gives its claims."""
    assert verify(id_token(key), key)["sub"] == "customer-1"


def test_id_token_after_refresh_needs_no_nonce(key: ECKey) -> None:
    """A refreshed ID token carries no nonce (OIDC Core 12.2) and is still accepted."""
    assert verify(id_token(key, nonce=None), key, nonce=None)["sub"] == "customer-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "n2"},
        {"nonce": None},
        {"aud": "demo-shop"},
        {"aud": ["demo-mobile", "demo-shop"]},  # several audiences and no azp
        {"iss": "http://127.0.0.1:6666"},
        {"exp": int(time.time()) - 3600},
    ],
)
def test_id_token_not_for_us_is_refused(key: ECKey, changes: dict[str, Any]) -> None:
    """Another nonce, audience, issuer, or an expired token is refused."""
    with pytest.raises(SignInError):
        verify(id_token(key, **changes), key)


def test_id_token_with_bad_signature_is_refused(key: ECKey) -> None:
    """A token signed with another key is refused."""
    other = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(SignInError, match="not valid"):
        verify(id_token(other), key)


def test_refresh_token_file_is_private(tmp_path: Path) -> None:
    """The token is written with mode 0600 in a 0700 folder and read back."""
    path = tmp_path / "app" / "refresh-token"
    save_refresh_token(path, "rt-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_refresh_token(path) == "rt-1"


def test_refresh_token_file_is_replaced_whole_and_stays_private(tmp_path: Path) -> None:
    """Saving the rotated token replaces the old one and fixes a file made too open before."""
    path = tmp_path / "refresh-token"
    path.write_text("old and longer")
    os.chmod(path, 0o644)
    save_refresh_token(path, "rt-2")
    assert path.read_text() == "rt-2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refresh_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A token file others can read is not used, as ssh refuses such keys."""
    path = tmp_path / "refresh-token"
    path.write_text("rt-1")
    os.chmod(path, 0o644)
    with pytest.raises(SignInError, match="readable by others"):
        load_refresh_token(path)


def test_missing_refresh_token_file_is_no_token(tmp_path: Path) -> None:
    """No file yet means the app signs in with the browser."""
    assert load_refresh_token(tmp_path / "nothing-here") is None
