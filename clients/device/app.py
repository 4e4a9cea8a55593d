"""A smart speaker signing in through idp with the Device Authorization Grant (RFC 8628): it
shows a code and a QR code, the customer approves on their phone, the speaker polls for tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import requests
import segno

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid profile"
TIMEOUT = 10  # seconds for each call to idp
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 seconds to the interval, for good


class DeviceFlowError(Exception):
    """Signing in did not work; the message is for the person in front of the speaker."""


class AccessDenied(DeviceFlowError):
    """RFC 8628 3.5 ``access_denied``: the customer said no."""


class ExpiredToken(DeviceFlowError):
    """RFC 8628 3.5 ``expired_token``: nobody approved in time; start again for a new code."""


@dataclass(frozen=True)
class DeviceAuthorization:
    """RFC 8628 3.2: the device authorization response."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


def _json(response: requests.Response) -> dict[str, Any]:
    """The JSON object of an answer; a proxy's HTML error page is reported as what it is."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeviceFlowError(f"idp answered {response.status_code} without a JSON object.")
    return body


def discover(http: requests.Session, issuer: str) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0; the device endpoint is RFC 8414 metadata (RFC 8628 4)."""
    response = http.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
    response.raise_for_status()
    metadata = _json(response)
    if metadata.get("issuer") != issuer:
        raise DeviceFlowError(f"{issuer} says its issuer is {metadata.get('issuer')!r}")
    if "device_authorization_endpoint" not in metadata:
        raise DeviceFlowError(f"{issuer} does not offer the device flow (RFC 8628).")
    return metadata


def request_codes(
    http: requests.Session, metadata: dict[str, Any], client_id: str, scope: str = SCOPE
) -> DeviceAuthorization:
    """RFC 8628 3.1: a public client names itself with client_id in the body."""
    response = http.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": client_id, "scope": scope},
        timeout=TIMEOUT,
    )
    body = _json(response)
    if response.status_code != 200:
        raise DeviceFlowError(
            f"idp refused to start: {body.get('error')} {body.get('error_description', '')}"
        )
    return DeviceAuthorization(
        device_code=body["device_code"],
        user_code=body["user_code"],
        verification_uri=body["verification_uri"],
        verification_uri_complete=body.get("verification_uri_complete"),
        expires_in=int(body["expires_in"]),
        interval=int(body.get("interval", 5)),  # 3.2: 5 seconds when the server says nothing
    )


def show(authorization: DeviceAuthorization, out: TextIO) -> None:
    """RFC 8628 3.3: the URI and code to type, and a QR code that carries both (3.3.1)."""
    out.write(
        f"To sign in this speaker, go to:  {authorization.verification_uri}\n"
        f"and enter the code:              {authorization.user_code}\n"
    )
    complete = authorization.verification_uri_complete
    if complete:
        out.write(f"Or scan this with your phone (it opens {complete}):\n")
        segno.make(complete, error="m").terminal(out=out, compact=True)
    out.write(f"The code works for {authorization.expires_in // 60} minutes.\n")
    out.flush()


def poll_for_tokens(
    http: requests.Session,
    metadata: dict[str, Any],
    client_id: str,
    authorization: DeviceAuthorization,
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """RFC 8628 3.4-3.5: ask every ``interval`` seconds until the customer approves or declines,
    slowing down when told to, and giving up when the code expires."""
    interval = authorization.interval
    deadline = clock() + authorization.expires_in
    while True:
        if clock() >= deadline:  # the server should have said expired_token; stop anyway
            raise ExpiredToken("The code expired before anyone approved it.")
        sleep(interval)
        try:
            response = http.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": GRANT_TYPE,
                    "device_code": authorization.device_code,
                    "client_id": client_id,
                },
                timeout=TIMEOUT,
            )
        except (requests.ConnectionError, requests.Timeout):
            interval *= 2  # 3.5: back off when the network is the problem
            continue
        body = _json(response)
        if response.status_code == 200:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
        elif error == "access_denied":
            raise AccessDenied("Sign-in was declined: this speaker stays signed out.")
        elif error == "expired_token":
            raise ExpiredToken("The code expired before anyone approved it.")
        else:
            raise DeviceFlowError(f"idp refused: {error} {body.get('error_description', '')}")


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


def greeting(profile: dict[str, Any]) -> str:
    name = profile.get("given_name") or profile.get("name") or "there"
    return f"Hello {name}! This speaker is now yours (customer id {profile['sub']})."
