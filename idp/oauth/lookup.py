"""Clients looked up once per request, however many checks and Authlib methods ask."""

from __future__ import annotations

from flask import g

from idp.models import Client
from idp.services import clients


def client(client_id: object) -> Client | None:
    """The registered client with this id, from the request's own cache after the first read.

    The cache lives in ``g``, so it ends with the request: an edit made elsewhere is seen by
    the next request, with no invalidation to get wrong.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 128:
        return None
    loaded: dict[str, Client | None] = g.setdefault("idp_clients", {})
    if client_id not in loaded:
        loaded[client_id] = clients.get(client_id)
    return loaded[client_id]
