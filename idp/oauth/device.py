"""The device authorization grant (RFC 8628) on idp's storage and error rules.

Authlib's endpoint and grant give the shape; the steps that decide are idp's own: a client not
registered for the grant is ``unauthorized_client``, an unknown device code ``invalid_grant``
(RFC 6749 5.2, where Authlib says ``invalid_request``), and polling state is committed even when
the answer is an error, since the token view rolls back every failed request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NoReturn

from authlib.consts import default_json_headers
from authlib.oauth2 import rfc8628
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628.errors import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from flask import current_app, g, url_for

from idp import security
from idp.config import ConfigError
from idp.extensions import db
from idp.models import Client, Customer, DeviceAuthorization
from idp.oauth import grants, issuance
from idp.services import devices, events
from idp.services.devices import PollState
from idp.services.events import EventTag

ENDPOINT_NAME = "device_authorization"
CHANNEL = "device"
# HKDF label of the user-code key; changing it only invalidates the codes alive at that moment.
USER_CODE_KEY_INFO = b"idp device user-code v1"


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with a lifetime or interval no device could work with."""
    if config["DEVICE_CODE_LIFETIME"] <= 0:
        raise ConfigError("IDP_DEVICE_CODE_LIFETIME must be positive")
    if config["DEVICE_POLL_INTERVAL"] < 1:
        raise ConfigError("IDP_DEVICE_POLL_INTERVAL must be at least 1 second")


def settings() -> devices.DeviceSettings:
    cfg = current_app.config
    return devices.DeviceSettings(
        lifetime=timedelta(seconds=cfg["DEVICE_CODE_LIFETIME"]),
        interval=cfg["DEVICE_POLL_INTERVAL"],
        user_code_key=security.derive_key(cfg["SECRET_KEY"], USER_CODE_KEY_INFO),
    )


def verification_uri(user_code: str | None = None) -> str:
    """RFC 8628 3.2: the page to type the code on, or with it already filled in (``_complete``)."""
    path = url_for("device.verify", user_code=user_code) if user_code else url_for("device.verify")
    return current_app.config["ISSUER"] + path


class AuthorizationEndpoint(rfc8628.DeviceAuthorizationEndpoint):
    """RFC 8628 3.1-3.2: a device asks for codes; public clients name themselves by client_id."""

    ENDPOINT_NAME = ENDPOINT_NAME
    CLIENT_AUTH_METHODS = grants.AUTH_METHODS

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], Any]:
        client: Client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError(
                description="This client is not registered for the device authorization grant."
            )
        self.server.validate_requested_scope(request.payload.scope)
        config = settings()
        started = devices.start(
            client.client_id, client.get_allowed_scope(request.payload.scope), config
        )
        body = {
            "device_code": started.device_code,
            "user_code": started.user_code,
            "verification_uri": verification_uri(),
            "verification_uri_complete": verification_uri(started.user_code),
            "expires_in": int(config.lifetime.total_seconds()),
            "interval": config.interval,
        }
        return 200, body, default_json_headers


class DeviceCodeGrant(rfc8628.DeviceCodeGrant):
    """RFC 8628 3.4-3.5 at the token endpoint, each outcome of a poll mapped to its error."""

    TOKEN_ENDPOINT_AUTH_METHODS = grants.AUTH_METHODS

    def validate_token_request(self) -> None:
        raw = self.request.payload.data.get("device_code")
        if not raw:
            raise InvalidRequestError("Missing 'device_code'.")
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                description="This client is not registered for the device authorization grant."
            )
        poll = devices.poll(raw, client.client_id)
        authorization = poll.authorization
        if poll.state is PollState.UNKNOWN:
            raise InvalidGrantError(description="Unknown device_code.")
        assert authorization is not None
        if poll.state is PollState.REPLAYED:
            self._refuse_replay(authorization)
        if poll.state is PollState.EXPIRED:
            db.session.commit()
            raise ExpiredTokenError(description="The device code expired; start again.")
        if poll.state is PollState.DENIED:
            raise AccessDeniedError(description="The customer denied the request.")
        if poll.state is PollState.WITHDRAWN:
            raise AccessDeniedError(description="The customer removed this device.")
        if poll.state is PollState.PENDING:
            db.session.commit()
            raise AuthorizationPendingError()
        if poll.state is PollState.SLOW_DOWN:
            seconds = authorization.poll_interval
            db.session.commit()
            raise SlowDownError(description=f"Poll at most every {seconds} seconds.")
        customer = authorization.customer
        if customer is None or not customer.is_active:
            raise InvalidGrantError(description="The account that approved this is disabled.")
        g.idp_token_family = poll.family
        self.request.user = customer
        self.request.client = client
        self.request.credential = authorization

    def _refuse_replay(self, authorization: DeviceAuthorization) -> NoReturn:
        """Record the replay and the revocation in their own commit, then refuse."""
        events.record(
            EventTag.DEVICE_CODE_REPLAYED,
            success=False,
            customer=db.session.get(Customer, authorization.customer_id)
            if authorization.customer_id
            else None,
            meta=issuance.request_meta(),
            client_id=authorization.client_id,
            channel=CHANNEL,
            reason="device_code_replay",
        )
        db.session.commit()
        raise InvalidGrantError(
            description="The device code was already used; its tokens are revoked."
        )


class DeviceIdToken(grants.RefreshIdToken):
    """OIDC Core 3.1.3.3 for the device grant: an ID token with the approving session's
    auth_time, acr and amr (kept on the token family) when the scope has ``openid``."""


class DeviceSeen:
    """Move a device's ``last_seen_at`` whenever its family gets tokens (first poll, refresh)."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.touch)

    def touch(self, grant: Any, response: Any) -> None:
        devices.seen(getattr(g, "idp_token_family", None))
