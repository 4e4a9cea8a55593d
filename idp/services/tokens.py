"""Authorization codes, refresh-token families and access-token records: the grant bookkeeping.

RFC 6749 4.1.2 and RFC 9700 4.14.2 drive the rules: a code is spent once and a replay revokes
what it produced; a refresh token is rotated on every use and presenting a spent one revokes
its whole family. Every check-and-spend is one conditional UPDATE, so two workers (or two app
nodes on one PostgreSQL) racing on the same code or token cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import joinedload

from idp import security
from idp.extensions import db
from idp.models import AccessToken, AuthorizationCode, Customer, RefreshToken, TokenFamily
from idp.models.types import utcnow


@dataclass(frozen=True)
class Lifetimes:
    code: timedelta
    access_token: timedelta
    id_token: timedelta
    refresh_idle: timedelta
    refresh_absolute: timedelta


@dataclass(frozen=True)
class CodeRequest:
    client_id: str
    customer: Customer
    redirect_uri: str
    redirect_uri_given: bool
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: dict[str, Any] | None
    sid: str | None
    auth_time: datetime
    acr: str | None
    amr: list[str] | None
    dpop_jkt: str | None = None
    resources: list[str] | None = None


def create_code(request: CodeRequest, lifetimes: Lifetimes) -> tuple[str, AuthorizationCode]:
    raw = security.random_token(32)
    now = utcnow()
    code = AuthorizationCode(
        code_digest=security.digest(raw),
        client_id=request.client_id,
        customer=request.customer,
        redirect_uri=request.redirect_uri,
        redirect_uri_given=request.redirect_uri_given,
        scope=request.scope,
        nonce=request.nonce,
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
        claims=request.claims,
        sid=request.sid,
        auth_time=request.auth_time,
        acr=request.acr,
        amr=request.amr,
        dpop_jkt=request.dpop_jkt,
        resources=request.resources,
        created_at=now,
        expires_at=now + lifetimes.code,
    )
    db.session.add(code)
    return raw, code


@dataclass(frozen=True)
class Replay:
    """What a refused code or refresh token turned out to be, for the event log."""

    customer_id: int | None
    client_id: str
    reason: str


def find_code(raw: str, client_id: str) -> AuthorizationCode | Replay | None:
    """The unspent, unexpired code issued to this client; a ``Replay`` if it was spent before.

    A replay revokes every token the code produced (RFC 6749 4.1.2).
    """
    if not raw or len(raw) > 256:
        return None
    code = db.session.execute(
        db.select(AuthorizationCode).where(AuthorizationCode.code_digest == security.digest(raw))
    ).scalar_one_or_none()
    if code is None or code.client_id != client_id:
        return None
    if code.used_at is not None:
        return _code_replay(code)
    if code.expires_at <= utcnow():
        return None
    return code


def spend_code(code: AuthorizationCode) -> AuthorizationCode | Replay:
    """Mark the code used; whoever loses a concurrent race gets a ``Replay``."""
    won = _rowcount(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not won:
        db.session.rollback()
        return _code_replay(code)
    return code


def _code_replay(code: AuthorizationCode) -> Replay:
    family = db.session.execute(
        db.select(TokenFamily).where(TokenFamily.authorization_code_id == code.id)
    ).scalar_one_or_none()
    if family is not None:
        revoke_family(family, "code_replay")
    return Replay(code.customer_id, code.client_id, "code_replay")


def start_family(
    *,
    client_id: str,
    customer: Customer | None,
    scope: str,
    lifetimes: Lifetimes,
    code: AuthorizationCode | None = None,
) -> TokenFamily:
    family = TokenFamily(
        client_id=client_id,
        customer=customer,
        authorization_code_id=code.id if code is not None else None,
        scope=scope,
        claims=code.claims if code is not None else None,
        sid=code.sid if code is not None else None,
        auth_time=code.auth_time if code is not None else None,
        acr=code.acr if code is not None else None,
        amr=code.amr if code is not None else None,
        resources=code.resources if code is not None else None,
        expires_at=utcnow() + lifetimes.refresh_absolute,
    )
    db.session.add(family)
    db.session.flush()
    return family


def store_refresh_token(family: TokenFamily, raw: str, lifetimes: Lifetimes) -> None:
    """Keep only the digest; the raw token goes to the client and nowhere else."""
    now = utcnow()
    db.session.add(
        RefreshToken(
            token_digest=security.digest(raw),
            family=family,
            created_at=now,
            expires_at=min(now + lifetimes.refresh_idle, family.expires_at),
        )
    )


def record_access_token(
    *,
    jti: str,
    client_id: str,
    customer: Customer | None,
    scope: str,
    family: TokenFamily | None,
    expires_at: datetime,
) -> None:
    db.session.add(
        AccessToken(
            jti=jti,
            client_id=client_id,
            customer=customer,
            scope=scope,
            family=family,
            expires_at=expires_at,
        )
    )


def find_refresh(raw: str) -> RefreshToken | Replay | None:
    """A live refresh token; presenting a rotated one is reuse and revokes its family."""
    if not raw or len(raw) > 256:
        return None
    token = db.session.execute(
        db.select(RefreshToken).where(RefreshToken.token_digest == security.digest(raw))
    ).scalar_one_or_none()
    if token is None or token.family.revoked_at is not None:
        return None
    if token.used_at is not None:
        return _refresh_reuse(token)
    now = utcnow()
    if token.expires_at <= now or token.family.expires_at <= now:
        return None
    return token


def spend_refresh(token: RefreshToken) -> RefreshToken | Replay:
    """Rotate: mark the token used; the loser of a concurrent race gets a ``Replay``."""
    won = _rowcount(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not won:
        db.session.rollback()
        return _refresh_reuse(token)
    return token


def _refresh_reuse(token: RefreshToken) -> Replay:
    family = token.family
    revoke_family(family, "refresh_reuse")
    return Replay(family.customer_id, family.client_id, "refresh_reuse")


def revoke_family(family: TokenFamily, reason: str) -> None:
    now = utcnow()
    if family.revoked_at is None:
        family.revoked_at = now
        family.revoked_reason = reason
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.family_id == family.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def access_token_record(jti: str) -> AccessToken | None:
    """The row behind a JWT access token, with its grant and its customer in the same query:
    UserInfo and introspection read all three (liveness, claims, merge aliases)."""
    return db.session.execute(
        db.select(AccessToken)
        .options(joinedload(AccessToken.family), joinedload(AccessToken.customer))
        .where(AccessToken.jti == jti)
    ).scalar_one_or_none()


def is_access_token_active(record: AccessToken | None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return False
    return record.family is None or record.family.revoked_at is None


def revoke_for_session(sid: str) -> int:
    """Revoke the grants born in one browser session at logout.

    Grants with ``offline_access`` are meant to outlive the session (OIDC Core 11) and stay.
    """
    families = (
        db.session.execute(
            db.select(TokenFamily).where(TokenFamily.sid == sid, TokenFamily.revoked_at.is_(None))
        )
        .scalars()
        .all()
    )
    revoked = 0
    for family in families:
        if "offline_access" in family.scope.split():
            continue
        revoke_family(family, "logout")
        revoked += 1
    return revoked


def lookup_refresh(raw: str) -> RefreshToken | None:
    """A refresh token by value, in whatever state, for introspection and revocation."""
    if not raw or len(raw) > 256:
        return None
    return db.session.execute(
        db.select(RefreshToken).where(RefreshToken.token_digest == security.digest(raw))
    ).scalar_one_or_none()


def _rowcount(statement: Any) -> int:
    """Rows an UPDATE changed: how a conditional spend learns whether it won the race."""
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
