"""Aliases: a customer absorbed by a merge keeps its public id, and every door that is handed
that id (a token's ``sub``, an ``id_token_hint``, the admin API, a later import) asks here which
live record it means today.

An absorbed record points at its survivor (``merged_into_id``); a survivor may itself be
absorbed later, so resolution follows the chain, a bounded number of hops: a cycle (which the
merge rules make impossible) would end in ``None`` and a log line, never in a hung request.
"""

from __future__ import annotations

import logging

from idp.extensions import db
from idp.models import Customer

log = logging.getLogger(__name__)

# Far more merges in a row than one person will ever see; past this the chain is broken.
MAX_HOPS = 32


def _by_public_id(public_id: str | None) -> Customer | None:
    if not public_id or not isinstance(public_id, str) or len(public_id) > 36:
        return None
    return db.session.execute(
        db.select(Customer).where(Customer.public_id == public_id)
    ).scalar_one_or_none()


def survivor_of(customer: Customer | None) -> Customer | None:
    """The record ``customer`` now lives on: itself, or the end of its merge chain."""
    hops = 0
    while customer is not None and customer.merged_into_id is not None:
        if hops >= MAX_HOPS:
            log.error("merge chain from customer %s is longer than %d hops", customer.id, hops)
            return None
        customer = db.session.get(Customer, customer.merged_into_id)
        hops += 1
    return customer


def resolve(public_id: str | None) -> Customer | None:
    """The live record ``public_id`` names: itself, or the survivor its merges lead to."""
    return survivor_of(_by_public_id(public_id))


def merged_into(public_id: str | None) -> str | None:
    """The survivor's public id when ``public_id`` is an alias; None for a live or unknown id.

    This is the ``merged_into`` answer a client that stored the old ``sub`` can ask for.
    """
    found = _by_public_id(public_id)
    if found is None or found.merged_into_id is None:
        return None
    survivor = survivor_of(found)
    return survivor.public_id if survivor is not None else None


def absorbed_into(customer: Customer) -> list[Customer]:
    """Every record merged into ``customer``, directly or through an earlier merge."""
    found: list[Customer] = []
    frontier = [customer.id]
    for _ in range(MAX_HOPS):
        if not frontier:
            break
        rows = list(
            db.session.execute(
                db.select(Customer)
                .where(Customer.merged_into_id.in_(frontier))
                .order_by(Customer.id)
            ).scalars()
        )
        found.extend(rows)
        frontier = [row.id for row in rows]
    return found


def public_ids(customer: Customer) -> list[str]:
    """The ids that name ``customer``: its own first, then its aliases'."""
    return [customer.public_id, *(alias.public_id for alias in absorbed_into(customer))]


def names(subject: object, customer: Customer) -> bool:
    """Whether a ``sub`` (from a token or a hint) means ``customer``, directly or as an alias."""
    if not isinstance(subject, str):
        return False
    if subject == customer.public_id:
        return True
    survivor = resolve(subject)
    return survivor is not None and survivor.id == customer.id


def merged_from(subject: object, customer: Customer) -> list[str]:
    """``[subject]`` when a token's ``sub`` is an alias of ``customer``: what UserInfo and
    introspection add as ``merged_from`` so the client learns its stored id moved."""
    if isinstance(subject, str) and subject != customer.public_id and names(subject, customer):
        return [subject]
    return []
