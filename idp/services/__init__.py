"""The logic of idp. Services take plain values, return models and raise ``idp.errors``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    """What a service may know of the HTTP request that triggered it."""

    ip: str | None = None
    user_agent: str | None = None
