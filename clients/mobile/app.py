"""A native app signing in through idp as RFC 8252 says: the system browser, a loopback
redirect, PKCE, and a refresh token kept on the device for the next start."""

from __future__ import annotations

import hmac
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SCOPE = "openid profile email offline_access"  # offline_access: a refresh token for next time
CALLBACK_PATH = "/callback"
ID_TOKEN_ALGORITHMS = ["ES256", "RS256"]
TIMEOUT = 10  # seconds for each call to idp

# What the browser tab shows once idp has sent it back to the app.
RETURN_PAGE = b"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Back to the app</title><h1>You can close this tab</h1>
<p>Go back to the app: it has what it needs.</p></html>"""


class SignInError(Exception):
    """Signing in did not work; the message is for the person at the terminal."""


# Talking to idp -------------------------------------------------------------------------------


def _json(response: requests.Response) -> dict[str, Any]:
    """The JSON object of an answer; a proxy's HTML error page is reported as what it is."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SignInError(f"idp answered {response.status_code} without a JSON object.")
    return body


def discover(http: requests.Session, issuer: str) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 section 4; the issuer must be the one asked for."""
    response = http.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
    response.raise_for_status()
    metadata = _json(response)
    if metadata.get("issuer") != issuer:
        raise SignInError(f"{issuer} says its issuer is {metadata.get('issuer')!r}")
    return metadata


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the app keeps while the browser is away: secrets that prove the answer is ours."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


def authorization_request(
    metadata: dict[str, Any], client_id: str, redirect_uri: str
) -> AuthorizationRequest:
    """RFC 6749 4.1.1 with PKCE S256 (RFC 7636 4) and an OIDC nonce."""
    state, nonce, verifier = generate_token(24), generate_token(24), generate_token(64)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    url = f"{metadata['authorization_endpoint']}?{query}"
    return AuthorizationRequest(url, state, nonce, verifier, redirect_uri)


def read_callback(
    request: AuthorizationRequest, params: dict[str, str], metadata: dict[str, Any]
) -> str:
    """The code from the redirect, once it proves to answer our request; else ``SignInError``."""
    if not hmac.compare_digest(params.get("state", ""), request.state):
        raise SignInError("The answer from the browser is not for this sign-in (state differs).")
    # RFC 9207 2.4: the answer names idp, and must when idp says it always does.
    iss_required = metadata.get("authorization_response_iss_parameter_supported")
    if params.get("iss") != metadata["issuer"] and ("iss" in params or iss_required):
        raise SignInError("The answer does not come from idp (iss differs or is missing).")
    if "error" in params:
        if params["error"] == "access_denied":
            raise SignInError("You declined to sign in: the app stays signed out.")
        raise SignInError(f"idp refused: {params['error']} {params.get('error_description', '')}")
    if not params.get("code"):
        raise SignInError("The browser came back without a code.")
    return params["code"]


def _token_request(
    http: requests.Session, metadata: dict[str, Any], data: dict[str, str]
) -> dict[str, Any]:
    # A public client (RFC 8252 8.4): no secret, the client_id goes in the body.
    response = http.post(metadata["token_endpoint"], data=data, timeout=TIMEOUT)
    body = _json(response)
    if response.status_code != 200:
        raise SignInError(
            f"idp refused the token request: {body.get('error')} "
            f"{body.get('error_description', '')}".strip()
        )
    return body


def exchange_code(
    http: requests.Session,
    metadata: dict[str, Any],
    client_id: str,
    request: AuthorizationRequest,
    code: str,
) -> dict[str, Any]:
    """RFC 6749 4.1.3 with the PKCE code_verifier (RFC 7636 4.5)."""
    return _token_request(
        http,
        metadata,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "client_id": client_id,
            "code_verifier": request.code_verifier,
        },
    )


def refresh(
    http: requests.Session, metadata: dict[str, Any], client_id: str, refresh_token: str
) -> dict[str, Any]:
    """RFC 6749 6; idp rotates the refresh token, so the answer's new one must be kept."""
    return _token_request(
        http,
        metadata,
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
    )


def fetch_userinfo(
    http: requests.Session, metadata: dict[str, Any], access_token: str
) -> dict[str, Any]:
    response = http.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return _json(response)


def fetch_keys(http: requests.Session, metadata: dict[str, Any]) -> KeySet:
    response = http.get(metadata["jwks_uri"], timeout=TIMEOUT)
    response.raise_for_status()
    return KeySet.import_key_set(_json(response))  # type: ignore[arg-type]


def verify_id_token(
    raw: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: int | None = None,
) -> dict[str, Any]:
    """OIDC Core 3.1.3.7: signature, iss, aud, exp, iat and, after a sign-in, our nonce."""
    try:
        claims: dict[str, Any] = jwt.decode(raw, keys, algorithms=ID_TOKEN_ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            now=now,
            leeway=60,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError) as exc:
        raise SignInError(f"The ID token is not valid: {exc}") from exc
    if isinstance(claims["aud"], list) and claims.get("azp") != client_id:
        raise SignInError("The ID token was issued to another app (azp).")
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SignInError("The ID token is not for this sign-in (nonce differs).")
    return claims


# The loopback redirect (RFC 8252 7.3) --------------------------------------------------------


class LoopbackRedirect:
    """A one-shot HTTP server on 127.0.0.1, on a port the system picks, for the redirect."""

    def __init__(self) -> None:
        self.params: dict[str, str] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                receiver.params = dict(parse_qsl(url.query))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(RETURN_PAGE)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the terminal is for the customer, not for access logs

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> dict[str, str]:
        """The redirect's query parameters once the browser arrives; ``SignInError`` on timeout."""
        deadline = time.monotonic() + timeout
        while self.params is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SignInError("Nobody finished signing in in the browser in time.")
            self._server.timeout = remaining
            self._server.handle_request()
        return self.params

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.server_close()


def sign_in(
    http: requests.Session,
    metadata: dict[str, Any],
    client_id: str,
    *,
    open_url: Callable[[str], object],
    timeout: float,
) -> tuple[dict[str, Any], str]:
    """The whole browser sign-in; return the tokens and the nonce the ID token must carry."""
    with LoopbackRedirect() as loopback:
        request = authorization_request(metadata, client_id, loopback.redirect_uri)
        open_url(request.url)
        params = loopback.wait(timeout)
    code = read_callback(request, params, metadata)
    return exchange_code(http, metadata, client_id, request, code), request.nonce


# The refresh token on disk -------------------------------------------------------------------


def save_refresh_token(path: Path, token: str) -> None:
    """Write the token readable by this user only (0600), replacing the old one in one step."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    os.replace(partial, path)


def load_refresh_token(path: Path) -> str | None:
    """The stored token, or None; one others can read is refused, as ssh refuses such keys."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SignInError(f"{path} is readable by others (mode {mode:o}); delete it.")
    return path.read_text().strip() or None


def forget_refresh_token(path: Path) -> None:
    path.unlink(missing_ok=True)
