"""Introspection (RFC 7662) and revocation (RFC 7009) over idp's access and refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.models import AccessToken, Client, RefreshToken
from idp.models.types import utcnow
from idp.oauth import issuance, signing
from idp.services import events, tokens
from idp.services.events import EventTag
from idp.services.records import aliases

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@dataclass
class FoundToken:
    """Either kind of token, seen through the methods Authlib's endpoints call."""

    access: AccessToken | None = None
    refresh: RefreshToken | None = None
    claims: dict[str, Any] | None = None

    @property
    def client_id(self) -> str:
        if self.access is not None:
            return self.access.client_id
        assert self.refresh is not None
        return self.refresh.family.client_id

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def is_expired(self) -> bool:
        now = utcnow()
        if self.access is not None:
            return self.access.expires_at <= now
        assert self.refresh is not None
        return self.refresh.expires_at <= now or self.refresh.family.expires_at <= now

    def is_revoked(self) -> bool:
        if self.access is not None:
            return not tokens.is_access_token_active(self.access) and not self.is_expired()
        assert self.refresh is not None
        return self.refresh.used_at is not None or self.refresh.family.revoked_at is not None


def find(token: str, hint: str | None) -> FoundToken | None:
    """Look the token up as the hint says first, then as the other kind (RFC 7009 2.1)."""
    kinds = (
        ["refresh_token", "access_token"]
        if hint == "refresh_token"
        else ["access_token", "refresh_token"]
    )
    for kind in kinds:
        if kind == "access_token":
            claims = signing.verify(token, typ=issuance.ACCESS_TOKEN_TYP)
            if claims and isinstance(claims.get("jti"), str):
                record = tokens.access_token_record(claims["jti"])
                if record is not None:
                    return FoundToken(access=record, claims=claims)
        else:
            refresh = tokens.lookup_refresh(token)
            if refresh is not None:
                return FoundToken(refresh=refresh)
    return None


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return find(token_string, token_type_hint)

    def authenticate_token(self, request: Any, client: Client) -> FoundToken | None:
        self.check_params(request, client)
        found = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 2.2: a token of another client is answered like an unknown one.
        if found is None or not found.check_client(client):
            return None
        return found

    def revoke_token(self, token: FoundToken, request: Any) -> None:
        """Revoking either token ends the whole grant: RFC 7009 2.1 allows it, and it is safer."""
        if token.access is not None:
            family = token.access.family
        else:
            assert token.refresh is not None
            family = token.refresh.family
        if family is not None:
            tokens.revoke_family(family, "revoked")
        elif token.access is not None and token.access.revoked_at is None:
            token.access.revoked_at = utcnow()
        customer = (
            token.access.customer
            if token.access is not None
            else family.customer
            if family
            else None
        )
        events.record(
            EventTag.TOKEN_REVOKED,
            customer=customer,
            meta=issuance.request_meta(),
            client_id=token.client_id,
        )


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return find(token_string, token_type_hint)

    def check_permission(self, token: FoundToken, client: Client, request: Any) -> bool:
        # A client may introspect its own tokens; resource servers get service clients.
        return token.check_client(client) or client.client_type == "service"

    def introspect_token(self, token: FoundToken) -> dict[str, Any]:
        if token.access is not None and token.claims is not None:
            claims = token.claims
            bound = claims.get("cnf")
            answer = {
                "active": True,
                "token_type": "DPoP" if bound else "Bearer",
                "client_id": claims["client_id"],
                "scope": claims.get("scope", ""),
                "sub": claims["sub"],
                "aud": claims["aud"],
                "iss": claims["iss"],
                "exp": claims["exp"],
                "iat": claims["iat"],
                "jti": claims["jti"],
            }
            if bound:
                # RFC 9449 6.2: the resource server checks the proof against this key.
                answer["cnf"] = {"jkt": bound["jkt"]}
            owner = token.access.customer
            merged = aliases.merged_from(claims["sub"], owner) if owner is not None else []
            if owner is not None and merged:
                # Issued before a merge: the sub it names is now an alias of the survivor.
                answer["sub"] = owner.public_id
                answer["merged_from"] = merged
            return answer
        assert token.refresh is not None
        family = token.refresh.family
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": family.client_id,
            "scope": family.scope,
            "sub": family.customer.public_id if family.customer is not None else family.client_id,
            "exp": int(min(token.refresh.expires_at, family.expires_at).timestamp()),
            "iat": int(token.refresh.created_at.timestamp()),
        }
