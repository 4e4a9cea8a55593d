"""Authlib grant classes on idp's storage: code (+PKCE, +OIDC), refresh, client credentials."""

from __future__ import annotations

from typing import Any, NoReturn

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants.code import OpenIDCode as _OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope, validate_nonce
from flask import g

from idp.extensions import db
from idp.models import AuthorizationCode, Client, Customer, RefreshToken
from idp.oauth import dpop, issuance
from idp.services import events, tokens
from idp.services.events import EventTag

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def _replayed(replay: tokens.Replay, tag: EventTag) -> NoReturn:
    """Record a replay in its own committed transaction, then refuse the request."""
    events.record(
        tag,
        success=False,
        meta=issuance.request_meta(),
        client_id=replay.client_id,
        reason=replay.reason,
        customer=db.session.get(Customer, replay.customer_id) if replay.customer_id else None,
    )
    db.session.commit()
    raise InvalidGrantError(description="The grant was already used; its tokens are revoked.")


class PKCE(CodeChallenge):
    """RFC 7636 with S256 only (RFC 9700 2.1.1: plain is refused)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib reads this list
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        super().validate_code_challenge(grant, redirect_uri)
        request = grant.request
        if (
            self.required
            and request.client is not None
            and request.client.is_public
            and not request.payload.data.get("code_challenge")
        ):
            from authlib.oauth2.rfc6749.errors import InvalidRequestError

            raise InvalidRequestError(
                "Public clients must send a PKCE 'code_challenge' (S256).",
                redirect_uri=redirect_uri,
            )


class OpenIDCode(_OpenIDCode):
    """ID tokens from idp's claims and keys; prompt handling lives in ``oauth.authorize``."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # Nonce replay protection is the client's job (Core 3.1.3.7); codes are single use.
        return False

    def process_token(self, grant: Any, response: Any) -> Any:
        _, token, _ = response
        if not is_openid_scope(token.get("scope")):
            return token
        code: AuthorizationCode = grant.request.authorization_code
        token["id_token"] = issuance.id_token(
            client=grant.request.client,
            customer=grant.request.user,
            family=getattr(g, "idp_token_family", None),
            nonce=code.nonce,
            access_token=token.get("access_token"),
            claims_request=code.claims,
        )
        return token

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                lambda grant, redirect_uri: validate_nonce(grant.request, self.exists_nonce, False),
            )


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        raise NotImplementedError("codes are created by idp.oauth.authorize")

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = tokens.find_code(code, client.client_id)
        if isinstance(found, tokens.Replay):
            _replayed(found, EventTag.CODE_REPLAYED)
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already spent in ``authenticate_user``, before any token was made."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Customer | None:
        dpop.check_binding(authorization_code.dpop_jkt, "The code is bound to another DPoP key.")
        spent = tokens.spend_code(authorization_code)
        if isinstance(spent, tokens.Replay):
            _replayed(spent, EventTag.CODE_REPLAYED)
        customer = authorization_code.customer
        if not customer.is_active:
            return None
        g.idp_token_family = tokens.start_family(
            client_id=authorization_code.client_id,
            customer=customer,
            scope=authorization_code.scope,
            lifetimes=issuance.lifetimes(),
            code=authorization_code,
        )
        return customer


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        found = tokens.find_refresh(refresh_token)
        if isinstance(found, tokens.Replay):
            _replayed(found, EventTag.REFRESH_REUSED)
        return found

    def authenticate_user(self, refresh_token: RefreshToken) -> Customer | None:
        dpop.check_binding(
            refresh_token.family.dpop_jkt, "The refresh token is bound to another DPoP key."
        )
        spent = tokens.spend_refresh(refresh_token)
        if isinstance(spent, tokens.Replay):
            _replayed(spent, EventTag.REFRESH_REUSED)
        family = refresh_token.family
        customer = family.customer
        if customer is None or not customer.is_active:
            return None
        g.idp_token_family = family
        return customer

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        """Already spent in ``authenticate_user``: rotation happens before issuance."""


class RefreshIdToken:
    """OIDC Core 12.2: a refresh answer carries a fresh ID token for an ``openid`` family."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant: Any, response: Any) -> Any:
        _, token, _ = response
        family = getattr(g, "idp_token_family", None)
        if family is None or not is_openid_scope(token.get("scope")):
            return token
        token["id_token"] = issuance.id_token(
            client=grant.request.client,
            customer=grant.request.user,
            family=family,
            nonce=None,
            access_token=token.get("access_token"),
            claims_request=family.claims,
        )
        return token


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012 - Authlib reads this list
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
