"""Counting failures per key in a moving window, in Redis when configured, in memory otherwise.

Only failures are counted, so a customer who signs in correctly is never slowed down, while
an attacker guessing passwords is stopped per account and per address (OWASP ASVS 2.2.1).
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from idp.errors import Throttled


class Throttle:
    def __init__(self, storage_uri: str, namespace: str = "idp") -> None:
        storage = storage_from_string(storage_uri)
        assert isinstance(storage, Storage), "idp uses the synchronous limits storages"
        self.storage: Storage = storage
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace

    def _key(self, scope: str, key: str) -> tuple[str, str]:
        return (self.namespace, f"{scope}:{key}")

    def check(self, limit: str, scope: str, key: str) -> None:
        """Raise ``Throttled`` when ``key`` has used up ``limit``; counts nothing."""
        item = parse(limit)
        if not self.limiter.test(item, *self._key(scope, key)):
            raise Throttled(self._retry_after(item, scope, key))

    def hit(self, limit: str, scope: str, key: str) -> bool:
        """Count one event; False when this event went over the limit."""
        return self.limiter.hit(parse(limit), *self._key(scope, key))

    def clear(self, limit: str, scope: str, key: str) -> None:
        self.limiter.clear(parse(limit), *self._key(scope, key))

    def _retry_after(self, item: RateLimitItem, scope: str, key: str) -> int:
        stats = self.limiter.get_window_stats(item, *self._key(scope, key))
        return max(1, int(stats.reset_time - time.time()) + 1)
