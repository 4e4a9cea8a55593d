"""RP-Initiated Logout 1.0 requests and Back-Channel Logout 1.0 notifications."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from flask import current_app

from idp import security
from idp.extensions import db
from idp.models import BrowserSession, Client, SessionClient
from idp.oauth import signing
from idp.services import clients
from idp.services.records import aliases

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Back-Channel Logout 2.4: short-lived; the RP checks iat and jti anyway.
LOGOUT_TOKEN_LIFETIME = 120
DELIVERY_TIMEOUT = 3.0


class LogoutRequestError(ValueError):
    """The RP's logout request cannot be honoured safely; shown as a page, never redirected."""


@dataclass(frozen=True)
class LogoutRequest:
    client: Client | None
    post_logout_redirect_uri: str | None
    state: str | None
    hint: dict[str, Any] | None

    def names_session(self, session: BrowserSession | None) -> bool:
        """The id_token_hint was issued in this very session: the RP asked, no need to confirm."""
        return bool(
            session is not None
            and self.hint
            and self.hint.get("sid") == session.sid
            and aliases.names(self.hint.get("sub"), session.customer)
        )

    def as_params(self) -> dict[str, str]:
        params = {}
        if self.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = self.post_logout_redirect_uri
        if self.client is not None:
            params["client_id"] = self.client.client_id
        if self.state:
            params["state"] = self.state
        return params


def parse(values: Any) -> LogoutRequest | None:
    """Read RP-Initiated Logout 1.0 section 2 parameters; None when none were given."""
    hint_raw = values.get("id_token_hint")
    client_id = values.get("client_id")
    redirect_uri = values.get("post_logout_redirect_uri")
    state = values.get("state")
    if not (hint_raw or client_id or redirect_uri):
        return None
    hint = None
    if hint_raw:
        hint = signing.verify(hint_raw, expired_ok=True)
        if hint is None:
            raise LogoutRequestError("The id_token_hint is not a valid ID token from this server.")
    audience = hint.get("aud") if hint else None
    if isinstance(audience, list):
        audience = audience[0] if len(audience) == 1 else None
    if client_id and audience and client_id != audience:
        raise LogoutRequestError("client_id does not match the id_token_hint.")
    client = clients.get(client_id or audience)
    if (client_id or audience) and client is None:
        raise LogoutRequestError("Unknown client.")
    if redirect_uri:
        if client is None:
            raise LogoutRequestError("post_logout_redirect_uri needs id_token_hint or client_id.")
        if redirect_uri not in (client.post_logout_redirect_uris or []):
            raise LogoutRequestError("post_logout_redirect_uri is not registered for this client.")
    return LogoutRequest(
        client=client, post_logout_redirect_uri=redirect_uri, state=(state or None), hint=hint
    )


def logout_token(client: Client, session: BrowserSession) -> str:
    now = signing.now_ts()
    claims = {
        "iss": current_app.config["ISSUER"],
        "sub": session.customer.public_id,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": security.random_token(16),
        "sid": session.sid,
        "events": {BACKCHANNEL_EVENT: {}},
    }
    return signing.sign(claims, client.id_token_signed_response_alg or "ES256", "logout+jwt")


@dataclass
class Delivery:
    client_id: str
    uri: str
    ok: bool = False
    status: int | None = None


def _post(delivery: Delivery, token: str) -> None:
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - registered https (or loopback) URI
        delivery.uri,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310
            delivery.status = response.status
            delivery.ok = response.status == 200
    except urllib.error.HTTPError as exc:
        delivery.status = exc.code
    except (OSError, ValueError) as exc:
        log.warning("Back-channel logout to %s failed: %s", delivery.uri, exc)


def notify_backchannel(session: BrowserSession) -> list[Delivery]:
    """Tell every client that took part in the session, in parallel, each with a short timeout."""
    participants = (
        db.session.execute(
            db.select(SessionClient.client_id).where(SessionClient.session_id == session.id)
        )
        .scalars()
        .all()
    )
    jobs: list[tuple[Delivery, str]] = []
    for client_id in participants:
        client = clients.get(client_id)
        if client is None or not client.backchannel_logout_uri:
            continue
        jobs.append(
            (
                Delivery(client.client_id, client.backchannel_logout_uri),
                logout_token(client, session),
            )
        )
    threads = [threading.Thread(target=_post, args=job, daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DELIVERY_TIMEOUT + 1)
    return [delivery for delivery, _ in jobs]
