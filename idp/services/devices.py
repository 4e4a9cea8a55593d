"""The device authorization grant's bookkeeping (RFC 8628) and the customer's devices.

A device code carries 256 random bits and is kept as its SHA-256 digest. A user code is eight
letters from an alphabet without vowels or look-alike characters (RFC 8628 6.1): about 34.6
bits, few enough that a plain digest could be reversed by trying them all, so it is kept as an
HMAC under a server key. Approving, denying and spending are each one conditional UPDATE, so two
customers typing the same code, or two polls racing, cannot both win.

Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError

from idp import security
from idp.extensions import db
from idp.models import (
    BrowserSession,
    Customer,
    Device,
    DeviceAuthorization,
    DeviceStatus,
    TokenFamily,
)
from idp.models.types import utcnow
from idp.services import tokens

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# RFC 8628 3.5: each slow_down adds this many seconds to the interval, for good.
SLOW_DOWN_STEP = 5
# A fresh user code colliding with a live one is a one in billions event; a few tries suffice.
USER_CODE_ATTEMPTS = 5
_NOT_CODE_CHARACTERS = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True)
class DeviceSettings:
    lifetime: timedelta
    interval: int
    # Keys the user-code digests: the same key must be used on every node.
    user_code_key: bytes


def generate_user_code() -> str:
    """Eight random letters of the alphabet, normalized (no dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normalize_user_code(raw: str | None) -> str | None:
    """The code as stored, or None when ``raw`` cannot be one.

    RFC 8628 6.1: case, dashes, spaces and other punctuation are ignored, and full-width letters
    count as the letters they look like; what remains must be eight letters of the alphabet.
    """
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    folded = _NOT_CODE_CHARACTERS.sub("", unicodedata.normalize("NFKC", raw).upper())
    if len(folded) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in folded):
        return None
    return folded


def display_user_code(code: str) -> str:
    """XXXX-XXXX: two halves are easier to read out and type (RFC 8628 6.1)."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def user_code_digest(code: str, key: bytes) -> str:
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Started:
    device_code: str
    user_code: str  # as displayed, XXXX-XXXX
    authorization: DeviceAuthorization


def start(
    client_id: str,
    scope: str,
    settings: DeviceSettings,
    *,
    new_user_code: Callable[[], str] = generate_user_code,
) -> Started:
    """A new device authorization request (RFC 8628 3.2); raw codes are returned once."""
    device_code = security.random_token(32)
    now = utcnow()
    for _ in range(USER_CODE_ATTEMPTS):
        user_code = new_user_code()
        digest = user_code_digest(user_code, settings.user_code_key)
        # An expired request gives its user code back; a live one keeps it.
        db.session.execute(
            delete(DeviceAuthorization).where(
                DeviceAuthorization.user_code_digest == digest,
                DeviceAuthorization.expires_at <= now,
            )
        )
        authorization = DeviceAuthorization(
            device_code_digest=security.digest(device_code),
            user_code_digest=digest,
            client_id=client_id,
            scope=scope,
            status=DeviceStatus.PENDING,
            poll_interval=settings.interval,
            created_at=now,
            expires_at=now + settings.lifetime,
        )
        try:
            with db.session.begin_nested():
                db.session.add(authorization)
        except IntegrityError:
            continue
        return Started(device_code, display_user_code(user_code), authorization)
    raise RuntimeError("could not find a free user code")


def find_pending(code: str, settings: DeviceSettings) -> DeviceAuthorization | None:
    """The live request still waiting for a customer behind a normalized user code."""
    authorization = db.session.execute(
        db.select(DeviceAuthorization).where(
            DeviceAuthorization.user_code_digest == user_code_digest(code, settings.user_code_key)
        )
    ).scalar_one_or_none()
    if (
        authorization is None
        or authorization.status != DeviceStatus.PENDING
        or authorization.is_expired()
    ):
        return None
    return authorization


def _decide(authorization: DeviceAuthorization, customer: Customer, status: DeviceStatus) -> bool:
    """Move a pending, live request to ``status``; False when someone or time got there first."""
    now = utcnow()
    return bool(
        _rowcount(
            update(DeviceAuthorization)
            .where(
                DeviceAuthorization.id == authorization.id,
                DeviceAuthorization.status == DeviceStatus.PENDING,
                DeviceAuthorization.expires_at > now,
            )
            .values(status=status, customer_id=customer.id, decided_at=now)
            .execution_options(synchronize_session=False)
        )
    )


def approve(
    authorization: DeviceAuthorization,
    browser_session: BrowserSession,
    *,
    name: str,
    acr: str | None,
    lifetimes: tokens.Lifetimes,
) -> Device | None:
    """Approve for the session's customer: a token family and a device on their record.

    The family takes the session's auth_time, acr and amr for the ID tokens, but not its sid:
    signing out of the phone's browser must not sign the TV out (OIDC Core 11 and the device's
    own life), so ``tokens.revoke_for_session`` leaves it alone.
    """
    customer = browser_session.customer
    if not _decide(authorization, customer, DeviceStatus.APPROVED):
        return None
    db.session.refresh(authorization)
    family = tokens.start_family(
        client_id=authorization.client_id,
        customer=customer,
        scope=authorization.scope,
        lifetimes=lifetimes,
    )
    family.auth_time = browser_session.auth_time
    family.amr = list(browser_session.amr or [])
    family.acr = acr
    now = utcnow()
    device = Device(
        customer=customer,
        client_id=authorization.client_id,
        name=name,
        family=family,
        first_seen_at=now,
        last_seen_at=now,
    )
    db.session.add(device)
    authorization.device = device
    db.session.flush()
    return device


def deny(authorization: DeviceAuthorization, customer: Customer) -> bool:
    return _decide(authorization, customer, DeviceStatus.DENIED)


# Polling ----------------------------------------------------------------------------------------


class PollState(StrEnum):
    UNKNOWN = "unknown"  # no such device code for this client
    EXPIRED = "expired"
    PENDING = "pending"
    SLOW_DOWN = "slow_down"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"  # approved, then the device was removed before it polled
    APPROVED = "approved"  # spent now: issue the tokens in this transaction
    REPLAYED = "replayed"  # spent before: the family it produced is revoked


@dataclass(frozen=True)
class Poll:
    state: PollState
    authorization: DeviceAuthorization | None = None

    @property
    def family(self) -> TokenFamily | None:
        return _family(self.authorization) if self.authorization is not None else None


def poll(raw: str, client_id: str, *, now: datetime | None = None) -> Poll:
    """What a device's poll at the token endpoint finds (RFC 8628 3.4, 3.5).

    ``slow_down`` is a variant of ``authorization_pending``: only a pending request is paced.
    """
    now = now or utcnow()
    if not isinstance(raw, str) or not raw or len(raw) > 256:
        return Poll(PollState.UNKNOWN)
    authorization = db.session.execute(
        db.select(DeviceAuthorization).where(
            DeviceAuthorization.device_code_digest == security.digest(raw)
        )
    ).scalar_one_or_none()
    if authorization is None or authorization.client_id != client_id:
        return Poll(PollState.UNKNOWN)
    if authorization.used_at is not None:
        return _replayed(authorization)
    if authorization.expires_at <= now:
        _drop_unclaimed_device(authorization)
        return Poll(PollState.EXPIRED, authorization)
    if authorization.status == DeviceStatus.DENIED:
        return Poll(PollState.DENIED, authorization)
    if authorization.status == DeviceStatus.APPROVED:
        return _spend(authorization, now)
    return _pace(authorization, now)


def _pace(authorization: DeviceAuthorization, now: datetime) -> Poll:
    last = authorization.last_polled_at
    too_soon = last is not None and now - last < timedelta(seconds=authorization.poll_interval)
    authorization.last_polled_at = now
    if too_soon:
        authorization.poll_interval += SLOW_DOWN_STEP
    db.session.flush()
    return Poll(PollState.SLOW_DOWN if too_soon else PollState.PENDING, authorization)


def _spend(authorization: DeviceAuthorization, now: datetime) -> Poll:
    family = _family(authorization)
    if family is None or family.revoked_at is not None:
        return Poll(PollState.WITHDRAWN, authorization)
    won = _rowcount(
        update(DeviceAuthorization)
        .where(DeviceAuthorization.id == authorization.id, DeviceAuthorization.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not won:
        db.session.rollback()
        return _replayed(authorization)
    return Poll(PollState.APPROVED, authorization)


def _replayed(authorization: DeviceAuthorization) -> Poll:
    """A spent device code again: like a replayed code (RFC 6749 4.1.2), it revokes its tokens.

    The device that polled first already holds them; a second poll means the code leaked.
    """
    family = _family(authorization)
    if family is not None:
        tokens.revoke_family(family, "device_code_replay")
    return Poll(PollState.REPLAYED, authorization)


def _drop_unclaimed_device(authorization: DeviceAuthorization) -> None:
    """Approved, but the device never came for its tokens: take it off the customer's list."""
    family = _family(authorization)
    if authorization.used_at is None and family is not None and family.revoked_at is None:
        tokens.revoke_family(family, "device_code_expired")


def _family(authorization: DeviceAuthorization) -> TokenFamily | None:
    return authorization.device.family if authorization.device is not None else None


# The customer's devices -------------------------------------------------------------------------


def seen(family: TokenFamily | None) -> None:
    """The device behind ``family`` just received tokens."""
    if family is None or family.id is None:
        return
    db.session.execute(
        update(Device)
        .where(Device.family_id == family.id)
        .values(last_seen_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def list_for(customer: Customer) -> list[Device]:
    """Devices that can still get tokens: their family is neither revoked nor past its life."""
    return list(
        db.session.execute(
            db.select(Device)
            .join(TokenFamily, Device.family_id == TokenFamily.id)
            .where(
                Device.customer_id == customer.id,
                TokenFamily.revoked_at.is_(None),
                TokenFamily.expires_at > utcnow(),
            )
            .order_by(Device.last_seen_at.desc(), Device.id.desc())
        ).scalars()
    )


def find(customer: Customer, device_id: int) -> Device | None:
    """One of the customer's own devices; another customer's is as good as absent."""
    device = db.session.get(Device, device_id)
    return device if device is not None and device.customer_id == customer.id else None


def remove(device: Device) -> None:
    """Revoke the device's tokens and forget it: its refresh token stops working at once."""
    tokens.revoke_family(device.family, "device_removed")
    db.session.delete(device)
    db.session.flush()


def _rowcount(statement: Any) -> int:
    """Rows an UPDATE changed: how a conditional change learns whether it won the race."""
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
