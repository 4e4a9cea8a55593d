"""Ending a browser session everywhere: the session, its tokens, and the clients that used it."""

from __future__ import annotations

from idp.extensions import db
from idp.models import BrowserSession
from idp.services import RequestMeta, events, sessions, tokens
from idp.services.events import EventTag


def end_session(
    session: BrowserSession, *, meta: RequestMeta, client_id: str | None = None
) -> None:
    """End the session and revoke the grants born in it (offline_access grants survive)."""
    sessions.end(session)
    tokens.revoke_for_session(session.sid)
    events.record(
        EventTag.LOGOUT,
        customer=session.customer,
        meta=meta,
        client_id=client_id,
        channel="web",
    )
    db.session.commit()
