"""Guessing a short code is throttled per account and per address, and every miss is recorded.

Six digits fall to about a million guesses; a few misses per quarter hour per account keep the
odds of a lucky guess tiny for years (OWASP ASVS 2.8.x), while the customer who typed a code
wrong once just tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from idp.errors import AuthenticationFailed, Throttled
from idp.extensions import db
from idp.models import Customer
from idp.services import RequestMeta, events
from idp.services.events import EventTag
from idp.services.throttle import Throttle

T = TypeVar("T")


@dataclass(frozen=True)
class CodeLimits:
    per_account: str
    per_ip: str


def guarded(
    check: Callable[[], T | None],
    *,
    customer: Customer | None,
    method: str,
    meta: RequestMeta,
    throttle: Throttle,
    limits: CodeLimits,
    account_key: str | None = None,
) -> T:
    """What ``check`` returns, unless it returns None (a wrong code) or too many missed before.

    A miss is counted, recorded as a failed sign-in and committed, then raises
    ``AuthenticationFailed``; a success leaves committing to the caller.
    """
    key = account_key or (customer.public_id if customer is not None else "unknown")
    ip = meta.ip or "unknown"
    try:
        throttle.check(limits.per_ip, "code-ip", ip)
        throttle.check(limits.per_account, "code-account", key)
    except Throttled:
        _failed(customer, method, meta, "throttled")
        raise
    result = check()
    if result is None:
        db.session.rollback()
        throttle.hit(limits.per_ip, "code-ip", ip)
        throttle.hit(limits.per_account, "code-account", key)
        _failed(customer, method, meta, "bad_code")
        raise AuthenticationFailed()
    return result


def _failed(customer: Customer | None, method: str, meta: RequestMeta, reason: str) -> None:
    """A failed sign-in on the customer's history, committed whatever the caller does next."""
    events.record(
        EventTag.LOGIN_FAILURE,
        success=False,
        customer=customer,
        meta=meta,
        method=method,
        reason=reason,
    )
    db.session.commit()
