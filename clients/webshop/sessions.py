"""The shop's own sessions, kept on the server so idp can end them (Back-Channel Logout 2.7).

A browser only carries a random key; the data sits here, findable by idp's ``sid``. This is a
dict in memory: enough for one example process, lost on restart. A real shop keeps it in its
database or Redis, shared by every worker.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ShopSession:
    key: str
    sub: str
    sid: str | None
    id_token: str
    profile: dict[str, Any] = field(default_factory=dict)
    acr: str | None = None
    amr: list[str] = field(default_factory=list)


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, ShopSession] = {}
        self._seen_jti: dict[str, int] = {}
        self._lock = threading.Lock()

    def create(
        self,
        *,
        sub: str,
        sid: str | None,
        id_token: str,
        profile: dict[str, Any],
        acr: str | None = None,
        amr: list[str] | None = None,
    ) -> ShopSession:
        session = ShopSession(
            secrets.token_urlsafe(32), sub, sid, id_token, dict(profile), acr, list(amr or [])
        )
        with self._lock:
            self._sessions[session.key] = session
        return session

    def get(self, key: str | None) -> ShopSession | None:
        with self._lock:
            return self._sessions.get(key) if key else None

    def drop(self, key: str | None) -> None:
        with self._lock:
            self._sessions.pop(key or "", None)

    def end(self, *, sid: str | None, sub: str | None) -> int:
        """Back-Channel Logout 2.7: the sessions of ``sid``, or every one of ``sub`` without it."""
        with self._lock:
            doomed = [
                key
                for key, s in self._sessions.items()
                if (s.sid == sid if sid else s.sub == sub) and (sub is None or s.sub == sub)
            ]
            for key in doomed:
                del self._sessions[key]
        return len(doomed)

    def first_use_of(self, jti: str, exp: int) -> bool:
        """False when this logout token was already received (section 2.6, optional check)."""
        now = int(time.time())
        with self._lock:
            self._seen_jti = {j: e for j, e in self._seen_jti.items() if e >= now}
            if jti in self._seen_jti:
                return False
            self._seen_jti[jti] = exp
            return True
