"""Pushed authorization requests (RFC 9126): store, look up and spend by ``request_uri``.

The ``request_uri`` carries 256 random bits; only its SHA-256 digest is stored. It is bound to
the client that pushed it, lives a few minutes (RFC 9126 2.2: short-lived), and yields one
authorization response: it stays readable through the sign-in round trip, and issuing a code
(or refusing the request) spends it, so a second use fails (RFC 9126 7.3).

Services flush; the caller commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from idp import security
from idp.extensions import db
from idp.models import PushedRequest
from idp.models.types import utcnow

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


def push(client_id: str, params: dict[str, list[str]], lifetime: timedelta) -> str:
    """Keep ``params`` for ``client_id``; return the ``request_uri`` that names them."""
    request_uri = URN_PREFIX + security.random_token(32)
    db.session.add(
        PushedRequest(
            request_uri_digest=security.digest(request_uri),
            client_id=client_id,
            params=params,
            expires_at=utcnow() + lifetime,
        )
    )
    db.session.flush()
    return request_uri


def find(request_uri: str, client_id: str) -> PushedRequest | None:
    """The unspent, unexpired request pushed by ``client_id`` under ``request_uri``."""
    if not request_uri.startswith(URN_PREFIX) or len(request_uri) > 200:
        return None
    pushed = db.session.execute(
        db.select(PushedRequest).where(
            PushedRequest.request_uri_digest == security.digest(request_uri)
        )
    ).scalar_one_or_none()
    if (
        pushed is None
        or pushed.client_id != client_id
        or pushed.used_at is not None
        or pushed.expires_at <= utcnow()
    ):
        return None
    return pushed


def spend(pushed: PushedRequest) -> bool:
    """Mark it used; False when a concurrent request spent it first."""
    result = db.session.execute(
        update(PushedRequest)
        .where(PushedRequest.id == pushed.id, PushedRequest.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return bool(result.rowcount)
